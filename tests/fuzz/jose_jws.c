/* Fuzzes JWS compact parsing/verification and SET verification. */
#include <stddef.h>
#include <stdint.h>

#include "jose/jws.h"
#include "jose/set.h"
#include "jose_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static aw_jwk_t *key;
    if (!key) key = fuzz_key("a/sig.public.jwk");
    aw_err_t err;
    json_t *h;
    if (aw_jws_peek_header((const char *)data, size, 0, &h, &err) == 0) json_decref(h);
    aw_jws_verified_t v;
    if (aw_jws_verify(key, (const char *)data, size, NULL, &v, &err) == 0) aw_jws_verified_free(&v);
    aw_set_t s;
    if (aw_set_verify(key, (const char *)data, size, &s, &err) == 0) aw_set_free(&s);
    return 0;
}
