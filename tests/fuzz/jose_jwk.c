/* Fuzzes JWK parsing and everything done with a parsed key that needs no
 * private operation (rules check, serialisation, thumbprint). */
#include <stddef.h>
#include <stdint.h>

#include "jose/jwk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aw_err_t err;
    aw_jwk_t *k;
    aw_jwks_t set;
    if (aw_jwks_parse((const char *)data, size, &set, &err) == 0) aw_jwks_free(&set);
    if (aw_jwk_parse((const char *)data, size, &k, &err) != 0) return 0;
    aw_jwk_check_fitconnect(k, AW_JWK_ENC, NULL, &err);
    aw_jwk_check_fitconnect(k, AW_JWK_SIG, NULL, &err);
    aw_buf_t b = AW_BUF_INIT;
    aw_jwk_write(k, true, &b, &err);
    aw_buf_wipe_free(&b);
    char t[AW_JWK_THUMB_LEN + 1];
    aw_jwk_thumbprint(k, t, &err);
    aw_jwk_free(k);
    return 0;
}
