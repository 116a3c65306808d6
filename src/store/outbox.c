/*
 * outbox.c — the transactional outbox on sql.h (semantics in outbox.h).
 *
 * The claim is one UPDATE ... RETURNING in a write transaction. On SQLite
 * the write transaction (BEGIN IMMEDIATE) already excludes every other
 * claimer; on PostgreSQL the candidate rows are locked with FOR UPDATE SKIP
 * LOCKED, so concurrent claimers take disjoint sets without waiting, and a
 * row another claimer committed meanwhile is re-checked by the server
 * (its new lease_until no longer matches).
 */
#include "store/outbox.h"
#include "store/engine.h"
#include "store/sql.h"

#include <openssl/rand.h>

#include "base/time.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_MAX_BYTES 128
#define ERROR_MAX_BYTES  1000
#define LIST_MAX         1000

void aw_outbox_jobs_free(aw_outbox_job_t *jobs, size_t n) {
    if (!jobs) return;
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].kind);
        free(jobs[i].payload);
        free(jobs[i].last_error);
    }
    free(jobs);
}

static bool printable(const char *s, size_t max) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

static bool utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

/* A storable copy of an error message: at most ERROR_MAX_BYTES, cut on a
 * character boundary, control characters as spaces, other bytes of invalid
 * UTF-8 as '?'. */
static char *clean_error(const char *msg) {
    if (!msg || !*msg) msg = "(no message)";
    size_t n = strlen(msg);
    if (n > ERROR_MAX_BYTES) {
        n = ERROR_MAX_BYTES;
        while (n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80) n--;
    }
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, msg, n);
    out[n] = '\0';
    bool ok = utf8_valid((const unsigned char *)out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 || c == 0x7f)
            out[i] = ' ';
        else if (!ok && c >= 0x80)
            out[i] = '?';
    }
    return out;
}

static int64_t backoff_ms(const aw_store_opts_t *o, int attempts) {
    int64_t d = o->outbox_backoff_base_ms;
    for (int i = 1; i < attempts && d < o->outbox_backoff_cap_ms; i++) d *= 2;
    if (d > o->outbox_backoff_cap_ms) d = o->outbox_backoff_cap_ms;
    /* "Equal jitter": half fixed, half random, so retries of jobs that
     * failed together spread out but never come back early. */
    uint64_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof r) != 1) return d;
    int64_t half = d / 2;
    return (d - half) + (int64_t)(r % (uint64_t)(half + 1));
}

/* ---- enqueue ------------------------------------------------------------- */

int aw_store_outbox_enqueue(aw_tx_t *tx, const char *kind, const char *payload_json,
                            int64_t due_at_ms, int64_t *id, aw_err_t *err) {
    if (!printable(kind, AW_OUTBOX_KIND_MAX))
        return aw_err_set(err, AW_EINVAL, "outbox job kind must be 1-%d printable bytes",
                          AW_OUTBOX_KIND_MAX);
    if (!payload_json) return aw_err_set(err, AW_EINVAL, "outbox job %s: payload missing", kind);
    size_t len = strlen(payload_json);
    if (len > AW_OUTBOX_PAYLOAD_MAX)
        return aw_err_set(err, AW_ETOOBIG, "outbox job %s: payload of %zu bytes exceeds %u", kind,
                          len, AW_OUTBOX_PAYLOAD_MAX);
    if (!utf8_valid((const unsigned char *)payload_json, len))
        return aw_err_set(err, AW_EINVAL, "outbox job %s: payload is not valid UTF-8", kind);
    int64_t now = aw_time_now_ms();
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "INSERT INTO outbox (kind, payload, due_at, created_at, updated_at)"
                          " VALUES ($1, $2, $3, $4, $4) RETURNING id",
                          &s, err, "ttII", kind, payload_json, due_at_ms, now);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        if (id) *id = aw_sql_col_int64(s, 0);
        rc = 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_EINTERNAL, "store: outbox insert returned no id");
    }
    aw_sql_done(s);
    return rc;
}

/* ---- claim --------------------------------------------------------------- */

