#include "http/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

/* A recursive-descent decoder that builds jansson values. Why not
 * json_loadb: jansson's lexer reads one byte at a time through a stream
 * callback, copies each into a growing buffer and decodes it again, about
 * 130 instructions per byte of a string; request bodies here are mostly
 * long strings (sealed JWE tokens), and json_loadb was 46 % of the
 * user-space instructions of a complete submission (callgrind). This one
 * checks a string in one pass and copies it once. What it accepts and
 * builds is jansson's (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, no NUL in
 * strings); tests/fuzz/http_json.c checks that against json_loadb on every
 * input it tries. */

typedef struct parser {
    const unsigned char *start, *p, *end;
    int max_depth;
    int code; /* AW_EINVAL or AW_ETOOBIG once failed */
    const unsigned char *err_at;
    char msg[160];
} parser_t;

static json_t *fail(parser_t *ps, const unsigned char *at, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static json_t *fail(parser_t *ps, const unsigned char *at, int code, const char *fmt, ...) {
    if (!ps->code) {
        ps->code = code;
        ps->err_at = at;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->msg, sizeof ps->msg, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static void skip_ws(parser_t *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* Length of the well-formed UTF-8 sequence at p (2..4), 0 when it is not
 * one: overlong forms, surrogates and code points above U+10FFFF are not. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
    return end - p < 4 ? -1 : aw_hex4((const char *)p, out);
}

static size_t utf8_put(unsigned cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string at ps->p (just after its opening quote). Returns its decoded
 * bytes: a pointer into the input when it has no escapes (*owned NULL),
 * else a malloc'd buffer (*owned = it). ps->p ends after the closing quote. */
static const char *string_body(parser_t *ps, size_t *len, char **owned) {
    const unsigned char *s = ps->p, *p = s, *end = ps->end;
    *owned = NULL;
    /* first pass: find the end, check UTF-8 and control characters, note
     * whether there are escapes */
    bool escapes = false;
    for (;;) {
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') p++;
        if (p >= end) return (void)fail(ps, p, AW_EINVAL, "premature end of input"), NULL;
        unsigned char c = *p;
        if (c == '"') break;
        if (c == '\\') {
            escapes = true;
            if (p + 1 >= end) return (void)fail(ps, p, AW_EINVAL, "premature end of input"), NULL;
            p += 2;
            continue;
        }
        if (c < 0x20) return (void)fail(ps, p, AW_EINVAL, "control character 0x%x", c), NULL;
        size_t n = utf8_len(p, end);
        if (!n) return (void)fail(ps, p, AW_EINVAL, "unable to decode byte 0x%x", c), NULL;
        p += n;
    }
    ps->p = p + 1;
    if (!escapes) {
        *len = (size_t)(p - s);
        return (const char *)s;
    }
    /* second pass: decode escapes (the result is never longer) */
    char *o = malloc((size_t)(p - s) + 1);
    if (!o) return (void)fail(ps, s, AW_ENOMEM, "out of memory"), NULL;
    size_t k = 0;
    for (const unsigned char *q = s; q < p;) {
        if (*q != '\\') {
            o[k++] = (char)*q++;
            continue;
        }
        unsigned char e = q[1];
        const unsigned char *at = q;
        q += 2;
        switch (e) {
        case '"':
            o[k++] = '"';
            break;
        case '\\':
            o[k++] = '\\';
            break;
        case '/':
            o[k++] = '/';
            break;
        case 'b':
            o[k++] = '\b';
            break;
        case 'f':
            o[k++] = '\f';
            break;
        case 'n':
            o[k++] = '\n';
            break;
        case 'r':
            o[k++] = '\r';
            break;
        case 't':
            o[k++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(q, p, &cp)) goto bad_escape;
            q += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, p, &lo) ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    free(o);
                    return (void)fail(ps, at, AW_EINVAL, "invalid Unicode '\\u%04X'", cp), NULL;
                }
                q += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(o);
                return (void)fail(ps, at, AW_EINVAL, "invalid Unicode '\\u%04X'", cp), NULL;
            } else if (cp == 0) {
                free(o);
                return (void)fail(ps, at, AW_EINVAL, "\\u0000 is not allowed"), NULL;
            }
            k += utf8_put(cp, o + k);
            break;
        }
        default:
        bad_escape:
            free(o);
            return (void)fail(ps, at, AW_EINVAL, "invalid escape"), NULL;
        }
    }
    o[k] = 0;
    *owned = o;
    *len = k;
    return o;
}

