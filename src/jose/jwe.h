/*
 * jwe — JSON Web Encryption, compact serialisation (RFC 7516), restricted to
 * what FIT-Connect uses: alg RSA-OAEP-256 and enc A256GCM. Anything else
 * (RSA1_5, RSA-OAEP with SHA-1, dir, CBC-HS, JSON serialisation, crit) is
 * refused with a message naming the value.
 *
 * Sealing never compresses. Opening accepts `zip: "DEF"` (raw DEFLATE,
 * RFC 1951) with a bound on the inflated size, because other FIT-Connect
 * senders may produce it. The authentication tag (base64url, 22 chars) is
 * returned on both sides: FIT-Connect's submit-submission event carries the
 * tags of metadata, data and attachments as `authenticationTags`.
 * Decryption failures (wrong key, altered key, IV, ciphertext, tag or
 * header) all give the same AW_ECRYPTO message; per RFC 7516 §11.5 a failed
 * key unwrap continues with a random CEK so timing does not tell them apart.
 * Plaintext returned by aw_jwe_open lives in memory that aw_jwe_opened_free
 * wipes.
 */
#ifndef AW_JOSE_JWE_H
#define AW_JOSE_JWE_H

#include <stddef.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "jose/jwk.h"

#define AW_JWE_TAG_LEN     22                  /* base64url of the 16-byte GCM tag */
#define AW_JWE_DEFAULT_MAX (16u * 1024 * 1024) /* plaintext bound when max is 0 */

/* Content types FIT-Connect uses for the `cty` header. */
#define AW_JWE_CTY_JSON "application/json"
#define AW_JWE_CTY_XML  "application/xml"

/* Encrypts pt for the public part of key. Header: alg RSA-OAEP-256, enc
 * A256GCM, kid (the key's kid; omitted when the key has none), cty (when
 * not NULL). The compact token is appended to out; the tag (base64url,
 * NUL-terminated) is written to tag when not NULL. */
int aw_jwe_seal(const aw_jwk_t *key, const void *pt, size_t ptlen, const char *cty, aw_buf_t *out,
                char tag[AW_JWE_TAG_LEN + 1], aw_err_t *err);

/* What a JWE says about itself, without decrypting. Strings are borrowed
 * from header (freed by aw_jwe_info_free). */
typedef struct aw_jwe_info {
    json_t *header;  /* the parsed protected header */
    const char *kid; /* NULL when absent */
    const char *cty; /* NULL when absent */
    bool zip;        /* zip: DEF */
    char tag[AW_JWE_TAG_LEN + 1];
    size_t ciphertext_len; /* decoded bytes (upper bound of the plaintext unless zip) */
} aw_jwe_info_t;

/* Checks structure and header (alg, enc, zip, crit, sizes of IV, tag and
 * encrypted key, strict base64url everywhere) without a key: what the
 * delivery service can check on ciphertext it cannot read. len is bounded
 * by max_len (0: AW_JWE_DEFAULT_MAX + 1 MiB). */
int aw_jwe_inspect(const char *compact, size_t len, size_t max_len, aw_jwe_info_t *info,
                   aw_err_t *err);
void aw_jwe_info_free(aw_jwe_info_t *info);

typedef struct aw_jwe_opened {
    unsigned char *plaintext; /* NUL-terminated for convenience; wiped on free */
    size_t len;
    aw_jwe_info_t info;
} aw_jwe_opened_t;

/* Decrypts with the private key. max_plaintext bounds the plaintext
 * (also after inflating; 0: AW_JWE_DEFAULT_MAX); AW_ETOOBIG beyond it.
 * When the key and the header both carry a kid they must match. */
int aw_jwe_open(const aw_jwk_t *key, const char *compact, size_t len, size_t max_plaintext,
                aw_jwe_opened_t *out, aw_err_t *err);
void aw_jwe_opened_free(aw_jwe_opened_t *o);

/* Streaming: checks (key NULL) or decrypts (private key) a compact JWE
 * that arrives in chunks of any size, with memory bounded independently of
 * its length: for attachments (FIT-Connect allows 500 MB) that are
 * stored or written to disk as they arrive.
 *
 * With a key, plaintext goes to sink as it is decrypted. It is NOT
 * authenticated until aw_jwe_stream_finish returns 0: on any error the
 * caller must discard everything the sink received (e.g. unlink the
 * temporary file). The chunk passed to sink is wiped after the call.
 * max_len bounds the token (0: unbounded), max_plaintext the plaintext,
 * also after inflating zip DEF (0: unbounded). sink returning non-zero
 * aborts with AW_EIO. Errors are sticky. */
typedef int (*aw_jwe_sink_fn)(void *ctx, const unsigned char *p, size_t n);
typedef struct aw_jwe_stream aw_jwe_stream_t;

int aw_jwe_stream_new(const aw_jwk_t *key, size_t max_len, size_t max_plaintext,
                      aw_jwe_sink_fn sink, void *ctx, aw_jwe_stream_t **out, aw_err_t *err);
/* As aw_jwe_stream_new with a choice of private keys (keys[0..n), n >= 1;
 * they must outlive the stream): the token's header kid picks one (see
 * aw_jwe_pick_key); a kid that names none of them fails with AW_ENOTFOUND
 * (a key that is missing, not a broken token). */
int aw_jwe_stream_new_keys(const aw_jwk_t *const *keys, size_t n, size_t max_len,
                           size_t max_plaintext, aw_jwe_sink_fn sink, void *ctx,
                           aw_jwe_stream_t **out, aw_err_t *err);
/* The key a token's header kid names among keys[0..n): the one with that
 * kid, else the first key without a kid; a token without kid: keys[0];
 * NULL when kid names none of them (an authority that rotated its key
 * holds the old and the new one). */
const aw_jwk_t *aw_jwe_pick_key(const aw_jwk_t *const *keys, size_t n, const char *kid);
int aw_jwe_stream_feed(aw_jwe_stream_t *s, const void *data, size_t n, aw_err_t *err);
/* Ends the token: checks the tag (and with a key authenticates all
 * plaintext). Fills info (aw_jwe_info_free) on success. */
int aw_jwe_stream_finish(aw_jwe_stream_t *s, aw_jwe_info_t *info, aw_err_t *err);
/* Plaintext bytes delivered to the sink so far. */
size_t aw_jwe_stream_plaintext_len(const aw_jwe_stream_t *s);
void aw_jwe_stream_free(aw_jwe_stream_t *s);

#endif
