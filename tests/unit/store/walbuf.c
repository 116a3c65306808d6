/* Tests of src/store/walbuf.c: a commit's WAL frames reach the file in
 * one write, readers see every commit at once, and a crash after frames
 * were spilled and rewritten in place leaves every commit recoverable. */
#include "fixture.h"
#include "store/sql.h"
#include "store/walbuf.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static aw_store_t *open_db(const char *path) {
    aw_err_t err = {0};
    aw_store_t *st;
    ASSERT_OK(aw_store_open(path, NULL, &st, &err), &err);
    ASSERT_OK(aw_store_migrate(st, NULL, &err), &err);
    return st;
}

static char *value_of(size_t n, int round, int i) {
    char *v = malloc(n + 1);
    int h = snprintf(v, n + 1, "r%d-i%d-", round, i);
    memset(v + h, 'a' + (round + i) % 26, n - (size_t)h);
    v[n] = 0;
    return v;
}

static char *read_setting(aw_store_t *st, const char *key) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    char *v = NULL;
    ASSERT_OK(aw_store_begin(st, AW_TX_READ, &tx, &err), &err);
    int rc = aw_store_setting_get(tx, "global", key, &v, &err);
    aw_store_rollback(tx);
    return rc == 0 ? v : NULL;
}

TEST(commit_frames_reach_the_file_in_one_write) {
    char path[600];
    snprintf(path, sizeof path, "%s/wb.db", aw_test_tmpdir());
    aw_store_t *st = open_db(path);
    aw_err_t err = {0};
    for (int round = 0; round < 3; round++) {
        aw_walbuf_counts_t c0, c1;
        aw_walbuf_counts(&c0);
        aw_tx_t *tx;
        ASSERT_OK(aw_store_begin(st, AW_TX_WRITE, &tx, &err), &err);
        for (int i = 0; i < 10; i++) {
            char key[16], *v = value_of(3000, round, i);
            snprintf(key, sizeof key, "k%d", i);
            ASSERT_OK(aw_store_setting_put(tx, "global", key, v, &err), &err);
            free(v);
        }
        ASSERT_OK(aw_store_commit(tx, &err), &err);
        aw_walbuf_counts(&c1);
        /* ten 3000-byte rows: a dozen pages, two writes each from SQLite */
        uint64_t asked = c1.asked - c0.asked, done = c1.done - c0.done;
        ASSERT_MSG(asked >= 16, "SQLite asked for %llu WAL writes", (unsigned long long)asked);
        ASSERT_MSG(done <= 2, "%llu of %llu WAL writes reached the file", (unsigned long long)done,
                   (unsigned long long)asked);
        /* a reader on another connection sees the whole commit */
        for (int i = 0; i < 10; i++) {
            char key[16], *want = value_of(3000, round, i);
            snprintf(key, sizeof key, "k%d", i);
            char *got = read_setting(st, key);
            ASSERT_MSG(got && strcmp(got, want) == 0, "%s after round %d", key, round);
            free(got);
            free(want);
        }
    }
    aw_store_close(st);
}

/* The child commits and dies without closing anything, right after its
 * last commit: the next open recovers the WAL from the file alone,
 * checking every frame's checksum. A frame or a rewritten checksum left in
 * a buffer would end the log early, and that commit would be gone. */
TEST_T(crash_after_spilled_and_rewritten_frames_keeps_every_commit, 60) {
    char path[600];
    snprintf(path, sizeof path, "%s/crash.db", aw_test_tmpdir());
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        aw_store_t *st = open_db(path);
        aw_err_t err = {0};
        aw_tx_t *tx;
        for (int j = 0; j < 5; j++) {
            char key[16];
            snprintf(key, sizeof key, "s%d", j);
            if (aw_store_begin(st, AW_TX_WRITE, &tx, &err) ||
                aw_store_setting_put(tx, "global", key, "small", &err) || aw_store_commit(tx, &err))
                _exit(6);
        }
        if (aw_store_begin(st, AW_TX_WRITE, &tx, &err)) _exit(2);
        /* a tiny page cache: the transaction spills pages into the WAL and
         * writes them again later (in place, then new checksums) */
        if (aw_sql_exec(tx, "PRAGMA cache_size = 10", NULL, &err, "")) _exit(3);
        for (int round = 0; round < 3; round++)
            for (int i = 0; i < 300; i++) {
                char key[16], *v = value_of(900, round, i);
                snprintf(key, sizeof key, "k%d", i);
                if (aw_store_setting_put(tx, "global", key, v, &err)) _exit(4);
                free(v);
            }
        if (aw_store_commit(tx, &err)) _exit(5);
        aw_walbuf_counts_t c;
        aw_walbuf_counts(&c);
        _exit(c.rewrites > 0 ? 0 : 7); /* the rewrite path ran */
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ended with status %d", status);
    /* plain SQLite, without the shim, recovers the WAL */
    sqlite3 *db;
    ASSERT_EQ(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
    ASSERT_STR((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT key, value FROM settings WHERE scope = 'global'"
                                 " AND (key LIKE 'k%' OR key LIKE 's%')",
                                 -1, &s, NULL),
              SQLITE_OK);
    int ks = 0, ss = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        const char *v = (const char *)sqlite3_column_text(s, 1);
        if (k[0] == 'k') {
            char *want = value_of(900, 2, atoi(k + 1));
            ASSERT_MSG(strcmp(v, want) == 0, "%s has an older value", k);
            free(want);
            ks++;
        } else {
            ASSERT_STR(v, "small");
            ss++;
        }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    ASSERT_EQ(ks, 300);
    ASSERT_EQ(ss, 5);
}
