/*
 * events — platform SETs signed after the commit (DESIGN.md principle 2).
 *
 * A state change (announce, submit) commits its event unsigned: a row of
 * delivery_events with token = '' and what the SET will say (jti, event,
 * body with the authenticationTags, created_at = the time of the state
 * change, which becomes iat), plus a `delivery.sign` outbox job, in the same
 * transaction. The worker signs pending events; a reader of a case's log
 * signs that case's pending events itself first, so nobody ever reads an
 * unsigned log.
 *
 * Claims: an event is signed only by whoever set sign_owner on it while it
 * was unsigned and unleased (a conditional UPDATE; on PostgreSQL the
 * conditions are re-checked on the newest row version under READ COMMITTED,
 * on SQLite the write lock serialises the claims). The signature is stored
 * only while the claim is still held, so an event gets one signature; a
 * signer that dies loses its claim after SIGN_LEASE_MS. A reader does not
 * wait that long: after READER_STEAL_MS it claims its case's events over
 * any lease and signs them itself (the holder's signature is then not
 * stored), so a node that died while holding claims, or idle-priority
 * signers starved by load, delay a reader by about a second, not 30.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "http/problem.h"
#include "delivery/internal.h"
#include "jose/set.h"
#include "store/outbox.h"

#define SIGN_LEASE_MS       30000
#define READER_STEAL_MS     1000
#define SIGN_BATCH          64
#define SIGN_THREADS        8
#define SIGN_WORKER_BATCHES 8 /* per call without wait: 512 events */

int dl_event_pending(aw_tx_t *tx, const char *sub_id, const char *case_id, const char *event,
                     json_t *body, int64_t now_ms, aw_err_t *err) {
    char jti[AW_UUID_STRLEN + 1];
    aw_uuid_v4(jti);
    char *btxt = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !btxt) return aw_err_set(err, AW_ENOMEM, "event: out of memory");
    int rc = aw_sql_exec(tx,
                         "INSERT INTO delivery_events (case_id, submission_id, event, jti, token,"
                         " body, created_at) VALUES ($1, $2, $3, $4, '', $5, $6)",
                         NULL, err, "tttttI", case_id, sub_id, event, jti, btxt, now_ms);
    free(btxt);
    /* No outbox job: the unsigned row is itself the durable to-do, found by
     * the signer through the partial index delivery_events_unsigned. */
    return rc;
}

static void level_changed(aw_delivery_t *d);

typedef struct pend {
    int64_t id, created_at;
    char sub[AW_UUID_STRLEN + 1], case_id[AW_UUID_STRLEN + 1], jti[AW_UUID_STRLEN + 1];
    char event[64];
    char *body;
    aw_buf_t tok;
    int rc;
    bool done;   /* signed (or failed): rc and tok are final */
    bool stored; /* the signature went into the row (the claim still held) */
    aw_err_t err;
} pend_t;

typedef struct sign_job {
    aw_delivery_t *d;
    pend_t *p;
    size_t n, step, first;
    bool background;
} sign_job_t;

static void sign_one(aw_delivery_t *d, pend_t *p) {
    json_t *body = NULL;
    if (p->body) {
        json_error_t je;
        body = json_loads(p->body, JSON_REJECT_DUPLICATES, &je);
        if (!body) {
            p->rc = aw_err_set(&p->err, AW_EINVAL, "event %lld: stored body is not JSON",
                               (long long)p->id);
            p->done = true;
            return;
        }
    }
    char uri[200];
    snprintf(uri, sizeof uri, "%s%s", AW_SET_EVENT_BASE, p->event);
    aw_set_claims_t cl = {.iss = d->iss,
                          .submission_id = p->sub,
                          .case_id = p->case_id,
                          .event = uri,
                          .event_body = body,
                          .jti = p->jti,
                          .iat = p->created_at / 1000};
    p->rc = aw_set_sign(atomic_load(&d->platform_key), &cl, &p->tok, &p->err);
    if (p->rc == 0 && !aw_buf_ok(&p->tok))
        p->rc = aw_err_set(&p->err, AW_ENOMEM, "event: out of memory");
    json_decref(body);
    p->done = true;
}

static void *sign_thread(void *arg) {
    sign_job_t *j = arg;
    /* The worker signs with what the request path leaves over: a client
     * waiting for a commit goes first (Linux: nice applies per thread). */
    if (j->background) setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
    for (size_t i = j->first; i < j->n; i += j->step) sign_one(j->d, &j->p[i]);
    return NULL;
}

