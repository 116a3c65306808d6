/*
 * worker — a generic outbox worker: one thread that claims due jobs
 * (store/outbox.h), hands each to the handler registered for its kind,
 * completes it on success or fails it (the store applies exponential
 * backoff with jitter and dead-letters after the last attempt), and runs
 * periodic tasks (deadlines). Knows nothing about delivery; any module can
 * register kinds.
 *
 * Jobs are delivered at least once (see outbox.h): handlers must be
 * idempotent. A job of an unknown kind is failed (and so dead-lettered in
 * the end) rather than silently dropped.
 */
#ifndef AW_DELIVERY_WORKER_H
#define AW_DELIVERY_WORKER_H

#include <stdint.h>

#include "base/err.h"
#include "store/outbox.h"

typedef struct aw_worker aw_worker_t;

/* Handles one job. Returns 0 (done) or an error with a message for the
 * operator (no personal data) in err. */
typedef int (*aw_worker_job_fn)(void *ctx, const aw_outbox_job_t *job, aw_err_t *err);
/* A periodic task run on the worker thread with the current time. */
typedef void (*aw_worker_tick_fn)(void *ctx, int64_t now_ms);

int aw_worker_new(aw_store_t *store, const char *name, unsigned poll_ms, int64_t lease_ms,
                  aw_worker_t **out, aw_err_t *err);
/* Registration happens before aw_worker_start. At most 16 kinds, 4 ticks. */
int aw_worker_handle(aw_worker_t *w, const char *kind, aw_worker_job_fn fn, void *ctx,
                     aw_err_t *err);
int aw_worker_every(aw_worker_t *w, int64_t interval_ms, aw_worker_tick_fn fn, void *ctx,
                    aw_err_t *err);
int aw_worker_start(aw_worker_t *w, aw_err_t *err);
/* Wakes the thread now (after enqueueing a job that should run at once). */
void aw_worker_kick(aw_worker_t *w);
/* Claims and runs the jobs due at now_ms once (tests drive this without a
 * thread). Returns the number of jobs handled, or a negative error. */
int aw_worker_run_once(aw_worker_t *w, int64_t now_ms, aw_err_t *err);
/* Stops the thread (waits for the job in hand) and frees. NULL is a no-op. */
void aw_worker_free(aw_worker_t *w);

#endif
