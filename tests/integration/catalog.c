/* Integration tests of the catalogue's HTTP API (src/catalog/api.c):
 * routing parameters, paging, signatures verified with the JWKS, 429 with
 * RateLimit headers, admin authorisation and audit entries. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "harness.h"
#include "http/http.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "test.h"
#include "../unit/store/pg_harness.h"

#define TOKEN "catalog-test-operator-token-0123"
#define AUTH  "Authorization: Bearer " TOKEN "\r\n"
#define DOG   "99102013104000"

#define ASSERT_OK(call, errp)                                                                   \
    do {                                                                                        \
        int aw_rc_ = (call);                                                                    \
        if (aw_rc_ != 0) aw_test_fail(__FILE__, __LINE__, "%s failed: %s", #call, (errp)->msg); \
    } while (0)

/* The platform key of the tests (prepared: generating RSA-4096 takes
 * seconds), copied with mode 0600 as the delivery module demands. */
static const char *test_key(void) {
    static char key[1024];
    snprintf(key, sizeof key, "%s/platform.jwk", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("cp %s/tests/data/catalog/platform-sig.private.jwk %s && chmod 600 %s",
                         aw_test_srcdir(), key, key),
              0);
    return key;
}

static void start(aw_tc_server_t *s, const char *rate) {
    static char db[1024], var[1024];
    snprintf(db, sizeof db, "%s/cat.db", aw_test_tmpdir());
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    const char *args[] = {"serve",
                          "--db",
                          db,
                          "--var-dir",
                          var,
                          "--threads",
                          "2",
                          "--platform-key",
                          test_key(),
                          "--routing-rate-limit",
                          rate,
                          "--public-url",
                          "https://amtsweg.example",
                          NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" TOKEN, NULL};
    aw_tc_start(s, args, env);
}

static json_t *body_json(const aw_tc_resp_t *r) {
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, 0, &je);
    ASSERT_MSG(j, "response is not JSON: %s", r->body);
    return j;
}

static int req(aw_tc_server_t *s, const char *method, const char *path, const char *headers,
               const char *body, json_t **out) {
    aw_tc_resp_t r;
    aw_tc_request(s->port, method, path, headers, body, body ? strlen(body) : 0, &r);
    int st = r.status;
    if (out) *out = r.body_len ? body_json(&r) : NULL;
    aw_tc_resp_free(&r);
    return st;
}

static void upload(aw_tc_server_t *s, const char *kind, const char *file) {
    char path[2048], url[256];
    snprintf(path, sizeof path, "%s/tests/data/catalog/%s", aw_test_srcdir(), file);
    size_t len;
    char *data = aw_test_read_file(path, &len);
    ASSERT(data);
    snprintf(url, sizeof url, "/admin/v1/import/%s?source=%s", kind, file);
    aw_tc_resp_t r;
    aw_tc_request(s->port, "POST", url, AUTH "Content-Type: text/tab-separated-values\r\n", data,
                  len, &r);
    ASSERT_MSG(r.status == 200, "import %s: %d %s", kind, r.status, r.body);
    aw_tc_resp_free(&r);
    free(data);
}

static void seed(aw_tc_server_t *s) {
    upload(s, "municipalities", "areas-small.tsv");
    upload(s, "plz", "plz-small.tsv");
    upload(s, "services", "services-small.tsv");
    const char *hdr = AUTH "Content-Type: application/json\r\nX-Amtsweg-Actor: tester\r\n";
    ASSERT_EQ(
        req(s, "POST", "/admin/v1/authorities", hdr,
            "{\"slug\":\"kreis\",\"name\":\"Kreis Dithmarschen\",\"destinationId\":\"dest-k\","
            "\"address\":{\"street\":\"Stettiner Str. 30\",\"postalCode\":\"25746\","
            "\"city\":\"Heide\"},\"contacts\":{\"phone\":\"+49 481 1\"}}",
            NULL),
        201);
    ASSERT_EQ(req(s, "POST", "/admin/v1/authorities", hdr,
                  "{\"slug\":\"heide\",\"name\":\"Stadt Heide\",\"destinationId\":\"dest-h\"}",
                  NULL),
              201);
    ASSERT_EQ(req(s, "POST", "/admin/v1/responsibilities", hdr,
                  "{\"leikaKey\":\"" DOG "\",\"ars\":\"01051\",\"authority\":\"kreis\"}", NULL),
              201);
    ASSERT_EQ(req(s, "POST", "/admin/v1/responsibilities", hdr,
                  "{\"leikaKey\":\"" DOG "\",\"ars\":\"010510044044\",\"authority\":\"heide\"}",
                  NULL),
              201);
}

