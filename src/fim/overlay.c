#include "fim/internal.h"
void aw_fim__overlay_free(aw_fim_overlay_t *o) {
    (void)o;
}
void aw_fim__overlay_eval(const aw_fim_schema_t *s, const void *root, aw_fim_errors_t *errs) {
    (void)s;
    (void)root;
    (void)errs;
}
int aw_fim_overlay_load(aw_fim_schema_t *s, const char *path, aw_err_t *err) {
    (void)s;
    (void)path;
    return aw_err_set(err, AW_EUNSUPPORTED, "todo");
}
