/*
 * store.c — engine selection, the connection pool, transactions, migrations
 * and the engine-neutral statement calls of sql.h.
 */
#include "store/engine.h"
#include "store/outbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/embed.h"
#include "base/log.h"
#include "base/time.h"

/* ---- open / close -------------------------------------------------------- */

static void opts_defaults(aw_store_opts_t *o) {
    if (o->pool_size <= 0) o->pool_size = 8;
    if (o->busy_timeout_ms <= 0) o->busy_timeout_ms = 5000;
    if (o->wal_checkpoint_pages <= 0) o->wal_checkpoint_pages = 4000;
    if (o->outbox_max_attempts <= 0) o->outbox_max_attempts = 10;
    if (o->outbox_backoff_base_ms <= 0) o->outbox_backoff_base_ms = 1000;
    if (o->outbox_backoff_cap_ms <= 0) o->outbox_backoff_cap_ms = 3600000;
    if (o->outbox_backoff_cap_ms < o->outbox_backoff_base_ms)
        o->outbox_backoff_cap_ms = o->outbox_backoff_base_ms;
}

static void release_conn(aw_store_t *st, aw_conn_t *c);

int aw_store_open(const char *url, const aw_store_opts_t *opts, aw_store_t **out, aw_err_t *err) {
    *out = NULL;
    if (!url || !*url) return aw_err_set(err, AW_EINVAL, "store: empty database url");
    const aw_store_engine_t *eng = &aw_store_engine_sqlite;
    const char *target = url;
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        eng = &aw_store_engine_postgres;
    } else if (strncmp(url, "sqlite:", 7) == 0) {
        target = url + 7;
        if (strncmp(target, "//", 2) == 0) target += 2; /* sqlite:///abs/path */
        if (!*target) return aw_err_set(err, AW_EINVAL, "store: '%s' names no file", url);
    } else if (strstr(url, "://")) {
        return aw_err_set(err, AW_EINVAL,
                          "store: unsupported database url '%.100s' (use a file path, "
                          "sqlite:PATH or postgres://...)",
                          url);
    }
    aw_store_t *st = calloc(1, sizeof *st);
    if (!st) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    if (opts) st->opts = *opts;
    opts_defaults(&st->opts);
    st->eng = eng;
    st->idle = calloc((size_t)st->opts.pool_size, sizeof *st->idle);
    if (!st->idle) {
        free(st);
        return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    }
    pthread_mutex_init(&st->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = eng->open(st, target, err);
    if (rc == 0) {
        /* One connection now, so a wrong path or server fails at open. */
        aw_conn_t *c = NULL;
        rc = eng->conn_open(st, &c, err);
        if (rc == 0) {
            st->n_open = 1;
            release_conn(st, c);
        } else {
            eng->close(st);
        }
    }
    if (rc != 0) {
        pthread_cond_destroy(&st->cv);
        pthread_mutex_destroy(&st->mu);
        free(st->idle);
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void aw_store_close(aw_store_t *st) {
    if (!st) return;
    pthread_mutex_lock(&st->mu);
    for (int i = 0; i < st->n_idle; i++) st->eng->conn_close(st->idle[i]);
    if (st->n_open != st->n_idle)
        aw_log_error("store.close", "in_use=%d (transactions still open)", st->n_open - st->n_idle);
    st->n_idle = 0;
    st->n_open = 0;
    pthread_mutex_unlock(&st->mu);
    st->eng->close(st);
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
    free(st->idle);
    free(st);
}

const char *aw_store_engine_name(const aw_store_t *st) {
    return st->eng->name;
}

/* ---- pool and transactions ---------------------------------------------- */

static void release_conn(aw_store_t *st, aw_conn_t *c) {
    bool ok = st->eng->conn_ok(c);
    pthread_mutex_lock(&st->mu);
    if (ok && st->n_idle < st->opts.pool_size) {
        st->idle[st->n_idle++] = c;
        c = NULL;
    } else {
        st->n_open--;
    }
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
    if (c) st->eng->conn_close(c);
}

static int acquire_conn(aw_store_t *st, aw_conn_t **out, aw_err_t *err) {
    struct timespec deadline = aw_time_deadline(CLOCK_MONOTONIC, st->opts.busy_timeout_ms);
    pthread_mutex_lock(&st->mu);
    for (;;) {
        if (st->n_idle > 0) {
            aw_conn_t *c = st->idle[--st->n_idle];
            pthread_mutex_unlock(&st->mu);
            if (st->eng->conn_ok(c)) {
                *out = c;
                return 0;
            }
            /* broken (server restarted): replace it */
            st->eng->conn_close(c);
            pthread_mutex_lock(&st->mu);
            st->n_open--;
            continue;
        }
        if (st->n_open < st->opts.pool_size) {
            st->n_open++;
            pthread_mutex_unlock(&st->mu);
            int rc = st->eng->conn_open(st, out, err);
            if (rc != 0) {
                pthread_mutex_lock(&st->mu);
                st->n_open--;
                pthread_cond_signal(&st->cv);
                pthread_mutex_unlock(&st->mu);
            }
            return rc;
        }
        if (pthread_cond_timedwait(&st->cv, &st->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&st->mu);
            return aw_err_set(err, AW_EBUSY,
                              "store: all %d database connections busy for %d ms; retry later",
                              st->opts.pool_size, st->opts.busy_timeout_ms);
        }
    }
}

int aw_store_begin(aw_store_t *st, int mode, aw_tx_t **out, aw_err_t *err) {
    *out = NULL;
    if (mode != AW_TX_READ && mode != AW_TX_WRITE && mode != (AW_TX_WRITE | AW_TX_BULK))
        return aw_err_set(err, AW_EINVAL,
                          "store: transaction mode must be AW_TX_READ, WRITE or WRITE | BULK");
    aw_tx_t *tx = calloc(1, sizeof *tx);
    if (!tx) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    int rc = acquire_conn(st, &tx->conn, err);
    if (rc != 0) {
        free(tx);
        return rc;
    }
    tx->st = st;
    tx->mode = mode & ~AW_TX_BULK;
    rc = st->eng->begin(tx->conn, mode, err);
    if (rc != 0 && !st->eng->conn_ok(tx->conn)) {
        /* The connection died while idle (server restart, idle timeout);
         * nothing happened in this transaction yet, so one retry on a fresh
         * connection is safe. */
        release_conn(st, tx->conn);
        tx->conn = NULL;
        rc = acquire_conn(st, &tx->conn, err);
        if (rc != 0) {
            free(tx);
            return rc;
        }
        rc = st->eng->begin(tx->conn, mode, err);
    }
    if (rc != 0) {
        release_conn(st, tx->conn);
        free(tx);
        return rc;
    }
    *out = tx;
    return 0;
}

int aw_store_commit(aw_tx_t *tx, aw_err_t *err) {
    if (!tx) return aw_err_set(err, AW_EINVAL, "store: commit without a transaction");
    aw_store_t *st = tx->st;
    int rc;
    if (tx->failed) {
        st->eng->rollback(tx->conn);
        rc = aw_err_set(err, AW_ESTATE,
                        "store: transaction rolled back because a statement in it failed");
    } else {
        rc = st->eng->commit(tx->conn, err);
    }
    release_conn(st, tx->conn);
    free(tx);
    return rc;
}

void aw_store_rollback(aw_tx_t *tx) {
    if (!tx) return;
    tx->st->eng->rollback(tx->conn);
    release_conn(tx->st, tx->conn);
    free(tx);
}

/* ---- statements (sql.h) -------------------------------------------------- */

aw_sql_dialect_t aw_sql_dialect(const aw_tx_t *tx) {
    return tx->st->eng->dialect;
}

const char *aw_sql_pick(const aw_tx_t *tx, const char *sqlite_sql, const char *pg_sql) {
    return tx->st->eng->dialect == AW_SQL_POSTGRES ? pg_sql : sqlite_sql;
}

int aw_sql_prepare(aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err) {
    *out = NULL;
    if (tx->failed)
        return aw_err_set(err, AW_ESTATE, "store: transaction already failed; roll it back");
    int rc = tx->st->eng->prepare(tx->conn, tx, sql, out, err);
    if (rc != 0) tx->failed = true;
    return rc;
}

void aw_sql_bind_text(aw_sql_t *s, int i, const char *v) {
    s->eng->bind_text(s, i, v);
}
void aw_sql_bind_int64(aw_sql_t *s, int i, int64_t v) {
    s->eng->bind_int64(s, i, v);
}
void aw_sql_bind_null(aw_sql_t *s, int i) {
    s->eng->bind_null(s, i);
}
void aw_sql_bind_blob(aw_sql_t *s, int i, const void *v, size_t n) {
    s->eng->bind_blob(s, i, v, n);
}
void aw_sql_borrow(aw_sql_t *s) {
    s->borrow = true;
}
int aw_sql_step(aw_sql_t *s, aw_err_t *err) {
    int rc = s->eng->step(s, err);
    if (rc < 0) s->tx->failed = true;
    return rc;
}
bool aw_sql_col_null(aw_sql_t *s, int col) {
    return s->eng->col_null(s, col);
}
const char *aw_sql_col_text(aw_sql_t *s, int col) {
    return s->eng->col_text(s, col);
}
int64_t aw_sql_col_int64(aw_sql_t *s, int col) {
    return s->eng->col_int64(s, col);
}
const void *aw_sql_col_blob(aw_sql_t *s, int col, size_t *n) {
    return s->eng->col_blob(s, col, n);
}
int64_t aw_sql_changes(aw_sql_t *s) {
    return s->eng->changes(s);
}
void aw_sql_done(aw_sql_t *s) {
    if (s) s->eng->done(s);
}

char *aw_sql_col_strdup(aw_sql_t *s, int col, bool *oom) {
    const char *v = aw_sql_col_text(s, col);
    if (!v) return NULL;
    char *d = strdup(v);
    if (!d && oom) *oom = true;
    return d;
}

static void bind_va(aw_sql_t *s, const char *binds, va_list ap) {
    int i = 1;
    for (const char *b = binds; b && *b; b++, i++) {
        switch (*b) {
        case 't':
            aw_sql_bind_text(s, i, va_arg(ap, const char *));
            break;
        case 'i':
            aw_sql_bind_int64(s, i, (int64_t)va_arg(ap, int));
            break;
        case 'I':
            aw_sql_bind_int64(s, i, va_arg(ap, int64_t));
            break;
        case 'z':
            aw_sql_bind_int64(s, i, (int64_t)va_arg(ap, size_t));
            break;
        default:
            abort(); /* a programming error in a constant format */
        }
    }
}

int aw_sql_query(aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err, const char *binds,
                 ...) {
    int rc = aw_sql_prepare(tx, sql, out, err);
    if (rc != 0) return rc;
    va_list ap;
    va_start(ap, binds);
    bind_va(*out, binds, ap);
    va_end(ap);
    return 0;
}

int aw_sql_exec(aw_tx_t *tx, const char *sql, int64_t *changes, aw_err_t *err, const char *binds,
                ...) {
    aw_sql_t *s;
    int rc = aw_sql_prepare(tx, sql, &s, err);
    if (rc != 0) return rc;
    aw_sql_borrow(s); /* the arguments outlive the statement's use */
    va_list ap;
    va_start(ap, binds);
    bind_va(s, binds, ap);
    va_end(ap);
    while ((rc = aw_sql_step(s, err)) == 1) {
    }
    if (rc == 0 && changes) *changes = aw_sql_changes(s);
    aw_sql_done(s);
    return rc;
}

char *aw_sql_dollar_to_qmark(const char *sql) {
    size_t n = strlen(sql);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    char quote = 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        char c = sql[i];
        if (quote) {
            if (c == quote) quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
            quote = '\n'; /* a comment runs to the end of the line */
        } else if (c == '$' && i + 1 < n && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            c = '?';
        }
        out[j++] = c;
    }
    out[j] = '\0';
    return out;
}

/* ---- migrations ---------------------------------------------------------- */

typedef struct {
    int version;
    const char *name; /* file name without directory */
    const char *sql;
} migration_t;

#define MAX_MIGRATIONS 512

/* The embedded migrations of this engine, in version order. */
static int list_migrations(const aw_store_t *st, migration_t *out, int *n, aw_err_t *err) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "src/store/migrations/%s/", st->eng->name);
    size_t plen = strlen(prefix);
    *n = 0;
    for (const aw_embedded_t *e = aw_embedded_list(); e->name; e++) {
        if (strncmp(e->name, prefix, plen) != 0) continue;
        const char *file = e->name + plen;
        char *end;
        long v = strtol(file, &end, 10);
        if (end == file || *end != '_' || v <= 0 || v > 9999)
            return aw_err_set(err, AW_EINTERNAL, "store: migration %s is not named NNNN_name.sql",
                              e->name);
        if (*n > 0 && out[*n - 1].version >= v)
            return aw_err_set(err, AW_EINTERNAL, "store: migration %s repeats version %ld", e->name,
                              v);
        if (*n == MAX_MIGRATIONS)
            return aw_err_set(err, AW_EINTERNAL, "store: too many migrations");
        out[*n].version = (int)v;
        out[*n].name = file;
        out[*n].sql = (const char *)e->data;
        (*n)++;
    }
    return 0;
}

