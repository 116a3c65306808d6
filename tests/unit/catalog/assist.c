/* Tests of src/catalog/assist.c against a mock OpenAI-compatible endpoint
 * served by our own http layer in the test process: canned answers,
 * malformed JSON, foreign ids, 5xx, timeouts, the breaker, PII scrubbing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "catalog/assist.h"
#include "http/http.h"
#include "test.h"

static char g_answer[4096]; /* the content the mock's model answers */
static int g_status = 200;
static int g_raw; /* 1: the body is g_answer as is (not wrapped) */
static char g_last_body[8192];
static atomic_int g_hits;

static void h_chat(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)ctx;
    atomic_fetch_add(&g_hits, 1);
    snprintf(g_last_body, sizeof g_last_body, "%s", req->body ? req->body : "");
    if (g_status != 200) {
        aw_http_resp_text(resp, g_status, "text/plain", "boom", 4);
        return;
    }
    if (g_raw) {
        aw_http_resp_text(resp, 200, "application/json", g_answer, strlen(g_answer));
        return;
    }
    json_t *j = json_pack("{s[{s{ss ss}}]}", "choices", "message", "role", "assistant", "content",
                          g_answer);
    aw_http_resp_json(resp, 200, j);
}

static aw_http_server_t *mock(char *url, size_t n) {
    aw_http_config_t c;
    aw_http_config_defaults(&c);
    c.host = "127.0.0.1";
    c.port = 0;
    c.threads = 1;
    aw_http_server_t *s;
    aw_err_t err = {0};
    ASSERT_EQ(aw_http_server_new(&c, &s, &err), 0);
    aw_route_spec_t r = {"POST", "/v1/chat/completions", h_chat, NULL, 0, 0, NULL, NULL};
    ASSERT_EQ(aw_http_server_route(s, &r, &err), 0);
    ASSERT_EQ(aw_http_server_start(s, &err), 0);
    snprintf(url, n, "http://127.0.0.1:%u", aw_http_server_port(s));
    return s;
}

static const aw_assist_candidate_t CANDS[] = {
    {"99102013104000", "Hundesteuer Anmeldung"},
    {"99110009104000", "Hundehaltung Anmeldung"},
    {"99115005104000", "Wohnsitz Anmeldung"},
};

static aw_assist_t *client(const char *url, unsigned timeout_ms) {
    aw_assist_config_t cfg = {.url = url,
                              .model = "mock",
                              .timeout_ms = timeout_ms,
                              .breaker_failures = 3,
                              .breaker_cooldown_s = 60};
    aw_assist_t *a;
    aw_err_t err = {0};
    ASSERT_EQ(aw_assist_new(&cfg, &a, &err), 0);
    return a;
}

TEST(canned_answer_reorders_and_rewrites) {
    char url[64];
    aw_http_server_t *s = mock(url, sizeof url);
    aw_assist_t *a = client(url, 3000);
    snprintf(g_answer, sizeof g_answer,
             "{\"query\":\"Hundehaltung anmelden\",\"ranking\":[\"99110009104000\","
             "\"99102013104000\"]}");
    aw_assist_result_t r;
    aw_err_t err = {0};
    ASSERT_EQ(aw_assist_rerank(a, "Hund angeschafft", CANDS, 3, &r, &err), 0);
    ASSERT_EQ(r.n_order, 2);
    ASSERT_EQ(r.order[0], 1);
    ASSERT_EQ(r.order[1], 0);
    ASSERT_STR(r.query, "Hundehaltung anmelden");
    /* the request named the model and every candidate */
    ASSERT_CONTAINS(g_last_body, "\"model\":\"mock\"");
    ASSERT_CONTAINS(g_last_body, "99115005104000");
    /* fenced answers (```json ... ```) are accepted */
    snprintf(g_answer, sizeof g_answer, "```json\n{\"ranking\":[\"99115005104000\"]}\n```");
    ASSERT_EQ(aw_assist_rerank(a, "umzug", CANDS, 3, &r, &err), 0);
    ASSERT_EQ(r.order[0], 2);
    ASSERT_STR(r.query, "");
    aw_assist_free(a);
    aw_http_server_stop(s);
    aw_http_server_free(s);
}

TEST(malformed_and_foreign_answers_are_refused) {
    char url[64];
    aw_http_server_t *s = mock(url, sizeof url);
    aw_assist_t *a = client(url, 3000);
    aw_assist_result_t r;
    aw_err_t err = {0};
    snprintf(g_answer, sizeof g_answer, "{\"ranking\": [\"99102013104000\"");
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EINVAL);
    ASSERT_EQ(r.n_order, 0);
    snprintf(g_answer, sizeof g_answer, "{\"ranking\":[\"99102013104000\",\"99999999999999\"]}");
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "ranking[1]");
    ASSERT_EQ(r.n_order, 0);
    snprintf(g_answer, sizeof g_answer, "{\"ranking\":[42]}");
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EINVAL);
    /* three refusals in a row opened the breaker; a fresh client */
    aw_assist_free(a);
    a = client(url, 3000);
    snprintf(g_answer, sizeof g_answer, "Ich denke, die Hundesteuer passt am besten.");
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EINVAL);
    /* a body that is not an OpenAI response at all */
    aw_assist_free(a);
    a = client(url, 3000);
    g_raw = 1;
    snprintf(g_answer, sizeof g_answer, "{\"choices\":[]}");
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EINVAL);
    snprintf(g_answer, sizeof g_answer, "<html>");
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EINVAL);
    g_raw = 0;
    aw_assist_free(a);
    aw_http_server_stop(s);
    aw_http_server_free(s);
}

