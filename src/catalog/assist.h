/*
 * assist — optional AI assistance for the finder through an
 * OpenAI-compatible chat endpoint (`POST .../v1/chat/completions`, as served
 * by llama.cpp, vLLM, Ollama or a gateway).
 *
 * One call per search: the model gets the citizen's query (with personal
 * data removed) and the finder's top candidates (id and name) and answers
 * {"query": "<in administrative terms>", "ranking": ["<id>", ...]}.
 *
 * What it promises:
 *  - The model can only reorder: every id in its ranking must be one of
 *    the candidates, or the whole answer is refused (AW_EINVAL) and the
 *    caller keeps the plain ranking. Malformed JSON, HTTP errors, oversize
 *    answers (> 64 KiB) and timeouts are refused the same way.
 *  - Strict timeouts (connect and total) and a circuit breaker: after
 *    `breaker_failures` failures in a row no request is sent for
 *    `breaker_cooldown_s` (AW_EBUSY), then one trial request decides.
 *  - Personal data patterns (e-mail addresses, IBANs, dates, phone numbers,
 *    tax ids and other long digit runs) are replaced before sending
 *    (aw_assist_scrub). Nothing of the query or the answer is logged.
 *  - Thread-safe; libcurl without redirects, only http/https.
 */
#ifndef AW_CATALOG_ASSIST_H
#define AW_CATALOG_ASSIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AW_ASSIST_MAX_CANDIDATES 20
#define AW_ASSIST_QUERY_MAX      400

typedef struct aw_assist_config {
    const char *url;             /* base URL ("http://127.0.0.1:8081") or the full endpoint */
    const char *model;           /* NULL: "default" */
    const char *api_key;         /* optional bearer token; NULL: none */
    unsigned timeout_ms;         /* whole request; 0: 3000 */
    unsigned connect_timeout_ms; /* 0: 1000 */
    unsigned breaker_failures;   /* 0: 3 */
    unsigned breaker_cooldown_s; /* 0: 30 */
    int64_t (*now_ms)(void);     /* clock for the breaker; NULL: aw_time_now_ms (tests inject) */
} aw_assist_config_t;

typedef struct aw_assist aw_assist_t;

typedef struct aw_assist_candidate {
    const char *id; /* e.g. a LeiKa key */
    const char *name;
} aw_assist_candidate_t;

typedef struct aw_assist_result {
    size_t order[AW_ASSIST_MAX_CANDIDATES]; /* candidate indexes, best first */
    size_t n_order;                         /* ≤ n; candidates not named keep their order after */
    char query[AW_ASSIST_QUERY_MAX + 1];    /* the rewritten query, "" when none */
} aw_assist_result_t;

/* The config strings are copied. */
int aw_assist_new(const aw_assist_config_t *cfg, aw_assist_t **out, aw_err_t *err);
void aw_assist_free(aw_assist_t *a);

/* Asks the model (see the header comment). n ≤ AW_ASSIST_MAX_CANDIDATES
 * (more are cut). 0 with *res filled, or AW_EBUSY (breaker open),
 * AW_ETIMEOUT, AW_EIO (connection, HTTP status), AW_EINVAL (malformed or
 * foreign answer). */
int aw_assist_rerank(aw_assist_t *a, const char *query, const aw_assist_candidate_t *c, size_t n,
                     aw_assist_result_t *res, aw_err_t *err);

/* Replaces personal data patterns in text by placeholders ([E-Mail],
 * [IBAN], [Datum], [Nummer]); writes at most outsz-1 bytes. Returns 0 or
 * AW_ENOMEM. */
int aw_assist_scrub(const char *text, char *out, size_t outsz);

/* Requests sent and breaker state, for tests and metrics. */
typedef struct aw_assist_stats {
    unsigned long requests, failures, refused_by_breaker;
    int breaker_open;
} aw_assist_stats_t;
void aw_assist_get_stats(aw_assist_t *a, aw_assist_stats_t *st);

#endif
