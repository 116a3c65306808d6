#include "jose/jwe.h"

#include <openssl/rand.h>
#include <zlib.h>

#include "base/b64.h"
#include "helpers.h"
#include "jose/internal.h"

static const char *MSG = "{\"name\":\"Erika Mustermann\",\"ort\":\"K\xc3\xb6ln\"}";

static char *b64(const void *p, size_t n) {
    char *s = malloc(aw_b64url_enclen(n) + 1);
    aw_b64url_encode(p, n, s);
    return s;
}

/* Builds a JWE with any header text (and optional raw-DEFLATE of pt), as
 * another implementation might: lets tests produce zip and odd headers. */
static char *make_jwe(const aw_jwk_t *key, const char *header, const void *pt, size_t ptlen,
                      bool deflate_it) {
    unsigned char cek[32], iv[12], tag[16], ek[1024];
    size_t eklen = sizeof ek;
    RAND_bytes(cek, 32);
    RAND_bytes(iv, 12);
    unsigned char *body = (unsigned char *)pt;
    size_t blen = ptlen;
    if (deflate_it) {
        z_stream z = {0};
        ASSERT_EQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
        blen = deflateBound(&z, ptlen);
        body = malloc(blen);
        z.next_in = (unsigned char *)pt;
        z.avail_in = (uInt)ptlen;
        z.next_out = body;
        z.avail_out = (uInt)blen;
        ASSERT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
        blen = z.total_out;
        deflateEnd(&z);
    }
    ASSERT_EQ(aw_jose__rsa_oaep_encrypt(aw_jwk_pkey(key), EVP_sha256(), cek, 32, ek, &eklen), 0);
    char *h = b64(header, strlen(header));
    unsigned char *ct = malloc(blen + 1);
    ASSERT_EQ(aw_jose__gcm_encrypt(cek, iv, (unsigned char *)h, strlen(h), body, blen, ct, tag), 0);
    char *e = b64(ek, eklen), *i = b64(iv, 12), *c = b64(ct, blen), *t = b64(tag, 16);
    size_t n = strlen(h) + strlen(e) + strlen(i) + strlen(c) + strlen(t) + 8;
    char *out = malloc(n);
    snprintf(out, n, "%s.%s.%s.%s.%s", h, e, i, c, t);
    free(h), free(e), free(i), free(c), free(t), free(ct);
    if (deflate_it) free(body);
    return out;
}

TEST(seal_open_roundtrip) {
    aw_jwk_t *pub = test_key("a", "enc.public"), *priv = test_key("a", "enc.private");
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    char tag[AW_JWE_TAG_LEN + 1];
    ASSERT_EQ(aw_jwe_seal(pub, MSG, strlen(MSG), AW_JWE_CTY_JSON, &out, tag, &err), 0);
    /* The tag is the last part; the header names alg, enc, cty and kid. */
    ASSERT_STR(strrchr(out.data, '.') + 1, tag);
    aw_jwe_info_t info;
    ASSERT_EQ(aw_jwe_inspect(out.data, out.len, 0, &info, &err), 0);
    ASSERT_STR(info.kid, "TEST-ONLY-a-enc");
    ASSERT_STR(info.cty, "application/json");
    ASSERT_STR(info.tag, tag);
    ASSERT(!info.zip);
    ASSERT_STR(json_string_value(json_object_get(info.header, "alg")), "RSA-OAEP-256");
    ASSERT_STR(json_string_value(json_object_get(info.header, "enc")), "A256GCM");
    ASSERT_EQ(json_object_get(info.header, "zip"), NULL);
    aw_jwe_info_free(&info);

    aw_jwe_opened_t o;
    ASSERT_MSG(aw_jwe_open(priv, out.data, out.len, 0, &o, &err) == 0, "%s", err.msg);
    ASSERT_EQ(o.len, strlen(MSG));
    ASSERT_STR((char *)o.plaintext, MSG);
    ASSERT_STR(o.info.tag, tag);
    aw_jwe_opened_free(&o);

    /* Empty plaintext and no cty work too; each seal is fresh. */
    aw_buf_t out2 = AW_BUF_INIT;
    ASSERT_EQ(aw_jwe_seal(pub, "", 0, NULL, &out2, NULL, &err), 0);
    ASSERT_EQ(aw_jwe_open(priv, out2.data, out2.len, 0, &o, &err), 0);
    ASSERT_EQ(o.len, 0);
    ASSERT_NULL(o.info.cty);
    aw_jwe_opened_free(&o);
    ASSERT(strcmp(out.data, out2.data) != 0);
    aw_buf_free(&out), aw_buf_free(&out2);
    aw_jwk_free(pub), aw_jwk_free(priv);
}

