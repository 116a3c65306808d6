/* Tests of src/delivery/worker.c: dispatch by kind, completion, backoff and
 * dead letters, on both store engines; driven with run_once and explicit
 * clocks (no threads, no sleeps). */
#include <string.h>

#include "../store/fixture.h"
#include "base/time.h"
#include "delivery/worker.h"
#include "store/outbox.h"

typedef struct {
    int calls;
    int fail_until; /* fail the first N calls */
    char last_payload[256];
} probe_t;

static int probe(void *ctx, const aw_outbox_job_t *job, aw_err_t *err) {
    probe_t *p = ctx;
    p->calls++;
    snprintf(p->last_payload, sizeof p->last_payload, "%s", job->payload);
    if (p->calls <= p->fail_until) return aw_err_set(err, AW_EIO, "receiver answered HTTP 503");
    return 0;
}

static void enqueue(aw_store_t *st, const char *kind, const char *payload) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_outbox_enqueue(tx, kind, payload, 0, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

STORE_TEST(worker_dispatches_by_kind_and_completes) {
    aw_err_t err;
    aw_worker_t *w;
    probe_t a = {0}, b = {0};
    ASSERT_OK(aw_worker_new(f->st, "t", 100, 60000, &w, &err), &err);
    ASSERT_OK(aw_worker_handle(w, "kind.a", probe, &a, &err), &err);
    ASSERT_OK(aw_worker_handle(w, "kind.b", probe, &b, &err), &err);
    enqueue(f->st, "kind.a", "{\"n\":1}");
    enqueue(f->st, "kind.b", "{\"n\":2}");
    int64_t now = aw_time_now_ms();
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 2);
    ASSERT_EQ(a.calls, 1);
    ASSERT_EQ(b.calls, 1);
    ASSERT_STR(b.last_payload, "{\"n\":2}");
    ASSERT_EQ(aw_worker_run_once(w, now + 1, &err), 0); /* completed jobs are gone */
    aw_store_stats_t st;
    ASSERT_OK(aw_store_stats(f->st, &st, &err), &err);
    ASSERT_EQ(st.outbox_pending, 0);
    aw_worker_free(w);
}

STORE_TEST(worker_retries_with_backoff_then_dead_letters) {
    fx_close(f);
    f->opts.outbox_max_attempts = 3;
    f->opts.outbox_backoff_base_ms = 1000;
    fx_open(f);
    aw_err_t err;
    aw_worker_t *w;
    probe_t p = {.fail_until = 100};
    ASSERT_OK(aw_worker_new(f->st, "t", 100, 60000, &w, &err), &err);
    ASSERT_OK(aw_worker_handle(w, "delivery.callback", probe, &p, &err), &err);
    enqueue(f->st, "delivery.callback", "{}");
    int64_t now = aw_time_now_ms();
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 1);
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 0); /* backing off */
    now += 3600 * 1000;
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 1);
    now += 3600 * 1000;
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 1);
    now += 3600 * 1000;
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 0); /* dead: no more attempts */
    ASSERT_EQ(p.calls, 3);
    aw_outbox_job_t *jobs;
    size_t n;
    ASSERT_OK(aw_store_outbox_list_dead(f->st, 0, 10, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_STR(jobs[0].kind, "delivery.callback");
    ASSERT_CONTAINS(jobs[0].last_error, "503");
    /* an operator requeues it; now the receiver works */
    p.fail_until = 0;
    p.calls = 0;
    ASSERT_OK(aw_store_outbox_requeue_dead(f->st, jobs[0].id, now, &err), &err);
    aw_outbox_jobs_free(jobs, n);
    ASSERT_EQ(aw_worker_run_once(w, now, &err), 1);
    ASSERT_EQ(p.calls, 1);
    aw_store_stats_t st;
    ASSERT_OK(aw_store_stats(f->st, &st, &err), &err);
    ASSERT_EQ(st.outbox_pending + st.outbox_dead, 0);
    aw_worker_free(w);
}

STORE_TEST(worker_fails_unknown_kinds_instead_of_dropping) {
    fx_close(f);
    f->opts.outbox_max_attempts = 1;
    fx_open(f);
    aw_err_t err;
    aw_worker_t *w;
    ASSERT_OK(aw_worker_new(f->st, "t", 100, 60000, &w, &err), &err);
    enqueue(f->st, "nobody.handles.this", "{}");
    ASSERT_EQ(aw_worker_run_once(w, aw_time_now_ms(), &err), 1);
    aw_outbox_job_t *jobs;
    size_t n;
    ASSERT_OK(aw_store_outbox_list_dead(f->st, 0, 10, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_CONTAINS(jobs[0].last_error, "no handler");
    aw_outbox_jobs_free(jobs, n);
    aw_worker_free(w);
}

static int ticks;
static void tick(void *ctx, int64_t now) {
    (void)ctx, (void)now;
    ticks++;
}

TEST(worker_thread_starts_and_stops) {
    /* the thread starts, is woken, and stops promptly when freed (a hang
     * here fails the test by its time bound) */
    char url[700];
    snprintf(url, sizeof url, "%s/w.db", aw_test_tmpdir());
    aw_store_t *st;
    aw_err_t err;
    ASSERT_OK(aw_store_open(url, NULL, &st, &err), &err);
    ASSERT_OK(aw_store_migrate(st, NULL, &err), &err);
    aw_worker_t *w;
    ASSERT_OK(aw_worker_new(st, "t", 50, 1000, &w, &err), &err);
    ASSERT_OK(aw_worker_every(w, 3600 * 1000, tick, NULL, &err), &err);
    ASSERT_OK(aw_worker_start(w, &err), &err);
    aw_worker_kick(w);
    aw_worker_free(w);
    aw_store_close(st);
}
