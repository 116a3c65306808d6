/* libFuzzer: the strict JSON body parser (depth scan + jansson). */
#include <stdint.h>
#include <stdlib.h>

#include "http/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aw_json_error_t je;
    aw_err_t err;
    json_t *v = aw_json_parse_strict((const char *)data, size, 0, &je, &err);
    json_decref(v);
    return 0;
}
