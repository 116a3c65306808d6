#include "jose/set.h"

#include "base/b64.h"
#include "base/uuid.h"
#include "helpers.h"
#include "jose/jws.h"

#define SUB  "0b7ec29c-4a59-4a4e-9c39-b8d5ba0a6b2c"
#define CASE "5f6d2a1e-3b0c-4d8e-9f7a-1c2b3d4e5f60"
#define ATT  "a0b1c2d3-e4f5-4061-8273-94a5b6c7d8e9"
#define TAG1 "bvO5sUgNmnOm9sKqT_ERnQ"
#define TAG2 "Xfy7lLnkE0XzW0b0nPS6hg"

static char *signed_set(const aw_jwk_t *k) {
    aw_set_attachment_tag_t att[] = {{ATT, TAG2}};
    json_t *body = aw_set_auth_tags(TAG1, TAG2, att, 1);
    aw_set_claims_t c = {.iss = "https://amtsweg.example/",
                         .submission_id = SUB,
                         .case_id = CASE,
                         .event = AW_SET_EV_SUBMIT,
                         .event_body = body,
                         .iat = 1764330000};
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_MSG(aw_set_sign(k, &c, &out, &err) == 0, "%s", err.msg);
    json_decref(body);
    return aw_buf_take(&out, NULL);
}

TEST(sign_verify_submit_submission) {
    aw_jwk_t *priv = test_key("a", "sig.private"), *pub = test_key("a", "sig.public");
    char *tok = signed_set(priv);
    aw_set_t s;
    aw_err_t err = {0};
    ASSERT_MSG(aw_set_verify(pub, tok, strlen(tok), &s, &err) == 0, "%s", err.msg);
    ASSERT_STR(s.kid, "TEST-ONLY-a-sig");
    ASSERT_STR(s.iss, "https://amtsweg.example/");
    ASSERT_STR(s.submission_id, SUB);
    ASSERT_STR(s.case_id, CASE);
    ASSERT_STR(s.event, "https://schema.fitko.de/fit-connect/events/submit-submission");
    ASSERT_EQ(s.iat, 1764330000);
    ASSERT(aw_uuid_is_v4(s.jti));
    json_t *tags = json_object_get(s.event_body, "authenticationTags");
    ASSERT_STR(json_string_value(json_object_get(tags, "metadata")), TAG1);
    ASSERT_STR(json_string_value(json_object_get(tags, "data")), TAG2);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(tags, "attachments"), ATT)), TAG2);
    ASSERT_STR(json_string_value(json_object_get(s.payload, "$schema")), AW_SET_SCHEMA);
    aw_set_free(&s);
    /* Header as FIT-Connect expects it. */
    json_t *h;
    ASSERT_EQ(aw_jws_peek_header(tok, strlen(tok), 0, &h, &err), 0);
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ASSERT_STR(hs, "{\"alg\":\"PS512\",\"typ\":\"secevent+jwt\",\"kid\":\"TEST-ONLY-a-sig\"}");
    free(hs);
    json_decref(h);
    /* Wrong key. */
    aw_jwk_t *other = test_key("b", "sig.public");
    ASSERT_EQ(aw_set_verify(other, tok, strlen(tok), &s, &err), AW_ECRYPTO);
    ASSERT_CONTAINS(err.msg, "set: jws:");
    free(tok);
    aw_jwk_free(priv), aw_jwk_free(pub), aw_jwk_free(other);
}

