/* JWE compact, RSA-OAEP-256 + A256GCM only, on OpenSSL EVP; zip DEF
 * inflated with zlib on open (bounded), never produced. */
#include "jose/jwe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "base/b64.h"
#include "base/secure.h"
#include "jose/internal.h"

#define JWE_ALG "RSA-OAEP-256"
#define JWE_ENC "A256GCM"

static void append_b64(aw_buf_t *b, const void *data, size_t n) {
    size_t need = aw_b64url_enclen(n) + 1;
    if (aw_buf_reserve(b, need) != 0) {
        b->oom = true;
        return;
    }
    b->len += aw_b64url_encode(data, n, b->data + b->len);
}

int aw_jwe_seal(const aw_jwk_t *key, const void *pt, size_t ptlen, const char *cty, aw_buf_t *out,
                char tag[AW_JWE_TAG_LEN + 1], aw_err_t *err) {
    if (!key) return aw_err_set(err, AW_EINVAL, "jwe: no key");
    if (ptlen > ((size_t)1 << 36)) return aw_err_set(err, AW_ETOOBIG, "jwe: plaintext too large");
    unsigned char cek[32], iv[12], rawtag[16];
    unsigned char ek[AW_JWK_MAX_BITS / 8];
    size_t eklen = sizeof ek;
    unsigned char *ct = NULL;
    aw_buf_t hdr = AW_BUF_INIT;
    int rc;
    if (RAND_bytes(cek, sizeof cek) != 1 || RAND_bytes(iv, sizeof iv) != 1) {
        rc = aw_err_set(err, AW_ECRYPTO, "jwe: random generator failed");
        goto done;
    }
    aw_buf_puts(&hdr, "{\"alg\":\"" JWE_ALG "\",\"enc\":\"" JWE_ENC "\"");
    if (cty) {
        aw_buf_puts(&hdr, ",\"cty\":\"");
        aw_buf_json_str(&hdr, cty, strlen(cty));
        aw_buf_putc(&hdr, '"');
    }
    if (aw_jwk_kid(key)) {
        aw_buf_puts(&hdr, ",\"kid\":\"");
        aw_buf_json_str(&hdr, aw_jwk_kid(key), strlen(aw_jwk_kid(key)));
        aw_buf_putc(&hdr, '"');
    }
    aw_buf_putc(&hdr, '}');
    if (!aw_buf_ok(&hdr)) {
        rc = aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
        goto done;
    }
    if (aw_jose__rsa_oaep_encrypt(aw_jwk_pkey(key), EVP_sha256(), cek, sizeof cek, ek, &eklen)) {
        rc = aw_err_set(err, AW_ECRYPTO, "jwe: RSA-OAEP-256 key wrap failed");
        goto done;
    }
    ct = malloc(ptlen ? ptlen : 1);
    if (!ct) {
        rc = aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
        goto done;
    }
    size_t start = out->len;
    append_b64(out, hdr.data, hdr.len);
    /* AAD is the encoded protected header exactly as it appears. */
    size_t hlen = out->len - start;
    if (!aw_buf_ok(out) || aw_jose__gcm_encrypt(cek, iv, (const unsigned char *)out->data + start,
                                                hlen, pt, ptlen, ct, rawtag) != 0) {
        out->len = start;
        if (out->data) out->data[start] = 0;
        rc = aw_err_set(err, AW_ECRYPTO, "jwe: A256GCM encryption failed");
        goto done;
    }
    aw_buf_putc(out, '.');
    append_b64(out, ek, eklen);
    aw_buf_putc(out, '.');
    append_b64(out, iv, sizeof iv);
    aw_buf_putc(out, '.');
    append_b64(out, ct, ptlen);
    aw_buf_putc(out, '.');
    append_b64(out, rawtag, sizeof rawtag);
    if (!aw_buf_ok(out)) {
        rc = aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
        goto done;
    }
    if (tag) aw_b64url_encode(rawtag, sizeof rawtag, tag);
    rc = 0;
done:
    aw_secure_wipe(cek, sizeof cek);
    free(ct);
    aw_buf_free(&hdr);
    return rc;
}

