/*
 * http — the HTTP server: libmicrohttpd underneath, routes, limits, metrics.
 *
 * What it promises:
 *  - Handlers run on the server's thread pool (MHD internal polling threads
 *    with epoll, one per --threads) once the whole request has arrived; the
 *    response is queued only on the final callback, so keep-alive and
 *    pipelining work. Error responses for limits (431, 413, 503) are sent
 *    before the body is read, with `Connection: close`.
 *  - Bounds: header bytes (431), body bytes per route (413), connections
 *    (503 above the soft limit), per-IP connections, idle timeout, a header
 *    deadline enforced by a watchdog (slowloris), a whole-request deadline.
 *    Every error a client sees is RFC 9457 problem+json.
 *  - Each request has an arena freed in one call after the response is
 *    sent, a request id (X-Request-Id, taken from the client when it is a
 *    safe token, else a UUID) and one access-log line (method, route
 *    template, status, µs) — never the query string or body.
 *  - JSON routes (AW_ROUTE_JSON) get a strictly parsed body (http/json.h) or
 *    an automatic 400/415 problem naming line and column.
 *  - aw_http_server_stop drains: stops accepting, lets in-flight requests
 *    finish (bounded), then closes idle keep-alive connections.
 */
#ifndef AW_HTTP_HTTP_H
#define AW_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"

typedef struct aw_http_server aw_http_server_t;
typedef struct aw_http_req aw_http_req_t;
typedef struct aw_http_resp aw_http_resp_t;

typedef void (*aw_http_handler_fn)(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx);
/* Streaming body sink: called for each chunk; returns 0 to continue or an
 * HTTP status (e.g. 413, 400) to stop reading and answer with that status
 * after setting the problem on `resp`. */
typedef int (*aw_http_chunk_fn)(aw_http_req_t *req, aw_http_resp_t *resp, const char *data,
                                size_t len, void *ctx);

enum {
    AW_ROUTE_JSON = 1 << 0,   /* body must be application/json; parsed into req->json */
    AW_ROUTE_STREAM = 1 << 1, /* body is handed to on_chunk, not buffered */
    AW_ROUTE_NOLOG = 1 << 2,  /* no access-log line (health probes) */
};

typedef struct aw_route_spec {
    const char *method;
    const char *path; /* template: "/v1/submissions/{submissionId}" */
    aw_http_handler_fn handler;
    void *ctx;
    unsigned flags;
    size_t max_body;           /* 0: the server default */
    aw_http_chunk_fn on_chunk; /* with AW_ROUTE_STREAM */
    /* Runs once the headers are in, before any of the body is read. A
     * response it sets is sent at once and the body is never read, so a
     * client that may not use the route cannot make the server receive,
     * buffer or parse its body: authentication belongs here (the handler
     * may check again; it runs only when the gate set no response). */
    aw_http_handler_fn gate;
} aw_route_spec_t;

#define AW_HTTP_BODY_MEMORY_DEFAULT ((size_t)256 * 1024 * 1024)

typedef struct aw_http_config {
    const char *host;      /* "127.0.0.1", "::1", "0.0.0.0" */
    uint16_t port;         /* 0: pick a free port (see aw_http_server_port) */
    unsigned threads;      /* 0: number of online CPUs */
    unsigned conn_limit;   /* soft limit; above it requests get 503 */
    unsigned per_ip_limit; /* 0: none */
    unsigned idle_timeout_s;
    unsigned header_timeout_s;  /* from connection/last response to complete headers */
    unsigned request_timeout_s; /* from complete headers to complete body */
    size_t max_header_bytes;
    size_t max_body_bytes; /* default per route */
    /* Request bodies held in memory at once, all connections together
     * (streamed routes do not count); a request that would go beyond gets
     * 503 with Retry-After. 0: 256 MiB. Must not be below the largest
     * buffered route limit (aw_http_server_start refuses). */
    size_t max_body_memory;
    unsigned drain_timeout_s;
    /* Reverse proxies whose X-Forwarded-For is believed (http/clientip.h):
     * addresses or CIDR blocks, comma-separated; NULL: none. */
    const char *trusted_proxies;
} aw_http_config_t;

void aw_http_config_defaults(aw_http_config_t *c);

struct aw_http_req {
    const char *method;
    const char *path;  /* URL path without query */
    const char *route; /* matched template, or NULL (404/405) */
    const char *request_id;
    aw_arena_t *arena; /* freed after the response is sent */
    const char *body;  /* buffered body (NUL-terminated) or NULL */
    size_t body_len;
    json_t *json; /* AW_ROUTE_JSON: parsed body; owned by the request */
    void *user;   /* free for handlers / chunk sinks */
    /* who a route's gate let in (the module's own id and kind), so that the
     * handler need not authenticate the same request again; "" when no
     * gate set it */
    char principal[48];
    int principal_kind;
    void (*cleanup)(aw_http_req_t *req); /* called once when the request ends */
    struct aw_http__priv *priv;
};