static const char SQL_CLAIM_SQLITE[] =
    "UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1,"
    " updated_at = $3"
    " WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND due_at <= $3"
    " AND (lease_until IS NULL OR (lease_until <= $3 AND attempts < $5))"
    " ORDER BY due_at, id LIMIT $4)"
    " RETURNING id, kind, payload, attempts, due_at, created_at, last_error";

static const char SQL_CLAIM_PG[] =
    "WITH c AS (SELECT id FROM outbox WHERE state = 'pending' AND due_at <= $3"
    " AND (lease_until IS NULL OR (lease_until <= $3 AND attempts < $5))"
    " ORDER BY due_at, id LIMIT $4"
    " FOR UPDATE SKIP LOCKED)"
    " UPDATE outbox o SET lease_owner = $1, lease_until = $2, attempts = o.attempts + 1,"
    " updated_at = $3 FROM c WHERE o.id = c.id"
    " RETURNING o.id, o.kind, o.payload, o.attempts, o.due_at, o.created_at, o.last_error";

/* A worker died holding the last allowed attempt: dead letter, not retry.
 * PostgreSQL skips rows another claimer is dead-lettering right now, so two
 * claimers never wait on each other (nor deadlock) here. */
static const char SQL_EXPIRE_SQLITE[] =
    "UPDATE outbox SET state = 'dead', lease_owner = NULL, lease_until = NULL,"
    " last_error = 'lease expired without a result', updated_at = $1"
    " WHERE state = 'pending' AND lease_until IS NOT NULL AND lease_until <= $1"
    " AND attempts >= $2";

static const char SQL_EXPIRE_PG[] =
    "UPDATE outbox SET state = 'dead', lease_owner = NULL, lease_until = NULL,"
    " last_error = 'lease expired without a result', updated_at = $1"
    " WHERE id IN (SELECT id FROM outbox WHERE state = 'pending'"
    " AND lease_until IS NOT NULL AND lease_until <= $1 AND attempts >= $2"
    " FOR UPDATE SKIP LOCKED)";

static int read_jobs(aw_sql_t *s, aw_outbox_job_t **jobs, size_t *n, aw_err_t *err) {
    aw_outbox_job_t *list = NULL;
    size_t cnt = 0, cap = 0;
    bool oom = false;
    int rc;
    while ((rc = aw_sql_step(s, err)) == 1) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            aw_outbox_job_t *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                oom = true;
                break;
            }
            list = nl;
        }
        aw_outbox_job_t *j = &list[cnt++];
        memset(j, 0, sizeof *j);
        j->id = aw_sql_col_int64(s, 0);
        j->kind = aw_sql_col_strdup(s, 1, &oom);
        j->payload = aw_sql_col_strdup(s, 2, &oom);
        j->attempts = (int)aw_sql_col_int64(s, 3);
        j->due_at_ms = aw_sql_col_int64(s, 4);
        j->created_at_ms = aw_sql_col_int64(s, 5);
        j->last_error = aw_sql_col_strdup(s, 6, &oom);
        if (oom) break;
    }
    if (oom) rc = aw_err_set(err, AW_ENOMEM, "store: out of memory");
    if (rc < 0) {
        aw_outbox_jobs_free(list, cnt);
        return rc;
    }
    *jobs = list;
    *n = cnt;
    return 0;
}