/* Validates base64url in chunks without allocating the decoded data. */
static int b64_check_len(const char *s, size_t n, size_t *declen) {
    unsigned char tmp[3072];
    size_t total = 0;
    while (n > 0) {
        size_t chunk = n > 4096 ? 4096 : n;
        size_t got;
        if (aw_b64url_decode(s, chunk, tmp, &got) != 0) return AW_EINVAL;
        total += got;
        s += chunk, n -= chunk;
    }
    *declen = total;
    return 0;
}

void aw_jwe_info_free(aw_jwe_info_t *info) {
    if (!info) return;
    json_decref(info->header);
    memset(info, 0, sizeof *info);
}

static int check_header(json_t *h, aw_jwe_info_t *info, aw_err_t *err) {
    json_t *alg = json_object_get(h, "alg"), *enc = json_object_get(h, "enc");
    if (!json_is_string(alg))
        return aw_err_set(err, AW_EINVAL, "jwe: header 'alg' is missing or not a string");
    if (strcmp(json_string_value(alg), JWE_ALG) != 0)
        return aw_err_set(err, AW_EUNSUPPORTED,
                          "jwe: alg '%.40s' is not supported; only " JWE_ALG " is accepted",
                          json_string_value(alg));
    if (!json_is_string(enc))
        return aw_err_set(err, AW_EINVAL, "jwe: header 'enc' is missing or not a string");
    if (strcmp(json_string_value(enc), JWE_ENC) != 0)
        return aw_err_set(err, AW_EUNSUPPORTED,
                          "jwe: enc '%.40s' is not supported; only " JWE_ENC " is accepted",
                          json_string_value(enc));
    json_t *zip = json_object_get(h, "zip");
    if (zip) {
        if (!json_is_string(zip) || strcmp(json_string_value(zip), "DEF") != 0)
            return aw_err_set(err, AW_EUNSUPPORTED, "jwe: zip must be \"DEF\" when present");
        info->zip = true;
    }
    json_t *kid = json_object_get(h, "kid"), *cty = json_object_get(h, "cty");
    if (kid && !json_is_string(kid))
        return aw_err_set(err, AW_EINVAL, "jwe: header 'kid' must be a string");
    if (cty && !json_is_string(cty))
        return aw_err_set(err, AW_EINVAL, "jwe: header 'cty' must be a string");
    info->kid = json_string_value(kid);
    info->cty = json_string_value(cty);
    return 0;
}

static int inspect_parts(const char *compact, size_t len, size_t max_len, aw_jose__part_t *p,
                         aw_jwe_info_t *info, aw_err_t *err) {
    memset(info, 0, sizeof *info);
    if (max_len == 0) max_len = AW_JWE_DEFAULT_MAX + (1u << 20);
    if (len > max_len)
        return aw_err_set(err, AW_ETOOBIG, "jwe: token of %zu bytes exceeds the limit of %zu", len,
                          max_len);
    int rc = aw_jose__split(compact, len, 5, p, "jwe", err);
    if (rc) return rc;
    if ((rc = aw_jose__parse_header(&p[0], &info->header, "jwe", err)) != 0) return rc;
    if ((rc = check_header(info->header, info, err)) != 0) goto fail;
    size_t eklen, ivlen, taglen;
    if (b64_check_len(p[1].p, p[1].n, &eklen) || eklen < AW_JWK_MIN_BITS / 8 ||
        eklen > AW_JWK_MAX_BITS / 8) {
        rc = aw_err_set(err, AW_EINVAL, "jwe: encrypted key is not %d..%d bytes of base64url",
                        AW_JWK_MIN_BITS / 8, AW_JWK_MAX_BITS / 8);
        goto fail;
    }
    if (b64_check_len(p[2].p, p[2].n, &ivlen) || ivlen != 12) {
        rc = aw_err_set(err, AW_EINVAL, "jwe: initialization vector must be 12 bytes (A256GCM)");
        goto fail;
    }
    if (b64_check_len(p[3].p, p[3].n, &info->ciphertext_len)) {
        rc = aw_err_set(err, AW_EINVAL, "jwe: ciphertext is not valid base64url");
        goto fail;
    }
    unsigned char rawtag[16];
    if (p[4].n != AW_JWE_TAG_LEN || aw_b64url_decode(p[4].p, p[4].n, rawtag, &taglen) != 0 ||
        taglen != 16) {
        rc = aw_err_set(err, AW_EINVAL, "jwe: authentication tag must be 16 bytes (A256GCM)");
        goto fail;
    }
    memcpy(info->tag, p[4].p, AW_JWE_TAG_LEN);
    info->tag[AW_JWE_TAG_LEN] = 0;
    return 0;
fail:
    aw_jwe_info_free(info);
    return rc;
}

