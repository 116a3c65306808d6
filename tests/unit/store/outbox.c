/* Tests of src/store/outbox.c on both engines. */
#include "fixture.h"
#include "store/outbox.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 INT64_C(1800000000000) /* a fixed "now" far from the real clock */

static int64_t enqueue(store_fixture_t *f, const char *kind, const char *payload, int64_t due) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    int64_t id = 0;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_outbox_enqueue(tx, kind, payload, due, &id, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_GT(id, 0);
    return id;
}

static size_t claim(store_fixture_t *f, int64_t now, size_t max, aw_outbox_job_t **jobs) {
    aw_err_t err = {0};
    size_t n = 99;
    ASSERT_OK(aw_store_outbox_claim(f->st, "w1", now, max, 30000, jobs, &n, &err), &err);
    return n;
}

static aw_store_stats_t stats(store_fixture_t *f) {
    aw_err_t err = {0};
    aw_store_stats_t s;
    ASSERT_OK(aw_store_stats(f->st, &s, &err), &err);
    return s;
}

STORE_TEST(enqueue_claim_complete) {
    aw_err_t err = {0};
    int64_t a = enqueue(f, "callback.deliver", "{\"n\":1}", T0);
    int64_t b = enqueue(f, "mail.send", "{\"n\":2}", T0 - 5);
    int64_t later = enqueue(f, "mail.send", "{\"n\":3}", T0 + 60000);
    aw_outbox_job_t *jobs;
    size_t n = claim(f, T0, 10, &jobs);
    ASSERT_EQ(n, 2);
    /* ordered by due time */
    ASSERT_EQ(jobs[0].id, b);
    ASSERT_STR(jobs[0].kind, "mail.send");
    ASSERT_STR(jobs[0].payload, "{\"n\":2}");
    ASSERT_EQ(jobs[0].attempts, 1);
    ASSERT_EQ(jobs[0].due_at_ms, T0 - 5);
    ASSERT_NULL(jobs[0].last_error);
    ASSERT_GT(jobs[0].created_at_ms, 0);
    ASSERT_EQ(jobs[1].id, a);
    aw_outbox_jobs_free(jobs, n);

    /* leased: not handed out again */
    ASSERT_EQ(claim(f, T0 + 1, 10, &jobs), 0);
    ASSERT_NULL(jobs);
    ASSERT_OK(aw_store_outbox_complete(f->st, a, &err), &err);
    ASSERT_OK(aw_store_outbox_complete(f->st, b, &err), &err);
    ASSERT_EQ(aw_store_outbox_complete(f->st, b, &err), AW_ENOTFOUND);
    ASSERT_EQ(stats(f).outbox_pending, 1);

    n = claim(f, T0 + 60000, 10, &jobs);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(jobs[0].id, later);
    aw_outbox_jobs_free(jobs, n);
}

/* An idle worker's poll reads only: no write transaction (and no WAL sync)
 * while nothing is due. Counted by the SQLite engine; 0 on PostgreSQL. */
STORE_TEST(claim_with_nothing_due_writes_nothing) {
    enqueue(f, "k", "{}", T0 + 60000);
    aw_store_stats_t s0 = stats(f);
    aw_outbox_job_t *jobs;
    ASSERT_EQ(claim(f, T0, 10, &jobs), 0);
    aw_outbox_jobs_free(jobs, 0);
    aw_store_stats_t s1 = stats(f);
    ASSERT_EQ(s1.write_txs, s0.write_txs);
    ASSERT_EQ(claim(f, T0 + 60000, 10, &jobs), 1);
    aw_outbox_jobs_free(jobs, 1);
    if (!f->is_pg) ASSERT_EQ(stats(f).write_txs, s1.write_txs + 1);
}