static int job_cmp(const void *a, const void *b) {
    const aw_outbox_job_t *x = a, *y = b;
    if (x->due_at_ms != y->due_at_ms) return x->due_at_ms < y->due_at_ms ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int aw_store_outbox_claim(aw_store_t *st, const char *worker, int64_t now_ms, size_t max,
                          int64_t lease_ms, aw_outbox_job_t **jobs, size_t *n, aw_err_t *err) {
    *jobs = NULL;
    *n = 0;
    if (!printable(worker, WORKER_MAX_BYTES))
        return aw_err_set(err, AW_EINVAL, "outbox worker name must be 1-%d printable bytes",
                          WORKER_MAX_BYTES);
    if (max == 0 || max > AW_OUTBOX_CLAIM_MAX)
        return aw_err_set(err, AW_EINVAL, "outbox claim: max must be 1-%d", AW_OUTBOX_CLAIM_MAX);
    if (lease_ms <= 0) return aw_err_set(err, AW_EINVAL, "outbox claim: lease must be positive");
    /* A read-only look first: an idle server's workers poll twice a second,
     * and each poll was a write transaction with its WAL sync. Both the
     * lease expiry and the claim below only touch pending jobs that are due
     * (a claimed job was due when it was claimed). */
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    if (rc != 0) return rc;
    aw_sql_t *p;
    rc = aw_sql_query(tx, "SELECT 1 FROM outbox WHERE state = 'pending' AND due_at <= $1 LIMIT 1",
                      &p, err, "I", now_ms);
    int due = 0;
    if (rc == 0) {
        due = aw_sql_step(p, err);
        aw_sql_done(p);
    }
    aw_store_rollback(tx);
    if (rc != 0 || due < 0) return rc ? rc : due;
    if (due == 0) return 0;
    rc = aw_store_begin(st, AW_TX_WRITE, &tx, err);
    if (rc != 0) return rc;
    rc = aw_sql_exec(tx, aw_sql_pick(tx, SQL_EXPIRE_SQLITE, SQL_EXPIRE_PG), NULL, err, "Ii", now_ms,
                     st->opts.outbox_max_attempts);
    aw_sql_t *s = NULL;
    if (rc == 0)
        rc = aw_sql_query(tx, aw_sql_pick(tx, SQL_CLAIM_SQLITE, SQL_CLAIM_PG), &s, err, "tIIzi",
                          worker, now_ms + lease_ms, now_ms, max, st->opts.outbox_max_attempts);
    aw_outbox_job_t *list = NULL;
    size_t cnt = 0;
    if (rc == 0) {
        rc = read_jobs(s, &list, &cnt, err);
        aw_sql_done(s);
    }
    if (rc != 0) {
        aw_store_rollback(tx);
        return rc;
    }
    rc = aw_store_commit(tx, err);
    if (rc != 0) {
        aw_outbox_jobs_free(list, cnt);
        return rc;
    }
    if (cnt > 1) qsort(list, cnt, sizeof *list, job_cmp);
    *jobs = list;
    *n = cnt;
    return 0;
}

/* ---- complete, fail ------------------------------------------------------ */

/* Runs fn in a write transaction of its own. */
static int in_write_tx(aw_store_t *st, int (*fn)(aw_tx_t *, void *, aw_err_t *), void *arg,
                       aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_WRITE, &tx, err);
    if (rc != 0) return rc;
    rc = fn(tx, arg, err);
    if (rc != 0) {
        aw_store_rollback(tx);
        return rc;
    }
    return aw_store_commit(tx, err);
}

typedef struct {
    int64_t id;
    const char *msg;
    int64_t now;
    bool dead;
} fail_arg_t;

static int do_complete(aw_tx_t *tx, void *arg, aw_err_t *err) {
    int64_t id = *(int64_t *)arg, changes = 0;
    int rc = aw_sql_exec(tx, "DELETE FROM outbox WHERE id = $1 AND state = 'pending'", &changes,
                         err, "I", id);
    if (rc == 0 && changes == 0)
        rc = aw_err_set(err, AW_ENOTFOUND, "outbox job %lld is not pending", (long long)id);
    return rc;
}

int aw_store_outbox_complete(aw_store_t *st, int64_t id, aw_err_t *err) {
    return in_write_tx(st, do_complete, &id, err);
}

typedef struct {
    const int64_t *ids;
    size_t n, done;
} many_arg_t;

static int do_complete_many(aw_tx_t *tx, void *arg, aw_err_t *err) {
    many_arg_t *a = arg;
    a->done = 0;
    for (size_t i = 0; i < a->n; i++) {
        int64_t changes = 0;
        int rc = aw_sql_exec(tx, "DELETE FROM outbox WHERE id = $1 AND state = 'pending'", &changes,
                             err, "I", a->ids[i]);
        if (rc != 0) return rc;
        a->done += (size_t)changes;
    }
    return 0;
}