int aw_jwe_inspect(const char *compact, size_t len, size_t max_len, aw_jwe_info_t *info,
                   aw_err_t *err) {
    aw_jose__part_t p[5];
    return inspect_parts(compact, len, max_len, p, info, err);
}

void aw_jwe_opened_free(aw_jwe_opened_t *o) {
    if (!o) return;
    if (o->plaintext) {
        aw_secure_wipe(o->plaintext, o->len + 1);
        free(o->plaintext);
    }
    aw_jwe_info_free(&o->info);
    memset(o, 0, sizeof *o);
}

/* Raw DEFLATE (RFC 1951) into a fresh buffer of at most max bytes; every
 * intermediate buffer is wiped. */
static int inflate_bounded(const unsigned char *in, size_t inlen, size_t max, unsigned char **out,
                           size_t *outlen, aw_err_t *err) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -15) != Z_OK) return aw_err_set(err, AW_ENOMEM, "jwe: zlib init failed");
    size_t cap = inlen * 4 + 64;
    if (cap > max + 1) cap = max + 1;
    unsigned char *buf = malloc(cap + 1);
    size_t len = 0;
    int rc = 0;
    if (!buf) {
        rc = aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
        goto done;
    }
    z.next_in = (unsigned char *)in;
    for (;;) {
        if (z.avail_in == 0 && inlen > 0) {
            uInt chunk = inlen > (1u << 30) ? (1u << 30) : (uInt)inlen;
            z.avail_in = chunk;
            inlen -= chunk;
        }
        if (len == cap) {
            if (cap > max) {
                rc = aw_err_set(err, AW_ETOOBIG, "jwe: inflated plaintext exceeds %zu bytes", max);
                goto done;
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            unsigned char *nb = malloc(ncap + 1);
            if (!nb) {
                rc = aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
                goto done;
            }
            memcpy(nb, buf, len);
            aw_secure_wipe(buf, len);
            free(buf);
            buf = nb, cap = ncap;
        }
        size_t room = cap - len;
        if (room > (1u << 30)) room = 1u << 30;
        z.next_out = buf + len;
        z.avail_out = (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        len += room - z.avail_out;
        if (zr == Z_STREAM_END) {
            if (z.avail_in != 0 || inlen != 0) {
                rc = aw_err_set(err, AW_EINVAL, "jwe: data after the end of the DEFLATE stream");
                goto done;
            }
            break;
        }
        if (zr == Z_BUF_ERROR && z.avail_in == 0 && inlen == 0) {
            rc = aw_err_set(err, AW_EINVAL, "jwe: zip DEF content is truncated");
            goto done;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = aw_err_set(err, AW_EINVAL, "jwe: zip DEF content is not valid raw DEFLATE");
            goto done;
        }
    }
    if (len > max) {
        rc = aw_err_set(err, AW_ETOOBIG, "jwe: inflated plaintext exceeds %zu bytes", max);
        goto done;
    }
    buf[len] = 0;
    *out = buf, *outlen = len, buf = NULL;
done:
    inflateEnd(&z);
    if (buf) {
        aw_secure_wipe(buf, len);
        free(buf);
    }
    return rc;
}

int aw_jwe_open(const aw_jwk_t *key, const char *compact, size_t len, size_t max_plaintext,
                aw_jwe_opened_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!key) return aw_err_set(err, AW_EINVAL, "jwe: no key");
    if (max_plaintext == 0) max_plaintext = AW_JWE_DEFAULT_MAX;
    if (max_plaintext > ((size_t)1 << 40)) max_plaintext = (size_t)1 << 40; /* no overflow below */
    /* Compressed content may be slightly larger than what it inflates to. */
    size_t max_ct = max_plaintext + max_plaintext / 64 + 1024;
    size_t max_len = max_ct / 3 * 4 + 8 + AW_JOSE_MAX_HEADER + 4096;
    aw_jose__part_t p[5];
    int rc = inspect_parts(compact, len, max_len, p, &out->info, err);
    if (rc) return rc;
    aw_jwe_info_t *info = &out->info;
    unsigned char *ek = NULL, *iv = NULL, *ct = NULL, *tagb = NULL, *pt = NULL;
    size_t eklen, ivlen, ctlen, taglen;
    if (!aw_jwk_is_private(key)) {
        rc = aw_err_set(err, AW_EINVAL, "jwe: decrypting needs the private key");
        goto fail;
    }
    if (info->kid && aw_jwk_kid(key) && strcmp(info->kid, aw_jwk_kid(key)) != 0) {
        rc = aw_err_set(err, AW_ECRYPTO, "jwe: token is encrypted for key '%.64s', not '%.64s'",
                        info->kid, aw_jwk_kid(key));
        goto fail;
    }
    if (!info->zip && info->ciphertext_len > max_plaintext) {
        rc = aw_err_set(err, AW_ETOOBIG, "jwe: plaintext of %zu bytes exceeds the limit of %zu",
                        info->ciphertext_len, max_plaintext);
        goto fail;
    }
    if (info->zip && info->ciphertext_len > max_ct) {
        rc = aw_err_set(err, AW_ETOOBIG, "jwe: compressed content exceeds the limit");
        goto fail;
    }
    if ((rc = aw_jose__b64_decode(p[1].p, p[1].n, &ek, &eklen, "jwe: encrypted key", err)) ||
        (rc = aw_jose__b64_decode(p[2].p, p[2].n, &iv, &ivlen, "jwe: iv", err)) ||
        (rc = aw_jose__b64_decode(p[3].p, p[3].n, &ct, &ctlen, "jwe: ciphertext", err)) ||
        (rc = aw_jose__b64_decode(p[4].p, p[4].n, &tagb, &taglen, "jwe: tag", err)))
        goto fail;
    unsigned char cek[AW_JWK_MAX_BITS / 8];
    size_t ceklen = sizeof cek;
    unsigned char fake[32];
    /* RFC 7516 §11.5: on unwrap failure go on with a random CEK so the
     * failure looks exactly like a tag mismatch. */
    if (RAND_bytes(fake, sizeof fake) != 1) {
        rc = aw_err_set(err, AW_ECRYPTO, "jwe: random generator failed");
        goto fail;
    }
    if (aw_jose__rsa_oaep_decrypt(aw_jwk_pkey(key), EVP_sha256(), ek, eklen, cek, &ceklen) != 0 ||
        ceklen != 32) {
        memcpy(cek, fake, 32);
    }
    aw_secure_wipe(fake, sizeof fake);
    pt = malloc(ctlen + 1);
    if (!pt) {
        aw_secure_wipe(cek, sizeof cek);
        rc = aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
        goto fail;
    }
    rc = aw_jose__gcm_decrypt(cek, iv, (const unsigned char *)p[0].p, p[0].n, ct, ctlen, tagb, pt);
    aw_secure_wipe(cek, sizeof cek);
    if (rc) {
        rc = aw_err_set(err, AW_ECRYPTO,
                        "jwe: decryption failed (wrong key, or the token was altered)");
        goto fail;
    }
    if (info->zip) {
        unsigned char *inflated = NULL;
        size_t ilen = 0;
        rc = inflate_bounded(pt, ctlen, max_plaintext, &inflated, &ilen, err);
        aw_secure_wipe(pt, ctlen);
        free(pt);
        pt = NULL;
        if (rc) goto fail;
        out->plaintext = inflated;
        out->len = ilen;
    } else {
        pt[ctlen] = 0;
        out->plaintext = pt;
        out->len = ctlen;
        pt = NULL;
    }
    free(ek);
    free(iv);
    free(ct);
    free(tagb);
    return 0;
fail:
    free(ek);
    free(iv);
    free(ct);
    free(tagb);
    if (pt) free(pt); /* only reached before decryption wrote into it, or already wiped */
    aw_jwe_info_free(&out->info);
    return rc;
}

