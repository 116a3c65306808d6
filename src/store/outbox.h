/*
 * outbox — the transactional outbox: work that must happen after a commit
 * (callbacks, signing, mail) is recorded in the same transaction as the data
 * it belongs to, so either both are durable or neither is. Workers claim due
 * jobs, do the work, and report completion or failure.
 *
 * Semantics (the same on SQLite and PostgreSQL):
 *  - enqueue runs inside the caller's transaction; nothing is visible until
 *    that commits, and nothing remains if it does not.
 *  - claim hands a due job to exactly one worker for lease_ms: two workers
 *    never hold the same job at the same time. Each claim counts as an
 *    attempt (job.attempts is 1 on the first try). A worker that dies loses
 *    its lease; after lease_ms the job is claimable again. If that was the
 *    last allowed attempt, the job becomes a dead letter instead.
 *  - complete deletes the job. fail records the error and, below
 *    max_attempts, makes the job due again after an exponential backoff with
 *    jitter: d = min(cap, base * 2^(attempts-1)), due in [d/2, d]; at
 *    max_attempts it becomes a dead letter.
 *  - Dead letters stay until an operator requeues them (attempts reset).
 * Delivery is at-least-once: a job's effect must be idempotent, or the
 * lease longer than the job can take.
 */
#ifndef AW_STORE_OUTBOX_H
#define AW_STORE_OUTBOX_H

#include "store/store.h"

#define AW_OUTBOX_KIND_MAX    64         /* bytes of kind */
#define AW_OUTBOX_PAYLOAD_MAX (1u << 20) /* bytes of payload */
#define AW_OUTBOX_CLAIM_MAX   1000       /* jobs per claim */

/* A job as claimed or listed; strings are owned by it. */
typedef struct aw_outbox_job {
    int64_t id;
    char *kind;    /* "callback.deliver", ... */
    char *payload; /* JSON text as enqueued */
    int attempts;  /* claims so far (including the current one) */
    int64_t due_at_ms;
    int64_t created_at_ms;
    char *last_error; /* NULL when it never failed */
} aw_outbox_job_t;

/* Frees the strings of n jobs and the array itself. */
void aw_outbox_jobs_free(aw_outbox_job_t *jobs, size_t n);

/* Records a job in tx, due at due_at_ms (epoch ms; <= now: at once).
 * kind: 1..64 bytes; payload_json: text up to 1 MiB. id may be NULL. */
int aw_store_outbox_enqueue(aw_tx_t *tx, const char *kind, const char *payload_json,
                            int64_t due_at_ms, int64_t *id, aw_err_t *err);

/* Claims up to max (1..1000) jobs due at now_ms for worker (a name for
 * diagnostics) in a transaction of its own. *jobs is malloc'ed (or NULL
 * when *n == 0), ordered by due time. */
int aw_store_outbox_claim(aw_store_t *st, const char *worker, int64_t now_ms, size_t max,
                          int64_t lease_ms, aw_outbox_job_t **jobs, size_t *n, aw_err_t *err);
/* Removes a finished job. AW_ENOTFOUND when it is not pending. */
int aw_store_outbox_complete(aw_store_t *st, int64_t id, aw_err_t *err);
/* Removes n (0..1000) finished jobs in one transaction: one commit for a
 * batch instead of one per job. Ids that are not pending are skipped (a
 * lease that expired meanwhile); done (may be NULL) gets how many were
 * removed. */
int aw_store_outbox_complete_many(aw_store_t *st, const int64_t *ids, size_t n, size_t *done,
                                  aw_err_t *err);
/* Records a failure (error_msg, cut at 1000 bytes; never put secrets or
 * personal data in it) and schedules a retry or dead-letters the job.
 * dead (may be NULL) tells which. AW_ENOTFOUND when it is not pending. */
int aw_store_outbox_fail(aw_store_t *st, int64_t id, const char *error_msg, int64_t now_ms,
                         bool *dead, aw_err_t *err);
/* Dead letters, oldest first; *jobs is malloc'ed (or NULL when *n == 0). */
int aw_store_outbox_list_dead(aw_store_t *st, size_t offset, size_t limit, aw_outbox_job_t **jobs,
                              size_t *n, aw_err_t *err);
/* Makes a dead letter pending again, due now, attempts 0. AW_ENOTFOUND. */
int aw_store_outbox_requeue_dead(aw_store_t *st, int64_t id, int64_t now_ms, aw_err_t *err);

#endif
