/* Tests of src/store/store.c: open, migrations, transactions, pool, health. */
#include "fixture.h"
#include "store/outbox.h"
#include "store/engine.h"
#include "store/sql.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <semaphore.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/embed.h"

/* Migrations of an engine embedded in this binary. Versions are not
 * contiguous (modules own ranges: 0100 delivery, 0200 catalogue), so counts
 * are compared with this, not with the newest version. */
static int64_t n_migrations(const char *engine) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "src/store/migrations/%s/", engine);
    int64_t n = 0;
    for (const aw_embedded_t *e = aw_embedded_list(); e->name; e++)
        if (strncmp(e->name, prefix, strlen(prefix)) == 0) n++;
    return n;
}

STORE_TEST(migrate_from_empty) {
    /* fx_init migrated a fresh database: every known version is applied. */
    aw_err_t err = {0};
    int have = -1, known = -1;
    ASSERT_OK(aw_store_schema_version(f->st, &have, &known, &err), &err);
    ASSERT_GE(known, 1);
    ASSERT_EQ(have, known);
    ASSERT_STR(aw_store_engine_name(f->st), f->is_pg ? "postgres" : "sqlite");
    /* The first tables exist and are empty. */
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_tenant_t *list;
    size_t n = 9;
    ASSERT_OK(aw_store_tenant_list(tx, 0, 10, &list, &n, &err), &err);
    ASSERT_EQ(n, 0);
    aw_tenant_list_free(list, n);
    aw_store_rollback(tx);
    aw_store_stats_t stats;
    ASSERT_OK(aw_store_stats(f->st, &stats, &err), &err);
    ASSERT_EQ(stats.outbox_pending, 0);
    ASSERT_EQ(stats.outbox_dead, 0);
}

STORE_TEST(migrate_counts_applied_then_noop) {
    aw_err_t err = {0};
    int applied = -1, known = 0;
    ASSERT_OK(aw_store_schema_version(f->st, NULL, &known, &err), &err);
    /* Already migrated by the fixture: a second run changes nothing. */
    ASSERT_OK(aw_store_migrate(f->st, &applied, &err), &err);
    ASSERT_EQ(applied, 0);
    /* Also after reopening. */
    fx_close(f);
    ASSERT_OK(aw_store_open(f->url, NULL, &f->st, &err), &err);
    ASSERT_OK(aw_store_migrate(f->st, &applied, &err), &err);
    ASSERT_EQ(applied, 0);
    int have = 0;
    ASSERT_OK(aw_store_schema_version(f->st, &have, NULL, &err), &err);
    ASSERT_EQ(have, known);
    /* One row per version, nothing duplicated. */
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *s;
    ASSERT_OK(aw_sql_query(tx, "SELECT count(*) FROM schema_version", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_EQ(aw_sql_col_int64(s, 0), n_migrations(aw_store_engine_name(f->st)));
    aw_sql_done(s);
    aw_store_rollback(tx);
}

STORE_TEST(migrate_reports_count_on_fresh_database) {
    /* A second, empty database in the same place: migrate says how many. */
    aw_err_t err = {0};
    char url[1024];
    if (f->is_pg) {
        ASSERT_EQ(aw_pg_harness_create_db(&f->pg, "fresh", url, sizeof url), 0);
    } else {
        snprintf(url, sizeof url, "sqlite:%s/fresh.db", aw_test_tmpdir());
    }
    aw_store_t *st;
    ASSERT_OK(aw_store_open(url, NULL, &st, &err), &err);
    int have = -1, known = 0, applied = 0;
    ASSERT_OK(aw_store_schema_version(st, &have, &known, &err), &err);
    ASSERT_EQ(have, 0);
    ASSERT_OK(aw_store_migrate(st, &applied, &err), &err);
    ASSERT_EQ(applied, n_migrations(aw_store_engine_name(st)));
    aw_store_close(st);
}

STORE_TEST(newer_database_is_refused) {
    aw_err_t err = {0};
    int known = 0;
    ASSERT_OK(aw_store_schema_version(f->st, NULL, &known, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          "INSERT INTO schema_version (version, name, applied_at)"
                          " VALUES ($1, 'future.sql', 0)",
                          NULL, &err, "i", known + 6),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    fx_close(f);
    ASSERT_OK(aw_store_open(f->url, NULL, &f->st, &err), &err);
    int rc = aw_store_migrate(f->st, NULL, &err);
    ASSERT_EQ(rc, AW_EVERSION);
    char want[200];
    snprintf(want, sizeof want,
             "database schema version %d is newer than this amtsweg (knows %d); upgrade amtsweg",
             known + 6, known);
    ASSERT_STR(err.msg, want);
}

/* Modules own version ranges (0100 delivery, 0200 catalogue): a database at
 * 0200 that lacks a lower migration gets it. Simulated by undoing 0101
 * (delivery_events' signing columns) and forgetting its record. */
STORE_TEST(missing_lower_migration_is_applied) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    const char *undo[] = {"DROP INDEX delivery_events_unsigned",
                          "ALTER TABLE delivery_events DROP COLUMN body",
                          "ALTER TABLE delivery_events DROP COLUMN sign_owner",
                          "ALTER TABLE delivery_events DROP COLUMN sign_lease_until",
                          "DELETE FROM schema_version WHERE version = 101"};
    for (size_t i = 0; i < sizeof undo / sizeof *undo; i++)
        ASSERT_OK(aw_sql_exec(tx, undo[i], NULL, &err, ""), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    int applied = -1;
    ASSERT_OK(aw_store_migrate(f->st, &applied, &err), &err);
    ASSERT_EQ(applied, 1);
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT COUNT(body), COUNT(sign_owner), MAX(sign_lease_until)"
                           " FROM delivery_events",
                           &q, &err, ""),
              &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    aw_sql_done(q);
    aw_store_rollback(tx);
    ASSERT_OK(aw_store_migrate(f->st, &applied, &err), &err);
    ASSERT_EQ(applied, 0);
}

/* A version this binary has no file for, below its newest: a newer amtsweg
 * applied it, so this one must not run on that schema. */
STORE_TEST(unknown_lower_version_is_refused) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          "INSERT INTO schema_version (version, name, applied_at)"
                          " VALUES (150, '0150_from_a_newer_amtsweg.sql', 0)",
                          NULL, &err, ""),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_EQ(aw_store_migrate(f->st, NULL, &err), AW_EVERSION);
    ASSERT_STR(err.msg, "database has schema migration 150, which this amtsweg does not know "
                        "(a newer amtsweg applied it); upgrade amtsweg");
}

