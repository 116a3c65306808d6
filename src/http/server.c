/*
 * server.c — libmicrohttpd glue: two-phase request handling, limits, the
 * slowloris watchdog, draining, access log and per-route metrics.
 *
 * Request phases as MHD calls us (see http.h for the promises):
 *   1st call   headers complete. We match the route and check the limits
 *              that can be decided now (connections, header bytes, header
 *              deadline, Content-Length). Only an error is queued here — MHD
 *              then closes the connection, which is what we want when the
 *              body will not be read. Otherwise we only set up state.
 *   n-th call  body chunks: buffered (bounded) or streamed to the route.
 *   last call  (upload_data_size == 0) dispatch to the handler and queue.
 * Queuing a normal response on the 1st call would make MHD close
 * keep-alive connections and break pipelining; hence the strict split.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "base/uuid.h"
#include "http/clientip.h"
#include "http/json.h"
#include "http/linger.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"

struct aw_http__hdr {
    struct aw_http__hdr *next;
    char *name;
    char *value;
};

typedef enum { PHASE_IDLE = 0, PHASE_BODY, PHASE_HANDLING } phase_t;

typedef struct conn_state {
    struct conn_state *prev, *next;
    int fd;
    char peer[INET6_ADDRSTRLEN]; /* counted in the per-address limit ("": not) */
    _Atomic int phase;           /* phase_t; written by MHD threads, read by the watchdog */
    _Atomic int64_t since_us;    /* start of the current phase */
    bool killed;                 /* under the server lock */
    bool linger; /* answered before its body was read: a lingering close (linger.h) */
} conn_state_t;

typedef struct route_stats {
    _Atomic uint64_t status[600];
    aw_hist_t latency;
} route_stats_t;

/* Open connections of one client address (own per-address limit, see
 * peer_allowed). */
typedef struct peer_count {
    struct peer_count *next;
    unsigned n;
    char ip[INET6_ADDRSTRLEN];
} peer_count_t;

#define PEER_BUCKETS 256

/* A request the route's gate refused is answered after its body when the
 * body is at most this long (read and dropped), at once with
 * Connection: close when it is longer or of unknown length. */
#define GATE_DISCARD_MAX (64u * 1024)

/* The lingering close of such connections (linger.h): at most this many at
 * once, each for at most 30 s in all and 5 s without data (nginx's
 * lingering_time and lingering_timeout). */
#define LINGER_MAX_FDS  256
#define LINGER_TOTAL_MS 30000
#define LINGER_IDLE_MS  5000

struct aw_http_server {
    aw_http_config_t cfg;
    aw_cidr_list_t trusted; /* proxies whose X-Forwarded-For counts */
    /* --max-connections-per-ip with trusted proxies: counted here, not by
     * MHD, so that the proxies' own connections are not limited (under
     * peers_lock) */
    bool own_per_ip;
    pthread_mutex_t peers_lock;
    peer_count_t *peers[PEER_BUCKETS];
    aw_router_t *router;
    aw_route_spec_t *specs;
    size_t nspecs, capspecs;
    route_stats_t *stats; /* nspecs + 1 (last: unmatched) */
    struct MHD_Daemon *mhd;
    int listen_fd;
    uint16_t port;

    pthread_mutex_t lock; /* conns list, drain state */
    pthread_cond_t drained;
    conn_state_t *conns;
    _Atomic unsigned nconns;
    _Atomic unsigned inflight;
    _Atomic bool draining;

    pthread_t watchdog;
    bool watchdog_running;
    bool watchdog_stop;
    pthread_cond_t watchdog_cond;

    _Atomic uint64_t killed_slow;
    _Atomic uint64_t aborted;
    /* request bodies held in memory (reserved up to cfg.max_body_memory)
     * and requests refused because there was no room */
    _Atomic size_t body_mem;
    _Atomic uint64_t body_refused;
    aw_linger_t *linger;         /* lingering closes; NULL before start and after stop */
    unsigned long long fd_limit; /* the open-file limit at start (fd_budget) */

    struct {
        aw_http_metrics_fn fn;
        void *ctx;
    } writers[16];
    size_t nwriters;
};

struct aw_http__priv {
    aw_http_server_t *srv;
    struct MHD_Connection *conn;
    conn_state_t *cs;
    aw_arena_t arena;
    aw_http_req_t req;
    aw_http_resp_t resp;
    aw_route_match_t match;
    const aw_route_spec_t *spec;
    int route;
    bool early;  /* response queued on the first call */
    bool queued; /* a response was handed to MHD */
    aw_buf_t body;
    size_t body_max;
    size_t received;
    size_t reserved; /* of s->body_mem, released when the request ends */
    bool overflow;
    bool busy;  /* no room in max_body_memory: the rest is discarded, 503 */
    bool gated; /* the gate answered; the (small) body is read and dropped */
    int stream_status;
    int64_t start_us;
    int64_t deadline_us;
    char reqid[65];
    const char *client_ip;
};

void aw_http_config_defaults(aw_http_config_t *c) {
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8080;
    c->threads = 0;
    c->conn_limit = 1000;
    c->per_ip_limit = 0;
    c->idle_timeout_s = 30;
    c->header_timeout_s = 30;
    c->request_timeout_s = 300;
    c->max_header_bytes = 16 * 1024;
    c->max_body_bytes = 1024 * 1024;
    c->max_body_memory = AW_HTTP_BODY_MEMORY_DEFAULT;
    c->drain_timeout_s = 30;
}

/* ---- request accessors ------------------------------------------------ */

const char *aw_http_param(const aw_http_req_t *req, const char *name) {
    const aw_route_match_t *m = &req->priv->match;
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0) return m->values[i];
    return NULL;
}

