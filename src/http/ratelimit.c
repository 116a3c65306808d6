/*
 * ratelimit.c — fixed windows per client key (ratelimit.h).
 */
#include "http/ratelimit.h"

#include "base/time.h"
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBES 8

int aw_ratelimit_init(aw_ratelimit_t *rl, unsigned limit, unsigned window_s) {
    memset(rl, 0, sizeof *rl);
    pthread_mutex_init(&rl->mu, NULL);
    rl->limit = limit;
    rl->window_ms = (int64_t)(window_s ? window_s : 60) * 1000;
    if (limit) {
        rl->slots = calloc(AW_RL_SLOTS, sizeof *rl->slots);
        if (!rl->slots) return -1;
    }
    return 0;
}

void aw_ratelimit_free(aw_ratelimit_t *rl) {
    free(rl->slots);
    rl->slots = NULL;
    pthread_mutex_destroy(&rl->mu);
}

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

aw_rl_result_t aw_ratelimit_take(aw_ratelimit_t *rl, const char *key, int64_t now_ms) {
    aw_rl_result_t r = {.allowed = true, .limit = rl->limit};
    if (!rl->limit || !rl->slots) return r;
    char k[AW_RL_KEY];
    snprintf(k, sizeof k, "%s", key ? key : "-");
    uint32_t h = hash(k);
    pthread_mutex_lock(&rl->mu);
    aw_rl_slot_t *slot = NULL, *victim = NULL;
    for (int i = 0; i < PROBES; i++) {
        aw_rl_slot_t *s = &rl->slots[(h + (uint32_t)i) % AW_RL_SLOTS];
        if (strcmp(s->key, k) == 0) {
            slot = s;
            break;
        }
        if (!victim || s->window_end_ms < victim->window_end_ms) victim = s;
    }
    if (!slot) {
        slot = victim;
        snprintf(slot->key, sizeof slot->key, "%s", k);
        slot->window_end_ms = 0;
        slot->count = 0;
    }
    if (slot->window_end_ms <= now_ms) {
        slot->window_end_ms = now_ms + rl->window_ms;
        slot->count = 0;
    }
    if (slot->count < rl->limit) {
        slot->count++;
    } else {
        r.allowed = false;
    }
    r.remaining = rl->limit - slot->count;
    int64_t left = slot->window_end_ms - now_ms;
    r.reset_s = (unsigned)((left + 999) / 1000);
    if (r.reset_s == 0) r.reset_s = 1;
    pthread_mutex_unlock(&rl->mu);
    return r;
}

bool aw_ratelimit_http(aw_ratelimit_t *rl, aw_http_req_t *req, aw_http_resp_t *resp) {
    if (!rl->limit) return true;
    aw_rl_result_t r = aw_ratelimit_take(rl, aw_http_client_ip(req), aw_time_now_ms());
    char v[24];
    snprintf(v, sizeof v, "%u", r.limit);
    aw_http_resp_header(resp, "RateLimit-Limit", v);
    snprintf(v, sizeof v, "%u", r.remaining);
    aw_http_resp_header(resp, "RateLimit-Remaining", v);
    snprintf(v, sizeof v, "%u", r.reset_s);
    aw_http_resp_header(resp, "RateLimit-Reset", v);
    if (r.allowed) return true;
    aw_http_resp_header(resp, "Retry-After", v);
    aw_http_resp_problem(resp, 429, "rate-limited", "Too Many Requests",
                         "more than %u requests in %u s from this client; retry in %u s", r.limit,
                         (unsigned)(rl->window_ms / 1000), r.reset_s);
    return false;
}
