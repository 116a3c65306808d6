/* FIT-Connect conformance checks of the delivery service, one per test,
 * through the real server (and `amtsweg inbox` where the authority's side
 * decides). */
#include <netinet/in.h>
#include <time.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery/callback.h"
#include "delivery_helpers.h"
#include "fim/fim.h"

#define A1 "2b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001"
#define A2 "2b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0002"

static void problem_is(const aw_tc_resp_t *r, int status, const char *slug) {
    ASSERT_MSG(r->status == status, "status %d, want %d: %s", r->status, status, r->body);
    ASSERT_STR(aw_tc_header(r, "Content-Type"), "application/problem+json");
    ASSERT_CONTAINS(r->body, slug);
}

static void announce_body(dl_env_t *e, const char *dest, const char *svc, aw_tc_resp_t *r) {
    char body[600];
    snprintf(body, sizeof body,
             "{\"destinationId\":\"%s\",\"announcedAttachments\":[],"
             "\"serviceType\":{\"identifier\":\"%s\"}}",
             dest, svc);
    dl_req(e->srv.port, "POST", "/v1/submissions", e->stoken, "application/json", body,
           strlen(body), r);
}

TEST(conf_final_put_refused_while_attachments_missing) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {A1, A2};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 2, &s), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal("eins", 4, tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, t), 204);
    char *em = dl_seal("{}", 2, s.mtag), *ed = dl_seal("{}", 2, s.dtag);
    aw_tc_resp_t r;
    dl_submit_tokens(&e, &s, em, ed, &r);
    problem_is(&r, 422, "missing-attachments");
    ASSERT_CONTAINS(r.body, A2);
    aw_tc_resp_free(&r);
    ASSERT_EQ(dl_put_attachment(&e, &s, A2, t), 204);
    ASSERT_EQ(dl_submit_tokens(&e, &s, em, ed, NULL), 202);
    free(t);
    free(em);
    free(ed);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_unannounced_attachment_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {A1};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal("x", 1, tag);
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s.sid, A2);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", t, strlen(t), &r);
    problem_is(&r, 422, "attachment-not-announced");
    aw_tc_resp_free(&r);
    free(t);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_inactive_destination_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    char inactive[64];
    dl_make_dest(&e, "inactive", NULL, inactive, sizeof inactive);
    aw_tc_resp_t r;
    announce_body(&e, inactive, "urn:de:fim:leika:leistung:" DL_LEIKA, &r);
    problem_is(&r, 422, "destination-state-invalid");
    aw_tc_resp_free(&r);
    /* activating it through the admin API lets submissions in */
    char path[200];
    snprintf(path, sizeof path, "/admin/v1/destinations/%s", inactive);
    aw_tc_request(e.srv.port, "PATCH", path, DL_AUTH_ADMIN "Content-Type: application/json\r\n",
                  "{\"status\":\"active\"}", 19, &r);
    ASSERT_EQ(r.status, 200);
    aw_tc_resp_free(&r);
    announce_body(&e, inactive, "urn:de:fim:leika:leistung:" DL_LEIKA, &r);
    ASSERT_EQ(r.status, 201);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_unknown_destination_404) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    aw_tc_resp_t r;
    announce_body(&e, "7881dba9-4055-4854-8b6d-11ea5b7f3047", "urn:de:fim:leika:leistung:" DL_LEIKA,
                  &r);
    problem_is(&r, 404, "destination-not-found");
    aw_tc_resp_free(&r);
    dl_req(e.srv.port, "GET", "/v1/destinations/7881dba9-4055-4854-8b6d-11ea5b7f3047", NULL, NULL,
           NULL, 0, &r);
    problem_is(&r, 404, "destination-not-found");
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_service_not_offered_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    aw_tc_resp_t r;
    announce_body(&e, e.dest, "urn:de:fim:leika:leistung:99000000000000", &r);
    problem_is(&r, 422, "service-not-offered");
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_non_jwe_or_short_bodies_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {A1};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s), 201);
    const char *bad[] = {"", "x", "a.b.c.d", "not a jwe at all", "{\"json\":true}"};
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s.sid, A1);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        aw_tc_resp_t r;
        dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", bad[i], strlen(bad[i]), &r);
        problem_is(&r, 400, "invalid-jwe");
        aw_tc_resp_free(&r);
    }
    /* a truncated real JWE */
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal("anlage", 6, tag);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", t, strlen(t) - 5, &r);
    problem_is(&r, 400, "invalid-jwe");
    aw_tc_resp_free(&r);
    /* wrong media type */
    dl_req(e.srv.port, "PUT", path, e.stoken, "text/plain", t, strlen(t), &r);
    problem_is(&r, 415, "unsupported-media-type");
    aw_tc_resp_free(&r);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, t), 204);
    /* short metadata */
    char *ed = dl_seal("{}", 2, s.dtag);
    dl_submit_tokens(&e, &s, "abc", ed, &r);
    problem_is(&r, 400, "invalid-jwe");
    ASSERT_CONTAINS(r.body, "encryptedMetadata");
    aw_tc_resp_free(&r);
    free(t);
    free(ed);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* Replaces the protected header of a compact JWE. */
