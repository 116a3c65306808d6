/* Tests of src/delivery/events.c: platform SETs signed after the commit, by
 * the outbox worker or by a reader, each exactly once, on both engines. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>
#include <string.h>

#include "../store/fixture.h"
#include "base/time.h"
#include "delivery/delivery.h"
#include "delivery/internal.h"
#include "delivery/worker.h"
#include "jose/set.h"
#include "store/outbox.h"
#include "store/sql.h"
#include "service.h"

/* Commits n_sub submissions' create + submit events unsigned, like announce
 * and submit do, under case ids "…000c<k>" (k < n_case). */
static void pending(store_fixture_t *f, int n_sub, int n_case, int64_t t0) {
    aw_err_t err;
    for (int i = 0; i < n_sub; i++) {
        char sid[40], cid[40];
        snprintf(sid, sizeof sid, "0b0e7c1c-2c7a-4e55-9a0e-%012d", i);
        snprintf(cid, sizeof cid, "0c0e7c1c-2c7a-4e55-9a0e-%012d", i % n_case);
        aw_tx_t *tx;
        ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
        ASSERT_OK(dl_event_pending(tx, sid, cid, "create-submission", NULL, t0 + i, &err), &err);
        json_t *tags = json_pack("{s:{s:s,s:s}}", "authenticationTags", "metadata",
                                 "MDEyMzQ1Njc4OWFiY2RlZg", "data", "ZmVkY2JhOTg3NjU0MzIxMA");
        ASSERT_OK(dl_event_pending(tx, sid, cid, "submit-submission", tags, t0 + 5000 + i, &err),
                  &err);
        json_decref(tags);
        ASSERT_OK(aw_store_commit(tx, &err), &err);
    }
}

static int64_t count(store_fixture_t *f, const char *where) {
    aw_tx_t *tx;
    aw_err_t err;
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM delivery_events WHERE %s", where);
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx, sql, &q, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    int64_t n = aw_sql_col_int64(q, 0);
    aw_sql_done(q);
    aw_store_rollback(tx);
    return n;
}

/* Every event is a SET of the platform key that says what was committed:
 * same jti, iat = time of the state change, same body. */
static void all_signed_correctly(store_fixture_t *f, int64_t want) {
    char p[700];
    snprintf(p, sizeof p, "%s/tests/data/jose/b/sig.public.jwk", aw_test_srcdir());
    aw_jwk_t *k;
    aw_err_t err;
    ASSERT_OK(aw_jwk_load_file(p, &k, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT token, jti, created_at, event, submission_id, case_id,"
                           " sign_owner FROM delivery_events ORDER BY id",
                           &q, &err, ""),
              &err);
    int64_t n = 0;
    while (aw_sql_step(q, &err) == 1) {
        n++;
        const char *tok = aw_sql_col_text(q, 0);
        ASSERT_MSG(tok && *tok, "event %lld is not signed", (long long)n);
        ASSERT(aw_sql_col_null(q, 6));
        aw_set_t s;
        ASSERT_OK(aw_set_verify(k, tok, strlen(tok), &s, &err), &err);
        ASSERT_STR(s.jti, aw_sql_col_text(q, 1));
        ASSERT_EQ(s.iat, aw_sql_col_int64(q, 2) / 1000);
        ASSERT_STR(s.submission_id, aw_sql_col_text(q, 4));
        ASSERT_STR(s.case_id, aw_sql_col_text(q, 5));
        ASSERT_CONTAINS(s.event, aw_sql_col_text(q, 3));
        if (strcmp(aw_sql_col_text(q, 3), "submit-submission") == 0)
            ASSERT_STR(json_string_value(json_object_get(
                           json_object_get(s.event_body, "authenticationTags"), "metadata")),
                       "MDEyMzQ1Njc4OWFiY2RlZg");
        aw_set_free(&s);
    }
    aw_sql_done(q);
    aw_store_rollback(tx);
    aw_jwk_free(k);
    ASSERT_EQ(n, want);
}

