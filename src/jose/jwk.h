/*
 * jwk — RSA JSON Web Keys (RFC 7517/7518) on OpenSSL 3, and FIT-Connect's
 * key rules.
 *
 * amtsweg only ever handles RSA keys: FIT-Connect encrypts with
 * RSA-OAEP-256 and signs with PS512, both with 4096-bit keys. A key is
 * parsed strictly (jansson with duplicate members rejected, strict
 * base64url, no leading zero octets in n and e, no multi-prime "oth",
 * bounded sizes) into an opaque aw_jwk_t that holds an EVP_PKEY and the
 * descriptive members (kid, alg, use, key_ops, x5c). Parsing accepts any
 * RSA key between 2048 and 8192 bits so RFC test vectors load; whether a
 * key is acceptable for FIT-Connect is a separate question answered by
 * aw_jwk_check_fitconnect, which names every rule the key violates.
 * Private key material is freed through OpenSSL, which clears it.
 * Thread safety: a parsed key is immutable; one aw_jwk_t may be used by
 * any number of threads at once for sealing, opening, signing and
 * verifying (every operation makes its own OpenSSL context).
 */
#ifndef AW_JOSE_JWK_H
#define AW_JOSE_JWK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base/buf.h"
#include "base/err.h"

typedef struct aw_jwk aw_jwk_t;

/* What a FIT-Connect key is for. */
typedef enum {
    AW_JWK_ENC = 1, /* RSA-OAEP-256, key_ops ["wrapKey"] (private: ["unwrapKey"]) */
    AW_JWK_SIG = 2, /* PS512, key_ops ["verify"] (private: ["sign"]) */
} aw_jwk_purpose_t;

#define AW_JWK_MAX_JSON  (256 * 1024) /* a JWK with an x5c chain stays far below */
#define AW_JWK_MIN_BITS  2048
#define AW_JWK_MAX_BITS  8192
#define AW_JWK_KID_MAX   256 /* parse bound; FIT-Connect wants 8..64 */
#define AW_JWK_THUMB_LEN 43  /* base64url of a SHA-256 digest */

/* Parses a JWK from JSON text (len bytes, NUL not needed). *out is owned by
 * the caller (aw_jwk_free). Errors name the member ("jwk: member 'n': ..."). */
int aw_jwk_parse(const char *json, size_t len, aw_jwk_t **out, aw_err_t *err);
/* Same from a jansson object (borrowed; the key copies what it keeps). */
int aw_jwk_from_json(const json_t *obj, aw_jwk_t **out, aw_err_t *err);
/* Reads and parses a JWK file (at most AW_JWK_MAX_JSON bytes). */
int aw_jwk_load_file(const char *path, aw_jwk_t **out, aw_err_t *err);
void aw_jwk_free(aw_jwk_t *k);

/* Creates a fresh RSA key pair of `bits` with FIT-Connect's descriptive
 * members for `purpose` (alg, use, key_ops for the private side). kid NULL:
 * the RFC 7638 thumbprint becomes the kid. */
int aw_jwk_generate(int bits, aw_jwk_purpose_t purpose, const char *kid, aw_jwk_t **out,
                    aw_err_t *err);
/* A new key holding only the public half; key_ops of a private FIT-Connect
 * key are mapped to the public operation (unwrapKey→wrapKey, sign→verify). */
int aw_jwk_public(const aw_jwk_t *k, aw_jwk_t **out, aw_err_t *err);

/* Serialises the key as compact JSON into out (appended). With
 * include_private false only the public members are written even for a
 * private key. A buffer that received private material must be released
 * with aw_buf_wipe_free. Members: kty, kid, alg, use, key_ops, x5c, n, e,
 * then d, p, q, dp, dq, qi. */
int aw_jwk_write(const aw_jwk_t *k, bool include_private, aw_buf_t *out, aw_err_t *err);
/* Same as a new jansson object (caller decrefs). */
json_t *aw_jwk_to_json(const aw_jwk_t *k, bool include_private);

/* RFC 7638 thumbprint (SHA-256, base64url) into out (44 bytes with NUL). */
int aw_jwk_thumbprint(const aw_jwk_t *k, char out[AW_JWK_THUMB_LEN + 1], aw_err_t *err);

/* Borrowed views; NULL when the member is absent. */
const char *aw_jwk_kid(const aw_jwk_t *k);
const char *aw_jwk_alg(const aw_jwk_t *k);
const char *aw_jwk_use(const aw_jwk_t *k);
bool aw_jwk_is_private(const aw_jwk_t *k);
int aw_jwk_bits(const aw_jwk_t *k);
/* The OpenSSL key, borrowed: valid as long as k. */
EVP_PKEY *aw_jwk_pkey(const aw_jwk_t *k);
/* True when both keys have the same public modulus and exponent. */
bool aw_jwk_same_public(const aw_jwk_t *a, const aw_jwk_t *b);

typedef struct aw_jwk_check_opts {
    bool require_x5c;          /* FIT-Connect's API schema lists x5c as required */
    const char *x5c_roots_pem; /* PEM file of trusted roots; NULL: chain not checked */
} aw_jwk_check_opts_t;

/* Checks that pem_file holds at least one X.509 certificate in PEM (the
 * trusted roots of aw_jwk_check_opts_t). Returns 0 or AW_EINVAL / AW_EIO
 * naming the file. */
int aw_jwk_roots_check(const char *pem_file, aw_err_t *err);

/* FIT-Connect's key rules for a published key of `purpose`: kty RSA,
 * 4096-bit modulus, e = AQAB, alg RSA-OAEP-256 / PS512, key_ops exactly
 * ["wrapKey"] / ["verify"] (["unwrapKey"] / ["sign"] for the private
 * file), use (if present) enc / sig, kid of 8..64 printable characters,
 * x5c (if present or required): the leaf's public key equals n/e and,
 * with roots configured, the chain verifies. Returns 0 or AW_EINVAL with
 * every violated rule listed in err ("...; ...") . opts may be NULL. */
int aw_jwk_check_fitconnect(const aw_jwk_t *k, aw_jwk_purpose_t purpose,
                            const aw_jwk_check_opts_t *opts, aw_err_t *err);

/* A JWK set (RFC 7517 §5): {"keys": [...]}. Every member must be a key
 * we can parse (RSA); kids must be unique (a duplicate kid makes key
 * selection ambiguous); at most AW_JWKS_MAX keys. */
#define AW_JWKS_MAX 64

typedef struct aw_jwks {
    aw_jwk_t **keys;
    size_t n;
} aw_jwks_t;

int aw_jwks_parse(const char *json, size_t len, aw_jwks_t *out, aw_err_t *err);
/* Borrowed; NULL when no key has that kid. */
const aw_jwk_t *aw_jwks_find(const aw_jwks_t *set, const char *kid);
void aw_jwks_free(aw_jwks_t *set);
/* Writes {"keys":[...]} with the public halves only. */
int aw_jwks_write(const aw_jwk_t *const *keys, size_t n, aw_buf_t *out, aw_err_t *err);

#endif
