/*
 * secure — wiping secrets and comparing MACs and tokens in constant time.
 *
 * Thin wrappers over OpenSSL (OPENSSL_cleanse, CRYPTO_memcmp) so the rest
 * of the code names the intent, and so no module hand-rolls either.
 */
#ifndef AW_BASE_SECURE_H
#define AW_BASE_SECURE_H

#include <stdbool.h>
#include <stddef.h>

void aw_secure_wipe(void *p, size_t n);
/* Wipes then frees a NUL-terminated string; NULL is fine. */
void aw_secure_free_str(char *s);
/* True when a and b are equal; time depends only on the lengths. */
bool aw_ct_equal(const void *a, size_t alen, const void *b, size_t blen);
bool aw_ct_streq(const char *a, const char *b);

#endif
