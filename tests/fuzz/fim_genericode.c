/* libFuzzer target: the genericode code list parser. */
#include <stdint.h>
#include <stdlib.h>

#include "fim/fim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aw_arena_t a;
    aw_arena_init(&a, 4096, 1 << 26);
    aw_fim_codelist_t *cl;
    aw_err_t err;
    aw_fim_genericode_parse((const char *)data, size, "fuzz.xml", &a, &cl, &err);
    aw_arena_free(&a);
    return 0;
}