static char *with_header(const char *tok, const char *hdr_json) {
    char b64[512];
    size_t n = aw_b64url_encode(hdr_json, strlen(hdr_json), b64);
    b64[n] = 0;
    const char *dot = strchr(tok, '.');
    char *out = malloc(n + strlen(dot) + 1);
    strcpy(out, b64);
    strcat(out, dot);
    return out;
}

TEST(conf_other_alg_enc_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {A1};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal("anlage", 6, tag);
    const char *hdrs[] = {"{\"alg\":\"RSA1_5\",\"enc\":\"A256GCM\"}",
                          "{\"alg\":\"RSA-OAEP\",\"enc\":\"A256GCM\"}",
                          "{\"alg\":\"RSA-OAEP-256\",\"enc\":\"A128CBC-HS256\"}",
                          "{\"alg\":\"dir\",\"enc\":\"A256GCM\"}"};
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s.sid, A1);
    for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
        char *bad = with_header(t, hdrs[i]);
        aw_tc_resp_t r;
        dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", bad, strlen(bad), &r);
        problem_is(&r, 400, "invalid-jwe");
        aw_tc_resp_free(&r);
        /* and as metadata */
        ASSERT_EQ(dl_put_attachment(&e, &s, A1, t), 204);
        dl_submit_tokens(&e, &s, bad, t, &r);
        problem_is(&r, 400, "invalid-jwe");
        aw_tc_resp_free(&r);
        free(bad);
    }
    free(t);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

DL_TEST_BOTH(conf_data_hash_mismatch_rejected_by_inbox, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    const char *data = "{\"a\":1}";
    char *meta = dl_metadata("{\"a\":2}", NULL, NULL, 0); /* hash of other data */
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, data, meta, NULL, NULL, 0, &s), 202);
    free(meta);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    char *ev = dl_last_event(&e, s.cid, e.stoken);
    ASSERT_CONTAINS(ev, "reject-submission");
    ASSERT_CONTAINS(ev, "https://schema.fitko.de/fit-connect/events/problems/hash-mismatch");
    ASSERT_CONTAINS(ev, "\"instance\":\"data\"");
    free(ev);
    char d[900];
    snprintf(d, sizeof d, "test ! -e %s/%s", out, s.cid);
    ASSERT_EQ(aw_test_sh("%s", d), 0); /* nothing written for a rejected submission */
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(conf_attachment_hash_mismatch_rejected_by_inbox, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {A1};
    const char *pts[] = {"echte Anlage"};
    const char *other[] = {"andere Anlage"};
    const char *data = "{\"a\":1}";
    char *meta = dl_metadata(data, ids, other, 1);
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, data, meta, ids, pts, 1, &s), 202);
    free(meta);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    char *ev = dl_last_event(&e, s.cid, e.stoken);
    ASSERT_CONTAINS(ev, "reject-submission");
    ASSERT_CONTAINS(ev, "hash-mismatch");
    ASSERT_CONTAINS(ev, "\"instance\":\"attachment:" A1 "\"");
    free(ev);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(conf_duplicate_json_keys_in_metadata_refused, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    /* the server's JSON body: duplicate members are refused */
    const char *ids[] = {A1};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 0, &s), 201);
    char *em = dl_seal("{}", 2, s.mtag);
    char body[8192], path[200];
    snprintf(body, sizeof body, "{\"encryptedMetadata\":\"%s\",\"encryptedMetadata\":\"%s\"}", em,
             em);
    snprintf(path, sizeof path, "/v1/submissions/%s", s.sid);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "PUT", path, e.stoken, "application/json", body, strlen(body), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "duplicate");
    aw_tc_resp_free(&r);
    free(em);
    /* the decrypted metadata: the inbox rejects duplicate keys */
    const char *data = "{\"a\":1}";
    char *good = dl_metadata(data, NULL, NULL, 0);
    char dup[2048];
    snprintf(dup, sizeof dup, "{\"contentStructure\":{},%s", good + 1);
    free(good);
    dl_sub_t s2;
    ASSERT_EQ(dl_send(&e, data, dup, NULL, NULL, 0, &s2), 202);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    char *ev = dl_last_event(&e, s2.cid, e.stoken);
    ASSERT_CONTAINS(ev, "reject-submission");
    ASSERT_CONTAINS(ev, "invalid-metadata");
    free(ev);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* A submitted submission and the tags a correct accept carries. */
