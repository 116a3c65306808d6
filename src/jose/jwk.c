/* RSA JWKs on OpenSSL 3 (OSSL_PARAM_BLD / EVP_PKEY_fromdata) and the
 * FIT-Connect key rules. */
#include "jose/jwk.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "base/b64.h"
#include "base/secure.h"
#include "jose/internal.h"

#define X5C_MAX_CERTS 10
#define X5C_MAX_CERT  (16 * 1024) /* base64 characters per certificate */

struct aw_jwk {
    EVP_PKEY *pkey;
    bool priv;
    char *kid, *alg, *use;
    json_t *key_ops; /* array of strings or NULL */
    json_t *x5c;     /* array of strings or NULL */
};

/* Private members in JWK order and their OpenSSL parameter names. */
static const struct {
    const char *jwk, *ossl;
} PRIV[] = {
    {"d", OSSL_PKEY_PARAM_RSA_D},          {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
    {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},    {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
    {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
};

void aw_jwk_free(aw_jwk_t *k) {
    if (!k) return;
    EVP_PKEY_free(k->pkey);
    free(k->kid);
    free(k->alg);
    free(k->use);
    json_decref(k->key_ops);
    json_decref(k->x5c);
    free(k);
}

const char *aw_jwk_kid(const aw_jwk_t *k) {
    return k->kid;
}
const char *aw_jwk_alg(const aw_jwk_t *k) {
    return k->alg;
}
const char *aw_jwk_use(const aw_jwk_t *k) {
    return k->use;
}
bool aw_jwk_is_private(const aw_jwk_t *k) {
    return k->priv;
}
int aw_jwk_bits(const aw_jwk_t *k) {
    return EVP_PKEY_get_bits(k->pkey);
}
EVP_PKEY *aw_jwk_pkey(const aw_jwk_t *k) {
    return k->pkey;
}

bool aw_jwk_same_public(const aw_jwk_t *a, const aw_jwk_t *b) {
    return a && b && EVP_PKEY_eq(a->pkey, b->pkey) == 1;
}

/* Decodes a Base64urlUInt member into a BIGNUM (secure heap for secrets). */
static int member_bn(const json_t *obj, const char *name, bool secret, bool minimal, BIGNUM **out,
                     aw_err_t *err) {
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) return AW_ENOTFOUND;
    if (!json_is_string(v))
        return aw_err_set(err, AW_EINVAL, "jwk: member '%s' must be a string", name);
    size_t n = json_string_length(v);
    if (n == 0) return aw_err_set(err, AW_EINVAL, "jwk: member '%s' is empty", name);
    if (n > (AW_JWK_MAX_BITS / 8) * 4 / 3 + 4)
        return aw_err_set(err, AW_ETOOBIG, "jwk: member '%s' is longer than a %d-bit key allows",
                          name, AW_JWK_MAX_BITS);
    unsigned char buf[AW_JWK_MAX_BITS / 8 + 8];
    size_t len;
    if (aw_b64url_decode(json_string_value(v), n, buf, &len) != 0)
        return aw_err_set(err, AW_EINVAL, "jwk: member '%s' is not valid base64url", name);
    if (minimal && len > 1 && buf[0] == 0) {
        aw_secure_wipe(buf, len);
        return aw_err_set(err, AW_EINVAL,
                          "jwk: member '%s' has a leading zero octet (RFC 7518 §2 requires the "
                          "minimal encoding)",
                          name);
    }
    BIGNUM *bn = secret ? BN_secure_new() : BN_new();
    if (!bn || !BN_bin2bn(buf, (int)len, bn)) {
        aw_secure_wipe(buf, sizeof buf);
        BN_clear_free(bn);
        return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    }
    aw_secure_wipe(buf, sizeof buf);
    *out = bn;
    return 0;
}

static int opt_string(const json_t *obj, const char *name, size_t max, char **out, aw_err_t *err) {
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_string(v))
        return aw_err_set(err, AW_EINVAL, "jwk: member '%s' must be a string", name);
    if (json_string_length(v) > max)
        return aw_err_set(err, AW_ETOOBIG, "jwk: member '%s' is longer than %zu characters", name,
                          max);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return aw_err_set(err, AW_EINVAL, "jwk: member '%s' contains a NUL character", name);
    *out = strdup(json_string_value(v));
    if (!*out) return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    return 0;
}

static int opt_string_array(const json_t *obj, const char *name, size_t maxn, size_t maxlen,
                            json_t **out, aw_err_t *err) {
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) return 0;
    if (!json_is_array(v))
        return aw_err_set(err, AW_EINVAL, "jwk: member '%s' must be an array of strings", name);
    if (json_array_size(v) > maxn)
        return aw_err_set(err, AW_ETOOBIG, "jwk: member '%s' has more than %zu entries", name,
                          maxn);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return aw_err_set(err, AW_EINVAL, "jwk: member '%s'[%zu] must be a string", name, i);
        if (json_string_length(e) > maxlen)
            return aw_err_set(err, AW_ETOOBIG, "jwk: member '%s'[%zu] is longer than %zu", name, i,
                              maxlen);
    }
    *out = json_deep_copy(v);
    if (!*out) return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    return 0;
}