TEST(server_errors_open_the_breaker) {
    char url[64];
    aw_http_server_t *s = mock(url, sizeof url);
    aw_assist_t *a = client(url, 3000);
    aw_assist_result_t r;
    aw_err_t err = {0};
    g_status = 503;
    atomic_store(&g_hits, 0);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EIO);
        ASSERT_CONTAINS(err.msg, "503");
    }
    /* open: refused without contacting the endpoint */
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EBUSY);
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EBUSY);
    ASSERT_EQ(atomic_load(&g_hits), 3);
    aw_assist_stats_t st;
    aw_assist_get_stats(a, &st);
    ASSERT(st.breaker_open);
    ASSERT_EQ(st.refused_by_breaker, 2);
    ASSERT_EQ(st.failures, 3);
    g_status = 200;
    aw_assist_free(a);
    aw_http_server_stop(s);
    aw_http_server_free(s);
}

static int64_t g_now = 1000000;
static int64_t fake_now(void) {
    return g_now;
}

TEST(breaker_half_open_trial_closes_on_success) {
    char url[64];
    aw_http_server_t *s = mock(url, sizeof url);
    aw_assist_config_t cfg = {.url = url,
                              .timeout_ms = 3000,
                              .breaker_failures = 1,
                              .breaker_cooldown_s = 30,
                              .now_ms = fake_now};
    aw_assist_t *a;
    aw_err_t err = {0};
    ASSERT_EQ(aw_assist_new(&cfg, &a, &err), 0);
    aw_assist_result_t r;
    g_status = 500;
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EIO);
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EBUSY);
    g_status = 200;
    snprintf(g_answer, sizeof g_answer, "{\"ranking\":[\"99102013104000\"]}");
    g_now += 29000; /* still open */
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_EBUSY);
    g_now += 2000; /* cooled down: one trial goes through and closes it */
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), 0);
    aw_assist_stats_t st;
    aw_assist_get_stats(a, &st);
    ASSERT(!st.breaker_open);
    aw_assist_free(a);
    aw_http_server_stop(s);
    aw_http_server_free(s);
}

TEST(timeout_is_strict) {
    /* A listener that never accepts: the connection completes in the
     * backlog, the request is sent and no answer ever comes. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ASSERT_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ASSERT_EQ(listen(fd, 8), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", ntohs(sa.sin_port));
    aw_assist_t *a = client(url, 300);
    aw_assist_result_t r;
    aw_err_t err = {0};
    ASSERT_EQ(aw_assist_rerank(a, "x", CANDS, 3, &r, &err), AW_ETIMEOUT);
    ASSERT_CONTAINS(err.msg, "300 ms");
    aw_assist_free(a);
    close(fd);
    /* nothing listens: a connection error, not a hang */
    a = client(url, 300);
    ASSERT(aw_assist_rerank(a, "x", CANDS, 3, &r, &err) != 0);
    aw_assist_free(a);
}

TEST(personal_data_is_scrubbed_before_sending) {
    char out[512];
    ASSERT_EQ(aw_assist_scrub("Mail an max.mustermann@example.org wegen Hund", out, sizeof out), 0);
    ASSERT_STR(out, "Mail an [E-Mail] wegen Hund");
    aw_assist_scrub("IBAN DE89 3704 0044 0532 0130 00 für Hundesteuer", out, sizeof out);
    ASSERT_STR(out, "IBAN [IBAN] für Hundesteuer");
    aw_assist_scrub("geboren am 03.04.1985 Ausweis", out, sizeof out);
    ASSERT_STR(out, "geboren am [Datum] Ausweis");
    aw_assist_scrub("geb. 1985-04-03", out, sizeof out);
    ASSERT_STR(out, "geb. [Datum]");
    aw_assist_scrub("ruf an 0171 1234567 oder +49 (30) 123456", out, sizeof out);
    ASSERT_STR(out, "ruf an [Nummer] oder [Nummer]");
    aw_assist_scrub("Steuer-ID 12345678901 Kfz", out, sizeof out);
    ASSERT_STR(out, "Steuer-ID [Nummer] Kfz");
    aw_assist_scrub("Hund anmelden 2 Hunde", out, sizeof out);
    ASSERT_STR(out, "Hund anmelden 2 Hunde");
    /* end to end: the mock never sees the address */
    char url[64];
    aw_http_server_t *s = mock(url, sizeof url);
    aw_assist_t *a = client(url, 3000);
    snprintf(g_answer, sizeof g_answer, "{\"ranking\":[\"99102013104000\"]}");
    aw_assist_result_t r;
    aw_err_t err = {0};
    ASSERT_EQ(aw_assist_rerank(a, "Hund anmelden, ich bin anna@example.org, Tel 030 1234567", CANDS,
                               3, &r, &err),
              0);
    ASSERT(!strstr(g_last_body, "anna@"));
    ASSERT(!strstr(g_last_body, "1234567"));
    ASSERT_CONTAINS(g_last_body, "[E-Mail]");
    aw_assist_free(a);
    aw_http_server_stop(s);
    aw_http_server_free(s);
}