TEST_T(routes_parameters_paging_and_signature, 120) {
    aw_tc_server_t s;
    start(&s, "1000");
    seed(&s);
    json_t *j;
    /* exactly one area parameter */
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG, NULL, NULL, &j), 400);
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "detail")), "exactly one");
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ars=01051&ags=01051044", NULL, NULL, &j),
              400);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/routes?ars=01051", NULL, NULL, &j), 400);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=123&ars=01051", NULL, NULL, &j), 400);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ars=0105", NULL, NULL, &j), 400);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ars=01051&limit=501", NULL, NULL, &j),
              400);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ars=01051&offset=-1", NULL, NULL, &j),
              400);
    json_decref(j);
    /* unknown area: 404 problem */
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ags=09999999", NULL, NULL, &j), 404);
    ASSERT_STR(json_string_value(json_object_get(j, "type")),
               "https://amtsweg.de/problems/not-found");
    json_decref(j);
    /* by AGS: Heide's own entry */
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ags=01051044", NULL, NULL, &j), 200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "count")), 1);
    json_t *route = json_array_get(json_object_get(j, "routes"), 0);
    ASSERT_STR(json_string_value(json_object_get(route, "destinationId")), "dest-h");
    ASSERT_STR(json_string_value(json_object_get(route, "destinationName")), "Stadt Heide");
    json_decref(j);
    /* by areaId: Brunsbüttel is covered by the Kreis; address and contacts */
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&areaId=010510011011", NULL, NULL, &j),
              200);
    route = json_array_get(json_object_get(j, "routes"), 0);
    ASSERT_STR(json_string_value(json_object_get(route, "destinationId")), "dest-k");
    json_t *auth = json_object_get(route, "authority");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(auth, "address"), "city")),
               "Heide");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(auth, "contacts"), "phone")),
               "+49 481 1");
    const char *sig = json_string_value(json_object_get(route, "destinationSignature"));
    ASSERT(sig);
    char *sigcopy = strdup(sig);
    json_decref(j);
    /* paging */
    ASSERT_EQ(
        req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ars=010510011011&offset=1", NULL, NULL, &j),
        200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "count")), 0);
    ASSERT_EQ(json_integer_value(json_object_get(j, "totalCount")), 1);
    ASSERT_EQ(json_integer_value(json_object_get(j, "offset")), 1);
    json_decref(j);
    /* nobody responsible: an empty list */
    ASSERT_EQ(req(&s, "GET", "/v1/routes?leikaKey=" DOG "&ars=05315", NULL, NULL, &j), 200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "totalCount")), 0);
    json_decref(j);
    /* the signature verifies with the published key */
    ASSERT_EQ(req(&s, "GET", "/.well-known/jwks.json", NULL, NULL, &j), 200);
    json_t *hdr = NULL;
    aw_err_t err = {0};
    ASSERT_OK(aw_jws_peek_header(sigcopy, strlen(sigcopy), 0, &hdr, &err), &err);
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    ASSERT(kid);
    json_t *k = NULL, *cand;
    size_t ki;
    json_array_foreach(json_object_get(j, "keys"), ki, cand) {
        if (json_is_string(json_object_get(cand, "kid")) &&
            strcmp(json_string_value(json_object_get(cand, "kid")), kid) == 0)
            k = cand;
    }
    ASSERT_MSG(k, "no key with kid %s in the JWKS", kid);
    json_decref(hdr);
    ASSERT(!json_object_get(k, "d"));
    aw_jwk_t *jwk;
    ASSERT_OK(aw_jwk_from_json(k, &jwk, &err), &err);
    json_decref(j);
    aw_jws_verified_t v;
    ASSERT_OK(aw_jws_verify(jwk, sigcopy, strlen(sigcopy), NULL, &v, &err), &err);
    json_t *p = json_loads((const char *)v.payload, 0, NULL);
    ASSERT_STR(json_string_value(json_object_get(p, "destinationId")), "dest-k");
    ASSERT_STR(json_string_value(json_object_get(p, "iss")), "https://amtsweg.example");
    ASSERT_STR(json_string_value(json_object_get(p, "submissionHost")), "amtsweg.example");
    json_t *svc = json_array_get(json_object_get(p, "services"), 0);
    ASSERT_STR(json_string_value(json_array_get(json_object_get(svc, "leistungIDs"), 0)),
               "urn:de:fim:leika:leistung:" DOG);
    ASSERT_CONTAINS(json_string_value(json_array_get(json_object_get(svc, "gebietIDs"), 0)),
                    ":rs:01051");
    json_decref(p);
    aw_jws_verified_free(&v);
    /* a tampered signature does not verify */
    sigcopy[strlen(sigcopy) - 5] ^= 1;
    aw_jws_verified_t v2 = {0};
    ASSERT(aw_jws_verify(jwk, sigcopy, strlen(sigcopy), NULL, &v2, &err) != 0);
    aw_jwk_free(jwk);
    free(sigcopy);
    ASSERT_EQ(aw_tc_stop(&s), 0);
}

