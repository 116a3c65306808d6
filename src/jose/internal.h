/*
 * internal — helpers shared by jwk.c, jwe.c, jws.c and set.c (and by the
 * tests, which use the primitives to check RFC vectors that use other
 * algorithms than ours, e.g. RSA-OAEP with SHA-1 in RFC 7520 §5.2).
 * Not part of the public API: other modules include jwk.h, jwe.h, jws.h
 * and set.h only.
 */
#ifndef AW_JOSE_INTERNAL_H
#define AW_JOSE_INTERNAL_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base/err.h"

#define AW_JOSE_MAX_HEADER 8192 /* encoded protected header */

typedef struct {
    const char *p;
    size_t n;
} aw_jose__part_t;

/* Splits a compact serialisation into exactly `want` dot-separated parts
 * (3 for JWS, 5 for JWE). `what` names the token in messages. */
int aw_jose__split(const char *s, size_t len, int want, aw_jose__part_t *parts, const char *what,
                   aw_err_t *err);

/* Strict base64url decode into a fresh malloc'd buffer (freed by caller;
 * never NULL on success, even for empty input). */
int aw_jose__b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen,
                        const char *what, aw_err_t *err);

/* Decodes and parses a protected header: base64url, UTF-8 JSON object,
 * duplicate names rejected, bounded size. */
int aw_jose__parse_header(const aw_jose__part_t *part, json_t **out, const char *what,
                          aw_err_t *err);

/* Parses JSON text strictly (duplicates rejected, must be an object). */
int aw_jose__parse_object(const char *s, size_t n, json_t **out, const char *what, aw_err_t *err);

/* AES-256-GCM with a 96-bit IV and 128-bit tag. */
int aw_jose__gcm_encrypt(const unsigned char key[32], const unsigned char iv[12],
                         const unsigned char *aad, size_t aadlen, const unsigned char *pt,
                         size_t ptlen, unsigned char *ct, unsigned char tag[16]);
/* Returns 0 or AW_ECRYPTO when the tag does not verify (pt then wiped). */
int aw_jose__gcm_decrypt(const unsigned char key[32], const unsigned char iv[12],
                         const unsigned char *aad, size_t aadlen, const unsigned char *ct,
                         size_t ctlen, const unsigned char tag[16], unsigned char *pt);

/* RSA-OAEP with `md` for both OAEP and MGF1 (SHA-256 for RSA-OAEP-256). */
int aw_jose__rsa_oaep_encrypt(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *in,
                              size_t inlen, unsigned char *out, size_t *outlen);
int aw_jose__rsa_oaep_decrypt(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *in,
                              size_t inlen, unsigned char *out, size_t *outlen);

/* RSASSA-PSS with salt length = digest length (JOSE PS256/384/512). */
int aw_jose__pss_sign(EVP_PKEY *pkey, const EVP_MD *md, const void *msg, size_t msglen,
                      unsigned char **sig, size_t *siglen);
int aw_jose__pss_verify(EVP_PKEY *pkey, const EVP_MD *md, const void *msg, size_t msglen,
                        const unsigned char *sig, size_t siglen);

#endif
