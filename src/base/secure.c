#include "base/secure.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void aw_secure_wipe(void *p, size_t n) {
    if (p && n) OPENSSL_cleanse(p, n);
}

void aw_secure_free_str(char *s) {
    if (!s) return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

bool aw_ct_equal(const void *a, size_t alen, const void *b, size_t blen) {
    if (alen != blen) return false;
    if (alen == 0) return true;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

bool aw_ct_streq(const char *a, const char *b) {
    if (!a || !b) return false;
    return aw_ct_equal(a, strlen(a), b, strlen(b));
}
