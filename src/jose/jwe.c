/* JWE compact, RSA-OAEP-256 + A256GCM only, on OpenSSL EVP; zip DEF
 * inflated with zlib on open (bounded), never produced. */
#include "jose/jwe.h"

#include <stdlib.h>
#include <string.h>

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