/* RSA-4096 signing is the cost; a batch is spread over the cores. A
 * reader signs on its own thread too; the worker only on helper threads,
 * which run at a lower priority. */
static void sign_all(aw_delivery_t *d, pend_t *p, size_t n, bool background) {
    long cpu = sysconf(_SC_NPROCESSORS_ONLN);
    size_t t = cpu > 1 ? (size_t)cpu : 1;
    if (t > SIGN_THREADS) t = SIGN_THREADS;
    if (t > n) t = n;
    sign_job_t jobs[SIGN_THREADS];
    pthread_t th[SIGN_THREADS];
    bool started[SIGN_THREADS] = {0};
    for (size_t i = 0; i < t; i++) {
        jobs[i] =
            (sign_job_t){.d = d, .p = p, .n = n, .step = t, .first = i, .background = background};
        if (i > 0 || background)
            started[i] = pthread_create(&th[i], NULL, sign_thread, &jobs[i]) == 0;
    }
    if (t && !started[0]) {
        jobs[0].background = false;
        sign_thread(&jobs[0]);
    }
    for (size_t i = 1; i < t; i++) {
        if (started[i])
            pthread_join(th[i], NULL);
        else
            sign_thread(&jobs[i]);
    }
    if (t && started[0]) pthread_join(th[0], NULL);
}

/* Unsigned events (of case_id, or of all cases): how many, and whether one
 * of them is free to claim at now (leases ending before now). */
