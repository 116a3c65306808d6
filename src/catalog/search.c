/*
 * search.c — GET /v1/services (search.h): the finder over the stored
 * services, jurisdiction for a place, optional AI re-ranking.
 *
 * The finder is built from the store at start and rebuilt after the admin
 * API changed services; searches hold a read lock, a rebuild builds the
 * new index outside the lock and swaps it in under the write lock.
 *
 * Changes this process did not make (`amtsweg import` while the server
 * runs, the admin API of another node on the same PostgreSQL) are found by
 * a watcher thread: every WATCH_MS it counts the catalogue's audit log
 * (one row per committed change, append-only) and rebuilds when the count
 * differs from the one read with the index's data.
 */
#include "catalog/search.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/time.h"
#include "catalog/assist.h"
#include "catalog/catalog.h"
#include "catalog/finder.h"
#include "catalog/internal.h"

#define SEARCH_LIMIT_MAX 50
#define SEARCH_LIMIT_DEF 10

#define WATCH_MS 2000

struct aw_cat_search {
    pthread_rwlock_t lock;
    pthread_mutex_t build_mu;      /* one rebuild at a time */
    aw_finder_t *finder;           /* NULL: no services yet */
    aw_assist_t *assist;           /* NULL: no AI endpoint configured */
    _Atomic int64_t built_changes; /* audit rows read with the index's data; -1: none */
    /* the watcher */
    aw_store_t *st;
    pthread_t watch;
    bool watching, stop;
    pthread_mutex_t watch_mu;
    pthread_cond_t watch_cv;
};

