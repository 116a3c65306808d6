/*
 * ratelimit — a fixed-window request counter per client key (the client's
 * address, http/clientip.h), in memory: the public routing API, POST /token.
 *
 * Promises: thread-safe; bounded memory (a fixed table; when all slots a
 * key may use are live, the one whose window ends first is taken over, so
 * a flood of distinct addresses cannot grow memory — it can only make the
 * limit looser for them); figures suitable for the RateLimit-Limit,
 * RateLimit-Remaining and RateLimit-Reset headers.
 */
#ifndef AW_HTTP_RATELIMIT_H
#define AW_HTTP_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define AW_RL_SLOTS 4096
#define AW_RL_KEY   48

typedef struct aw_rl_slot {
    char key[AW_RL_KEY];
    int64_t window_end_ms;
    unsigned count;
} aw_rl_slot_t;

typedef struct aw_ratelimit {
    pthread_mutex_t mu;
    unsigned limit;    /* 0: unlimited */
    int64_t window_ms; /* > 0 */
    aw_rl_slot_t *slots;
} aw_ratelimit_t;

typedef struct aw_rl_result {
    bool allowed;
    unsigned limit, remaining;
    unsigned reset_s; /* seconds until the window ends (≥ 1) */
} aw_rl_result_t;

int aw_ratelimit_init(aw_ratelimit_t *rl, unsigned limit, unsigned window_s);
void aw_ratelimit_free(aw_ratelimit_t *rl);
/* Counts one request of key at now_ms. */
aw_rl_result_t aw_ratelimit_take(aw_ratelimit_t *rl, const char *key, int64_t now_ms);

struct aw_http_req;
struct aw_http_resp;
/* Counts one request of the request's client (aw_http_client_ip) and sets
 * the RateLimit-Limit/-Remaining/-Reset headers; above the limit it answers
 * 429 problem+json with Retry-After and returns false. True without headers
 * when rl is unlimited. */
bool aw_ratelimit_http(aw_ratelimit_t *rl, struct aw_http_req *req, struct aw_http_resp *resp);

#endif