static int count_unsigned(aw_delivery_t *d, const char *case_id, int64_t now, int64_t *n,
                          bool *claimable, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
    if (rc) return rc;
    aw_sql_t *q;
    rc = case_id ? aw_sql_query(tx,
                                "SELECT COUNT(*), COALESCE(MIN(sign_lease_until), 0)"
                                " FROM delivery_events WHERE case_id = $1 AND token = ''",
                                &q, err, "t", case_id)
                 : aw_sql_query(tx,
                                "SELECT COUNT(*), COALESCE(MIN(sign_lease_until), 0)"
                                " FROM delivery_events WHERE token = ''",
                                &q, err, "");
    if (rc == 0) {
        if ((rc = aw_sql_step(q, err)) == 1) {
            *n = aw_sql_col_int64(q, 0);
            *claimable = *n > 0 && aw_sql_col_int64(q, 1) < now;
            rc = 0;
        } else if (rc == 0)
            rc = aw_err_set(err, AW_EINTERNAL, "events: no count");
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    return rc;
}

/* Claims up to limit (<= SIGN_BATCH) unsigned events whose lease ends
 * before `now` (a reader stealing: any) for owner in tx and loads them. */
static int claim_in(aw_tx_t *tx, const char *case_id, const char *owner, int64_t now, int limit,
                    pend_t **out, size_t *n, aw_err_t *err) {
    *out = NULL;
    *n = 0;
    int rc = 0;
    /* The outer conditions repeat the inner ones: PostgreSQL re-checks them
     * on the newest version of a row another claimer changed meanwhile. */
    const char *pg_sub = " FOR UPDATE SKIP LOCKED)";
    char sql[800];
    snprintf(sql, sizeof sql,
             "UPDATE delivery_events SET sign_owner = $1, sign_lease_until = $2"
             " WHERE token = '' AND sign_lease_until < $3 AND id IN (SELECT id FROM"
             " delivery_events WHERE token = '' AND sign_lease_until < $3%s ORDER BY id"
             " LIMIT %d%s RETURNING id, submission_id, case_id, event, jti, body, created_at",
             case_id ? " AND case_id = $4" : "", limit,
             aw_sql_dialect(tx) == AW_SQL_POSTGRES ? pg_sub : ")");
    /* RETURNING: no second look-up by sign_owner (which has no index) */
    aw_sql_t *q;
    int64_t until = aw_time_now_ms() + SIGN_LEASE_MS;
    rc = case_id ? aw_sql_query(tx, sql, &q, err, "tIIt", owner, until, now, case_id)
                 : aw_sql_query(tx, sql, &q, err, "tII", owner, until, now);
    pend_t *p = NULL;
    size_t k = 0;
    if (rc == 0) {
        p = calloc(SIGN_BATCH, sizeof *p);
        if (!p) rc = aw_err_set(err, AW_ENOMEM, "events: out of memory");
        while (rc == 0 && k < SIGN_BATCH && (rc = aw_sql_step(q, err)) == 1) {
            pend_t *e = &p[k++];
            e->id = aw_sql_col_int64(q, 0);
            snprintf(e->sub, sizeof e->sub, "%s", aw_sql_col_text(q, 1));
            snprintf(e->case_id, sizeof e->case_id, "%s", aw_sql_col_text(q, 2));
            snprintf(e->event, sizeof e->event, "%s", aw_sql_col_text(q, 3));
            snprintf(e->jti, sizeof e->jti, "%s", aw_sql_col_text(q, 4));
            bool oom = false;
            e->body = aw_sql_col_strdup(q, 5, &oom);
            e->created_at = aw_sql_col_int64(q, 6);
            if (oom)
                rc = aw_err_set(err, AW_ENOMEM, "events: out of memory");
            else
                rc = 0;
        }
        if (rc > 0) rc = 0;
        aw_sql_done(q);
    }
    if (rc) {
        for (size_t i = 0; p && i < k; i++) free(p[i].body);
        free(p);
        return rc;
    }
    *out = p;
    *n = k;
    return 0;
}

static int claim(aw_delivery_t *d, const char *case_id, const char *owner, int64_t now,
                 pend_t **out, size_t *n, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
    if (rc) return rc;
    rc = claim_in(tx, case_id, owner, now, SIGN_BATCH, out, n, err);
    if (rc == 0)
        rc = aw_store_commit(tx, err);
    else
        aw_store_rollback(tx);
    if (rc && *out) {
        for (size_t i = 0; i < *n; i++) free((*out)[i].body);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* Stores in tx the signatures of the events owner still holds. */
static int store_in(aw_tx_t *tx, const char *owner, pend_t *p, size_t n, aw_err_t *err) {
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (p[i].rc || !p[i].done) continue;
        int64_t ch = 0;
        rc = aw_sql_exec(tx,
                         "UPDATE delivery_events SET token = $1, sign_owner = NULL,"
                         " sign_lease_until = 0 WHERE id = $2 AND sign_owner = $3 AND token = ''",
                         &ch, err, "tIt", p[i].tok.data, p[i].id, owner);
        p[i].stored = rc == 0 && ch == 1;
    }
    return rc;
}

static int store_signed(aw_delivery_t *d, const char *owner, pend_t *p, size_t n, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
    if (rc) return rc;
    rc = store_in(tx, owner, p, n, err);
    if (rc == 0)
        rc = aw_store_commit(tx, err);
    else
        aw_store_rollback(tx);
    return rc;
}

int dl_events_sign(aw_delivery_t *d, const char *case_id, bool wait, int64_t *signed_n,
                   aw_err_t *err) {
    int rc = dl_platform_key(d, err);
    if (rc) return rc;
    int64_t start = aw_time_now_ms(), deadline = start + SIGN_LEASE_MS + 5000, total = 0;
    int batches = 0;
    for (unsigned spin = 0;; spin++) {
        int64_t now = aw_time_now_ms(), n = 0;
        bool claimable = false;
        /* a reader that has waited long enough takes its case's events over
         * whatever lease they have */
        bool steal = wait && case_id && now - start >= READER_STEAL_MS;
        int64_t before = steal ? INT64_MAX : now;
        rc = count_unsigned(d, case_id, before, &n, &claimable, err);
        if (rc || n == 0) break;
        if (claimable) {
            char owner[AW_UUID_STRLEN + 1];
            aw_uuid_v4(owner);
            pend_t *p;
            size_t k;
            rc = claim(d, case_id, owner, before, &p, &k, err);
            if (rc) break;
            sign_all(d, p, k, !wait);
            rc = store_signed(d, owner, p, k, err);
            for (size_t i = 0; i < k; i++) {
                if (p[i].rc && rc == 0) {
                    rc = p[i].rc;
                    *err = p[i].err;
                }
                total += rc == 0 && p[i].stored;
                aw_buf_free(&p[i].tok);
                free(p[i].body);
            }
            free(p);
            if (rc) break;
            if (k > 0) spin = 0;
            /* the worker leaves the rest of a backlog to the next sign jobs,
             * so callbacks and deadlines are not held up behind it */
            if (!wait && ++batches == SIGN_WORKER_BATCHES) break;
            continue;
        }
        /* everything left is being signed by someone else */
        if (!wait) {
            rc = AW_EBUSY;
            aw_err_set(err, AW_EBUSY, "events: %lld event(s) being signed by another signer",
                       (long long)n);
            break;
        }
        if (now > deadline) {
            rc = aw_err_set(err, AW_ETIMEOUT, "events: signing did not finish in time");
            break;
        }
        struct timespec ts = {0, (spin < 50 ? 1 : 10) * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_sub(&d->backlog, total);
    level_changed(d);
    if (signed_n) *signed_n = total;
    return rc;
}

/* ---- the background signer ------------------------------------------------
 *
 * Signing is the platform's biggest cost (two RSA-4096 signatures per
 * submission) and never on the request path. The signer runs
 *  - "idle" threads (cores) at SCHED_IDLE: they only get CPU time no
 *    request thread wants, so replies are not slowed while there is work;
 *    one more thread than cores keeps the cores signing while one thread
 *    waits for its commit;
 *  - "escalation" threads (cores) at normal priority, woken only while the
 *    backlog of unsigned events exceeds sign_escalate (until it fell to
 *    half of it): under sustained load the request path then shares the CPU
 *    with signing instead of starving it; and while no announce or submit
 *    came for QUIET_MS: then nobody waits for a reply, and idle priority
 *    would only leave the CPU to other processes (a batch is SIGN_BG_BATCH
 *    signatures, so a request arriving shares the CPU for at most that);
 *  - and at sign_max_backlog new announces and submits are refused with 503
 *    and Retry-After (dl_sign_refuse), so the backlog stays bounded.
 * A signer thread pipelines: one write transaction stores the signatures of
 * its previous batch and claims the next one, so there is one commit per
 * batch. The backlog is an estimate: += on the request path after a commit,
 * -= per signature, and recounted from the database at most every
 * BACKLOG_RECOUNT_MS (other nodes, other processes). */

#define SIGN_BG_BATCH      16
#define BACKLOG_RECOUNT_MS 1000 /* a COUNT over the whole backlog: not too often */
#define SIGN_MAX_THREADS   8
#define QUIET_MS           100

typedef struct sthread {
    aw_delivery_t *d;
    bool escalation, committer, started;
    pthread_t th;
    int policy; /* as set by the thread, for tests */
} sthread_t;

struct dl_signer {
    pthread_mutex_t mu;
    /* cv: the committer; work_cv / esc_cv: idle / escalation signing
     * threads; idle_cv: dl_signer_wait and start-up */
    pthread_cond_t cv, work_cv, esc_cv, idle_cv;
    uint64_t gen; /* kicks */
    bool stopping, cstop, escalated;
    int n, ready;
    struct sbatch *head, *tail; /* claimed batches, oldest first */
    size_t queued, low;         /* events claimed, not taken; claim below low */
    size_t held;                /* events of the batches in the list (claimed, not stored) */
    sthread_t t[2 * SIGN_MAX_THREADS + 1];
    _Atomic int64_t last_count_ms;
};

int64_t dl_sign_backlog(aw_delivery_t *d) {
    int64_t b = atomic_load(&d->backlog);
    return b > 0 ? b : 0;
}

int dl_sign_level(const aw_delivery_config_t *c, int64_t backlog, bool escalated) {
    if (c->sign_max_backlog > 0 && backlog >= c->sign_max_backlog) return DL_SIGN_REFUSE;
    if (c->sign_escalate > 0 &&
        (backlog > c->sign_escalate || (escalated && backlog > c->sign_escalate / 2)))
        return DL_SIGN_ESCALATE;
    return DL_SIGN_IDLE;
}

int dl_sign_backlog_count(aw_delivery_t *d, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
    if (rc) return rc;
    aw_sql_t *q;
    rc = aw_sql_query(tx, "SELECT COUNT(*) FROM delivery_events WHERE token = ''", &q, err, "");
    if (rc == 0) {
        if ((rc = aw_sql_step(q, err)) == 1) {
            atomic_store(&d->backlog, aw_sql_col_int64(q, 0));
            rc = 0;
        } else if (rc == 0)
            rc = aw_err_set(err, AW_EINTERNAL, "events: no count");
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (d->signer) atomic_store(&d->signer->last_count_ms, aw_time_now_ms());
    return rc;
}

/* Wakes escalation threads when the backlog crossed the bound and wakes
 * waiters of dl_signer_wait. */
static void level_changed(aw_delivery_t *d) {
    dl_signer_t *s = d->signer;
    if (!s) return;
    int64_t b = dl_sign_backlog(d);
    pthread_mutex_lock(&s->mu);
    bool esc = dl_sign_level(&d->cfg, b, s->escalated) >= DL_SIGN_ESCALATE;
    if (esc && !s->escalated) {
        atomic_fetch_add(&d->escalations, 1);
        aw_log_info("delivery.sign_escalate", "backlog=%lld", (long long)b);
    }
    s->escalated = esc;
    if (esc) pthread_cond_broadcast(&s->esc_cv);
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
}

/* No announce or submit for QUIET_MS. */
static bool quiet(aw_delivery_t *d) {
    return aw_time_now_ms() - atomic_load(&d->last_req_ms) >= QUIET_MS;
}

void dl_signer_kick(aw_delivery_t *d, int64_t added) {
    if (added) atomic_store(&d->last_req_ms, aw_time_now_ms());
    int64_t b = atomic_fetch_add(&d->backlog, added) + added;
    dl_signer_t *s = d->signer;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->gen++;
    if (s->queued < s->low) pthread_cond_signal(&s->cv); /* the committer claims */
    bool wake_esc = !s->escalated && dl_sign_level(&d->cfg, b, false) >= DL_SIGN_ESCALATE;
    pthread_mutex_unlock(&s->mu);
    if (wake_esc) level_changed(d);
}

static void pend_free(pend_t *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) {
        aw_buf_free(&p[i].tok);
        free(p[i].body);
    }
    free(p);
}

int dl_signer_run(aw_delivery_t *d, bool escalation, int64_t *signed_n, aw_err_t *err) {
    if (signed_n) *signed_n = 0;
    int rc = 0;
    char owner[AW_UUID_STRLEN + 1], prev_owner[AW_UUID_STRLEN + 1] = "";
    pend_t *prev = NULL;
    size_t prev_n = 0;
    int64_t total = 0;
    for (;;) {
        bool stop = escalation && !quiet(d) &&
                    dl_sign_level(&d->cfg, dl_sign_backlog(d), true) < DL_SIGN_ESCALATE;
        aw_uuid_v4(owner);
        aw_tx_t *tx;
        pend_t *p = NULL;
        size_t k = 0;
        rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
        if (rc) break;
        if (prev) rc = store_in(tx, prev_owner, prev, prev_n, err);
        if (rc == 0 && !stop)
            rc = claim_in(tx, NULL, owner, aw_time_now_ms(), SIGN_BG_BATCH, &p, &k, err);
        if (rc == 0)
            rc = aw_store_commit(tx, err);
        else
            aw_store_rollback(tx);
        if (rc) {
            pend_free(p, k);
            break;
        }
        if (prev) {
            int64_t ok = 0;
            for (size_t i = 0; i < prev_n; i++) ok += prev[i].stored;
            total += ok;
            atomic_fetch_sub(&d->backlog, ok);
            atomic_fetch_add(&d->signed_bg, ok);
            for (size_t i = 0; i < prev_n; i++)
                if (prev[i].rc) {
                    char q[300];
                    aw_log_warn("delivery.sign", "event=%lld error=%s", (long long)prev[i].id,
                                aw_log_quote(q, sizeof q, prev[i].err.msg));
                }
            pend_free(prev, prev_n);
            prev = NULL;
            int64_t now = aw_time_now_ms();
            if (d->signer && now - atomic_load(&d->signer->last_count_ms) >= BACKLOG_RECOUNT_MS) {
                aw_err_t e2;
                dl_sign_backlog_count(d, &e2);
            }
            level_changed(d);
        }
        if (k == 0) {
            free(p);
            break;
        }
        /* the key only when there is something to sign: a first start
         * generates it (seconds of RSA-4096) */
        if ((rc = dl_platform_key(d, err)) != 0) {
            pend_free(p, k); /* the claims expire */
            break;
        }
        for (size_t i = 0; i < k; i++) sign_one(d, &p[i]);
        prev = p;
        prev_n = k;
        memcpy(prev_owner, owner, sizeof owner);
    }
    if (prev) {
        /* the final store failed: keep what was signed if possible; else
         * the claims expire and another signer signs them again */
        aw_err_t e2;
        if (store_signed(d, prev_owner, prev, prev_n, &e2) == 0) {
            int64_t ok = 0;
            for (size_t i = 0; i < prev_n; i++) ok += prev[i].stored;
            total += ok;
            atomic_fetch_sub(&d->backlog, ok);
            atomic_fetch_add(&d->signed_bg, ok);
        }
        pend_free(prev, prev_n);
    }
    if (signed_n) *signed_n = total;
    return rc;
}

#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif

/* A claimed batch on its way through the threaded signer. */
typedef struct sbatch {
    struct sbatch *next;
    char owner[AW_UUID_STRLEN + 1];
    pend_t *p;
    size_t n, taken, done;
} sbatch_t;

/* Signing threads: take one event at a time from the claimed batches. An
 * escalation thread takes work only while escalated or quiet. */
static void *signer_main(void *arg) {
    sthread_t *t = arg;
    aw_delivery_t *d = t->d;
    dl_signer_t *s = d->signer;
    t->policy = SCHED_OTHER;
    if (!t->escalation) {
        struct sched_param sp = {0};
        if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
            t->policy = SCHED_IDLE;
        else /* no SCHED_IDLE: the lowest nice value instead */
            setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
    }
    pthread_mutex_lock(&s->mu);
    s->ready++;
    pthread_cond_broadcast(&s->idle_cv);
    while (!s->stopping) {
        bool may = !t->escalation || s->escalated || quiet(d);
        sbatch_t *b = NULL;
        if (may)
            for (b = s->head; b && b->taken == b->n; b = b->next) {
            }
        if (!b) {
            /* starved: unsigned events are left that no batch of ours holds,
             * so this thread waits for the committer's claim */
            bool starved = !t->escalation && (int64_t)s->held < dl_sign_backlog(d);
            int64_t w0 = starved ? aw_time_mono_us() : 0;
            struct timespec ts =
                aw_time_deadline(CLOCK_MONOTONIC, t->escalation && s->queued ? QUIET_MS : 1000);
            pthread_cond_timedwait(t->escalation ? &s->esc_cv : &s->work_cv, &s->mu, &ts);
            if (starved) atomic_fetch_add(&d->sign_starved_us, aw_time_mono_us() - w0);
            continue;
        }
        pend_t *e = &b->p[b->taken++];
        s->queued--;
        if (s->queued < s->low) pthread_cond_signal(&s->cv); /* refill */
        pthread_mutex_unlock(&s->mu);
        sign_one(d, e);
        pthread_mutex_lock(&s->mu);
        if (++b->done == b->n) pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* A read-only look whether anything could be claimed: an idle server's poll
 * then costs no write transaction (and no WAL sync), and no claim id is
 * drawn from the random generator. True on errors: the claim reports them. */
static bool claimable(aw_delivery_t *d) {
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err) != 0) return true;
    aw_sql_t *q;
    bool any = true;
    if (aw_sql_query(tx,
                     "SELECT 1 FROM delivery_events WHERE token = '' AND sign_lease_until < $1"
                     " LIMIT 1",
                     &q, &err, "I", aw_time_now_ms()) == 0) {
        any = aw_sql_step(q, &err) != 0; /* a row, or an error */
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    return any;
}

/* The committer (normal priority): every database transaction of the
 * threaded signer is here, so no idle-priority thread ever holds SQLite's
 * write lock (a request waiting for it behind a thread that gets no CPU
 * would be priority inversion). One transaction stores the finished
 * batches and claims the next while the signing threads keep signing. */
static void *committer_main(void *arg) {
    sthread_t *t = arg;
    aw_delivery_t *d = t->d;
    dl_signer_t *s = d->signer;
    t->policy = SCHED_OTHER;
    pthread_mutex_lock(&s->mu);
    s->ready++;
    pthread_cond_broadcast(&s->idle_cv);
    uint64_t seen = s->gen - 1; /* a first claim at start: work left from before */
    bool dry = false;           /* the last claim found nothing */
    for (;;) {
        bool have_done = s->cstop && s->head; /* at shutdown: release the rest */
        for (sbatch_t *b = s->head; b; b = b->next) have_done |= b->done == b->n;
        if (s->gen != seen) dry = false;
        bool want = !s->stopping && s->queued < s->low && !dry;
        if (!have_done && !want) {
            if (s->cstop) break;
            struct timespec ts = aw_time_deadline(
                CLOCK_MONOTONIC, d->cfg.worker_poll_ms ? d->cfg.worker_poll_ms : 500);
            /* the poll: events of other nodes, claims that expired */
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT) dry = false;
            continue;
        }
        seen = s->gen;
        /* detach finished batches (all of them at shutdown: the unsigned
         * rest is released) */
        sbatch_t *fin = NULL, **pp = &s->head;
        s->tail = NULL;
        while (*pp) {
            sbatch_t *b = *pp;
            if (b->done == b->n || s->cstop) {
                *pp = b->next;
                b->next = fin;
                fin = b;
                s->held -= b->n;
                if (s->cstop) s->queued -= b->n - b->taken;
            } else {
                s->tail = b;
                pp = &b->next;
            }
        }
        bool stop = s->cstop;
        pthread_mutex_unlock(&s->mu);

        if (!fin && !stop && !claimable(d)) {
            pthread_mutex_lock(&s->mu);
            dry = true;
            continue;
        }
        sbatch_t *nb = calloc(1, sizeof *nb);
        aw_err_t err = {0};
        aw_tx_t *tx;
        int rc = nb ? aw_store_begin(d->store, AW_TX_WRITE, &tx, &err) : AW_ENOMEM;
        for (sbatch_t *b = fin; rc == 0 && b; b = b->next) {
            rc = store_in(tx, b->owner, b->p, b->n, &err);
            if (rc == 0 && b->done < b->n)
                rc = aw_sql_exec(tx,
                                 "UPDATE delivery_events SET sign_owner = NULL,"
                                 " sign_lease_until = 0 WHERE sign_owner = $1 AND token = ''",
                                 NULL, &err, "t", b->owner);
        }
        if (rc == 0 && want && !stop) {
            aw_uuid_v4(nb->owner);
            rc = claim_in(tx, NULL, nb->owner, aw_time_now_ms(), SIGN_BG_BATCH, &nb->p, &nb->n,
                          &err);
        }
        if (nb && rc == 0)
            rc = aw_store_commit(tx, &err);
        else if (nb && rc != AW_ENOMEM)
            aw_store_rollback(tx);
        if (rc == 0 && nb->n > 0 && dl_platform_key(d, &err) != 0) {
            /* no key, nothing to sign with: the claims expire after
             * SIGN_LEASE_MS; the next claim tries the key again */
            aw_log_warn("delivery.signer", "key=failed err=%s", aw_err_name(err.code));
            pend_free(nb->p, nb->n);
            nb->p = NULL, nb->n = 0;
        }
        if (rc) {
            if (rc != AW_EBUSY)
                aw_log_warn("delivery.signer", "outcome=failed err=%s", aw_err_name(rc));
            if (nb) pend_free(nb->p, nb->n);
            free(nb);
            nb = NULL; /* unstored signatures: the claims expire, others sign again */
        }
        int64_t ok = 0;
        while (fin) {
            sbatch_t *b = fin;
            fin = b->next;
            for (size_t i = 0; rc == 0 && i < b->n; i++) {
                ok += b->p[i].stored;
                if (b->p[i].done && b->p[i].rc) {
                    char q[300];
                    aw_log_warn("delivery.sign", "event=%lld error=%s", (long long)b->p[i].id,
                                aw_log_quote(q, sizeof q, b->p[i].err.msg));
                }
            }
            pend_free(b->p, b->n);
            free(b);
        }
        if (ok) {
            atomic_fetch_sub(&d->backlog, ok);
            atomic_fetch_add(&d->signed_bg, ok);
        }
        int64_t now = aw_time_now_ms();
        if (now - atomic_load(&s->last_count_ms) >= BACKLOG_RECOUNT_MS) {
            aw_err_t e2;
            dl_sign_backlog_count(d, &e2);
        }
        level_changed(d);
        pthread_mutex_lock(&s->mu);
        if (nb && nb->n > 0) {
            if (s->tail)
                s->tail->next = nb;
            else
                s->head = nb;
            s->tail = nb;
            s->queued += nb->n;
            s->held += nb->n;
            pthread_cond_broadcast(&s->work_cv);
            pthread_cond_broadcast(&s->esc_cv);
        } else {
            if (want && rc == 0) dry = true;
            if (rc) dry = true; /* retry at the next kick or poll, not at once */
            if (nb) {
                free(nb->p);
                free(nb);
            }
        }
        if (stop && !s->head) break;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int dl_signer_start(aw_delivery_t *d, aw_err_t *err) {
    dl_signer_t *s = calloc(1, sizeof *s);
    if (!s) return aw_err_set(err, AW_ENOMEM, "signer: out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_cond_init(&s->work_cv, &ca);
    pthread_cond_init(&s->esc_cv, &ca);
    pthread_cond_init(&s->idle_cv, &ca);
    pthread_condattr_destroy(&ca);
    d->signer = s;
    aw_err_t e2;
    if (dl_sign_backlog_count(d, &e2))
        aw_log_warn("delivery.signer", "count=failed err=%s", aw_err_name(e2.code));
    level_changed(d);
    long cpu = sysconf(_SC_NPROCESSORS_ONLN);
    int cores = cpu > 0 ? (int)cpu : 1;
    if (cores > SIGN_MAX_THREADS) cores = SIGN_MAX_THREADS;
    int idle = d->cfg.sign_threads ? (int)d->cfg.sign_threads : cores;
    if (idle > SIGN_MAX_THREADS) idle = SIGN_MAX_THREADS;
    int esc = cores;
    s->low = (size_t)(idle + esc) * 2;
    for (int i = 0; i < idle + esc + 1; i++) {
        sthread_t *t = &s->t[s->n];
        *t = (sthread_t){.d = d, .escalation = i > idle, .committer = i == 0};
        if (pthread_create(&t->th, NULL, t->committer ? committer_main : signer_main, t) != 0)
            break;
        t->started = true;
        s->n++;
    }
    if (s->n < idle + esc + 1) {
        dl_signer_stop(d);
        return aw_err_set(err, AW_EIO, "signer: cannot start a thread");
    }
    /* every thread has its priority before start returns */
    pthread_mutex_lock(&s->mu);
    while (s->ready < s->n) pthread_cond_wait(&s->idle_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    aw_log_info("delivery.signer", "idle_threads=%d escalation_threads=%d backlog=%lld", idle, esc,
                (long long)dl_sign_backlog(d));
    return 0;
}

void dl_signer_stop(aw_delivery_t *d) {
    dl_signer_t *s = d->signer;
    if (!s) return;
    /* the signing threads first (each finishes the event in hand), then
     * the committer stores what is signed and releases the rest */
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->work_cv);
    pthread_cond_broadcast(&s->esc_cv);
    pthread_cond_broadcast(&s->idle_cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n; i++)
        if (s->t[i].started && !s->t[i].committer) pthread_join(s->t[i].th, NULL);
    pthread_mutex_lock(&s->mu);
    s->cstop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n; i++)
        if (s->t[i].started && s->t[i].committer) pthread_join(s->t[i].th, NULL);
    d->signer = NULL;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->work_cv);
    pthread_cond_destroy(&s->esc_cv);
    pthread_cond_destroy(&s->idle_cv);
    free(s);
}

int dl_signer_wait(aw_delivery_t *d, int64_t at_most, int64_t timeout_ms) {
    dl_signer_t *s = d->signer;
    if (!s) return AW_ESTATE;
    struct timespec ts = aw_time_deadline(CLOCK_MONOTONIC, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (dl_sign_backlog(d) > at_most && !s->stopping)
        if (pthread_cond_timedwait(&s->idle_cv, &s->mu, &ts) == ETIMEDOUT) {
            rc = AW_ETIMEOUT;
            break;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int dl_signer_policies(aw_delivery_t *d, int *idle, int *normal) {
    *idle = *normal = 0;
    dl_signer_t *s = d->signer;
    if (!s) return AW_ESTATE;
    for (int i = 0; i < s->n; i++) {
        int pol = 0;
        struct sched_param sp;
        if (pthread_getschedparam(s->t[i].th, &pol, &sp) != 0) continue;
        if (pol == SCHED_IDLE)
            ++*idle;
        else if (pol == SCHED_OTHER)
            ++*normal;
    }
    return 0;
}

bool dl_sign_refuse(aw_delivery_t *d, aw_http_resp_t *resp) {
    int64_t b = dl_sign_backlog(d);
    if (dl_sign_level(&d->cfg, b, false) != DL_SIGN_REFUSE) return false;
    atomic_fetch_add(&d->sign_refused, 1);
    dl_problem(resp, 503, "service-unavailable", "Service Unavailable",
               "the platform has %lld event(s) waiting to be signed (limit %lld); retry later",
               (long long)b, (long long)d->cfg.sign_max_backlog);
    aw_http_resp_header(resp, "Retry-After", DL_SIGN_RETRY_AFTER);
    return true;
}

/* Sign jobs of databases written before the signer existed: the signer
 * signs every unsigned event anyway. */
int dl_job_sign(void *ctx, const aw_outbox_job_t *job, aw_err_t *err) {
    (void)job, (void)err;
    dl_signer_kick(ctx, 0);
    return 0;
}