TEST_T(areas_search, 60) {
    aw_tc_server_t s;
    start(&s, "1000");
    upload(&s, "municipalities", "areas-small.tsv");
    upload(&s, "plz", "plz-small.tsv");
    json_t *j;
    ASSERT_EQ(req(&s, "GET", "/v1/areas?areaSearchexpression=Hei*", NULL, NULL, &j), 200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "totalCount")), 1);
    ASSERT_STR(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "areas"), 0), "id")),
        "010510044044");
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/areas?areaSearchexpression=25746", NULL, NULL, &j), 200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "totalCount")), 1);
    json_decref(j);
    ASSERT_EQ(
        req(&s, "GET", "/v1/areas?areaSearchexpression=*stadt&limit=2&offset=1", NULL, NULL, &j),
        200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "count")), 2);
    ASSERT_EQ(json_integer_value(json_object_get(j, "totalCount")), 6);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/areas", NULL, NULL, &j), 400);
    json_decref(j);
    ASSERT_EQ(aw_tc_stop(&s), 0);
}

TEST_T(rate_limit_429_with_headers, 60) {
    aw_tc_server_t s;
    start(&s, "3");
    aw_tc_resp_t r;
    for (int i = 0; i < 3; i++) {
        aw_tc_request(s.port, "GET", "/v1/areas?areaSearchexpression=x", NULL, NULL, 0, &r);
        ASSERT_EQ(r.status, 200);
        ASSERT_STR(aw_tc_header(&r, "RateLimit-Limit"), "3");
        char want[4];
        snprintf(want, sizeof want, "%d", 2 - i);
        ASSERT_STR(aw_tc_header(&r, "RateLimit-Remaining"), want);
        aw_tc_resp_free(&r);
    }
    aw_tc_request(s.port, "GET", "/v1/routes?leikaKey=" DOG "&ars=01", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 429);
    ASSERT_STR(aw_tc_header(&r, "RateLimit-Remaining"), "0");
    int reset = atoi(aw_tc_header(&r, "RateLimit-Reset"));
    ASSERT(reset >= 1 && reset <= 60);
    ASSERT(aw_tc_header(&r, "Retry-After"));
    ASSERT_CONTAINS(aw_tc_header(&r, "Content-Type"), "application/problem+json");
    aw_tc_resp_free(&r);
    /* the admin API is not rate limited by the routing budget */
    aw_tc_request(s.port, "GET", "/admin/v1/audit", AUTH, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&s), 0);
}

