/*
 * api.c — routes of the catalogue (api.h): routing API, area search, the
 * admin API and the JWKS.
 */
#include "catalog/api.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "catalog/demo.h"
#include "catalog/internal.h"
#include "http/problem.h"
#include "catalog/import.h"
#include "http/ratelimit.h"
#include "catalog/search.h"

#define SIG_CACHE_SLOTS 1024
#define SIG_TTL_MS      (3600 * 1000)
#define IMPORT_MAX_BODY (32u * 1024 * 1024)

typedef struct sig_slot {
    char key[80];
    int64_t expires_ms;
    char *jws;
} sig_slot_t;

struct aw_catalog {
    aw_catalog_config_t cfg;
    aw_store_t *st;
    const aw_auth_t *auth;
    aw_ratelimit_t rl;
    pthread_mutex_t sig_mu;
    sig_slot_t *sigs;
    char issuer[256];
    char submission_host[256];
    bool signing;
    aw_cat_search_t *search; /* finder + assistance, when present */
};

/* ---- helpers -------------------------------------------------------------- */

static int status_of(int code) {
    switch (code) {
    case AW_EINVAL:
        return 400;
    case AW_ENOTFOUND:
        return 404;
    case AW_ECONFLICT:
        return 409;
    case AW_ETOOBIG:
        return 413;
    case AW_EBUSY:
        return 503;
    case AW_EPERM:
        return 403;
    }
    return 500;
}

static const char *slug_of(int status) {
    switch (status) {
    case 400:
        return "invalid-request";
    case 404:
        return "not-found";
    case 409:
        return "conflict";
    case 413:
        return "too-large";
    case 503:
        return "unavailable";
    }
    return "internal-error";
}

static void problem(aw_http_resp_t *resp, int code, const aw_err_t *err) {
    int status = status_of(code);
    if (status == 503) aw_http_resp_header(resp, "Retry-After", "1");
    if (status == 500) aw_log_error("catalog.error", "code=%s", aw_err_name(code));
    aw_http_resp_problem(resp, status, slug_of(status), aw_http_status_text(status), "%s",
                         status == 500 ? "internal error" : err->msg);
}

/* Who acts: the operator, optionally naming the person (X-Amtsweg-Actor,
 * printable ASCII, ≤ 64 bytes) for the audit log. */
static const char *actor_of(aw_http_req_t *req) {
    const char *who = aw_http_header(req, "X-Amtsweg-Actor");
    if (!who || !*who) return "operator";
    size_t n = strlen(who);
    if (n > 64) return "operator";
    for (size_t i = 0; i < n; i++)
        if (who[i] < 0x20 || who[i] > 0x7e) return "operator";
    char *a = aw_arena_alloc(req->arena, n + 12);
    if (!a) return "operator";
    snprintf(a, n + 12, "operator:%s", who);
    return a;
}

static bool parse_size(const char *v, size_t max, size_t *out) {
    if (!v) return true;
    if (!*v || strlen(v) > 9) return false;
    for (const char *p = v; *p; p++)
        if (!isdigit((unsigned char)*p)) return false;
    unsigned long x = strtoul(v, NULL, 10);
    if (x > max) return false;
    *out = x;
    return true;
}

/* offset/limit of list endpoints; false after a 400 was set. */
static bool paging(aw_http_req_t *req, aw_http_resp_t *resp, size_t def, size_t *offset,
                   size_t *limit) {
    *offset = 0;
    *limit = def;
    if (!parse_size(aw_http_query(req, "offset"), 100000000, offset)) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "offset must be a whole number ≥ 0");
        return false;
    }
    if (!parse_size(aw_http_query(req, "limit"), AW_CAT_LIST_MAX, limit) || *limit == 0) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "limit must be a whole number from 1 to %d", AW_CAT_LIST_MAX);
        return false;
    }
    return true;
}

static bool rate_ok(aw_catalog_t *c, aw_http_req_t *req, aw_http_resp_t *resp) {
    return aw_ratelimit_http(&c->rl, req, resp);
}