/* ---- streaming ------------------------------------------------------------ */

#define CHUNK_CHARS 4096 /* base64url characters per decode step (multiple of 4) */
#define ZOUT        16384

struct aw_jwe_stream {
    const aw_jwk_t *key;
    const aw_jwk_t *const *keys; /* aw_jwe_stream_new_keys: key is picked by kid */
    size_t nkeys;
    size_t max_len, max_pt, total, ct_len, pt_len;
    aw_jwe_sink_fn sink;
    void *ctx;
    int part;   /* 0 header, 1 key, 2 iv, 3 ciphertext, 4 tag */
    int failed; /* sticky error code */
    aw_buf_t hdr, ek, iv, tag;
    char chunk[CHUNK_CHARS];
    size_t chunk_len;
    aw_jwe_info_t info; /* header parsed at the start of part 3 */
    EVP_CIPHER_CTX *gcm;
    bool zip, zip_end;
    z_stream z;
    bool z_init;
    aw_err_t err; /* the sticky error's message */
};

static int stream_fail(aw_jwe_stream_t *s, aw_err_t *err, int code, const char *msg) {
    if (!s->failed) {
        s->failed = code;
        aw_err_set(&s->err, code, "jwe: %s", msg);
    }
    if (err) *err = s->err;
    return s->failed;
}

