/*
 * engine — what a storage engine provides (SQLite's vfs idea): connections,
 * transactions, a script runner for migrations and prepared statements.
 * Everything above this table (pooling, migrations, tenants, settings,
 * outbox, later domain operations) is written once in store.c and friends.
 * Internal to src/store: other modules use store.h, outbox.h and sql.h.
 */
#ifndef AW_STORE_ENGINE_H
#define AW_STORE_ENGINE_H

#include <pthread.h>

#include "store/sql.h"
#include "store/store.h"

typedef struct aw_conn aw_conn_t; /* an engine's connection */

/* Every engine's statement starts with this. */
struct aw_sql {
    const struct aw_store_engine *eng;
    aw_tx_t *tx;
    /* aw_sql_borrow: text and blob values bound from now on stay valid
     * until done, so the engine binds them without a copy; done clears it */
    bool borrow;
};

typedef struct aw_store_engine {
    const char *name;
    aw_sql_dialect_t dialect;
    /* target: the url with any "sqlite:" prefix removed. Sets st->impl. */
    int (*open)(aw_store_t *st, const char *target, aw_err_t *err);
    void (*close)(aw_store_t *st);
    int (*conn_open)(aw_store_t *st, aw_conn_t **out, aw_err_t *err);
    void (*conn_close)(aw_conn_t *c);
    /* false when the connection is broken and must not be reused */
    bool (*conn_ok)(aw_conn_t *c);
    int (*begin)(aw_conn_t *c, int mode, aw_err_t *err);
    int (*commit)(aw_conn_t *c, aw_err_t *err);
    void (*rollback)(aw_conn_t *c);
    /* Runs fixed SQL text with several statements (migrations only). */
    int (*exec_script)(aw_conn_t *c, const char *sql, aw_err_t *err);
    int (*prepare)(aw_conn_t *c, aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err);
    void (*bind_text)(aw_sql_t *s, int i, const char *v);
    void (*bind_int64)(aw_sql_t *s, int i, int64_t v);
    void (*bind_null)(aw_sql_t *s, int i);
    void (*bind_blob)(aw_sql_t *s, int i, const void *v, size_t n);
    int (*step)(aw_sql_t *s, aw_err_t *err);
    bool (*col_null)(aw_sql_t *s, int col);
    const char *(*col_text)(aw_sql_t *s, int col);
    int64_t (*col_int64)(aw_sql_t *s, int col);
    const void *(*col_blob)(aw_sql_t *s, int col, size_t *n);
    int64_t (*changes)(aw_sql_t *s);
    void (*done)(aw_sql_t *s);
    /* optional: engine figures for aw_store_stats */
    void (*stats)(aw_store_t *st, aw_store_stats_t *out);
    /* optional: gives back memory held for writes (after start-up
     * migrations; what load needs is made again on first use) */
    void (*trim)(aw_store_t *st);
} aw_store_engine_t;

extern const aw_store_engine_t aw_store_engine_sqlite;
extern const aw_store_engine_t aw_store_engine_postgres;

struct aw_store {
    const aw_store_engine_t *eng;
    void *impl; /* engine state */
    aw_store_opts_t opts;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    aw_conn_t **idle; /* idle connections, capacity opts.pool_size */
    int n_idle;
    int n_open;
};

struct aw_tx {
    aw_store_t *st;
    aw_conn_t *conn;
    int mode;
    bool failed; /* a statement failed: only rollback is possible */
};

/* Marks tx doomed (engines call this when a statement fails). */
static inline void aw_tx_mark_failed(aw_tx_t *tx) {
    if (tx) tx->failed = true;
}

/* Rewrites $N parameters to ?N outside quotes (for SQLite); malloc'ed. */
char *aw_sql_dollar_to_qmark(const char *sql);

#endif
