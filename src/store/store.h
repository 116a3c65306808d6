/*
 * store — the one storage interface of amtsweg, with two engines behind it:
 * SQLite (embedded default, one file, WAL) and PostgreSQL (several stateless
 * amtsweg nodes share one database).
 *
 * What it promises:
 *  - Durability: when aw_store_commit returns 0 the transaction is on stable
 *    storage (SQLite: WAL, group-committed fdatasync; PostgreSQL: its commit).
 *    A 2xx reply may be sent only after that.
 *  - Atomicity: a transaction that is not committed (rolled back, process
 *    crashed, connection lost) leaves nothing behind.
 *  - Thread safety: one aw_store_t is shared by all threads. Each
 *    transaction borrows a connection from an internal pool and returns it
 *    at commit/rollback; an aw_tx_t belongs to one thread at a time.
 *  - Prepared statements only, cached per connection (see store/sql.h).
 *  - The same observable behaviour on both engines; the test suite runs the
 *    same bodies against both.
 *
 * Engines sit behind a table of function pointers (store/engine.h); callers
 * never see which one is in use except through aw_store_engine_name().
 * Domain operations (tenants, settings, outbox here; submissions, events,
 * catalogue later) take an aw_tx_t * so the caller decides what commits
 * together. docs/store.md describes how to add one.
 *
 * After any failed operation inside a transaction the transaction is doomed
 * (PostgreSQL semantics, enforced on SQLite too): roll it back.
 */
#ifndef AW_STORE_STORE_H
#define AW_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/uuid.h"

typedef struct aw_store aw_store_t;
typedef struct aw_tx aw_tx_t;

typedef struct aw_store_opts {
    int pool_size;       /* max open connections; 0: 8 */
    int busy_timeout_ms; /* wait for a lock or a free connection; 0: 5000 */
    /* Outbox retry policy (see store/outbox.h). 0 selects the default. */
    int outbox_max_attempts;        /* dead-letter after this many; 0: 10 */
    int64_t outbox_backoff_base_ms; /* delay after the first failure; 0: 1000 */
    int64_t outbox_backoff_cap_ms;  /* upper bound of a delay; 0: 3600000 */
    /* SQLite: WAL pages between background checkpoints; a RESTART past 3x,
     * writers wait past 4x (see sqlite.c). 0: 4000 (16 MB) */
    int wal_checkpoint_pages;
} aw_store_opts_t;

/* Opens a store. url: a plain path or "sqlite:PATH" → SQLite (the file is
 * created when missing; its directory must exist and be writable);
 * "postgres://..." or "postgresql://..." → PostgreSQL (a libpq URI).
 * opts may be NULL. Does not migrate: call aw_store_migrate next.
 * Errors: AW_EIO naming the path or server, AW_EINVAL for a bad url. */
int aw_store_open(const char *url, const aw_store_opts_t *opts, aw_store_t **out, aw_err_t *err);
/* Closes every pooled connection. All transactions must be finished. */
void aw_store_close(aw_store_t *st);
/* "sqlite" or "postgres". */
const char *aw_store_engine_name(const aw_store_t *st);

/* Applies the embedded migrations the database lacks, one transaction each,
 * in version order; a no-op when up to date. applied (may be NULL) gets the
 * number applied. A database newer than this binary → AW_EVERSION. Safe to
 * run from several processes at once. */
int aw_store_migrate(aw_store_t *st, int *applied, aw_err_t *err);
/* Version of the database (0 when empty) and the newest this binary knows. */
int aw_store_schema_version(aw_store_t *st, int *db_version, int *known, aw_err_t *err);

/* ---- transactions -------------------------------------------------------- */

enum {
    AW_TX_READ = 1,  /* snapshot reads; writing is an error */
    AW_TX_WRITE = 2, /* SQLite: BEGIN IMMEDIATE (the write lock is taken now) */
    /* or'ed to AW_TX_WRITE: a transaction expected to run long (imports).
     * SQLite: it never joins a write batch, and a batch left open for it is
     * committed before it starts, so short transactions that ended before
     * it do not wait for its end. PostgreSQL: no difference. */
    AW_TX_BULK = 4,
};

