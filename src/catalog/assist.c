/*
 * assist.c — the optional AI re-ranking (assist.h): PII scrubbing with
 * PCRE2, the request with libcurl, strict checking of the answer, and a
 * circuit breaker.
 */
#include "catalog/assist.h"

#include "base/dl_curl.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/time.h"

#define MAX_ANSWER (64 * 1024)

struct aw_assist {
    char *endpoint, *model, *auth_header;
    unsigned timeout_ms, connect_timeout_ms, breaker_failures, breaker_cooldown_s;
    int64_t (*now_ms)(void);
    pthread_mutex_t mu;
    unsigned consecutive_failures;
    int64_t open_until_ms; /* breaker open while now < open_until_ms */
    int trial_in_flight;
    aw_assist_stats_t stats;
};

/* ---- scrubbing ------------------------------------------------------------ */

static const struct {
    const char *re, *repl;
} PII[] = {
    {"[^\\s@]+@[^\\s@]+", "[E-Mail]"},
    /* IBAN: country, check digits, 10..30 more, spaces allowed in groups */
    {"\\b[A-Za-z]{2}\\d{2}(?:[ ]?[A-Za-z0-9]){10,30}\\b", "[IBAN]"},
    {"\\b\\d{1,2}\\.\\s?\\d{1,2}\\.\\s?(?:\\d{4}|\\d{2})\\b", "[Datum]"},
    {"\\b\\d{4}-\\d{2}-\\d{2}\\b", "[Datum]"},
    {"\\b\\d{1,2}\\.\\s?(?:Jan|Feb|Mär|Mar|Apr|Mai|Jun|Jul|Aug|Sep|Okt|Nov|Dez)[a-zä]*\\.?\\s?"
     "\\d{2,4}\\b",
     "[Datum]"},
    /* phone numbers, tax ids, any other run of 6+ digits (with separators) */
    {"\\+?\\d(?:[\\s/().-]{0,2}\\d){5,}", "[Nummer]"},
};
#define NPII (sizeof PII / sizeof *PII)

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pcre2_code *g_re[NPII];

static void compile_all(void) {
    for (size_t i = 0; i < NPII; i++) {
        int ec;
        PCRE2_SIZE off;
        g_re[i] = pcre2_compile((PCRE2_SPTR)PII[i].re, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                &ec, &off, NULL);
    }
}

int aw_assist_scrub(const char *text, char *out, size_t outsz) {
    pthread_once(&g_once, compile_all);
    if (outsz == 0) return AW_ENOMEM;
    size_t n = strlen(text);
    size_t cap = n * 4 + 64;
    char *a = malloc(cap), *b = malloc(cap);
    if (!a || !b) {
        free(a);
        free(b);
        return AW_ENOMEM;
    }
    snprintf(a, cap, "%s", text);
    for (size_t i = 0; i < NPII; i++) {
        if (!g_re[i]) continue;
        PCRE2_SIZE olen = cap;
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(g_re[i], NULL);
        int rc = pcre2_substitute(g_re[i], (PCRE2_SPTR)a, PCRE2_ZERO_TERMINATED, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_NO_UTF_CHECK, md, NULL,
                                  (PCRE2_SPTR)PII[i].repl, PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)b,
                                  &olen);
        pcre2_match_data_free(md);
        if (rc < 0) { /* invalid UTF-8 or too long: send nothing of it */
            snprintf(a, cap, "%s", "");
            break;
        }
        char *t = a;
        a = b;
        b = t;
    }
    snprintf(out, outsz, "%s", a);
    free(a);
    free(b);
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

int aw_assist_new(const aw_assist_config_t *cfg, aw_assist_t **out, aw_err_t *err) {
    *out = NULL;
    if (!cfg->url ||
        (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0))
        return aw_err_set(err, AW_EINVAL, "assist: the URL must start with http:// or https://");
    aw_assist_t *a = calloc(1, sizeof *a);
    if (!a) return aw_err_set(err, AW_ENOMEM, "out of memory");
    size_t n = strlen(cfg->url);
    while (n && cfg->url[n - 1] == '/') n--;
    const char *suffix = "/v1/chat/completions";
    if (n >= 17 && strncmp(cfg->url + n - 17, "/chat/completions", 17) == 0)
        suffix = "";
    else if (n >= 3 && strncmp(cfg->url + n - 3, "/v1", 3) == 0)
        suffix = "/chat/completions";
    if (asprintf(&a->endpoint, "%.*s%s", (int)n, cfg->url, suffix) < 0) a->endpoint = NULL;
    a->model = strdup(cfg->model && *cfg->model ? cfg->model : "default");
    if (cfg->api_key && *cfg->api_key) {
        if (asprintf(&a->auth_header, "Authorization: Bearer %s", cfg->api_key) < 0)
            a->auth_header = NULL;
    }
    a->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 3000;
    a->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 1000;
    a->breaker_failures = cfg->breaker_failures ? cfg->breaker_failures : 3;
    a->breaker_cooldown_s = cfg->breaker_cooldown_s ? cfg->breaker_cooldown_s : 30;
    a->now_ms = cfg->now_ms ? cfg->now_ms : aw_time_now_ms;
    pthread_mutex_init(&a->mu, NULL);
    if (!a->endpoint || !a->model) {
        aw_assist_free(a);
        return aw_err_set(err, AW_ENOMEM, "out of memory");
    }
    *out = a;
    return 0;
}