static int build_pkey(BIGNUM *const *bns, bool priv, bool crt, EVP_PKEY **out, aw_err_t *err) {
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    int rc = AW_ENOMEM;
    if (!b) goto done;
    if (!OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bns[0]) ||
        !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bns[1]))
        goto done;
    if (priv) {
        size_t np = crt ? 6 : 1;
        for (size_t i = 0; i < np; i++)
            if (!OSSL_PARAM_BLD_push_BN(b, PRIV[i].ossl, bns[2 + i])) goto done;
    }
    params = OSSL_PARAM_BLD_to_param(b);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx) goto done;
    rc = AW_EINVAL;
    if (EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, out, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
        ERR_clear_error();
        aw_err_set(err, AW_EINVAL, "jwk: OpenSSL does not accept the RSA key parameters");
        goto done;
    }
    rc = 0;
done:
    if (rc == AW_ENOMEM) aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* secure-heap BNs are cleared by OpenSSL */
    OSSL_PARAM_BLD_free(b);
    return rc;
}

int aw_jwk_from_json(const json_t *obj, aw_jwk_t **out, aw_err_t *err) {
    *out = NULL;
    if (!json_is_object(obj)) return aw_err_set(err, AW_EINVAL, "jwk: must be a JSON object");
    json_t *kty = json_object_get(obj, "kty");
    if (!kty) return aw_err_set(err, AW_EINVAL, "jwk: member 'kty' is missing");
    if (!json_is_string(kty))
        return aw_err_set(err, AW_EINVAL, "jwk: member 'kty' must be a string");
    if (strcmp(json_string_value(kty), "RSA") != 0)
        return aw_err_set(err, AW_EUNSUPPORTED,
                          "jwk: kty '%.32s' is not supported (only RSA keys are used)",
                          json_string_value(kty));
    if (json_object_get(obj, "oth"))
        return aw_err_set(err, AW_EUNSUPPORTED,
                          "jwk: multi-prime RSA keys ('oth') are not supported");

    aw_jwk_t *k = calloc(1, sizeof *k);
    if (!k) return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    BIGNUM *bns[8] = {0};
    int rc;
    if ((rc = member_bn(obj, "n", false, true, &bns[0], err)) != 0) {
        if (rc == AW_ENOTFOUND) rc = aw_err_set(err, AW_EINVAL, "jwk: member 'n' is missing");
        goto fail;
    }
    if ((rc = member_bn(obj, "e", false, true, &bns[1], err)) != 0) {
        if (rc == AW_ENOTFOUND) rc = aw_err_set(err, AW_EINVAL, "jwk: member 'e' is missing");
        goto fail;
    }
    int nbits = BN_num_bits(bns[0]);
    if (nbits < AW_JWK_MIN_BITS || nbits > AW_JWK_MAX_BITS) {
        rc = aw_err_set(err, AW_EINVAL, "jwk: RSA modulus has %d bits; between %d and %d expected",
                        nbits, AW_JWK_MIN_BITS, AW_JWK_MAX_BITS);
        goto fail;
    }
    if (!BN_is_odd(bns[1]) || BN_is_one(bns[1]) || BN_num_bits(bns[1]) > 256 ||
        BN_cmp(bns[1], bns[0]) >= 0) {
        rc = aw_err_set(err, AW_EINVAL, "jwk: RSA public exponent 'e' is not usable");
        goto fail;
    }
    int have = 0;
    for (size_t i = 0; i < 6; i++) {
        rc = member_bn(obj, PRIV[i].jwk, true, false, &bns[2 + i], err);
        if (rc == 0)
            have |= 1 << i;
        else if (rc != AW_ENOTFOUND)
            goto fail;
    }
    rc = 0;
    bool crt = have == 0x3f;
    if (have != 0 && have != 1 && !crt) {
        rc = aw_err_set(err, AW_EINVAL,
                        "jwk: private key needs 'd' and either all or none of p, q, dp, dq, qi");
        goto fail;
    }
    k->priv = have != 0;
    if (crt) {
        /* n = p*q, cheap and catches mixed-up keys before they sign anything. */
        BN_CTX *bc = BN_CTX_secure_new();
        BIGNUM *pq = BN_secure_new();
        bool ok = bc && pq && BN_mul(pq, bns[3], bns[4], bc) && BN_cmp(pq, bns[0]) == 0;
        BN_clear_free(pq);
        BN_CTX_free(bc);
        if (!ok) {
            rc = aw_err_set(err, AW_EINVAL, "jwk: private key is inconsistent: p*q != n");
            goto fail;
        }
    }
    if ((rc = build_pkey(bns, k->priv, crt, &k->pkey, err)) != 0) goto fail;
    if ((rc = opt_string(obj, "kid", AW_JWK_KID_MAX, &k->kid, err)) != 0 ||
        (rc = opt_string(obj, "alg", 32, &k->alg, err)) != 0 ||
        (rc = opt_string(obj, "use", 32, &k->use, err)) != 0 ||
        (rc = opt_string_array(obj, "key_ops", 8, 32, &k->key_ops, err)) != 0 ||
        (rc = opt_string_array(obj, "x5c", X5C_MAX_CERTS, X5C_MAX_CERT, &k->x5c, err)) != 0)
        goto fail;
    for (size_t i = 0; i < 8; i++) BN_clear_free(bns[i]);
    *out = k;
    return 0;
fail:
    for (size_t i = 0; i < 8; i++) BN_clear_free(bns[i]);
    aw_jwk_free(k);
    return rc;
}