TEST(wrong_key_fails_cleanly) {
    aw_jwk_t *pub = test_key("a", "enc.public"), *other = test_key("b", "enc.private");
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwe_seal(pub, MSG, strlen(MSG), NULL, &out, NULL, &err), 0);
    aw_jwe_opened_t o;
    ASSERT_EQ(aw_jwe_open(other, out.data, out.len, 0, &o, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "encrypted for key 'TEST-ONLY-a-enc', not 'TEST-ONLY-b-enc'");
    /* Same kid but the wrong key: the unwrap fails, reported as a tag failure. */
    json_t *j = aw_jwk_to_json(other, true);
    json_object_set_new(j, "kid", json_string("TEST-ONLY-a-enc"));
    aw_jwk_t *liar = jwk_from(j);
    json_decref(j);
    ASSERT_EQ(aw_jwe_open(liar, out.data, out.len, 0, &o, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "decryption failed");
    ASSERT_NULL(o.plaintext);
    /* A public key cannot decrypt. */
    ASSERT_EQ(aw_jwe_open(pub, out.data, out.len, 0, &o, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "private key");
    aw_buf_free(&out);
    aw_jwk_free(pub), aw_jwk_free(other), aw_jwk_free(liar);
}

TEST(altered_tokens_fail) {
    aw_jwk_t *priv = test_key("a", "enc.private");
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwe_seal(priv, MSG, strlen(MSG), "application/json", &out, NULL, &err), 0);
    aw_jose__part_t p[5];
    ASSERT_EQ(aw_jose__split(out.data, out.len, 5, p, "t", &err), 0);
    /* Flip one character in the middle of each part (keeping base64url
     * valid): all must fail, none may crash. */
    for (int part = 0; part < 5; part++) {
        char *t = strdup(out.data);
        size_t off = (size_t)(p[part].p - out.data) + p[part].n / 2;
        t[off] = t[off] == 'A' ? 'B' : 'A';
        aw_jwe_opened_t o;
        int rc = aw_jwe_open(priv, t, strlen(t), 0, &o, &err);
        ASSERT_MSG(rc != 0, "altered part %d accepted", part);
        if (part >= 1)
            ASSERT_MSG(rc == AW_ECRYPTO || rc == AW_EINVAL, "part %d: %s", part, err.msg);
        free(t);
    }
    /* Altered tag: a fresh valid-looking tag. */
    char *t = strdup(out.data);
    memcpy(strrchr(t, '.') + 1, "AAAAAAAAAAAAAAAAAAAAAA", 22);
    aw_jwe_opened_t o;
    ASSERT_EQ(aw_jwe_open(priv, t, strlen(t), 0, &o, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "decryption failed");
    free(t);
    /* Altered header: same meaning, different bytes (AAD changes). */
    const char *h2txt =
        "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"cty\":\"application/xml\"}";
    char *h2 = b64(h2txt, strlen(h2txt));
    size_t n = strlen(h2) + out.len;
    t = malloc(n + 1);
    snprintf(t, n + 1, "%s%s", h2, strchr(out.data, '.'));
    ASSERT_EQ(aw_jwe_open(priv, t, strlen(t), 0, &o, &err), AW_ECRYPTO);
    free(t), free(h2);
    /* Every truncation is rejected. */
    for (size_t i = 0; i < out.len; i++) {
        int rc = aw_jwe_open(priv, out.data, i, 0, &o, &err);
        ASSERT_MSG(rc != 0, "truncated at %zu accepted", i);
    }
    ASSERT_EQ(aw_jwe_open(priv, out.data, 20, 0, &o, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "exactly 5 parts");
    aw_buf_free(&out);
    aw_jwk_free(priv);
}

static void expect_header_refused(const aw_jwk_t *k, const char *header, int code,
                                  const char *needle) {
    char *t = make_jwe(k, header, "x", 1, false);
    aw_err_t err = {0};
    aw_jwe_opened_t o;
    int rc = aw_jwe_open(k, t, strlen(t), 0, &o, &err);
    ASSERT_MSG(rc == code, "%s: expected %d got %d (%s)", header, code, rc, err.msg);
    ASSERT_CONTAINS(err.msg, needle);
    aw_jwe_info_t info;
    ASSERT_EQ(aw_jwe_inspect(t, strlen(t), 0, &info, &err), code);
    free(t);
}

TEST(other_algorithms_and_bad_headers_refused) {
    aw_jwk_t *k = test_key("a", "enc.private");
    expect_header_refused(k, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", AW_EUNSUPPORTED,
                          "alg 'RSA1_5' is not supported");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}", AW_EUNSUPPORTED,
                          "alg 'RSA-OAEP'");
    expect_header_refused(k, "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}", AW_EUNSUPPORTED, "dir");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A128GCM\"}", AW_EUNSUPPORTED,
                          "enc 'A128GCM' is not supported");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256CBC-HS512\"}",
                          AW_EUNSUPPORTED, "A256CBC-HS512");
    expect_header_refused(k, "{\"enc\":\"A256GCM\"}", AW_EINVAL, "'alg' is missing");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP-256\"}", AW_EINVAL, "'enc' is missing");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"zip\":\"GZ\"}",
                          AW_EUNSUPPORTED, "zip must be");
    expect_header_refused(
        k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"crit\":[\"exp\"],\"exp\":1}",
        AW_EUNSUPPORTED, "crit");
    expect_header_refused(k,
                          "{\"alg\":\"RSA-OAEP-256\",\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\"}",
                          AW_EINVAL, "duplicate");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"enc\":\"A128GCM\"}",
                          AW_EINVAL, "duplicate");
    expect_header_refused(k, "[\"alg\"]", AW_EINVAL, "must be a JSON object");
    expect_header_refused(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"kid\":5}", AW_EINVAL,
                          "'kid' must be a string");
    aw_jwk_free(k);
}