const char *aw_http_query(const aw_http_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->priv->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *aw_http_header(const aw_http_req_t *req, const char *name) {
    return MHD_lookup_connection_value(req->priv->conn, MHD_HEADER_KIND, name);
}

static const char *client_ip(struct MHD_Connection *conn, char *buf, size_t n);

/* Joins every X-Forwarded-For header of the request with ",", in order
 * (bounded by the header limit the server already enforces). */
static enum MHD_Result xff_one(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
    (void)kind;
    aw_buf_t *b = cls;
    if (key && value && strcasecmp(key, "X-Forwarded-For") == 0) {
        if (b->len) aw_buf_putc(b, ',');
        aw_buf_puts(b, value);
    }
    return MHD_YES;
}

const char *aw_http_client_ip(aw_http_req_t *req) {
    if (!req->priv->client_ip) {
        char peer[64], ip[64];
        client_ip(req->priv->conn, peer, sizeof peer);
        const aw_cidr_list_t *trusted = &req->priv->srv->trusted;
        aw_buf_t x = AW_BUF_INIT;
        if (trusted->n) MHD_get_connection_values(req->priv->conn, MHD_HEADER_KIND, xff_one, &x);
        aw_client_ip_resolve(trusted, peer, x.len && aw_buf_ok(&x) ? x.data : NULL, ip, sizeof ip);
        aw_buf_free(&x);
        req->priv->client_ip = aw_arena_strdup(&req->priv->arena, ip);
    }
    return req->priv->client_ip ? req->priv->client_ip : "";
}

/* ---- responses ---------------------------------------------------------- */

void aw_http_resp_header(aw_http_resp_t *resp, const char *name, const char *value) {
    struct aw_http__hdr *h = malloc(sizeof *h);
    if (!h) return;
    h->name = strdup(name);
    h->value = strdup(value);
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        free(h);
        return;
    }
    h->next = resp->headers;
    resp->headers = h;
}

static void drop_file(aw_http_resp_t *resp) {
    if (resp->has_file) {
        close(resp->file_fd);
        resp->has_file = false;
        resp->file_fd = -1;
    }
    if (resp->stream_fn) {
        if (resp->stream_free) resp->stream_free(resp->stream_ctx);
        resp->stream_fn = NULL;
        resp->stream_free = NULL;
        resp->stream_ctx = NULL;
    }
}

void aw_http_resp_file(aw_http_resp_t *resp, int status, const char *content_type, int fd,
                       uint64_t size) {
    drop_file(resp);
    aw_buf_reset(&resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->has_file = true;
    resp->file_fd = fd;
    resp->file_size = size;
}

void aw_http_resp_stream(aw_http_resp_t *resp, int status, const char *content_type, uint64_t size,
                         long long (*fn)(void *ctx, uint64_t pos, char *buf, size_t max),
                         void (*free_fn)(void *ctx), void *ctx) {
    drop_file(resp);
    aw_buf_reset(&resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->stream_fn = fn;
    resp->stream_free = free_fn;
    resp->stream_ctx = ctx;
    resp->file_size = size;
}

/* MHD's side of aw_http_resp_stream. */
typedef struct {
    long long (*fn)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*free_fn)(void *ctx);
    void *ctx;
} stream_t;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream_t *s = cls;
    long long n = s->fn(s->ctx, pos, buf, max);
    if (n <= 0 || (size_t)n > max) return MHD_CONTENT_READER_END_WITH_ERROR;
    return (ssize_t)n;
}

static void stream_done(void *cls) {
    stream_t *s = cls;
    if (s->free_fn) s->free_fn(s->ctx);
    free(s);
}

void aw_http_resp_text(aw_http_resp_t *resp, int status, const char *content_type, const char *data,
                       size_t len) {
    drop_file(resp);
    resp->status = status;
    resp->content_type = content_type;
    aw_buf_reset(&resp->body);
    aw_buf_append(&resp->body, data, len);
}

void aw_http_resp_json(aw_http_resp_t *resp, int status, json_t *json) {
    drop_file(resp);
    resp->status = status;
    resp->content_type = "application/json";
    aw_buf_reset(&resp->body);
    char *s = json ? json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    if (s) {
        aw_buf_puts(&resp->body, s);
        free(s);
    } else {
        resp->status = 500;
        aw_buf_puts(&resp->body, "{}");
    }
    json_decref(json);
}

void aw_http_resp_problem_json(aw_http_resp_t *resp, json_t *problem) {
    json_t *st = json_object_get(problem, "status");
    int status = json_is_integer(st) ? (int)json_integer_value(st) : 500;
    aw_http_resp_json(resp, status, problem);
    resp->content_type = "application/problem+json";
}

void aw_http_resp_problem(aw_http_resp_t *resp, int status, const char *type, const char *title,
                          const char *detail_fmt, ...) {
    char detail[1024];
    detail[0] = '\0';
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
    }
    json_t *p = aw_problem_new(status, type, title, detail_fmt ? detail : NULL);
    if (detail_fmt && !json_object_get(p, "detail"))
        json_object_set_new(p, "detail", json_string("(detail not valid UTF-8)"));
    aw_http_resp_problem_json(resp, p);
}

static void free_headers(aw_http_resp_t *resp) {
    struct aw_http__hdr *h = resp->headers;
    while (h) {
        struct aw_http__hdr *n = h->next;
        free(h->name);
        free(h->value);
        free(h);
        h = n;
    }
    resp->headers = NULL;
}

/* ---- server ------------------------------------------------------------- */