STORE_TEST(rollback_and_uncommitted_leave_nothing) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_setting_put(tx, "global", "a", "1", &err), &err);
    aw_store_rollback(tx);
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    char *v = NULL;
    ASSERT_EQ(aw_store_setting_get(tx, "global", "a", &v, &err), AW_ENOTFOUND);
    ASSERT_NULL(v);
    aw_store_rollback(tx);
}

STORE_TEST(read_transaction_refuses_writes) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    int rc = aw_store_setting_put(tx, "global", "a", "1", &err);
    ASSERT_EQ(rc, AW_ESTATE);
    aw_store_rollback(tx);
}

STORE_TEST(failed_statement_dooms_transaction) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    aw_tenant_t a = {.slug = "berlin", .name = "Berlin"};
    ASSERT_OK(aw_store_tenant_put(tx, &a, &err), &err);
    aw_tenant_t b = {.slug = "berlin", .name = "Other"};
    ASSERT_EQ(aw_store_tenant_put(tx, &b, &err), AW_ECONFLICT);
    ASSERT_CONTAINS(err.msg, "berlin");
    /* Further statements and the commit are refused; nothing is stored. */
    char *v;
    ASSERT_EQ(aw_store_setting_get(tx, "global", "x", &v, &err), AW_ESTATE);
    ASSERT_EQ(aw_store_commit(tx, &err), AW_ESTATE);
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_tenant_t got;
    ASSERT_EQ(aw_store_tenant_get_by_slug(tx, "berlin", &got, &err), AW_ENOTFOUND);
    aw_store_rollback(tx);
}

