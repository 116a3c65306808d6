#include "jose/jws.h"

#include "base/b64.h"
#include "helpers.h"
#include "jose/internal.h"

static char *b64(const void *p, size_t n) {
    char *s = malloc(aw_b64url_enclen(n) + 1);
    aw_b64url_encode(p, n, s);
    return s;
}

TEST(sign_verify_roundtrip) {
    aw_jwk_t *priv = test_key("a", "sig.private"), *pub = test_key("a", "sig.public");
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jws_sign(priv, "JWT", "{\"a\":1}", 7, &out, &err), 0);
    aw_jws_verified_t v;
    ASSERT_MSG(aw_jws_verify(pub, out.data, out.len, NULL, &v, &err) == 0, "%s", err.msg);
    ASSERT_STR((char *)v.payload, "{\"a\":1}");
    ASSERT_STR(json_string_value(json_object_get(v.header, "alg")), "PS512");
    ASSERT_STR(json_string_value(json_object_get(v.header, "typ")), "JWT");
    ASSERT_STR(json_string_value(json_object_get(v.header, "kid")), "TEST-ONLY-a-sig");
    aw_jws_verified_free(&v);
    json_t *h;
    ASSERT_EQ(aw_jws_peek_header(out.data, out.len, 0, &h, &err), 0);
    ASSERT_STR(json_string_value(json_object_get(h, "kid")), "TEST-ONLY-a-sig");
    json_decref(h);
    /* A public key cannot sign. */
    ASSERT_EQ(aw_jws_sign(pub, NULL, "x", 1, &out, &err), AW_EINVAL);
    aw_buf_free(&out);
    aw_jwk_free(priv), aw_jwk_free(pub);
}

