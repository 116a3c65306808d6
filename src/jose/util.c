/* Shared JOSE primitives: compact splitting, strict decoding, AES-GCM,
 * RSA-OAEP and RSA-PSS through EVP (no deprecated RSA_* calls). */
#include "jose/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "base/b64.h"
#include "base/secure.h"

int aw_jose__split(const char *s, size_t len, int want, aw_jose__part_t *parts, const char *what,
                   aw_err_t *err) {
    if (!s || len == 0) return aw_err_set(err, AW_EINVAL, "%s: empty token", what);
    /* memchr, not a byte loop: tokens are kilobytes to megabytes */
    if (memchr(s, '\0', len))
        return aw_err_set(err, AW_EINVAL, "%s: NUL byte inside the token", what);
    int k = 0;
    const char *p = s, *end = s + len;
    for (;;) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot ? dot : end;
        if (k == want)
            return aw_err_set(err, AW_EINVAL,
                              "%s: compact serialisation needs exactly %d parts, found more", what,
                              want);
        parts[k].p = p;
        parts[k].n = (size_t)(stop - p);
        k++;
        if (!dot) break;
        p = dot + 1;
    }
    if (k != want)
        return aw_err_set(err, AW_EINVAL,
                          "%s: compact serialisation needs exactly %d parts, found %d (truncated?)",
                          what, want, k);
    return 0;
}

int aw_jose__b64_decode(const char *in, size_t n, unsigned char **out, size_t *outlen,
                        const char *what, aw_err_t *err) {
    unsigned char *b = malloc(aw_b64_declen(n) + 1);
    if (!b) return aw_err_set(err, AW_ENOMEM, "%s: out of memory", what);
    if (aw_b64url_decode(in, n, b, outlen) != 0) {
        free(b);
        return aw_err_set(err, AW_EINVAL, "%s: not valid base64url (RFC 4648 §5, no padding)",
                          what);
    }
    *out = b;
    return 0;
}

int aw_jose__parse_object(const char *s, size_t n, json_t **out, const char *what, aw_err_t *err) {
    json_error_t je;
    json_t *j = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    if (!j) return aw_err_set(err, AW_EINVAL, "%s: invalid JSON: %s", what, je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return aw_err_set(err, AW_EINVAL, "%s: must be a JSON object", what);
    }
    *out = j;
    return 0;
}

int aw_jose__parse_header(const aw_jose__part_t *part, json_t **out, const char *what,
                          aw_err_t *err) {
    if (part->n == 0) return aw_err_set(err, AW_EINVAL, "%s: protected header is empty", what);
    if (part->n > AW_JOSE_MAX_HEADER)
        return aw_err_set(err, AW_ETOOBIG, "%s: protected header longer than %d characters", what,
                          AW_JOSE_MAX_HEADER);
    unsigned char *raw;
    size_t rawlen;
    char ctx[96];
    snprintf(ctx, sizeof ctx, "%s: protected header", what);
    int rc = aw_jose__b64_decode(part->p, part->n, &raw, &rawlen, ctx, err);
    if (rc) return rc;
    rc = aw_jose__parse_object((const char *)raw, rawlen, out, ctx, err);
    free(raw);
    if (rc == 0 && json_object_get(*out, "crit")) {
        json_decref(*out);
        *out = NULL;
        return aw_err_set(err, AW_EUNSUPPORTED,
                          "%s: header parameter 'crit' names extensions we do not support", what);
    }
    return rc;
}

int aw_jose__gcm_encrypt(const unsigned char key[32], const unsigned char iv[12],
                         const unsigned char *aad, size_t aadlen, const unsigned char *pt,
                         size_t ptlen, unsigned char *ct, unsigned char tag[16]) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return AW_ENOMEM;
    int rc = AW_ECRYPTO, len = 0;
    if (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1) goto done;
    if (EVP_EncryptInit_ex(c, NULL, NULL, key, iv) != 1) goto done;
    while (aadlen > 0) {
        int chunk = aadlen > (1u << 30) ? (1 << 30) : (int)aadlen;
        if (EVP_EncryptUpdate(c, NULL, &len, aad, chunk) != 1) goto done;
        aad += chunk, aadlen -= (size_t)chunk;
    }
    while (ptlen > 0) {
        int chunk = ptlen > (1u << 30) ? (1 << 30) : (int)ptlen;
        if (EVP_EncryptUpdate(c, ct, &len, pt, chunk) != 1) goto done;
        pt += chunk, ct += len, ptlen -= (size_t)chunk;
    }
    if (EVP_EncryptFinal_ex(c, ct, &len) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1) goto done;
    rc = 0;
done:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int aw_jose__gcm_decrypt(const unsigned char key[32], const unsigned char iv[12],
                         const unsigned char *aad, size_t aadlen, const unsigned char *ct,
                         size_t ctlen, const unsigned char tag[16], unsigned char *pt) {
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (!c) return AW_ENOMEM;
    int rc = AW_ECRYPTO, len = 0;
    unsigned char *pt0 = pt;
    size_t total = ctlen;
    unsigned char tagcopy[16];
    memcpy(tagcopy, tag, 16);
    if (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) goto done;
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) != 1) goto done;
    if (EVP_DecryptInit_ex(c, NULL, NULL, key, iv) != 1) goto done;
    while (aadlen > 0) {
        int chunk = aadlen > (1u << 30) ? (1 << 30) : (int)aadlen;
        if (EVP_DecryptUpdate(c, NULL, &len, aad, chunk) != 1) goto done;
        aad += chunk, aadlen -= (size_t)chunk;
    }
    while (ctlen > 0) {
        int chunk = ctlen > (1u << 30) ? (1 << 30) : (int)ctlen;
        if (EVP_DecryptUpdate(c, pt, &len, ct, chunk) != 1) goto done;
        ct += chunk, pt += len, ctlen -= (size_t)chunk;
    }
    if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, tagcopy) != 1) goto done;
    if (EVP_DecryptFinal_ex(c, pt, &len) != 1) goto done;
    rc = 0;
done:
    if (rc) {
        aw_secure_wipe(pt0, total);
        ERR_clear_error();
    }
    EVP_CIPHER_CTX_free(c);
    return rc;
}

static EVP_PKEY_CTX *oaep_ctx(EVP_PKEY *pkey, const EVP_MD *md, int decrypt) {
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!c) return NULL;
    int ok = decrypt ? EVP_PKEY_decrypt_init(c) : EVP_PKEY_encrypt_init(c);
    if (ok != 1 || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(c, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) != 1) {
        EVP_PKEY_CTX_free(c);
        return NULL;
    }
    return c;
}

int aw_jose__rsa_oaep_encrypt(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *in,
                              size_t inlen, unsigned char *out, size_t *outlen) {
    EVP_PKEY_CTX *c = oaep_ctx(pkey, md, 0);
    if (!c) return AW_ECRYPTO;
    int rc = EVP_PKEY_encrypt(c, out, outlen, in, inlen) == 1 ? 0 : AW_ECRYPTO;
    EVP_PKEY_CTX_free(c);
    return rc;
}

int aw_jose__rsa_oaep_decrypt(EVP_PKEY *pkey, const EVP_MD *md, const unsigned char *in,
                              size_t inlen, unsigned char *out, size_t *outlen) {
    EVP_PKEY_CTX *c = oaep_ctx(pkey, md, 1);
    if (!c) return AW_ECRYPTO;
    int rc = EVP_PKEY_decrypt(c, out, outlen, in, inlen) == 1 ? 0 : AW_ECRYPTO;
    EVP_PKEY_CTX_free(c);
    /* Failures are expected input here: keep OpenSSL's per-thread error
     * queue clean for whoever calls ERR_get_error next. */
    if (rc) ERR_clear_error();
    return rc;
}

static EVP_MD_CTX *pss_ctx(EVP_PKEY *pkey, const EVP_MD *md, int sign) {
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    if (!m) return NULL;
    int ok = sign ? EVP_DigestSignInit_ex(m, &pc, EVP_MD_get0_name(md), NULL, NULL, pkey, NULL)
                  : EVP_DigestVerifyInit_ex(m, &pc, EVP_MD_get0_name(md), NULL, NULL, pkey, NULL);
    if (ok != 1 || EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) != 1) {
        EVP_MD_CTX_free(m);
        return NULL;
    }
    return m;
}

int aw_jose__pss_sign(EVP_PKEY *pkey, const EVP_MD *md, const void *msg, size_t msglen,
                      unsigned char **sig, size_t *siglen) {
    EVP_MD_CTX *m = pss_ctx(pkey, md, 1);
    if (!m) return AW_ECRYPTO;
    int rc = AW_ECRYPTO;
    size_t n = 0;
    unsigned char *s = NULL;
    if (EVP_DigestSign(m, NULL, &n, msg, msglen) != 1) goto done;
    s = malloc(n);
    if (!s) {
        rc = AW_ENOMEM;
        goto done;
    }
    if (EVP_DigestSign(m, s, &n, msg, msglen) != 1) goto done;
    *sig = s, *siglen = n, s = NULL;
    rc = 0;
done:
    free(s);
    EVP_MD_CTX_free(m);
    return rc;
}

int aw_jose__pss_verify(EVP_PKEY *pkey, const EVP_MD *md, const void *msg, size_t msglen,
                        const unsigned char *sig, size_t siglen) {
    /* A signature must be exactly the modulus length (RFC 8017 §8.1.2). */
    if ((int)siglen != EVP_PKEY_get_size(pkey)) return AW_ECRYPTO;
    EVP_MD_CTX *m = pss_ctx(pkey, md, 0);
    if (!m) return AW_ECRYPTO;
    int rc = EVP_DigestVerify(m, sig, siglen, msg, msglen) == 1 ? 0 : AW_ECRYPTO;
    EVP_MD_CTX_free(m);
    if (rc) ERR_clear_error();
    return rc;
}
