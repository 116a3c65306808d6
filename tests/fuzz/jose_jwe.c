/* Fuzzes JWE compact parsing and decryption (aw_jwe_inspect, aw_jwe_open)
 * with the committed TEST-ONLY RSA-4096 key. */
#include <stddef.h>
#include <stdint.h>

#include "jose/jwe.h"
#include "jose_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static aw_jwk_t *key;
    if (!key) key = fuzz_key("a/enc.private.jwk");
    aw_err_t err;
    aw_jwe_info_t info;
    if (aw_jwe_inspect((const char *)data, size, 0, &info, &err) == 0) aw_jwe_info_free(&info);
    aw_jwe_opened_t o;
    if (aw_jwe_open(key, (const char *)data, size, 1 << 20, &o, &err) == 0) aw_jwe_opened_free(&o);
    return 0;
}