STORE_TEST(claim_respects_max) {
    for (int i = 0; i < 5; i++) enqueue(f, "k", "{}", T0 + i);
    aw_outbox_job_t *jobs;
    size_t n = claim(f, T0 + 10, 2, &jobs);
    ASSERT_EQ(n, 2);
    ASSERT_LT(jobs[0].due_at_ms, jobs[1].due_at_ms);
    aw_outbox_jobs_free(jobs, n);
    n = claim(f, T0 + 10, 10, &jobs);
    ASSERT_EQ(n, 3);
    aw_outbox_jobs_free(jobs, n);
    aw_err_t err = {0};
    ASSERT_EQ(aw_store_outbox_claim(f->st, "w", T0, 0, 1000, &jobs, &n, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_outbox_claim(f->st, "w", T0, 1001, 1000, &jobs, &n, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_outbox_claim(f->st, "", T0, 1, 1000, &jobs, &n, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_outbox_claim(f->st, "w", T0, 1, 0, &jobs, &n, &err), AW_EINVAL);
}

STORE_TEST(expired_lease_is_claimed_again) {
    int64_t id = enqueue(f, "k", "{}", T0);
    aw_outbox_job_t *jobs;
    aw_err_t err = {0};
    size_t n;
    ASSERT_OK(aw_store_outbox_claim(f->st, "w1", T0, 1, 1000, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 1);
    aw_outbox_jobs_free(jobs, n);
    ASSERT_OK(aw_store_outbox_claim(f->st, "w2", T0 + 999, 1, 1000, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 0);
    ASSERT_OK(aw_store_outbox_claim(f->st, "w2", T0 + 1000, 1, 1000, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(jobs[0].id, id);
    ASSERT_EQ(jobs[0].attempts, 2);
    aw_outbox_jobs_free(jobs, n);
}

STORE_TEST(fail_backs_off_with_jitter_then_dead_letters) {
    fx_close(f);
    f->opts.outbox_max_attempts = 5;
    f->opts.outbox_backoff_base_ms = 1000;
    f->opts.outbox_backoff_cap_ms = 5000;
    fx_open(f);
    aw_err_t err = {0};
    int64_t id = enqueue(f, "callback.deliver", "{}", T0);
    int64_t now = T0;
    /* attempts 1..4: delays 1000, 2000, 4000, 5000 (capped), each in [d/2, d] */
    const int64_t full[] = {1000, 2000, 4000, 5000};
    for (int i = 0; i < 4; i++) {
        aw_outbox_job_t *jobs;
        size_t n = claim(f, now, 1, &jobs);
        ASSERT_EQ(n, 1);
        ASSERT_EQ(jobs[0].attempts, i + 1);
        if (i > 0) ASSERT_STR(jobs[0].last_error, "HTTP 503 from callback");
        aw_outbox_jobs_free(jobs, n);
        bool dead = true;
        ASSERT_OK(aw_store_outbox_fail(f->st, id, "HTTP 503 from callback", now, &dead, &err),
                  &err);
        ASSERT(!dead);
        /* not due before now + d/2 ... */
        ASSERT_EQ(claim(f, now + full[i] / 2 - 1, 1, &jobs), 0);
        /* ... and due by now + d */
        now += full[i];
    }
    aw_outbox_job_t *jobs;
    size_t n = claim(f, now, 1, &jobs);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(jobs[0].attempts, 5);
    aw_outbox_jobs_free(jobs, n);
    bool dead = false;
    ASSERT_OK(aw_store_outbox_fail(f->st, id, "still 503", now, &dead, &err), &err);
    ASSERT(dead);
    ASSERT_EQ(claim(f, now + 10000000, 10, &jobs), 0);
    aw_store_stats_t s = stats(f);
    ASSERT_EQ(s.outbox_pending, 0);
    ASSERT_EQ(s.outbox_dead, 1);
    ASSERT_EQ(aw_store_outbox_fail(f->st, id, "x", now, NULL, &err), AW_ENOTFOUND);
    ASSERT_EQ(aw_store_outbox_complete(f->st, id, &err), AW_ENOTFOUND);

    ASSERT_OK(aw_store_outbox_list_dead(f->st, 0, 10, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(jobs[0].id, id);
    ASSERT_STR(jobs[0].last_error, "still 503");
    ASSERT_EQ(jobs[0].attempts, 5);
    aw_outbox_jobs_free(jobs, n);

    ASSERT_OK(aw_store_outbox_requeue_dead(f->st, id, now, &err), &err);
    ASSERT_EQ(aw_store_outbox_requeue_dead(f->st, id, now, &err), AW_ENOTFOUND);
    s = stats(f);
    ASSERT_EQ(s.outbox_pending, 1);
    ASSERT_EQ(s.outbox_dead, 0);
    n = claim(f, now, 1, &jobs);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(jobs[0].attempts, 1);
    aw_outbox_jobs_free(jobs, n);
}

STORE_TEST(jitter_spreads_retries) {
    /* Twenty jobs failing at once must not all come back at the same time. */
    aw_err_t err = {0};
    for (int i = 0; i < 20; i++) enqueue(f, "k", "{}", T0);
    aw_outbox_job_t *jobs;
    size_t n = claim(f, T0, 20, &jobs);
    ASSERT_EQ(n, 20);
    for (size_t i = 0; i < n; i++)
        ASSERT_OK(aw_store_outbox_fail(f->st, jobs[i].id, "x", T0, NULL, &err), &err);
    aw_outbox_jobs_free(jobs, n);
    /* default base 1000: all due in [T0+500, T0+1000] */
    ASSERT_EQ(claim(f, T0 + 499, 20, &jobs), 0);
    n = claim(f, T0 + 1000, 20, &jobs);
    ASSERT_EQ(n, 20);
    int distinct = 1;
    for (size_t i = 1; i < n; i++)
        if (jobs[i].due_at_ms != jobs[i - 1].due_at_ms) distinct++;
    aw_outbox_jobs_free(jobs, n);
    ASSERT_GT(distinct, 1);
}

STORE_TEST(lease_expiry_on_last_attempt_dead_letters) {
    fx_close(f);
    f->opts.outbox_max_attempts = 2;
    fx_open(f);
    int64_t id = enqueue(f, "k", "{}", T0);
    aw_outbox_job_t *jobs;
    aw_err_t err = {0};
    size_t n;
    for (int i = 0; i < 2; i++) { /* two workers die holding it */
        ASSERT_OK(aw_store_outbox_claim(f->st, "w", T0 + i * 1000, 1, 1000, &jobs, &n, &err), &err);
        ASSERT_EQ(n, 1);
        aw_outbox_jobs_free(jobs, n);
    }
    ASSERT_OK(aw_store_outbox_claim(f->st, "w", T0 + 5000, 1, 1000, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 0);
    ASSERT_OK(aw_store_outbox_list_dead(f->st, 0, 10, &jobs, &n, &err), &err);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(jobs[0].id, id);
    ASSERT_CONTAINS(jobs[0].last_error, "lease expired");
    aw_outbox_jobs_free(jobs, n);
}

STORE_TEST(fail_message_is_bounded_and_clean) {
    aw_err_t err = {0};
    int64_t id = enqueue(f, "k", "{}", T0);
    aw_outbox_job_t *jobs;
    size_t n = claim(f, T0, 1, &jobs);
    aw_outbox_jobs_free(jobs, n);
    char msg[3000];
    memset(msg, 'x', sizeof msg);
    msg[0] = '\n';
    msg[1] = (char)0xff; /* invalid UTF-8 */
    msg[sizeof msg - 1] = '\0';
    ASSERT_OK(aw_store_outbox_fail(f->st, id, msg, T0, NULL, &err), &err);
    n = claim(f, T0 + 3600000, 1, &jobs);
    ASSERT_EQ(n, 1);
    ASSERT_EQ(strlen(jobs[0].last_error), 1000);
    ASSERT_EQ(jobs[0].last_error[0], ' ');
    ASSERT_EQ(jobs[0].last_error[1], '?');
    aw_outbox_jobs_free(jobs, n);
}

STORE_TEST(enqueue_validation) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_EQ(aw_store_outbox_enqueue(tx, "", "{}", 0, NULL, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_outbox_enqueue(tx, "k", NULL, 0, NULL, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_outbox_enqueue(tx, "k", "\xc3\x28", 0, NULL, &err), AW_EINVAL);
    char *big = malloc(AW_OUTBOX_PAYLOAD_MAX + 2);
    memset(big, ' ', AW_OUTBOX_PAYLOAD_MAX + 1);
    big[AW_OUTBOX_PAYLOAD_MAX + 1] = '\0';
    ASSERT_EQ(aw_store_outbox_enqueue(tx, "k", big, 0, NULL, &err), AW_ETOOBIG);
    free(big);
    char kind[80];
    memset(kind, 'k', sizeof kind);
    kind[sizeof kind - 1] = '\0';
    ASSERT_EQ(aw_store_outbox_enqueue(tx, kind, "{}", 0, NULL, &err), AW_EINVAL);
    ASSERT_OK(aw_store_outbox_enqueue(tx, "k", "{\"ä\":\"ü\"}", 0, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

STORE_TEST(enqueue_commits_with_the_callers_data) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    /* rolled back together */
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_setting_put(tx, "global", "k", "v", &err), &err);
    ASSERT_OK(aw_store_outbox_enqueue(tx, "k", "{}", 0, NULL, &err), &err);
    aw_store_rollback(tx);
    ASSERT_EQ(stats(f).outbox_pending, 0);
    /* committed together */
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_setting_put(tx, "global", "k", "v", &err), &err);
    ASSERT_OK(aw_store_outbox_enqueue(tx, "k", "{}", 0, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_EQ(stats(f).outbox_pending, 1);
}

/* A child process begins, enqueues and dies without committing (or, as
 * the control, commits). Returns the child's exit status. */
static int child_enqueue(const char *url, bool do_commit, bool use_abort) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        aw_store_t *st;
        aw_tx_t *tx;
        if (aw_store_open(url, NULL, &st, NULL) != 0) _exit(10);
        if (aw_store_begin(st, AW_TX_WRITE, &tx, NULL) != 0) _exit(11);
        if (aw_store_outbox_enqueue(tx, "crash.test", "{\"x\":1}", 0, NULL, NULL) != 0) _exit(12);
        if (do_commit) {
            if (aw_store_commit(tx, NULL) != 0) _exit(13);
            _exit(0);
        }
        if (use_abort) {
            signal(SIGABRT, SIG_DFL);
            abort();
        }
        _exit(0); /* no commit, no rollback, no close */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

STORE_TEST(crash_between_enqueue_and_commit_leaves_nothing) {
    fx_close(f); /* the parent holds nothing open while the child works */
    int st = child_enqueue(f->url, false, false);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    st = child_enqueue(f->url, false, true);
    ASSERT(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 10 && WEXITSTATUS(st) != 11 &&
                               WEXITSTATUS(st) != 12));
    fx_open(f);
    aw_store_stats_t s = stats(f);
    ASSERT_EQ(s.outbox_pending, 0);
    aw_outbox_job_t *jobs;
    ASSERT_EQ(claim(f, INT64_MAX / 2, 10, &jobs), 0);
    /* control: the same child with a commit leaves exactly one job */
    fx_close(f);
    st = child_enqueue(f->url, true, false);
    ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    fx_open(f);
    ASSERT_EQ(stats(f).outbox_pending, 1);
    size_t n = claim(f, INT64_MAX / 2, 10, &jobs);
    ASSERT_EQ(n, 1);
    ASSERT_STR(jobs[0].kind, "crash.test");
    aw_outbox_jobs_free(jobs, n);
}

/* ---- two (and more) concurrent claimers ---------------------------------- */

#define CLAIM_JOBS    300
#define CLAIM_WORKERS 4

typedef struct {
    aw_store_t *st;
    char name[16];
    int64_t ids[CLAIM_JOBS];
    size_t n;
    int errors;
    char msg[AW_ERR_MSG_MAX];
} claimer_t;

static void *claimer(void *p) {
    claimer_t *c = p;
    for (;;) {
        aw_err_t err = {0};
        aw_outbox_job_t *jobs;
        size_t n;
        int rc =
            aw_store_outbox_claim(c->st, c->name, T0, 1 + (c->n % 7), 3600000, &jobs, &n, &err);
        if (rc != 0) {
            c->errors++;
            snprintf(c->msg, sizeof c->msg, "%s", err.msg);
            if (c->errors > 50) return NULL;
            continue;
        }
        if (n == 0) return NULL;
        for (size_t i = 0; i < n && c->n < CLAIM_JOBS; i++) c->ids[c->n++] = jobs[i].id;
        aw_outbox_jobs_free(jobs, n);
    }
}

STORE_TEST_T(concurrent_claimers_never_share_a_job, 120) {
    fx_close(f);
    f->opts.pool_size = CLAIM_WORKERS + 1;
    f->opts.busy_timeout_ms = 30000;
    fx_open(f);
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    for (int i = 0; i < CLAIM_JOBS; i++)
        ASSERT_OK(aw_store_outbox_enqueue(tx, "k", "{}", T0 - i % 10, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);

    static claimer_t cs[CLAIM_WORKERS];
    pthread_t th[CLAIM_WORKERS];
    for (int i = 0; i < CLAIM_WORKERS; i++) {
        memset(&cs[i], 0, sizeof cs[i]);
        cs[i].st = f->st;
        snprintf(cs[i].name, sizeof cs[i].name, "worker-%d", i);
        ASSERT_EQ(pthread_create(&th[i], NULL, claimer, &cs[i]), 0);
    }
    for (int i = 0; i < CLAIM_WORKERS; i++) pthread_join(th[i], NULL);
    static unsigned char seen[CLAIM_JOBS + 1];
    memset(seen, 0, sizeof seen);
    size_t total = 0;
    int workers_with_jobs = 0;
    for (int i = 0; i < CLAIM_WORKERS; i++) {
        ASSERT_MSG(cs[i].errors == 0, "%s: %d errors, last: %s", cs[i].name, cs[i].errors,
                   cs[i].msg);
        if (cs[i].n > 0) workers_with_jobs++;
        for (size_t k = 0; k < cs[i].n; k++) {
            int64_t id = cs[i].ids[k];
            ASSERT_MSG(id >= 1 && id <= CLAIM_JOBS, "unexpected id %lld", (long long)id);
            ASSERT_MSG(!seen[id], "job %lld claimed twice", (long long)id);
            seen[id] = 1;
        }
        total += cs[i].n;
    }
    ASSERT_EQ(total, CLAIM_JOBS);
    ASSERT_GE(workers_with_jobs, 1);
}

/* The same across processes (several amtsweg nodes, or SQLite's file locks
 * instead of the in-process writer queue). Each child writes the ids it
 * claimed to its own file. */
STORE_TEST_T(concurrent_claiming_processes_never_share_a_job, 120) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    for (int i = 0; i < CLAIM_JOBS; i++)
        ASSERT_OK(aw_store_outbox_enqueue(tx, "k", "{}", T0, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    fx_close(f);
    enum { PROCS = 3 };
    pid_t pids[PROCS];
    fflush(NULL);
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ASSERT(pids[p] >= 0);
        if (pids[p] != 0) continue;
        char path[600];
        snprintf(path, sizeof path, "%s/claimed.%d", aw_test_tmpdir(), p);
        FILE *out = fopen(path, "w");
        aw_store_opts_t o = {.busy_timeout_ms = 30000};
        aw_store_t *st;
        if (!out || aw_store_open(f->url, &o, &st, &err) != 0) _exit(2);
        for (;;) {
            aw_outbox_job_t *jobs;
            size_t n;
            if (aw_store_outbox_claim(st, "proc", T0, 3, 3600000, &jobs, &n, &err) != 0) {
                fprintf(stderr, "child %d: %s\n", p, err.msg);
                _exit(3);
            }
            if (n == 0) break;
            for (size_t i = 0; i < n; i++) fprintf(out, "%lld\n", (long long)jobs[i].id);
            aw_outbox_jobs_free(jobs, n);
        }
        fclose(out);
        aw_store_close(st);
        _exit(0);
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed (%d)", p,
                   status);
    }
    static unsigned char seen[CLAIM_JOBS + 1];
    memset(seen, 0, sizeof seen);
    int total = 0;
    for (int p = 0; p < PROCS; p++) {
        char path[600];
        snprintf(path, sizeof path, "%s/claimed.%d", aw_test_tmpdir(), p);
        FILE *in = fopen(path, "r");
        ASSERT_NOT_NULL(in);
        long long id;
        while (fscanf(in, "%lld", &id) == 1) {
            ASSERT_MSG(id >= 1 && id <= CLAIM_JOBS, "unexpected id %lld", id);
            ASSERT_MSG(!seen[id], "job %lld claimed twice", id);
            seen[id] = 1;
            total++;
        }
        fclose(in);
    }
    ASSERT_EQ(total, CLAIM_JOBS);
    fx_open(f);
}

/* Batch completion: one transaction removes the finished jobs; ids that
 * are not pending are skipped and counted out. */
STORE_TEST(complete_many_removes_a_batch_in_one_transaction) {
    aw_err_t err = {0};
    int64_t id[5];
    for (int i = 0; i < 5; i++) id[i] = enqueue(f, "callback.deliver", "{}", T0);
    aw_outbox_job_t *jobs;
    ASSERT_EQ(claim(f, T0, 10, &jobs), 5);
    aw_outbox_jobs_free(jobs, 5);
    int64_t batch[4] = {id[0], id[2], id[4], id[4] + 1000};
    size_t done = 99;
    ASSERT_OK(aw_store_outbox_complete_many(f->st, batch, 4, &done, &err), &err);
    ASSERT_EQ(done, 3);
    ASSERT_EQ(stats(f).outbox_pending, 2);
    /* again: nothing left of them */
    ASSERT_OK(aw_store_outbox_complete_many(f->st, batch, 4, &done, &err), &err);
    ASSERT_EQ(done, 0);
    ASSERT_OK(aw_store_outbox_complete_many(f->st, NULL, 0, &done, &err), &err);
    ASSERT_EQ(done, 0);
    ASSERT_EQ(aw_store_outbox_complete_many(f->st, batch, AW_OUTBOX_CLAIM_MAX + 1, &done, &err),
              AW_EINVAL);
    int64_t rest[2] = {id[1], id[3]};
    ASSERT_OK(aw_store_outbox_complete_many(f->st, rest, 2, &done, &err), &err);
    ASSERT_EQ(done, 2);
    ASSERT_EQ(stats(f).outbox_pending, 0);
}