static json_t *number(parser_t *ps) {
    const unsigned char *s = ps->p, *p = s, *end = ps->end;
    bool real = false;
    if (p < end && *p == '-') p++;
    if (p < end && *p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') return fail(ps, s, AW_EINVAL, "invalid token");
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else
        return fail(ps, s, AW_EINVAL, "invalid token");
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || *p < '0' || *p > '9') return fail(ps, s, AW_EINVAL, "invalid token");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return fail(ps, s, AW_EINVAL, "invalid token");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    size_t n = (size_t)(p - s);
    char buf[64], *t = n < sizeof buf ? buf : malloc(n + 1);
    if (!t) return fail(ps, s, AW_ENOMEM, "out of memory");
    memcpy(t, s, n);
    t[n] = 0;
    json_t *v;
    errno = 0;
    if (!real) {
        long long x = strtoll(t, NULL, 10);
        v = errno == ERANGE
                ? fail(ps, s, AW_EINVAL, x < 0 ? "too big negative integer" : "too big integer")
                : json_integer((json_int_t)x);
    } else {
        double x = strtod(t, NULL);
        v = errno == ERANGE && (x > 1.0 || x < -1.0)
                ? fail(ps, s, AW_EINVAL, "real number overflow")
                : json_real(x);
    }
    if (t != buf) free(t);
    if (v) ps->p = p;
    return v;
}

static json_t *value(parser_t *ps, int depth);

static json_t *object(parser_t *ps, int depth) {
    json_t *o = json_object();
    if (!o) return fail(ps, ps->p, AW_ENOMEM, "out of memory");
    ps->p++; /* { */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return o;
    }
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '"') {
            fail(ps, ps->p, AW_EINVAL, "string or '}' expected");
            break;
        }
        const unsigned char *kat = ps->p;
        ps->p++;
        size_t klen;
        char *owned;
        const char *k = string_body(ps, &klen, &owned);
        if (!k) break;
        if (json_object_getn(o, k, klen)) {
            free(owned);
            fail(ps, kat, AW_EINVAL, "duplicate object key");
            break;
        }
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') {
            free(owned);
            fail(ps, ps->p, AW_EINVAL, "':' expected");
            break;
        }
        ps->p++;
        json_t *v = value(ps, depth);
        if (!v || json_object_setn_new_nocheck(o, k, klen, v) != 0) {
            free(owned);
            if (v) fail(ps, kat, AW_ENOMEM, "out of memory");
            break;
        }
        free(owned);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            return o;
        }
        fail(ps, ps->p, AW_EINVAL, "'}' expected");
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *array(parser_t *ps, int depth) {
    json_t *a = json_array();
    if (!a) return fail(ps, ps->p, AW_ENOMEM, "out of memory");
    ps->p++; /* [ */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return a;
    }
    for (;;) {
        json_t *v = value(ps, depth);
        if (!v || json_array_append_new(a, v) != 0) {
            if (v) fail(ps, ps->p, AW_ENOMEM, "out of memory");
            break;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']') {
            ps->p++;
            return a;
        }
        fail(ps, ps->p, AW_EINVAL, "']' expected");
        break;
    }
    json_decref(a);
    return NULL;
}

static bool word(parser_t *ps, const char *w, size_t n) {
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0) return false;
    ps->p += n;
    return true;
}

static json_t *value(parser_t *ps, int depth) {
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, ps->p, AW_EINVAL, "premature end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        if (depth + 1 > ps->max_depth)
            return fail(ps, ps->p, AW_ETOOBIG, "nesting deeper than %d levels", ps->max_depth);
        return *ps->p == '{' ? object(ps, depth + 1) : array(ps, depth + 1);
    case '"': {
        ps->p++;
        size_t n;
        char *owned;
        const char *s = string_body(ps, &n, &owned);
        if (!s) return NULL;
        json_t *v = json_stringn_nocheck(s, n);
        free(owned);
        return v ? v : fail(ps, ps->p, AW_ENOMEM, "out of memory");
    }
    case 't':
        if (word(ps, "true", 4)) return json_true();
        break;
    case 'f':
        if (word(ps, "false", 5)) return json_false();
        break;
    case 'n':
        if (word(ps, "null", 4)) return json_null();
        break;
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return number(ps);
    }
    return fail(ps, ps->p, AW_EINVAL, "invalid token");
}

json_t *aw_json_parse_strict(const char *data, size_t len, int max_depth, aw_json_error_t *jerr,
                             aw_err_t *err) {
    aw_json_error_t local;
    aw_json_error_t *je = jerr ? jerr : &local;
    memset(je, 0, sizeof *je);
    parser_t ps = {.start = (const unsigned char *)data,
                   .p = (const unsigned char *)data,
                   .end = (const unsigned char *)data + len,
                   .max_depth = max_depth > 0 ? max_depth : AW_JSON_MAX_DEPTH};
    json_t *v = value(&ps, 0);
    if (v) {
        skip_ws(&ps);
        if (ps.p < ps.end) {
            json_decref(v);
            v = fail(&ps, ps.p, AW_EINVAL, "end of input expected");
        }
    }
    if (v) return v;
    /* line and column (in characters) only for an error */
    int line = 1, col = 0;
    for (const unsigned char *t = ps.start; t <= ps.err_at && t < ps.end; t++) {
        if (*t == '\n') {
            line++;
            col = 0;
        } else if ((*t & 0xC0) != 0x80) {
            col++;
        }
    }
    if (ps.err_at >= ps.end) col++; /* just past the end */
    je->line = line;
    je->column = col;
    je->position = (size_t)(ps.err_at - ps.start);
    snprintf(je->text, sizeof je->text, "%s", ps.msg);
    aw_err_set(err, ps.code, "line %d, column %d: %s", line, col, ps.msg);
    return NULL;
}
