/* POST /token through the real server: the per-client-address rate limit,
 * X-Forwarded-For believed only from trusted proxies, secrets stored as
 * SHA-256. */
#include "delivery_helpers.h"

static int bad_token(int port, const char *id, const char *xff, aw_tc_resp_t *r) {
    char body[300], h[200] = "Content-Type: application/x-www-form-urlencoded\r\n";
    snprintf(body, sizeof body, "grant_type=client_credentials&client_id=%s&client_secret=wrong",
             id);
    if (xff) snprintf(h + strlen(h), sizeof h - strlen(h), "X-Forwarded-For: %s\r\n", xff);
    aw_tc_request(port, "POST", "/token", h, body, strlen(body), r);
    return r->status;
}

TEST_T(delivery_token_rate_limited_per_client_address, 60) {
    dl_env_t e;
    /* dl_setup fetches 2 tokens from 127.0.0.1, so 4 per minute leaves 2. */
    const char *extra[] = {"--token-rate-limit", "4", NULL};
    dl_setup(&e, NULL, extra);
    aw_tc_resp_t r;
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, NULL, &r), 401);
    ASSERT_STR(aw_tc_header(&r, "RateLimit-Limit"), "4");
    ASSERT_STR(aw_tc_header(&r, "RateLimit-Remaining"), "1");
    aw_tc_resp_free(&r);
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, NULL, &r), 401);
    aw_tc_resp_free(&r);
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, NULL, &r), 429);
    ASSERT_STR(aw_tc_header(&r, "Content-Type"), "application/problem+json");
    ASSERT_CONTAINS(r.body, "\"type\":\"https://amtsweg.de/problems/rate-limited\"");
    ASSERT(aw_tc_header(&r, "Retry-After") != NULL);
    ASSERT(atoi(aw_tc_header(&r, "Retry-After")) >= 1);
    aw_tc_resp_free(&r);
    /* The right secret does not get through either until the window ends. */
    char body[400];
    snprintf(body, sizeof body, "grant_type=client_credentials&client_id=%s&client_secret=%s",
             e.sender_id, e.sender_secret);
    dl_req(e.srv.port, "POST", "/token", NULL, "application/x-www-form-urlencoded", body,
           strlen(body), &r);
    ASSERT_EQ(r.status, 429);
    aw_tc_resp_free(&r);
    /* Without trusted proxies, X-Forwarded-For is the client's own claim and
     * does not open a new window. */
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, "198.51.100.1", &r), 429);
    aw_tc_resp_free(&r);
    /* Tokens issued before keep working. */
    dl_req(e.srv.port, "GET", "/v1/submissions?destinationId=x", e.ptoken, NULL, NULL, 0, &r);
    ASSERT(r.status != 401 && r.status != 429);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(delivery_token_behind_trusted_proxy_limits_each_client, 60) {
    dl_env_t e;
    const char *extra[] = {"--token-rate-limit", "3", "--trusted-proxies", "127.0.0.0/8", NULL};
    dl_setup(&e, NULL, extra); /* 2 tokens for 127.0.0.1 */
    aw_tc_resp_t r;
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, "198.51.100.1", &r), 401);
    aw_tc_resp_free(&r);
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, "198.51.100.1", &r), 401);
    aw_tc_resp_free(&r);
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, "198.51.100.1", &r), 401);
    aw_tc_resp_free(&r);
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, "198.51.100.1", &r), 429);
    aw_tc_resp_free(&r);
    /* another client behind the same proxy has its own window; a fake entry
     * it put on the left does not matter */
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, "198.51.100.1, 198.51.100.2", &r), 401);
    ASSERT_STR(aw_tc_header(&r, "RateLimit-Remaining"), "2");
    aw_tc_resp_free(&r);
    /* the proxy itself (no header) has used 2 of 3 */
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, NULL, &r), 401);
    aw_tc_resp_free(&r);
    ASSERT_EQ(bad_token(e.srv.port, e.sender_id, NULL, &r), 429);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(delivery_client_secret_stored_as_sha256, 60) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
    char db[700];
    snprintf(db, sizeof db, "%s/amtsweg.db", aw_test_tmpdir());
    /* the hash is there, the secret is not */
    ASSERT_EQ(aw_test_sh("sqlite3 %s \"SELECT secret_hash FROM delivery_clients\" | grep -c "
                         "'^sha256\\$[0-9a-f]\\{64\\}$' | grep -qx 2",
                         db),
              0);
    ASSERT(aw_test_sh("grep -qa '%s' %s*", e.sender_secret, db) != 0);
}

/* Validated tokens are remembered for a moment (no read transaction per
 * request), but deleting a client ends its tokens at once: the cache is
 * emptied with the delete. */
TEST_T(delivery_deleted_client_token_refused_at_once, 60) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s;
    /* two requests: the second is answered from the cache */
    ASSERT_EQ(dl_announce(&e, e.dest, NULL, 0, &s), 201);
    ASSERT_EQ(dl_announce(&e, e.dest, NULL, 0, &s), 201);
    char path[200];
    snprintf(path, sizeof path, "/admin/v1/clients/%s", e.sender_id);
    aw_tc_resp_t r;
    aw_tc_request(e.srv.port, "DELETE", path, DL_AUTH_ADMIN, NULL, 0, &r);
    ASSERT_EQ(r.status, 204);
    aw_tc_resp_free(&r);
    ASSERT_EQ(dl_announce(&e, e.dest, NULL, 0, &s), 401);
    /* the other client's token is looked up again and still works */
    dl_req(e.srv.port, "GET", "/v1/submissions?destinationId=x", e.ptoken, NULL, NULL, 0, &r);
    ASSERT(r.status != 401);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}
