/* Interop both ways with the `jose` npm package (tests/node). */
#include "jose/jwe.h"
#include "jose/set.h"

#include "helpers.h"

static void need_node(void) {
    if (aw_test_sh("command -v node >/dev/null && test -d %s/tests/node/node_modules/jose",
                   aw_test_srcdir()) != 0)
        TEST_SKIP("node or tests/node/node_modules/jose missing (make check installs them)");
}

static int peer(const char *cmd, const char *set, const char *key, const char *in,
                const char *out) {
    return aw_test_sh("cd %s/tests/node && node jose-interop.mjs %s %s/tests/data/jose/%s/%s.jwk "
                      "%s/%s %s/%s > %s/%s.stdout",
                      aw_test_srcdir(), cmd, aw_test_srcdir(), set, key, aw_test_tmpdir(), in,
                      aw_test_tmpdir(), out, aw_test_tmpdir(), out);
}

static void write_tmp(const char *name, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", aw_test_tmpdir(), name);
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *read_tmp(const char *name, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", aw_test_tmpdir(), name);
    char *s = aw_test_read_file(path, len);
    ASSERT_MSG(s != NULL, "%s missing", path);
    return s;
}

/* ~3 KB of JSON with umlauts, like a form submission. */
static char *sample_data(size_t *len) {
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_puts(&b, "{\"antragsteller\":{\"name\":\"J\xc3\xbcrgen M\xc3\xbcller\"},\"hunde\":[");
    for (int i = 0; i < 40; i++)
        aw_buf_printf(&b, "%s{\"chip\":\"2760000000%05d\",\"rasse\":\"Dackel\"}", i ? "," : "", i);
    aw_buf_puts(&b, "]}");
    return aw_buf_take(&b, len);
}

TEST_T(our_jwe_decrypts_in_node, 60) {
    need_node();
    aw_jwk_t *pub = test_key("a", "enc.public");
    size_t n;
    char *data = sample_data(&n);
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwe_seal(pub, data, n, AW_JWE_CTY_JSON, &out, NULL, &err), 0);
    write_tmp("ours.jwe", out.data, out.len);
    ASSERT_EQ(peer("decrypt", "a", "enc.private", "ours.jwe", "ours.pt"), 0);
    size_t m;
    char *pt = read_tmp("ours.pt", &m);
    ASSERT_EQ(m, n);
    ASSERT_MEM(pt, data, n);
    char *hdr = read_tmp("ours.pt.stdout", NULL);
    ASSERT_CONTAINS(hdr, "\"cty\":\"application/json\"");
    ASSERT_CONTAINS(hdr, "\"kid\":\"TEST-ONLY-a-enc\"");
    /* node refuses the token once altered, as we do. */
    out.data[out.len - 3] = out.data[out.len - 3] == 'A' ? 'B' : 'A';
    write_tmp("bad.jwe", out.data, out.len);
    ASSERT_NE(peer("decrypt", "a", "enc.private", "bad.jwe", "bad.pt"), 0);
    free(pt), free(hdr), free(data);
    aw_buf_free(&out);
    aw_jwk_free(pub);
}

static int sink_buf(void *ctx, const unsigned char *p, size_t n) {
    aw_buf_append(ctx, p, n);
    return 0;
}

TEST_T(node_jwe_decrypts_here, 60) {
    need_node();
    size_t n;
    char *data = sample_data(&n);
    write_tmp("data.json", data, n);
    ASSERT_EQ(peer("encrypt", "a", "enc.public", "data.json", "theirs.jwe"), 0);
    size_t tn;
    char *tok = read_tmp("theirs.jwe", &tn);
    aw_jwk_t *priv = test_key("a", "enc.private"), *other = test_key("b", "enc.private");
    aw_jwe_opened_t o;
    aw_err_t err = {0};
    ASSERT_MSG(aw_jwe_open(priv, tok, tn, 0, &o, &err) == 0, "%s", err.msg);
    ASSERT_EQ(o.len, n);
    ASSERT_MEM(o.plaintext, data, n);
    ASSERT_STR(o.info.cty, "application/json");
    ASSERT_STR(o.info.tag, strrchr(tok, '.') + 1);
    aw_jwe_opened_free(&o);
    /* The streaming path agrees. */
    aw_buf_t streamed = AW_BUF_INIT;
    aw_jwe_stream_t *s;
    ASSERT_EQ(aw_jwe_stream_new(priv, 0, 0, sink_buf, &streamed, &s, &err), 0);
    for (size_t off = 0; off < tn; off += 1000)
        ASSERT_EQ(aw_jwe_stream_feed(s, tok + off, tn - off < 1000 ? tn - off : 1000, &err), 0);
    aw_jwe_info_t info;
    ASSERT_MSG(aw_jwe_stream_finish(s, &info, &err) == 0, "%s", err.msg);
    ASSERT_EQ(streamed.len, n);
    ASSERT_MEM(streamed.data, data, n);
    aw_jwe_info_free(&info);
    aw_jwe_stream_free(s);
    aw_buf_free(&streamed);
    ASSERT_EQ(aw_jwe_open(other, tok, tn, 0, &o, &err), AW_ECRYPTO);
    free(tok), free(data);
    aw_jwk_free(priv), aw_jwk_free(other);
}

