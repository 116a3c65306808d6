/* Fuzzes JWE compact parsing and decryption (aw_jwe_inspect, aw_jwe_open,
 * the streaming parser with one key and with a choice of keys) with the
 * committed TEST-ONLY RSA-4096 keys. */
#include <stddef.h>
#include <stdint.h>

#include "jose/jwe.h"
#include "jose_keys.h"

static int sink(void *ctx, const unsigned char *p, size_t n) {
    aw_buf_append(ctx, p, n);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static aw_jwk_t *key;
    if (!key) key = fuzz_key("a/enc.private.jwk");
    aw_err_t err;
    aw_jwe_info_t info;
    if (aw_jwe_inspect((const char *)data, size, 0, &info, &err) == 0) aw_jwe_info_free(&info);
    aw_jwe_opened_t o;
    if (aw_jwe_open(key, (const char *)data, size, 1 << 20, &o, &err) == 0) aw_jwe_opened_free(&o);
    /* The streaming parser, fed in uneven chunks, must agree with the
     * in-memory one on acceptance. */
    aw_buf_t pt = AW_BUF_INIT;
    aw_jwe_stream_t *s;
    if (aw_jwe_stream_new(key, 1 << 22, 1 << 20, sink, &pt, &s, &err) == 0) {
        int rc = 0;
        for (size_t off = 0; off < size && rc == 0; off += 7)
            rc = aw_jwe_stream_feed(s, data + off, size - off < 7 ? size - off : 7, &err);
        if (rc == 0 && aw_jwe_stream_finish(s, &info, &err) == 0) aw_jwe_info_free(&info);
        aw_jwe_stream_free(s);
    }
    aw_buf_wipe_free(&pt);
    /* The same with a choice of keys (an inbox after a key rotation): the
     * header kid picks one, an unknown kid is AW_ENOTFOUND. */
    static const aw_jwk_t *keys[2];
    if (!keys[0]) {
        keys[0] = fuzz_key("b/enc.private.jwk");
        keys[1] = key;
    }
    aw_buf_t pt2 = AW_BUF_INIT;
    if (aw_jwe_stream_new_keys(keys, 2, 1 << 22, 1 << 20, sink, &pt2, &s, &err) == 0) {
        int rc = 0;
        for (size_t off = 0; off < size && rc == 0; off += 13)
            rc = aw_jwe_stream_feed(s, data + off, size - off < 13 ? size - off : 13, &err);
        if (rc == 0 && aw_jwe_stream_finish(s, &info, &err) == 0) aw_jwe_info_free(&info);
        aw_jwe_stream_free(s);
    }
    aw_buf_wipe_free(&pt2);
    return 0;
}
