#include "app/ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"

struct aw_ops {
    aw_http_server_t *srv;
    int64_t started_ms;
};

int aw_ops_open(const aw_app_config_t *c, aw_ops_t **out, aw_err_t *err) {
    (void)c;
    aw_ops_t *o = calloc(1, sizeof *o);
    if (!o) return aw_err_set(err, AW_ENOMEM, "out of memory");
    o->started_ms = aw_time_now_ms();
    *out = o;
    return 0;
}

void aw_ops_set_server(aw_ops_t *ops, aw_http_server_t *srv) {
    ops->srv = srv;
}

const char *aw_ops_engine(const aw_ops_t *ops) {
    (void)ops;
    return "none";
}

void aw_ops_close(aw_ops_t *ops) {
    free(ops);
}

static void h_health(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)req, (void)ctx;
    aw_http_resp_header(resp, "Cache-Control", "no-store");
    aw_http_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
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
