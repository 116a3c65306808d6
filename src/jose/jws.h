/*
 * jws — JSON Web Signature, compact serialisation (RFC 7515), with RSASSA-PSS
 * as FIT-Connect uses it: PS512 (SHA-512, MGF1-SHA-512, 64-byte salt).
 *
 * Signing always produces PS512. Verification accepts PS512 only unless the
 * caller names another PSS variant (PS384/PS256, for test vectors and
 * peers); "none", HMAC, RS*, ES* and anything with `crit` or `b64: false`
 * are refused. The protected header is parsed strictly (duplicate names
 * refused) and exposed to the caller, who checks typ and kid for its use.
 */
#ifndef AW_JOSE_JWS_H
#define AW_JOSE_JWS_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "jose/jwk.h"

#define AW_JWS_DEFAULT_MAX (1024 * 1024) /* token bound when max_len is 0 */

/* Signs payload with the private key. Header: alg PS512, typ (when not
 * NULL), kid (the key's kid when it has one). The token is appended to
 * out. */
int aw_jws_sign(const aw_jwk_t *key, const char *typ, const void *payload, size_t len,
                aw_buf_t *out, aw_err_t *err);

typedef struct aw_jws_verified {
    json_t *header;         /* parsed protected header */
    unsigned char *payload; /* decoded, NUL-terminated */
    size_t payload_len;
} aw_jws_verified_t;

typedef struct aw_jws_verify_opts {
    size_t max_len;  /* 0: AW_JWS_DEFAULT_MAX */
    const char *alg; /* NULL: "PS512"; "PS384" and "PS256" also possible */
} aw_jws_verify_opts_t;

/* Checks structure, header (alg), kid (when key and header both carry one
 * they must match) and signature. Fills out only on success (caller frees
 * with aw_jws_verified_free). opts may be NULL. */
int aw_jws_verify(const aw_jwk_t *key, const char *compact, size_t len,
                  const aw_jws_verify_opts_t *opts, aw_jws_verified_t *out, aw_err_t *err);
void aw_jws_verified_free(aw_jws_verified_t *v);

/* Parses the protected header without verifying anything (to pick the key
 * by kid). *header is owned by the caller (json_decref). */
int aw_jws_peek_header(const char *compact, size_t len, size_t max_len, json_t **header,
                       aw_err_t *err);

#endif