#define SUB  "0b7ec29c-4a59-4a4e-9c39-b8d5ba0a6b2c"
#define CASE "5f6d2a1e-3b0c-4d8e-9f7a-1c2b3d4e5f60"

TEST_T(our_set_verifies_in_node, 60) {
    need_node();
    aw_jwk_t *priv = test_key("a", "sig.private");
    json_t *body = aw_set_auth_tags("bvO5sUgNmnOm9sKqT_ERnQ", "Xfy7lLnkE0XzW0b0nPS6hg", NULL, 0);
    aw_set_claims_t c = {.iss = "https://amtsweg.example",
                         .submission_id = SUB,
                         .case_id = CASE,
                         .event = AW_SET_EV_SUBMIT,
                         .event_body = body};
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_set_sign(priv, &c, &out, &err), 0);
    write_tmp("ours.set", out.data, out.len);
    ASSERT_EQ(peer("verify-set", "a", "sig.public", "ours.set", "ours.payload"), 0);
    char *payload = read_tmp("ours.payload", NULL);
    json_t *p = json_loads(payload, 0, NULL);
    ASSERT_STR(json_string_value(json_object_get(p, "sub")), "submission:" SUB);
    ASSERT_STR(json_string_value(json_object_get(p, "$schema")), AW_SET_SCHEMA);
    ASSERT(json_equal(json_object_get(json_object_get(p, "events"), AW_SET_EV_SUBMIT), body));
    /* node with the wrong key refuses. */
    ASSERT_NE(peer("verify-set", "b", "sig.public", "ours.set", "x.payload"), 0);
    json_decref(p), json_decref(body);
    free(payload);
    aw_buf_free(&out);
    aw_jwk_free(priv);
}

TEST_T(node_set_verifies_here, 60) {
    need_node();
    const char *payload =
        "{\"$schema\":\"" AW_SET_SCHEMA "\",\"jti\":\"3c2f7d4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f\","
        "\"iss\":\"d0000000-0000-4000-8000-000000000001\",\"iat\":1764330000,"
        "\"sub\":\"submission:" SUB "\",\"txn\":\"case:" CASE "\",\"events\":{\"" AW_SET_EV_ACCEPT
        "\":{\"authenticationTags\":{\"metadata\":\"bvO5sUgNmnOm9sKqT_ERnQ\","
        "\"data\":\"Xfy7lLnkE0XzW0b0nPS6hg\"}}}}";
    write_tmp("payload.json", payload, strlen(payload));
    ASSERT_EQ(peer("sign-set", "a", "sig.private", "payload.json", "theirs.set"), 0);
    size_t tn;
    char *tok = read_tmp("theirs.set", &tn);
    aw_jwk_t *pub = test_key("a", "sig.public"), *other = test_key("b", "sig.public");
    aw_set_t s;
    aw_err_t err = {0};
    ASSERT_MSG(aw_set_verify(pub, tok, tn, &s, &err) == 0, "%s", err.msg);
    ASSERT_STR(s.event, AW_SET_EV_ACCEPT);
    ASSERT_STR(s.iss, "d0000000-0000-4000-8000-000000000001");
    ASSERT_STR(s.case_id, CASE);
    aw_set_free(&s);
    ASSERT_NE(aw_set_verify(other, tok, tn, &s, &err), 0);
    free(tok);
    aw_jwk_free(pub), aw_jwk_free(other);
}
