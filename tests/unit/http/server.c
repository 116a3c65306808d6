/* The HTTP layer in-process: a real libmicrohttpd server on a free loopback
 * port with test routes, driven over sockets. */
#include "harness.h"
#include "http/http.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

static sem_t g_entered, g_release;

static void h_echo(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    aw_http_resp_json(resp, 200, json_incref(req->json));
}

static void h_item(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    const char *q = aw_http_query(req, "q");
    aw_http_resp_json(resp, 200,
                      json_pack("{s:s,s:s,s:s}", "id", aw_http_param(req, "id"), "q", q ? q : "",
                                "route", req->route));
}

static void h_len(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    aw_http_resp_json(resp, 200, json_pack("{s:I}", "len", (json_int_t)req->body_len));
}

static int on_chunk(aw_http_req_t *req, aw_http_resp_t *resp, const char *data, size_t len,
                    void *ctx) {
    (void)data, (void)ctx;
    size_t *n = req->user;
    if (!n) {
        n = aw_arena_calloc(req->arena, 1, sizeof *n);
        req->user = n;
    }
    *n += len;
    if (*n > 100) {
        aw_http_resp_problem(resp, 413, "attachment-too-large", NULL, "more than 100 bytes");
        return 413;
    }
    return 0;
}

static void h_stream(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    size_t *n = req->user;
    aw_http_resp_json(resp, 201, json_pack("{s:I}", "streamed", (json_int_t)(n ? *n : 0)));
}

static void h_block(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)req, (void)ctx;
    sem_post(&g_entered);
    sem_wait(&g_release);
    aw_http_resp_text(resp, 200, "text/plain", "done", 4);
}

static char g_file_path[512];

static void h_file(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)req, (void)ctx;
    int fd = open(g_file_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        aw_http_resp_problem(resp, 500, NULL, NULL, "cannot open");
        return;
    }
    aw_http_resp_file(resp, 200, "application/octet-stream", fd, (uint64_t)st.st_size);
}

static void h_file_replaced(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)req, (void)ctx;
    int fd = open(g_file_path, O_RDONLY | O_CLOEXEC);
    aw_http_resp_file(resp, 200, "application/octet-stream", fd, 1);
    /* a later decision replaces the file body; the fd must not leak */
    aw_http_resp_problem(resp, 409, "conflict", NULL, "changed my mind");
}

/* aw_http_resp_stream: a generated body of 300 000 bytes (byte i is
 * i % 251); /gen-fail fails after the first block, /gen-replaced is
 * replaced by a problem. Every stream context is freed exactly once. */
#define GEN_SIZE 300000
static atomic_int g_gen_live, g_gen_freed;

typedef struct {
    bool fail;
    uint64_t served;
} gen_t;

static long long gen_read(void *ctx, uint64_t pos, char *buf, size_t max) {
    gen_t *g = ctx;
    if (pos != g->served || (g->fail && pos > 0)) return -1;
    size_t n = max < 1000 ? max : 1000; /* small pieces: many calls */
    if (n > GEN_SIZE - pos) n = (size_t)(GEN_SIZE - pos);
    for (size_t i = 0; i < n; i++) buf[i] = (char)((pos + i) % 251);
    g->served += n;
    return (long long)n;
}

static void gen_free(void *ctx) {
    atomic_fetch_sub(&g_gen_live, 1);
    atomic_fetch_add(&g_gen_freed, 1);
    free(ctx);
}

static void h_gen(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    gen_t *g = calloc(1, sizeof *g);
    g->fail = strcmp(req->path, "/gen-fail") == 0;
    atomic_fetch_add(&g_gen_live, 1);
    aw_http_resp_stream(resp, 200, "application/octet-stream", GEN_SIZE, gen_read, gen_free, g);
    if (strcmp(req->path, "/gen-replaced") == 0)
        aw_http_resp_problem(resp, 409, "conflict", NULL, "changed my mind");
}