int aw_jwe_stream_new(const aw_jwk_t *key, size_t max_len, size_t max_plaintext,
                      aw_jwe_sink_fn sink, void *ctx, aw_jwe_stream_t **out, aw_err_t *err) {
    *out = NULL;
    if (key && !aw_jwk_is_private(key))
        return aw_err_set(err, AW_EINVAL, "jwe: decrypting needs the private key");
    if (key && !sink) return aw_err_set(err, AW_EINVAL, "jwe: decrypting needs a sink");
    aw_jwe_stream_t *s = calloc(1, sizeof *s);
    if (!s) return aw_err_set(err, AW_ENOMEM, "jwe: out of memory");
    s->key = key;
    s->max_len = max_len;
    s->max_pt = max_plaintext;
    s->sink = sink;
    s->ctx = ctx;
    s->hdr.max = AW_JOSE_MAX_HEADER;
    s->ek.max = (AW_JWK_MAX_BITS / 8) * 4 / 3 + 4;
    s->iv.max = 16;
    s->tag.max = AW_JWE_TAG_LEN;
    *out = s;
    return 0;
}

const aw_jwk_t *aw_jwe_pick_key(const aw_jwk_t *const *keys, size_t n, const char *kid) {
    if (n == 0) return NULL;
    if (!kid) return keys[0];
    for (size_t i = 0; i < n; i++)
        if (aw_jwk_kid(keys[i]) && strcmp(aw_jwk_kid(keys[i]), kid) == 0) return keys[i];
    /* a key without kid stands for any (as aw_jwe_open treats it) */
    for (size_t i = 0; i < n; i++)
        if (!aw_jwk_kid(keys[i])) return keys[i];
    return NULL;
}

