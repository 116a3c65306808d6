/*
 * linger — the lingering close of connections answered before their body
 * was read (RFC 9112, section 9.6).
 *
 * The server answers some requests right after the headers: 413 for a
 * Content-Length beyond the route's limit, 401/403 from a route's gate, 503
 * when full. Closing such a socket while the client still sends its body
 * leaves unread data behind, and the kernel then answers with a reset: the
 * client's writes fail with EPIPE or ECONNRESET, and most clients never read
 * the answer that is already waiting for them. Instead, the connection's
 * socket (a duplicate, taken before libmicrohttpd closes its own) goes to
 * one thread that shuts down the sending side (the client sees the end of
 * the answer), then reads and drops whatever arrives until the client closes
 * or a deadline passes, and only then closes it, as nginx and Apache do.
 *
 * Bounded: at most max_fds sockets linger at once (beyond that one is
 * closed at once, as before); each for at most total_ms, and for at most
 * idle_ms without data.
 */
#ifndef AW_HTTP_LINGER_H
#define AW_HTTP_LINGER_H

#include "base/err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct aw_linger aw_linger_t;

typedef struct aw_linger_stats {
    uint64_t closes;  /* sockets that lingered (closed by us afterwards) */
    uint64_t bytes;   /* request bytes read and dropped while lingering */
    uint64_t refused; /* sockets closed at once because max_fds lingered */
    unsigned now;     /* lingering now */
} aw_linger_stats_t;

/* Starts the lingering thread. */
int aw_linger_start(unsigned max_fds, unsigned total_ms, unsigned idle_ms, aw_linger_t **out,
                    aw_err_t *err);
/* Takes over fd (the caller's own descriptor of a connected socket; it is
 * made non-blocking): linger, then close. Returns false when it was closed
 * at once (max_fds reached, or the thread is stopping). */
bool aw_linger_add(aw_linger_t *l, int fd);
void aw_linger_get_stats(aw_linger_t *l, aw_linger_stats_t *st);
/* Stops the thread, closes every lingering socket and frees l. */
void aw_linger_stop(aw_linger_t *l);

#endif