int aw_http_server_new(const aw_http_config_t *cfg, aw_http_server_t **out, aw_err_t *err) {
    aw_http_server_t *s = calloc(1, sizeof *s);
    if (!s) return aw_err_set(err, AW_ENOMEM, "out of memory");
    s->cfg = *cfg;
    if (s->cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->cfg.threads = n > 0 ? (unsigned)n : 2;
    }
    if (s->cfg.conn_limit == 0) s->cfg.conn_limit = 1000;
    if (s->cfg.max_body_bytes == 0) s->cfg.max_body_bytes = 1024 * 1024;
    if (s->cfg.max_body_memory == 0) s->cfg.max_body_memory = AW_HTTP_BODY_MEMORY_DEFAULT;
    if (s->cfg.max_header_bytes == 0) s->cfg.max_header_bytes = 16 * 1024;
    int rc = aw_cidr_list_parse(cfg->trusted_proxies, &s->trusted, err);
    if (rc < 0) {
        aw_err_prefix(err, "trusted proxies");
        free(s);
        return rc;
    }
    s->cfg.trusted_proxies = NULL; /* parsed; the caller's string is not kept */
    s->router = aw_router_new();
    s->listen_fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->peers_lock, NULL);
    pthread_cond_init(&s->drained, NULL);
    pthread_cond_init(&s->watchdog_cond, NULL);
    if (!s->router) {
        free(s);
        return aw_err_set(err, AW_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

int aw_http_server_route(aw_http_server_t *s, const aw_route_spec_t *spec, aw_err_t *err) {
    if (s->mhd) return aw_err_set(err, AW_ESTATE, "routes must be added before start");
    if (!spec->handler) return aw_err_set(err, AW_EINVAL, "route %s has no handler", spec->path);
    int idx = aw_router_add(s->router, spec->method, spec->path);
    if (idx < 0)
        return aw_err_set(err, AW_EINVAL, "route %s %s: malformed template or duplicate",
                          spec->method, spec->path);
    if (s->nspecs == s->capspecs) {
        size_t cap = s->capspecs ? s->capspecs * 2 : 16;
        aw_route_spec_t *n = realloc(s->specs, cap * sizeof *n);
        if (!n) return aw_err_set(err, AW_ENOMEM, "out of memory");
        s->specs = n;
        s->capspecs = cap;
    }
    s->specs[s->nspecs++] = *spec;
    return 0;
}

int aw_http_server_add_metrics(aw_http_server_t *s, aw_http_metrics_fn fn, void *ctx,
                               aw_err_t *err) {
    if (s->mhd) return aw_err_set(err, AW_ESTATE, "metrics writers must be added before start");
    if (s->nwriters == sizeof s->writers / sizeof *s->writers)
        return aw_err_set(err, AW_ETOOBIG, "too many metrics writers");
    s->writers[s->nwriters].fn = fn;
    s->writers[s->nwriters].ctx = ctx;
    s->nwriters++;
    return 0;
}

bool aw_http_server_route_at(const aw_http_server_t *s, size_t i, const char **method,
                             const char **path) {
    if (i >= s->nspecs) return false;
    *method = s->specs[i].method;
    *path = s->specs[i].path;
    return true;
}

uint16_t aw_http_server_port(const aw_http_server_t *s) {
    return s->port;
}

bool aw_http_server_draining(aw_http_server_t *s) {
    return atomic_load(&s->draining);
}

unsigned aw_http_server_inflight(const aw_http_server_t *s) {
    return atomic_load(&s->inflight);
}

size_t aw_http_server_body_memory(const aw_http_server_t *s) {
    return atomic_load(&s->body_mem);
}

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    char q[560];
    aw_log_debug("http.mhd", "msg=%s", aw_log_quote(q, sizeof q, msg));
}

/* ---- the per-address connection limit behind trusted proxies ----------- */

/* Canonical text of a socket address (IPv4-mapped IPv6 as IPv4); "" when
 * it is neither. */
static void sockaddr_text(const struct sockaddr *sa, char out[INET6_ADDRSTRLEN]) {
    out[0] = '\0';
    if (!sa) return;
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, INET6_ADDRSTRLEN);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, a->s6_addr + 12, out, INET6_ADDRSTRLEN);
        else
            inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
    }
}

static peer_count_t **peer_slot(aw_http_server_t *s, const char *ip) {
    unsigned h = 2166136261u;
    for (const char *p = ip; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    peer_count_t **pp = &s->peers[h % PEER_BUCKETS];
    while (*pp && strcmp((*pp)->ip, ip) != 0) pp = &(*pp)->next;
    return pp;
}

/* MHD's accept policy when own_per_ip: a trusted proxy is never limited
 * (its connections carry many clients; their requests are limited by
 * address through X-Forwarded-For); any other address has at most
 * per_ip_limit connections open. Checked at accept, counted once MHD has
 * set the connection up (conn_notify): connections accepted by several
 * threads at the same moment can pass the limit by that many. */
static enum MHD_Result peer_allowed(void *cls, const struct sockaddr *addr, socklen_t len) {
    aw_http_server_t *s = cls;
    (void)len;
    char ip[INET6_ADDRSTRLEN];
    sockaddr_text(addr, ip);
    if (!ip[0] || aw_cidr_list_match(&s->trusted, ip)) return MHD_YES;
    pthread_mutex_lock(&s->peers_lock);
    peer_count_t *pc = *peer_slot(s, ip);
    bool ok = !pc || pc->n < s->cfg.per_ip_limit;
    pthread_mutex_unlock(&s->peers_lock);
    if (!ok) aw_log_debug("http.refused", "peer=%s reason=per-ip-limit", ip); /* no flood */
    return ok ? MHD_YES : MHD_NO;
}

/* MHD's accept policy: while draining, a new connection is closed as soon
 * as it is accepted (see aw_http_server_stop); otherwise the per-address
 * limit when we count ourselves. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len) {
    aw_http_server_t *s = cls;
    if (atomic_load(&s->draining)) return MHD_NO;
    return s->own_per_ip ? peer_allowed(cls, addr, len) : MHD_YES;
}

/* Counts (add 1) or uncounts (add -1) a connection of ip. */
static void peer_add(aw_http_server_t *s, const char *ip, int add) {
    pthread_mutex_lock(&s->peers_lock);
    peer_count_t **pp = peer_slot(s, ip);
    if (add > 0) {
        if (!*pp && (*pp = calloc(1, sizeof **pp)) != NULL)
            snprintf((*pp)->ip, sizeof(*pp)->ip, "%s", ip);
        if (*pp) (*pp)->n++;
    } else if (*pp && --(*pp)->n == 0) {
        peer_count_t *gone = *pp;
        *pp = gone->next;
        free(gone);
    }
    pthread_mutex_unlock(&s->peers_lock);
}

static void conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code) {
    aw_http_server_t *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_state_t *cs = calloc(1, sizeof *cs);
        if (!cs) return;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        cs->fd = ci ? ci->connect_fd : -1;
        if (s->own_per_ip) {
            client_ip(conn, cs->peer, sizeof cs->peer);
            if (cs->peer[0] && !aw_cidr_list_match(&s->trusted, cs->peer))
                peer_add(s, cs->peer, 1);
            else
                cs->peer[0] = '\0';
        }
        cs->phase = PHASE_IDLE;
        cs->since_us = aw_time_mono_us();
        pthread_mutex_lock(&s->lock);
        cs->next = s->conns;
        if (s->conns) s->conns->prev = cs;
        s->conns = cs;
        pthread_mutex_unlock(&s->lock);
        atomic_fetch_add(&s->nconns, 1);
        *socket_context = cs;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_state_t *cs = *socket_context;
        if (!cs) return;
        /* MHD closes the fd only after this returns; removing the entry
         * under the lock means the watchdog never touches a reused fd. */
        pthread_mutex_lock(&s->lock);
        if (cs->prev)
            cs->prev->next = cs->next;
        else
            s->conns = cs->next;
        if (cs->next) cs->next->prev = cs->prev;
        pthread_mutex_unlock(&s->lock);
        if (cs->peer[0]) peer_add(s, cs->peer, -1);
        /* a body left unread: read and drop it on a copy of the socket
         * before the close (MHD closes its own descriptor after this) */
        if (cs->linger && cs->fd >= 0 && s->linger) {
            int dup_fd = fcntl(cs->fd, F_DUPFD_CLOEXEC, 0);
            if (dup_fd >= 0) aw_linger_add(s->linger, dup_fd);
        }
        atomic_fetch_sub(&s->nconns, 1);
        free(cs);
        *socket_context = NULL;
    }
}

