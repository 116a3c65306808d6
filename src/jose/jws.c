/* JWS compact with RSASSA-PSS (PS512; PS384/PS256 on request) via EVP. */
#include "jose/jws.h"

#include <stdlib.h>
#include <string.h>

#include "base/b64.h"
#include "jose/internal.h"

static const EVP_MD *pss_md(const char *alg) {
    if (strcmp(alg, "PS512") == 0) return EVP_sha512();
    if (strcmp(alg, "PS384") == 0) return EVP_sha384();
    if (strcmp(alg, "PS256") == 0) return EVP_sha256();
    return NULL;
}

static void append_b64(aw_buf_t *b, const void *data, size_t n) {
    if (aw_buf_reserve(b, aw_b64url_enclen(n) + 1) != 0) {
        b->oom = true;
        return;
    }
    b->len += aw_b64url_encode(data, n, b->data + b->len);
}

int aw_jws_sign(const aw_jwk_t *key, const char *typ, const void *payload, size_t len,
                aw_buf_t *out, aw_err_t *err) {
    if (!key) return aw_err_set(err, AW_EINVAL, "jws: no key");
    if (!aw_jwk_is_private(key))
        return aw_err_set(err, AW_EINVAL, "jws: signing needs the private key");
    aw_buf_t hdr = AW_BUF_INIT;
    aw_buf_puts(&hdr, "{\"alg\":\"PS512\"");
    if (typ) {
        aw_buf_puts(&hdr, ",\"typ\":\"");
        aw_buf_json_str(&hdr, typ, strlen(typ));
        aw_buf_putc(&hdr, '"');
    }
    if (aw_jwk_kid(key)) {
        aw_buf_puts(&hdr, ",\"kid\":\"");
        aw_buf_json_str(&hdr, aw_jwk_kid(key), strlen(aw_jwk_kid(key)));
        aw_buf_putc(&hdr, '"');
    }
    aw_buf_putc(&hdr, '}');
    size_t start = out->len;
    append_b64(out, hdr.data, hdr.len);
    aw_buf_putc(out, '.');
    append_b64(out, payload, len);
    bool ok = aw_buf_ok(&hdr) && aw_buf_ok(out);
    aw_buf_free(&hdr);
    if (!ok) return aw_err_set(err, AW_ENOMEM, "jws: out of memory");
    unsigned char *sig;
    size_t siglen;
    if (aw_jose__pss_sign(aw_jwk_pkey(key), EVP_sha512(), out->data + start, out->len - start, &sig,
                          &siglen) != 0) {
        out->len = start;
        out->data[start] = 0;
        return aw_err_set(err, AW_ECRYPTO, "jws: PS512 signing failed");
    }
    aw_buf_putc(out, '.');
    append_b64(out, sig, siglen);
    free(sig);
    if (!aw_buf_ok(out)) return aw_err_set(err, AW_ENOMEM, "jws: out of memory");
    return 0;
}

void aw_jws_verified_free(aw_jws_verified_t *v) {
    if (!v) return;
    json_decref(v->header);
    free(v->payload);
    memset(v, 0, sizeof *v);
}

static int split_and_header(const char *compact, size_t len, size_t max_len, aw_jose__part_t *p,
                            json_t **header, aw_err_t *err) {
    if (max_len == 0) max_len = AW_JWS_DEFAULT_MAX;
    if (len > max_len)
        return aw_err_set(err, AW_ETOOBIG, "jws: token of %zu bytes exceeds the limit of %zu", len,
                          max_len);
    int rc = aw_jose__split(compact, len, 3, p, "jws", err);
    if (rc) return rc;
    return aw_jose__parse_header(&p[0], header, "jws", err);
}

int aw_jws_peek_header(const char *compact, size_t len, size_t max_len, json_t **header,
                       aw_err_t *err) {
    aw_jose__part_t p[3];
    *header = NULL;
    return split_and_header(compact, len, max_len, p, header, err);
}

int aw_jws_verify(const aw_jwk_t *key, const char *compact, size_t len,
                  const aw_jws_verify_opts_t *opts, aw_jws_verified_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!key) return aw_err_set(err, AW_EINVAL, "jws: no key");
    const char *want = opts && opts->alg ? opts->alg : "PS512";
    const EVP_MD *md = pss_md(want);
    if (!md) return aw_err_set(err, AW_EUNSUPPORTED, "jws: alg '%s' is not supported", want);
    aw_jose__part_t p[3];
    json_t *h = NULL;
    unsigned char *sig = NULL, *payload = NULL;
    size_t siglen, plen;
    int rc = split_and_header(compact, len, opts ? opts->max_len : 0, p, &h, err);
    if (rc) return rc;
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg)) {
        rc = aw_err_set(err, AW_EINVAL, "jws: header 'alg' is missing or not a string");
        goto fail;
    }
    if (strcmp(json_string_value(alg), want) != 0) {
        rc = aw_err_set(err, AW_EUNSUPPORTED, "jws: alg '%.40s' is not accepted; expected %s",
                        json_string_value(alg), want);
        goto fail;
    }
    json_t *b64 = json_object_get(h, "b64");
    if (b64 && !json_is_true(b64)) {
        rc = aw_err_set(err, AW_EUNSUPPORTED, "jws: unencoded payloads (b64: false) are refused");
        goto fail;
    }
    json_t *kid = json_object_get(h, "kid");
    if (kid && !json_is_string(kid)) {
        rc = aw_err_set(err, AW_EINVAL, "jws: header 'kid' must be a string");
        goto fail;
    }
    if (kid && aw_jwk_kid(key) && strcmp(json_string_value(kid), aw_jwk_kid(key)) != 0) {
        rc = aw_err_set(err, AW_ECRYPTO, "jws: token is signed with key '%.64s', not '%.64s'",
                        json_string_value(kid), aw_jwk_kid(key));
        goto fail;
    }
    if ((rc = aw_jose__b64_decode(p[2].p, p[2].n, &sig, &siglen, "jws: signature", err)) != 0)
        goto fail;
    if ((rc = aw_jose__b64_decode(p[1].p, p[1].n, &payload, &plen, "jws: payload", err)) != 0)
        goto fail;
    /* The signing input is the first two parts exactly as received. */
    if (aw_jose__pss_verify(aw_jwk_pkey(key), md, p[0].p, p[1].p + p[1].n - p[0].p, sig, siglen) !=
        0) {
        rc = aw_err_set(err, AW_ECRYPTO, "jws: %s signature does not verify", want);
        goto fail;
    }
    free(sig);
    payload[plen] = 0;
    out->header = h;
    out->payload = payload;
    out->payload_len = plen;
    return 0;
fail:
    json_decref(h);
    free(sig);
    free(payload);
    return rc;
}