static aw_tx_t *begin(aw_catalog_t *c, int mode, aw_http_resp_t *resp) {
    aw_tx_t *tx = NULL;
    aw_err_t err = {0};
    int rc = aw_store_begin(c->st, mode, &tx, &err);
    if (rc != 0) {
        problem(resp, rc == AW_EBUSY ? AW_EBUSY : rc, &err);
        return NULL;
    }
    return tx;
}

/* Commits and answers with json (stolen) or the commit's problem. */
static void commit_reply(aw_tx_t *tx, aw_http_resp_t *resp, int status, json_t *json) {
    aw_err_t err = {0};
    int rc = aw_store_commit(tx, &err);
    if (rc != 0) {
        json_decref(json);
        problem(resp, rc, &err);
        return;
    }
    if (json)
        aw_http_resp_json(resp, status, json);
    else
        aw_http_resp_text(resp, status, NULL, "", 0);
}

static void fail_tx(aw_tx_t *tx, aw_http_resp_t *resp, int rc, const aw_err_t *err) {
    aw_store_rollback(tx);
    problem(resp, rc, err);
}

/* ---- signatures ----------------------------------------------------------- */

static void set_issuer(aw_catalog_t *c) {
    const char *u =
        c->cfg.public_url && *c->cfg.public_url ? c->cfg.public_url : "http://localhost";
    snprintf(c->issuer, sizeof c->issuer, "%s", u);
    size_t n = strlen(c->issuer);
    while (n && c->issuer[n - 1] == '/') c->issuer[--n] = '\0';
    const char *h = strstr(c->issuer, "://");
    h = h ? h + 3 : c->issuer;
    snprintf(c->submission_host, sizeof c->submission_host, "%.*s", (int)strcspn(h, "/"), h);
}

/* A new malloc'ed JWS for the routing data, from the cache when fresh. */
static char *route_signature(aw_catalog_t *c, const char *leika, const char *prefix,
                             const char *dest, aw_err_t *err) {
    char key[80];
    snprintf(key, sizeof key, "%s|%s|%s", leika, prefix, dest);
    uint32_t h = 2166136261u;
    for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    sig_slot_t *slot = &c->sigs[h % SIG_CACHE_SLOTS];
    int64_t now = aw_time_now_ms();
    pthread_mutex_lock(&c->sig_mu);
    if (slot->jws && slot->expires_ms > now && strcmp(slot->key, key) == 0) {
        char *copy = strdup(slot->jws);
        pthread_mutex_unlock(&c->sig_mu);
        return copy;
    }
    pthread_mutex_unlock(&c->sig_mu);
    char gebiet[80], leistung[64];
    snprintf(gebiet, sizeof gebiet, "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs:%s",
             prefix);
    snprintf(leistung, sizeof leistung, "urn:de:fim:leika:leistung:%s", leika);
    json_t *payload =
        json_pack("{ss sI ss ss s[{s[s] s[s]}]}", "iss", c->issuer, "iat", (json_int_t)(now / 1000),
                  "destinationId", dest, "submissionHost", c->submission_host, "services",
                  "gebietIDs", gebiet, "leistungIDs", leistung);
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    if (!text) {
        aw_err_set(err, AW_ENOMEM, "out of memory");
        return NULL;
    }
    aw_buf_t out = AW_BUF_INIT;
    int rc = c->cfg.sign(c->cfg.sign_ctx, "JWT", text, strlen(text), &out, err);
    free(text);
    if (rc != 0 || !aw_buf_ok(&out)) {
        aw_buf_free(&out);
        if (rc == 0) aw_err_set(err, AW_ENOMEM, "out of memory");
        return NULL;
    }
    char *jws = aw_buf_take(&out, NULL);
    pthread_mutex_lock(&c->sig_mu);
    free(slot->jws);
    slot->jws = strdup(jws);
    snprintf(slot->key, sizeof slot->key, "%s", key);
    slot->expires_ms = now + SIG_TTL_MS;
    pthread_mutex_unlock(&c->sig_mu);
    return jws;
}