TEST(sign_rejects_bad_claims) {
    aw_jwk_t *k = test_key("a", "sig.private");
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    aw_set_claims_t c = {
        .iss = "x", .submission_id = "nope", .case_id = CASE, .event = AW_SET_EV_ACCEPT};
    ASSERT_EQ(aw_set_sign(k, &c, &out, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "submission id");
    c.submission_id = SUB;
    c.event = "accept";
    ASSERT_EQ(aw_set_sign(k, &c, &out, &err), AW_EINVAL);
    c.event = AW_SET_EV_ACCEPT;
    c.iss = NULL;
    ASSERT_EQ(aw_set_sign(k, &c, &out, &err), AW_EINVAL);
    c.iss = "x";
    ASSERT_EQ(aw_set_sign(k, &c, &out, &err), 0);
    ASSERT_EQ(out.len > 0, 1);
    aw_buf_free(&out);
    aw_jwk_free(k);
}

/* Signs an arbitrary payload as a SET-shaped JWS to test verification. */
static void expect_verify_fails(const aw_jwk_t *k, const char *typ, const char *payload,
                                const char *needle) {
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jws_sign(k, typ, payload, strlen(payload), &out, &err), 0);
    aw_set_t s;
    int rc = aw_set_verify(k, out.data, out.len, &s, &err);
    ASSERT_MSG(rc != 0, "accepted: %s", payload);
    ASSERT_CONTAINS(err.msg, needle);
    aw_buf_free(&out);
}

#define P_HEAD      "{\"jti\":\"" SUB "\",\"iss\":\"i\",\"iat\":1,"
#define P_OK_SUBTXN "\"sub\":\"submission:" SUB "\",\"txn\":\"case:" CASE "\","

TEST(verify_checks_structure) {
    aw_jwk_t *k = test_key("a", "sig.private");
    const char *ev = "\"events\":{\"" AW_SET_EV_ACCEPT "\":{}}}";
    char good[1024];
    snprintf(good, sizeof good, P_HEAD P_OK_SUBTXN "%s", ev);
    /* Baseline: accepted without $schema. */
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    aw_set_t s;
    ASSERT_EQ(aw_jws_sign(k, AW_SET_TYP, good, strlen(good), &out, &err), 0);
    ASSERT_MSG(aw_set_verify(k, out.data, out.len, &s, &err) == 0, "%s", err.msg);
    ASSERT(json_is_object(s.event_body));
    aw_set_free(&s);
    aw_buf_free(&out);

    ASSERT_EQ(aw_jws_sign(k, "application/SecEvent+JWT", good, strlen(good), &out, &err), 0);
    ASSERT_MSG(aw_set_verify(k, out.data, out.len, &s, &err) == 0, "%s", err.msg);
    aw_set_free(&s);
    aw_buf_free(&out);
    expect_verify_fails(k, "JWT", good, "typ must be \"secevent+jwt\"");
    expect_verify_fails(k, "application/jwt", good, "typ");
    expect_verify_fails(k, "application/", good, "typ");
    expect_verify_fails(k, NULL, good, "typ");
    expect_verify_fails(k, AW_SET_TYP, "[]", "must be a JSON object");
    expect_verify_fails(k, AW_SET_TYP, "{\"jti\":1", "not valid JSON");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD P_OK_SUBTXN "\"iss\":\"again\",\"events\":{\"" AW_SET_EV_ACCEPT
                                           "\":{}}}",
                        "duplicate");
    expect_verify_fails(k, AW_SET_TYP,
                        "{\"jti\":\"x\",\"iss\":\"i\",\"iat\":1," P_OK_SUBTXN
                        "\"events\":{\"" AW_SET_EV_ACCEPT "\":{}}}",
                        "'jti' must be a UUID");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD "\"sub\":\"case:" SUB "\",\"txn\":\"case:" CASE
                               "\",\"events\":{\"" AW_SET_EV_ACCEPT "\":{}}}",
                        "'sub' must be \"submission:<uuid>\"");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD "\"sub\":\"submission:" SUB "\",\"events\":{\"" AW_SET_EV_ACCEPT
                               "\":{}}}",
                        "'txn' is missing");
    expect_verify_fails(k, AW_SET_TYP, P_HEAD P_OK_SUBTXN "\"events\":{}}", "exactly one event");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD P_OK_SUBTXN "\"events\":{\"" AW_SET_EV_ACCEPT
                                           "\":{},\"" AW_SET_EV_REJECT "\":{}}}",
                        "exactly one event");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD P_OK_SUBTXN "\"events\":{\"" AW_SET_EV_ACCEPT "\":[]}}",
                        "must be an object");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD P_OK_SUBTXN "\"events\":{\"" AW_SET_EV_ACCEPT
                                           "\":{\"authenticationTags\":{\"data\":\"short\"}}}}",
                        "authenticationTags.data is not a JWE tag");
    expect_verify_fails(k, AW_SET_TYP,
                        P_HEAD P_OK_SUBTXN
                        "\"events\":{\"" AW_SET_EV_ACCEPT
                        "\":{\"authenticationTags\":{\"attachments\":{\"x\":\"" TAG1 "\"}}}}}",
                        "is not a UUID");
    expect_verify_fails(k, AW_SET_TYP,
                        "{\"$schema\":\"https://example.org/x\",\"jti\":\"" SUB
                        "\",\"iss\":\"i\",\"iat\":1," P_OK_SUBTXN "\"events\":{\"" AW_SET_EV_ACCEPT
                        "\":{}}}",
                        "$schema");
    expect_verify_fails(k, AW_SET_TYP,
                        "{\"jti\":\"" SUB "\",\"iss\":\"i\",\"iat\":-5," P_OK_SUBTXN
                        "\"events\":{\"" AW_SET_EV_ACCEPT "\":{}}}",
                        "'iat'");
    /* A key without kid yields a token without kid: refused. */
    json_t *j = aw_jwk_to_json(k, true);
    json_object_del(j, "kid");
    aw_jwk_t *nokid = jwk_from(j);
    json_decref(j);
    expect_verify_fails(nokid, AW_SET_TYP, good, "kid is missing");
    aw_jwk_free(nokid);
    aw_jwk_free(k);
}