TEST_T(admin_requires_operator_token_and_is_audited, 60) {
    aw_tc_server_t s;
    start(&s, "1000");
    json_t *j;
    const char *svc = "{\"name\":\"Hundesteuer Anmeldung\",\"fees\":\"keine\"}";
    const char *json_ct = "Content-Type: application/json\r\n";
    ASSERT_EQ(req(&s, "PUT", "/admin/v1/services/" DOG, json_ct, svc, &j), 401);
    json_decref(j);
    ASSERT_EQ(req(&s, "PUT", "/admin/v1/services/" DOG,
                  "Authorization: Bearer wrong-token-wrong-token\r\nContent-Type: "
                  "application/json\r\n",
                  svc, &j),
              401);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/admin/v1/audit", NULL, NULL, &j), 401);
    json_decref(j);
    ASSERT_EQ(req(&s, "POST", "/admin/v1/import/plz", NULL, "plz\tags\n", &j), 401);
    json_decref(j);
    const char *hdr = AUTH "Content-Type: application/json\r\nX-Amtsweg-Actor: alice\r\n";
    ASSERT_EQ(req(&s, "PUT", "/admin/v1/services/" DOG, hdr, svc, &j), 201);
    ASSERT_STR(json_string_value(json_object_get(j, "fees")), "keine");
    json_decref(j);
    ASSERT_EQ(req(&s, "PUT", "/admin/v1/services/" DOG, hdr, "{\"name\":\"Hundesteuer\"}", &j),
              200);
    json_decref(j);
    /* problem+json naming the field */
    ASSERT_EQ(req(&s, "PUT", "/admin/v1/services/" DOG, hdr, "{\"name\":7}", &j), 400);
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "detail")), "name");
    json_decref(j);
    ASSERT_EQ(req(&s, "DELETE", "/admin/v1/services/" DOG, AUTH, NULL, NULL), 204);
    ASSERT_EQ(req(&s, "DELETE", "/admin/v1/services/" DOG, AUTH, NULL, &j), 404);
    json_decref(j);
    ASSERT_EQ(req(&s, "POST", "/admin/v1/import/nope", AUTH, "x", &j), 404);
    json_decref(j);
    ASSERT_EQ(req(&s, "POST", "/admin/v1/import/xzufi", AUTH, "<broken", &j), 400);
    ASSERT_CONTAINS(json_string_value(json_object_get(j, "detail")), ":1:");
    json_decref(j);
    /* audit: newest first, who and what */
    ASSERT_EQ(req(&s, "GET", "/admin/v1/audit", AUTH, NULL, &j), 200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "total")), 3);
    json_t *e = json_object_get(j, "entries");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(e, 0), "action")), "delete");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(e, 0), "actor")), "operator");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(e, 1), "action")), "update");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(e, 2), "action")), "create");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(e, 2), "actor")), "operator:alice");
    ASSERT_STR(json_string_value(json_object_get(json_array_get(e, 2), "objectId")), DOG);
    json_decref(j);
    ASSERT_EQ(aw_tc_stop(&s), 0);
}