int aw_jwk_parse(const char *json, size_t len, aw_jwk_t **out, aw_err_t *err) {
    *out = NULL;
    if (len > AW_JWK_MAX_JSON)
        return aw_err_set(err, AW_ETOOBIG, "jwk: larger than %d bytes", AW_JWK_MAX_JSON);
    json_t *obj;
    int rc = aw_jose__parse_object(json, len, &obj, "jwk", err);
    if (rc) return rc;
    rc = aw_jwk_from_json(obj, out, err);
    /* The JSON tree held private members as text: wipe them. */
    for (size_t i = 0; i < 6; i++) {
        json_t *v = json_object_get(obj, PRIV[i].jwk);
        if (json_is_string(v)) aw_secure_wipe((char *)json_string_value(v), json_string_length(v));
    }
    json_decref(obj);
    return rc;
}

int aw_jwk_load_file(const char *path, aw_jwk_t **out, aw_err_t *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return aw_err_set(err, AW_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(AW_JWK_MAX_JSON + 1);
    if (!buf) {
        close(fd);
        return aw_err_set(err, AW_ENOMEM, "%s: out of memory", path);
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, AW_JWK_MAX_JSON + 1 - len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            aw_secure_wipe(buf, len);
            free(buf);
            return aw_err_set(err, AW_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0) break;
        len += (size_t)r;
        if (len > AW_JWK_MAX_JSON) break;
    }
    close(fd);
    int rc = aw_jwk_parse(buf, len, out, err);
    aw_secure_wipe(buf, len);
    free(buf);
    if (rc) aw_err_prefix(err, "%s", path);
    return rc;
}

static const char *purpose_alg(aw_jwk_purpose_t p) {
    return p == AW_JWK_ENC ? "RSA-OAEP-256" : "PS512";
}

int aw_jwk_generate(int bits, aw_jwk_purpose_t purpose, const char *kid, aw_jwk_t **out,
                    aw_err_t *err) {
    *out = NULL;
    if (bits < AW_JWK_MIN_BITS || bits > AW_JWK_MAX_BITS)
        return aw_err_set(err, AW_EINVAL, "jwk: key size %d bits out of range", bits);
    if (purpose != AW_JWK_ENC && purpose != AW_JWK_SIG)
        return aw_err_set(err, AW_EINVAL, "jwk: unknown key purpose");
    aw_jwk_t *k = calloc(1, sizeof *k);
    if (!k) return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    if (!k->pkey) {
        aw_jwk_free(k);
        return aw_err_set(err, AW_ECRYPTO, "jwk: RSA key generation failed");
    }
    k->priv = true;
    k->alg = strdup(purpose_alg(purpose));
    k->use = strdup(purpose == AW_JWK_ENC ? "enc" : "sig");
    k->key_ops = json_pack("[s]", purpose == AW_JWK_ENC ? "unwrapKey" : "sign");
    char thumb[AW_JWK_THUMB_LEN + 1];
    if (!kid) {
        int rc = aw_jwk_thumbprint(k, thumb, err);
        if (rc) {
            aw_jwk_free(k);
            return rc;
        }
        kid = thumb;
    }
    k->kid = strdup(kid);
    if (!k->alg || !k->use || !k->key_ops || !k->kid) {
        aw_jwk_free(k);
        return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    }
    *out = k;
    return 0;
}

static BIGNUM *get_bn(EVP_PKEY *pkey, const char *name) {
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return NULL;
    return bn;
}

int aw_jwk_public(const aw_jwk_t *k, aw_jwk_t **out, aw_err_t *err) {
    *out = NULL;
    BIGNUM *bns[8] = {get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_N),
                      get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_E)};
    aw_jwk_t *p = calloc(1, sizeof *p);
    int rc = AW_ENOMEM;
    if (!p || !bns[0] || !bns[1]) {
        aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
        goto fail;
    }
    if ((rc = build_pkey(bns, false, false, &p->pkey, err)) != 0) goto fail;
    rc = AW_ENOMEM;
    if ((k->kid && !(p->kid = strdup(k->kid))) || (k->alg && !(p->alg = strdup(k->alg))) ||
        (k->use && !(p->use = strdup(k->use)))) {
        aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
        goto fail;
    }
    if (k->x5c) p->x5c = json_deep_copy(k->x5c);
    if (k->key_ops) {
        p->key_ops = json_array();
        size_t i;
        json_t *op;
        json_array_foreach(k->key_ops, i, op) {
            const char *s = json_string_value(op);
            if (strcmp(s, "unwrapKey") == 0)
                s = "wrapKey";
            else if (strcmp(s, "sign") == 0)
                s = "verify";
            else if (strcmp(s, "decrypt") == 0)
                s = "encrypt";
            json_array_append_new(p->key_ops, json_string(s));
        }
    }
    BN_free(bns[0]);
    BN_free(bns[1]);
    *out = p;
    return 0;
