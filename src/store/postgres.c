/*
 * postgres.c — the PostgreSQL engine on libpq.
 *
 * Each pooled connection prepares a statement once (PQprepare, named
 * "aw_<n>") and executes it with PQexecPrepared; values travel as
 * parameters (text format; blobs binary), never inside SQL text. Results
 * come in text format, except for statements that return bytea (attachment
 * chunks): those are asked for in binary (no hex, half the bytes, no
 * unescaping) when every column of theirs has a binary form decoded here
 * (bytea, text types, int2/4/8, bool); PQdescribePrepared tells once.
 * Read transactions are REPEATABLE READ READ ONLY (one snapshot, like
 * SQLite's WAL readers; writing is refused by the server). Write
 * transactions are READ COMMITTED: domain operations are written to be
 * correct under it (ON CONFLICT upserts, FOR UPDATE SKIP LOCKED claims).
 * lock_timeout follows busy_timeout_ms so a blocked lock becomes AW_EBUSY
 * as on SQLite. A connection that lost its server is dropped by the pool.
 */
#include "store/engine.h"

#include "base/dl_pq.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BYTEAOID   17
#define BOOLOID    16
#define INT8OID    20
#define INT2OID    21
#define INT4OID    23
#define TEXTOID    25
#define BPCHAROID  1042
#define VARCHAROID 1043

typedef struct {
    char *conninfo;
    int busy_ms;
} pg_store_t;

typedef struct {
    char *sql;
    char name[24];
    int nparams;
    int result_format; /* 0 text, 1 binary (see the top) */
} pg_prep_t;

typedef struct pg_stmt pg_stmt_t;

struct aw_conn {
    PGconn *pg;
    pg_store_t *ps;
    pg_prep_t **preps; /* pointers: live statements keep them */
    size_t n_preps, cap_preps;
    unsigned next_id;
    pg_stmt_t *live; /* handles lent out in this transaction */
};

struct pg_stmt {
    aw_sql_t base;
    aw_conn_t *c;
    pg_stmt_t *next;
    const pg_prep_t *prep;
    char **vals;
    int *lens, *fmts;
    bool *owned; /* vals[i] is a copy (else borrowed, aw_sql_borrow) */
    int bind_rc;
    bool executed;
    PGresult *res;
    int row, nrows;
    int64_t changes;
    unsigned char *unesc; /* last unescaped bytea */
    char num[24];         /* a binary number read as text */
};

/* ---- errors -------------------------------------------------------------- */

static int map_result(aw_conn_t *c, const PGresult *res, const char *what, aw_err_t *err) {
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg) msg = PQerrorMessage(c->pg);
    if (!msg || !*msg) msg = "unknown error";
    int code = AW_EIO;
    if (state) {
        if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0)
            code = AW_ECONFLICT;
        else if (strncmp(state, "23", 2) == 0)
            code = AW_EINVAL;
        else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
                 strcmp(state, "55P03") == 0)
            code = AW_EBUSY;
        else if (strcmp(state, "57014") == 0)
            code = AW_ETIMEOUT;
        else if (strcmp(state, "25006") == 0)
            code = AW_ESTATE;
        else if (strcmp(state, "53100") == 0)
            code = AW_EIO;
    }
    /* Trim libpq's trailing newline. */
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) n--;
    return aw_err_set(err, code, "store: %s: %.*s%s%s", what, (int)n, msg,
                      state ? " SQLSTATE " : "", state ? state : "");
}

/* ---- store --------------------------------------------------------------- */

static int pg_open(aw_store_t *st, const char *target, aw_err_t *err) {
    /* libpq is loaded only by deployments that use PostgreSQL (base/dl.h). */
    int lrc = aw_dl_pq_load(err);
    if (lrc < 0) {
        aw_err_prefix(err, "store");
        return lrc;
    }
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(target, &errmsg);
    if (!opts) {
        aw_err_set(err, AW_EINVAL, "store: bad PostgreSQL url: %s",
                   errmsg ? errmsg : "out of memory");
        PQfreemem(errmsg);
        return AW_EINVAL;
    }
    PQconninfoFree(opts);
    pg_store_t *ps = calloc(1, sizeof *ps);
    if (!ps || !(ps->conninfo = strdup(target))) {
        free(ps);
        return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    }
    ps->busy_ms = st->opts.busy_timeout_ms;
    st->impl = ps;
    return 0;
}

static void pg_close(aw_store_t *st) {
    pg_store_t *ps = st->impl;
    if (!ps) return;
    free(ps->conninfo);
    free(ps);
    st->impl = NULL;
}

/* ---- connections --------------------------------------------------------- */

static void pg_conn_close(aw_conn_t *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_preps; i++) {
        free(c->preps[i]->sql);
        free(c->preps[i]);
    }
    free(c->preps);
    if (c->pg) PQfinish(c->pg);
    free(c);
}

