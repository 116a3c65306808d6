/*
 * sql — prepared statements inside a transaction, the same calls on every
 * engine. Domain operations (src/store/tenant.c, outbox.c, ...) are written
 * once against this API; only SQL text that differs between the dialects is
 * chosen with aw_sql_pick.
 *
 * Rules:
 *  - SQL is a constant string in the program, never built from input. Values
 *    are bound. Parameters are written $1, $2, ... in both dialects (the
 *    SQLite engine rewrites them to ?1, ?2).
 *  - Statements are prepared once per connection and cached by their text;
 *    aw_sql_prepare is cheap after the first call on a connection.
 *  - Use portable types: INTEGER/BIGINT for numbers and epoch milliseconds,
 *    TEXT for strings, UUIDs and JSON, BLOB/BYTEA through bind_blob.
 *  - The handle belongs to tx: call aw_sql_done when finished with it (it is
 *    reset for reuse); commit/rollback also release forgotten handles.
 *  - Text and blob columns are valid until the next step or done.
 *  - Any error dooms the transaction (see store.h).
 */
#ifndef AW_STORE_SQL_H
#define AW_STORE_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct aw_sql aw_sql_t;

typedef enum { AW_SQL_SQLITE = 1, AW_SQL_POSTGRES = 2 } aw_sql_dialect_t;

aw_sql_dialect_t aw_sql_dialect(const aw_tx_t *tx);
/* The statement text for this transaction's dialect. */
const char *aw_sql_pick(const aw_tx_t *tx, const char *sqlite_sql, const char *pg_sql);

int aw_sql_prepare(aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err);
/* Parameters are 1-based. Text NULL binds SQL NULL. Binding errors (OOM)
 * are reported by the next aw_sql_step. */
void aw_sql_bind_text(aw_sql_t *s, int i, const char *v);
void aw_sql_bind_int64(aw_sql_t *s, int i, int64_t v);
void aw_sql_bind_null(aw_sql_t *s, int i);
void aw_sql_bind_blob(aw_sql_t *s, int i, const void *v, size_t n);
/* A promise of the caller: text and blob values bound after this call stay
 * valid and unchanged until aw_sql_done, so the engine binds them without a
 * copy (a 10 MB data set is not copied once more). Numbers are copied
 * anyway. aw_sql_exec does this itself (its values outlive the call). */
void aw_sql_borrow(aw_sql_t *s);
/* 1: a row is ready; 0: done; < 0: error (AW_ECONFLICT for a unique or
 * foreign key violation, AW_EBUSY for lock timeouts, AW_EIO otherwise). */
int aw_sql_step(aw_sql_t *s, aw_err_t *err);
bool aw_sql_col_null(aw_sql_t *s, int col);
/* NULL for SQL NULL. */
const char *aw_sql_col_text(aw_sql_t *s, int col);
int64_t aw_sql_col_int64(aw_sql_t *s, int col);
const void *aw_sql_col_blob(aw_sql_t *s, int col, size_t *n);
/* Rows changed by the last completed INSERT/UPDATE/DELETE step. */
int64_t aw_sql_changes(aw_sql_t *s);
void aw_sql_done(aw_sql_t *s);

/* Conveniences over the calls above. binds is a string of types, one per
 * parameter: 't' const char *, 'i' int, 'I' int64_t, 'z' size_t.
 * aw_sql_exec runs a statement that returns no rows; changes may be NULL. */
int aw_sql_exec(aw_tx_t *tx, const char *sql, int64_t *changes, aw_err_t *err, const char *binds,
                ...);
/* Prepares and binds; the caller steps and calls aw_sql_done. */
int aw_sql_query(aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err, const char *binds,
                 ...);
/* Copies of a text column (NULL for NULL; sets *oom on allocation failure). */
char *aw_sql_col_strdup(aw_sql_t *s, int col, bool *oom);

#endif
