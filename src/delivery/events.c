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
 * only while the claim is still held, so two signers never both sign the
 * same event; a signer that dies loses its claim after SIGN_LEASE_MS.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "delivery/internal.h"
#include "jose/set.h"
#include "store/outbox.h"

#define SIGN_LEASE_MS       30000
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
    if (rc) return rc;
    char payload[100];
    snprintf(payload, sizeof payload, "{\"caseId\":\"%s\"}", case_id);
    return aw_store_outbox_enqueue(tx, DL_JOB_SIGN, payload, 0, NULL, err);
}

typedef struct pend {
    int64_t id, created_at;
    char sub[AW_UUID_STRLEN + 1], case_id[AW_UUID_STRLEN + 1], jti[AW_UUID_STRLEN + 1];
    char event[64];
    char *body;
    aw_buf_t tok;
    int rc;
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
    p->rc = aw_set_sign(d->platform_key, &cl, &p->tok, &p->err);
    if (p->rc == 0 && !aw_buf_ok(&p->tok))
        p->rc = aw_err_set(&p->err, AW_ENOMEM, "event: out of memory");
    json_decref(body);
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
 * of them is free to claim at now. */
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

/* Claims up to SIGN_BATCH free unsigned events for owner and loads them. */
static int claim(aw_delivery_t *d, const char *case_id, const char *owner, int64_t now,
                 pend_t **out, size_t *n, aw_err_t *err) {
    *out = NULL;
    *n = 0;
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
    if (rc) return rc;
    /* The outer conditions repeat the inner ones: PostgreSQL re-checks them
     * on the newest version of a row another claimer changed meanwhile. */
    const char *pg_sub = " FOR UPDATE SKIP LOCKED)";
    char sql[800];
    snprintf(sql, sizeof sql,
             "UPDATE delivery_events SET sign_owner = $1, sign_lease_until = $2"
             " WHERE token = '' AND sign_lease_until < $3 AND id IN (SELECT id FROM"
             " delivery_events WHERE token = '' AND sign_lease_until < $3%s ORDER BY id"
             " LIMIT %d%s",
             case_id ? " AND case_id = $4" : "", SIGN_BATCH,
             aw_sql_dialect(tx) == AW_SQL_POSTGRES ? pg_sub : ")");
    rc = case_id ? aw_sql_exec(tx, sql, NULL, err, "tIIt", owner, now + SIGN_LEASE_MS, now, case_id)
                 : aw_sql_exec(tx, sql, NULL, err, "tII", owner, now + SIGN_LEASE_MS, now);
    aw_sql_t *q;
    pend_t *p = NULL;
    size_t k = 0;
    if (rc == 0)
        rc = aw_sql_query(tx,
                          "SELECT id, submission_id, case_id, event, jti, body, created_at"
                          " FROM delivery_events WHERE sign_owner = $1 AND token = '' ORDER BY id",
                          &q, err, "t", owner);
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
    if (rc == 0)
        rc = aw_store_commit(tx, err);
    else
        aw_store_rollback(tx);
    if (rc) {
        for (size_t i = 0; p && i < k; i++) free(p[i].body);
        free(p);
        return rc;
    }
    *out = p;
    *n = k;
    return 0;
}

/* Stores the signatures of the events owner still holds. */
static int store_signed(aw_delivery_t *d, const char *owner, pend_t *p, size_t n, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
    if (rc) return rc;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (p[i].rc) continue;
        rc = aw_sql_exec(tx,
                         "UPDATE delivery_events SET token = $1, sign_owner = NULL,"
                         " sign_lease_until = 0 WHERE id = $2 AND sign_owner = $3 AND token = ''",
                         NULL, err, "tIt", p[i].tok.data, p[i].id, owner);
    }
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
    int64_t deadline = aw_time_now_ms() + SIGN_LEASE_MS + 5000, total = 0;
    int batches = 0;
    for (unsigned spin = 0;; spin++) {
        int64_t now = aw_time_now_ms(), n = 0;
        bool claimable = false;
        rc = count_unsigned(d, case_id, now, &n, &claimable, err);
        if (rc || n == 0) break;
        if (claimable) {
            char owner[AW_UUID_STRLEN + 1];
            aw_uuid_v4(owner);
            pend_t *p;
            size_t k;
            rc = claim(d, case_id, owner, now, &p, &k, err);
            if (rc) break;
            sign_all(d, p, k, !wait);
            rc = store_signed(d, owner, p, k, err);
            for (size_t i = 0; i < k; i++) {
                if (p[i].rc && rc == 0) {
                    rc = p[i].rc;
                    *err = p[i].err;
                }
                total += p[i].rc == 0;
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
    if (signed_n) *signed_n = total;
    return rc;
}

int dl_job_sign(void *ctx, const aw_outbox_job_t *job, aw_err_t *err) {
    aw_delivery_t *d = ctx;
    /* Sign whatever is pending (a batch covers the jobs after this one);
     * then this job's case must be complete, or another signer holds part
     * of it: retry later, in case that signer died. */
    int64_t n = 0;
    int rc = dl_events_sign(d, NULL, false, &n, err);
    if (rc && rc != AW_EBUSY) return rc;
    json_t *j = json_loads(job->payload, 0, NULL);
    const char *cid = json_string_value(json_object_get(j, "caseId"));
    rc = cid && aw_uuid_valid(cid) ? dl_events_sign(d, cid, false, NULL, err)
                                   : aw_err_set(err, AW_EINVAL, "sign job: no caseId");
    json_decref(j);
    return rc;
}

int dl_job_sign_skip(void *ctx, const aw_outbox_job_t *job, aw_err_t *err) {
    (void)ctx, (void)job, (void)err;
    return 0;
}