static int simple_exec(aw_conn_t *c, const char *sql, aw_err_t *err) {
    PGresult *r = PQexec(c->pg, sql);
    int rc = 0;
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) rc = map_result(c, r, sql, err);
    PQclear(r);
    return rc;
}

/* The server named in conninfo, without the password, for messages. */
static void describe_server(PGconn *pg, char *out, size_t n) {
    const char *host = pg ? PQhost(pg) : NULL;
    const char *port = pg ? PQport(pg) : NULL;
    const char *db = pg ? PQdb(pg) : NULL;
    snprintf(out, n, "%s:%s/%s", host && *host ? host : "localhost", port && *port ? port : "5432",
             db ? db : "");
}

static int pg_conn_open(aw_store_t *st, aw_conn_t **out, aw_err_t *err) {
    pg_store_t *ps = st->impl;
    aw_conn_t *c = calloc(1, sizeof *c);
    if (!c) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    c->ps = ps;
    c->pg = PQconnectdb(ps->conninfo);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char where[256];
        describe_server(c->pg, where, sizeof where);
        const char *m = c->pg ? PQerrorMessage(c->pg) : "out of memory";
        size_t n = strlen(m);
        while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == '\r')) n--;
        aw_err_set(err, AW_EIO, "store: cannot connect to PostgreSQL at %s: %.*s", where, (int)n,
                   m);
        pg_conn_close(c);
        return AW_EIO;
    }
    char set[128];
    snprintf(set, sizeof set, "SET lock_timeout = %d", ps->busy_ms);
    int rc = PQsetClientEncoding(c->pg, "UTF8") == 0
                 ? 0
                 : aw_err_set(err, AW_EIO, "store: PostgreSQL: cannot use UTF8");
    if (rc == 0) rc = simple_exec(c, set, err);
    if (rc == 0) rc = simple_exec(c, "SET TIME ZONE 'UTC'", err);
    if (rc != 0) {
        pg_conn_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* Called between transactions: the server must be there and idle. */
static bool pg_conn_ok(aw_conn_t *c) {
    return PQstatus(c->pg) == CONNECTION_OK && PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

static void stmt_free(pg_stmt_t *s) {
    if (!s) return;
    if (s->vals && s->owned) { /* owned is NULL only if nothing was bound */
        for (int i = 0; i < s->prep->nparams; i++)
            if (s->owned[i]) free(s->vals[i]);
    }
    free(s->vals);
    free(s->owned);
    free(s->lens);
    free(s->fmts);
    PQclear(s->res);
    PQfreemem(s->unesc);
    free(s);
}

static void release_stmts(aw_conn_t *c) {
    while (c->live) {
        pg_stmt_t *s = c->live;
        c->live = s->next;
        stmt_free(s);
    }
}

static int pg_begin(aw_conn_t *c, int mode, aw_err_t *err) {
    return simple_exec(
        c, (mode & AW_TX_WRITE) ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

static void pg_rollback(aw_conn_t *c) {
    release_stmts(c);
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    PQclear(r);
}

static int pg_commit(aw_conn_t *c, aw_err_t *err) {
    release_stmts(c);
    PGresult *r = PQexec(c->pg, "COMMIT");
    int rc = 0;
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = map_result(c, r, "commit", err);
    } else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* the server rolled back an aborted transaction */
        rc = aw_err_set(err, AW_ESTATE, "store: commit: the server rolled the transaction back");
    }
    PQclear(r);
    if (rc != 0 && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
    }
    return rc;
}

static int pg_exec_script(aw_conn_t *c, const char *sql, aw_err_t *err) {
    PGresult *r = PQexec(c->pg, sql);
    int rc = 0;
    ExecStatusType stt = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (stt != PGRES_COMMAND_OK && stt != PGRES_TUPLES_OK) rc = map_result(c, r, "script", err);
    PQclear(r);
    return rc;
}

/* ---- statements ---------------------------------------------------------- */

/* Highest $N outside quotes. */
static int count_params(const char *sql) {
    int max = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '-' && p[1] == '-') {
            quote = '\n'; /* a comment runs to the end of the line */
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            int n = (int)strtol(p + 1, NULL, 10);
            if (n > max) max = n;
        }
    }
    return max;
}

/* 1 when statement `name` returns bytea and every column it returns has a
 * binary form the accessors decode (see the top); else 0 (text). */
static int binary_results(aw_conn_t *c, const char *name) {
    PGresult *d = PQdescribePrepared(c->pg, name);
    int fmt = 0;
    if (d && PQresultStatus(d) == PGRES_COMMAND_OK) {
        bool bytea = false, ok = true;
        for (int i = 0; i < PQnfields(d) && ok; i++) {
            switch (PQftype(d, i)) {
            case BYTEAOID:
                bytea = true;
                break;
            case BOOLOID:
            case INT8OID:
            case INT2OID:
            case INT4OID:
            case TEXTOID:
            case BPCHAROID:
            case VARCHAROID:
                break;
            default:
                ok = false;
            }
        }
        fmt = bytea && ok;
    }
    PQclear(d);
    return fmt;
}