TEST_T(cli_import_and_efa_service_view, 120) {
    char db[1024];
    snprintf(db, sizeof db, "%s/cli.db", aw_test_tmpdir());
    const char *src = aw_test_srcdir();
    ASSERT_EQ(aw_test_sh("%s import municipalities %s/tests/data/catalog/areas-small.tsv --db %s "
                         ">/dev/null 2>&1",
                         getenv("AMTSWEG_BIN"), src, db),
              0);
    ASSERT_EQ(aw_test_sh("%s import services %s/tests/data/catalog/services-small.tsv --db %s "
                         "--actor ci >/dev/null 2>&1",
                         getenv("AMTSWEG_BIN"), src, db),
              0);
    ASSERT_EQ(aw_test_sh("%s import xzufi %s/tests/data/catalog/xzufi-good.xml --db %s >%s/out "
                         "2>&1",
                         getenv("AMTSWEG_BIN"), src, db, aw_test_tmpdir()),
              0);
    char out[1024];
    snprintf(out, sizeof out, "%s/out", aw_test_tmpdir());
    char *text = aw_test_read_file(out, NULL);
    ASSERT_CONTAINS(text, "4 unknown elements skipped");
    free(text);
    /* a broken file fails with its line and changes nothing */
    ASSERT_EQ(aw_test_sh("%s import xzufi %s/tests/data/catalog/xzufi-broken.xml --db %s >%s/out "
                         "2>&1",
                         getenv("AMTSWEG_BIN"), src, db, aw_test_tmpdir()),
              1);
    text = aw_test_read_file(out, NULL);
    ASSERT_CONTAINS(text, "xzufi-broken.xml:6");
    free(text);
    ASSERT_EQ(aw_test_sh("%s import nonsense x --db %s >/dev/null 2>&1", getenv("AMTSWEG_BIN"), db),
              2);
    /* the server sees it: the service as Bürgeramt Heide offers it */
    aw_tc_server_t s;
    static char var[1024];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    const char *args[] = {"serve", "--db",           db,         "--var-dir",
                          var,     "--platform-key", test_key(), NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" TOKEN, NULL};
    aw_tc_start(&s, args, env);
    json_t *j;
    ASSERT_EQ(req(&s, "PUT", "/admin/v1/authorities/OE-77/services/" DOG,
                  AUTH "Content-Type: application/json\r\n", "{\"fees\":\"7 € Heide-Gebühr\"}", &j),
              200);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/catalog/services/" DOG "?ars=010510044044", NULL, NULL, &j), 200);
    ASSERT_STR(json_string_value(json_object_get(j, "fees")), "7 € Heide-Gebühr");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(j, "authority"), "name")),
               "Bürgeramt Heide");
    ASSERT(!json_object_get(j, "paymentAccount"));
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/catalog/services/" DOG, NULL, NULL, &j), 200);
    ASSERT_STR(json_string_value(json_object_get(j, "fees")), "keine Gebühr");
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/admin/v1/audit?limit=10", AUTH, NULL, &j), 200);
    json_t *e = json_array_get(json_object_get(j, "entries"), 1);
    ASSERT_STR(json_string_value(json_object_get(e, "objectType")), "xzufi");
    json_decref(j);
    ASSERT_EQ(aw_tc_stop(&s), 0);
}

/* ---- GET /v1/services: finder + jurisdiction (+ AI) ----------------------- */

static char g_ai_answer[512];

static void h_mock_chat(aw_http_req_t *rq, aw_http_resp_t *resp, void *ctx) {
    (void)rq, (void)ctx;
    aw_http_resp_json(resp, 200,
                      json_pack("{s[{s{ss ss}}]}", "choices", "message", "role", "assistant",
                                "content", g_ai_answer));
}

static aw_http_server_t *mock_llm(char *url, size_t n) {
    aw_http_config_t c;
    aw_http_config_defaults(&c);
    c.host = "127.0.0.1";
    c.port = 0;
    c.threads = 1;
    aw_http_server_t *m;
    aw_err_t err = {0};
    ASSERT_OK(aw_http_server_new(&c, &m, &err), &err);
    aw_route_spec_t r = {"POST", "/v1/chat/completions", h_mock_chat, NULL, 0, 0, NULL, NULL};
    ASSERT_OK(aw_http_server_route(m, &r, &err), &err);
    ASSERT_OK(aw_http_server_start(m, &err), &err);
    snprintf(url, n, "http://127.0.0.1:%u", aw_http_server_port(m));
    return m;
}