STORE_TEST(ping_and_stats) {
    aw_err_t err = {0};
    ASSERT_OK(aw_store_ping(f->st, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    for (int i = 0; i < 3; i++)
        ASSERT_OK(aw_store_outbox_enqueue(tx, "test.job", "{}", 0, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    aw_store_stats_t s;
    ASSERT_OK(aw_store_stats(f->st, &s, &err), &err);
    ASSERT_EQ(s.outbox_pending, 3);
    ASSERT_EQ(s.outbox_dead, 0);
    ASSERT_GE(s.pool_open, 1);
    ASSERT_EQ(s.pool_in_use, 0);
}

STORE_TEST(blob_and_null_round_trip) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          aw_sql_pick(tx, "CREATE TABLE t_blob (k INTEGER, b BLOB, s TEXT)",
                                      "CREATE TABLE t_blob (k BIGINT, b BYTEA, s TEXT)"),
                          NULL, &err, ""),
              &err);
    const unsigned char bytes[] = {0, 1, 2, 0xff, 0x5c, 0x27, 0};
    aw_sql_t *s;
    ASSERT_OK(aw_sql_prepare(tx, "INSERT INTO t_blob (k, b, s) VALUES ($1, $2, $3)", &s, &err),
              &err);
    aw_sql_bind_int64(s, 1, INT64_C(-9007199254740993));
    aw_sql_bind_blob(s, 2, bytes, sizeof bytes);
    aw_sql_bind_null(s, 3);
    ASSERT_EQ(aw_sql_step(s, &err), 0);
    ASSERT_EQ(aw_sql_changes(s), 1);
    aw_sql_done(s);
    /* with a bytea column PostgreSQL results come in binary: numbers of
     * every width and booleans still read as numbers and as text */
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT k, b, s, k < 0, CAST(-2 AS SMALLINT), CAST(70000 AS INTEGER)"
                           " FROM t_blob",
                           &s, &err, ""),
              &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_EQ(aw_sql_col_int64(s, 0), INT64_C(-9007199254740993));
    ASSERT_STR(aw_sql_col_text(s, 0), "-9007199254740993");
    ASSERT_EQ(aw_sql_col_int64(s, 3), 1);
    ASSERT_EQ(aw_sql_col_int64(s, 4), -2);
    ASSERT_EQ(aw_sql_col_int64(s, 5), 70000);
    ASSERT_STR(aw_sql_col_text(s, 5), "70000");
    size_t n = 0;
    const void *b = aw_sql_col_blob(s, 1, &n);
    ASSERT_EQ(n, sizeof bytes);
    ASSERT_MEM(b, bytes, sizeof bytes);
    ASSERT(aw_sql_col_null(s, 2));
    ASSERT_NULL(aw_sql_col_text(s, 2));
    ASSERT_EQ(aw_sql_step(s, &err), 0);
    aw_sql_done(s);
    /* A forgotten handle is released by the commit. */
    ASSERT_OK(aw_sql_query(tx, "SELECT k FROM t_blob", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

STORE_TEST(same_statement_twice_in_one_transaction) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_store_setting_put(tx, "global", "a", "1", &err), &err);
    ASSERT_OK(aw_store_setting_put(tx, "global", "b", "2", &err), &err);
    static const char q[] = "SELECT key FROM settings WHERE scope = $1 ORDER BY key";
    aw_sql_t *outer, *inner;
    ASSERT_OK(aw_sql_query(tx, q, &outer, &err, "t", "global"), &err);
    int rows = 0;
    while (aw_sql_step(outer, &err) == 1) {
        ASSERT_OK(aw_sql_query(tx, q, &inner, &err, "t", "global"), &err);
        int m = 0;
        while (aw_sql_step(inner, &err) == 1) m++;
        ASSERT_EQ(m, 2);
        aw_sql_done(inner);
        rows++;
    }
    ASSERT_EQ(rows, 2);
    aw_sql_done(outer);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

/* Many threads, fewer pooled connections: every write lands exactly once. */
typedef struct {
    aw_store_t *st;
    int thread;
    int failures;
    char msg[AW_ERR_MSG_MAX];
} writer_arg_t;

#define WRITERS        8
#define WRITES_PER_THR 25

static void *writer(void *p) {
    writer_arg_t *a = p;
    for (int i = 0; i < WRITES_PER_THR; i++) {
        aw_err_t err = {0};
        aw_tx_t *tx;
        char key[32];
        snprintf(key, sizeof key, "t%d-%d", a->thread, i);
        int rc = aw_store_begin(a->st, i % 3 == 0 ? AW_TX_READ : AW_TX_WRITE, &tx, &err);
        if (rc == 0 && i % 3 == 0) {
            char *v = NULL;
            rc = aw_store_setting_get(tx, "global", key, &v, &err);
            rc = rc == AW_ENOTFOUND ? 0 : -1;
            aw_store_rollback(tx);
            continue;
        }
        if (rc == 0) rc = aw_store_setting_put(tx, "global", key, "v", &err);
        if (rc == 0)
            rc = aw_store_commit(tx, &err);
        else
            aw_store_rollback(tx);
        if (rc != 0) {
            a->failures++;
            snprintf(a->msg, sizeof a->msg, "%s", err.msg);
        }
    }
    return NULL;
}

STORE_TEST_T(threads_share_the_pool, 120) {
    fx_close(f);
    f->opts.pool_size = 3;
    f->opts.busy_timeout_ms = 30000;
    fx_open(f);
    pthread_t th[WRITERS];
    writer_arg_t args[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        args[i] = (writer_arg_t){.st = f->st, .thread = i};
        ASSERT_EQ(pthread_create(&th[i], NULL, writer, &args[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < WRITERS; i++)
        ASSERT_MSG(args[i].failures == 0, "thread %d: %d failures, last: %s", i, args[i].failures,
                   args[i].msg);
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_setting_t *list;
    size_t n;
    ASSERT_OK(aw_store_setting_list(tx, "global", &list, &n, &err), &err);
    int expect = 0;
    for (int i = 0; i < WRITES_PER_THR; i++)
        if (i % 3 != 0) expect++;
    ASSERT_EQ(n, WRITERS * expect);
    aw_setting_list_free(list, n);
    aw_store_rollback(tx);
    aw_store_stats_t s;
    ASSERT_OK(aw_store_stats(f->st, &s, &err), &err);
    ASSERT_LE(s.pool_open, 3);
}

STORE_TEST(pool_exhaustion_is_busy) {
    fx_close(f);
    f->opts.pool_size = 1;
    f->opts.busy_timeout_ms = 50;
    fx_open(f);
    aw_err_t err = {0};
    aw_tx_t *tx, *tx2;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    ASSERT_EQ(aw_store_begin(f->st, AW_TX_READ, &tx2, &err), AW_EBUSY);
    ASSERT_CONTAINS(err.msg, "busy");
    aw_store_rollback(tx);
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx2, &err), &err);
    aw_store_rollback(tx2);
}

/* ---- engine-specific ------------------------------------------------------ */

TEST(sqlite_missing_directory_is_named) {
    char path[600];
    snprintf(path, sizeof path, "%s/no/such/dir/amtsweg.db", aw_test_tmpdir());
    aw_store_t *st = NULL;
    aw_err_t err = {0};
    ASSERT_EQ(aw_store_open(path, NULL, &st, &err), AW_EIO);
    ASSERT_NULL(st);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "No such file or directory");
}

TEST(sqlite_file_in_place_of_directory) {
    char file[600], path[700];
    snprintf(file, sizeof file, "%s/plainfile", aw_test_tmpdir());
    FILE *fp = fopen(file, "w");
    ASSERT_NOT_NULL(fp);
    fclose(fp);
    snprintf(path, sizeof path, "sqlite:%s/x.db", file);
    aw_store_t *st = NULL;
    aw_err_t err = {0};
    ASSERT_EQ(aw_store_open(path, NULL, &st, &err), AW_EIO);
    ASSERT_CONTAINS(err.msg, file);
}

TEST(sqlite_unwritable_directory) {
    if (geteuid() == 0) {
        /* root writes anywhere; use a read-only file system instead */
        aw_store_t *st = NULL;
        aw_err_t err = {0};
        if (access("/proc/self", F_OK) != 0) TEST_SKIP("no /proc");
        ASSERT_EQ(aw_store_open("/proc/self/amtsweg.db", NULL, &st, &err), AW_EIO);
        ASSERT_CONTAINS(err.msg, "/proc/self/amtsweg.db");
        return;
    }
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/ro", aw_test_tmpdir());
    ASSERT_EQ(mkdir(dir, 0500), 0);
    snprintf(path, sizeof path, "%s/amtsweg.db", dir);
    aw_store_t *st = NULL;
    aw_err_t err = {0};
    ASSERT_EQ(aw_store_open(path, NULL, &st, &err), AW_EIO);
    ASSERT_CONTAINS(err.msg, "not writable");
    ASSERT_CONTAINS(err.msg, dir);
    chmod(dir, 0700);
}

TEST(sqlite_not_a_database) {
    char path[600];
    snprintf(path, sizeof path, "%s/garbage.db", aw_test_tmpdir());
    FILE *fp = fopen(path, "w");
    ASSERT_NOT_NULL(fp);
    for (int i = 0; i < 200; i++) fputs("this is not sqlite ", fp);
    fclose(fp);
    aw_store_t *st = NULL;
    aw_err_t err = {0};
    ASSERT_EQ(aw_store_open(path, NULL, &st, &err), AW_EIO);
    ASSERT_CONTAINS(err.msg, path);
    ASSERT_CONTAINS(err.msg, "not an SQLite database");
}

TEST(url_forms) {
    aw_store_t *st = NULL;
    aw_err_t err = {0};
    ASSERT_EQ(aw_store_open("mysql://x/y", NULL, &st, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "mysql://x/y");
    ASSERT_EQ(aw_store_open("", NULL, &st, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_open("sqlite:", NULL, &st, &err), AW_EINVAL);
    ASSERT_EQ(aw_store_open(":memory:", NULL, &st, &err), AW_EINVAL);
    char url[600];
    snprintf(url, sizeof url, "sqlite:%s/a.db", aw_test_tmpdir());
    ASSERT_OK(aw_store_open(url, NULL, &st, &err), &err);
    ASSERT_STR(aw_store_engine_name(st), "sqlite");
    aw_store_close(st);
}

TEST(sqlite_durability_settings) {
    char path[600];
    snprintf(path, sizeof path, "%s/d.db", aw_test_tmpdir());
    aw_store_t *st;
    aw_err_t err = {0};
    ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &tx, &err), &err);
    const char *pragmas[][2] = {{"PRAGMA journal_mode", "wal"},
                                {"PRAGMA synchronous", "1"}, /* + group commit */
                                {"PRAGMA foreign_keys", "1"},
                                {"PRAGMA busy_timeout", "5000"}};
    for (size_t i = 0; i < sizeof pragmas / sizeof *pragmas; i++) {
        aw_sql_t *s;
        ASSERT_OK(aw_sql_query(tx, pragmas[i][0], &s, &err, ""), &err);
        ASSERT_EQ(aw_sql_step(s, &err), 1);
        ASSERT_STR(aw_sql_col_text(s, 0), pragmas[i][1]);
        aw_sql_done(s);
    }
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    aw_store_close(st);
}

/* What is deleted is overwritten in the file (PRAGMA secure_delete=ON):
 * purged ciphertext and wiped keys do not stay behind in free pages. A
 * 40 KB value (overflow pages, which end on the freelist when deleted) is
 * written, deleted and checkpointed; its bytes are then nowhere in the
 * database file. Without the pragma they are (the test fails). */
TEST(sqlite_deleted_content_is_overwritten) {
    char path[600];
    snprintf(path, sizeof path, "%s/sd.db", aw_test_tmpdir());
    aw_store_t *st;
    aw_err_t err = {0};
    ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
    static char blob[40000];
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = "GONE-AFTER-DELETE:"[i % 18];
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &tx, &err), &err);
    aw_sql_t *s;
    ASSERT_OK(aw_sql_query(tx, "PRAGMA secure_delete", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_STR(aw_sql_col_text(s, 0), "1");
    aw_sql_done(s);
    ASSERT_OK(aw_sql_exec(tx, "CREATE TABLE sd (x BLOB)", NULL, &err, ""), &err);
    ASSERT_OK(aw_sql_prepare(tx, "INSERT INTO sd VALUES ($1)", &s, &err), &err);
    aw_sql_bind_blob(s, 1, blob, sizeof blob);
    ASSERT_EQ(aw_sql_step(s, &err), 0);
    aw_sql_done(s);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "DELETE FROM sd", NULL, &err, ""), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    aw_store_close(st); /* the last connection checkpoints the WAL into the file */
    size_t n;
    char *file = aw_test_read_file(path, &n);
    ASSERT_NOT_NULL(file);
    ASSERT_MSG(memmem(file, n, "GONE-AFTER-DELETE:GONE-AFTER-DELETE:", 36) == NULL,
               "deleted content is still in %s", path);
    free(file);
}

TEST(pg_unreachable_server_is_named) {
    aw_store_t *st = NULL;
    aw_err_t err = {0};
    char url[700];
    snprintf(url, sizeof url, "postgresql:///amtsweg?host=%s&port=1&connect_timeout=2",
             aw_test_tmpdir());
    ASSERT_EQ(aw_store_open(url, NULL, &st, &err), AW_EIO);
    ASSERT_NULL(st);
    ASSERT_CONTAINS(err.msg, "cannot connect to PostgreSQL");
    ASSERT_CONTAINS(err.msg, aw_test_tmpdir());
    ASSERT_EQ(aw_store_open("postgres://h/x?nosuchoption=1", NULL, &st, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "nosuchoption");
}

TEST(dollar_params_rewritten_outside_quotes) {
    /* Internal, but worth pinning: '$1' inside a literal stays as it is. */
    char *q = aw_sql_dollar_to_qmark("SELECT $1, '$2', \"$3\", $10 FROM t WHERE a = $2");
    ASSERT_STR(q, "SELECT ?1, '$2', \"$3\", ?10 FROM t WHERE a = ?2");
    free(q);
    q = aw_sql_dollar_to_qmark("SELECT $1 -- it's $2\nFROM t WHERE b = $3");
    ASSERT_STR(q, "SELECT ?1 -- it's $2\nFROM t WHERE b = ?3");
    free(q);
}

STORE_TEST(concurrent_migrations_from_several_processes) {
    /* Several nodes start at once against one empty database. */
    char url[1024];
    if (f->is_pg) {
        ASSERT_EQ(aw_pg_harness_create_db(&f->pg, "race", url, sizeof url), 0);
    } else {
        snprintf(url, sizeof url, "%s/race.db", aw_test_tmpdir());
    }
    enum { PROCS = 4 };
    pid_t pids[PROCS];
    fflush(NULL);
    for (int i = 0; i < PROCS; i++) {
        pids[i] = fork();
        ASSERT(pids[i] >= 0);
        if (pids[i] == 0) {
            aw_err_t err = {0};
            aw_store_t *st;
            int rc = aw_store_open(url, NULL, &st, &err);
            if (rc == 0) rc = aw_store_migrate(st, NULL, &err);
            if (rc != 0) fprintf(stderr, "child %d: %s\n", i, err.msg);
            fflush(NULL);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < PROCS; i++) {
        int status = 0;
        waitpid(pids[i], &status, 0);
        ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed", i);
    }
    aw_err_t err = {0};
    aw_store_t *st;
    ASSERT_OK(aw_store_open(url, NULL, &st, &err), &err);
    int have = 0, known = 0;
    ASSERT_OK(aw_store_schema_version(st, &have, &known, &err), &err);
    ASSERT_EQ(have, known);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *s;
    ASSERT_OK(aw_sql_query(tx, "SELECT count(*) FROM schema_version", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_EQ(aw_sql_col_int64(s, 0), n_migrations(aw_store_engine_name(st)));
    aw_sql_done(s);
    aw_store_rollback(tx);
    aw_store_close(st);
}

TEST(pg_lost_connection_is_replaced) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    aw_store_opts_t o = {.pool_size = 1};
    aw_store_t *st;
    aw_err_t err = {0};
    ASSERT_OK(aw_store_open(url, &o, &st, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *s;
    ASSERT_OK(aw_sql_query(tx, "SELECT pg_backend_pid()", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    int64_t pid = aw_sql_col_int64(s, 0);
    aw_sql_done(s);
    aw_store_rollback(tx);
    /* The server ends the pooled (idle) connection behind our back. */
    PGconn *admin = PQconnectdb(url);
    ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%lld, 10000)", (long long)pid);
    PGresult *r = PQexec(admin, sql);
    ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(admin);
    ASSERT_OK(aw_store_ping(st, &err), &err);
    ASSERT_OK(aw_store_begin(st, AW_TX_READ, &tx, &err), &err);
    ASSERT_OK(aw_sql_query(tx, "SELECT pg_backend_pid()", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_NE(aw_sql_col_int64(s, 0), pid);
    aw_sql_done(s);
    aw_store_rollback(tx);
    aw_store_close(st);
    aw_pg_harness_stop(&pg);
}

/* A putter thread: `commits` write transactions, each putting one setting
 * "<prefix><id>-<i>" = value. */
typedef struct put_arg {
    aw_store_t *st;
    int id, commits, rc;
    const char *prefix, *value;
    aw_err_t err;
} put_arg_t;

static void *putter(void *arg) {
    put_arg_t *a = arg;
    for (int i = 0; i < a->commits && a->rc == 0; i++) {
        aw_tx_t *tx;
        char key[32];
        snprintf(key, sizeof key, "%s%d-%d", a->prefix, a->id, i);
        a->rc = aw_store_begin(a->st, AW_TX_WRITE, &tx, &a->err);
        if (a->rc) break;
        a->rc = aw_store_setting_put(tx, "global", key, a->value, &a->err);
        if (a->rc == 0)
            a->rc = aw_store_commit(tx, &a->err);
        else
            aw_store_rollback(tx);
    }
    return NULL;
}

/* Runs n writers (ids first_id...) at once and fails the test on any error. */
static void run_writers(aw_store_t *st, int n, int first_id, int commits, const char *prefix,
                        const char *value) {
    put_arg_t a[8];
    pthread_t th[8];
    ASSERT(n <= 8);
    for (int i = 0; i < n; i++) {
        a[i] = (put_arg_t){
            .st = st, .id = first_id + i, .commits = commits, .prefix = prefix, .value = value};
        ASSERT_EQ(pthread_create(&th[i], NULL, putter, &a[i]), 0);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        ASSERT_MSG(a[i].rc == 0, "writer %d: %s", i, a[i].err.msg);
    }
}

/* Reopens the database at path and counts the global settings. */
static size_t reopened_settings(const char *path) {
    aw_err_t err = {0};
    aw_store_t *st;
    ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_READ, &tx, &err), &err);
    aw_setting_t *list;
    size_t n = 0;
    ASSERT_OK(aw_store_setting_list(tx, "global", &list, &n, &err), &err);
    aw_setting_list_free(list, n);
    aw_store_rollback(tx);
    aw_store_close(st);
    return n;
}

/* Group commit: many threads commit at once (leaders and followers of the
 * WAL sync); every commit that returned is there after a reopen, also
 * after the WAL was deleted by closing every connection in between. */
TEST(sqlite_group_commit_keeps_every_commit) {
    char path[600];
    snprintf(path, sizeof path, "%s/gc.db", aw_test_tmpdir());
    aw_err_t err = {0};
    for (int round = 0; round < 2; round++) {
        aw_store_t *st;
        ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
        ASSERT_OK(aw_store_migrate(st, NULL, &err), &err);
        run_writers(st, 8, round * 8, 40, "k", "v");
        aw_store_close(st);
    }
    ASSERT_EQ(reopened_settings(path), 2 * 8 * 40);
}

/* Checkpoints run on their own thread while writers keep committing; the
 * WAL does not grow without bound and closing the store stops the thread. */
TEST(sqlite_background_checkpoints_keep_the_wal_bounded) {
    char path[600], wal[700];
    snprintf(path, sizeof path, "%s/ck.db", aw_test_tmpdir());
    snprintf(wal, sizeof wal, "%s-wal", path);
    aw_err_t err = {0};
    aw_store_t *st;
    /* checkpoints every 1000 pages: RESTART past 3000 (12 MB), writers wait
     * past 4000 (16 MB) */
    aw_store_opts_t o = {.wal_checkpoint_pages = 1000};
    ASSERT_OK(aw_store_open(path, &o, &st, &err), &err);
    ASSERT_OK(aw_store_migrate(st, NULL, &err), &err);
    /* ~10 MB per writer in 64 KiB values: the WAL passes the checkpoint
     * sizes many times while others write */
    static char value[64 * 1024 - 1];
    memset(value, 'x', sizeof value - 1);
    run_writers(st, 4, 0, 160, "b", value);
    /* 42 MB were written without a pause; without the RESTART checkpoint
     * past 12 MB the WAL would hold all of it */
    struct stat sb;
    ASSERT_EQ(stat(wal, &sb), 0);
    ASSERT_MSG(sb.st_size < 30 * 1024 * 1024, "WAL has %lld bytes", (long long)sb.st_size);
    aw_store_close(st);
    ASSERT_EQ(reopened_settings(path), 4 * 160);
}

/* A write transaction that waits for the lock: what it does with its part
 * (commit, roll back, fail in a statement) */
typedef struct batch_arg {
    aw_store_t *st;
    int id, rc;
    aw_err_t err;
} batch_arg_t;

static void *batch_member(void *arg) {
    batch_arg_t *a = arg;
    aw_tx_t *tx;
    char key[16];
    snprintf(key, sizeof key, "m%d", a->id);
    if ((a->rc = aw_store_begin(a->st, AW_TX_WRITE, &tx, &a->err)) != 0) return NULL;
    a->rc = aw_store_setting_put(tx, "global", key, "v", &a->err);
    if (a->rc == 0 && a->id == 2) /* a statement that fails after the put */
        a->rc = aw_sql_exec(tx,
                            "INSERT INTO outbox (kind, payload, state, due_at, created_at,"
                            " updated_at) VALUES ('x', '{}', 'bogus', 0, 0, 0)",
                            NULL, &a->err, "");
    if (a->rc == 0 && a->id != 3)
        a->rc = aw_store_commit(tx, &a->err);
    else
        aw_store_rollback(tx);
    return NULL;
}

static int64_t setting_exists(aw_store_t *st, const char *key) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_READ, &tx, &err), &err);
    char *v = NULL;
    int rc = aw_store_setting_get(tx, "global", key, &v, &err);
    aw_store_rollback(tx);
    free(v);
    return rc == 0;
}

/* A migrated SQLite store in the test's tmpdir (its path into path). */
static aw_store_t *migrated_sqlite(char *path, size_t cap, const char *name) {
    snprintf(path, cap, "%s/%s", aw_test_tmpdir(), name);
    aw_err_t err = {0};
    aw_store_t *st;
    ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
    ASSERT_OK(aw_store_migrate(st, NULL, &err), &err);
    return st;
}

/* Waits (bounded: 10 s) until n threads wait for the write lock. */
static void wait_write_waiting(aw_store_t *st, int n) {
    aw_store_stats_t sw;
    aw_err_t err = {0};
    for (int i = 0; i < 10000; i++) {
        ASSERT_OK(aw_store_stats(st, &sw, &err), &err);
        if (sw.write_waiting == n) break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    ASSERT_EQ(sw.write_waiting, n);
}

/* Write batches: a transaction that ends while others wait for the write
 * lock leaves its part in the open SQLite transaction for them; one COMMIT
 * covers the batch. Each member keeps its own outcome: a rollback or a
 * failed statement undoes only that member's part, and a commit returns
 * only once the batch is committed (visible and synced). */
TEST(sqlite_write_batch_members_keep_their_outcome) {
    char path[600];
    aw_store_t *st = migrated_sqlite(path, sizeof path, "batch.db");
    aw_err_t err = {0};
    aw_store_stats_t s0, s1;
    ASSERT_OK(aw_store_stats(st, &s0, &err), &err);
    aw_tx_t *first;
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &first, &err), &err);
    ASSERT_OK(aw_store_setting_put(first, "global", "m0", "v", &err), &err);
    /* five writers queue behind it */
    batch_arg_t a[6];
    pthread_t th[6];
    for (int i = 1; i <= 5; i++) {
        a[i] = (batch_arg_t){.st = st, .id = i};
        ASSERT_EQ(pthread_create(&th[i], NULL, batch_member, &a[i]), 0);
    }
    wait_write_waiting(st, 5);
    ASSERT_OK(aw_store_commit(first, &err), &err);
    /* returned: committed, so visible to any other connection */
    ASSERT(setting_exists(st, "m0"));
    for (int i = 1; i <= 5; i++) pthread_join(th[i], NULL);
    ASSERT_MSG(a[1].rc == 0, "%s", a[1].err.msg);
    ASSERT(a[2].rc != 0);  /* its statement failed */
    ASSERT_EQ(a[3].rc, 0); /* rolled back by choice */
    ASSERT_MSG(a[4].rc == 0, "%s", a[4].err.msg);
    ASSERT_MSG(a[5].rc == 0, "%s", a[5].err.msg);
    ASSERT(setting_exists(st, "m1"));
    ASSERT(!setting_exists(st, "m2"));
    ASSERT(!setting_exists(st, "m3"));
    ASSERT(setting_exists(st, "m4"));
    ASSERT(setting_exists(st, "m5"));
    ASSERT_OK(aw_store_stats(st, &s1, &err), &err);
    int64_t txs = s1.write_txs - s0.write_txs, commits = s1.write_commits - s0.write_commits;
    ASSERT_EQ(txs, 4);
    ASSERT_MSG(commits < txs, "%lld commits for %lld transactions: nothing was batched",
               (long long)commits, (long long)txs);
    aw_store_close(st);
    ASSERT_EQ(reopened_settings(path), 4);
}

/* A long (bulk) transaction: a short one that ended while the bulk one
 * waited for the write lock is committed before the bulk one starts, so
 * its commit returns while the bulk transaction is still open (before, it
 * waited in the batch until the bulk one ended). */
typedef struct {
    aw_store_t *st;
    sem_t began, release;
    int rc;
    aw_err_t err;
} bulk_arg_t;

static void *bulk_writer(void *arg) {
    bulk_arg_t *b = arg;
    aw_tx_t *tx;
    b->rc = aw_store_begin(b->st, AW_TX_WRITE | AW_TX_BULK, &tx, &b->err);
    sem_post(&b->began);
    if (b->rc) return NULL;
    b->rc = aw_store_setting_put(tx, "global", "bulk", "v", &b->err);
    sem_wait(&b->release); /* "runs long": until the test lets it end */
    if (b->rc == 0)
        b->rc = aw_store_commit(tx, &b->err);
    else
        aw_store_rollback(tx);
    return NULL;
}

typedef struct {
    aw_tx_t *tx;
    sem_t done;
    int rc;
    aw_err_t err;
} small_commit_t;

static void *small_committer(void *arg) {
    small_commit_t *c = arg;
    c->rc = aw_store_commit(c->tx, &c->err);
    sem_post(&c->done);
    return NULL;
}

TEST(sqlite_bulk_transaction_does_not_hold_earlier_commits) {
    char path[600];
    aw_store_t *st = migrated_sqlite(path, sizeof path, "bulk.db");
    aw_err_t err = {0};
    aw_tx_t *small;
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &small, &err), &err);
    ASSERT_OK(aw_store_setting_put(small, "global", "small", "v", &err), &err);
    bulk_arg_t b = {.st = st};
    sem_init(&b.began, 0, 0);
    sem_init(&b.release, 0, 0);
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, bulk_writer, &b), 0);
    wait_write_waiting(st, 1);
    /* the small one ends while the bulk one waits: its commit must return
     * while the bulk one is still open (bounded wait; without the flag it
     * waits for the bulk one's end, which comes only after this) */
    small_commit_t sc = {.tx = small};
    sem_init(&sc.done, 0, 0);
    pthread_t ct;
    ASSERT_EQ(pthread_create(&ct, NULL, small_committer, &sc), 0);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 10;
    bool returned = sem_timedwait(&sc.done, &dl) == 0;
    sem_wait(&b.began);
    bool bulk_open = b.rc == 0;
    sem_post(&b.release);
    pthread_join(ct, NULL);
    pthread_join(th, NULL);
    sem_destroy(&sc.done);
    int rc = sc.rc;
    err = sc.err;
    ASSERT_MSG(returned, "the short transaction's commit waited for the bulk transaction");
    ASSERT_MSG(rc == 0, "%s", err.msg);
    ASSERT(bulk_open);
    ASSERT_MSG(b.rc == 0, "%s", b.err.msg);
    ASSERT(setting_exists(st, "small"));
    ASSERT(setting_exists(st, "bulk"));
    /* the flag only goes with WRITE */
    aw_tx_t *tx;
    ASSERT_EQ(aw_store_begin(st, AW_TX_READ | AW_TX_BULK, &tx, &err), AW_EINVAL);
    sem_destroy(&b.began);
    sem_destroy(&b.release);
    aw_store_close(st);
}