STORE_TEST(events_are_committed_unsigned_and_signed_by_the_signer) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    int64_t t0 = 1700000000000LL;
    pending(f, 3, 3, t0);
    ASSERT_EQ(count(f, "token = ''"), 6);
    /* the unsigned rows are the to-do: no outbox job per event */
    aw_store_stats_t st;
    aw_err_t err;
    ASSERT_OK(aw_store_stats(f->st, &st, &err), &err);
    ASSERT_EQ(st.outbox_pending, 0);
    int64_t n = -1;
    ASSERT_OK(dl_signer_run(d, false, &n, &err), &err);
    ASSERT_EQ(n, 6);
    ASSERT_OK(dl_signer_run(d, false, &n, &err), &err);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(count(f, "token = ''"), 0);
    all_signed_correctly(f, 6);
    dl_test_service_free(d, &cfg);
}

/* More than one batch: each transaction stores the previous batch and
 * claims the next; every event ends signed once, nothing stays claimed. */
STORE_TEST(the_signer_pipelines_batches) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    pending(f, 25, 5, aw_time_now_ms());
    aw_err_t err;
    int64_t n = -1;
    ASSERT_OK(dl_signer_run(d, false, &n, &err), &err);
    ASSERT_EQ(n, 50);
    ASSERT_EQ(count(f, "token = '' OR sign_owner IS NOT NULL"), 0);
    all_signed_correctly(f, 50);
    dl_test_service_free(d, &cfg);
}

/* A legacy sign job (databases from before the signer) completes without
 * doing anything itself. */
STORE_TEST(a_legacy_sign_job_is_dropped) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_outbox_enqueue(tx, DL_JOB_SIGN, "{\"caseId\":\"x\"}", 0, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    aw_worker_t *w;
    ASSERT_OK(aw_worker_new(f->st, "test", 10, 30000, &w, &err), &err);
    ASSERT_OK(aw_worker_handle(w, DL_JOB_SIGN, dl_job_sign, d, &err), &err);
    ASSERT_EQ(aw_worker_run_once(w, aw_time_now_ms(), &err), 1);
    aw_store_stats_t st;
    ASSERT_OK(aw_store_stats(f->st, &st, &err), &err);
    ASSERT_EQ(st.outbox_pending + st.outbox_dead, 0);
    aw_worker_free(w);
    dl_test_service_free(d, &cfg);
}

/* Can this process put a thread at SCHED_IDLE? (containers may forbid it) */
static void *probe_idle(void *arg) {
    struct sched_param sp = {0};
    *(bool *)arg = pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0;
    return NULL;
}

/* The threads: idle ones at SCHED_IDLE, escalation ones and the committer
 * at normal priority; a backlog above sign_escalate escalates; all gets
 * signed, nothing stays claimed. */
STORE_TEST_T(signer_threads_sign_the_backlog, 120) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    d->cfg.sign_threads = 2;
    d->cfg.sign_escalate = 10;
    pending(f, 12, 3, aw_time_now_ms());
    aw_err_t err;
    ASSERT_OK(dl_signer_start(d, &err), &err);
    ASSERT_EQ(atomic_load(&d->escalations), 1); /* 24 > 10 at start */
    ASSERT_OK(dl_signer_wait(d, 0, 60000), &err);
    int idle = 0, normal = 0;
    ASSERT_OK(dl_signer_policies(d, &idle, &normal), &err);
    long cpu = sysconf(_SC_NPROCESSORS_ONLN);
    int cores = cpu < 1 ? 1 : cpu > 8 ? 8 : (int)cpu;
    bool can_idle = false;
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, probe_idle, &can_idle), 0);
    pthread_join(th, NULL);
    ASSERT_EQ(idle + normal, 2 + cores + 1); /* + the committer */
    if (can_idle) ASSERT_EQ(idle, 2);
    dl_signer_stop(d);
    ASSERT_EQ(count(f, "token = '' OR sign_owner IS NOT NULL"), 0);
    ASSERT_EQ(atomic_load(&d->signed_bg), 24);
    all_signed_correctly(f, 24);
    dl_test_service_free(d, &cfg);
}