static void start_with_assist(aw_tc_server_t *s, const char *assist_url) {
    static char db[1024], var[1024];
    snprintf(db, sizeof db, "%s/cat.db", aw_test_tmpdir());
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    const char *args[] = {
        "serve",    "--db",         db,         "--var-dir", var, "--platform-key",
        test_key(), "--assist-url", assist_url, NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" TOKEN, NULL};
    aw_tc_start(s, args, env);
}

TEST_T(services_search_with_place_and_ai, 120) {
    char url[64];
    aw_http_server_t *m = mock_llm(url, sizeof url);
    aw_tc_server_t s;
    start_with_assist(&s, url);
    seed(&s);
    json_t *j;
    /* the model puts Wohnsitz first: labelled as AI-assisted */
    snprintf(g_ai_answer, sizeof g_ai_answer, "{\"ranking\":[\"99115005104000\"]}");
    ASSERT_EQ(req(&s, "GET", "/v1/services?q=Hund%20anmelden&ars=010510044044", NULL, NULL, &j),
              200);
    ASSERT(json_is_true(json_object_get(j, "aiAssisted")));
    ASSERT(json_object_get(j, "notice"));
    json_t *first = json_array_get(json_object_get(j, "services"), 0);
    ASSERT_STR(json_string_value(json_object_get(first, "leikaKey")), "99115005104000");
    json_decref(j);
    /* a foreign id: the plain ranking stands, the finder's best is the dog */
    snprintf(g_ai_answer, sizeof g_ai_answer, "{\"ranking\":[\"99000000000000\"]}");
    ASSERT_EQ(req(&s, "GET", "/v1/services?q=Hund%20anmelden&ars=010510044044", NULL, NULL, &j),
              200);
    ASSERT(json_is_false(json_object_get(j, "aiAssisted")));
    first = json_array_get(json_object_get(j, "services"), 0);
    ASSERT_STR(json_string_value(json_object_get(first, "leikaKey")), DOG);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(first, "authority"), "slug")),
               "heide");
    ASSERT_STR(json_string_value(json_object_get(first, "destinationId")), "dest-h");
    json_decref(j);
    /* Brunsbüttel: the Kreis */
    ASSERT_EQ(req(&s, "GET", "/v1/services?q=Hundesteuer&ags=01051011&limit=1", NULL, NULL, &j),
              200);
    ASSERT_EQ(json_integer_value(json_object_get(j, "count")), 1);
    first = json_array_get(json_object_get(j, "services"), 0);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(first, "authority"), "slug")),
               "kreis");
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/services?q=Hund&ags=09999999", NULL, NULL, &j), 404);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/services", NULL, NULL, &j), 400);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/services?q=Hund&limit=51", NULL, NULL, &j), 400);
    json_decref(j);
    ASSERT_EQ(aw_tc_stop(&s), 0);
    aw_http_server_stop(m);
    aw_http_server_free(m);
}

/* The shipped binary loads libpq and libxml2 only when a feature needs them
 * (base/dl.h): import XZuFi into PostgreSQL and serve from it. */
TEST_T(postgresql_import_and_serve, 120) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    const char *bin = getenv("AMTSWEG_BIN"), *src = aw_test_srcdir();
    ASSERT_EQ(aw_test_sh("%s import municipalities %s/tests/data/catalog/areas-small.tsv --db '%s' "
                         ">/dev/null 2>&1",
                         bin, src, url),
              0);
    ASSERT_EQ(aw_test_sh("%s import services %s/tests/data/catalog/services-small.tsv --db '%s' "
                         "--actor ci >/dev/null 2>&1",
                         bin, src, url),
              0);
    ASSERT_EQ(aw_test_sh("%s import xzufi %s/tests/data/catalog/xzufi-good.xml --db '%s' "
                         ">/dev/null 2>&1",
                         bin, src, url),
              0);
    aw_tc_server_t s;
    static char var[1024];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    const char *args[] = {"serve", "--db",           url,        "--var-dir",
                          var,     "--platform-key", test_key(), NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" TOKEN, NULL};
    aw_tc_start(&s, args, env);
    json_t *j;
    ASSERT_EQ(req(&s, "GET", "/ready", NULL, NULL, &j), 200);
    json_decref(j);
    ASSERT_EQ(req(&s, "GET", "/v1/catalog/services/" DOG "?ars=010510044044", NULL, NULL, &j), 200);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(j, "authority"), "name")),
               "Bürgeramt Heide");
    json_decref(j);
    ASSERT_EQ(aw_tc_stop(&s), 0);
    aw_pg_harness_stop(&pg);
}

/* ---- the finder learns changes made outside the process ------------------- */