static json_t *submitted(dl_env_t *e, dl_sub_t *s) {
    const char *data = "{\"a\":1}";
    ASSERT_EQ(dl_send(e, data, NULL, NULL, NULL, 0, s), 202);
    return aw_set_auth_tags(s->mtag, s->dtag, NULL, 0);
}

TEST(conf_set_bad_signature_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    aw_jwk_t *k = dl_key("a", "sig.private");
    aw_set_claims_t cl = {.iss = e.dest,
                          .submission_id = s.sid,
                          .case_id = s.cid,
                          .event = AW_SET_EV_ACCEPT,
                          .event_body = tags};
    aw_buf_t t = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_EQ(aw_set_sign(k, &cl, &t, &err), 0);
    aw_jwk_free(k);
    t.data[t.len - 3] = t.data[t.len - 3] == 'A' ? 'B' : 'A'; /* flip the signature */
    char path[200];
    snprintf(path, sizeof path, "/v1/cases/%s/events", s.cid);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "POST", path, e.ptoken, "application/jose", t.data, t.len, &r);
    problem_is(&r, 422, "invalid-event");
    aw_tc_resp_free(&r);
    aw_buf_free(&t);
    /* the right token goes through */
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, tags, NULL), 204);
    json_decref(tags);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_set_unknown_kid_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    char *body = NULL;
    ASSERT_EQ(dl_post_set(&e, "b", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, tags, &body),
              422);
    ASSERT_CONTAINS(body, "kid");
    free(body);
    json_decref(tags);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_set_wrong_iss_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    char *body = NULL;
    ASSERT_EQ(dl_post_set(&e, "a", "https://evil.example", s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT,
                          tags, &body),
              422);
    ASSERT_CONTAINS(body, "iss");
    free(body);
    json_decref(tags);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_set_sub_or_txn_of_another_case_refused) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s, s2;
    json_t *tags = submitted(&e, &s);
    json_t *tags2 = submitted(&e, &s2);
    char *body = NULL;
    /* txn of the other case, posted to this case */
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s2.cid, s.cid, AW_SET_EV_ACCEPT, tags, &body),
              422);
    ASSERT_CONTAINS(body, "txn");
    free(body);
    /* sub of the other case's submission */
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s2.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, tags2, &body),
              422);
    ASSERT_CONTAINS(body, "sub");
    free(body);
    json_decref(tags);
    json_decref(tags2);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

DL_TEST_BOTH(conf_accept_with_wrong_authentication_tags_refused, AW_TEST_TIMEOUT) {
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    dl_sub_t s;
    json_t *good = submitted(&e, &s);
    json_t *bad = aw_set_auth_tags(s.dtag, s.mtag, NULL, 0); /* swapped */
    char *body = NULL;
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, bad, &body), 422);
    ASSERT_CONTAINS(body, "authenticationTags");
    free(body);
    /* an accept without tags at all */
    json_t *none = json_object();
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, none, NULL), 422);
    json_decref(none);
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, good, NULL), 204);
    /* decided: a second decision is a state conflict */
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, good, NULL), 409);
    json_decref(good);
    json_decref(bad);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