int aw_jwe_stream_new_keys(const aw_jwk_t *const *keys, size_t n, size_t max_len,
                           size_t max_plaintext, aw_jwe_sink_fn sink, void *ctx,
                           aw_jwe_stream_t **out, aw_err_t *err) {
    *out = NULL;
    if (n == 0) return aw_err_set(err, AW_EINVAL, "jwe: no key to decrypt with");
    for (size_t i = 0; i < n; i++)
        if (!keys[i] || !aw_jwk_is_private(keys[i]))
            return aw_err_set(err, AW_EINVAL, "jwe: decrypting needs private keys");
    int rc = aw_jwe_stream_new(keys[0], max_len, max_plaintext, sink, ctx, out, err);
    if (rc == 0) {
        (*out)->keys = keys;
        (*out)->nkeys = n;
    }
    return rc;
}

size_t aw_jwe_stream_plaintext_len(const aw_jwe_stream_t *s) {
    return s->pt_len;
}

void aw_jwe_stream_free(aw_jwe_stream_t *s) {
    if (!s) return;
    aw_buf_free(&s->hdr);
    aw_buf_free(&s->ek);
    aw_buf_free(&s->iv);
    aw_buf_free(&s->tag);
    aw_jwe_info_free(&s->info);
    EVP_CIPHER_CTX_free(s->gcm);
    if (s->z_init) inflateEnd(&s->z);
    aw_secure_wipe(s, sizeof *s);
    free(s);
}

static int deliver(aw_jwe_stream_t *s, unsigned char *p, size_t n, aw_err_t *err) {
    if (n == 0) return 0;
    s->pt_len += n;
    if (s->max_pt && s->pt_len > s->max_pt) {
        char m[96];
        snprintf(m, sizeof m, "plaintext exceeds the limit of %zu bytes", s->max_pt);
        return stream_fail(s, err, AW_ETOOBIG, m);
    }
    int rc = s->sink(s->ctx, p, n);
    aw_secure_wipe(p, n);
    if (rc != 0) return stream_fail(s, err, AW_EIO, "the plaintext sink failed");
    return 0;
}

/* Decrypted (unauthenticated) content → inflate when zip → sink. */
static int content(aw_jwe_stream_t *s, unsigned char *p, size_t n, aw_err_t *err) {
    if (!s->zip) return deliver(s, p, n, err);
    unsigned char out[ZOUT];
    s->z.next_in = p;
    s->z.avail_in = (uInt)n;
    while (s->z.avail_in > 0) {
        if (s->zip_end)
            return stream_fail(s, err, AW_EINVAL, "data after the end of the DEFLATE stream");
        s->z.next_out = out;
        s->z.avail_out = sizeof out;
        int zr = inflate(&s->z, Z_NO_FLUSH);
        size_t got = sizeof out - s->z.avail_out;
        if (zr == Z_STREAM_END)
            s->zip_end = true;
        else if (zr != Z_OK && !(zr == Z_BUF_ERROR && got == 0)) {
            aw_secure_wipe(out, sizeof out);
            return stream_fail(s, err, AW_EINVAL, "zip DEF content is not valid raw DEFLATE");
        }
        int rc = deliver(s, out, got, err);
        if (rc) return rc;
        if (zr == Z_BUF_ERROR) break;
    }
    return 0;
}

static int ciphertext_chunk(aw_jwe_stream_t *s, aw_err_t *err) {
    unsigned char raw[CHUNK_CHARS / 4 * 3 + 4];
    size_t n;
    if (aw_b64url_decode(s->chunk, s->chunk_len, raw, &n) != 0)
        return stream_fail(s, err, AW_EINVAL, "ciphertext is not valid base64url");
    s->chunk_len = 0;
    s->ct_len += n;
    if (!s->gcm) return 0;
    unsigned char pt[sizeof raw + 16];
    int len = 0;
    if (EVP_DecryptUpdate(s->gcm, pt, &len, raw, (int)n) != 1)
        return stream_fail(s, err, AW_ECRYPTO, "A256GCM decryption failed");
    int rc = content(s, pt, (size_t)len, err);
    aw_secure_wipe(pt, sizeof pt);
    return rc;
}