TEST(reject_event_with_problems) {
    aw_jwk_t *k = test_key("a", "sig.private");
    json_t *body = json_pack("{s[{ss ss}]}", "problems", "type",
                             "https://schema.fitko.de/fit-connect/events/problems/hash-mismatch",
                             "instance", "data");
    aw_set_claims_t c = {.iss = "d0000000-0000-4000-8000-000000000001",
                         .submission_id = SUB,
                         .case_id = CASE,
                         .event = AW_SET_EV_REJECT,
                         .event_body = body};
    aw_buf_t out = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_set_sign(k, &c, &out, &err), 0);
    aw_set_t s;
    ASSERT_EQ(aw_set_verify(k, out.data, out.len, &s, &err), 0);
    ASSERT_STR(s.event, AW_SET_EV_REJECT);
    ASSERT(json_equal(s.event_body, body));
    ASSERT_GT(s.iat, 1700000000);
    aw_set_free(&s);
    json_decref(body);
    aw_buf_free(&out);
    aw_jwk_free(k);
}

TEST(verify_with_key_set_by_kid) {
    aw_jwk_t *priv = test_key("a", "sig.private");
    aw_jwk_t *keys[] = {test_key("b", "sig.public"), test_key("a", "sig.public")};
    char *tok = signed_set(priv);
    aw_buf_t b = AW_BUF_INIT;
    aw_err_t err = {0};
    ASSERT_EQ(aw_jwks_write((const aw_jwk_t *const *)keys, 2, &b, &err), 0);
    aw_jwks_t set;
    ASSERT_EQ(aw_jwks_parse(b.data, b.len, &set, &err), 0);
    aw_set_t s;
    ASSERT_MSG(aw_set_verify_jwks(&set, tok, strlen(tok), &s, &err) == 0, "%s", err.msg);
    ASSERT_STR(s.kid, "TEST-ONLY-a-sig");
    aw_set_free(&s);
    aw_jwks_free(&set);
    aw_buf_free(&b);
    ASSERT_EQ(aw_jwks_write((const aw_jwk_t *const *)keys, 1, &b, &err), 0);
    ASSERT_EQ(aw_jwks_parse(b.data, b.len, &set, &err), 0);
    ASSERT_EQ(aw_set_verify_jwks(&set, tok, strlen(tok), &s, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "unknown kid 'TEST-ONLY-a-sig'");
    aw_jwks_free(&set);
    aw_buf_free(&b);
    free(tok);
    aw_jwk_free(priv), aw_jwk_free(keys[0]), aw_jwk_free(keys[1]);
}