void aw_assist_free(aw_assist_t *a) {
    if (!a) return;
    free(a->endpoint);
    free(a->model);
    if (a->auth_header) {
        memset(a->auth_header, 0, strlen(a->auth_header));
        free(a->auth_header);
    }
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void aw_assist_get_stats(aw_assist_t *a, aw_assist_stats_t *st) {
    pthread_mutex_lock(&a->mu);
    *st = a->stats;
    st->breaker_open = a->open_until_ms > a->now_ms();
    pthread_mutex_unlock(&a->mu);
}

/* ---- breaker -------------------------------------------------------------- */

static bool breaker_allow(aw_assist_t *a) {
    pthread_mutex_lock(&a->mu);
    bool ok = true;
    int64_t now = a->now_ms();
    if (a->consecutive_failures >= a->breaker_failures) {
        if (now < a->open_until_ms || a->trial_in_flight)
            ok = false; /* open, or half-open with its one trial running */
        else
            a->trial_in_flight = 1;
    }
    if (ok)
        a->stats.requests++;
    else
        a->stats.refused_by_breaker++;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

static void breaker_result(aw_assist_t *a, bool success) {
    pthread_mutex_lock(&a->mu);
    a->trial_in_flight = 0;
    if (success) {
        a->consecutive_failures = 0;
        a->open_until_ms = 0;
    } else {
        a->stats.failures++;
        if (++a->consecutive_failures >= a->breaker_failures) {
            a->open_until_ms = a->now_ms() + (int64_t)a->breaker_cooldown_s * 1000;
            if (a->consecutive_failures == a->breaker_failures)
                aw_log_warn("assist.breaker_open", "cooldown_s=%u", a->breaker_cooldown_s);
        }
    }
    pthread_mutex_unlock(&a->mu);
}

/* ---- the request ---------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud) {
    aw_buf_t *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > MAX_ANSWER) return 0; /* aborts the transfer */
    aw_buf_append(b, p, n);
    return aw_buf_ok(b) ? n : 0;
}

static const char SYSTEM_PROMPT[] =
    "Du hilfst einer Suchmaschine der deutschen Verwaltung. Du bekommst die Anfrage einer "
    "Bürgerin oder eines Bürgers und eine Liste von Verwaltungsleistungen (id, name). "
    "Formuliere die Anfrage in Verwaltungssprache um und ordne die Leistungen nach Passung. "
    "Antworte nur mit JSON: {\"query\": \"...\", \"ranking\": [\"id\", ...]}. Verwende "
    "ausschließlich ids aus der Liste.";

static char *build_body(aw_assist_t *a, const char *query, const aw_assist_candidate_t *c,
                        size_t n) {
    json_t *cands = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            cands, json_pack("{ss ss}", "id", c[i].id, "name", c[i].name ? c[i].name : ""));
    json_t *user = json_pack("{ss so}", "query", query, "candidates", cands);
    char *user_text = user ? json_dumps(user, JSON_COMPACT) : NULL;
    json_decref(user);
    if (!user_text) return NULL;
    json_t *body =
        json_pack("{ss sf s[{ss ss} {ss ss}] s{ss}}", "model", a->model, "temperature", 0.0,
                  "messages", "role", "system", "content", SYSTEM_PROMPT, "role", "user", "content",
                  user_text, "response_format", "type", "json_object");
    free(user_text);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    return text;
}

