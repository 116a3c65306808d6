#include "base/b64.h"
#include "base/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static const char URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t aw_b64url_enclen(size_t n) {
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t aw_b64_enclen(size_t n) {
    return (n + 2) / 3 * 4;
}

size_t aw_b64_declen(size_t n) {
    return n / 4 * 3 + 3;
}

static size_t encode(const unsigned char *in, size_t n, char *out, const char *alpha, bool pad) {
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) out[o++] = '=', out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = alpha[v >> 18];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad) out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t aw_b64url_encode(const void *in, size_t n, char *out) {
    return encode(in, n, out, URL, false);
}

size_t aw_b64_encode(const void *in, size_t n, char *out) {
    return encode(in, n, out, STD, true);
}

/* Decoding tables: 0..63 for alphabet characters, 0xff for everything else
 * (built once; a 256-byte lookup per character is what makes the decoder
 * fast enough for streamed attachments). */
static unsigned char T_URL[256], T_STD[256];
static pthread_once_t g_tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    memset(T_URL, 0xff, sizeof T_URL);
    memset(T_STD, 0xff, sizeof T_STD);
    for (int i = 0; i < 64; i++) {
        T_URL[(unsigned char)URL[i]] = (unsigned char)i;
        T_STD[(unsigned char)STD[i]] = (unsigned char)i;
    }
}

static int decode(const char *in, size_t n, unsigned char *out, size_t *outlen, bool url) {
    pthread_once(&g_tables_once, build_tables);
    const unsigned char *t = url ? T_URL : T_STD;
    const unsigned char *p = (const unsigned char *)in;
    if (!url) {
        if (n % 4) return AW_EINVAL;
        if (n && in[n - 1] == '=') n--;
        if (n && in[n - 1] == '=') n--;
    }
    if (n % 4 == 1) return AW_EINVAL;
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        unsigned a = t[p[i]], b = t[p[i + 1]], c = t[p[i + 2]], d = t[p[i + 3]];
        if ((a | b | c | d) & 0x80) return AW_EINVAL;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        out[o] = (unsigned char)(v >> 16);
        out[o + 1] = (unsigned char)(v >> 8);
        out[o + 2] = (unsigned char)v;
        o += 3;
    }
    size_t rest = n - i;
    if (rest == 2) {
        unsigned a = t[p[i]], b = t[p[i + 1]];
        if (((a | b) & 0x80) || (b & 15)) return AW_EINVAL;
        out[o++] = (unsigned char)(a << 2 | b >> 4);
    } else if (rest == 3) {
        unsigned a = t[p[i]], b = t[p[i + 1]], c = t[p[i + 2]];
        if (((a | b | c) & 0x80) || (c & 3)) return AW_EINVAL;
        out[o++] = (unsigned char)(a << 2 | b >> 4);
        out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
    }
    *outlen = o;
    return 0;
}

int aw_b64url_decode(const char *in, size_t n, unsigned char *out, size_t *outlen) {
    return decode(in, n, out, outlen, true);
}

int aw_b64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen) {
    return decode(in, n, out, outlen, false);
}