DL_TEST_BOTH(conf_subscriber_cannot_reach_other_destination, AW_TEST_TIMEOUT) {
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    json_decref(tags);
    char other[64], oid[64], osec[128], otok[128];
    dl_make_dest(&e, "active", NULL, other, sizeof other);
    dl_make_client(&e, "subscriber", other, oid, osec);
    dl_token(e.srv.port, oid, osec, otok);
    aw_tc_resp_t r;
    char path[300];
    snprintf(path, sizeof path, "/v1/submissions/%s", s.sid);
    dl_req(e.srv.port, "GET", path, otok, NULL, NULL, 0, &r);
    problem_is(&r, 404, "submission-not-found");
    ASSERT_NOT_CONTAINS(r.body, s.cid);
    aw_tc_resp_free(&r);
    snprintf(path, sizeof path, "/v1/submissions?destinationId=%s", e.dest);
    dl_req(e.srv.port, "GET", path, otok, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 403);
    aw_tc_resp_free(&r);
    dl_req(e.srv.port, "GET", "/v1/submissions", otok, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_NOT_CONTAINS(r.body, s.sid);
    aw_tc_resp_free(&r);
    snprintf(path, sizeof path, "/v1/cases/%s/events", s.cid);
    dl_req(e.srv.port, "GET", path, otok, NULL, NULL, 0, &r);
    problem_is(&r, 404, "case-not-found");
    aw_tc_resp_free(&r);
    /* its own subscriber sees it */
    snprintf(path, sizeof path, "/v1/submissions/%s", s.sid);
    dl_req(e.srv.port, "GET", path, e.ptoken, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body, "encryptedMetadata");
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_sender_token_cannot_read_submissions) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    json_decref(tags);
    aw_tc_resp_t r;
    char path[300];
    snprintf(path, sizeof path, "/v1/submissions/%s", s.sid);
    dl_req(e.srv.port, "GET", path, e.stoken, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 403);
    ASSERT_NOT_CONTAINS(r.body, "encryptedMetadata");
    aw_tc_resp_free(&r);
    dl_req(e.srv.port, "GET", "/v1/submissions", e.stoken, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 403);
    aw_tc_resp_free(&r);
    /* and a subscriber cannot announce */
    announce_body(&e, e.dest, "urn:de:fim:leika:leistung:" DL_LEIKA, &r);
    ASSERT_EQ(r.status, 201); /* the sender can */
    aw_tc_resp_free(&r);
    char body[300];
    snprintf(
        body, sizeof body,
        "{\"destinationId\":\"%s\",\"announcedAttachments\":[],\"serviceType\":{\"identifier\":"
        "\"urn:de:fim:leika:leistung:%s\"}}",
        e.dest, DL_LEIKA);
    dl_req(e.srv.port, "POST", "/v1/submissions", e.ptoken, "application/json", body, strlen(body),
           &r);
    ASSERT_EQ(r.status, 403);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_oversize_attachment_413_not_5xx) {
    dl_env_t e;
    const char *extra[] = {"--max-attachment",  "4096", "--max-data", "4096",
                           "--max-attachments", "1",    NULL};
    dl_setup(&e, NULL, extra);
    const char *ids[] = {A1};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s), 201);
    char big[6000];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = 0;
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal(big, strlen(big), tag);
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s.sid, A1);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", t, strlen(t), &r);
    ASSERT_EQ(r.status, 413);
    aw_tc_resp_free(&r);
    /* data over the limit: 413 as well */
    char *small = dl_seal("x", 1, tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, small), 204);
    dl_submit_tokens(&e, &s, small, t, &r);
    ASSERT_EQ(r.status, 413);
    aw_tc_resp_free(&r);
    /* more attachments announced than allowed: 413 */
    const char *many[] = {A1, A2};
    dl_sub_t s2;
    ASSERT_EQ(dl_announce(&e, e.dest, many, 2, &s2), 413);
    free(t);
    free(small);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* ---- callbacks ------------------------------------------------------------- */

