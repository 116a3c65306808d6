/* The platform's event SETs are signed after the commit: through the real
 * server with the signing worker switched off, the events are durable but
 * unsigned until the log is read, and the reader then gets them signed. */
#include "delivery_helpers.h"

static int64_t unsigned_events(const char *cid) {
    char db[700];
    snprintf(db, sizeof db, "%s/amtsweg.db", aw_test_tmpdir());
    return dl_db_count(db, "SELECT COUNT(*) FROM delivery_events WHERE case_id = $1 AND token = ''",
                       cid);
}

TEST_T(delivery_events_signed_on_read_without_worker, 120) {
    dl_env_t e;
    const char *extra[] = {"--delivery-sign-worker", "0", NULL};
    dl_setup(&e, NULL, extra);
    int64_t t0 = (int64_t)time(NULL);
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, "{\"hund\":\"Bello\"}", NULL, NULL, NULL, 0, &s), 202);
    /* 2xx: both events are committed; nobody has signed them yet */
    ASSERT_EQ(unsigned_events(s.cid), 2);
    json_t *log = dl_events(&e, e.stoken, s.cid);
    ASSERT_EQ(json_array_size(log), 2);
    ASSERT_EQ(unsigned_events(s.cid), 0);
    aw_jwk_t *pk = dl_key("b", "sig.public");
    aw_set_t s1, s2;
    aw_err_t err;
    const char *t1 = json_string_value(json_array_get(log, 0));
    const char *t2 = json_string_value(json_array_get(log, 1));
    ASSERT_MSG(aw_set_verify(pk, t1, strlen(t1), &s1, &err) == 0, "%s", err.msg);
    ASSERT_MSG(aw_set_verify(pk, t2, strlen(t2), &s2, &err) == 0, "%s", err.msg);
    ASSERT_STR(s1.event, AW_SET_EV_CREATE);
    ASSERT_STR(s2.event, AW_SET_EV_SUBMIT);
    ASSERT_STR(s2.submission_id, s.sid);
    ASSERT(s1.iat >= t0 - 1 && s1.iat <= s2.iat);
    json_t *tags = json_object_get(s2.event_body, "authenticationTags");
    ASSERT_STR(json_string_value(json_object_get(tags, "metadata")), s.mtag);
    ASSERT_STR(json_string_value(json_object_get(tags, "data")), s.dtag);
    /* a second read returns the same SETs (signed once, stored) */
    json_t *again = dl_events(&e, e.stoken, s.cid);
    ASSERT(json_equal(log, again));
    json_decref(again);
    aw_set_free(&s1);
    aw_set_free(&s2);
    aw_jwk_free(pk);
    json_decref(log);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* A bounded backlog: at --delivery-sign-max-backlog unsigned events new
 * announces and submits get 503 problem+json with Retry-After; once the
 * events are signed (here: by reading the log) they are accepted again. */
TEST_T(delivery_events_backlog_limit_answers_503, 120) {
    dl_env_t e;
    const char *extra[] = {"--delivery-sign-worker", "0", "--delivery-sign-max-backlog", "2", NULL};
    dl_setup(&e, NULL, extra);
    dl_sub_t s, s2;
    ASSERT_EQ(dl_send(&e, "{\"hund\":\"Bello\"}", NULL, NULL, NULL, 0, &s), 202);
    ASSERT_EQ(unsigned_events(s.cid), 2);
    /* announce refused, with a problem and a Retry-After */
    json_t *a = json_pack("{s:s,s:[],s:{s:s,s:s}}", "destinationId", e.dest, "announcedAttachments",
                          "serviceType", "name", "Hund anmelden", "identifier",
                          "urn:de:fim:leika:leistung:" DL_LEIKA);
    char *body = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "POST", "/v1/submissions", e.stoken, "application/json", body, strlen(body),
           &r);
    ASSERT_EQ(r.status, 503);
    ASSERT_STR(aw_tc_header(&r, "Retry-After"), "10");
    ASSERT_CONTAINS(aw_tc_header(&r, "Content-Type"), "application/problem+json");
    ASSERT_CONTAINS(r.body, "waiting to be signed");
    aw_tc_resp_free(&r);
    /* the backlog is visible in /metrics */
    aw_tc_request(e.srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_delivery_unsigned_events"), 2);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_delivery_sign_refused_total"), 1);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_delivery_sign_backlog_limit{kind=\"refuse\"}"), 2);
    aw_tc_resp_free(&r);
    /* reading the log signs both; then the next submission goes through */
    json_t *log = dl_events(&e, e.stoken, s.cid);
    ASSERT_EQ(json_array_size(log), 2);
    json_decref(log);
    ASSERT_EQ(unsigned_events(s.cid), 0);
    ASSERT_EQ(dl_send(&e, "{\"hund\":\"Rex\"}", NULL, NULL, NULL, 0, &s2), 202);
    free(body);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}