static aw_http_server_t *start(unsigned conn_limit) {
    aw_http_config_t c;
    aw_http_config_defaults(&c);
    c.port = 0;
    c.threads = 2;
    if (conn_limit) c.conn_limit = conn_limit;
    aw_http_server_t *s;
    aw_err_t err;
    ASSERT_EQ(aw_http_server_new(&c, &s, &err), 0);
    const aw_route_spec_t routes[] = {
        {.method = "POST", .path = "/echo", .handler = h_echo, .flags = AW_ROUTE_JSON},
        {.method = "GET", .path = "/items/{id}", .handler = h_item},
        {.method = "POST", .path = "/small", .handler = h_len, .max_body = 16},
        {.method = "PUT",
         .path = "/stream",
         .handler = h_stream,
         .flags = AW_ROUTE_STREAM,
         .on_chunk = on_chunk},
        {.method = "GET", .path = "/block", .handler = h_block},
        {.method = "GET", .path = "/file", .handler = h_file},
        {.method = "GET", .path = "/file-replaced", .handler = h_file_replaced},
        {.method = "GET", .path = "/gen", .handler = h_gen},
        {.method = "GET", .path = "/gen-fail", .handler = h_gen},
        {.method = "GET", .path = "/gen-replaced", .handler = h_gen},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        ASSERT_EQ(aw_http_server_route(s, &routes[i], &err), 0);
    ASSERT_MSG(aw_http_server_start(s, &err) == 0, "start: %s", err.msg);
    return s;
}

#define JSON_HDR "Content-Type: application/json\r\n"

TEST(json_body_strictness) {
    aw_http_server_t *s = start(0);
    int port = aw_http_server_port(s);
    aw_tc_resp_t r;
    aw_tc_request(port, "POST", "/echo", JSON_HDR, "{\"a\":1}", 7, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR(r.body, "{\"a\":1}");
    aw_tc_resp_free(&r);
    const char *dup = "{\"a\":1,\n\"a\":2}";
    aw_tc_request(port, "POST", "/echo", JSON_HDR, dup, strlen(dup), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_STR(aw_tc_header(&r, "Content-Type"), "application/problem+json");
    ASSERT_CONTAINS(r.body, "invalid-json");
    ASSERT_CONTAINS(r.body, "\"line\":2");
    ASSERT_CONTAINS(r.body, "duplicate");
    aw_tc_resp_free(&r);
    aw_tc_request(port, "POST", "/echo", JSON_HDR, "{\"a\":\"\xff\"}", 9, &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "\"column\":");
    aw_tc_resp_free(&r);
    char deep[100];
    memset(deep, '[', 50);
    memset(deep + 50, ']', 50);
    aw_tc_request(port, "POST", "/echo", JSON_HDR, deep, 100, &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "nesting deeper than");
    aw_tc_resp_free(&r);
    aw_tc_request(port, "POST", "/echo", "Content-Type: text/plain\r\n", "{}", 2, &r);
    ASSERT_EQ(r.status, 415);
    aw_tc_resp_free(&r);
    aw_tc_request(port, "POST", "/echo", "Content-Type: application/json; charset=utf-8\r\n", "[]",
                  2, &r);
    ASSERT_EQ(r.status, 200);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_http_server_stop(s), 0);
    aw_http_server_free(s);
}

TEST(path_and_query_parameters) {
    aw_http_server_t *s = start(0);
    aw_tc_resp_t r;
    aw_tc_request(aw_http_server_port(s), "GET", "/items/4711?q=Hund%20anmelden", NULL, NULL, 0,
                  &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body, "\"id\":\"4711\"");
    ASSERT_CONTAINS(r.body, "\"q\":\"Hund anmelden\"");
    ASSERT_CONTAINS(r.body, "\"route\":\"/items/{id}\"");
    aw_tc_resp_free(&r);
    aw_http_server_free(s);
}

TEST(chunked_body_over_route_limit_is_413) {
    aw_http_server_t *s = start(0);
    int fd = aw_tc_connect(aw_http_server_port(s));
    aw_tc_sendf(fd, "POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
    aw_tc_resp_t r;
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 413);
    ASSERT_CONTAINS(r.body, "exceeds 16 bytes");
    aw_tc_resp_free(&r);
    close(fd);
    aw_tc_request(aw_http_server_port(s), "POST", "/small", NULL, "0123456789", 10, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR(r.body, "{\"len\":10}");
    aw_tc_resp_free(&r);
    aw_http_server_free(s);
}

TEST(streamed_body_and_sink_refusal) {
    aw_http_server_t *s = start(0);
    int port = aw_http_server_port(s);
    aw_tc_resp_t r;
    aw_tc_request(port, "PUT", "/stream", NULL, "0123456789", 10, &r);
    ASSERT_EQ(r.status, 201);
    ASSERT_STR(r.body, "{\"streamed\":10}");
    aw_tc_resp_free(&r);
    char big[300];
    memset(big, 'x', sizeof big);
    aw_tc_request(port, "PUT", "/stream", NULL, big, sizeof big, &r);
    ASSERT_EQ(r.status, 413);
    ASSERT_CONTAINS(r.body, "attachment-too-large");
    aw_tc_resp_free(&r);
    aw_http_server_free(s);
}

TEST(connection_limit_gives_503) {
    aw_http_server_t *s = start(2);
    int port = aw_http_server_port(s);
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = aw_tc_connect(port);
        aw_tc_sendf(fds[i], "GET /items/%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
        aw_tc_resp_t r;
        ASSERT_EQ(aw_tc_read(fds[i], &r), 0);
        ASSERT_EQ(r.status, i < 2 ? 200 : 503);
        if (i == 2) {
            ASSERT_CONTAINS(r.body, "too-many-connections");
            ASSERT_STR(aw_tc_header(&r, "Retry-After"), "1");
        }
        aw_tc_resp_free(&r);
    }
    for (int i = 0; i < 3; i++) close(fds[i]);
    aw_http_server_free(s);
}

static void *client_block(void *arg) {
    int port = *(int *)arg;
    aw_tc_resp_t *r = calloc(1, sizeof *r);
    aw_tc_request(port, "GET", "/block", NULL, NULL, 0, r);
    return r;
}

static void *stopper(void *arg) {
    return (void *)(intptr_t)aw_http_server_stop(arg);
}

TEST(stop_drains_a_running_handler) {
    sem_init(&g_entered, 0, 0);
    sem_init(&g_release, 0, 0);
    aw_http_server_t *s = start(0);
    int port = aw_http_server_port(s);
    pthread_t c, st;
    pthread_create(&c, NULL, client_block, &port);
    sem_wait(&g_entered); /* the handler is running */
    pthread_create(&st, NULL, stopper, s);
    /* wait (bounded) until the stop has begun, then let the handler finish */
    for (long i = 0; i < 100000000 && !aw_http_server_draining(s); i++) sched_yield();
    ASSERT(aw_http_server_draining(s));
    ASSERT_EQ(aw_http_server_inflight(s), 1);
    /* a new connection meanwhile is closed at once, without an answer */
    int late = aw_tc_connect(port);
    char b[64];
    ssize_t got = recv(late, b, sizeof b, 0);
    ASSERT_MSG(got == 0 || (got < 0 && errno == ECONNRESET),
               "a connection made while draining: %zd (%s)", got, got < 0 ? strerror(errno) : "");
    close(late);
    sem_post(&g_release);
    void *res;
    pthread_join(c, &res);
    aw_tc_resp_t *r = res;
    ASSERT_EQ(r->status, 200);
    ASSERT_STR(r->body, "done");
    aw_tc_resp_free(r);
    free(r);
    pthread_join(st, &res);
    ASSERT_EQ((intptr_t)res, 0);
    aw_http_server_free(s);
}

TEST(metrics_text_format) {
    aw_http_server_t *s = start(0);
    aw_tc_resp_t r;
    aw_tc_request(aw_http_server_port(s), "GET", "/items/1", NULL, NULL, 0, &r);
    aw_tc_resp_free(&r);
    aw_buf_t b = AW_BUF_INIT;
    aw_http_server_metrics(s, &b);
    ASSERT_CONTAINS(
        b.data,
        "amtsweg_http_requests_total{method=\"GET\",route=\"/items/{id}\",status=\"200\"} 1\n");
    ASSERT_CONTAINS(b.data, "le=\"+Inf\"} 1\n");
    aw_buf_free(&b);
    aw_http_server_free(s);
}

TEST(file_response_streams_beyond_the_buffer_limit) {
    /* 80 MiB: more than a buffered response may hold (64 MiB) */
    snprintf(g_file_path, sizeof g_file_path, "%s/big.bin", aw_test_tmpdir());
    int fd = open(g_file_path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT(fd >= 0);
    ASSERT_EQ(ftruncate(fd, 80L << 20), 0);
    ASSERT_EQ(pwrite(fd, "END", 3, (80L << 20) - 3), 3);
    close(fd);
    aw_http_server_t *s = start(0);
    aw_tc_resp_t r;
    aw_tc_request(aw_http_server_port(s), "GET", "/file", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body_len, 80L << 20);
    ASSERT_MEM(r.body + r.body_len - 3, "END", 3);
    ASSERT_STR(aw_tc_header(&r, "Content-Type"), "application/octet-stream");
    aw_tc_resp_free(&r);
    aw_tc_request(aw_http_server_port(s), "GET", "/file-replaced", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 409);
    aw_tc_resp_free(&r);
    aw_http_server_free(s);
}

TEST(stream_response_is_read_in_order_and_freed_once) {
    aw_http_server_t *s = start(0);
    int port = aw_http_server_port(s);
    aw_tc_resp_t r;
    aw_tc_request(port, "GET", "/gen", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body_len, GEN_SIZE);
    for (size_t i = 0; i < GEN_SIZE; i++)
        if ((unsigned char)r.body[i] != i % 251) ASSERT_MSG(0, "byte %zu differs", i);
    ASSERT_STR(aw_tc_header(&r, "Content-Length"), "300000");
    aw_tc_resp_free(&r);
    aw_tc_request(port, "GET", "/gen-replaced", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 409);
    aw_tc_resp_free(&r);
    /* a failing stream cuts the connection: fewer bytes than announced */
    int fd = aw_tc_connect(port);
    aw_tc_sendf(fd, "GET /gen-fail HTTP/1.1\r\nHost: t\r\n\r\n");
    size_t got = 0;
    char buf[65536];
    for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got += (size_t)n;
    close(fd);
    ASSERT(got > 0 && got < GEN_SIZE);
    aw_http_server_free(s); /* every connection is done when this returns */
    ASSERT_EQ(atomic_load(&g_gen_live), 0);
    ASSERT_EQ(atomic_load(&g_gen_freed), 3);
}

/* ---- gates and the body memory --------------------------------------------- */

static atomic_int g_gate_calls;

/* lets a request in when it carries "X-Key: ok" */
static void key_gate(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    atomic_fetch_add(&g_gate_calls, 1);
    const char *k = aw_http_header(req, "X-Key");
    if (!k || strcmp(k, "ok") != 0)
        aw_http_resp_problem(resp, 401, "unauthorized", NULL, "X-Key is missing");
}

static aw_http_server_t *start_gated(size_t body_memory, size_t route_max, aw_err_t *err) {
    aw_http_config_t c;
    aw_http_config_defaults(&c);
    c.port = 0;
    c.threads = 2;
    c.max_body_memory = body_memory;
    aw_http_server_t *s;
    if (aw_http_server_new(&c, &s, err)) return NULL;
    const aw_route_spec_t routes[] = {
        {.method = "PUT",
         .path = "/gated",
         .handler = h_len,
         .max_body = route_max,
         .gate = key_gate},
        {.method = "PUT", .path = "/big", .handler = h_len, .max_body = route_max},
    };
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++)
        if (aw_http_server_route(s, &routes[i], err)) break;
    if (aw_http_server_start(s, err)) {
        aw_http_server_free(s);
        return NULL;
    }
    return s;
}

/* Waits (bounded) until the server holds `want` bytes of bodies. */
static bool body_memory_is(aw_http_server_t *s, size_t want) {
    for (long i = 0; i < 100000000 && aw_http_server_body_memory(s) != want; i++) sched_yield();
    return aw_http_server_body_memory(s) == want;
}

TEST(gate_answers_before_the_body_is_read) {
    aw_err_t err;
    aw_http_server_t *s = start_gated(0, 4 << 20, &err);
    ASSERT_MSG(s, "start: %s", err.msg);
    int port = aw_http_server_port(s);
    /* 3 MB announced, not one byte sent: the answer comes all the same */
    int fd = aw_tc_connect(port);
    aw_tc_sendf(fd, "PUT /gated HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n");
    aw_tc_resp_t r;
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 401);
    ASSERT_CONTAINS(r.body, "X-Key is missing");
    ASSERT_STR(aw_tc_header(&r, "Connection"), "close");
    aw_tc_resp_free(&r);
    ASSERT(aw_tc_wait_closed(fd));
    close(fd);
    ASSERT_EQ(aw_http_server_body_memory(s), 0);
    /* a small body is read and dropped: the answer comes after it and the
     * connection stays usable (closing on unread data would reset it) */
    fd = aw_tc_connect(port);
    aw_tc_sendf(fd, "PUT /gated HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 401);
    ASSERT_NULL(aw_tc_header(&r, "Connection"));
    aw_tc_resp_free(&r);
    aw_tc_sendf(fd, "PUT /gated HTTP/1.1\r\nHost: x\r\nX-Key: ok\r\nContent-Length: 3\r\n\r\nabc");
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR(r.body, "{\"len\":3}");
    aw_tc_resp_free(&r);
    /* and so is a request without a body */
    aw_tc_sendf(fd, "PUT /gated HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 401);
    ASSERT_NULL(aw_tc_header(&r, "Connection"));
    aw_tc_resp_free(&r);
    close(fd);
    /* let in: the handler sees the whole body; the gate ran once per request */
    atomic_store(&g_gate_calls, 0);
    aw_tc_request(port, "PUT", "/gated", "X-Key: ok\r\n", "0123456789", 10, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR(r.body, "{\"len\":10}");
    aw_tc_resp_free(&r);
    ASSERT_EQ(atomic_load(&g_gate_calls), 1);
    ASSERT(body_memory_is(s, 0));
    aw_http_server_free(s);
}

/* A refused gate with the whole body written before the client reads (no
 * Expect: 100-continue; 48 MB, far beyond the socket buffers): the rest is
 * read and dropped before the close (linger.c), so every write succeeds and
 * the 401 is read. Closing at once failed the writes with EPIPE. */
TEST(gate_refusal_reaches_a_client_that_sends_its_body_first) {
    aw_err_t err;
    aw_http_server_t *s = start_gated(0, 64 << 20, &err);
    ASSERT_MSG(s, "start: %s", err.msg);
    int fd = aw_tc_connect(aw_http_server_port(s));
    const size_t total = 48u << 20;
    aw_tc_sendf(fd, "PUT /gated HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", total);
    size_t sent;
    int send_errno = aw_tc_send_filler(fd, total, &sent);
    ASSERT_MSG(send_errno == 0, "send failed after %zu of %zu bytes: %s", sent, total,
               strerror(send_errno));
    aw_tc_resp_t r;
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 401);
    ASSERT_CONTAINS(r.body, "X-Key is missing");
    aw_tc_resp_free(&r);
    ASSERT(aw_tc_wait_closed(fd));
    close(fd);
    aw_http_server_free(s);
}

/* Reads a 503 server-busy (with Retry-After) from fd and closes it. */
static void read_busy(int fd) {
    aw_tc_resp_t r;
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 503);
    ASSERT_CONTAINS(r.body, "server-busy");
    ASSERT_STR(aw_tc_header(&r, "Retry-After"), "1");
    aw_tc_resp_free(&r);
    close(fd);
}

TEST(body_memory_full_gives_503_and_frees_as_requests_end) {
    aw_err_t err;
    aw_http_server_t *s = start_gated(1 << 20, 800000, &err);
    ASSERT_MSG(s, "start: %s", err.msg);
    int port = aw_http_server_port(s);
    char *body = malloc(700000);
    memset(body, 'b', 700000);
    /* A announces 700 000 bytes and sends the first 1000: they are reserved */
    int a = aw_tc_connect(port);
    aw_tc_sendf(a, "PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 700000\r\n\r\n");
    aw_tc_send(a, body, 1000);
    ASSERT(body_memory_is(s, 700000));
    /* B would need 400 000 more than the 1 MiB: 503 before its body */
    aw_tc_resp_t r;
    int b = aw_tc_connect(port);
    aw_tc_sendf(b, "PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 400000\r\n\r\n");
    read_busy(b);
    /* C sends chunked (no length known): refused once it outgrows the room,
     * the rest is read and dropped, nothing of it stays reserved */
    int c = aw_tc_connect(port);
    aw_tc_sendf(c, "PUT /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 0; i < 8; i++) {
        aw_tc_sendf(c, "%x\r\n", 50000);
        aw_tc_send(c, body, 50000);
        aw_tc_sendf(c, "\r\n");
    }
    aw_tc_sendf(c, "0\r\n\r\n");
    read_busy(c);
    ASSERT(body_memory_is(s, 700000));
    /* A finishes: handled in full, and its reservation goes with it */
    aw_tc_send(a, body + 1000, 699000);
    ASSERT_EQ(aw_tc_read(a, &r), 0);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR(r.body, "{\"len\":700000}");
    aw_tc_resp_free(&r);
    close(a);
    ASSERT(body_memory_is(s, 0));
    /* now B's body fits */
    aw_tc_request(port, "PUT", "/big", NULL, body, 400000, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_STR(r.body, "{\"len\":400000}");
    aw_tc_resp_free(&r);
    /* released when MHD reports the request done, which may come after
     * the client has read the response */
    ASSERT(body_memory_is(s, 0));
    aw_buf_t m = AW_BUF_INIT;
    aw_http_server_metrics(s, &m);
    ASSERT_CONTAINS(m.data, "amtsweg_http_body_memory_refused_total 2\n");
    ASSERT_CONTAINS(m.data, "amtsweg_http_body_memory_bytes 0\n");
    aw_buf_free(&m);
    free(body);
    aw_http_server_free(s);
}

TEST(route_limit_above_body_memory_refused_at_start) {
    aw_err_t err;
    aw_http_server_t *s = start_gated(1 << 20, 2 << 20, &err);
    ASSERT(s == NULL);
    ASSERT_EQ(err.code, AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "PUT /gated");
    ASSERT_CONTAINS(err.msg, "--max-body-memory");
}