TEST(wrong_key_and_alterations_fail) {
    aw_jwk_t *priv = test_key("a", "sig.private"), *other = test_key("b", "sig.public");
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jws_sign(priv, NULL, "payload", 7, &out, &err), 0);
    aw_jws_verified_t v;
    ASSERT_EQ(aw_jws_verify(other, out.data, out.len, NULL, &v, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "signed with key 'TEST-ONLY-a-sig', not 'TEST-ONLY-b-sig'");
    json_t *j = aw_jwk_to_json(other, false);
    json_object_del(j, "kid");
    aw_jwk_t *nokid = jwk_from(j);
    json_decref(j);
    ASSERT_EQ(aw_jws_verify(nokid, out.data, out.len, NULL, &v, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "PS512 signature does not verify");
    ASSERT_NULL(v.payload);
    for (size_t i = 0; i < out.len; i++) {
        char *t = strdup(out.data);
        if (t[i] == '.') {
            free(t);
            continue;
        }
        t[i] = t[i] == 'A' ? 'Q' : 'A';
        int rc = aw_jws_verify(priv, t, out.len, NULL, &v, &err);
        ASSERT_MSG(rc != 0, "altered byte %zu accepted", i);
        free(t);
        if (i > 200 && i < out.len - 50) i += 37; /* sample the signature */
    }
    for (size_t i = 0; i < out.len; i++)
        ASSERT_MSG(aw_jws_verify(priv, out.data, i, NULL, &v, &err) != 0, "truncated at %zu", i);
    aw_buf_free(&out);
    aw_jwk_free(priv), aw_jwk_free(other), aw_jwk_free(nokid);
}

/* Signs `header` over "payload" with a's key using PS512 directly. */
static char *token_with_header(const aw_jwk_t *k, const char *header) {
    char *h = b64(header, strlen(header)), *p = b64("payload", 7);
    size_t n = strlen(h) + strlen(p) + 2;
    char *input = malloc(n);
    snprintf(input, n, "%s.%s", h, p);
    unsigned char *sig;
    size_t siglen;
    ASSERT_EQ(aw_jose__pss_sign(aw_jwk_pkey(k), EVP_sha512(), input, strlen(input), &sig, &siglen),
              0);
    char *s = b64(sig, siglen);
    char *out = malloc(n + strlen(s) + 2);
    sprintf(out, "%s.%s", input, s);
    free(h), free(p), free(input), free(sig), free(s);
    return out;
}

static void expect_refused(const aw_jwk_t *k, const char *header, int code, const char *needle) {
    char *t = token_with_header(k, header);
    aw_err_t err = {0};
    aw_jws_verified_t v;
    int rc = aw_jws_verify(k, t, strlen(t), NULL, &v, &err);
    ASSERT_MSG(rc == code, "%s: expected %d got %d (%s)", header, code, rc, err.msg);
    ASSERT_CONTAINS(err.msg, needle);
    free(t);
}

TEST(header_rules) {
    aw_jwk_t *k = test_key("a", "sig.private");
    char *ok = token_with_header(k, "{\"alg\":\"PS512\"}");
    aw_err_t err = {0};
    aw_jws_verified_t v;
    ASSERT_EQ(aw_jws_verify(k, ok, strlen(ok), NULL, &v, &err), 0);
    aw_jws_verified_free(&v);
    free(ok);
    expect_refused(k, "{\"alg\":\"none\"}", AW_EUNSUPPORTED, "alg 'none' is not accepted");
    expect_refused(k, "{\"alg\":\"HS512\"}", AW_EUNSUPPORTED, "HS512");
    expect_refused(k, "{\"alg\":\"RS512\"}", AW_EUNSUPPORTED, "RS512");
    expect_refused(k, "{\"alg\":\"PS256\"}", AW_EUNSUPPORTED, "PS256");
    expect_refused(k, "{\"typ\":\"JWT\"}", AW_EINVAL, "'alg' is missing");
    expect_refused(k, "{\"alg\":\"PS512\",\"alg\":\"PS512\"}", AW_EINVAL, "duplicate");
    expect_refused(k, "{\"alg\":\"PS512\",\"b64\":false,\"crit\":[\"b64\"]}", AW_EUNSUPPORTED,
                   "crit");
    expect_refused(k, "{\"alg\":\"PS512\",\"b64\":false}", AW_EUNSUPPORTED, "b64");
    expect_refused(k, "{\"alg\":\"PS512\",\"kid\":[1]}", AW_EINVAL, "'kid' must be a string");
    expect_refused(k, "\"PS512\"", AW_EINVAL, "invalid JSON");
    expect_refused(k, "[\"PS512\"]", AW_EINVAL, "must be a JSON object");
    /* Huge input. */
    size_t n = AW_JWS_DEFAULT_MAX + 1;
    char *huge = malloc(n);
    memset(huge, 'e', n);
    ASSERT_EQ(aw_jws_verify(k, huge, n, NULL, &v, &err), AW_ETOOBIG);
    free(huge);
    ASSERT_EQ(aw_jws_verify(k, "a.b", 3, NULL, &v, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "exactly 3 parts");
    aw_jwk_free(k);
}

TEST(rfc7520_4_2_ps384) {
    json_t *v = spec_json("panva-cookbook/rfc7520-4.2_rsa-pss_ps384.json");
    aw_jwk_t *k = jwk_from(json_object_get(json_object_get(v, "input"), "key"));
    const char *compact =
        json_string_value(json_object_get(json_object_get(v, "output"), "compact"));
    const char *payload =
        json_string_value(json_object_get(json_object_get(v, "input"), "payload"));
    aw_err_t err = {0};
    aw_jws_verified_t r;
    aw_jws_verify_opts_t o = {.alg = "PS384"};
    ASSERT_MSG(aw_jws_verify(k, compact, strlen(compact), &o, &r, &err) == 0, "%s", err.msg);
    ASSERT_STR((char *)r.payload, payload);
    aw_jws_verified_free(&r);
    /* Policy: without naming PS384 only PS512 is accepted. */
    ASSERT_EQ(aw_jws_verify(k, compact, strlen(compact), NULL, &r, &err), AW_EUNSUPPORTED);
    size_t n;
    char *latch = spec_file("latchset-rfc-vectors/rfc7520_4.2.jwsc", &n);
    if (latch) {
        latch[strcspn(latch, "\r\n")] = 0;
        ASSERT_EQ(aw_jws_verify(k, latch, strlen(latch), &o, &r, &err), 0);
        aw_jws_verified_free(&r);
        free(latch);
    }
    aw_jwk_free(k);
    json_decref(v);
}

/* Wycheproof JWS: every test signed for a PS512 key. */
TEST(wycheproof_jws_ps512) {
    json_t *v = spec_json("wycheproof/json_web_signature_test.json");
    size_t gi, ti;
    json_t *g, *t;
    int valid = 0, invalid = 0;
    json_array_foreach(json_object_get(v, "testGroups"), gi, g) {
        json_t *pub = json_object_get(g, "public");
        if (!json_is_string(json_object_get(pub, "alg")) ||
            strcmp(json_string_value(json_object_get(pub, "alg")), "PS512") != 0)
            continue;
        aw_jwk_t *k = jwk_from(pub);
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            const char *jws = json_string_value(json_object_get(t, "jws"));
            const char *result = json_string_value(json_object_get(t, "result"));
            long id = (long)json_integer_value(json_object_get(t, "tcId"));
            aw_err_t err = {0};
            aw_jws_verified_t r;
            int rc = aw_jws_verify(k, jws, strlen(jws), NULL, &r, &err);
            if (strcmp(result, "valid") == 0) {
                ASSERT_MSG(rc == 0, "tcId %ld: %s", id, err.msg);
                aw_jws_verified_free(&r);
                valid++;
            } else {
                ASSERT_MSG(rc != 0, "tcId %ld accepted", id);
                invalid++;
            }
        }
        aw_jwk_free(k);
    }
    ASSERT_EQ(valid, 4);
    ASSERT_GE(invalid, 7);
    json_decref(v);
}

/* Wycheproof RSASSA-PSS SHA-512/MGF1-SHA-512/salt 64, 4096-bit keys. */
TEST_T(wycheproof_pss_4096_sha512, 120) {
    json_t *v = spec_json("wycheproof/rsa_pss_4096_sha512_mgf1_64_test.json");
    size_t gi, ti;
    json_t *g, *t;
    int valid = 0, invalid = 0;
    json_array_foreach(json_object_get(v, "testGroups"), gi, g) {
        aw_jwk_t *k = jwk_from(json_object_get(g, "publicKeyJwk"));
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            size_t mn, sn;
            unsigned char *msg = unhex(json_string_value(json_object_get(t, "msg")), &mn);
            unsigned char *sig = unhex(json_string_value(json_object_get(t, "sig")), &sn);
            int rc = aw_jose__pss_verify(aw_jwk_pkey(k), EVP_sha512(), msg, mn, sig, sn);
            const char *result = json_string_value(json_object_get(t, "result"));
            long id = (long)json_integer_value(json_object_get(t, "tcId"));
            if (strcmp(result, "valid") == 0) {
                ASSERT_MSG(rc == 0, "tcId %ld rejected", id);
                valid++;
            } else if (strcmp(result, "invalid") == 0) {
                ASSERT_MSG(rc != 0, "tcId %ld accepted", id);
                invalid++;
            }
            free(msg), free(sig);
        }
        aw_jwk_free(k);
    }
    ASSERT_GE(valid, 100);
    ASSERT_GE(invalid, 10);
    json_decref(v);
}