/* The authority part of a route: name, address, contacts and links. */
static json_t *authority_public(json_t *auth) {
    json_t *o = json_object();
    static const char *keep[] = {"id",           "slug",       "name",       "address", "contacts",
                                 "openingHours", "privacyUrl", "imprintUrl", "logoUrl", "colour"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        json_t *v = json_object_get(auth, keep[i]);
        if (v) json_object_set(o, keep[i], v);
    }
    return o;
}

/* ---- GET /v1/routes ------------------------------------------------------- */

static void h_routes(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    if (!rate_ok(c, req, resp)) return;
    const char *leika = aw_http_query(req, "leikaKey");
    const char *ars = aw_http_query(req, "ars"), *ags = aw_http_query(req, "ags"),
               *area_id = aw_http_query(req, "areaId");
    int given = (ars != NULL) + (ags != NULL) + (area_id != NULL);
    if (!leika) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "the query parameter leikaKey is required");
        return;
    }
    if (!aw_cat_valid_leika(leika)) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "leikaKey must be a LeiKa key: 99 followed by 12 digits");
        return;
    }
    if (given != 1) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "give exactly one of ars, ags or areaId (got %d)", given);
        return;
    }
    size_t offset, limit;
    if (!paging(req, resp, 100, &offset, &limit)) return;
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    char area[13];
    aw_cat_area_key_t kind = ars   ? AW_CAT_AREA_BY_ARS
                             : ags ? AW_CAT_AREA_BY_AGS
                                   : AW_CAT_AREA_BY_ID;
    int rc = aw_cat_area_resolve(tx, kind, ars ? ars : ags ? ags : area_id, area, &err);
    aw_cat_route_t r;
    if (rc == 0) rc = aw_cat_route_find(tx, leika, area, &r, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    json_t *routes = json_array();
    size_t total = 0;
    if (r.found && r.destination_id[0]) {
        total = 1;
        if (offset == 0) {
            json_t *auth = NULL;
            rc = aw_cat_authority_get(tx, r.tenant_id, &auth, &err);
            if (rc != 0) {
                json_decref(routes);
                fail_tx(tx, resp, rc, &err);
                return;
            }
            char *sig =
                c->signing ? route_signature(c, leika, r.prefix, r.destination_id, &err) : NULL;
            if (c->signing && !sig) {
                json_decref(auth);
                json_decref(routes);
                fail_tx(tx, resp, AW_EINTERNAL, &err);
                return;
            }
            json_t *route = json_pack(
                "{ss ss* sO so ss ss}", "destinationId", r.destination_id, "destinationSignature",
                sig, "destinationName", json_object_get(auth, "name"), "authority",
                authority_public(auth), "leikaKey", leika, "arsPrefix", r.prefix);
            free(sig);
            json_decref(auth);
            json_array_append_new(routes, route);
        }
    } else if (r.found) {
        aw_log_warn("routing.no_destination", "leika=%s prefix=%s", leika, r.prefix);
    }
    aw_store_rollback(tx);
    (void)limit;
    aw_http_resp_json(resp, 200,
                      json_pack("{sI sI sI so}", "count", (json_int_t)json_array_size(routes),
                                "offset", (json_int_t)offset, "totalCount", (json_int_t)total,
                                "routes", routes));
}

/* ---- GET /v1/areas -------------------------------------------------------- */

static void h_areas(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    if (!rate_ok(c, req, resp)) return;
    const char *expr = aw_http_query(req, "areaSearchexpression");
    if (!expr || !*expr) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "the query parameter areaSearchexpression is required");
        return;
    }
    size_t offset, limit;
    if (!paging(req, resp, 100, &offset, &limit)) return;
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    json_t *res = NULL;
    int rc = aw_cat_area_search(tx, expr, offset, limit, &res, &err);
    aw_store_rollback(tx);
    if (rc != 0) {
        problem(resp, rc, &err);
        return;
    }
    json_t *areas = json_object_get(res, "areas");
    aw_http_resp_json(resp, 200,
                      json_pack("{sI sI sO sO}", "count", (json_int_t)json_array_size(areas),
                                "offset", (json_int_t)offset, "totalCount",
                                json_object_get(res, "total"), "areas", areas));
    json_decref(res);
}

