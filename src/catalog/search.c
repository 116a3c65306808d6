/*
 * search.c — GET /v1/services (search.h). Until the finder is part of the
 * build the endpoint answers 503.
 */
#include "catalog/search.h"

#include <stdlib.h>

struct aw_cat_search {
    int unused;
};

int aw_cat_search_new(const aw_catalog_config_t *cfg, aw_cat_search_t **out, aw_err_t *err) {
    (void)cfg;
    *out = calloc(1, sizeof **out);
    return *out ? 0 : aw_err_set(err, AW_ENOMEM, "out of memory");
}

int aw_cat_search_build(aw_cat_search_t *s, aw_store_t *st, aw_err_t *err) {
    (void)s, (void)st, (void)err;
    return 0;
}

void aw_cat_search_handle(aw_cat_search_t *s, aw_store_t *st, aw_http_req_t *req,
                          aw_http_resp_t *resp) {
    (void)s, (void)st, (void)req;
    aw_http_resp_problem(resp, 503, "unavailable", "Service Unavailable",
                         "the service finder is not available in this build");
}

void aw_cat_search_free(aw_cat_search_t *s) {
    free(s);
}