static int pg_prepare(aw_conn_t *c, aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err) {
    const pg_prep_t *prep = NULL;
    for (size_t i = 0; i < c->n_preps; i++) {
        if (c->preps[i]->sql == sql || strcmp(c->preps[i]->sql, sql) == 0) {
            prep = c->preps[i];
            break;
        }
    }
    if (!prep) {
        if (c->n_preps == c->cap_preps) {
            size_t nc = c->cap_preps ? c->cap_preps * 2 : 32;
            pg_prep_t **np = realloc(c->preps, nc * sizeof *np);
            if (!np) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
            c->preps = np;
            c->cap_preps = nc;
        }
        pg_prep_t *p = calloc(1, sizeof *p);
        if (!p || !(p->sql = strdup(sql))) {
            free(p);
            return aw_err_set(err, AW_ENOMEM, "store: out of memory");
        }
        snprintf(p->name, sizeof p->name, "aw_%u", c->next_id++);
        p->nparams = count_params(sql);
        PGresult *r = PQprepare(c->pg, p->name, sql, 0, NULL);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
            int rc = map_result(c, r, "prepare", err);
            aw_err_prefix(err, "SQL '%.200s'", sql);
            PQclear(r);
            free(p->sql);
            free(p);
            return rc;
        }
        PQclear(r);
        p->result_format = binary_results(c, p->name);
        c->preps[c->n_preps++] = p;
        prep = p;
    }
    pg_stmt_t *s = calloc(1, sizeof *s);
    if (!s) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    s->base.eng = &aw_store_engine_postgres;
    s->base.tx = tx;
    s->c = c;
    s->prep = prep;
    s->row = -1;
    if (prep->nparams > 0) {
        s->vals = calloc((size_t)prep->nparams, sizeof *s->vals);
        s->lens = calloc((size_t)prep->nparams, sizeof *s->lens);
        s->fmts = calloc((size_t)prep->nparams, sizeof *s->fmts);
        s->owned = calloc((size_t)prep->nparams, sizeof *s->owned);
        if (!s->vals || !s->lens || !s->fmts || !s->owned) {
            /* stmt_free needs prep for the loop; vals is NULL-safe */
            stmt_free(s);
            return aw_err_set(err, AW_ENOMEM, "store: out of memory");
        }
    }
    s->next = c->live;
    c->live = s;
    *out = &s->base;
    return 0;
}

/* borrow: v stays valid until done (a text value is NUL-terminated). */
static void set_param(pg_stmt_t *s, int i, const void *v, size_t n, int fmt, bool null,
                      bool borrow) {
    if (i < 1 || i > s->prep->nparams) {
        if (!s->bind_rc) s->bind_rc = AW_EINVAL;
        return;
    }
    i--;
    if (s->owned[i]) free(s->vals[i]);
    s->owned[i] = false;
    s->vals[i] = NULL;
    s->lens[i] = 0;
    s->fmts[i] = fmt;
    if (null) return;
    if (n > 0x7fffffff) {
        if (!s->bind_rc) s->bind_rc = AW_ETOOBIG;
        return;
    }
    if (borrow) {
        s->vals[i] = (char *)(uintptr_t)v; /* libpq only reads it */
        s->lens[i] = (int)n;
        return;
    }
    char *copy = malloc(n + 1);
    if (!copy) {
        if (!s->bind_rc) s->bind_rc = AW_ENOMEM;
        return;
    }
    if (n) memcpy(copy, v, n);
    copy[n] = '\0';
    s->vals[i] = copy;
    s->owned[i] = true;
    s->lens[i] = (int)n;
}

static void pg_bind_text(aw_sql_t *b, int i, const char *v) {
    set_param((pg_stmt_t *)b, i, v, v ? strlen(v) : 0, 0, v == NULL, b->borrow);
}
static void pg_bind_int64(aw_sql_t *b, int i, int64_t v) {
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    set_param((pg_stmt_t *)b, i, num, (size_t)n, 0, false, false); /* num is ours */
}
static void pg_bind_null(aw_sql_t *b, int i) {
    set_param((pg_stmt_t *)b, i, NULL, 0, 0, true, false);
}
static void pg_bind_blob(aw_sql_t *b, int i, const void *v, size_t n) {
    set_param((pg_stmt_t *)b, i, v, n, 1, false, b->borrow);
}