/* ---- public service view -------------------------------------------------- */

json_t *aw_cat__service_view(aw_tx_t *tx, const char *leika, const char *ars, aw_err_t *err,
                             int *rc_out) {
    json_t *svc = NULL;
    int rc = 0;
    if (ars) {
        aw_cat_route_t r;
        rc = aw_cat_route_find(tx, leika, ars, &r, err);
        if (rc == 0 && r.found) {
            rc = aw_cat_service_for(tx, leika, r.tenant_id, &svc, err);
            if (rc == 0) {
                json_t *auth = NULL;
                if (aw_cat_authority_get(tx, r.tenant_id, &auth, err) == 0) {
                    json_object_set_new(svc, "authority", authority_public(auth));
                    json_decref(auth);
                }
                json_object_del(svc, "paymentAccount");
                if (r.destination_id[0])
                    json_object_set_new(svc, "destinationId", json_string(r.destination_id));
            }
        } else if (rc == 0) {
            rc = aw_cat_service_get(tx, leika, &svc, err);
            if (rc == 0) json_object_set_new(svc, "authority", json_null());
        }
    } else {
        rc = aw_cat_service_get(tx, leika, &svc, err);
    }
    if (svc) {
        json_object_del(svc, "xzufiId");
        json_object_del(svc, "updatedAt");
    }
    *rc_out = rc;
    return svc;
}

static void h_service_public(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    if (!rate_ok(c, req, resp)) return;
    const char *leika = aw_http_param(req, "leikaKey");
    const char *ars = aw_http_query(req, "ars");
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int rc = 0;
    json_t *svc = aw_cat__service_view(tx, leika, ars, &err, &rc);
    aw_store_rollback(tx);
    if (rc != 0) {
        problem(resp, rc, &err);
        return;
    }
    aw_http_resp_json(resp, 200, svc);
}

static void h_services_search(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    if (!rate_ok(c, req, resp)) return;
    aw_cat_search_handle(c->search, c->st, req, resp);
}

/* ---- admin ---------------------------------------------------------------- */

/* After services changed: the finder learns them (the admin waits). */
static void reindex(aw_catalog_t *c, aw_http_resp_t *resp) {
    if (resp->status >= 300) return;
    aw_err_t err = {0};
    if (aw_cat_search_build(c->search, c->st, &err) != 0)
        aw_log_error("catalog.finder.rebuild_failed", "code=%s", aw_err_name(err.code));
}

#define ADMIN(c, req, resp) \
    if (!aw_auth_operator((c)->auth, (req), (resp))) return

/* The operator token before a body is read (the handlers check again). */
static void admin_gate(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    aw_auth_operator(c->auth, req, resp);
}

static void reply_get(aw_catalog_t *c, aw_http_resp_t *resp, int rc, json_t *out,
                      const aw_err_t *err) {
    (void)c;
    if (rc != 0) {
        problem(resp, rc, err);
        return;
    }
    aw_http_resp_json(resp, 200, out);
}

static void h_service_put(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    const char *leika = aw_http_param(req, "leikaKey");
    json_t *in = req->json;
    if (!json_is_object(in)) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "a JSON object is needed");
        return;
    }
    const char *body_key = json_string_value(json_object_get(in, "leikaKey"));
    if (body_key && strcmp(body_key, leika) != 0) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "leikaKey in the body (%.20s) differs from the path", body_key);
        return;
    }
    json_object_set_new(in, "leikaKey", json_string(leika));
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    bool created = false;
    int rc = aw_cat_service_put(tx, in, actor_of(req), &created, &err);
    json_t *out = NULL;
    if (rc == 0) rc = aw_cat_service_get(tx, leika, &out, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, created ? 201 : 200, out);
    reindex(c, resp);
}

/* Admin reads: one record by a path parameter, or a page of records. Each
 * runs in its own read transaction and answers through reply_get. */
typedef int (*get_fn)(aw_tx_t *tx, const char *key, json_t **out, aw_err_t *err);
typedef int (*list_fn)(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err);