/* Starts a transaction on a pooled connection. Waits up to busy_timeout_ms
 * for a connection or the write lock, then AW_EBUSY. */
int aw_store_begin(aw_store_t *st, int mode, aw_tx_t **tx, aw_err_t *err);
/* Commits and frees tx (also on failure, which rolls back). 0 means durable. */
int aw_store_commit(aw_tx_t *tx, aw_err_t *err);
/* Rolls back and frees tx. NULL is a no-op. */
void aw_store_rollback(aw_tx_t *tx);

/* ---- health and metrics ------------------------------------------------- */

/* A cheap round trip to the database (for GET /ready). */
int aw_store_ping(aw_store_t *st, aw_err_t *err);

typedef struct aw_store_stats {
    int64_t outbox_pending; /* jobs waiting or in progress */
    int64_t outbox_dead;    /* dead letters */
    int pool_open;          /* connections open */
    int pool_in_use;        /* connections lent to transactions */
    /* SQLite: write transactions committed, and the SQLite commits they
     * took (several per commit when batched); both 0 on PostgreSQL */
    int64_t write_txs, write_commits;
    int write_waiting; /* threads waiting for the write lock now (SQLite) */
} aw_store_stats_t;

int aw_store_stats(aw_store_t *st, aw_store_stats_t *out, aw_err_t *err);

/* ---- tenants ------------------------------------------------------------- */

/* A municipality or other body using a shared service with its own
 * settings. Strings are owned by the record; free with aw_tenant_clear. */
typedef struct aw_tenant {
    char id[AW_UUID_STRLEN + 1]; /* UUIDv4 */
    char *slug;                  /* [a-z0-9-]{1,63}, unique, used in URLs */
    char *name;                  /* display name, 1..256 bytes */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} aw_tenant_t;

void aw_tenant_clear(aw_tenant_t *t);
void aw_tenant_list_free(aw_tenant_t *list, size_t n);

/* Inserts (id empty: a new UUID is written into t->id) or updates the
 * tenant with t->id. Sets the timestamps in t. A slug in use by another
 * tenant → AW_ECONFLICT; a bad slug or name → AW_EINVAL. */
int aw_store_tenant_put(aw_tx_t *tx, aw_tenant_t *t, aw_err_t *err);
/* Fills out (caller clears it) or AW_ENOTFOUND. */
int aw_store_tenant_get(aw_tx_t *tx, const char *id, aw_tenant_t *out, aw_err_t *err);
int aw_store_tenant_get_by_slug(aw_tx_t *tx, const char *slug, aw_tenant_t *out, aw_err_t *err);
/* Tenants ordered by slug; *out is malloc'ed (aw_tenant_list_free). */
int aw_store_tenant_list(aw_tx_t *tx, size_t offset, size_t limit, aw_tenant_t **out, size_t *n,
                         aw_err_t *err);
/* Deletes the tenant and its settings (scope "tenant:<id>"); AW_ENOTFOUND. */
int aw_store_tenant_delete(aw_tx_t *tx, const char *id, aw_err_t *err);

/* ---- settings ------------------------------------------------------------ */

/* Key/value settings in a scope: "global" or "tenant:<uuid>" (others are
 * allowed). Values are text (JSON where structure is needed), up to 64 KiB. */
typedef struct aw_setting {
    char *scope, *key, *value;
    int64_t updated_at_ms;
} aw_setting_t;

void aw_setting_list_free(aw_setting_t *list, size_t n);

/* *value is malloc'ed (caller frees) or AW_ENOTFOUND. */
int aw_store_setting_get(aw_tx_t *tx, const char *scope, const char *key, char **value,
                         aw_err_t *err);
int aw_store_setting_put(aw_tx_t *tx, const char *scope, const char *key, const char *value,
                         aw_err_t *err);
int aw_store_setting_delete(aw_tx_t *tx, const char *scope, const char *key, aw_err_t *err);
/* All settings of a scope ordered by key; *out is malloc'ed. */
int aw_store_setting_list(aw_tx_t *tx, const char *scope, aw_setting_t **out, size_t *n,
                          aw_err_t *err);

#endif
