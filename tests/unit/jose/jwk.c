#include "jose/jwk.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/b64.h"
#include "helpers.h"
#include "jose/jws.h"

TEST(test_keys_load_and_pass_fitconnect_rules) {
    aw_jwk_t *enc = test_key("a", "enc.private"), *sig = test_key("a", "sig.private");
    aw_jwk_t *encp = test_key("a", "enc.public"), *sigp = test_key("a", "sig.public");
    ASSERT(aw_jwk_is_private(enc));
    ASSERT(!aw_jwk_is_private(encp));
    ASSERT_EQ(aw_jwk_bits(enc), 4096);
    ASSERT_STR(aw_jwk_kid(enc), "TEST-ONLY-a-enc");
    ASSERT_STR(aw_jwk_alg(sig), "PS512");
    ASSERT(aw_jwk_same_public(enc, encp));
    ASSERT(!aw_jwk_same_public(enc, sigp));
    aw_err_t err = {0};
    ASSERT_MSG(aw_jwk_check_fitconnect(encp, AW_JWK_ENC, NULL, &err) == 0, "%s", err.msg);
    ASSERT_MSG(aw_jwk_check_fitconnect(enc, AW_JWK_ENC, NULL, &err) == 0, "%s", err.msg);
    ASSERT_MSG(aw_jwk_check_fitconnect(sigp, AW_JWK_SIG, NULL, &err) == 0, "%s", err.msg);
    ASSERT_MSG(aw_jwk_check_fitconnect(sig, AW_JWK_SIG, NULL, &err) == 0, "%s", err.msg);
    /* A key for the other purpose fails with named rules. */
    ASSERT_EQ(aw_jwk_check_fitconnect(encp, AW_JWK_SIG, NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "alg must be PS512");
    ASSERT_CONTAINS(err.msg, "key_ops must be exactly [\"verify\"]");
    aw_jwk_free(enc), aw_jwk_free(sig), aw_jwk_free(encp), aw_jwk_free(sigp);
}

TEST(rfc7638_thumbprint) {
    size_t n;
    char *jwk = spec_file("latchset-rfc-vectors/rfc7638_3.1.jwk", &n);
    char *thp = spec_file("latchset-rfc-vectors/rfc7638_3.1.thp", NULL);
    if (!jwk || !thp) TEST_SKIP("spec vectors not available");
    aw_err_t err = {0};
    aw_jwk_t *k;
    ASSERT_MSG(aw_jwk_parse(jwk, n, &k, &err) == 0, "%s", err.msg);
    char t[AW_JWK_THUMB_LEN + 1];
    ASSERT_EQ(aw_jwk_thumbprint(k, t, &err), 0);
    thp[strcspn(thp, "\r\n")] = 0;
    ASSERT_STR(t, thp);
    ASSERT_STR(t, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    aw_jwk_free(k);
    free(jwk), free(thp);
}

TEST(write_parse_roundtrip) {
    aw_jwk_t *k = test_key("a", "sig.private");
    aw_buf_t priv = AW_BUF_INIT, pub = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwk_write(k, true, &priv, &err), 0);
    ASSERT_EQ(aw_jwk_write(k, false, &pub, &err), 0);
    ASSERT_CONTAINS(priv.data, "\"qi\":");
    ASSERT_NOT_CONTAINS(pub.data, "\"d\":");
    ASSERT_NOT_CONTAINS(pub.data, "\"p\":");
    ASSERT_CONTAINS(pub.data, "\"kty\":\"RSA\",\"kid\":\"TEST-ONLY-a-sig\",\"alg\":\"PS512\"");
    aw_jwk_t *k2, *k3;
    ASSERT_EQ(aw_jwk_parse(priv.data, priv.len, &k2, &err), 0);
    ASSERT_EQ(aw_jwk_parse(pub.data, pub.len, &k3, &err), 0);
    ASSERT(aw_jwk_is_private(k2));
    ASSERT(!aw_jwk_is_private(k3));
    ASSERT(aw_jwk_same_public(k, k2));
    ASSERT(aw_jwk_same_public(k, k3));
    /* The file on disk is byte-identical to what we write (stable order). */
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/a/sig.private.jwk", aw_test_srcdir());
    char *disk = aw_test_read_file(path, NULL);
    disk[strcspn(disk, "\n")] = 0;
    ASSERT_STR(priv.data, disk);
    /* Public derivation maps key_ops sign -> verify. */
    aw_jwk_t *p;
    ASSERT_EQ(aw_jwk_public(k, &p, &err), 0);
    aw_buf_t pub2 = AW_BUF_INIT;
    ASSERT_EQ(aw_jwk_write(p, true, &pub2, &err), 0);
    ASSERT_CONTAINS(pub2.data, "\"key_ops\":[\"verify\"]");
    ASSERT_NOT_CONTAINS(pub2.data, "\"d\":");
    free(disk);
    aw_buf_free(&pub2);
    aw_buf_wipe_free(&priv);
    aw_buf_free(&pub);
    aw_jwk_free(k), aw_jwk_free(k2), aw_jwk_free(k3), aw_jwk_free(p);
}

/* Returns the public JSON of key a/enc with member `name` set to `val`
 * (a JSON value; NULL removes the member). */
static char *variant(const char *set, const char *file, const char *name, const char *val) {
    aw_jwk_t *k = test_key(set, file);
    json_t *o = aw_jwk_to_json(k, true);
    aw_jwk_free(k);
    if (val)
        json_object_set_new(o, name, json_loads(val, JSON_DECODE_ANY, NULL));
    else
        json_object_del(o, name);
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static void expect_parse_error(const char *json, int code, const char *needle) {
    aw_err_t err = {0};
    aw_jwk_t *k = NULL;
    int rc = aw_jwk_parse(json, strlen(json), &k, &err);
    ASSERT_MSG(rc == code, "expected %d for %.200s, got %d (%s)", code, json, rc, err.msg);
    ASSERT_NULL(k);
    ASSERT_CONTAINS(err.msg, needle);
}

TEST(parse_rejects_bad_keys) {
    expect_parse_error("[]", AW_EINVAL, "must be a JSON object");
    expect_parse_error("{\"kty\":\"RSA\"", AW_EINVAL, "invalid JSON");
    expect_parse_error("{\"kty\":\"EC\",\"crv\":\"P-256\"}", AW_EUNSUPPORTED, "kty 'EC'");
    expect_parse_error("{\"kty\":\"oct\",\"k\":\"AAAA\"}", AW_EUNSUPPORTED, "only RSA");
    expect_parse_error("{\"e\":\"AQAB\"}", AW_EINVAL, "'kty' is missing");
    expect_parse_error("{\"kty\":\"RSA\",\"e\":\"AQAB\"}", AW_EINVAL, "'n' is missing");
    expect_parse_error("{\"kty\":\"RSA\",\"kty\":\"RSA\",\"e\":\"AQAB\"}", AW_EINVAL, "duplicate");
    expect_parse_error("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", AW_EINVAL,
                       "modulus has 17 bits");
    expect_parse_error("{\"kty\":\"RSA\",\"n\":5,\"e\":\"AQAB\"}", AW_EINVAL,
                       "'n' must be a string");

    char *s = variant("a", "enc.public", "n", NULL);
    expect_parse_error(s, AW_EINVAL, "'n' is missing");
    free(s);
    s = variant("a", "enc.public", "e", "\"AQAB==\"");
    expect_parse_error(s, AW_EINVAL, "'e' is not valid base64url");
    free(s);
    s = variant("a", "enc.public", "e", "\"AAEAAQ\""); /* 00 01 00 01 */
    expect_parse_error(s, AW_EINVAL, "leading zero");
    free(s);
    s = variant("a", "enc.public", "e", "\"AQ\""); /* e = 1 */
    expect_parse_error(s, AW_EINVAL, "exponent");
    free(s);
    s = variant("a", "enc.public", "kid", "7");
    expect_parse_error(s, AW_EINVAL, "'kid' must be a string");
    free(s);
    s = variant("a", "enc.public", "key_ops", "\"wrapKey\"");
    expect_parse_error(s, AW_EINVAL, "'key_ops' must be an array");
    free(s);
    s = variant("a", "enc.public", "oth", "[]");
    expect_parse_error(s, AW_EUNSUPPORTED, "multi-prime");
    free(s);
    s = variant("a", "enc.private", "dq", NULL);
    expect_parse_error(s, AW_EINVAL, "all or none of p, q");
    free(s);
    /* p from another key: p*q != n. */
    aw_jwk_t *b = test_key("b", "enc.private");
    json_t *bj = aw_jwk_to_json(b, true);
    char pval[2048];
    snprintf(pval, sizeof pval, "\"%s\"", json_string_value(json_object_get(bj, "p")));
    s = variant("a", "enc.private", "p", pval);
    expect_parse_error(s, AW_EINVAL, "p*q != n");
    free(s);
    json_decref(bj);
    aw_jwk_free(b);
    /* Too large to be a key. */
    size_t big = AW_JWK_MAX_JSON + 10;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[big] = 0;
    expect_parse_error(huge, AW_ETOOBIG, "larger than");
    free(huge);
}

TEST(private_key_with_d_only_works) {
    char *s = variant("a", "sig.private", "p", NULL);
    json_t *o = json_loads(s, 0, NULL);
    free(s);
    json_object_del(o, "q"), json_object_del(o, "dp"), json_object_del(o, "dq");
    json_object_del(o, "qi");
    aw_jwk_t *k = jwk_from(o);
    ASSERT(aw_jwk_is_private(k));
    json_decref(o);
    aw_jwk_free(k);
}

static void expect_rule(const char *name, const char *val, aw_jwk_purpose_t p, const char *needle) {
    char *s = variant("a", p == AW_JWK_ENC ? "enc.public" : "sig.public", name, val);
    aw_err_t err = {0};
    aw_jwk_t *k;
    ASSERT_MSG(aw_jwk_parse(s, strlen(s), &k, &err) == 0, "%s", err.msg);
    ASSERT_EQ(aw_jwk_check_fitconnect(k, p, NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, needle);
    aw_jwk_free(k);
    free(s);
}

TEST(fitconnect_rules_each_named) {
    expect_rule("alg", "\"RSA-OAEP\"", AW_JWK_ENC, "alg must be RSA-OAEP-256");
    expect_rule("alg", NULL, AW_JWK_ENC, "alg is missing");
    expect_rule("alg", "\"PS256\"", AW_JWK_SIG, "alg must be PS512");
    expect_rule("key_ops", "[\"encrypt\"]", AW_JWK_ENC, "key_ops must be exactly [\"wrapKey\"]");
    expect_rule("key_ops", "[\"wrapKey\",\"encrypt\"]", AW_JWK_ENC, "exactly [\"wrapKey\"]");
    expect_rule("key_ops", NULL, AW_JWK_SIG, "key_ops is missing");
    expect_rule("kid", "\"short\"", AW_JWK_ENC, "kid must be 8 to 64 characters, has 5");
    expect_rule("kid", "\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
                AW_JWK_SIG, "has 70");
    expect_rule("kid", "\"with space inside\"", AW_JWK_SIG, "printable ASCII");
    expect_rule("kid", NULL, AW_JWK_SIG, "kid is missing");
    expect_rule("use", "\"sig\"", AW_JWK_ENC, "use must be 'enc'");
    expect_rule("e", "\"Aw\"", AW_JWK_ENC, "e must be AQAB");
    expect_rule("x5c", "[\"not base64!\"]", AW_JWK_ENC, "x5c[0] is not a base64 DER");
    expect_rule("x5c", "[]", AW_JWK_ENC, "at least one certificate");

    /* Several violations are all listed. */
    char *s = variant("a", "enc.public", "alg", "\"RSA1_5\"");
    json_t *o = json_loads(s, 0, NULL);
    json_object_set_new(o, "kid", json_string("x"));
    json_object_set_new(o, "key_ops", json_pack("[s]", "decrypt"));
    aw_jwk_t *k = jwk_from(o);
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwk_check_fitconnect(k, AW_JWK_ENC, NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "alg must be RSA-OAEP-256");
    ASSERT_CONTAINS(err.msg, "key_ops must be exactly");
    ASSERT_CONTAINS(err.msg, "kid must be 8 to 64");
    aw_jwk_check_opts_t opts = {.require_x5c = true};
    ASSERT_EQ(aw_jwk_check_fitconnect(k, AW_JWK_ENC, &opts, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "x5c (certificate chain) is missing");
    aw_jwk_free(k);
    json_decref(o);
    free(s);

    /* A 2048-bit key (RFC 7520 §4.2's) is parsed but fails the size rule. */
    json_t *v = spec_json("panva-cookbook/rfc7520-4.2_rsa-pss_ps384.json");
    k = jwk_from(json_object_get(json_object_get(v, "input"), "key"));
    ASSERT_EQ(aw_jwk_check_fitconnect(k, AW_JWK_SIG, NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "modulus must be 4096 bits, is 2048");
    aw_jwk_free(k);
    json_decref(v);
}

/* A self-signed certificate for the key, base64 DER. */
static char *self_signed(EVP_PKEY *key, const char *cn, X509 **out) {
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 365);
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, n);
    ASSERT(X509_sign(c, key, EVP_sha256()) > 0);
    unsigned char *der = NULL;
    int len = i2d_X509(c, &der);
    char *b64 = malloc(aw_b64_enclen((size_t)len) + 1);
    aw_b64_encode(der, (size_t)len, b64);
    OPENSSL_free(der);
    *out = c;
    return b64;
}

TEST_T(x5c_leaf_and_chain, 120) {
    aw_jwk_t *a = test_key("a", "sig.private"), *b = test_key("b", "sig.private");
    X509 *ca, *cb;
    char *xa = self_signed(aw_jwk_pkey(a), "test a", &ca);
    char *xb = self_signed(aw_jwk_pkey(b), "test b", &cb);
    char roots_a[4096], roots_b[4096];
    snprintf(roots_a, sizeof roots_a, "%s/roots_a.pem", aw_test_tmpdir());
    snprintf(roots_b, sizeof roots_b, "%s/roots_b.pem", aw_test_tmpdir());
    FILE *f = fopen(roots_a, "w");
    PEM_write_X509(f, ca);
    fclose(f);
    f = fopen(roots_b, "w");
    PEM_write_X509(f, cb);
    fclose(f);

    aw_jwk_t *pa = test_key("a", "sig.public");
    json_t *o = aw_jwk_to_json(pa, false);
    json_object_set_new(o, "x5c", json_pack("[s]", xa));
    aw_jwk_t *k = jwk_from(o);
    aw_err_t err = {0};
    ASSERT_MSG(aw_jwk_check_fitconnect(k, AW_JWK_SIG, NULL, &err) == 0, "%s", err.msg);
    aw_jwk_check_opts_t opts = {.require_x5c = true, .x5c_roots_pem = roots_a};
    ASSERT_MSG(aw_jwk_check_fitconnect(k, AW_JWK_SIG, &opts, &err) == 0, "%s", err.msg);
    opts.x5c_roots_pem = roots_b;
    ASSERT_EQ(aw_jwk_check_fitconnect(k, AW_JWK_SIG, &opts, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "chain does not verify");
    /* The x5c survives write and parse. */
    aw_buf_t w = AW_BUF_INIT;
    ASSERT_EQ(aw_jwk_write(k, false, &w, &err), 0);
    ASSERT_CONTAINS(w.data, xa);
    aw_buf_free(&w);
    aw_jwk_free(k);

    json_object_set_new(o, "x5c", json_pack("[s]", xb));
    k = jwk_from(o);
    ASSERT_EQ(aw_jwk_check_fitconnect(k, AW_JWK_SIG, NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "leaf certificate) holds a different public key");
    aw_jwk_free(k);
    json_decref(o);
    X509_free(ca), X509_free(cb);
    free(xa), free(xb);
    aw_jwk_free(a), aw_jwk_free(b), aw_jwk_free(pa);
}

TEST_T(generate_small_key, 120) {
    aw_err_t err = {0};
    aw_jwk_t *k;
    ASSERT_EQ(aw_jwk_generate(2048, AW_JWK_ENC, NULL, &k, &err), 0);
    ASSERT_EQ(strlen(aw_jwk_kid(k)), AW_JWK_THUMB_LEN);
    char t[AW_JWK_THUMB_LEN + 1];
    ASSERT_EQ(aw_jwk_thumbprint(k, t, &err), 0);
    ASSERT_STR(aw_jwk_kid(k), t);
    ASSERT_STR(aw_jwk_use(k), "enc");
    ASSERT_EQ(aw_jwk_check_fitconnect(k, AW_JWK_ENC, NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "4096 bits, is 2048");
    ASSERT_NOT_CONTAINS(err.msg, "key_ops");
    aw_jwk_free(k);
    ASSERT_EQ(aw_jwk_generate(1024, AW_JWK_ENC, NULL, &k, &err), AW_EINVAL);
    ASSERT_NULL(k);
}

TEST(load_file_errors_name_the_path) {
    aw_err_t err = {0};
    aw_jwk_t *k;
    ASSERT_EQ(aw_jwk_load_file("/nonexistent/x.jwk", &k, &err), AW_EIO);
    ASSERT_CONTAINS(err.msg, "/nonexistent/x.jwk");
    char path[4096];
    snprintf(path, sizeof path, "%s/bad.jwk", aw_test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("{\"kty\":\"RSA\"}", f);
    fclose(f);
    ASSERT_EQ(aw_jwk_load_file(path, &k, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "bad.jwk: jwk: member 'n' is missing");
}

TEST(jwks_parse_find_write) {
    aw_jwk_t *keys[] = {test_key("a", "enc.public"), test_key("a", "sig.public"),
                        test_key("b", "sig.private")};
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwks_write((const aw_jwk_t *const *)keys, 3, &out, &err), 0);
    ASSERT_NOT_CONTAINS(out.data, "\"d\"");
    aw_jwks_t set;
    ASSERT_MSG(aw_jwks_parse(out.data, out.len, &set, &err) == 0, "%s", err.msg);
    ASSERT_EQ(set.n, 3);
    ASSERT(aw_jwk_same_public(aw_jwks_find(&set, "TEST-ONLY-b-sig"), keys[2]));
    ASSERT_NULL(aw_jwks_find(&set, "nope"));
    ASSERT_NULL(aw_jwks_find(&set, NULL));
    aw_jwks_free(&set);
    aw_buf_free(&out);
    /* Duplicate kid, non-RSA member, bad shape. */
    aw_jwk_t *dup[] = {keys[1], keys[1]};
    ASSERT_EQ(aw_jwks_write((const aw_jwk_t *const *)dup, 2, &out, &err), 0);
    ASSERT_EQ(aw_jwks_parse(out.data, out.len, &set, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "appears more than once");
    aw_buf_free(&out);
    ASSERT_EQ(aw_jwks_parse("{\"keys\":{}}", 11, &set, &err), AW_EINVAL);
    ASSERT_EQ(aw_jwks_parse("{\"keys\":[{\"kty\":\"EC\"}]}", 23, &set, &err), AW_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "keys[0]");
    ASSERT_EQ(aw_jwks_parse("{\"keys\":[],\"keys\":[]}", 21, &set, &err), AW_EINVAL);
    for (int i = 0; i < 3; i++) aw_jwk_free(keys[i]);
}

/* Wycheproof JWK sets: the weak and malformed RSA keys must not parse;
 * nothing there is an RSA-4096 PS512 key, so no token may verify. */
TEST(wycheproof_jwk_sets) {
    json_t *v = spec_json("wycheproof/json_web_key_test.json");
    size_t gi;
    json_t *g;
    int refused_sets = 0;
    json_array_foreach(json_object_get(v, "testGroups"), gi, g) {
        const char *comment = json_string_value(json_object_get(g, "comment"));
        json_t *pub = json_object_get(g, "public");
        if (!pub) pub = json_object_get(g, "private");
        char *s = json_dumps(pub, JSON_COMPACT);
        aw_jwks_t set;
        aw_err_t err = {0};
        int rc = aw_jwks_parse(s, strlen(s), &set, &err);
        free(s);
        if (strcmp(comment, "keysize_too_small") == 0 || strcmp(comment, "exponentOne") == 0 ||
            strcmp(comment, "wrong_kty") == 0 || strcmp(comment, "jws_duplicate_kid") == 0)
            ASSERT_MSG(rc != 0, "%s parsed", comment);
        if (rc != 0) {
            refused_sets++;
            continue;
        }
        size_t ti;
        json_t *t;
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            const char *jws = json_string_value(json_object_get(t, "jws"));
            if (!jws) continue;
            json_t *h;
            if (aw_jws_peek_header(jws, strlen(jws), 0, &h, &err) != 0) continue;
            const aw_jwk_t *k = aw_jwks_find(&set, json_string_value(json_object_get(h, "kid")));
            json_decref(h);
            if (!k && set.n) k = set.keys[0];
            if (!k) continue;
            aw_jws_verified_t r;
            ASSERT_MSG(aw_jws_verify(k, jws, strlen(jws), NULL, &r, &err) != 0, "tcId %lld",
                       (long long)json_integer_value(json_object_get(t, "tcId")));
        }
        aw_jwks_free(&set);
    }
    ASSERT_GE(refused_sets, 4);
    json_decref(v);
}