static void admin_get(aw_catalog_t *c, aw_http_req_t *req, aw_http_resp_t *resp, get_fn get,
                      const char *param) {
    ADMIN(c, req, resp);
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    json_t *out = NULL;
    int rc = get(tx, aw_http_param(req, param), &out, &err);
    aw_store_rollback(tx);
    reply_get(c, resp, rc, out, &err);
}

static void admin_list(aw_catalog_t *c, aw_http_req_t *req, aw_http_resp_t *resp, list_fn list) {
    ADMIN(c, req, resp);
    size_t offset, limit;
    if (!paging(req, resp, 100, &offset, &limit)) return;
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    json_t *out = NULL;
    int rc = list(tx, offset, limit, &out, &err);
    aw_store_rollback(tx);
    reply_get(c, resp, rc, out, &err);
}

static void h_service_get(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    admin_get(ctx, req, resp, aw_cat_service_get, "leikaKey");
}

static void h_service_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    admin_list(ctx, req, resp, aw_cat_service_list);
}

static void h_service_delete(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int rc = aw_cat_service_delete(tx, aw_http_param(req, "leikaKey"), actor_of(req), &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 204, NULL);
    reindex(c, resp);
}

static void h_area_put(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    json_t *in = req->json;
    if (!json_is_object(in)) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "a JSON object is needed");
        return;
    }
    const char *ars = aw_http_param(req, "ars");
    json_object_set_new(in, "id", json_string(ars));
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int rc = aw_cat_area_put(tx, in, actor_of(req), &err);
    json_t *out = NULL;
    if (rc == 0) rc = aw_cat_area_get(tx, ars, &out, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 200, out);
}

static void h_area_get(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    admin_get(ctx, req, resp, aw_cat_area_get, "ars");
}

static void authority_write(aw_http_req_t *req, aw_http_resp_t *resp, aw_catalog_t *c,
                            const char *id) {
    json_t *in = req->json;
    if (!json_is_object(in)) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "a JSON object is needed");
        return;
    }
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    json_t *out = NULL;
    int rc = aw_cat_authority_put(tx, id, in, actor_of(req), &out, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, id ? 200 : 201, out);
}

static void h_authority_create(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    authority_write(req, resp, c, NULL);
}

static void h_authority_put(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    authority_write(req, resp, c, aw_http_param(req, "authority"));
}

static void h_authority_get(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    admin_get(ctx, req, resp, aw_cat_authority_get, "authority");
}

static void h_authority_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    admin_list(ctx, req, resp, aw_cat_authority_list);
}

static void h_authority_delete(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int rc = aw_cat_authority_delete(tx, aw_http_param(req, "authority"), actor_of(req), &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 204, NULL);
}

static void h_params_put(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    const char *a = aw_http_param(req, "authority"), *l = aw_http_param(req, "leikaKey");
    int rc = aw_cat_params_put(tx, a, l, req->json, actor_of(req), &err);
    json_t *out = NULL;
    if (rc == 0) rc = aw_cat_params_get(tx, a, l, &out, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 200, out);
}

static void h_params_get(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    json_t *out = NULL;
    int rc = aw_cat_params_get(tx, aw_http_param(req, "authority"), aw_http_param(req, "leikaKey"),
                               &out, &err);
    aw_store_rollback(tx);
    reply_get(c, resp, rc, out, &err);
}

static void h_params_delete(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int rc = aw_cat_params_delete(tx, aw_http_param(req, "authority"),
                                  aw_http_param(req, "leikaKey"), actor_of(req), &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 204, NULL);
}

static void h_resp_add(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    json_t *in = req->json;
    const char *l = json_string_value(json_object_get(in, "leikaKey"));
    const char *a = json_string_value(json_object_get(in, "ars"));
    const char *au = json_string_value(json_object_get(in, "authority"));
    const char *d = json_string_value(json_object_get(in, "destinationId"));
    if (!l || !a || !au) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "fields leikaKey, ars and authority (strings) are required");
        return;
    }
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int64_t id = 0;
    int rc = aw_cat_resp_add(tx, l, a, au, d, actor_of(req), &id, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 201,
                 json_pack("{sI ss ss ss so*}", "id", (json_int_t)id, "leikaKey", l, "ars", a,
                           "authority", au, "destinationId", d ? json_string(d) : NULL));
}