TEST(size_bounds) {
    aw_jwk_t *k = test_key("a", "enc.private");
    aw_err_t err = {0};
    aw_jwe_opened_t o;
    /* A huge token is refused before any work. */
    size_t n = AW_JWE_DEFAULT_MAX * 2;
    char *huge = malloc(n);
    memset(huge, 'A', n);
    ASSERT_EQ(aw_jwe_open(k, huge, n, 0, &o, &err), AW_ETOOBIG);
    ASSERT_CONTAINS(err.msg, "exceeds the limit");
    aw_jwe_info_t info;
    ASSERT_EQ(aw_jwe_inspect(huge, n, 1000, &info, &err), AW_ETOOBIG);
    free(huge);
    /* Plaintext bound. */
    char pt[5000];
    memset(pt, 'x', sizeof pt);
    aw_buf_t out = AW_BUF_INIT;
    ASSERT_EQ(aw_jwe_seal(k, pt, sizeof pt, NULL, &out, NULL, &err), 0);
    ASSERT_EQ(aw_jwe_open(k, out.data, out.len, 4999, &o, &err), AW_ETOOBIG);
    ASSERT_EQ(aw_jwe_open(k, out.data, out.len, 5000, &o, &err), 0);
    aw_jwe_opened_free(&o);
    /* NUL inside and odd part counts. */
    ASSERT_EQ(aw_jwe_open(k, "a.b\0c.d.e", 9, 0, &o, &err), AW_EINVAL);
    ASSERT_EQ(aw_jwe_open(k, "a.b.c.d.e.f", 11, 0, &o, &err), AW_EINVAL);
    ASSERT_EQ(aw_jwe_open(k, "", 0, 0, &o, &err), AW_EINVAL);
    aw_buf_free(&out);
    aw_jwk_free(k);
}