/* Signing threads that wait for claims while unsigned events nobody holds
 * are left count that time as starved (the metric
 * amtsweg_delivery_signer_starved_seconds_total): here the test's open write
 * transaction, which locks the events, keeps the committer from claiming.
 * Afterwards everything is signed all the same. */
STORE_TEST_T(signer_counts_the_time_it_waits_for_claims, 120) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    d->cfg.sign_threads = 1;
    d->cfg.worker_poll_ms = 50;
    pending(f, 4, 2, aw_time_now_ms());
    aw_err_t err;
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "UPDATE delivery_events SET sign_lease_until = sign_lease_until",
                          NULL, &err, ""),
              &err);
    ASSERT_EQ(atomic_load(&d->sign_starved_us), 0);
    ASSERT_OK(dl_signer_start(d, &err), &err);
    /* a thread adds its waiting time when the wait ends (at most 1 s) */
    for (int i = 0; i < 1000 && atomic_load(&d->sign_starved_us) == 0; i++) usleep(10000);
    int64_t starved = atomic_load(&d->sign_starved_us);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    int rc = dl_signer_wait(d, 0, 60000);
    dl_signer_stop(d);
    ASSERT_MSG(starved > 0, "no waiting counted while the events were locked");
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(atomic_load(&d->signed_bg), 8);
    all_signed_correctly(f, 8);
    dl_test_service_free(d, &cfg);
}

TEST(sign_level_escalates_with_hysteresis_and_refuses_at_the_limit) {
    aw_delivery_config_t c;
    aw_delivery_config_defaults(&c);
    ASSERT_EQ(c.sign_escalate, 30000);
    ASSERT_EQ(c.sign_max_backlog, 100000);
    c.sign_escalate = 100;
    c.sign_max_backlog = 1000;
    ASSERT_EQ(dl_sign_level(&c, 0, false), DL_SIGN_IDLE);
    ASSERT_EQ(dl_sign_level(&c, 100, false), DL_SIGN_IDLE);
    ASSERT_EQ(dl_sign_level(&c, 101, false), DL_SIGN_ESCALATE);
    /* once escalated, down to half of the bound */
    ASSERT_EQ(dl_sign_level(&c, 51, true), DL_SIGN_ESCALATE);
    ASSERT_EQ(dl_sign_level(&c, 50, true), DL_SIGN_IDLE);
    ASSERT_EQ(dl_sign_level(&c, 999, false), DL_SIGN_ESCALATE);
    ASSERT_EQ(dl_sign_level(&c, 1000, false), DL_SIGN_REFUSE);
    c.sign_escalate = 0;
    ASSERT_EQ(dl_sign_level(&c, 999, true), DL_SIGN_IDLE);
    c.sign_max_backlog = 0;
    ASSERT_EQ(dl_sign_level(&c, 1000000000, false), DL_SIGN_IDLE);
}

STORE_TEST(events_are_signed_on_read_when_the_worker_has_not_run) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    pending(f, 4, 2, aw_time_now_ms());
    aw_err_t err;
    int64_t n = 0;
    /* a reader of case 0 signs exactly that case's events */
    ASSERT_OK(dl_events_sign(d, "0c0e7c1c-2c7a-4e55-9a0e-000000000000", true, &n, &err), &err);
    ASSERT_EQ(n, 4);
    ASSERT_EQ(count(f, "token = '' AND case_id LIKE '%000000000000'"), 0);
    ASSERT_EQ(count(f, "token = ''"), 4);
    /* the worker's jobs then sign the rest and leave case 0 alone */
    ASSERT_OK(dl_events_sign(d, NULL, false, &n, &err), &err);
    ASSERT_EQ(n, 4);
    all_signed_correctly(f, 8);
    dl_test_service_free(d, &cfg);
}

