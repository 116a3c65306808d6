#include "app/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/time.h"
#include "store/store.h"

struct aw_ops {
    aw_http_server_t *srv;
    aw_store_t *store;
    int64_t started_ms;
};

/* `demo` keeps its database under var/ by default; create that directory
 * (only the last level) so `make run` works from a fresh clone. */
static void ensure_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || strstr(path, "://")) return;
    char dir[1024];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    if (mkdir(dir, 0750) != 0 && errno != EEXIST) return;
}

int aw_ops_open(const aw_app_config_t *c, aw_ops_t **out, aw_err_t *err) {
    aw_ops_t *o = calloc(1, sizeof *o);
    if (!o) return aw_err_set(err, AW_ENOMEM, "out of memory");
    o->started_ms = aw_time_now_ms();
    if (c->demo) ensure_parent_dir(c->db);
    aw_store_opts_t so = {0};
    so.pool_size = (int)(c->http.threads ? c->http.threads : 2) + 2;
    int applied = 0, rc = aw_store_open(c->db, &so, &o->store, err);
    if (rc == 0) rc = aw_store_migrate(o->store, &applied, err);
    if (rc) {
        aw_ops_close(o);
        return rc;
    }
    int dbv = 0, known = 0;
    aw_store_schema_version(o->store, &dbv, &known, NULL);
    aw_log_info("store.open", "engine=%s schema_version=%d migrations_applied=%d",
                aw_store_engine_name(o->store), dbv, applied);
    *out = o;
    return 0;
}

aw_store_t *aw_ops_store(aw_ops_t *ops) {
    return ops->store;
}

void aw_ops_set_server(aw_ops_t *ops, aw_http_server_t *srv) {
    ops->srv = srv;
}

const char *aw_ops_engine(const aw_ops_t *ops) {
    return ops->store ? aw_store_engine_name(ops->store) : "none";
}

void aw_ops_close(aw_ops_t *ops) {
    if (!ops) return;
    aw_store_close(ops->store);
    free(ops);
}

static void h_health(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)req, (void)ctx;
    static const char ok[] = "{\"status\":\"ok\"}";
    aw_http_resp_header(resp, "Cache-Control", "no-store");
    aw_http_resp_text(resp, 200, "application/json", ok, sizeof ok - 1);
}

static void h_ready(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_ops_t *o = ctx;
    (void)req;
    aw_err_t err;
    aw_http_resp_header(resp, "Cache-Control", "no-store");
    if (aw_store_ping(o->store, &err) != 0) {
        aw_log_warn("ops.not_ready", "code=%s", aw_err_name(err.code));
        aw_http_resp_problem(resp, 503, "not-ready", "Service Unavailable",
                             "the database does not answer");
        return;
    }
    aw_http_resp_json(
        resp, 200,
        json_pack("{s:s,s:s}", "status", "ready", "database", aw_store_engine_name(o->store)));
}

/* Resident set size in bytes from /proc/self/statm. */
static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long pages = 0, rss = 0;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = 0;
    fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static void h_metrics(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_ops_t *o = ctx;
    (void)req;
    aw_buf_t b = AW_BUF_INIT;
    if (o->srv) aw_http_server_metrics(o->srv, &b);
    aw_store_stats_t st;
    bool have_st = aw_store_stats(o->store, &st, NULL) == 0;
    if (have_st)
        aw_buf_printf(&b,
                      "# HELP amtsweg_outbox_pending Outbox jobs waiting or in progress.\n"
                      "# TYPE amtsweg_outbox_pending gauge\namtsweg_outbox_pending %lld\n"
                      "# HELP amtsweg_outbox_dead_letters Outbox jobs that gave up.\n"
                      "# TYPE amtsweg_outbox_dead_letters gauge\namtsweg_outbox_dead_letters "
                      "%lld\n"
                      "# HELP amtsweg_store_connections Database connections open / in use.\n"
                      "# TYPE amtsweg_store_connections gauge\n"
                      "amtsweg_store_connections{state=\"open\"} %d\n"
                      "amtsweg_store_connections{state=\"in_use\"} %d\n",
                      (long long)st.outbox_pending, (long long)st.outbox_dead, st.pool_open,
                      st.pool_in_use);
    if (have_st && st.write_commits)
        aw_buf_printf(&b,
                      "# HELP amtsweg_store_write_transactions_total Write transactions committed"
                      " (SQLite).\n"
                      "# TYPE amtsweg_store_write_transactions_total counter\n"
                      "amtsweg_store_write_transactions_total %lld\n"
                      "# HELP amtsweg_store_write_commits_total SQLite commits of write batches:"
                      " concurrent write transactions share one.\n"
                      "# TYPE amtsweg_store_write_commits_total counter\n"
                      "amtsweg_store_write_commits_total %lld\n"
                      "# HELP amtsweg_store_write_waiting Threads waiting for the write lock.\n"
                      "# TYPE amtsweg_store_write_waiting gauge\n"
                      "amtsweg_store_write_waiting %d\n",
                      (long long)st.write_txs, (long long)st.write_commits, st.write_waiting);
    aw_buf_printf(&b,
                  "# HELP amtsweg_build_info Build version.\n# TYPE amtsweg_build_info gauge\n"
                  "amtsweg_build_info{version=\"%s\"} 1\n"
                  "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
                  "# TYPE process_resident_memory_bytes gauge\n"
                  "process_resident_memory_bytes %ld\n"
                  "# HELP process_start_time_seconds Start time since the Unix epoch.\n"
                  "# TYPE process_start_time_seconds gauge\n"
                  "process_start_time_seconds %lld\n",
                  AW_VERSION, rss_bytes(), (long long)(o->started_ms / 1000));
    aw_http_resp_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                      b.len);
    aw_buf_free(&b);
}

int aw_ops_register(aw_ops_t *ops, aw_http_server_t *srv, aw_err_t *err) {
    const aw_route_spec_t routes[] = {
        {.method = "GET",
         .path = "/health",
         .handler = h_health,
         .ctx = ops,
         .flags = AW_ROUTE_NOLOG},
        {.method = "GET",
         .path = "/ready",
         .handler = h_ready,
         .ctx = ops,
         .flags = AW_ROUTE_NOLOG},
        {.method = "GET",
         .path = "/metrics",
         .handler = h_metrics,
         .ctx = ops,
         .flags = AW_ROUTE_NOLOG},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        int rc = aw_http_server_route(srv, &routes[i], err);
        if (rc) return rc;
    }
    return 0;
}
