/*
 * buf — a growable byte buffer, always NUL-terminated.
 *
 * The buffer owns its memory. An allocation failure is sticky: once a buffer
 * failed to grow, `oom` is set, further appends are no-ops and the caller
 * checks once at the end (aw_buf_ok). This keeps builders (JSON, HTML,
 * problem details) free of error checks on every append.
 * A buffer that held secrets is released with aw_buf_wipe_free, which
 * cleanses every byte ever written before freeing.
 */
#ifndef AW_BASE_BUF_H
#define AW_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct aw_buf {
    char *data; /* NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
    size_t max; /* 0: unbounded; else appends beyond max set `oom` */
    bool oom;
} aw_buf_t;

#define AW_BUF_INIT \
    { 0 }

int aw_buf_reserve(aw_buf_t *b, size_t extra);
void aw_buf_append(aw_buf_t *b, const void *data, size_t len);
void aw_buf_puts(aw_buf_t *b, const char *s);
void aw_buf_putc(aw_buf_t *b, char c);
void aw_buf_printf(aw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void aw_buf_vprintf(aw_buf_t *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (escapes quotes, control chars). */
void aw_buf_json_str(aw_buf_t *b, const char *s, size_t len);
void aw_buf_reset(aw_buf_t *b);
/* Gives the data to the caller (who frees it); the buffer is empty after. */
char *aw_buf_take(aw_buf_t *b, size_t *len);
void aw_buf_free(aw_buf_t *b);
void aw_buf_wipe_free(aw_buf_t *b);

static inline bool aw_buf_ok(const aw_buf_t *b) {
    return !b->oom;
}

#endif