fail:
    BN_free(bns[0]);
    BN_free(bns[1]);
    aw_jwk_free(p);
    return rc;
}

/* Appends base64url of a BIGNUM (minimal big-endian octets). */
static bool put_bn(json_t *obj, const char *name, const BIGNUM *bn, bool secret) {
    int n = BN_num_bytes(bn);
    if (n < 1) n = 1;
    unsigned char bin[AW_JWK_MAX_BITS / 8 + 8];
    char txt[(AW_JWK_MAX_BITS / 8 + 8) * 4 / 3 + 8];
    if (n > (int)sizeof bin) return false;
    if (BN_bn2binpad(bn, bin, n) != n) return false;
    aw_b64url_encode(bin, (size_t)n, txt);
    bool ok = json_object_set_new(obj, name, json_string(txt)) == 0;
    if (secret) {
        aw_secure_wipe(bin, sizeof bin);
        aw_secure_wipe(txt, sizeof txt);
    }
    return ok;
}

json_t *aw_jwk_to_json(const aw_jwk_t *k, bool include_private) {
    json_t *o = json_object();
    if (!o) return NULL;
    bool ok = json_object_set_new(o, "kty", json_string("RSA")) == 0;
    if (k->kid) ok = ok && json_object_set_new(o, "kid", json_string(k->kid)) == 0;
    if (k->alg) ok = ok && json_object_set_new(o, "alg", json_string(k->alg)) == 0;
    if (k->use) ok = ok && json_object_set_new(o, "use", json_string(k->use)) == 0;
    if (k->key_ops) ok = ok && json_object_set_new(o, "key_ops", json_deep_copy(k->key_ops)) == 0;
    if (k->x5c) ok = ok && json_object_set_new(o, "x5c", json_deep_copy(k->x5c)) == 0;
    const char *pub[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E};
    const char *pubn[] = {"n", "e"};
    for (int i = 0; i < 2 && ok; i++) {
        BIGNUM *bn = get_bn(k->pkey, pub[i]);
        ok = bn && put_bn(o, pubn[i], bn, false);
        BN_free(bn);
    }
    if (include_private && k->priv) {
        for (size_t i = 0; i < 6 && ok; i++) {
            BIGNUM *bn = get_bn(k->pkey, PRIV[i].ossl);
            if (!bn && i > 0) break; /* key without CRT parameters */
            ok = bn && put_bn(o, PRIV[i].jwk, bn, true);
            BN_clear_free(bn);
        }
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void wipe_private_members(json_t *o) {
    for (size_t i = 0; i < 6; i++) {
        json_t *v = json_object_get(o, PRIV[i].jwk);
        if (json_is_string(v)) aw_secure_wipe((char *)json_string_value(v), json_string_length(v));
    }
}

int aw_jwk_write(const aw_jwk_t *k, bool include_private, aw_buf_t *out, aw_err_t *err) {
    json_t *o = aw_jwk_to_json(k, include_private);
    if (!o) return aw_err_set(err, AW_ENOMEM, "jwk: cannot serialise key");
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    wipe_private_members(o);
    json_decref(o);
    if (!s) return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    size_t n = strlen(s);
    aw_buf_append(out, s, n);
    aw_secure_wipe(s, n);
    free(s);
    if (!aw_buf_ok(out)) return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    return 0;
}

int aw_jwk_thumbprint(const aw_jwk_t *k, char out[AW_JWK_THUMB_LEN + 1], aw_err_t *err) {
    json_t *o = json_object();
    bool ok = o != NULL;
    const char *pub[] = {OSSL_PKEY_PARAM_RSA_E, OSSL_PKEY_PARAM_RSA_N};
    const char *pubn[] = {"e", "n"};
    for (int i = 0; i < 2 && ok; i++) {
        BIGNUM *bn = get_bn(k->pkey, pub[i]);
        ok = bn && put_bn(o, pubn[i], bn, false);
        BN_free(bn);
    }
    /* RFC 7638 §3: members e, kty, n in lexicographic order, no whitespace. */
    char *s = NULL;
    if (ok) {
        s = malloc(4096);
        ok = s != NULL;
        if (ok) {
            int n = snprintf(s, 4096, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
                             json_string_value(json_object_get(o, "e")),
                             json_string_value(json_object_get(o, "n")));
            ok = n > 0 && n < 4096;
        }
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    ok = ok && EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) == 1;
    free(s);
    json_decref(o);
    if (!ok) return aw_err_set(err, AW_ENOMEM, "jwk: cannot compute thumbprint");
    aw_b64url_encode(md, 32, out);
    return 0;
}

/* ---- FIT-Connect rules -------------------------------------------------- */

static void violation(aw_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(aw_buf_t *b, const char *fmt, ...) {
    if (b->len) aw_buf_puts(b, "; ");
    va_list ap;
    va_start(ap, fmt);
    aw_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

static X509 *x5c_cert(const json_t *x5c, size_t i) {
    const char *s = json_string_value(json_array_get(x5c, i));
    size_t n = json_string_length(json_array_get(x5c, i));
    unsigned char *der = malloc(aw_b64_declen(n) + 1);
    size_t len;
    X509 *c = NULL;
    if (der && aw_b64_decode(s, n, der, &len) == 0) {
        const unsigned char *p = der;
        c = d2i_X509(NULL, &p, (long)len);
        if (c && p != der + len) {
            X509_free(c);
            c = NULL;
        }
    }
    free(der);
    return c;
}

static void check_x5c(const aw_jwk_t *k, const aw_jwk_check_opts_t *o, aw_buf_t *v) {
    size_t n = json_array_size(k->x5c);
    if (n == 0) {
        violation(v, "x5c must hold at least one certificate");
        return;
    }
    X509 *certs[X5C_MAX_CERTS] = {0};
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        certs[i] = x5c_cert(k->x5c, i);
        if (!certs[i]) {
            violation(v, "x5c[%zu] is not a base64 DER X.509 certificate", i);
            ok = false;
        }
    }
    if (ok && EVP_PKEY_eq(X509_get0_pubkey(certs[0]), k->pkey) != 1) {
        violation(v, "x5c[0] (leaf certificate) holds a different public key than n/e");
        ok = false;
    }
    if (ok && o && o->x5c_roots_pem) {
        X509_STORE *store = X509_STORE_new();
        STACK_OF(X509) *chain = sk_X509_new_null();
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        if (!store || !chain || !ctx || X509_STORE_load_file(store, o->x5c_roots_pem) != 1) {
            violation(v, "cannot load trusted roots from %s", o->x5c_roots_pem);
        } else {
            for (size_t i = 1; i < n; i++) sk_X509_push(chain, certs[i]);
            if (X509_STORE_CTX_init(ctx, store, certs[0], chain) != 1 ||
                X509_verify_cert(ctx) != 1) {
                violation(v, "x5c chain does not verify against the trusted roots: %s",
                          X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
            }
        }
        X509_STORE_CTX_free(ctx);
        sk_X509_free(chain); /* certs are owned by certs[] */
        X509_STORE_free(store);
    }
    for (size_t i = 0; i < n; i++) X509_free(certs[i]);
    ERR_clear_error();
}

int aw_jwk_roots_check(const char *pem_file, aw_err_t *err) {
    FILE *f = fopen(pem_file, "r");
    if (!f) return aw_err_set(err, AW_EIO, "%s: %s", pem_file, strerror(errno));
    int n = 0;
    X509 *c;
    while ((c = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        X509_free(c);
        n++;
    }
    fclose(f);
    ERR_clear_error(); /* the end of the file reads as an error */
    if (n == 0)
        return aw_err_set(err, AW_EINVAL, "%s: no PEM certificate (-----BEGIN CERTIFICATE-----)",
                          pem_file);
    return 0;
}

int aw_jwk_check_fitconnect(const aw_jwk_t *k, aw_jwk_purpose_t purpose,
                            const aw_jwk_check_opts_t *opts, aw_err_t *err) {
    aw_buf_t v = AW_BUF_INIT;
    const char *want_alg = purpose_alg(purpose);
    const char *want_op =
        purpose == AW_JWK_ENC ? (k->priv ? "unwrapKey" : "wrapKey") : (k->priv ? "sign" : "verify");
    /* kty is RSA by construction: aw_jwk_from_json refuses anything else. */
    int bits = EVP_PKEY_get_bits(k->pkey);
    if (bits != 4096) violation(&v, "modulus must be 4096 bits, is %d", bits);
    BIGNUM *e = get_bn(k->pkey, OSSL_PKEY_PARAM_RSA_E);
    if (!e || !BN_is_word(e, 65537)) violation(&v, "e must be AQAB (65537)");
    BN_free(e);
    if (!k->alg)
        violation(&v, "alg is missing, must be %s", want_alg);
    else if (strcmp(k->alg, want_alg) != 0)
        violation(&v, "alg must be %s for %s keys, is '%s'", want_alg,
                  purpose == AW_JWK_ENC ? "encryption" : "signature", k->alg);
    if (!k->key_ops)
        violation(&v, "key_ops is missing, must be [\"%s\"]", want_op);
    else if (json_array_size(k->key_ops) != 1 ||
             strcmp(json_string_value(json_array_get(k->key_ops, 0)), want_op) != 0)
        violation(&v, "key_ops must be exactly [\"%s\"]", want_op);
    if (k->use && strcmp(k->use, purpose == AW_JWK_ENC ? "enc" : "sig") != 0)
        violation(&v, "use must be '%s' when present, is '%s'",
                  purpose == AW_JWK_ENC ? "enc" : "sig", k->use);
    if (!k->kid)
        violation(&v, "kid is missing (8 to 64 characters)");
    else {
        size_t n = strlen(k->kid);
        bool printable = true;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)k->kid[i] < 0x21 || (unsigned char)k->kid[i] > 0x7e)
                printable = false;
        if (n < 8 || n > 64) violation(&v, "kid must be 8 to 64 characters, has %zu", n);
        if (!printable) violation(&v, "kid must be printable ASCII without spaces");
    }
    if (k->x5c)
        check_x5c(k, opts, &v);
    else if (opts && opts->require_x5c)
        violation(&v, "x5c (certificate chain) is missing");
    if (!aw_buf_ok(&v)) {
        aw_buf_free(&v);
        return aw_err_set(err, AW_ENOMEM, "jwk: out of memory");
    }
    if (v.len == 0) {
        aw_buf_free(&v);
        return 0;
    }
    int rc = aw_err_set(err, AW_EINVAL, "key '%.64s' violates FIT-Connect key rules: %s",
                        k->kid ? k->kid : "(no kid)", v.data);
    aw_buf_free(&v);
    return rc;
}

/* ---- JWK sets ------------------------------------------------------------- */

void aw_jwks_free(aw_jwks_t *set) {
    if (!set) return;
    for (size_t i = 0; i < set->n; i++) aw_jwk_free(set->keys[i]);
    free(set->keys);
    set->keys = NULL;
    set->n = 0;
}

const aw_jwk_t *aw_jwks_find(const aw_jwks_t *set, const char *kid) {
    if (!kid) return NULL;
    for (size_t i = 0; i < set->n; i++)
        if (set->keys[i]->kid && strcmp(set->keys[i]->kid, kid) == 0) return set->keys[i];
    return NULL;
}

int aw_jwks_parse(const char *json, size_t len, aw_jwks_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    if (len > (size_t)AW_JWK_MAX_JSON * 4)
        return aw_err_set(err, AW_ETOOBIG, "jwks: larger than %d bytes", AW_JWK_MAX_JSON * 4);
    json_t *obj;
    int rc = aw_jose__parse_object(json, len, &obj, "jwks", err);
    if (rc) return rc;
    json_t *keys = json_object_get(obj, "keys");
    if (!json_is_array(keys)) {
        json_decref(obj);
        return aw_err_set(err, AW_EINVAL, "jwks: member 'keys' must be an array");
    }
    size_t n = json_array_size(keys);
    if (n > AW_JWKS_MAX) {
        json_decref(obj);
        return aw_err_set(err, AW_ETOOBIG, "jwks: more than %d keys", AW_JWKS_MAX);
    }
    out->keys = calloc(n ? n : 1, sizeof *out->keys);
    if (!out->keys) {
        json_decref(obj);
        return aw_err_set(err, AW_ENOMEM, "jwks: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *kj = json_array_get(keys, i);
        rc = aw_jwk_from_json(kj, &out->keys[i], err);
        if (rc) {
            aw_err_prefix(err, "jwks: keys[%zu]", i);
            break;
        }
        out->n++;
        const char *kid = out->keys[i]->kid;
        for (size_t j = 0; kid && j < i; j++)
            if (out->keys[j]->kid && strcmp(out->keys[j]->kid, kid) == 0) {
                rc = aw_err_set(err, AW_EINVAL, "jwks: kid '%.64s' appears more than once", kid);
                break;
            }
        if (rc) break;
    }
    wipe_private_members(obj);
    size_t i;
    json_t *kj;
    json_array_foreach(keys, i, kj) wipe_private_members(kj);
    json_decref(obj);
    if (rc) aw_jwks_free(out);
    return rc;
}

int aw_jwks_write(const aw_jwk_t *const *keys, size_t n, aw_buf_t *out, aw_err_t *err) {
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = json_array_append_new(arr, aw_jwk_to_json(keys[i], false)) == 0;
    json_t *set = ok ? json_pack("{sO}", "keys", arr) : NULL;
    json_decref(arr);
    char *s = set ? json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(set);
    if (!s) return aw_err_set(err, AW_ENOMEM, "jwks: out of memory");
    aw_buf_puts(out, s);
    free(s);
    return aw_buf_ok(out) ? 0 : aw_err_set(err, AW_ENOMEM, "jwks: out of memory");
}
