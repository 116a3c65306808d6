/*
 * harness — helpers for tests that talk HTTP to a real server: start the
 * amtsweg binary on a free loopback port, raw-socket HTTP/1.1 client with
 * bounded waits, response parsing. Every wait has a bound (AW_TC_WAIT_S) so
 * a broken server fails the test instead of hanging it.
 */
#ifndef AW_TEST_HARNESS_H
#define AW_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define AW_TC_WAIT_S 20

typedef struct aw_tc_server {
    pid_t pid;
    int port;
    int pidfd;
} aw_tc_server_t;

typedef struct aw_tc_resp {
    int status;
    char *headers; /* raw header block, lines "Name: value\r\n" */
    char *body;    /* NUL-terminated */
    size_t body_len;
} aw_tc_resp_t;

/* Starts `amtsweg <args...>` (NULL-terminated) with --listen 127.0.0.1:0
 * appended unless args already has --listen; waits for the "listening on"
 * line. Extra environment "K=V" strings in env (NULL-terminated, may be
 * NULL). Fails the test on error. */
void aw_tc_start(aw_tc_server_t *s, const char *const *args, const char *const *env);
/* Sends SIGTERM and waits (bounded) for exit; returns the exit status, or
 * -1 when it did not exit in time (then it is killed). */
/* As aw_tc_start with a full argv (argv[0] is the program, searched in
 * PATH), e.g. {"valgrind", ..., binary, "serve", ...}. */
void aw_tc_start_argv(aw_tc_server_t *s, const char *const *argv, const char *const *env);
int aw_tc_stop(aw_tc_server_t *s);
int aw_tc_signal(aw_tc_server_t *s, int sig);
/* Waits (bounded) for exit after a signal already sent; exit status. */
int aw_tc_wait_exit(aw_tc_server_t *s);

int aw_tc_connect(int port);
void aw_tc_send(int fd, const void *data, size_t len);
/* Sends total filler bytes (a body); returns 0, or the errno of the send
 * that failed (EPIPE, ECONNRESET) with *sent the bytes that went out. */
int aw_tc_send_filler(int fd, size_t total, size_t *sent);
void aw_tc_sendf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads one response (Content-Length or chunked). Returns 0, or -1 on EOF /
 * timeout before a complete response. */
int aw_tc_read(int fd, aw_tc_resp_t *r);
/* True when the peer closed the connection within the bound. */
bool aw_tc_wait_closed(int fd);
/* One request on a fresh connection (Connection: close). extra_headers are
 * full lines with CRLF, may be NULL. Fails the test on I/O errors. */
void aw_tc_request(int port, const char *method, const char *path, const char *extra_headers,
                   const char *body, size_t body_len, aw_tc_resp_t *r);
/* Header value (case-insensitive name) copied into a static buffer, or NULL. */
const char *aw_tc_header(const aw_tc_resp_t *r, const char *name);
void aw_tc_resp_free(aw_tc_resp_t *r);
/* Reads a metric value by exact series name (incl. labels) from a /metrics
 * body; -1 when absent. */
double aw_tc_metric(const char *body, const char *series);

#endif