/* 0102: jti is unique among posted SETs only; the platform's own may share
 * one (they are random UUIDs made here) and do not pay for a unique index. */
static int insert_event(aw_tx_t *tx, const char *jti, int posted, aw_err_t *err) {
    return aw_sql_exec(tx,
                       "INSERT INTO delivery_events (case_id, submission_id, event, jti, token,"
                       " posted, created_at) VALUES ('c', 's', 'accept-submission', $1, 'x', $2,"
                       " 0)",
                       NULL, err, "ti", jti, posted);
}

STORE_TEST(events_jti_unique_among_posted_sets) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(insert_event(tx, "j1", 0, &err), &err);
    ASSERT_OK(insert_event(tx, "j1", 0, &err), &err);
    ASSERT_OK(insert_event(tx, "j1", 1, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_EQ(insert_event(tx, "j1", 1, &err), AW_ECONFLICT);
    aw_store_rollback(tx);
}

/* The SQLite side of 0102 rebuilds delivery_events: a database made by the
 * migrations before it keeps its events, their ids and the AUTOINCREMENT
 * sequence (an id is not handed out twice even when its row is gone), and
 * posted decisions are marked. */
TEST(sqlite_0102_keeps_events_ids_and_sequence) {
    char path[600];
    snprintf(path, sizeof path, "%s/old.db", aw_test_tmpdir());
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open(path, &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,"
                           " name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                           NULL, NULL, NULL),
              SQLITE_OK);
    const char *before[] = {"0001_init.sql", "0100_delivery.sql",
                            "0101_delivery_unsigned_events.sql", "0200_catalog.sql"};
    for (size_t i = 0; i < sizeof before / sizeof *before; i++) {
        char name[200], sql[300];
        snprintf(name, sizeof name, "src/store/migrations/sqlite/%s", before[i]);
        const aw_embedded_t *e = aw_embedded_find(name);
        ASSERT_NOT_NULL(e);
        ASSERT_EQ(sqlite3_exec(db, (const char *)e->data, NULL, NULL, NULL), SQLITE_OK);
        snprintf(sql, sizeof sql, "INSERT INTO schema_version VALUES (%d, '%s', 0)",
                 atoi(before[i]), before[i]);
        ASSERT_EQ(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    }
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO delivery_events (case_id, submission_id, event, jti,"
                           " token, created_at) VALUES"
                           " ('c', 's', 'create-submission', 'j1', 't1', 1),"
                           " ('c', 's', 'submit-submission', 'j2', '', 2),"
                           " ('c', 's', 'accept-submission', 'j3', 't3', 3),"
                           " ('c', 's', 'delete-submission', 'j4', 't4', 4);"
                           " DELETE FROM delivery_events WHERE id = 4",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    aw_err_t err = {0};
    aw_store_t *st;
    ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
    int applied = 0;
    ASSERT_OK(aw_store_migrate(st, &applied, &err), &err);
    ASSERT(applied >= 1);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT group_concat(id || ':' || jti || ':' || posted || ':' || token,"
                           " ' ') FROM (SELECT * FROM delivery_events ORDER BY id)",
                           &q, &err, ""),
              &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    ASSERT_STR(aw_sql_col_text(q, 0), "1:j1:0:t1 2:j2:0: 3:j3:1:t3");
    aw_sql_done(q);
    ASSERT_OK(insert_event(tx, "j5", 0, &err), &err);
    ASSERT_OK(aw_sql_query(tx, "SELECT MAX(id) FROM delivery_events", &q, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    ASSERT_EQ(aw_sql_col_int64(q, 0), 5); /* not 4: that one existed */
    aw_sql_done(q);
    /* the indexes are back: the unsigned event is found through its own */
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name IN"
                           " ('delivery_events_case', 'delivery_events_created',"
                           " 'delivery_events_unsigned', 'delivery_events_posted_jti')",
                           &q, &err, ""),
              &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    ASSERT_EQ(aw_sql_col_int64(q, 0), 4);
    aw_sql_done(q);
    ASSERT_EQ(insert_event(tx, "j3", 1, &err), AW_ECONFLICT);
    aw_store_rollback(tx);
    aw_store_close(st);
}

/* aw_sql_borrow binds text and blobs without a copy; the values must be
 * stored as they were when stepped, and nothing of them may stay bound after
 * aw_sql_done (ASan: the buffers are freed before the statement is used
 * again). aw_sql_exec borrows too. */
STORE_TEST(borrowed_values_stored_and_released) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          aw_sql_pick(tx, "CREATE TABLE borrow_t (k INTEGER, v TEXT, b BLOB)",
                                      "CREATE TABLE borrow_t (k INTEGER, v TEXT, b BYTEA)"),
                          NULL, &err, ""),
              &err);
    const char *ins = "INSERT INTO borrow_t (k, v, b) VALUES ($1, $2, $3)";
    size_t big = 1 << 20;
    char *text = malloc(big + 1);
    unsigned char *blob = malloc(big);
    ASSERT(text && blob);
    memset(text, 'a', big);
    text[big] = '\0';
    for (size_t i = 0; i < big; i++) blob[i] = (unsigned char)(i * 7);
    aw_sql_t *s;
    ASSERT_OK(aw_sql_prepare(tx, ins, &s, &err), &err);
    aw_sql_borrow(s);
    aw_sql_bind_int64(s, 1, 1);
    aw_sql_bind_text(s, 2, text);
    aw_sql_bind_blob(s, 3, blob, big);
    ASSERT_EQ(aw_sql_step(s, &err), 0);
    aw_sql_done(s);
    memset(text, 'z', big); /* what was borrowed is gone */
    free(text);
    free(blob);
    /* the same statement again (SQLite: the cached one), copying */
    char second[16] = "second";
    ASSERT_OK(aw_sql_prepare(tx, ins, &s, &err), &err);
    aw_sql_bind_int64(s, 1, 2);
    aw_sql_bind_text(s, 2, second);
    aw_sql_bind_blob(s, 3, "xy", 2);
    memcpy(second, "gone!", 6); /* copied at bind: the row says "second" */
    ASSERT_EQ(aw_sql_step(s, &err), 0);
    aw_sql_done(s);
    char *third = strdup("third");
    ASSERT_OK(aw_sql_exec(tx, ins, NULL, &err, "itt", 3, third, NULL), &err);
    free(third);
    ASSERT_OK(aw_store_commit(tx, &err), &err);

    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    ASSERT_OK(aw_sql_query(tx, "SELECT k, v, b FROM borrow_t ORDER BY k", &s, &err, ""), &err);
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    const char *v = aw_sql_col_text(s, 1);
    ASSERT(v && strlen(v) == big && v[0] == 'a' && v[big - 1] == 'a');
    size_t n = 0;
    const unsigned char *b = aw_sql_col_blob(s, 2, &n);
    ASSERT_EQ(n, big);
    ASSERT(b[1] == 7 && b[big - 1] == (unsigned char)((big - 1) * 7));
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_STR(aw_sql_col_text(s, 1), "second");
    ASSERT_EQ(aw_sql_step(s, &err), 1);
    ASSERT_STR(aw_sql_col_text(s, 1), "third");
    ASSERT(aw_sql_col_null(s, 2));
    ASSERT_EQ(aw_sql_step(s, &err), 0);
    aw_sql_done(s);
    aw_store_rollback(tx);
}