static int pg_step(aw_sql_t *b, aw_err_t *err) {
    pg_stmt_t *s = (pg_stmt_t *)b;
    if (!s->executed) {
        if (s->bind_rc)
            return aw_err_set(err, s->bind_rc, "store: binding a parameter failed (%s)",
                              aw_err_name(s->bind_rc));
        s->executed = true;
        s->res =
            PQexecPrepared(s->c->pg, s->prep->name, s->prep->nparams, (const char *const *)s->vals,
                           s->lens, s->fmts, s->prep->result_format);
        ExecStatusType stt = s->res ? PQresultStatus(s->res) : PGRES_FATAL_ERROR;
        if (stt == PGRES_TUPLES_OK) {
            s->nrows = PQntuples(s->res);
            s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
        } else if (stt == PGRES_COMMAND_OK) {
            s->nrows = 0;
            s->changes = strtoll(PQcmdTuples(s->res), NULL, 10);
        } else {
            int rc = map_result(s->c, s->res, "statement", err);
            PQclear(s->res);
            s->res = NULL;
            return rc;
        }
    }
    if (s->row + 1 < s->nrows) {
        s->row++;
        return 1;
    }
    s->row = s->nrows;
    return 0;
}

static bool pg_col_null(aw_sql_t *b, int col) {
    pg_stmt_t *s = (pg_stmt_t *)b;
    if (!s->res || s->row < 0 || s->row >= s->nrows) return true;
    return PQgetisnull(s->res, s->row, col);
}
static int64_t binary_int(pg_stmt_t *s, int col);

static const char *pg_col_text(aw_sql_t *b, int col) {
    pg_stmt_t *s = (pg_stmt_t *)b;
    if (pg_col_null(b, col)) return NULL;
    Oid t = PQftype(s->res, col);
    if (PQfformat(s->res, col) == 1 && t != BYTEAOID && t != TEXTOID && t != BPCHAROID &&
        t != VARCHAROID) { /* a binary number, as text */
        snprintf(s->num, sizeof s->num, "%lld", (long long)binary_int(s, col));
        return s->num;
    }
    return PQgetvalue(s->res, s->row, col);
}
static int64_t pg_col_int64(aw_sql_t *b, int col) {
    pg_stmt_t *s = (pg_stmt_t *)b;
    if (pg_col_null(b, col)) return 0;
    if (PQfformat(s->res, col) == 1) return binary_int(s, col);
    return strtoll(PQgetvalue(s->res, s->row, col), NULL, 10);
}
/* A column of a binary result as a number. */
static int64_t binary_int(pg_stmt_t *s, int col) {
    const char *v = PQgetvalue(s->res, s->row, col);
    const unsigned char *u = (const unsigned char *)v;
    int n = PQgetlength(s->res, s->row, col);
    switch (PQftype(s->res, col)) { /* binary: big-endian two's complement */
    case INT8OID:
    case INT4OID:
    case INT2OID: {
        uint64_t x = (n > 0 && (u[0] & 0x80)) ? UINT64_MAX : 0;
        for (int i = 0; i < n; i++) x = (x << 8) | u[i];
        return (int64_t)x;
    }
    case BOOLOID:
        return n > 0 && u[0] != 0;
    default: /* text types: the characters */
        return strtoll(v, NULL, 10);
    }
}
static const void *pg_col_blob(aw_sql_t *b, int col, size_t *n) {
    pg_stmt_t *s = (pg_stmt_t *)b;
    *n = 0;
    const char *v = pg_col_text(b, col);
    if (!v) return NULL;
    if (PQftype(s->res, col) != BYTEAOID) {
        *n = (size_t)PQgetlength(s->res, s->row, col);
        return v;
    }
    if (PQfformat(s->res, col) == 1) { /* the bytes as they are */
        *n = (size_t)PQgetlength(s->res, s->row, col);
        return v;
    }
    PQfreemem(s->unesc);
    s->unesc = PQunescapeBytea((const unsigned char *)v, n);
    return s->unesc;
}
static int64_t pg_changes(aw_sql_t *b) {
    return ((pg_stmt_t *)b)->changes;
}

static void pg_done(aw_sql_t *b) {
    pg_stmt_t *s = (pg_stmt_t *)b;
    aw_conn_t *c = s->c;
    for (pg_stmt_t **pp = &c->live; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    stmt_free(s);
}

const aw_store_engine_t aw_store_engine_postgres = {
    .name = "postgres",
    .dialect = AW_SQL_POSTGRES,
    .open = pg_open,
    .close = pg_close,
    .conn_open = pg_conn_open,
    .conn_close = pg_conn_close,
    .conn_ok = pg_conn_ok,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .exec_script = pg_exec_script,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int64 = pg_bind_int64,
    .bind_null = pg_bind_null,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .col_null = pg_col_null,
    .col_text = pg_col_text,
    .col_int64 = pg_col_int64,
    .col_blob = pg_col_blob,
    .changes = pg_changes,
    .done = pg_done,
};