TEST(zip_def_accepted_with_bound) {
    aw_jwk_t *k = test_key("a", "enc.private");
    const char *hdr = "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"zip\":\"DEF\",\"cty\":"
                      "\"application/json\"}";
    char *t = make_jwe(k, hdr, MSG, strlen(MSG), true);
    aw_err_t err = {0};
    aw_jwe_opened_t o;
    ASSERT_MSG(aw_jwe_open(k, t, strlen(t), 0, &o, &err) == 0, "%s", err.msg);
    ASSERT_STR((char *)o.plaintext, MSG);
    ASSERT(o.info.zip);
    aw_jwe_opened_free(&o);
    free(t);
    /* A zip bomb: 8 MiB of zeros deflate to a few KB; bound 1 MiB. */
    size_t big = 8u << 20;
    char *zeros = calloc(1, big);
    t = make_jwe(k, hdr, zeros, big, true);
    ASSERT_LT(strlen(t), 64 * 1024);
    ASSERT_EQ(aw_jwe_open(k, t, strlen(t), 1u << 20, &o, &err), AW_ETOOBIG);
    ASSERT_CONTAINS(err.msg, "inflated plaintext exceeds");
    ASSERT_EQ(aw_jwe_open(k, t, strlen(t), big, &o, &err), 0);
    ASSERT_EQ(o.len, big);
    aw_jwe_opened_free(&o);
    free(t), free(zeros);
    /* zip DEF over content that is not DEFLATE. */
    t = make_jwe(k, hdr, "\xff\xfe garbage", 10, false);
    ASSERT_EQ(aw_jwe_open(k, t, strlen(t), 0, &o, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "DEFLATE");
    free(t);
    aw_jwk_free(k);
}

/* RFC 7520 §5.2 uses RSA-OAEP (SHA-1) + A256GCM: our public API refuses
 * the alg, the primitives (OAEP with SHA-1 here, A256GCM) reproduce it. */
TEST(rfc7520_5_2_vector) {
    json_t *v = spec_json("panva-cookbook/rfc7520-5.2_rsa-oaep_a256gcm.json");
    aw_jwk_t *k = jwk_from(json_object_get(json_object_get(v, "input"), "key"));
    const char *compact =
        json_string_value(json_object_get(json_object_get(v, "output"), "compact"));
    const char *pt = json_string_value(json_object_get(json_object_get(v, "input"), "plaintext"));
    json_t *gen = json_object_get(v, "generated");
    aw_err_t err = {0};
    aw_jwe_opened_t o;
    ASSERT_EQ(aw_jwe_open(k, compact, strlen(compact), 0, &o, &err), AW_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "alg 'RSA-OAEP' is not supported");
    /* The latchset copy of the compact form is the same token. */
    size_t ln;
    char *latch = spec_file("latchset-rfc-vectors/rfc7520_5.2.jwec", &ln);
    if (latch) {
        latch[strcspn(latch, "\r\n")] = 0;
        ASSERT_STR(latch, compact);
        free(latch);
    }
    aw_jose__part_t p[5];
    ASSERT_EQ(aw_jose__split(compact, strlen(compact), 5, p, "t", &err), 0);
    unsigned char *ek, *iv, *ct, *tag, *cek_exp, *iv_exp;
    size_t eklen, ivlen, ctlen, taglen, ceklen, iv_explen;
    ASSERT_EQ(aw_jose__b64_decode(p[1].p, p[1].n, &ek, &eklen, "ek", &err), 0);
    ASSERT_EQ(aw_jose__b64_decode(p[2].p, p[2].n, &iv, &ivlen, "iv", &err), 0);
    ASSERT_EQ(aw_jose__b64_decode(p[3].p, p[3].n, &ct, &ctlen, "ct", &err), 0);
    ASSERT_EQ(aw_jose__b64_decode(p[4].p, p[4].n, &tag, &taglen, "tag", &err), 0);
    const char *gc = json_string_value(json_object_get(gen, "cek"));
    const char *gi = json_string_value(json_object_get(gen, "iv"));
    ASSERT_EQ(aw_jose__b64_decode(gc, strlen(gc), &cek_exp, &ceklen, "cek", &err), 0);
    ASSERT_EQ(aw_jose__b64_decode(gi, strlen(gi), &iv_exp, &iv_explen, "iv", &err), 0);
    unsigned char cek[512];
    size_t cl = sizeof cek;
    ASSERT_EQ(aw_jose__rsa_oaep_decrypt(aw_jwk_pkey(k), EVP_sha1(), ek, eklen, cek, &cl), 0);
    ASSERT_EQ(cl, 32);
    ASSERT_MEM(cek, cek_exp, 32);
    ASSERT_EQ(ivlen, 12);
    ASSERT_MEM(iv, iv_exp, 12);
    unsigned char *out = malloc(ctlen + 1);
    ASSERT_EQ(
        aw_jose__gcm_decrypt(cek, iv, (const unsigned char *)p[0].p, p[0].n, ct, ctlen, tag, out),
        0);
    ASSERT_EQ(ctlen, strlen(pt));
    ASSERT_MEM(out, pt, ctlen);
    /* Content encryption is deterministic given CEK and IV. */
    unsigned char *ct2 = malloc(ctlen), tag2[16];
    ASSERT_EQ(aw_jose__gcm_encrypt(cek, iv, (const unsigned char *)p[0].p, p[0].n,
                                   (const unsigned char *)pt, ctlen, ct2, tag2),
              0);
    ASSERT_MEM(ct2, ct, ctlen);
    ASSERT_MEM(tag2, tag, 16);
    /* The SHA-256 variant (our alg) does not unwrap this key. */
    cl = sizeof cek;
    ASSERT_NE(aw_jose__rsa_oaep_decrypt(aw_jwk_pkey(k), EVP_sha256(), ek, eklen, cek, &cl), 0);
    free(ek), free(iv), free(ct), free(tag), free(cek_exp), free(iv_exp), free(out), free(ct2);
    aw_jwk_free(k);
    json_decref(v);
}

/* Wycheproof JWE: the RSA-OAEP-256 group. A256GCM must decrypt to the
 * given plaintext; other encs and RSA1_5 must be refused. */
TEST(wycheproof_jwe_rsa_oaep_256) {
    json_t *v = spec_json("wycheproof/json_web_encryption_test.json");
    size_t gi, ti;
    json_t *g, *t;
    int decrypted = 0, refused = 0;
    json_array_foreach(json_object_get(v, "testGroups"), gi, g) {
        json_t *priv = json_object_get(g, "private");
        if (!json_is_string(json_object_get(priv, "alg")) ||
            strcmp(json_string_value(json_object_get(priv, "alg")), "RSA-OAEP-256") != 0)
            continue;
        aw_jwk_t *k = jwk_from(priv);
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            const char *jwe = json_string_value(json_object_get(t, "jwe"));
            const char *result = json_string_value(json_object_get(t, "result"));
            const char *enc = json_string_value(json_object_get(t, "enc"));
            aw_err_t err = {0};
            aw_jwe_opened_t o;
            int rc = aw_jwe_open(k, jwe, strlen(jwe), 0, &o, &err);
            long id = (long)json_integer_value(json_object_get(t, "tcId"));
            if (strcmp(result, "valid") == 0 && enc && strcmp(enc, "A256GCM") == 0) {
                ASSERT_MSG(rc == 0, "tcId %ld: %s", id, err.msg);
                size_t n;
                unsigned char *pt = unhex(json_string_value(json_object_get(t, "pt")), &n);
                ASSERT_EQ(o.len, n);
                ASSERT_MEM(o.plaintext, pt, n);
                free(pt);
                aw_jwe_opened_free(&o);
                decrypted++;
            } else {
                ASSERT_MSG(rc != 0, "tcId %ld accepted", id);
                refused++;
            }
        }
        aw_jwk_free(k);
    }
    ASSERT_GE(decrypted, 1);
    ASSERT_GE(refused, 6);
    json_decref(v);
}

