#include "http/router.h"
#include "test.h"

static aw_router_t *mk(void) {
    aw_router_t *r = aw_router_new();
    ASSERT_EQ(aw_router_add(r, "GET", "/health"), 0);
    ASSERT_EQ(aw_router_add(r, "POST", "/v1/submissions"), 1);
    ASSERT_EQ(aw_router_add(r, "GET", "/v1/submissions/{submissionId}"), 2);
    ASSERT_EQ(aw_router_add(r, "PUT", "/v1/submissions/{submissionId}"), 3);
    ASSERT_EQ(aw_router_add(r, "PUT", "/v1/submissions/{submissionId}/attachments/{attachmentId}"),
              4);
    ASSERT_EQ(aw_router_add(r, "GET", "/v1/submissions/stats"), 5);
    ASSERT_EQ(aw_router_add(r, "GET", "/"), 6);
    return r;
}

TEST(matches_literals_and_params) {
    aw_router_t *r = mk();
    char scratch[256];
    aw_route_match_t m;
    aw_router_match(r, "GET", "/health", scratch, &m);
    ASSERT_EQ(m.route, 0);
    aw_router_match(r, "GET", "/", scratch, &m);
    ASSERT_EQ(m.route, 6);
    aw_router_match(r, "PUT", "/v1/submissions/abc/attachments/def", scratch, &m);
    ASSERT_EQ(m.route, 4);
    ASSERT_EQ(m.nparams, 2);
    ASSERT_STR(m.names[0], "submissionId");
    ASSERT_STR(m.values[0], "abc");
    ASSERT_STR(m.names[1], "attachmentId");
    ASSERT_STR(m.values[1], "def");
    ASSERT_STR(aw_router_template(r, m.route),
               "/v1/submissions/{submissionId}/attachments/{attachmentId}");
    aw_router_free(r);
}

TEST(literal_beats_parameter) {
    aw_router_t *r = mk();
    char scratch[256];
    aw_route_match_t m;
    aw_router_match(r, "GET", "/v1/submissions/stats", scratch, &m);
    ASSERT_EQ(m.route, 5);
    aw_router_match(r, "GET", "/v1/submissions/other", scratch, &m);
    ASSERT_EQ(m.route, 2);
    /* PUT on the literal shape: 405 with the literal's methods, not a
     * fall-through to the parameter route */
    aw_router_match(r, "PUT", "/v1/submissions/stats", scratch, &m);
    ASSERT_EQ(m.status, 405);
    ASSERT_STR(m.allow, "GET, HEAD");
    aw_router_free(r);
}

TEST(not_found_and_method_not_allowed) {
    aw_router_t *r = mk();
    char scratch[256];
    aw_route_match_t m;
    aw_router_match(r, "GET", "/nope", scratch, &m);
    ASSERT_EQ(m.route, -1);
    ASSERT_EQ(m.status, 404);
    aw_router_match(r, "DELETE", "/v1/submissions/x", scratch, &m);
    ASSERT_EQ(m.status, 405);
    ASSERT_STR(m.allow, "GET, HEAD, PUT");
    aw_router_match(r, "HEAD", "/health", scratch, &m);
    ASSERT_EQ(m.route, 0);
    /* trailing slash and empty segments do not match */
    aw_router_match(r, "GET", "/health/", scratch, &m);
    ASSERT_EQ(m.status, 404);
    aw_router_match(r, "GET", "/v1/submissions//attachments/x", scratch, &m);
    ASSERT_EQ(m.status, 404);
    aw_router_free(r);
}

TEST(percent_decoding_of_params) {
    aw_router_t *r = mk();
    char scratch[256];
    aw_route_match_t m;
    aw_router_match(r, "GET", "/v1/submissions/a%20b", scratch, &m);
    ASSERT_EQ(m.route, 2);
    ASSERT_STR(m.values[0], "a b");
    aw_router_match(r, "GET", "/v1/submissions/a%2Fb", scratch, &m); /* encoded slash */
    ASSERT_EQ(m.status, 404);
    aw_router_match(r, "GET", "/v1/submissions/a%00", scratch, &m);
    ASSERT_EQ(m.status, 404);
    aw_router_match(r, "GET", "/v1/submissions/a%zz", scratch, &m);
    ASSERT_EQ(m.status, 404);
    aw_router_free(r);
}

TEST(bad_templates_rejected) {
    aw_router_t *r = aw_router_new();
    ASSERT(aw_router_add(r, "GET", "no-slash") < 0);
    ASSERT(aw_router_add(r, "GET", "/a{b}") < 0);
    ASSERT(aw_router_add(r, "GET", "/a/{}") < 0);
    ASSERT_EQ(aw_router_add(r, "GET", "/a/{b}"), 0);
    ASSERT(aw_router_add(r, "GET", "/a/{b}") < 0); /* duplicate */
    ASSERT_EQ(aw_router_count(r), 1);
    aw_router_free(r);
}