static const char SQL_VERSION_TABLE[] = "CREATE TABLE IF NOT EXISTS schema_version ("
                                        " version INTEGER PRIMARY KEY,"
                                        " name TEXT NOT NULL,"
                                        " applied_at BIGINT NOT NULL)";

/* Serialises migrating processes. SQLite's BEGIN IMMEDIATE already does. */
static int migration_lock(aw_tx_t *tx, aw_err_t *err) {
    if (aw_sql_dialect(tx) != AW_SQL_POSTGRES) return 0;
    aw_sql_t *s;
    int rc =
        aw_sql_query(tx, "SELECT 1 FROM (SELECT pg_advisory_xact_lock(7165377)) AS l", &s, err, "");
    if (rc != 0) return rc;
    while ((rc = aw_sql_step(s, err)) == 1) {
    }
    aw_sql_done(s);
    return rc;
}

static int read_db_version(aw_tx_t *tx, int *version, aw_err_t *err) {
    *version = 0;
    aw_sql_t *s;
    int rc = aw_sql_query(
        tx,
        aw_sql_pick(tx,
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'schema_version'",
                    "SELECT count(*) FROM information_schema.tables"
                    " WHERE table_schema = current_schema() AND table_name = 'schema_version'"),
        &s, err, "");
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    int64_t exists = rc == 1 ? aw_sql_col_int64(s, 0) : 0;
    aw_sql_done(s);
    if (rc < 0) return rc;
    if (!exists) return 0;
    rc = aw_sql_query(tx, "SELECT COALESCE(MAX(version), 0) FROM schema_version", &s, err, "");
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) *version = (int)aw_sql_col_int64(s, 0);
    aw_sql_done(s);
    return rc < 0 ? rc : 0;
}

