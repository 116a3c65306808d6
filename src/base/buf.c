#include "base/buf.h"
#include "base/err.h"
#include "base/secure.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int aw_buf_reserve(aw_buf_t *b, size_t extra) {
    if (b->oom) return AW_ENOMEM;
    if (extra > SIZE_MAX / 2 - b->len) goto fail;
    size_t need = b->len + extra + 1;
    if (b->max && b->len + extra > b->max) goto fail;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) goto fail;
    b->data = p;
    b->cap = cap;
    return 0;
fail:
    b->oom = true;
    return AW_ENOMEM;
}

void aw_buf_append(aw_buf_t *b, const void *data, size_t len) {
    if (aw_buf_reserve(b, len) != 0) return;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void aw_buf_puts(aw_buf_t *b, const char *s) {
    aw_buf_append(b, s, strlen(s));
}

void aw_buf_putc(aw_buf_t *b, char c) {
    aw_buf_append(b, &c, 1);
}

void aw_buf_vprintf(aw_buf_t *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        aw_buf_append(b, small, (size_t)n);
        return;
    }
    if (aw_buf_reserve(b, (size_t)n) != 0) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void aw_buf_printf(aw_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    aw_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void aw_buf_json_str(aw_buf_t *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        switch (c) {
        case '"':
            esc = "\\\"";
            break;
        case '\\':
            esc = "\\\\";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\b':
            esc = "\\b";
            break;
        case '\f':
            esc = "\\f";
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
                u[4] = hex[c >> 4], u[5] = hex[c & 15];
                aw_buf_append(b, s + start, i - start);
                aw_buf_append(b, u, 6);
                start = i + 1;
            }
            continue;
        }
        aw_buf_append(b, s + start, i - start);
        aw_buf_puts(b, esc);
        start = i + 1;
    }
    aw_buf_append(b, s + start, len - start);
}

void aw_buf_reset(aw_buf_t *b) {
    b->len = 0;
    b->oom = false;
    if (b->data) b->data[0] = '\0';
}

char *aw_buf_take(aw_buf_t *b, size_t *len) {
    char *p = b->data;
    if (!p) p = calloc(1, 1);
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void aw_buf_free(aw_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void aw_buf_wipe_free(aw_buf_t *b) {
    /* realloc may have left copies behind in freed blocks; callers that hold
     * secrets reserve the final size first (aw_buf_reserve) to avoid that. */
    if (b->data) aw_secure_wipe(b->data, b->cap);
    aw_buf_free(b);
}