int aw_cat_search_new(const aw_catalog_config_t *cfg, aw_cat_search_t **out, aw_err_t *err) {
    aw_cat_search_t *s = calloc(1, sizeof *s);
    if (!s) return aw_err_set(err, AW_ENOMEM, "out of memory");
    pthread_rwlock_init(&s->lock, NULL);
    pthread_mutex_init(&s->build_mu, NULL);
    pthread_mutex_init(&s->watch_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->watch_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_store(&s->built_changes, -1);
    if (cfg->assist_url && *cfg->assist_url) {
        aw_assist_config_t ac = {.url = cfg->assist_url,
                                 .model = cfg->assist_model,
                                 .api_key = getenv("AMTSWEG_ASSIST_API_KEY"),
                                 .timeout_ms = cfg->assist_timeout_ms};
        int rc = aw_assist_new(&ac, &s->assist, err);
        if (rc != 0) {
            aw_cat_search_free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

void aw_cat_search_free(aw_cat_search_t *s) {
    if (!s) return;
    if (s->watching) {
        pthread_mutex_lock(&s->watch_mu);
        s->stop = true;
        pthread_cond_signal(&s->watch_cv);
        pthread_mutex_unlock(&s->watch_mu);
        pthread_join(s->watch, NULL);
    }
    pthread_cond_destroy(&s->watch_cv);
    pthread_mutex_destroy(&s->watch_mu);
    aw_finder_free(s->finder);
    aw_assist_free(s->assist);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->build_mu);
    free(s);
}

static const char *str_of(json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

int aw_cat_search_build(aw_cat_search_t *s, aw_store_t *st, aw_err_t *err) {
    pthread_mutex_lock(&s->build_mu);
    json_t *all = json_array();
    aw_tx_t *tx = NULL;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    /* the count first: a change committed while the services are read
     * shows as a higher count at the next look (one rebuild too many at
     * worst, never one too few) */
    int64_t changes = rc == 0 ? aw_cat_audit_count(tx, err) : -1;
    if (rc == 0 && changes < 0) rc = (int)changes;
    for (size_t off = 0; rc == 0;) {
        json_t *page = NULL;
        rc = aw_cat_service_list(tx, off, AW_CAT_LIST_MAX, &page, err);
        if (rc != 0) break;
        json_t *list = json_object_get(page, "services");
        size_t n = json_array_size(list);
        json_array_extend(all, list);
        json_decref(page);
        if (n < AW_CAT_LIST_MAX) break;
        off += n;
    }
    aw_store_rollback(tx);
    size_t n = json_array_size(all);
    aw_finder_doc_t *docs = n ? calloc(n, sizeof *docs) : NULL;
    char **extra = n ? calloc(n, sizeof *extra) : NULL;
    aw_finder_t *f = NULL;
    if (rc == 0 && n && (!docs || !extra)) rc = aw_err_set(err, AW_ENOMEM, "out of memory");
    if (rc == 0 && n) {
        for (size_t i = 0; i < n; i++) {
            json_t *v = json_array_get(all, i);
            docs[i].leika = str_of(v, "leikaKey");
            docs[i].name = str_of(v, "name");
            docs[i].keywords = str_of(v, "keywords");
            docs[i].short_text = str_of(v, "shortText");
            docs[i].long_text = str_of(v, "longText");
            if (asprintf(&extra[i], "%s %s %s %s", str_of(v, "documents") ?: "",
                         str_of(v, "fees") ?: "", str_of(v, "legalBasis") ?: "",
                         str_of(v, "processingTime") ?: "") < 0)
                extra[i] = NULL;
            docs[i].extra = extra[i];
        }
        rc = aw_finder_new(docs, n, NULL, &f, err);
    }
    for (size_t i = 0; extra && i < n; i++) free(extra[i]);
    free(extra);
    free(docs);
    json_decref(all);
    if (rc == 0) {
        pthread_rwlock_wrlock(&s->lock);
        aw_finder_t *old = s->finder;
        s->finder = f;
        pthread_rwlock_unlock(&s->lock);
        atomic_store(&s->built_changes, changes);
        aw_finder_free(old);
        if (f) {
            aw_finder_stats_t fs;
            aw_finder_get_stats(f, &fs);
            aw_log_info("catalog.finder.built", "services=%zu ms=%.0f", fs.docs, fs.build_ms);
        }
    }
    pthread_mutex_unlock(&s->build_mu);
    return rc;
}

static void *watch_main(void *arg) {
    aw_cat_search_t *s = arg;
    pthread_mutex_lock(&s->watch_mu);
    while (!s->stop) {
        struct timespec ts = aw_time_deadline(CLOCK_MONOTONIC, WATCH_MS);
        if (pthread_cond_timedwait(&s->watch_cv, &s->watch_mu, &ts) != ETIMEDOUT) continue;
        pthread_mutex_unlock(&s->watch_mu);
        aw_err_t err = {0};
        aw_tx_t *tx;
        int64_t n = -1;
        if (aw_store_begin(s->st, AW_TX_READ, &tx, &err) == 0) {
            n = aw_cat_audit_count(tx, &err);
            aw_store_rollback(tx);
        }
        if (n >= 0 && n != atomic_load(&s->built_changes)) {
            aw_log_info("catalog.finder.stale", "changes=%lld built=%lld", (long long)n,
                        (long long)atomic_load(&s->built_changes));
            if (aw_cat_search_build(s, s->st, &err) != 0)
                aw_log_error("catalog.finder.rebuild_failed", "code=%s", aw_err_name(err.code));
        }
        pthread_mutex_lock(&s->watch_mu);
    }
    pthread_mutex_unlock(&s->watch_mu);
    return NULL;
}

int aw_cat_search_watch(aw_cat_search_t *s, aw_store_t *st, aw_err_t *err) {
    if (s->watching) return 0;
    s->st = st;
    if (pthread_create(&s->watch, NULL, watch_main, s) != 0)
        return aw_err_set(err, AW_EIO, "catalog: cannot start the finder's watcher");
    s->watching = true;
    return 0;
}

static bool parse_limit(const char *v, size_t *out) {
    if (!v) return true;
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < 1 || x > SEARCH_LIMIT_MAX) return false;
    *out = (size_t)x;
    return true;
}

/* Appends hit i (a LeiKa key) as a result object. */
static int add_result(aw_tx_t *tx, json_t *list, const char *leika, double score, const char *ars,
                      bool ai, aw_err_t *err) {
    int rc = 0;
    json_t *svc = aw_cat__service_view(tx, leika, ars, err, &rc);
    if (rc == AW_ECONFLICT) {
        /* a tie in the data: show the service, say why no authority */
        aw_err_clear(err);
        svc = aw_cat__service_view(tx, leika, NULL, err, &rc);
        if (svc) {
            json_object_set_new(svc, "authority", json_null());
            json_object_set_new(svc, "jurisdiction", json_string("ambiguous"));
        }
    }
    if (rc != 0) {
        json_decref(svc);
        return rc;
    }
    json_object_set_new(svc, "score", json_real(score));
    json_object_set_new(svc, "aiAssisted", json_boolean(ai));
    json_array_append_new(list, svc);
    return 0;
}

void aw_cat_search_handle(aw_cat_search_t *s, aw_store_t *st, aw_http_req_t *req,
                          aw_http_resp_t *resp) {
    const char *q = aw_http_query(req, "q");
    if (!q || !*q) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "the query parameter q is required");
        return;
    }
    if (strlen(q) > AW_FINDER_QUERY_MAX) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "q is longer than %d bytes", AW_FINDER_QUERY_MAX);
        return;
    }
    const char *ars_q = aw_http_query(req, "ars"), *ags_q = aw_http_query(req, "ags");
    if (ars_q && ags_q) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "give at most one of ars and ags");
        return;
    }
    size_t limit = SEARCH_LIMIT_DEF;
    if (!parse_limit(aw_http_query(req, "limit"), &limit)) {
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request",
                             "limit must be a whole number from 1 to %d", SEARCH_LIMIT_MAX);
        return;
    }
    aw_err_t err = {0};
    aw_tx_t *tx = NULL;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, &err);
    if (rc != 0) {
        aw_http_resp_header(resp, "Retry-After", "1");
        aw_http_resp_problem(resp, 503, "unavailable", "Service Unavailable", "%s", err.msg);
        return;
    }
    char ars[13] = "";
    if (ars_q || ags_q) {
        rc = aw_cat_area_resolve(tx, ars_q ? AW_CAT_AREA_BY_ARS : AW_CAT_AREA_BY_AGS,
                                 ars_q ? ars_q : ags_q, ars, &err);
        if (rc != 0) {
            aw_store_rollback(tx);
            aw_http_resp_problem(resp, rc == AW_ENOTFOUND ? 404 : 400,
                                 rc == AW_ENOTFOUND ? "not-found" : "invalid-request",
                                 rc == AW_ENOTFOUND ? "Not Found" : "Bad Request", "%s", err.msg);
            return;
        }
    }
    aw_finder_hit_t hits[AW_FINDER_LIMIT_MAX];
    size_t want = s->assist && limit < AW_ASSIST_MAX_CANDIDATES ? AW_ASSIST_MAX_CANDIDATES : limit;
    pthread_rwlock_rdlock(&s->lock);
    int n = s->finder ? aw_finder_search(s->finder, q, want, hits, &err) : 0;
    bool ai = false;
    if (n > 1 && s->assist) {
        aw_assist_candidate_t cand[AW_ASSIST_MAX_CANDIDATES];
        json_t *names = json_array();
        size_t nc = (size_t)n < AW_ASSIST_MAX_CANDIDATES ? (size_t)n : AW_ASSIST_MAX_CANDIDATES;
        for (size_t i = 0; i < nc; i++) {
            json_t *svc = NULL;
            aw_cat_service_get(tx, hits[i].leika, &svc, &err);
            json_array_append_new(names, svc ? svc : json_object());
            cand[i].id = hits[i].leika;
            cand[i].name = str_of(json_array_get(names, i), "name");
        }
        aw_err_clear(&err);
        aw_assist_result_t ar;
        aw_err_t aerr = {0};
        if (aw_assist_rerank(s->assist, q, cand, nc, &ar, &aerr) == 0) {
            aw_finder_hit_t re[AW_FINDER_LIMIT_MAX];
            bool used[AW_ASSIST_MAX_CANDIDATES] = {0};
            size_t k = 0;
            for (size_t i = 0; i < ar.n_order; i++) {
                re[k++] = hits[ar.order[i]];
                used[ar.order[i]] = true;
            }
            for (size_t i = 0; i < (size_t)n; i++)
                if (i >= nc || !used[i]) re[k++] = hits[i];
            memcpy(hits, re, k * sizeof *re);
            ai = true;
        }
        json_decref(names);
    }
    pthread_rwlock_unlock(&s->lock);
    if (n < 0) {
        aw_store_rollback(tx);
        aw_http_resp_problem(resp, 400, "invalid-request", "Bad Request", "%s", err.msg);
        return;
    }
    if ((size_t)n > limit) n = (int)limit;
    json_t *list = json_array();
    for (int i = 0; i < n && rc == 0; i++)
        rc = add_result(tx, list, hits[i].leika, hits[i].score, ars[0] ? ars : NULL, ai, &err);
    aw_store_rollback(tx);
    if (rc != 0) {
        json_decref(list);
        aw_http_resp_problem(resp, 500, "internal-error", "Internal Server Error", "catalogue");
        return;
    }
    json_t *out = json_pack("{sI sb so}", "count", (json_int_t)json_array_size(list), "aiAssisted",
                            ai, "services", list);
    if (ai)
        json_object_set_new(out, "notice",
                            json_string("Reihenfolge KI-gestützt ermittelt (AI-assisted ranking)"));
    if (ars[0]) json_object_set_new(out, "ars", json_string(ars));
    aw_http_resp_json(resp, 200, out);
}
