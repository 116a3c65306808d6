#include "delivery/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/time.h"

#define MAX_KINDS 16
#define MAX_TICKS 4
#define BATCH     32

struct aw_worker {
    aw_store_t *store;
    char name[64];
    unsigned poll_ms;
    int64_t lease_ms;
    struct {
        char kind[AW_OUTBOX_KIND_MAX + 1];
        aw_worker_job_fn fn;
        void *ctx;
    } kinds[MAX_KINDS];
    int nkinds;
    struct {
        int64_t interval_ms, next_ms;
        aw_worker_tick_fn fn;
        void *ctx;
    } ticks[MAX_TICKS];
    int nticks;
    pthread_t thread;
    bool started, stopping, kicked;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

int aw_worker_new(aw_store_t *store, const char *name, unsigned poll_ms, int64_t lease_ms,
                  aw_worker_t **out, aw_err_t *err) {
    aw_worker_t *w = calloc(1, sizeof *w);
    if (!w) return aw_err_set(err, AW_ENOMEM, "worker: out of memory");
    w->store = store;
    snprintf(w->name, sizeof w->name, "%s", name ? name : "worker");
    w->poll_ms = poll_ms ? poll_ms : 500;
    w->lease_ms = lease_ms > 0 ? lease_ms : 60000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = w;
    return 0;
}

int aw_worker_handle(aw_worker_t *w, const char *kind, aw_worker_job_fn fn, void *ctx,
                     aw_err_t *err) {
    if (w->nkinds == MAX_KINDS || strlen(kind) > AW_OUTBOX_KIND_MAX || w->started)
        return aw_err_set(err, AW_EINVAL, "worker: cannot register job kind '%s'", kind);
    snprintf(w->kinds[w->nkinds].kind, sizeof w->kinds[0].kind, "%s", kind);
    w->kinds[w->nkinds].fn = fn;
    w->kinds[w->nkinds].ctx = ctx;
    w->nkinds++;
    return 0;
}

int aw_worker_every(aw_worker_t *w, int64_t interval_ms, aw_worker_tick_fn fn, void *ctx,
                    aw_err_t *err) {
    if (w->nticks == MAX_TICKS || interval_ms <= 0 || w->started)
        return aw_err_set(err, AW_EINVAL, "worker: cannot register a periodic task");
    w->ticks[w->nticks].interval_ms = interval_ms;
    w->ticks[w->nticks].next_ms = 0; /* first run at start */
    w->ticks[w->nticks].fn = fn;
    w->ticks[w->nticks].ctx = ctx;
    w->nticks++;
    return 0;
}

/* Runs a job; true when it succeeded (the caller completes it). */
static bool run_job(aw_worker_t *w, const aw_outbox_job_t *job, int64_t now_ms) {
    aw_err_t err = {0};
    int rc = AW_ENOTFOUND;
    int i;
    for (i = 0; i < w->nkinds; i++)
        if (strcmp(w->kinds[i].kind, job->kind) == 0) break;
    if (i < w->nkinds)
        rc = w->kinds[i].fn(w->kinds[i].ctx, job, &err);
    else
        aw_err_set(&err, AW_ENOTFOUND, "no handler for job kind '%s'", job->kind);
    aw_err_t e2;
    if (rc == 0) return true;
    bool dead = false;
    if (aw_store_outbox_fail(w->store, job->id, err.msg, now_ms, &dead, &e2))
        aw_log_warn("worker.fail", "worker=%s job=%lld outcome=failed err=%s", w->name,
                    (long long)job->id, aw_err_name(e2.code));
    char q[300];
    aw_log_warn("worker.job", "worker=%s job=%lld kind=%s attempt=%d outcome=%s error=%s", w->name,
                (long long)job->id, job->kind, job->attempts, dead ? "dead" : "retry",
                aw_log_quote(q, sizeof q, err.msg));
    return false;
}

int aw_worker_run_once(aw_worker_t *w, int64_t now_ms, aw_err_t *err) {
    aw_outbox_job_t *jobs = NULL;
    size_t n = 0;
    int rc = aw_store_outbox_claim(w->store, w->name, now_ms, BATCH, w->lease_ms, &jobs, &n, err);
    if (rc) return rc;
    /* the successful jobs of a batch are completed in one transaction */
    int64_t ok[BATCH];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (run_job(w, &jobs[i], now_ms)) ok[k++] = jobs[i].id;
    aw_err_t e2;
    if (aw_store_outbox_complete_many(w->store, ok, k, NULL, &e2))
        aw_log_warn("worker.complete", "worker=%s jobs=%zu outcome=failed err=%s", w->name, k,
                    aw_err_name(e2.code));
    aw_outbox_jobs_free(jobs, n);
    return (int)n;
}

static void *thread_main(void *arg) {
    aw_worker_t *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        pthread_mutex_unlock(&w->mu);
        int64_t now = aw_time_now_ms();
        for (int i = 0; i < w->nticks; i++)
            if (now >= w->ticks[i].next_ms) {
                w->ticks[i].fn(w->ticks[i].ctx, now);
                w->ticks[i].next_ms = aw_time_now_ms() + w->ticks[i].interval_ms;
            }
        aw_err_t err;
        int n = aw_worker_run_once(w, aw_time_now_ms(), &err);
        if (n < 0)
            aw_log_warn("worker.claim", "worker=%s outcome=failed err=%s", w->name,
                        aw_err_name(err.code));
        pthread_mutex_lock(&w->mu);
        if (n == BATCH || w->kicked) { /* more may be waiting */
            w->kicked = false;
            continue;
        }
        struct timespec ts = aw_time_deadline(CLOCK_MONOTONIC, w->poll_ms);
        while (!w->stopping && !w->kicked)
            if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT) break;
        w->kicked = false;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int aw_worker_start(aw_worker_t *w, aw_err_t *err) {
    if (w->started) return 0;
    if (pthread_create(&w->thread, NULL, thread_main, w) != 0)
        return aw_err_set(err, AW_EIO, "worker: cannot start a thread");
    w->started = true;
    aw_log_info("worker.start", "worker=%s kinds=%d ticks=%d", w->name, w->nkinds, w->nticks);
    return 0;
}

void aw_worker_kick(aw_worker_t *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->kicked = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void aw_worker_free(aw_worker_t *w) {
    if (!w) return;
    if (w->started) {
        pthread_mutex_lock(&w->mu);
        w->stopping = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->thread, NULL);
        aw_log_info("worker.stop", "worker=%s", w->name);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