static int listen_loopback(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ASSERT_EQ(listen(fd, 4), 0);
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Accepts one HTTP request (bounded wait), answers 200, returns it. */
static char *receive_callback(int lfd, char **body_out) {
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    ASSERT_MSG(poll(&p, 1, AW_TC_WAIT_S * 1000) == 1, "no callback arrived");
    int c = accept(lfd, NULL, NULL);
    ASSERT(c >= 0);
    char *buf = calloc(1, 65536);
    size_t n = 0;
    for (;;) {
        struct pollfd q = {.fd = c, .events = POLLIN};
        ASSERT_MSG(poll(&q, 1, AW_TC_WAIT_S * 1000) == 1, "callback request incomplete");
        ssize_t k = read(c, buf + n, 65535 - n);
        ASSERT(k > 0);
        n += (size_t)k;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        const char *cl = strcasestr(buf, "content-length:");
        size_t len = cl ? strtoul(cl + 15, NULL, 10) : 0;
        if (n >= (size_t)(end + 4 - buf) + len) {
            *body_out = strndup(end + 4, len);
            break;
        }
    }
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(write(c, ok, strlen(ok)), (ssize_t)strlen(ok));
    close(c);
    return buf;
}

static const char *hdr(const char *req, const char *name, char *out, size_t cap) {
    const char *h = strcasestr(req, name);
    if (!h) return NULL;
    h += strlen(name);
    while (*h == ' ') h++;
    size_t n = strcspn(h, "\r\n");
    snprintf(out, cap, "%.*s", (int)n, h);
    return out;
}

DL_TEST_BOTH(conf_callback_hmac_verified, AW_TEST_TIMEOUT) {
    int port = 0;
    int lfd = listen_loopback(&port);
    char url[100];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/callbacks/fit-connect", port);
    dl_env_t e;
    dl_setup(&e, url, extra);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    json_decref(tags);
    char *body = NULL;
    char *req = receive_callback(lfd, &body);
    char ts[64], mac[200];
    ASSERT_NOT_NULL(hdr(req, "callback-timestamp:", ts, sizeof ts));
    ASSERT_NOT_NULL(hdr(req, "callback-authentication:", mac, sizeof mac));
    ASSERT_CONTAINS(body, AW_CALLBACK_NEW_SUBMISSIONS);
    ASSERT_CONTAINS(body, s.sid);
    ASSERT_CONTAINS(body, s.cid);
    aw_err_t err;
    const char *secret = "callback-secret-0123456789abcdef0123";
    int64_t now = (int64_t)time(NULL);
    ASSERT_MSG(aw_callback_verify(secret, ts, mac, body, strlen(body), now, &err) == 0, "%s",
               err.msg);
    /* a changed body, another secret, an old timestamp: refused */
    body[strlen(body) - 2] ^= 1;
    ASSERT(aw_callback_verify(secret, ts, mac, body, strlen(body), now, &err) != 0);
    body[strlen(body) - 2] ^= 1;
    ASSERT(aw_callback_verify("another-secret-0123456789abcdef0123", ts, mac, body, strlen(body),
                              now, &err) != 0);
    ASSERT(aw_callback_verify(secret, ts, mac, body, strlen(body), now + 301, &err) != 0);
    free(body);
    free(req);
    close(lfd);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_https_only_callbacks) {
    dl_env_t e;
    memset(&e, 0, sizeof e);
    const char *extra[] = {NULL};
    dl_start(&e, extra);
    /* allowed with the test flag: loopback http; never other http */
    char *enc = dl_keyfile_json("a", "enc.public"), *sig = dl_keyfile_json("a", "sig.public");
    json_t *d =
        json_pack("{s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}],s:{s:s,s:s}}", "encryptionPublicKey",
                  json_loads(enc, 0, NULL), "signingPublicKey", json_loads(sig, 0, NULL),
                  "services", "identifier", DL_LEIKA, "regions", "09", "submissionSchemas",
                  "schemaUri", "urn:x:y", "mimeType", "application/json", "callback", "url",
                  "http://example.org/cb", "secret", "callback-secret-0123456789abcdef0123");
    char *body = json_dumps(d, JSON_COMPACT);
    aw_tc_resp_t r;
    aw_tc_request(e.srv.port, "POST", "/admin/v1/destinations",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "callback.url");
    aw_tc_resp_free(&r);
    free(body);
    json_decref(d);
    free(enc);
    free(sig);
    ASSERT(!aw_callback_url_ok("http://127.0.0.1:9/x", false));
    ASSERT(aw_callback_url_ok("http://127.0.0.1:9/x", true));
    ASSERT(aw_callback_url_ok("http://[::1]:9/x", true));
    ASSERT(!aw_callback_url_ok("http://127.0.0.1.evil.example/x", true));
    ASSERT(!aw_callback_url_ok("http://user@127.0.0.1/x", true));
    ASSERT(aw_callback_url_ok("https://fachverfahren.example.org/cb", false));
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

DL_TEST_BOTH(conf_inbox_restart_after_crash_accepts_once, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    json_decref(tags);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    /* a previous run crashed after writing the result and before posting the
     * decision, and another one while staging */
    ASSERT_EQ(aw_test_sh("mkdir -p %s/%s %s/.tmp-%s && echo %s > %s/%s/.submission && "
                         "echo keep > %s/%s/sentinel && echo junk > %s/.tmp-%s/x",
                         out, s.cid, out, s.sid, s.sid, out, s.cid, out, s.cid, out, s.sid),
              0);
    ASSERT_EQ(dl_inbox(&e, out), 0);
    ASSERT_EQ(aw_test_sh("test -f %s/%s/sentinel && test ! -e %s/.tmp-%s", out, s.cid, out, s.sid),
              0);
    ASSERT_EQ(dl_inbox(&e, out), 0);
    json_t *log = dl_events(&e, e.stoken, s.cid);
    int accepts = 0;
    for (size_t i = 0; i < json_array_size(log); i++) {
        char *p = strchr(json_string_value(json_array_get(log, i)), '.') + 1;
        size_t n = strcspn(p, ".");
        unsigned char buf[8192];
        size_t m = 0;
        ASSERT_EQ(aw_b64url_decode(p, n, buf, &m), 0);
        buf[m] = 0;
        accepts += strstr((char *)buf, "accept-submission") != NULL;
    }
    ASSERT_EQ(accepts, 1);
    json_decref(log);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(conf_inbox_validates_data_against_fim_schema, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    char schema_path[700];
    snprintf(schema_path, sizeof schema_path, "%s/tests/data/fim/xdf3/S00000094V1.0_xdf3.xml",
             aw_test_srcdir());
    aw_fim_schema_t *schema = NULL;
    aw_err_t err;
    aw_fim_load_opts_t lo = {.allow_missing_codelists = true};
    ASSERT_MSG(aw_fim_schema_load(schema_path, &lo, &schema, &err) == 0, "%s", err.msg);
    aw_buf_t good = AW_BUF_INIT;
    ASSERT_EQ(aw_fim_sample_json(schema, 42, false, &good), 0);
    aw_buf_putc(&good, 0);
    aw_fim_schema_free(schema);
    dl_sub_t ok, bad;
    ASSERT_EQ(dl_send(&e, good.data, NULL, NULL, NULL, 0, &ok), 202);
    ASSERT_EQ(dl_send(&e, "{}", NULL, NULL, NULL, 0, &bad), 202);
    aw_buf_free(&good);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    int rc = aw_test_sh("%s inbox --server http://127.0.0.1:%d --client-id %s --client-secret %s "
                        "--destination %s --enc-key %s/tests/data/jose/a/enc.private.jwk "
                        "--sign-key %s/tests/data/jose/a/sig.private.jwk --out %s --once "
                        "--schemas %s/tests/data/fim/xdf3 >%s/inbox.out 2>&1",
                        aw_test_bin(), e.srv.port, e.sub_id, e.sub_secret, e.dest, aw_test_srcdir(),
                        aw_test_srcdir(), out, aw_test_srcdir(), aw_test_tmpdir());
    ASSERT_EQ(rc, 0);
    char *ev = dl_last_event(&e, ok.cid, e.stoken);
    ASSERT_CONTAINS(ev, "accept-submission");
    free(ev);
    ev = dl_last_event(&e, bad.cid, e.stoken);
    ASSERT_CONTAINS(ev, "reject-submission");
    ASSERT_CONTAINS(ev, "schema-violation");
    free(ev);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_delivery_metrics) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    json_decref(tags);
    aw_tc_resp_t r;
    aw_tc_request(e.srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_delivery_submissions{state=\"submitted\"}"), 1);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_delivery_auto_rejected_total"), 0);
    aw_tc_resp_free(&r);
    aw_tc_request(e.srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_outbox_dead_letters"), 0);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

DL_TEST_BOTH(conf_sender_callback_on_new_events, AW_TEST_TIMEOUT) {
    int port = 0;
    int lfd = listen_loopback(&port);
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    char body[600];
    snprintf(
        body, sizeof body,
        "{\"destinationId\":\"%s\",\"announcedAttachments\":[],\"serviceType\":{\"identifier\":"
        "\"urn:de:fim:leika:leistung:%s\"},\"callback\":{\"url\":\"http://127.0.0.1:%d/cb\","
        "\"secret\":\"sender-secret-0123456789abcdef0123456\"}}",
        e.dest, DL_LEIKA, port);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "POST", "/v1/submissions", e.stoken, "application/json", body, strlen(body),
           &r);
    ASSERT_EQ(r.status, 201);
    json_t *j = dl_json(&r);
    dl_sub_t s;
    strcpy(s.sid, json_string_value(json_object_get(j, "submissionId")));
    strcpy(s.cid, json_string_value(json_object_get(j, "caseId")));
    json_decref(j);
    aw_tc_resp_free(&r);
    char *em = dl_seal("{}", 2, s.mtag), *ed = dl_seal("{}", 2, s.dtag);
    ASSERT_EQ(dl_submit_tokens(&e, &s, em, ed, NULL), 202);
    free(em);
    free(ed);
    json_t *tags = aw_set_auth_tags(s.mtag, s.dtag, NULL, 0);
    ASSERT_EQ(dl_post_set(&e, "a", e.dest, s.sid, s.cid, s.cid, AW_SET_EV_ACCEPT, tags, NULL), 204);
    json_decref(tags);
    char *cb = NULL;
    char *req = receive_callback(lfd, &cb);
    char ts[64], mac[200];
    ASSERT_NOT_NULL(hdr(req, "callback-timestamp:", ts, sizeof ts));
    ASSERT_NOT_NULL(hdr(req, "callback-authentication:", mac, sizeof mac));
    ASSERT_CONTAINS(cb, AW_CALLBACK_NEW_EVENTS);
    ASSERT_CONTAINS(cb, s.sid);
    aw_err_t err;
    ASSERT_MSG(aw_callback_verify("sender-secret-0123456789abcdef0123456", ts, mac, cb, strlen(cb),
                                  (int64_t)time(NULL), &err) == 0,
               "%s", err.msg);
    free(cb);
    free(req);
    close(lfd);
    /* nothing is dead: the admin API lists no dead letters */
    aw_tc_request(e.srv.port, "GET", "/admin/v1/dead-letters", DL_AUTH_ADMIN, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body, "\"count\":0");
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(conf_case_of_another_sender_cannot_be_joined) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    json_t *tags = submitted(&e, &s);
    json_decref(tags);
    char id2[64], sec2[128], tok2[128];
    dl_make_client(&e, "sender", NULL, id2, sec2);
    dl_token(e.srv.port, id2, sec2, tok2);
    char body[600];
    snprintf(body, sizeof body,
             "{\"destinationId\":\"%s\",\"caseId\":\"%s\",\"announcedAttachments\":[],"
             "\"serviceType\":{\"identifier\":\"urn:de:fim:leika:leistung:%s\"}}",
             e.dest, s.cid, DL_LEIKA);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "POST", "/v1/submissions", tok2, "application/json", body, strlen(body), &r);
    problem_is(&r, 404, "case-not-found");
    aw_tc_resp_free(&r);
    char path[200];
    snprintf(path, sizeof path, "/v1/cases/%s/events", s.cid);
    dl_req(e.srv.port, "GET", path, tok2, NULL, NULL, 0, &r);
    problem_is(&r, 404, "case-not-found");
    aw_tc_resp_free(&r);
    /* the case's own sender may add a submission to it */
    dl_req(e.srv.port, "POST", "/v1/submissions", e.stoken, "application/json", body, strlen(body),
           &r);
    ASSERT_EQ(r.status, 201);
    ASSERT_CONTAINS(r.body, s.cid);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* A request that announces a body of len bytes. Over 64 KiB only the
 * headers are sent: the answer must come without one byte of the body, and
 * the connection is closed. Up to 64 KiB the body is sent too: the answer
 * comes after it, on a connection that stays open. */
static void refused_before_body(int port, const char *method, const char *path, const char *token,
                                size_t len, int status, const char *slug) {
    int fd = aw_tc_connect(port);
    char auth[400] = "";
    if (token) snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    aw_tc_sendf(fd,
                "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
                "Content-Length: %zu\r\n\r\n",
                method, path, auth, len);
    bool small = len <= 64 * 1024;
    if (small) {
        char *body = malloc(len);
        memset(body, ' ', len);
        aw_tc_send(fd, body, len);
        free(body);
    }
    aw_tc_resp_t r;
    ASSERT_MSG(aw_tc_read(fd, &r) == 0, "%s %s: no answer", method, path);
    problem_is(&r, status, slug);
    const char *conn = aw_tc_header(&r, "Connection");
    if (small) ASSERT_MSG(!conn || strcasecmp(conn, "close") != 0, "%s %s: closed", method, path);
    aw_tc_resp_free(&r);
    if (small) {
        /* the same connection answers the next request */
        aw_tc_sendf(fd, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        ASSERT_EQ(aw_tc_read(fd, &r), 0);
        ASSERT_EQ(r.status, 200);
        aw_tc_resp_free(&r);
    } else {
        ASSERT(aw_tc_wait_closed(fd));
    }
    close(fd);
}

/* A client that may not use a route cannot make the server take its body:
 * 401/403 come as soon as the headers are in (before, the server read and
 * held up to 10 MB of an unauthenticated final PUT). */
TEST(conf_body_read_only_from_allowed_clients) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, (const char *const[]){A1}, 1, &s), 201);
    char path[300];
    snprintf(path, sizeof path, "/v1/submissions/%s", s.sid);
    refused_before_body(e.srv.port, "PUT", path, NULL, 9000000, 401, "unauthorized");
    refused_before_body(e.srv.port, "PUT", path, "no-such-token", 9000000, 401, "unauthorized");
    refused_before_body(e.srv.port, "PUT", path, e.ptoken, 9000000, 403, "forbidden");
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s.sid, A1);
    refused_before_body(e.srv.port, "PUT", path, e.ptoken, 400000000, 403, "forbidden");
    refused_before_body(e.srv.port, "POST", "/v1/submissions", NULL, 60000, 401, "unauthorized");
    snprintf(path, sizeof path, "/v1/cases/%s/events", s.cid);
    refused_before_body(e.srv.port, "POST", path, e.stoken, 60000, 403, "forbidden");
    refused_before_body(e.srv.port, "POST", "/admin/v1/destinations", e.stoken, 1000000, 401,
                        "unauthorized");
    refused_before_body(e.srv.port, "PUT", "/admin/v1/services/99123456789012", NULL, 1000000, 401,
                        "unauthorized");
    /* the sender itself is still served on the same server */
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal("eins", 4, tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, t), 204);
    char *em = dl_seal("{}", 2, s.mtag), *ed = dl_seal("{}", 2, s.dtag);
    ASSERT_EQ(dl_submit_tokens(&e, &s, em, ed, NULL), 202);
    free(t);
    free(em);
    free(ed);
    /* nothing stays reserved (a request's reservation goes when the server
     * has finished it, which may be just after its client read the answer) */
    double held = -1;
    for (int i = 0; i < 200 && held != 0; i++) {
        aw_tc_resp_t r;
        aw_tc_request(e.srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
        held = aw_tc_metric(r.body, "amtsweg_http_body_memory_bytes");
        aw_tc_resp_free(&r);
    }
    ASSERT_EQ(held, 0);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* --max-body-memory below what one final PUT may carry is refused at start
 * with the route named (such a server would answer 503 forever). */
TEST(conf_body_memory_below_a_route_limit_refused) {
    char out[700];
    snprintf(out, sizeof out, "%s/serve.err", aw_test_tmpdir());
    int rc = aw_test_sh("AMTSWEG_ADMIN_TOKEN=%s '%s' serve --db '%s/db' --listen 127.0.0.1:0 "
                        "--max-body-memory 5000000 >'%s' 2>&1",
                        DL_ADMIN, aw_test_bin(), aw_test_tmpdir(), out);
    ASSERT(rc != 0);
    char *msg = aw_test_read_file(out, NULL);
    ASSERT(msg);
    ASSERT_CONTAINS(msg, "PUT /v1/submissions/{submissionId}");
    ASSERT_CONTAINS(msg, "--max-body-memory");
    free(msg);
}
