/* libFuzzer target: the XDatenfelder parser (and the quality checks and
 * export on whatever it accepts). */
#include <stdint.h>
#include <stdlib.h>

#include "fim/fim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aw_fim_schema_t *s = NULL;
    aw_err_t err;
    aw_fim_load_opts_t o = {.allow_missing_codelists = true};
    if (aw_fim_schema_load_mem((const char *)data, size, "fuzz.xml", NULL, &o, &s, &err) == 0) {
        aw_fim_qreport_t r;
        aw_fim_quality(s, &r);
        aw_fim_qreport_free(&r);
        aw_buf_t b = AW_BUF_INIT;
        aw_fim_export_json_schema(s, &b, &err);
        aw_buf_free(&b);
        aw_fim_schema_free(s);
    }
    return 0;
}
