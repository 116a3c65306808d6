#include "http/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* Finds the first position where nesting exceeds max_depth; strings are
 * skipped (escapes honoured) with strpbrk-style scans, since request bodies
 * are mostly long strings (sealed JWE tokens). Line and column are worked
 * out only for an error. */
static int depth_scan(const char *s, size_t len, int max_depth, aw_json_error_t *je) {
    int depth = 0;
    const char *p = s, *end = s + len;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            for (p++; p < end;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                if (!q) return 0; /* unterminated: the parser says so */
                size_t bs = 0;    /* backslashes right before the quote */
                while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\') bs++;
                p = q + 1;
                if (bs % 2 == 0) break;
            }
            continue;
        }
        if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                int line = 1, col = 0;
                for (const char *t = s; t <= p; t++) {
                    if (*t == '\n') {
                        line++;
                        col = 0;
                    } else if (((unsigned char)*t & 0xc0) != 0x80) {
                        col++;
                    }
                }
                je->line = line;
                je->column = col;
                je->position = (size_t)(p - s);
                snprintf(je->text, sizeof je->text, "nesting deeper than %d levels", max_depth);
                return -1;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
        p++;
    }
    return 0;
}

json_t *aw_json_parse_strict(const char *data, size_t len, int max_depth, aw_json_error_t *jerr,
                             aw_err_t *err) {
    aw_json_error_t local;
    aw_json_error_t *je = jerr ? jerr : &local;
    memset(je, 0, sizeof *je);
    if (max_depth <= 0) max_depth = AW_JSON_MAX_DEPTH;
    if (depth_scan(data, len, max_depth, je) < 0) {
        aw_err_set(err, AW_ETOOBIG, "line %d, column %d: %s", je->line, je->column, je->text);
        return NULL;
    }
    json_error_t e;
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v) {
        je->line = e.line > 0 ? e.line : 0;
        je->column = e.column > 0 ? e.column : 0;
        je->position = (size_t)(e.position > 0 ? e.position : 0);
        snprintf(je->text, sizeof je->text, "%s", e.text);
        aw_err_set(err, AW_EINVAL, "line %d, column %d: %s", je->line, je->column, e.text);
        return NULL;
    }
    return v;
}