/* Wycheproof RSAES-OAEP SHA-256/MGF1-SHA-256, 4096-bit (the FIT-Connect
 * key size) against our unwrap primitive. JOSE uses no OAEP label, so
 * labelled cases are skipped. */
TEST_T(wycheproof_rsa_oaep_256_4096, 120) {
    json_t *v = spec_json("wycheproof/rsa_oaep_4096_sha256_mgf1sha256_test.json");
    size_t gi, ti;
    json_t *g, *t;
    int checked = 0;
    json_array_foreach(json_object_get(v, "testGroups"), gi, g) {
        aw_jwk_t *k = jwk_from(json_object_get(g, "privateKeyJwk"));
        ASSERT_EQ(aw_jwk_bits(k), 4096);
        json_array_foreach(json_object_get(g, "tests"), ti, t) {
            if (strlen(json_string_value(json_object_get(t, "label"))) != 0) continue;
            size_t ctn, msgn;
            unsigned char *ct = unhex(json_string_value(json_object_get(t, "ct")), &ctn);
            unsigned char *msg = unhex(json_string_value(json_object_get(t, "msg")), &msgn);
            unsigned char out[512];
            size_t outlen = sizeof out;
            int rc = aw_jose__rsa_oaep_decrypt(aw_jwk_pkey(k), EVP_sha256(), ct, ctn, out, &outlen);
            const char *result = json_string_value(json_object_get(t, "result"));
            long id = (long)json_integer_value(json_object_get(t, "tcId"));
            if (strcmp(result, "valid") == 0) {
                ASSERT_MSG(rc == 0, "tcId %ld not decrypted", id);
                ASSERT_EQ(outlen, msgn);
                ASSERT_MEM(out, msg, msgn);
            } else if (strcmp(result, "invalid") == 0) {
                ASSERT_MSG(rc != 0, "tcId %ld decrypted", id);
            }
            checked++;
            free(ct), free(msg);
        }
        aw_jwk_free(k);
    }
    ASSERT_GE(checked, 20);
    json_decref(v);
}