static void h_resp_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    size_t offset, limit;
    if (!paging(req, resp, 100, &offset, &limit)) return;
    aw_tx_t *tx = begin(c, AW_TX_READ, resp);
    if (!tx) return;
    aw_err_t err = {0};
    json_t *out = NULL;
    int rc = aw_cat_resp_list(tx, aw_http_query(req, "leikaKey"), offset, limit, &out, &err);
    aw_store_rollback(tx);
    reply_get(c, resp, rc, out, &err);
}

static void h_resp_delete(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    size_t id = 0;
    const char *v = aw_http_param(req, "id");
    if (!parse_size(v, 1000000000000ul, &id) || !*v) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "a responsibility id is a whole number");
        return;
    }
    aw_tx_t *tx = begin(c, AW_TX_WRITE, resp);
    if (!tx) return;
    aw_err_t err = {0};
    int rc = aw_cat_resp_delete(tx, (int64_t)id, actor_of(req), &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    commit_reply(tx, resp, 204, NULL);
}

static void h_import(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_catalog_t *c = ctx;
    ADMIN(c, req, resp);
    const char *kname = aw_http_param(req, "kind");
    aw_cat_import_kind_t kind = aw_cat_import_kind(kname);
    if (!kind) {
        aw_http_resp_problem(resp, 404, "not-found", "Not Found",
                             "no importer '%.40s' (municipalities, plz, services, "
                             "responsibilities, xzufi, authorities)",
                             kname);
        return;
    }
    if (!req->body || req->body_len == 0) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request", "the body is empty");
        return;
    }
    const char *source = aw_http_query(req, "source");
    char src[80];
    snprintf(src, sizeof src, "%s", source && *source && strlen(source) < 64 ? source : "upload");
    for (char *p = src; *p; p++)
        if (*p < 0x20 || *p > 0x7e) *p = '_';
    /* a whole file in one transaction: bulk, so that submissions committed
     * just before it are not held in a write batch until it ends */
    aw_tx_t *tx = begin(c, AW_TX_WRITE | AW_TX_BULK, resp);
    if (!tx) return;
    aw_err_t err = {0};
    aw_cat_import_stats_t stats;
    int rc = aw_cat_import(tx, kind, req->body, req->body_len, src, actor_of(req), &stats, &err);
    if (rc != 0) {
        fail_tx(tx, resp, rc, &err);
        return;
    }
    aw_log_info("catalog.import", "kind=%s rows=%zu skipped=%zu", aw_cat_import_kind_name(kind),
                stats.rows, stats.skipped_elements);
    json_t *out = aw_cat__stats_json(&stats);
    json_object_set_new(out, "kind", json_string(aw_cat_import_kind_name(kind)));
    commit_reply(tx, resp, 200, out);
    if (kind == AW_CAT_IMPORT_SERVICES || kind == AW_CAT_IMPORT_XZUFI) reindex(c, resp);
}

static void h_audit(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    admin_list(ctx, req, resp, aw_cat_audit_list);
}

/* ---- lifecycle ------------------------------------------------------------ */