int aw_store_outbox_complete_many(aw_store_t *st, const int64_t *ids, size_t n, size_t *done,
                                  aw_err_t *err) {
    if (done) *done = 0;
    if (n > AW_OUTBOX_CLAIM_MAX)
        return aw_err_set(err, AW_EINVAL, "outbox complete: at most %d jobs at once",
                          AW_OUTBOX_CLAIM_MAX);
    if (n == 0) return 0;
    many_arg_t a = {ids, n, 0};
    int rc = in_write_tx(st, do_complete_many, &a, err);
    if (rc == 0 && done) *done = a.done;
    return rc;
}

static int do_fail(aw_tx_t *tx, void *arg, aw_err_t *err) {
    fail_arg_t *a = arg;
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          aw_sql_pick(tx,
                                      "SELECT attempts FROM outbox WHERE id = $1"
                                      " AND state = 'pending'",
                                      "SELECT attempts FROM outbox WHERE id = $1"
                                      " AND state = 'pending' FOR UPDATE"),
                          &s, err, "I", a->id);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    int attempts = rc == 1 ? (int)aw_sql_col_int64(s, 0) : 0;
    aw_sql_done(s);
    if (rc == 0)
        return aw_err_set(err, AW_ENOTFOUND, "outbox job %lld is not pending", (long long)a->id);
    if (rc < 0) return rc;
    if (attempts < 1) attempts = 1;
    char *msg = clean_error(a->msg);
    if (!msg) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    const aw_store_opts_t *o = &tx->st->opts;
    if (attempts >= o->outbox_max_attempts) {
        a->dead = true;
        rc = aw_sql_exec(tx,
                         "UPDATE outbox SET state = 'dead', lease_owner = NULL,"
                         " lease_until = NULL, last_error = $2, updated_at = $3 WHERE id = $1",
                         NULL, err, "ItI", a->id, msg, a->now);
    } else {
        a->dead = false;
        rc = aw_sql_exec(tx,
                         "UPDATE outbox SET due_at = $2, lease_owner = NULL, lease_until = NULL,"
                         " last_error = $3, updated_at = $4 WHERE id = $1",
                         NULL, err, "IItI", a->id, a->now + backoff_ms(o, attempts), msg, a->now);
    }
    free(msg);
    return rc;
}

int aw_store_outbox_fail(aw_store_t *st, int64_t id, const char *error_msg, int64_t now_ms,
                         bool *dead, aw_err_t *err) {
    fail_arg_t a = {id, error_msg, now_ms, false};
    int rc = in_write_tx(st, do_fail, &a, err);
    if (rc == 0 && dead) *dead = a.dead;
    return rc;
}

/* ---- dead letters -------------------------------------------------------- */

int aw_store_outbox_list_dead(aw_store_t *st, size_t offset, size_t limit, aw_outbox_job_t **jobs,
                              size_t *n, aw_err_t *err) {
    *jobs = NULL;
    *n = 0;
    if (limit == 0 || limit > LIST_MAX) limit = LIST_MAX;
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx,
                      "SELECT id, kind, payload, attempts, due_at, created_at, last_error"
                      " FROM outbox WHERE state = 'dead' ORDER BY id LIMIT $1 OFFSET $2",
                      &s, err, "zz", limit, offset);
    if (rc == 0) {
        rc = read_jobs(s, jobs, n, err);
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    return rc;
}

typedef struct {
    int64_t id, now;
} requeue_arg_t;

static int do_requeue(aw_tx_t *tx, void *arg, aw_err_t *err) {
    requeue_arg_t *a = arg;
    int64_t changes = 0;
    int rc = aw_sql_exec(tx,
                         "UPDATE outbox SET state = 'pending', attempts = 0, due_at = $2,"
                         " lease_owner = NULL, lease_until = NULL, updated_at = $2"
                         " WHERE id = $1 AND state = 'dead'",
                         &changes, err, "II", a->id, a->now);
    if (rc == 0 && changes == 0)
        rc =
            aw_err_set(err, AW_ENOTFOUND, "outbox job %lld is not a dead letter", (long long)a->id);
    return rc;
}

int aw_store_outbox_requeue_dead(aw_store_t *st, int64_t id, int64_t now_ms, aw_err_t *err) {
    requeue_arg_t a = {id, now_ms};
    return in_write_tx(st, do_requeue, &a, err);
}