/* ---- streaming ---------------------------------------------------------- */

static int sink_buf(void *ctx, const unsigned char *p, size_t n) {
    aw_buf_append(ctx, p, n);
    return 0;
}

static int sink_fail(void *ctx, const unsigned char *p, size_t n) {
    (void)ctx, (void)p, (void)n;
    return -1;
}

/* Streams tok in chunks of `step`; returns the finish/feed code. */
static int stream_open(const aw_jwk_t *k, const char *tok, size_t len, size_t step, size_t max_pt,
                       aw_buf_t *out, aw_jwe_info_t *info, aw_err_t *err) {
    aw_jwe_stream_t *s;
    ASSERT_EQ(aw_jwe_stream_new(k, 0, max_pt, k ? sink_buf : NULL, out, &s, err), 0);
    int rc = 0;
    for (size_t off = 0; off < len && rc == 0; off += step)
        rc = aw_jwe_stream_feed(s, tok + off, len - off < step ? len - off : step, err);
    if (rc == 0) rc = aw_jwe_stream_finish(s, info, err);
    aw_jwe_stream_free(s);
    return rc;
}

static char *big_text(size_t n) {
    char *t = malloc(n + 1);
    for (size_t i = 0; i < n; i++) t[i] = "Hundesteuer K\xc3\xb6ln 0123456789 "[i % 30];
    t[n] = 0;
    return t;
}

TEST(stream_matches_open_for_any_chunking) {
    aw_jwk_t *k = test_key("a", "enc.private");
    size_t n = 20000;
    char *pt = big_text(n);
    aw_buf_t tok = AW_BUF_INIT;
    aw_err_t err = {0};
    char tag[AW_JWE_TAG_LEN + 1];
    ASSERT_EQ(aw_jwe_seal(k, pt, n, "application/pdf", &tok, tag, &err), 0);
    char *zipped =
        make_jwe(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}", pt, n, true);
    size_t steps[] = {1, 3, 7, 100, 4095, 4096, 5000, 1 << 20};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        for (int z = 0; z < 2; z++) {
            const char *t = z ? zipped : tok.data;
            aw_buf_t out = AW_BUF_INIT;
            aw_jwe_info_t info;
            int rc = stream_open(k, t, strlen(t), steps[i], 0, &out, &info, &err);
            ASSERT_MSG(rc == 0, "step %zu zip %d: %s", steps[i], z, err.msg);
            ASSERT_EQ(out.len, n);
            ASSERT_MEM(out.data, pt, n);
            ASSERT_STR(info.tag, strrchr(t, '.') + 1);
            ASSERT_EQ(info.zip, z);
            if (!z) ASSERT_STR(info.cty, "application/pdf");
            aw_jwe_info_free(&info);
            aw_buf_free(&out);
            /* Check-only mode agrees with aw_jwe_inspect. */
            aw_jwe_info_t a, b;
            ASSERT_EQ(stream_open(NULL, t, strlen(t), steps[i], 0, NULL, &a, &err), 0);
            ASSERT_EQ(aw_jwe_inspect(t, strlen(t), 0, &b, &err), 0);
            ASSERT_STR(a.tag, b.tag);
            ASSERT_EQ(a.ciphertext_len, b.ciphertext_len);
            ASSERT(json_equal(a.header, b.header));
            aw_jwe_info_free(&a), aw_jwe_info_free(&b);
        }
    }
    free(zipped), free(pt);
    aw_buf_free(&tok);
    aw_jwk_free(k);
}