/* The watchdog closes connections that have not completed their request
 * headers within header_timeout_s (counted from connection start or the
 * end of the previous response): slowloris clients that drip bytes just
 * often enough to defeat the idle timeout. shutdown(2) — not close — makes
 * MHD see EOF and clean up on its own thread. */
static void *watchdog_main(void *arg) {
    aw_http_server_t *s = arg;
    int64_t limit_us = (int64_t)s->cfg.header_timeout_s * 1000000;
    int64_t period_us = limit_us / 4;
    if (period_us < 100000) period_us = 100000;
    if (period_us > 1000000) period_us = 1000000;
    pthread_mutex_lock(&s->lock);
    while (!s->watchdog_stop) {
        int64_t now = aw_time_mono_us();
        for (conn_state_t *cs = s->conns; cs; cs = cs->next) {
            if (cs->phase == PHASE_IDLE && !cs->killed && cs->fd >= 0 &&
                now - cs->since_us > limit_us) {
                shutdown(cs->fd, SHUT_RDWR);
                cs->killed = true;
                atomic_fetch_add(&s->killed_slow, 1);
                aw_log_info("http.slow_client", "action=close phase=headers after_ms=%lld",
                            (long long)((now - cs->since_us) / 1000));
            }
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (period_us % 1000000) * 1000;
        ts.tv_sec += period_us / 1000000 + ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&s->watchdog_cond, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Request ids: a random per-process prefix and a counter — unique, cheap
 * (no CSPRNG call per request) and sortable within one process. */
static char g_rid_prefix[17];
static _Atomic uint64_t g_rid_counter;
static pthread_once_t g_rid_once = PTHREAD_ONCE_INIT;

static void rid_init(void) {
    char u[AW_UUID_STRLEN + 1];
    aw_uuid_v4(u);
    memcpy(g_rid_prefix, u, 8);
    memcpy(g_rid_prefix + 8, u + 9, 4);
    g_rid_prefix[12] = '\0';
}

static void next_request_id(char out[65]) {
    pthread_once(&g_rid_once, rid_init);
    uint64_t n = atomic_fetch_add_explicit(&g_rid_counter, 1, memory_order_relaxed);
    snprintf(out, 65, "%s-%012llx", g_rid_prefix, (unsigned long long)n);
}

static bool safe_request_id(const char *v) {
    if (!v) return false;
    size_t n = strlen(v);
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static const char *client_ip(struct MHD_Connection *conn, char *buf, size_t n) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char t[INET6_ADDRSTRLEN];
    sockaddr_text(ci ? ci->client_addr : NULL, t);
    snprintf(buf, n, "%s", t);
    return buf;
}

/* Metrics are recorded when the response is queued (not when sending has
 * finished) so that a client that has read a response sees it counted. */
static void record(struct aw_http__priv *p, int status, int64_t us) {
    aw_http_server_t *s = p->srv;
    route_stats_t *st = s->stats ? &s->stats[p->route >= 0 ? (size_t)p->route : s->nspecs] : NULL;
    if (st && status > 0 && status < 600) {
        atomic_fetch_add_explicit(&st->status[status], 1, memory_order_relaxed);
        aw_hist_observe_us(&st->latency, (uint64_t)us);
    }
}

static enum MHD_Result queue(struct aw_http__priv *p) {
    aw_http_resp_t *r = &p->resp;
    if (r->status == 0) {
        aw_http_resp_problem(r, 500, "internal", "Internal Server Error",
                             "the handler produced no response");
    }
    if (!aw_buf_ok(&r->body)) {
        aw_buf_free(&r->body);
        free_headers(r);
        aw_http_resp_problem(r, 500, "internal", "Internal Server Error",
                             "response too large or out of memory");
    }
    struct MHD_Response *mr;
    if (r->has_file) {
        mr = MHD_create_response_from_fd64(r->file_size, r->file_fd);
        if (!mr) {
            drop_file(r);
            return MHD_NO;
        }
        r->has_file = false; /* MHD owns the fd now */
    } else if (r->stream_fn) {
        stream_t *st = malloc(sizeof *st);
        if (st)
            *st = (stream_t){.fn = r->stream_fn, .free_fn = r->stream_free, .ctx = r->stream_ctx};
        mr = st ? MHD_create_response_from_callback(r->file_size, 64 * 1024, stream_read, st,
                                                    stream_done)
                : NULL;
        if (!mr) {
            free(st);
            drop_file(r);
            return MHD_NO;
        }
        r->stream_fn = NULL; /* MHD owns the stream now */
        r->stream_free = NULL;
        r->stream_ctx = NULL;
    } else {
        size_t len;
        char *body = aw_buf_take(&r->body, &len);
        mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!mr) {
            free(body);
            return MHD_NO;
        }
    }
    if (r->content_type) MHD_add_response_header(mr, "Content-Type", r->content_type);
    MHD_add_response_header(mr, "X-Request-Id", p->reqid);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    if (r->status == 405) MHD_add_response_header(mr, "Allow", p->match.allow);
    for (struct aw_http__hdr *h = r->headers; h; h = h->next)
        MHD_add_response_header(mr, h->name, h->value);
    if (r->close || atomic_load(&p->srv->draining))
        MHD_add_response_header(mr, "Connection", "close");
    enum MHD_Result ret = MHD_queue_response(p->conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    if (ret == MHD_YES) {
        p->queued = true;
        record(p, r->status, aw_time_mono_us() - p->start_us);
    }
    return ret;
}

/* Reserves n bytes of the body memory; false when that would go beyond
 * max_body_memory (nothing reserved then). */
static bool body_reserve(struct aw_http__priv *p, size_t n) {
    aw_http_server_t *s = p->srv;
    size_t cur = atomic_load(&s->body_mem);
    do {
        if (n > s->cfg.max_body_memory || cur > s->cfg.max_body_memory - n) {
            atomic_fetch_add(&s->body_refused, 1);
            return false;
        }
    } while (!atomic_compare_exchange_weak(&s->body_mem, &cur, cur + n));
    p->reserved += n;
    return true;
}

static void busy_problem(aw_http_resp_t *resp) {
    aw_http_resp_problem(resp, 503, "server-busy", "Service Unavailable",
                         "the server holds as many request bodies as it may at once; retry "
                         "later");
    aw_http_resp_header(resp, "Retry-After", "1");
    resp->close = true;
}

static void early_problem(struct aw_http__priv *p, int status, const char *type,
                          const char *detail_fmt, ...) __attribute__((format(printf, 4, 5)));
static void early_problem(struct aw_http__priv *p, int status, const char *type,
                          const char *detail_fmt, ...) {
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof detail, detail_fmt, ap);
    va_end(ap);
    aw_http_resp_problem_json(&p->resp,
                              aw_problem_new(status, type, aw_http_status_text(status), detail));
    p->resp.close = true;
    p->early = true;
}

static bool content_type_is(const char *ct, const char *want) {
    if (!ct) return false;
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0) return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void dispatch(struct aw_http__priv *p) {
    aw_http_server_t *s = p->srv;
    aw_http_resp_t *resp = &p->resp;
    if (p->route < 0) {
        if (p->match.status == 405)
            aw_http_resp_problem(resp, 405, "method-not-allowed", "Method Not Allowed",
                                 "%s is not allowed here; allowed: %s", p->req.method,
                                 p->match.allow);
        else
            aw_http_resp_problem(resp, 404, "not-found", "Not Found",
                                 "there is no resource at this path");
        return;
    }
    if (p->overflow) {
        aw_http_resp_problem(resp, 413, "body-too-large", "Content Too Large",
                             "the request body exceeds %zu bytes", p->body_max);
        resp->close = true;
        return;
    }
    if (p->gated) return; /* the gate's answer, set on the first call */
    if (p->busy) return busy_problem(resp);
    if (p->stream_status) {
        if (resp->status == 0)
            aw_http_resp_problem(resp, p->stream_status, NULL, NULL, "request body refused");
        return;
    }
    const aw_route_spec_t *spec = p->spec;
    if (spec->flags & AW_ROUTE_JSON) {
        const char *ct = aw_http_header(&p->req, "Content-Type");
        if (!content_type_is(ct, "application/json")) {
            aw_http_resp_problem(resp, 415, "unsupported-media-type", "Unsupported Media Type",
                                 "the body must be application/json");
            return;
        }
        aw_json_error_t je;
        aw_err_t err;
        p->req.json =
            aw_json_parse_strict(p->body.data ? p->body.data : "", p->body.len, 0, &je, &err);
        if (!p->req.json) {
            json_t *prob = aw_problem_new(400, "invalid-json", "Invalid JSON", err.msg);
            json_object_set_new(prob, "line", json_integer(je.line));
            json_object_set_new(prob, "column", json_integer(je.column));
            aw_http_resp_problem_json(resp, prob);
            return;
        }
    }
    p->req.body = p->body.data;
    p->req.body_len = p->body.len;
    (void)s;
    spec->handler(&p->req, resp, spec->ctx);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    aw_http_server_t *s = cls;
    struct aw_http__priv *p = *con_cls;
    (void)version;
    if (!p) {
        /* ---- first call: headers are complete ---- */
        p = calloc(1, sizeof *p);
        if (!p) return MHD_NO;
        *con_cls = p;
        atomic_fetch_add(&s->inflight, 1);
        p->srv = s;
        p->conn = conn;
        p->start_us = aw_time_mono_us();
        p->deadline_us = p->start_us + (int64_t)s->cfg.request_timeout_s * 1000000;
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        p->cs = ci ? ci->socket_context : NULL;
        int64_t header_started = p->cs ? p->cs->since_us : p->start_us;
        if (p->cs) {
            p->cs->phase = PHASE_BODY;
            p->cs->since_us = p->start_us;
        }
        aw_arena_init(&p->arena, 4096, 0);
        p->req.arena = &p->arena;
        p->req.priv = p;
        p->req.method = method;
        p->resp.body.max = 64u * 1024 * 1024;
        const char *q = strchr(url, '?');
        p->req.path = q ? aw_arena_strndup(&p->arena, url, (size_t)(q - url)) : url;
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (safe_request_id(rid))
            snprintf(p->reqid, sizeof p->reqid, "%s", rid);
        else
            next_request_id(p->reqid);
        p->req.request_id = p->reqid;

        char *scratch = aw_arena_alloc(&p->arena, strlen(p->req.path) + 1);
        p->route = -1;
        if (scratch) {
            aw_router_match(s->router, method, p->req.path, scratch, &p->match);
            p->route = p->match.route;
        }
        p->spec = p->route >= 0 ? &s->specs[p->route] : NULL;
        p->req.route = p->spec ? p->spec->path : NULL;
        p->body_max = p->spec && p->spec->max_body ? p->spec->max_body : s->cfg.max_body_bytes;

        const union MHD_ConnectionInfo *hs =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
        size_t header_bytes = hs ? hs->header_size : 0;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        unsigned long long clen = cl ? strtoull(cl, NULL, 10) : 0;

        if (atomic_load(&s->nconns) > s->cfg.conn_limit) {
            early_problem(p, 503, "too-many-connections",
                          "the server has more than %u open connections; retry later",
                          s->cfg.conn_limit);
            aw_http_resp_header(&p->resp, "Retry-After", "1");
        } else if (header_bytes > s->cfg.max_header_bytes) {
            early_problem(p, 431, "header-too-large",
                          "the request headers are %zu bytes; the limit is %zu", header_bytes,
                          s->cfg.max_header_bytes);
        } else if (s->cfg.header_timeout_s &&
                   p->start_us - header_started > (int64_t)s->cfg.header_timeout_s * 1000000) {
            early_problem(p, 408, "request-timeout",
                          "the request headers took longer than %u s to arrive",
                          s->cfg.header_timeout_s);
        } else if (cl && clen > p->body_max) {
            early_problem(p, 413, "body-too-large",
                          "the request body is %llu bytes; the limit here is %zu", clen,
                          p->body_max);
        }
        if (!p->early && p->spec && p->spec->gate) {
            p->spec->gate(&p->req, &p->resp, p->spec->ctx);
            bool no_body =
                !cl && !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
            if (p->resp.status && (no_body || (cl && clen <= GATE_DISCARD_MAX))) {
                /* a small body is read and dropped, and the answer comes
                 * after it on a connection that stays usable: closing with
                 * unread data makes the kernel send a reset, and some
                 * clients then lose the answer */
                p->gated = true;
            } else if (p->resp.status) {
                p->resp.close = true; /* the body stays unread */
                p->early = true;
            }
        }
        if (!p->early && !p->gated && p->spec && !(p->spec->flags & AW_ROUTE_STREAM) && clen > 0) {
            if (!body_reserve(p, (size_t)clen)) {
                busy_problem(&p->resp);
                p->early = true;
            } else {
                /* the whole body in one allocation of its size (appending
                 * chunks would double the buffer: 16 MiB for 10 MB) */
                aw_buf_reserve(&p->body, (size_t)clen + 1);
            }
        }
        if (p->early) {
            /* answered now; a body that follows stays unread */
            if (p->cs && ((cl && clen > 0) ||
                          MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding")))
                p->cs->linger = true;
            return queue(p);
        }
        return MHD_YES;
    }

    if (p->early) {
        /* body of a request we already answered: MHD closes after sending */
        return MHD_YES;
    }

    if (*upload_data_size > 0) {
        /* ---- body chunk ---- */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (aw_time_mono_us() > p->deadline_us) {
            atomic_fetch_add(&s->aborted, 1);
            aw_log_info("http.slow_client", "action=abort phase=body route=%s received=%zu",
                        p->req.route ? p->req.route : "-", p->received);
            return MHD_NO;
        }
        p->received += n;
        if (p->route < 0 || p->overflow || p->stream_status || p->busy || p->gated)
            return MHD_YES; /* discard */
        if (p->received > p->body_max) {
            p->overflow = true;
            aw_buf_free(&p->body);
            return MHD_YES;
        }
        if (p->spec->flags & AW_ROUTE_STREAM && p->spec->on_chunk) {
            p->stream_status = p->spec->on_chunk(&p->req, &p->resp, upload_data, n, p->spec->ctx);
            return MHD_YES;
        }
        /* a body without Content-Length (chunked) reserves as it comes */
        if (p->received > p->reserved && !body_reserve(p, p->received - p->reserved)) {
            p->busy = true;
            aw_buf_free(&p->body);
            return MHD_YES;
        }
        aw_buf_append(&p->body, upload_data, n);
        if (!aw_buf_ok(&p->body)) return MHD_NO;
        return MHD_YES;
    }

    /* ---- final call ---- */
    if (p->cs) {
        p->cs->phase = PHASE_HANDLING;
        p->cs->since_us = aw_time_mono_us();
    }
    dispatch(p);
    return queue(p);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    aw_http_server_t *s = cls;
    struct aw_http__priv *p = *con_cls;
    (void)conn;
    if (!p) return;
    int64_t us = aw_time_mono_us() - p->start_us;
    int status = p->resp.status;
    if (!p->queued) {
        status = 499; /* client went away or the request was aborted */
        record(p, status, us);
    }
    if (!(p->spec && (p->spec->flags & AW_ROUTE_NOLOG)))
        aw_log_info("http.request", "id=%s method=%s route=%s status=%d us=%lld%s", p->reqid,
                    p->req.method ? p->req.method : "-", p->req.route ? p->req.route : "-", status,
                    (long long)us,
                    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " outcome=aborted");
    if (p->req.cleanup) p->req.cleanup(&p->req);
    drop_file(&p->resp);
    json_decref(p->req.json);
    aw_buf_free(&p->body);
    if (p->reserved) atomic_fetch_sub(&s->body_mem, p->reserved);
    aw_buf_free(&p->resp.body);
    free_headers(&p->resp);
    aw_arena_free(&p->arena);
    if (p->cs) {
        p->cs->phase = PHASE_IDLE;
        p->cs->since_us = aw_time_mono_us();
    }
    free(p);
    *con_cls = NULL;
    if (atomic_fetch_sub(&s->inflight, 1) == 1 && atomic_load(&s->draining)) {
        pthread_mutex_lock(&s->lock);
        pthread_cond_broadcast(&s->drained);
        pthread_mutex_unlock(&s->lock);
    }
}

static int open_listener(aw_http_server_t *s, aw_err_t *err) {
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    char port[8];
    snprintf(port, sizeof port, "%u", s->cfg.port);
    int rc = getaddrinfo(s->cfg.host, port, &hints, &ai);
    if (rc != 0)
        return aw_err_set(err, AW_EINVAL, "cannot listen on %s:%u: not a numeric address (%s)",
                          s->cfg.host, s->cfg.port, gai_strerror(rc));
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return aw_err_set(err, AW_EIO, "cannot create socket: %s", strerror(errno));
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int e = errno;
        close(fd);
        freeaddrinfo(ai);
        if (e == EADDRINUSE)
            return aw_err_set(err, AW_EBUSY,
                              "cannot listen on %s:%u: the port is already in use "
                              "(another amtsweg or another program); choose another --listen",
                              s->cfg.host, s->cfg.port);
        return aw_err_set(err, AW_EIO, "cannot listen on %s:%u: %s", s->cfg.host, s->cfg.port,
                          strerror(e));
    }
    freeaddrinfo(ai);
    if (listen(fd, 1024) != 0) {
        int e = errno;
        close(fd);
        return aw_err_set(err, AW_EIO, "listen failed: %s", strerror(e));
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    s->listen_fd = fd;
    return 0;
}

/* Descriptors besides the connections: the database (three files per
 * SQLite connection, or PostgreSQL sockets), attachment files, callbacks'
 * sockets, epoll and event descriptors, logs. */
#define FD_RESERVE   128
#define FD_MIN_CONNS 16

/* Every connection is a descriptor, and so is every lingering socket: the
 * process's open-file limit must hold them all, or accept(2) and the
 * database start failing with EMFILE under load instead of the clean 503
 * of the connection limit. The soft limit is raised as far as the hard one
 * allows (many systems start processes with 1024); when even that is too
 * low the connection limit is lowered to fit (logged), and below
 * FD_MIN_CONNS connections the start is refused. */
static int fd_budget(aw_http_server_t *s, aw_err_t *err) {
    rlim_t other = 64 + (rlim_t)s->cfg.threads * 4 + LINGER_MAX_FDS + FD_RESERVE;
    rlim_t need = (rlim_t)s->cfg.conn_limit + other;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0; /* nothing known: as before */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit want = rl;
        want.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
    }
    s->fd_limit = rl.rlim_cur;
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need) return 0;
    if (rl.rlim_cur < other + FD_MIN_CONNS)
        return aw_err_set(err, AW_EINVAL,
                          "the open-file limit is %llu (ulimit -n); the server needs at least "
                          "%llu (%llu for %u connections); raise it (systemd: LimitNOFILE=)",
                          (unsigned long long)rl.rlim_cur,
                          (unsigned long long)(other + FD_MIN_CONNS), (unsigned long long)need,
                          s->cfg.conn_limit);
    unsigned fit = (unsigned)(rl.rlim_cur - other);
    aw_log_warn("http.fd_limit",
                "open_files=%llu needed=%llu max_connections=%u lowered_to=%u (raise ulimit -n "
                "or LimitNOFILE=)",
                (unsigned long long)rl.rlim_cur, (unsigned long long)need, s->cfg.conn_limit, fit);
    s->cfg.conn_limit = fit;
    return 0;
}

int aw_http_server_start(aw_http_server_t *s, aw_err_t *err) {
    /* a route whose largest body could never be held would answer 503
     * forever: refuse the configuration instead */
    for (size_t i = 0; i < s->nspecs; i++) {
        const aw_route_spec_t *r = &s->specs[i];
        size_t max = r->max_body ? r->max_body : s->cfg.max_body_bytes;
        if (!(r->flags & AW_ROUTE_STREAM) && max > s->cfg.max_body_memory)
            return aw_err_set(err, AW_EINVAL,
                              "the request body memory (%zu bytes) is below the body limit of "
                              "%s %s (%zu bytes); raise --max-body-memory",
                              s->cfg.max_body_memory, r->method, r->path, max);
    }
    int rc = fd_budget(s, err);
    if (rc) return rc;
    rc = aw_linger_start(LINGER_MAX_FDS, LINGER_TOTAL_MS, LINGER_IDLE_MS, &s->linger, err);
    if (rc) return rc;
    rc = open_listener(s, err);
    if (rc) {
        aw_linger_stop(s->linger);
        s->linger = NULL;
        return rc;
    }
    s->stats = calloc(s->nspecs + 1, sizeof *s->stats);
    if (!s->stats) {
        close(s->listen_fd);
        s->listen_fd = -1;
        aw_linger_stop(s->linger);
        s->linger = NULL;
        return aw_err_set(err, AW_ENOMEM, "out of memory");
    }
    /* MHD's own pool must hold the headers we want to judge ourselves (past
     * it MHD answers 431 on its own), its header index and the reply
     * headers. No larger: MHD zeroes the whole pool after every request on
     * a keep-alive connection (64 KiB cost 11 % of a GET /health). */
    size_t mem = s->cfg.max_header_bytes * 2;
    if (mem < 32 * 1024) mem = 32 * 1024;
    unsigned hard_limit = s->cfg.conn_limit + 64 + s->cfg.threads * 4;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    /* Behind trusted proxies MHD's per-address limit would cap the proxy
     * itself (all clients share its address): count ourselves, skipping
     * the proxies. */
    s->own_per_ip = s->cfg.per_ip_limit > 0 && s->trusted.n > 0;
    s->mhd = MHD_start_daemon(
        flags, 0, accept_policy, s, on_access, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
        MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads, MHD_OPTION_CONNECTION_LIMIT, hard_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->own_per_ip ? 0 : s->cfg.per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        mem, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        conn_notify, s, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_END);
    if (!s->mhd) {
        close(s->listen_fd);
        s->listen_fd = -1;
        aw_linger_stop(s->linger);
        s->linger = NULL;
        return aw_err_set(err, AW_EIO, "libmicrohttpd failed to start on %s:%u", s->cfg.host,
                          s->port);
    }
    if (s->cfg.header_timeout_s) {
        if (pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0) s->watchdog_running = true;
    }
    return 0;
}

int aw_http_server_stop(aw_http_server_t *s) {
    if (!s->mhd) return 0;
    /* No MHD_quiesce_daemon: with epoll and a thread pool it races with
     * the pool threads, which remove the listen socket from their epoll
     * sets too, and libmicrohttpd 0.9.75 aborts the process when it loses
     * ("Failed to remove listen FD from epoll set"; seen in CI). Draining
     * instead makes the accept policy close every new connection at once;
     * MHD_stop_daemon closes the listen socket. */
    atomic_store(&s->draining, true);
    /* Let in-flight requests finish, bounded by drain_timeout_s. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += s->cfg.drain_timeout_s ? s->cfg.drain_timeout_s : 30;
    pthread_mutex_lock(&s->lock);
    while (atomic_load(&s->inflight) > 0) {
        if (pthread_cond_timedwait(&s->drained, &s->lock, &ts) == ETIMEDOUT) break;
    }
    unsigned left = atomic_load(&s->inflight);
    s->watchdog_stop = true;
    pthread_cond_broadcast(&s->watchdog_cond);
    pthread_mutex_unlock(&s->lock);
    if (s->watchdog_running) pthread_join(s->watchdog, NULL);
    s->watchdog_running = false;
    MHD_stop_daemon(s->mhd);
    s->mhd = NULL;
    s->listen_fd = -1;         /* closed by MHD_stop_daemon */
    aw_linger_stop(s->linger); /* after MHD: its last closes may still linger */
    s->linger = NULL;
    return (int)left;
}

void aw_http_server_free(aw_http_server_t *s) {
    if (!s) return;
    if (s->mhd) aw_http_server_stop(s);
    if (s->listen_fd >= 0) close(s->listen_fd);
    aw_router_free(s->router);
    free(s->specs);
    free(s->stats);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->peers_lock);
    for (int i = 0; i < PEER_BUCKETS; i++)
        while (s->peers[i]) {
            peer_count_t *gone = s->peers[i];
            s->peers[i] = gone->next;
            free(gone);
        }
    pthread_cond_destroy(&s->drained);
    pthread_cond_destroy(&s->watchdog_cond);
    free(s);
}

void aw_http_server_metrics(aw_http_server_t *s, aw_buf_t *out) {
    char route[256], lbl[400];
    aw_buf_puts(out, "# HELP amtsweg_http_requests_total HTTP requests by route template, "
                     "method and status.\n# TYPE amtsweg_http_requests_total counter\n");
    for (size_t i = 0; s->stats && i <= s->nspecs; i++) {
        const char *tmpl = i < s->nspecs ? s->specs[i].path : "unmatched";
        const char *m = i < s->nspecs ? s->specs[i].method : "any";
        aw_metrics_label(route, sizeof route, tmpl);
        for (int st = 100; st < 600; st++) {
            uint64_t v = atomic_load_explicit(&s->stats[i].status[st], memory_order_relaxed);
            if (v)
                aw_buf_printf(out,
                              "amtsweg_http_requests_total{method=\"%s\",route=\"%s\","
                              "status=\"%d\"} %llu\n",
                              m, route, st, (unsigned long long)v);
        }
    }
    aw_buf_puts(out, "# HELP amtsweg_http_request_duration_seconds Time from complete headers "
                     "to response sent.\n# TYPE amtsweg_http_request_duration_seconds "
                     "histogram\n");
    for (size_t i = 0; s->stats && i <= s->nspecs; i++) {
        if (atomic_load(&s->stats[i].latency.count) == 0) continue;
        const char *tmpl = i < s->nspecs ? s->specs[i].path : "unmatched";
        const char *m = i < s->nspecs ? s->specs[i].method : "any";
        aw_metrics_label(route, sizeof route, tmpl);
        snprintf(lbl, sizeof lbl, "method=\"%s\",route=\"%s\"", m, route);
        aw_hist_write(&s->stats[i].latency, out, "amtsweg_http_request_duration_seconds", lbl);
    }
    aw_buf_printf(out,
                  "# HELP amtsweg_http_connections Open client connections.\n"
                  "# TYPE amtsweg_http_connections gauge\namtsweg_http_connections %u\n"
                  "# HELP amtsweg_http_inflight Requests being received or handled.\n"
                  "# TYPE amtsweg_http_inflight gauge\namtsweg_http_inflight %u\n"
                  "# HELP amtsweg_http_slow_clients_closed_total Connections closed by the "
                  "header deadline.\n# TYPE amtsweg_http_slow_clients_closed_total counter\n"
                  "amtsweg_http_slow_clients_closed_total %llu\n"
                  "# HELP amtsweg_http_requests_aborted_total Requests aborted by the request "
                  "deadline.\n# TYPE amtsweg_http_requests_aborted_total counter\n"
                  "amtsweg_http_requests_aborted_total %llu\n"
                  "# HELP amtsweg_http_body_memory_bytes Request body bytes held in memory "
                  "(reserved).\n# TYPE amtsweg_http_body_memory_bytes gauge\n"
                  "amtsweg_http_body_memory_bytes %zu\n"
                  "# HELP amtsweg_http_body_memory_refused_total Requests refused (503) because "
                  "the body memory was full.\n"
                  "# TYPE amtsweg_http_body_memory_refused_total counter\n"
                  "amtsweg_http_body_memory_refused_total %llu\n",
                  atomic_load(&s->nconns), atomic_load(&s->inflight),
                  (unsigned long long)atomic_load(&s->killed_slow),
                  (unsigned long long)atomic_load(&s->aborted), atomic_load(&s->body_mem),
                  (unsigned long long)atomic_load(&s->body_refused));
    aw_linger_stats_t ls = {0};
    if (s->linger) aw_linger_get_stats(s->linger, &ls);
    aw_buf_printf(out,
                  "# HELP amtsweg_http_connection_limit Connections served at once (--max-"
                  "connections, lowered to fit the open-file limit).\n"
                  "# TYPE amtsweg_http_connection_limit gauge\n"
                  "amtsweg_http_connection_limit %u\n"
                  "# HELP process_max_fds Maximum number of open file descriptors.\n"
                  "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                  s->cfg.conn_limit, s->fd_limit);
    aw_buf_printf(out,
                  "# HELP amtsweg_http_lingering_connections Connections answered before their "
                  "body was read, reading and dropping it before the close.\n"
                  "# TYPE amtsweg_http_lingering_connections gauge\n"
                  "amtsweg_http_lingering_connections %u\n"
                  "# HELP amtsweg_http_lingering_closes_total Such connections closed after "
                  "lingering.\n# TYPE amtsweg_http_lingering_closes_total counter\n"
                  "amtsweg_http_lingering_closes_total %llu\n"
                  "# HELP amtsweg_http_lingering_bytes_total Request body bytes read and dropped "
                  "while lingering.\n# TYPE amtsweg_http_lingering_bytes_total counter\n"
                  "amtsweg_http_lingering_bytes_total %llu\n"
                  "# HELP amtsweg_http_lingering_refused_total Such connections closed at once "
                  "because too many lingered.\n"
                  "# TYPE amtsweg_http_lingering_refused_total counter\n"
                  "amtsweg_http_lingering_refused_total %llu\n",
                  ls.now, (unsigned long long)ls.closes, (unsigned long long)ls.bytes,
                  (unsigned long long)ls.refused);
    for (size_t i = 0; i < s->nwriters; i++) s->writers[i].fn(s->writers[i].ctx, out);
}