/* Called at the '.' that ends the IV: header, key and IV are complete. */
static int begin_content(aw_jwe_stream_t *s, aw_err_t *err) {
    aw_err_t e = {0};
    aw_jose__part_t hp = {s->hdr.data ? s->hdr.data : "", s->hdr.len};
    int rc = aw_jose__parse_header(&hp, &s->info.header, "jwe", &e);
    if (rc == 0) rc = check_header(s->info.header, &s->info, &e);
    if (rc) {
        s->failed = rc;
        s->err = e;
        if (err) *err = e;
        return rc;
    }
    s->zip = s->info.zip;
    unsigned char ek[AW_JWK_MAX_BITS / 8 + 8], iv[16];
    size_t eklen, ivlen;
    if (s->ek.len == 0 || aw_b64url_decode(s->ek.data, s->ek.len, ek, &eklen) != 0 ||
        eklen < AW_JWK_MIN_BITS / 8 || eklen > AW_JWK_MAX_BITS / 8)
        return stream_fail(s, err, AW_EINVAL, "encrypted key is not 256..1024 bytes of base64url");
    if (s->iv.len == 0 || aw_b64url_decode(s->iv.data, s->iv.len, iv, &ivlen) != 0 || ivlen != 12)
        return stream_fail(s, err, AW_EINVAL, "initialization vector must be 12 bytes (A256GCM)");
    if (s->zip) {
        if (inflateInit2(&s->z, -15) != Z_OK)
            return stream_fail(s, err, AW_ENOMEM, "zlib init failed");
        s->z_init = true;
    }
    if (!s->key) return 0;
    if (s->nkeys) {
        s->key = aw_jwe_pick_key(s->keys, s->nkeys, s->info.kid);
        if (!s->key) {
            aw_err_set(&s->err, AW_ENOTFOUND,
                       "jwe: token is encrypted for key '%.64s', which is not among the %zu "
                       "key(s) given",
                       s->info.kid, s->nkeys);
            s->failed = AW_ENOTFOUND;
            if (err) *err = s->err;
            return AW_ENOTFOUND;
        }
    }
    if (s->info.kid && aw_jwk_kid(s->key) && strcmp(s->info.kid, aw_jwk_kid(s->key)) != 0) {
        aw_err_set(&s->err, AW_ECRYPTO, "jwe: token is encrypted for key '%.64s', not '%.64s'",
                   s->info.kid, aw_jwk_kid(s->key));
        s->failed = AW_ECRYPTO;
        if (err) *err = s->err;
        return AW_ECRYPTO;
    }
    unsigned char cek[AW_JWK_MAX_BITS / 8], fake[32];
    size_t ceklen = sizeof cek;
    if (RAND_bytes(fake, sizeof fake) != 1)
        return stream_fail(s, err, AW_ECRYPTO, "random generator failed");
    if (aw_jose__rsa_oaep_decrypt(aw_jwk_pkey(s->key), EVP_sha256(), ek, eklen, cek, &ceklen) !=
            0 ||
        ceklen != 32)
        memcpy(cek, fake, 32); /* RFC 7516 §11.5 */
    aw_secure_wipe(fake, sizeof fake);
    s->gcm = EVP_CIPHER_CTX_new();
    int len;
    bool ok = s->gcm && EVP_DecryptInit_ex(s->gcm, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1 &&
              EVP_DecryptInit_ex(s->gcm, NULL, NULL, cek, iv) == 1 &&
              EVP_DecryptUpdate(s->gcm, NULL, &len, (const unsigned char *)hp.p, (int)hp.n) == 1;
    aw_secure_wipe(cek, sizeof cek);
    if (!ok) return stream_fail(s, err, AW_ECRYPTO, "A256GCM init failed");
    return 0;
}

int aw_jwe_stream_feed(aw_jwe_stream_t *s, const void *data, size_t n, aw_err_t *err) {
    if (s->failed) return stream_fail(s, err, s->failed, "");
    if (s->max_len && n > s->max_len - s->total) {
        char m[96];
        snprintf(m, sizeof m, "token exceeds the limit of %zu bytes", s->max_len);
        return stream_fail(s, err, AW_ETOOBIG, m);
    }
    s->total += n;
    const char *p = data;
    for (size_t i = 0; i < n; i++) {
        if (s->part == 3) {
            /* Bulk path for the (possibly huge) ciphertext. */
            const char *dot = memchr(p + i, '.', n - i);
            size_t run = dot ? (size_t)(dot - (p + i)) : n - i;
            while (run > 0) {
                size_t take = CHUNK_CHARS - s->chunk_len;
                if (take > run) take = run;
                memcpy(s->chunk + s->chunk_len, p + i, take);
                s->chunk_len += take, i += take, run -= take;
                if (s->chunk_len == CHUNK_CHARS && ciphertext_chunk(s, err) != 0) return s->failed;
            }
            if (i == n) break;
        }
        char c = p[i];
        if (c == '.') {
            if (s->part == 4)
                return stream_fail(s, err, AW_EINVAL,
                                   "compact serialisation needs exactly 5 parts, found more");
            if (s->part == 2 && begin_content(s, err) != 0) return s->failed;
            if (s->part == 3 && s->chunk_len && ciphertext_chunk(s, err) != 0) return s->failed;
            s->part++;
            continue;
        }
        if (s->part == 3) {
            s->chunk[s->chunk_len++] = c;
            if (s->chunk_len == CHUNK_CHARS && ciphertext_chunk(s, err) != 0) return s->failed;
            continue;
        }
        aw_buf_t *b = s->part == 0   ? &s->hdr
                      : s->part == 1 ? &s->ek
                      : s->part == 2 ? &s->iv
                                     : &s->tag;
        aw_buf_putc(b, c);
        if (!aw_buf_ok(b)) {
            static const char *const what[] = {"protected header", "encrypted key", "iv", "",
                                               "authentication tag"};
            char m[96];
            snprintf(m, sizeof m, "%s is too long", what[s->part]);
            return stream_fail(s, err, s->part == 0 ? AW_ETOOBIG : AW_EINVAL, m);
        }
    }
    return 0;
}

int aw_jwe_stream_finish(aw_jwe_stream_t *s, aw_jwe_info_t *info, aw_err_t *err) {
    memset(info, 0, sizeof *info);
    if (s->failed) return stream_fail(s, err, s->failed, "");
    if (s->part != 4) {
        char m[96];
        snprintf(m, sizeof m, "compact serialisation needs exactly 5 parts, found %d (truncated?)",
                 s->part + 1);
        return stream_fail(s, err, AW_EINVAL, m);
    }
    unsigned char rawtag[24];
    size_t taglen;
    if (s->tag.len != AW_JWE_TAG_LEN ||
        aw_b64url_decode(s->tag.data, s->tag.len, rawtag, &taglen) != 0 || taglen != 16)
        return stream_fail(s, err, AW_EINVAL, "authentication tag must be 16 bytes (A256GCM)");
    if (s->gcm) {
        unsigned char fin[16];
        int len = 0;
        if (EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_GCM_SET_TAG, 16, rawtag) != 1 ||
            EVP_DecryptFinal_ex(s->gcm, fin, &len) != 1) {
            ERR_clear_error();
            return stream_fail(s, err, AW_ECRYPTO,
                               "decryption failed (wrong key, or the token was altered); discard "
                               "the plaintext received so far");
        }
        if (s->zip && !s->zip_end)
            return stream_fail(s, err, AW_EINVAL, "zip DEF content is truncated");
    }
    s->info.ciphertext_len = s->ct_len;
    memcpy(s->info.tag, s->tag.data, AW_JWE_TAG_LEN);
    s->info.tag[AW_JWE_TAG_LEN] = 0;
    *info = s->info;
    memset(&s->info, 0, sizeof s->info);
    s->failed = AW_ESTATE; /* finished: no more feeding */
    aw_err_set(&s->err, AW_ESTATE, "jwe: stream already finished");
    return 0;
}