TEST(stream_refuses_bad_tokens) {
    aw_jwk_t *k = test_key("a", "enc.private"), *other = test_key("b", "enc.private");
    char *pt = big_text(9000);
    aw_buf_t tok = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwe_seal(k, pt, 9000, NULL, &tok, NULL, &err), 0);
    aw_buf_t out = AW_BUF_INIT;
    aw_jwe_info_t info;
    /* Altered ciphertext: detected at finish. */
    char *t = strdup(tok.data);
    size_t mid = strlen(t) / 2;
    t[mid] = t[mid] == 'A' ? 'B' : 'A';
    ASSERT_EQ(stream_open(k, t, strlen(t), 1000, 0, &out, &info, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "discard");
    aw_buf_free(&out);
    free(t);
    /* Wrong key (kid names the right one). */
    ASSERT_EQ(stream_open(other, tok.data, tok.len, 512, 0, &out, &info, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "encrypted for key 'TEST-ONLY-a-enc'");
    aw_buf_free(&out);
    /* Truncations. */
    for (size_t cut = 0; cut < tok.len; cut += 97) {
        int rc = stream_open(k, tok.data, cut, 333, 0, &out, &info, &err);
        ASSERT_MSG(rc != 0, "truncated at %zu accepted", cut);
        aw_buf_free(&out);
    }
    /* Bounds. */
    ASSERT_EQ(stream_open(k, tok.data, tok.len, 4096, 8999, &out, &info, &err), AW_ETOOBIG);
    aw_buf_free(&out);
    aw_jwe_stream_t *s;
    ASSERT_EQ(aw_jwe_stream_new(NULL, 1000, 0, NULL, NULL, &s, &err), 0);
    ASSERT_EQ(aw_jwe_stream_feed(s, tok.data, tok.len, &err), AW_ETOOBIG);
    ASSERT_EQ(aw_jwe_stream_finish(s, &info, &err), AW_ETOOBIG); /* sticky */
    aw_jwe_stream_free(s);
    /* Other alg, duplicate names, six parts. */
    char *bad = make_jwe(k, "{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}", "x", 1, false);
    ASSERT_EQ(stream_open(k, bad, strlen(bad), 10, 0, &out, &info, &err), AW_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "RSA1_5");
    free(bad);
    bad = make_jwe(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"enc\":\"A256GCM\"}", "x", 1,
                   false);
    ASSERT_EQ(stream_open(NULL, bad, strlen(bad), 10, 0, NULL, &info, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "duplicate");
    free(bad);
    aw_buf_t six = AW_BUF_INIT;
    aw_buf_printf(&six, "%s.AAAA", tok.data);
    ASSERT_EQ(stream_open(NULL, six.data, six.len, 100, 0, NULL, &info, &err), AW_EINVAL);
    aw_buf_free(&six);
    /* A failing sink aborts. */
    ASSERT_EQ(aw_jwe_stream_new(k, 0, 0, sink_fail, NULL, &s, &err), 0);
    ASSERT_EQ(aw_jwe_stream_feed(s, tok.data, tok.len, &err), AW_EIO);
    aw_jwe_stream_free(s);
    /* Zip bomb through the stream. */
    size_t big = 8u << 20;
    char *zeros = calloc(1, big);
    char *bomb = make_jwe(k, "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A256GCM\",\"zip\":\"DEF\"}",
                          zeros, big, true);
    ASSERT_EQ(stream_open(k, bomb, strlen(bomb), 4096, 1u << 20, &out, &info, &err), AW_ETOOBIG);
    ASSERT_LE(out.len, 1u << 20);
    aw_buf_free(&out);
    free(bomb), free(zeros), free(pt);
    aw_buf_free(&tok);
    aw_jwk_free(k), aw_jwk_free(other);
}

/* Streams tok through a stream with a choice of keys; the finish/feed code. */
static int stream_keys(const aw_jwk_t *const *keys, size_t n, const char *tok, aw_buf_t *out,
                       aw_err_t *err) {
    aw_jwe_stream_t *s;
    ASSERT_EQ(aw_jwe_stream_new_keys(keys, n, 0, 0, sink_buf, out, &s, err), 0);
    int rc = 0;
    size_t len = strlen(tok);
    for (size_t off = 0; off < len && rc == 0; off += 333)
        rc = aw_jwe_stream_feed(s, tok + off, len - off < 333 ? len - off : 333, err);
    aw_jwe_info_t info;
    if (rc == 0) rc = aw_jwe_stream_finish(s, &info, err);
    if (rc == 0) aw_jwe_info_free(&info);
    aw_jwe_stream_free(s);
    return rc;
}

/* After a key rotation an authority holds several private keys: the
 * token's kid picks one; a kid none of them has is AW_ENOTFOUND (a key
 * missing, not a broken token); a token without kid gets the first. */
TEST(a_choice_of_keys_by_kid) {
    aw_jwk_t *a = test_key("a", "enc.private"), *b = test_key("b", "enc.private");
    aw_jwk_t *apub = test_key("a", "enc.public"), *bpub = test_key("b", "enc.public");
    const aw_jwk_t *both[] = {b, a}, *only_b[] = {b};
    aw_err_t err;
    for (int i = 0; i < 2; i++) {
        aw_buf_t tok = AW_BUF_INIT, out = AW_BUF_INIT;
        ASSERT_EQ(aw_jwe_seal(i ? bpub : apub, MSG, strlen(MSG), NULL, &tok, NULL, &err), 0);
        ASSERT_MSG(stream_keys(both, 2, tok.data, &out, &err) == 0, "%s", err.msg);
        ASSERT_EQ(out.len, strlen(MSG));
        ASSERT(memcmp(out.data, MSG, out.len) == 0);
        aw_buf_free(&out);
        aw_buf_free(&tok);
    }
    ASSERT(aw_jwe_pick_key(both, 2, aw_jwk_kid(a)) == a);
    ASSERT(aw_jwe_pick_key(both, 2, NULL) == b);
    ASSERT(aw_jwe_pick_key(only_b, 1, aw_jwk_kid(a)) == NULL);
    /* sealed for a, only b given */
    aw_buf_t tok = AW_BUF_INIT, out = AW_BUF_INIT;
    ASSERT_EQ(aw_jwe_seal(apub, MSG, strlen(MSG), NULL, &tok, NULL, &err), 0);
    ASSERT_EQ(stream_keys(only_b, 1, tok.data, &out, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, aw_jwk_kid(a));
    ASSERT_CONTAINS(err.msg, "not among the 1 key(s) given");
    ASSERT_EQ(out.len, 0);
    aw_buf_free(&tok);
    /* a key without kid stands for any kid (one key file from before kids) */
    json_t *j = aw_jwk_to_json(a, true);
    json_object_del(j, "kid");
    aw_jwk_t *nokid;
    ASSERT_EQ(aw_jwk_from_json(j, &nokid, &err), 0);
    json_decref(j);
    const aw_jwk_t *b_then_nokid[] = {b, nokid};
    ASSERT(aw_jwe_pick_key(b_then_nokid, 2, aw_jwk_kid(a)) == nokid);
    ASSERT_EQ(aw_jwe_seal(apub, MSG, strlen(MSG), NULL, &tok, NULL, &err), 0);
    ASSERT_MSG(stream_keys(b_then_nokid, 2, tok.data, &out, &err) == 0, "%s", err.msg);
    ASSERT_EQ(out.len, strlen(MSG));
    aw_buf_reset(&out);
    aw_buf_free(&tok);
    aw_jwk_free(nokid);
    /* public keys cannot decrypt */
    const aw_jwk_t *pubs[] = {apub};
    aw_jwe_stream_t *s;
    ASSERT_EQ(aw_jwe_stream_new_keys(pubs, 1, 0, 0, sink_buf, &out, &s, &err), AW_EINVAL);
    ASSERT_EQ(aw_jwe_stream_new_keys(pubs, 0, 0, 0, sink_buf, &out, &s, &err), AW_EINVAL);
    aw_buf_free(&out);
    aw_jwk_free(a), aw_jwk_free(b), aw_jwk_free(apub), aw_jwk_free(bpub);
}