#define BEES "99123456000001"

/* Whether GET /v1/services?q=q through s lists leika. */
static bool search_lists(aw_tc_server_t *s, const char *q, const char *leika) {
    char path[200];
    snprintf(path, sizeof path, "/v1/services?q=%s", q);
    json_t *j = NULL;
    int st = req(s, "GET", path, NULL, NULL, &j);
    bool found = false;
    json_t *v;
    size_t i;
    if (st == 200)
        json_array_foreach(json_object_get(j, "services"), i, v) found |=
            strcmp(json_string_value(json_object_get(v, "leikaKey")) ?: "", leika) == 0;
    json_decref(j);
    return found;
}

/* Waits (bounded) until search_lists holds: the watcher looks every 2 s. */
static bool search_lists_soon(aw_tc_server_t *s, const char *q, const char *leika) {
    for (int i = 0; i < AW_TC_WAIT_S * 10; i++) {
        if (search_lists(s, q, leika)) return true;
        struct timespec ts = {0, 100 * 1000 * 1000}; /* polling a condition, bounded */
        nanosleep(&ts, NULL);
    }
    return false;
}

TEST_T(finder_learns_a_cli_import_while_serving, 120) {
    aw_tc_server_t s;
    start(&s, "1000");
    seed(&s);
    ASSERT(!search_lists(&s, "Bienenvolk", BEES));
    char tsv[1024];
    snprintf(tsv, sizeof tsv, "%s/bees.tsv", aw_test_tmpdir());
    FILE *f = fopen(tsv, "w");
    ASSERT(f);
    fprintf(f, "leika_key\tname\tkeywords\tshort\tlong\tdocuments\tfees\tlegal_basis\t"
               "processing_time\n" BEES "\tBienenvolk anmelden\tImker Bienen\tBienenvolk beim "
               "Veterinäramt anmelden.\tLang.\tkeine\tkeine Gebühr\tBienenseuchen-VO\tsofort\n");
    fclose(f);
    /* the operator imports into the database the server uses */
    ASSERT_EQ(aw_test_sh("%s import services %s --db %s/cat.db >/dev/null 2>&1",
                         getenv("AMTSWEG_BIN"), tsv, aw_test_tmpdir()),
              0);
    ASSERT_MSG(search_lists_soon(&s, "Bienenvolk", BEES),
               "the running server's search never found the imported service");
    ASSERT(search_lists(&s, "Hund%20anmelden", DOG)); /* the rest is still there */
    ASSERT_EQ(aw_tc_stop(&s), 0);
}

TEST_T(finder_of_every_node_learns_a_change_postgres, 120) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    static char var_a[1024], var_b[1024];
    snprintf(var_a, sizeof var_a, "%s/var-a", aw_test_tmpdir());
    snprintf(var_b, sizeof var_b, "%s/var-b", aw_test_tmpdir());
    const char *key = test_key();
    const char *args_a[] = {"serve", "--db", url, "--var-dir", var_a, "--platform-key", key, NULL};
    const char *args_b[] = {"serve", "--db", url, "--var-dir", var_b, "--platform-key", key, NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" TOKEN, NULL};
    aw_tc_server_t a, b;
    aw_tc_start(&a, args_a, env);
    aw_tc_start(&b, args_b, env);
    ASSERT(!search_lists(&b, "Bienenvolk", BEES));
    /* a service created through node A's admin API */
    ASSERT_EQ(req(&a, "PUT", "/admin/v1/services/" BEES, AUTH "Content-Type: application/json\r\n",
                  "{\"name\":\"Bienenvolk anmelden\",\"keywords\":\"Imker Bienen\"}", NULL),
              201);
    ASSERT(search_lists(&a, "Bienenvolk", BEES)); /* node A rebuilt before answering */
    ASSERT_MSG(search_lists_soon(&b, "Bienenvolk", BEES),
               "node B's search never found the service node A created");
    ASSERT_EQ(aw_tc_stop(&b), 0);
    ASSERT_EQ(aw_tc_stop(&a), 0);
    aw_pg_harness_stop(&pg);
}