struct aw_http_resp {
    int status;
    const char *content_type;
    aw_buf_t body;
    struct aw_http__hdr *headers;
    bool close;    /* send Connection: close */
    bool has_file; /* aw_http_resp_file: the body is streamed from file_fd */
    int file_fd;
    uint64_t file_size;
    /* aw_http_resp_stream: the body comes from stream_fn (file_size bytes) */
    long long (*stream_fn)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*stream_free)(void *ctx);
    void *stream_ctx;
};

/* Request accessors (values live as long as the request). */
const char *aw_http_param(const aw_http_req_t *req, const char *name);
const char *aw_http_query(const aw_http_req_t *req, const char *name);
const char *aw_http_header(const aw_http_req_t *req, const char *name);
/* The client's address as text ("127.0.0.1", "::1"), computed on first use:
 * the peer, or behind a trusted proxy the address X-Forwarded-For names
 * (http/clientip.h). Use it for per-client limits. */
const char *aw_http_client_ip(aw_http_req_t *req);

/* Response helpers. Bodies are copied. */
void aw_http_resp_header(aw_http_resp_t *resp, const char *name, const char *value);
void aw_http_resp_text(aw_http_resp_t *resp, int status, const char *content_type, const char *data,
                       size_t len);
/* Streams `size` bytes from the start of `fd` as the body (large files are
 * never held in memory; MHD uses sendfile where it can). Takes ownership of
 * fd: it is closed after sending, or when the response is replaced or
 * dropped. */
void aw_http_resp_file(aw_http_resp_t *resp, int status, const char *content_type, int fd,
                       uint64_t size);
/* Streams `size` bytes produced by fn as the body: fn(ctx, pos, buf, max)
 * is called in order from pos 0 and returns how many bytes (1..max) it put
 * into buf, or -1 on an error (the connection is then closed: the client
 * sees a body shorter than Content-Length). free_fn(ctx) runs once when the
 * response is done, replaced or dropped. For content that is neither in
 * memory nor in one file (attachments in the database). */
void aw_http_resp_stream(aw_http_resp_t *resp, int status, const char *content_type, uint64_t size,
                         long long (*fn)(void *ctx, uint64_t pos, char *buf, size_t max),
                         void (*free_fn)(void *ctx), void *ctx);
/* Serialises json (steals the reference). */
void aw_http_resp_json(aw_http_resp_t *resp, int status, json_t *json);
/* problem+json; `type` as in problem.h; detail is printf-formatted. */
void aw_http_resp_problem(aw_http_resp_t *resp, int status, const char *type, const char *title,
                          const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));
/* problem+json from a prepared object (steals the reference). */
void aw_http_resp_problem_json(aw_http_resp_t *resp, json_t *problem);

/* Server lifecycle. Routes are added before aw_http_server_start. */
int aw_http_server_new(const aw_http_config_t *cfg, aw_http_server_t **out, aw_err_t *err);
int aw_http_server_route(aw_http_server_t *s, const aw_route_spec_t *spec, aw_err_t *err);
/* The i-th registered route; false past the end. */
bool aw_http_server_route_at(const aw_http_server_t *s, size_t i, const char **method,
                             const char **path);
/* Binds, listens and starts the threads. Clear errors for a taken port or
 * an address that cannot be bound. */
int aw_http_server_start(aw_http_server_t *s, aw_err_t *err);
uint16_t aw_http_server_port(const aw_http_server_t *s);
/* Graceful stop: stop accepting, finish in-flight requests (up to
 * drain_timeout_s), close the rest. Returns the number of requests that
 * were still in flight at the deadline (0 on a clean drain). */
int aw_http_server_stop(aw_http_server_t *s);
void aw_http_server_free(aw_http_server_t *s);

/* Modules add their own metric families to GET /metrics: `fn` appends
 * Prometheus text to out (called on a request thread; must be thread-safe).
 * Register before start. */
typedef void (*aw_http_metrics_fn)(void *ctx, aw_buf_t *out);
int aw_http_server_add_metrics(aw_http_server_t *s, aw_http_metrics_fn fn, void *ctx,
                               aw_err_t *err);

/* Metrics text (Prometheus exposition) of the HTTP layer and of every
 * registered module writer, appended to out. */
void aw_http_server_metrics(aw_http_server_t *s, aw_buf_t *out);
unsigned aw_http_server_inflight(const aw_http_server_t *s);
/* Request body bytes held (reserved) now, of cfg.max_body_memory. */
size_t aw_http_server_body_memory(const aw_http_server_t *s);
/* True once aw_http_server_stop has begun. */
bool aw_http_server_draining(aw_http_server_t *s);

#endif