int aw_catalog_register(const aw_catalog_config_t *cfg, aw_http_server_t *srv, aw_store_t *st,
                        const aw_auth_t *auth, aw_catalog_t **out, aw_err_t *err) {
    *out = NULL;
    aw_catalog_t *c = calloc(1, sizeof *c);
    if (!c) return aw_err_set(err, AW_ENOMEM, "out of memory");
    c->cfg = *cfg;
    c->st = st;
    c->auth = auth;
    pthread_mutex_init(&c->sig_mu, NULL);
    c->sigs = calloc(SIG_CACHE_SLOTS, sizeof *c->sigs);
    if (!c->sigs || aw_ratelimit_init(&c->rl, cfg->rate_limit, cfg->rate_window_s) != 0) {
        aw_catalog_free(c);
        return aw_err_set(err, AW_ENOMEM, "out of memory");
    }
    set_issuer(c);
    int rc = 0;
    c->signing = cfg->sign != NULL;
    if (cfg->demo) {
        rc = aw_catalog_demo_load(st, cfg->data_dir ? cfg->data_dir : "data", err);
        if (rc != 0) {
            aw_catalog_free(c);
            return rc;
        }
    }
    rc = aw_cat_search_new(cfg, &c->search, err);
    if (rc != 0) {
        aw_catalog_free(c);
        return rc;
    }
    const aw_route_spec_t routes[] = {
        {"GET", "/v1/routes", h_routes, c, 0, 0, NULL, NULL},
        {"GET", "/v1/areas", h_areas, c, 0, 0, NULL, NULL},
        {"GET", "/v1/services", h_services_search, c, 0, 0, NULL, NULL},
        {"GET", "/v1/catalog/services/{leikaKey}", h_service_public, c, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/services", h_service_list, c, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/services/{leikaKey}", h_service_get, c, 0, 0, NULL, NULL},
        {"PUT", "/admin/v1/services/{leikaKey}", h_service_put, c, AW_ROUTE_JSON, 0, NULL,
         admin_gate},
        {"DELETE", "/admin/v1/services/{leikaKey}", h_service_delete, c, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/areas/{ars}", h_area_get, c, 0, 0, NULL, NULL},
        {"PUT", "/admin/v1/areas/{ars}", h_area_put, c, AW_ROUTE_JSON, 0, NULL, admin_gate},
        {"GET", "/admin/v1/authorities", h_authority_list, c, 0, 0, NULL, NULL},
        {"POST", "/admin/v1/authorities", h_authority_create, c, AW_ROUTE_JSON, 0, NULL,
         admin_gate},
        {"GET", "/admin/v1/authorities/{authority}", h_authority_get, c, 0, 0, NULL, NULL},
        {"PUT", "/admin/v1/authorities/{authority}", h_authority_put, c, AW_ROUTE_JSON, 0, NULL,
         admin_gate},
        {"DELETE", "/admin/v1/authorities/{authority}", h_authority_delete, c, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/authorities/{authority}/services/{leikaKey}", h_params_get, c, 0, 0,
         NULL, NULL},
        {"PUT", "/admin/v1/authorities/{authority}/services/{leikaKey}", h_params_put, c,
         AW_ROUTE_JSON, 0, NULL, admin_gate},
        {"DELETE", "/admin/v1/authorities/{authority}/services/{leikaKey}", h_params_delete, c, 0,
         0, NULL, NULL},
        {"GET", "/admin/v1/responsibilities", h_resp_list, c, 0, 0, NULL, NULL},
        {"POST", "/admin/v1/responsibilities", h_resp_add, c, AW_ROUTE_JSON, 0, NULL, admin_gate},
        {"DELETE", "/admin/v1/responsibilities/{id}", h_resp_delete, c, 0, 0, NULL, NULL},
        {"POST", "/admin/v1/import/{kind}", h_import, c, 0, IMPORT_MAX_BODY, NULL, admin_gate},
        {"GET", "/admin/v1/audit", h_audit, c, 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        rc = aw_http_server_route(srv, &routes[i], err);
        if (rc != 0) {
            aw_catalog_free(c);
            return rc;
        }
    }
    *out = c;
    return 0;
}

int aw_catalog_start(aw_catalog_t *c, aw_err_t *err) {
    int rc = aw_cat_search_build(c->search, c->st, err);
    if (rc == 0) rc = aw_cat_search_watch(c->search, c->st, err);
    return rc;
}

void aw_catalog_free(aw_catalog_t *c) {
    if (!c) return;
    aw_cat_search_free(c->search);
    if (c->sigs)
        for (size_t i = 0; i < SIG_CACHE_SLOTS; i++) free(c->sigs[i].jws);
    free(c->sigs);
    aw_ratelimit_free(&c->rl);
    pthread_mutex_destroy(&c->sig_mu);
    free(c);
}