/* The model's message content, with ``` fences removed; new reference. */
static json_t *answer_json(const char *body, size_t len, aw_err_t *err) {
    json_error_t je;
    json_t *resp = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!resp) return aw_err_set(err, AW_EINVAL, "assist: the response is not JSON"), NULL;
    json_t *content = json_object_get(
        json_object_get(json_array_get(json_object_get(resp, "choices"), 0), "message"), "content");
    if (!json_is_string(content)) {
        json_decref(resp);
        aw_err_set(err, AW_EINVAL, "assist: no choices[0].message.content in the response");
        return NULL;
    }
    const char *s = json_string_value(content);
    size_t n = json_string_length(content);
    while (n && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) s++, n--;
    if (n >= 3 && strncmp(s, "```", 3) == 0) {
        const char *nl = memchr(s, '\n', n);
        if (nl) {
            n -= (size_t)(nl + 1 - s);
            s = nl + 1;
        }
        while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r')) n--;
        if (n >= 3 && strncmp(s + n - 3, "```", 3) == 0) n -= 3;
    }
    json_t *ans = json_loadb(s, n, JSON_REJECT_DUPLICATES, &je);
    json_decref(resp);
    if (!json_is_object(ans)) {
        json_decref(ans);
        aw_err_set(err, AW_EINVAL, "assist: the model's answer is not a JSON object");
        return NULL;
    }
    return ans;
}

static int check_answer(json_t *ans, const aw_assist_candidate_t *c, size_t n,
                        aw_assist_result_t *res, aw_err_t *err) {
    json_t *ranking = json_object_get(ans, "ranking");
    if (!json_is_array(ranking) || json_array_size(ranking) == 0 ||
        json_array_size(ranking) > AW_ASSIST_MAX_CANDIDATES)
        return aw_err_set(err, AW_EINVAL, "assist: 'ranking' must be a non-empty list of ids");
    bool seen[AW_ASSIST_MAX_CANDIDATES] = {0};
    size_t i;
    json_t *v;
    json_array_foreach(ranking, i, v) {
        const char *id = json_string_value(v);
        size_t k = n;
        for (size_t j = 0; id && j < n; j++)
            if (strcmp(c[j].id, id) == 0) k = j;
        if (k == n)
            return aw_err_set(err, AW_EINVAL, "assist: ranking[%zu] is not a candidate id", i);
        if (seen[k]) continue; /* a repeated id counts once */
        seen[k] = true;
        res->order[res->n_order++] = k;
    }
    const char *q = json_string_value(json_object_get(ans, "query"));
    if (q && strlen(q) <= AW_ASSIST_QUERY_MAX) snprintf(res->query, sizeof res->query, "%s", q);
    return 0;
}

int aw_assist_rerank(aw_assist_t *a, const char *query, const aw_assist_candidate_t *c, size_t n,
                     aw_assist_result_t *res, aw_err_t *err) {
    memset(res, 0, sizeof *res);
    if (n > AW_ASSIST_MAX_CANDIDATES) n = AW_ASSIST_MAX_CANDIDATES;
    if (n == 0) return aw_err_set(err, AW_EINVAL, "assist: no candidates");
    if (!breaker_allow(a)) return aw_err_set(err, AW_EBUSY, "assist: circuit breaker open");
    int lrc = aw_dl_curl_load(err); /* first use loads libcurl (base/dl.h) */
    if (lrc < 0) return lrc;
    char clean[AW_ASSIST_QUERY_MAX * 2];
    int rc = aw_assist_scrub(query, clean, sizeof clean);
    char *body = rc == 0 ? build_body(a, clean, c, n) : NULL;
    if (!body) {
        breaker_result(a, true); /* our fault, not the endpoint's */
        return aw_err_set(err, AW_ENOMEM, "assist: out of memory");
    }
    CURL *h = curl_easy_init();
    aw_buf_t resp = AW_BUF_INIT;
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (a->auth_header) hdr = curl_slist_append(hdr, a->auth_header);
    long status = 0;
    CURLcode cc = CURLE_FAILED_INIT;
    if (h) {
        curl_easy_setopt(h, CURLOPT_URL, a->endpoint);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)a->connect_timeout_ms);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
        cc = curl_easy_perform(h);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
    }
    curl_slist_free_all(hdr);
    free(body);
    if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = aw_err_set(err, AW_ETIMEOUT, "assist: no answer within %u ms", a->timeout_ms);
    else if (cc != CURLE_OK)
        rc = aw_err_set(err, AW_EIO, "assist: request failed: %s", curl_easy_strerror(cc));
    else if (status < 200 || status > 299)
        rc = aw_err_set(err, AW_EIO, "assist: the endpoint answered HTTP %ld", status);
    else {
        json_t *ans = answer_json(resp.data ? resp.data : "", resp.len, err);
        rc = ans ? check_answer(ans, c, n, res, err) : AW_EINVAL;
        json_decref(ans);
    }
    aw_buf_free(&resp);
    breaker_result(a, rc == 0);
    if (rc != 0) {
        memset(res, 0, sizeof *res);
        aw_log_info("assist.refused", "code=%s", aw_err_name(rc));
    }
    return rc;
}