static int too_new(int have, int known, aw_err_t *err) {
    return aw_err_set(err, AW_EVERSION,
                      "database schema version %d is newer than this amtsweg (knows %d); "
                      "upgrade amtsweg",
                      have, known);
}

/* *yes: schema_version records version. */
static int version_applied(aw_tx_t *tx, int version, bool *yes, aw_err_t *err) {
    aw_sql_t *s;
    *yes = false;
    int rc =
        aw_sql_query(tx, "SELECT 1 FROM schema_version WHERE version = $1", &s, err, "i", version);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    *yes = rc == 1;
    aw_sql_done(s);
    return rc < 0 ? rc : 0;
}

/* A version recorded in the database that this binary has no file for
 * (a newer amtsweg added it between two of ours): AW_EVERSION. */
static int unknown_versions(aw_tx_t *tx, const migration_t *ms, int n, aw_err_t *err) {
    aw_sql_t *s;
    int rc = aw_sql_query(tx, "SELECT version FROM schema_version ORDER BY version", &s, err, "");
    if (rc != 0) return rc;
    int unknown = 0;
    while ((rc = aw_sql_step(s, err)) == 1) {
        int v = (int)aw_sql_col_int64(s, 0), i = 0;
        while (i < n && ms[i].version != v) i++;
        if (i == n && !unknown) unknown = v;
    }
    aw_sql_done(s);
    if (rc < 0) return rc;
    if (!unknown) return 0;
    return aw_err_set(err, AW_EVERSION,
                      "database has schema migration %d, which this amtsweg does not know "
                      "(a newer amtsweg applied it); upgrade amtsweg",
                      unknown);
}

