/*
 * search — GET /v1/services?q=...[&ars=...]: the finder's ranking of the
 * stored services, joined with jurisdiction when a place is given, and
 * optionally re-ranked by an AI endpoint (assist.h). The raw query is
 * never logged.
 */
#ifndef AW_CATALOG_SEARCH_H
#define AW_CATALOG_SEARCH_H

#include "base/err.h"
#include "catalog/api.h"
#include "http/http.h"
#include "store/store.h"

typedef struct aw_cat_search aw_cat_search_t;

int aw_cat_search_new(const aw_catalog_config_t *cfg, aw_cat_search_t **out, aw_err_t *err);
/* (Re)builds the index from the services in the store. */
int aw_cat_search_build(aw_cat_search_t *s, aw_store_t *st, aw_err_t *err);
/* Starts a thread that rebuilds the index when the catalogue changed
 * outside this process (see search.c); stopped by aw_cat_search_free. */
int aw_cat_search_watch(aw_cat_search_t *s, aw_store_t *st, aw_err_t *err);
void aw_cat_search_handle(aw_cat_search_t *s, aw_store_t *st, aw_http_req_t *req,
                          aw_http_resp_t *resp);
void aw_cat_search_free(aw_cat_search_t *s);

#endif