/* Every event is claimed by owner, the lease running for an hour. */
static void hold_claims(store_fixture_t *f, const char *owner) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "UPDATE delivery_events SET sign_owner = $1, sign_lease_until = $2",
                          NULL, &err, "tI", owner, aw_time_now_ms() + 3600000),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

STORE_TEST(a_claimed_event_is_waited_for_not_signed_twice) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    pending(f, 1, 1, aw_time_now_ms());
    /* another signer holds both events (a far lease) */
    hold_claims(f, "other");
    aw_tx_t *tx;
    aw_err_t err;
    int64_t n = -1;
    ASSERT_EQ(dl_events_sign(d, NULL, false, &n, &err), AW_EBUSY);
    ASSERT_EQ(n, 0);
    ASSERT_EQ(count(f, "token = ''"), 2);
    /* an expired claim is taken over */
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "UPDATE delivery_events SET sign_lease_until = 1", NULL, &err, ""),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_OK(dl_events_sign(d, "0c0e7c1c-2c7a-4e55-9a0e-000000000000", true, &n, &err), &err);
    ASSERT_EQ(n, 2);
    all_signed_correctly(f, 2);
    dl_test_service_free(d, &cfg);
}

/* A claim held by a signer that died (its lease runs for another hour)
 * does not hold a reader up: after about a second the reader takes its
 * case's events over and signs them; the background worker still leaves
 * them alone. */
STORE_TEST_T(a_reader_takes_over_a_dead_signers_claim, 60) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    pending(f, 1, 1, aw_time_now_ms());
    hold_claims(f, "dead");
    aw_err_t err;
    int64_t n = -1;
    ASSERT_EQ(dl_events_sign(d, NULL, false, &n, &err), AW_EBUSY);
    ASSERT_OK(dl_events_sign(d, "0c0e7c1c-2c7a-4e55-9a0e-000000000000", true, &n, &err), &err);
    ASSERT_EQ(n, 2);
    all_signed_correctly(f, 2);
    dl_test_service_free(d, &cfg);
}

typedef struct racer {
    aw_delivery_t *d;
    const char *case_id; /* NULL: the worker */
    int64_t signed_n;
    int rc;
    aw_err_t err;
} racer_t;

static void *race(void *arg) {
    racer_t *r = arg;
    r->rc = dl_events_sign(r->d, r->case_id, r->case_id != NULL, &r->signed_n, &r->err);
    if (!r->case_id && r->rc == AW_EBUSY) r->rc = 0; /* others hold the rest */
    return NULL;
}

STORE_TEST_T(concurrent_readers_and_worker_sign_each_event_once, 120) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = dl_test_service(f, &cfg, NULL);
    enum { SUBS = 24, CASES = 3, READERS = 6 };
    pending(f, SUBS, CASES, aw_time_now_ms());
    char cases[CASES][40];
    racer_t r[READERS + 2];
    pthread_t th[READERS + 2];
    for (int i = 0; i < CASES; i++)
        snprintf(cases[i], sizeof cases[i], "0c0e7c1c-2c7a-4e55-9a0e-%012d", i);
    for (int i = 0; i < READERS + 2; i++) {
        r[i] = (racer_t){.d = d, .case_id = i < READERS ? cases[i % CASES] : NULL};
        ASSERT_EQ(pthread_create(&th[i], NULL, race, &r[i]), 0);
    }
    int64_t total = 0;
    for (int i = 0; i < READERS + 2; i++) {
        pthread_join(th[i], NULL);
        ASSERT_MSG(r[i].rc == 0, "signer %d: %s", i, r[i].err.msg);
        total += r[i].signed_n;
    }
    /* every event signed by exactly one signer */
    ASSERT_EQ(total, 2 * SUBS);
    all_signed_correctly(f, 2 * SUBS);
    dl_test_service_free(d, &cfg);
}