int aw_store_schema_version(aw_store_t *st, int *db_version, int *known, aw_err_t *err) {
    migration_t *ms = calloc(MAX_MIGRATIONS, sizeof *ms);
    if (!ms) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    int n = 0, rc = list_migrations(st, ms, &n, err);
    if (known) *known = n > 0 ? ms[n - 1].version : 0;
    free(ms);
    if (rc != 0) return rc;
    aw_tx_t *tx;
    rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    if (rc != 0) return rc;
    int v = 0;
    rc = read_db_version(tx, &v, err);
    aw_store_rollback(tx);
    if (rc == 0 && db_version) *db_version = v;
    return rc;
}

int aw_store_migrate(aw_store_t *st, int *applied, aw_err_t *err) {
    if (applied) *applied = 0;
    migration_t *ms = calloc(MAX_MIGRATIONS, sizeof *ms);
    if (!ms) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    int n = 0, rc = list_migrations(st, ms, &n, err);
    int known = n > 0 ? ms[n - 1].version : 0;
    aw_tx_t *tx = NULL;
    /* The version table itself, under the same lock as the migrations. */
    if (rc == 0) rc = aw_store_begin(st, AW_TX_WRITE, &tx, err);
    if (rc == 0) rc = migration_lock(tx, err);
    if (rc == 0) rc = st->eng->exec_script(tx->conn, SQL_VERSION_TABLE, err);
    int have = 0;
    if (rc == 0) rc = read_db_version(tx, &have, err);
    if (rc == 0 && have > known) rc = too_new(have, known, err);
    if (rc == 0) rc = unknown_versions(tx, ms, n, err);
    if (rc == 0) {
        rc = aw_store_commit(tx, err);
        tx = NULL;
    }
    /* Every file whose version is not recorded, in version order: modules
     * own version ranges (0100 delivery, 0200 catalogue), so a database can
     * be at 0200 and still miss a later delivery migration 0102. */
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = aw_store_begin(st, AW_TX_WRITE, &tx, err);
        if (rc != 0) break;
        bool done = false;
        rc = migration_lock(tx, err);
        if (rc == 0) rc = read_db_version(tx, &have, err);
        if (rc == 0 && have > known) rc = too_new(have, known, err);
        if (rc == 0 && have > 0) rc = version_applied(tx, ms[i].version, &done, err);
        if (rc == 0 && done) {
            aw_store_rollback(tx); /* applied before, or by another process just now */
            tx = NULL;
            continue;
        }
        if (rc == 0) {
            rc = st->eng->exec_script(tx->conn, ms[i].sql, err);
            if (rc != 0) {
                tx->failed = true;
                aw_err_prefix(err, "store: migration %s/%s", st->eng->name, ms[i].name);
            }
        }
        if (rc == 0)
            rc = aw_sql_exec(tx,
                             "INSERT INTO schema_version (version, name, applied_at)"
                             " VALUES ($1, $2, $3)",
                             NULL, err, "itI", ms[i].version, ms[i].name, aw_time_now_ms());
        if (rc == 0) {
            rc = aw_store_commit(tx, err);
            tx = NULL;
            if (rc == 0) {
                if (applied) (*applied)++;
                aw_log_info("store.migrate", "engine=%s version=%d name=%s", st->eng->name,
                            ms[i].version, ms[i].name);
            }
        }
    }
    if (tx) aw_store_rollback(tx);
    if (rc == 0) {
        have = 0;
        rc = aw_store_schema_version(st, &have, NULL, err);
        if (rc == 0 && have > known) rc = too_new(have, known, err);
    }
    free(ms);
    if (st->eng->trim) st->eng->trim(st);
    return rc;
}

/* ---- health, metrics ----------------------------------------------------- */

int aw_store_ping(aw_store_t *st, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx, "SELECT 1", &s, err, "");
    if (rc == 0) {
        rc = aw_sql_step(s, err);
        if (rc == 1)
            rc = aw_sql_col_int64(s, 0) == 1 ? 0 : AW_EIO;
        else if (rc == 0)
            rc = aw_err_set(err, AW_EIO, "store: ping returned no row");
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    return rc;
}

int aw_store_stats(aw_store_t *st, aw_store_stats_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx,
                      "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),"
                      " COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0)"
                      " FROM outbox",
                      &s, err, "");
    if (rc == 0) {
        rc = aw_sql_step(s, err);
        if (rc == 1) {
            out->outbox_pending = aw_sql_col_int64(s, 0);
            out->outbox_dead = aw_sql_col_int64(s, 1);
            rc = 0;
        }
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    pthread_mutex_lock(&st->mu);
    out->pool_open = st->n_open;
    out->pool_in_use = st->n_open - st->n_idle;
    pthread_mutex_unlock(&st->mu);
    out->write_txs = out->write_commits = 0;
    out->write_waiting = 0;
    if (st->eng->stats) st->eng->stats(st, out);
    return rc;
}
