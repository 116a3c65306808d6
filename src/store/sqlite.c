/*
 * sqlite.c — the SQLite engine.
 *
 * One file, WAL journal: readers never block the writer and see a snapshot;
 * one writer at a time. Settings on every connection and why:
 *  - journal_mode=WAL: concurrent readers during writes, sequential I/O.
 *  - synchronous=NORMAL plus group commit: a commit writes the WAL without
 *    fsync and releases the write lock; before aw_store_commit returns, the
 *    committing thread waits for an fdatasync of the WAL file that started
 *    after its commit (one thread syncs for every commit that finished
 *    before; the others wait for it). So a commit that returned survives
 *    power loss as with FULL, but concurrent commits share one fsync and the
 *    write lock is not held across it. Checkpoints sync the WAL before and
 *    the database after copying (NORMAL does that), and the WAL is only
 *    rewritten after a checkpoint copied all of it.
 *  - checkpoints in the background: a commit that grows the WAL past
 *    CKPT_PAGES (opts.wal_checkpoint_pages, 4000 = 16 MB; SQLite's 1000
 *    made a checkpoint, with two fsyncs, every 30 submissions) wakes a
 *    checkpoint thread (own connection, PASSIVE: it never blocks writers)
 *    instead of checkpointing inside COMMIT, where it would hold the write
 *    lock for the copy and the fsync. While
 *    writers keep appending a PASSIVE checkpoint never completes, so past
 *    CKPT_HARD_PAGES the thread takes the writer mutex for one RESTART
 *    checkpoint (the WAL then starts over). Should that thread fall behind
 *    (no CPU under load), new write transactions wait for it once the WAL
 *    passes CKPT_STALL_PAGES (bounded by the busy timeout): the WAL stays
 *    bounded whatever the scheduler does.
 *  - foreign_keys=ON: SQLite leaves them off by default.
 *  - busy_timeout: other processes (amtsweg inbox next to amtsweg serve)
 *    may hold the write lock for a moment; wait instead of failing.
 *  - trusted_schema=OFF: no functions with side effects from schema objects.
 * Write transactions use BEGIN IMMEDIATE so the write lock is taken at the
 * start (a deferred transaction that reads first and then writes can fail
 * with SQLITE_BUSY in a way no retry inside it can fix). Within this process
 * writers queue on a mutex first, so threads do not poll SQLite's lock, and
 * all of them run on one writer handle, whose page cache stays valid.
 *
 * Write batches: a write transaction that ends while other threads wait for
 * the writer mutex, or while a WAL sync runs (a commit now would wait for
 * that sync anyway), does not COMMIT. Its work is released from a SAVEPOINT
 * into the open SQLite transaction, the next writer continues in that
 * transaction under a SAVEPOINT of its own, and the last one (nobody else
 * waiting, or BATCH_MAX members) commits for all of them. Every member's
 * aw_store_commit returns only after that COMMIT and the WAL sync covering
 * it, with its outcome: a batch that fails to commit fails for each member,
 * and a member that rolls back undoes only its own SAVEPOINT. Pages that
 * every transaction touches (the rightmost leaves of tables and indexes,
 * page 1) are then written to the WAL once per batch instead of once per
 * transaction: at 8 concurrent submissions the WAL frames per submission
 * fall from 31 to 13. With no writer coming, the first member commits the
 * batch when the running sync ends; any member whose batch nobody commits
 * within BATCH_WAIT_MS (the writer it waited for gave up) commits it itself.
 * Connections are opened with SQLITE_OPEN_NOMUTEX: the pool guarantees a
 * connection is used by one thread at a time.
 */
#include "store/engine.h"
#include "store/walbuf.h"

#include "base/time.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <fcntl.h>
#include <stdatomic.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char *path;
    pthread_mutex_t write_mu; /* in-process writer queue */
    int busy_ms;
    /* group commit (see the top of this file) */
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    _Atomic uint64_t committed; /* write commits so far (counted under write_mu) */
    uint64_t synced;            /* commits covered by a finished fdatasync */
    bool syncing;               /* a leader is in fdatasync */
    char *wal_path;
    int wal_fd; /* -1 until first needed; reopened when the file was replaced */
    /* background checkpoints */
    pthread_mutex_t ckpt_mu;
    pthread_cond_t ckpt_cv;
    pthread_t ckpt_th;
    bool ckpt_started, ckpt_stop, ckpt_want;
    int ckpt_pages; /* WAL size at the last commit that asked */
    /* Pages of WAL at which the next checkpoint is due: a passive one that
     * completed leaves the WAL as long as it was (only the next writer that
     * starts after it restarts the WAL, and under load one has always
     * started before), so the next one is due CKPT_PAGES later, not at the
     * next commit. */
    _Atomic int ckpt_next, ckpt_base;
    /* WAL size after the last commit; writers stall (ckpt_done) while it is
     * past CKPT_STALL_PAGES, so a checkpoint thread that gets no CPU cannot
     * let the WAL grow without bound. */
    _Atomic int wal_pages;
    pthread_cond_t ckpt_done;
    int ckpt_every;            /* CKPT_PAGES (opts.wal_checkpoint_pages) */
    struct sq_db *writer;      /* opened at the first write transaction; under write_mu */
    struct sq_batch *batch;    /* the open write batch; under write_mu */
    _Atomic int write_waiters; /* threads waiting for write_mu in sq_begin */
    _Atomic int64_t n_batches, n_batched; /* SQLite commits of batches, transactions in them */
} sq_store_t;

#define CKPT_PAGES       (ss->ckpt_every)
#define CKPT_HARD_PAGES  (3 * ss->ckpt_every) /* beyond: a RESTART between writers */
#define CKPT_STALL_PAGES (4 * ss->ckpt_every) /* beyond: new writers wait for it */
#define BATCH_MAX        32 /* write transactions per SQLite transaction at most */
#define BATCH_WAIT_MS    50 /* a member commits its batch itself after this */

/* Write transactions of several threads in one SQLite transaction. */
typedef struct sq_batch {
    int members;         /* transactions released into it */
    int refs;            /* 1 while open + members that have not read the outcome */
    _Atomic bool closed; /* detached from the writer: committing or committed */
    bool done;           /* committed (or failed) and synced: rc and msg are final */
    int rc;
    char msg[AW_ERR_MSG_MAX];
} sq_batch_t;

typedef struct sq_stmt sq_stmt_t;

/* Transaction control statements, prepared once per handle. */
enum {
    SQ_BEGIN,
    SQ_BEGIN_IMMEDIATE,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_SAVEPOINT,
    SQ_RELEASE,
    SQ_ROLLBACK_TO,
    SQ_N_CTL
};
static const char *const sq_ctl_sql[SQ_N_CTL] = {
    "BEGIN",           "BEGIN IMMEDIATE", "COMMIT",           "ROLLBACK",
    "SAVEPOINT aw_tx", "RELEASE aw_tx",   "ROLLBACK TO aw_tx"};

/* One SQLite connection and its statement cache. */
typedef struct sq_db {
    sqlite3 *db;
    sq_stmt_t **stmts; /* cached (and transient while in use) statements */
    size_t n_stmts, cap_stmts;
    sqlite3_stmt *ctl[SQ_N_CTL];
} sq_db_t;

/* A pooled connection reads on its own handle; a write transaction runs on
 * the store's one writer handle (ss->writer, under write_mu). In WAL mode a
 * handle drops its whole page cache whenever another handle has committed
 * since its last transaction, so with writes spread over the pool every
 * write re-read the B-tree pages it touches (40 preads per request at 16
 * concurrent submissions). The writer sees only its own commits and keeps
 * its cache. */
struct aw_conn {
    sq_store_t *ss;
    sq_db_t own;
    sq_db_t *cur;      /* &own, or ss->writer during a write transaction */
    int mode;          /* of the current transaction; 0 outside one */
    bool write_locked; /* holds ss->write_mu */
    bool in_sp;        /* the write transaction is a SAVEPOINT in a batch others are in */
};

struct sq_stmt {
    aw_sql_t base;
    aw_conn_t *c; /* the connection of the transaction that uses it */
    sq_db_t *d;   /* the handle it was prepared on */
    sqlite3_stmt *st;
    char *key; /* the statement text as given (with $N) */
    bool busy, cached;
    int bind_rc;
    int64_t changes;
};

static int map_rc(sqlite3 *db, int rc, const char *what, aw_err_t *err) {
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return aw_err_set(err, AW_ECONFLICT, "store: %s: %s", what, msg);
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return aw_err_set(err, AW_EINVAL, "store: %s: %s", what, msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return aw_err_set(err, AW_EBUSY, "store: %s: database is locked; retry later", what);
    case SQLITE_NOMEM:
        return aw_err_set(err, AW_ENOMEM, "store: %s: out of memory", what);
    case SQLITE_FULL:
        return aw_err_set(err, AW_EIO, "store: %s: disk full", what);
    case SQLITE_TOOBIG:
        return aw_err_set(err, AW_ETOOBIG, "store: %s: value too big", what);
    default:
        return aw_err_set(err, AW_EIO, "store: %s: %s", what, msg);
    }
}

/* ---- store --------------------------------------------------------------- */

static int check_path(const char *path, aw_err_t *err) {
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return aw_err_set(err, AW_EINVAL,
                          "store: '%s' is not supported; give the path of a database file", path);
    char *copy = strdup(path);
    if (!copy) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    const char *dir = dirname(copy);
    struct stat sb;
    int rc = 0;
    if (stat(dir, &sb) != 0) {
        rc = aw_err_set(err, AW_EIO, "store: cannot open database %s: directory %s: %s", path, dir,
                        strerror(errno));
    } else if (!S_ISDIR(sb.st_mode)) {
        rc = aw_err_set(err, AW_EIO, "store: cannot open database %s: %s is not a directory", path,
                        dir);
    } else if (access(dir, W_OK | X_OK) != 0) {
        /* WAL needs to create PATH-wal and PATH-shm next to the file. */
        rc = aw_err_set(err, AW_EIO, "store: cannot open database %s: directory %s is not writable",
                        path, dir);
    } else if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            rc = aw_err_set(err, AW_EIO, "store: cannot open database %s: it is a directory", path);
        else if (access(path, R_OK | W_OK) != 0)
            rc = aw_err_set(err, AW_EIO, "store: cannot open database %s: %s", path,
                            strerror(errno));
    }
    free(copy);
    return rc;
}

static void db_close(struct sq_db *d);

static sq_batch_t *batch_commit_locked(sq_store_t *ss, uint64_t *seq);
static void batch_publish(sq_store_t *ss, sq_batch_t *b, uint64_t seq);

static void sq_close_impl(sq_store_t *ss) {
    if (ss->batch) { /* (no member can be waiting once every connection is closed) */
        uint64_t seq;
        sq_batch_t *b = batch_commit_locked(ss, &seq);
        batch_publish(ss, b, seq);
    }
    if (ss->writer) {
        db_close(ss->writer);
        free(ss->writer);
    }
    if (ss->ckpt_started) {
        pthread_mutex_lock(&ss->ckpt_mu);
        ss->ckpt_stop = true;
        pthread_cond_signal(&ss->ckpt_cv);
        pthread_mutex_unlock(&ss->ckpt_mu);
        pthread_join(ss->ckpt_th, NULL);
    }
    pthread_mutex_destroy(&ss->ckpt_mu);
    pthread_cond_destroy(&ss->ckpt_cv);
    pthread_cond_destroy(&ss->ckpt_done);
    pthread_mutex_destroy(&ss->write_mu);
    pthread_mutex_destroy(&ss->sync_mu);
    pthread_cond_destroy(&ss->sync_cv);
    if (ss->wal_fd >= 0) close(ss->wal_fd);
    free(ss->wal_path);
    free(ss->path);
    free(ss);
}

/* Called by SQLite after a commit with the WAL's size in pages. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages) {
    (void)db, (void)name;
    sq_store_t *ss = arg;
    atomic_store(&ss->wal_pages, pages);
    if (pages < atomic_load(&ss->ckpt_base)) { /* the WAL started over */
        atomic_store(&ss->ckpt_base, 0);
        atomic_store(&ss->ckpt_next, CKPT_PAGES);
    }
    if (pages >= atomic_load(&ss->ckpt_next)) {
        pthread_mutex_lock(&ss->ckpt_mu);
        ss->ckpt_pages = pages;
        if (!ss->ckpt_want) {
            ss->ckpt_want = true;
            pthread_cond_signal(&ss->ckpt_cv);
        }
        pthread_mutex_unlock(&ss->ckpt_mu);
    }
    return SQLITE_OK;
}

static void *ckpt_main(void *arg) {
    sq_store_t *ss = arg;
    sqlite3 *db = NULL;
    pthread_mutex_lock(&ss->ckpt_mu);
    for (;;) {
        while (!ss->ckpt_want && !ss->ckpt_stop) pthread_cond_wait(&ss->ckpt_cv, &ss->ckpt_mu);
        if (ss->ckpt_stop) break;
        ss->ckpt_want = false;
        bool hard = ss->ckpt_pages >= CKPT_HARD_PAGES;
        pthread_mutex_unlock(&ss->ckpt_mu);
        if (!db && sqlite3_open_v2(ss->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                   AW_WALBUF_VFS) == SQLITE_OK) {
            sqlite3_busy_timeout(db, ss->busy_ms);
            /* NORMAL: the checkpoint syncs the WAL before and the database
             * after copying */
            sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        }
        int log = 0, done = 0;
        if (db && !hard) {
            if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
                    SQLITE_OK &&
                log > 0) {
                atomic_store(&ss->ckpt_base, log);
                atomic_store(&ss->ckpt_next, log + CKPT_PAGES);
            }
        } else if (db) {
            /* A PASSIVE checkpoint never finishes while writers keep
             * appending, and only a finished one lets the WAL start over:
             * past CKPT_HARD_PAGES, checkpoint between two writers (they
             * queue on the mutex meanwhile) and restart the WAL. */
            pthread_mutex_lock(&ss->write_mu);
            /* an open batch holds SQLite's write lock: commit it first */
            uint64_t seq = 0;
            sq_batch_t *b = ss->batch ? batch_commit_locked(ss, &seq) : NULL;
            int r = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
            pthread_mutex_unlock(&ss->write_mu);
            if (b) batch_publish(ss, b, seq);
            atomic_store(&ss->ckpt_base, 0);
            atomic_store(&ss->ckpt_next, CKPT_PAGES);
            /* the next commit writes from the start of the WAL */
            if (r == SQLITE_OK) atomic_store(&ss->wal_pages, 0);
        }
        pthread_mutex_lock(&ss->ckpt_mu);
        pthread_cond_broadcast(&ss->ckpt_done); /* stalled writers look again */
    }
    pthread_mutex_unlock(&ss->ckpt_mu);
    sqlite3_close_v2(db);
    return NULL;
}

/* fdatasync of the WAL file; (re)opens it when it is not the file at
 * wal_path any more: SQLite deletes the WAL when the last connection
 * closes, and a descriptor of a deleted file has no links (no path lookup
 * per sync). Only the leader calls this. The link count comes from statx
 * asking for nothing else: a stat that returns the times marks them as
 * seen (multigrain timestamps, Linux 6.13+), the next write then stamps
 * the file with a fine-grained mtime, and on ext4 every fdatasync after it
 * wrote the inode synchronously too (one more device write and wait per
 * commit: 7 % of the server's CPU at one client). */
static bool wal_linked(int fd) {
    struct statx a;
    if (statx(fd, "", AT_EMPTY_PATH, STATX_NLINK, &a) == 0) return a.stx_nlink > 0;
    struct stat b; /* no statx (a seccomp filter may refuse it) */
    return (errno == ENOSYS || errno == EPERM) && fstat(fd, &b) == 0 && b.st_nlink > 0;
}

static int wal_sync(sq_store_t *ss) {
    if (ss->wal_fd >= 0 && !wal_linked(ss->wal_fd)) {
        close(ss->wal_fd);
        ss->wal_fd = -1;
    }
    if (ss->wal_fd < 0) ss->wal_fd = open(ss->wal_path, O_RDWR | O_CLOEXEC);
    if (ss->wal_fd < 0) return -1;
    return fdatasync(ss->wal_fd);
}

/* Returns once commit number seq is covered by an fdatasync of the WAL. */
static int group_sync(sq_store_t *ss, uint64_t seq, aw_err_t *err) {
    int rc = 0;
    pthread_mutex_lock(&ss->sync_mu);
    while (ss->synced < seq && rc == 0) {
        if (ss->syncing) {
            pthread_cond_wait(&ss->sync_cv, &ss->sync_mu);
            continue;
        }
        ss->syncing = true;
        /* every commit counted so far has written its frames */
        uint64_t target = atomic_load(&ss->committed);
        pthread_mutex_unlock(&ss->sync_mu);
        int r = wal_sync(ss);
        int e = errno;
        pthread_mutex_lock(&ss->sync_mu);
        ss->syncing = false;
        if (r == 0 && target > ss->synced) ss->synced = target;
        pthread_cond_broadcast(&ss->sync_cv);
        if (r != 0)
            rc = aw_err_set(err, AW_EIO, "store: %s: cannot sync the write-ahead log: %s",
                            ss->wal_path, strerror(e));
    }
    pthread_mutex_unlock(&ss->sync_mu);
    return rc;
}

static int sq_open(aw_store_t *st, const char *target, aw_err_t *err) {
    int rc = check_path(target, err);
    if (rc != 0) return rc;
    if (!sqlite3_threadsafe())
        return aw_err_set(err, AW_EUNSUPPORTED, "store: SQLite was built without thread support");
    if (aw_walbuf_register() != SQLITE_OK)
        return aw_err_set(err, AW_EUNSUPPORTED, "store: cannot register the WAL write VFS");
    sq_store_t *ss = calloc(1, sizeof *ss);
    if (!ss || !(ss->path = strdup(target))) {
        free(ss);
        return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    }
    pthread_mutex_init(&ss->write_mu, NULL);
    pthread_mutex_init(&ss->sync_mu, NULL);
    pthread_cond_init(&ss->sync_cv, NULL);
    ss->wal_fd = -1;
    ss->ckpt_every = st->opts.wal_checkpoint_pages;
    atomic_store(&ss->ckpt_next, CKPT_PAGES);
    pthread_mutex_init(&ss->ckpt_mu, NULL);
    pthread_cond_init(&ss->ckpt_cv, NULL);
    pthread_cond_init(&ss->ckpt_done, NULL);
    ss->busy_ms = st->opts.busy_timeout_ms;
    ss->ckpt_started = pthread_create(&ss->ckpt_th, NULL, ckpt_main, ss) == 0;
    if (asprintf(&ss->wal_path, "%s-wal", target) < 0) {
        ss->wal_path = NULL;
        sq_close_impl(ss);
        return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    }
    ss->busy_ms = st->opts.busy_timeout_ms;
    st->impl = ss;
    return 0;
}

static void sq_close(aw_store_t *st) {
    sq_store_t *ss = st->impl;
    if (!ss) return;
    sq_close_impl(ss);
    st->impl = NULL;
}

/* ---- connections --------------------------------------------------------- */

static void stmt_free(sq_stmt_t *s) {
    sqlite3_finalize(s->st);
    free(s->key);
    free(s);
}

static void db_close(sq_db_t *d) {
    for (int i = 0; i < SQ_N_CTL; i++) sqlite3_finalize(d->ctl[i]);
    for (size_t i = 0; i < d->n_stmts; i++) stmt_free(d->stmts[i]);
    free(d->stmts);
    sqlite3_close_v2(d->db);
    memset(d, 0, sizeof *d);
}

static int pragma_expect(sq_store_t *ss, sqlite3 *db, const char *sql, const char *want,
                         aw_err_t *err) {
    sqlite3_stmt *s;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc != SQLITE_OK) return map_rc(db, rc, ss->path, err);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && want) {
        const char *got = (const char *)sqlite3_column_text(s, 0);
        if (!got || strcmp(got, want) != 0) {
            aw_err_set(err, AW_EIO, "store: %s: '%s' returned '%s', expected '%s'", ss->path, sql,
                       got ? got : "", want);
            sqlite3_finalize(s);
            return AW_EIO;
        }
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        rc = map_rc(db, rc, ss->path, err);
        sqlite3_finalize(s);
        return rc;
    }
    sqlite3_finalize(s);
    return 0;
}

/* Opens a handle on the store's file with the settings at the top. */
static int db_open(sq_store_t *ss, sq_db_t *d, aw_err_t *err) {
    memset(d, 0, sizeof *d);
    int rc = sqlite3_open_v2(ss->path, &d->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             AW_WALBUF_VFS);
    if (rc != SQLITE_OK) {
        aw_err_set(err, AW_EIO, "store: cannot open database %s: %s", ss->path,
                   d->db ? sqlite3_errmsg(d->db) : sqlite3_errstr(rc));
        db_close(d);
        return AW_EIO;
    }
    sqlite3_extended_result_codes(d->db, 1);
    sqlite3_busy_timeout(d->db, ss->busy_ms);
    /* replaces the autocheckpoint inside COMMIT; without the thread
     * (could not start one) SQLite's own autocheckpoint stays */
    if (ss->ckpt_started) sqlite3_wal_hook(d->db, wal_hook, ss);
    /* `journal_mode=WAL` can answer SQLITE_BUSY at once, without the busy
     * handler, while another process opens, recovers or gives up the same
     * file (seen with several processes migrating a new database at once):
     * retry for up to the busy timeout, backing off as SQLite's handler
     * does. */
    int r = 0;
    int64_t waited_us = 0, step_us = 1000;
    for (;;) {
        r = pragma_expect(ss, d->db, "PRAGMA journal_mode=WAL", "wal", err);
        if (r != AW_EBUSY || waited_us >= (int64_t)ss->busy_ms * 1000) break;
        usleep((useconds_t)step_us);
        waited_us += step_us;
        if (step_us < 50000) step_us *= 2;
    }
    /* NORMAL + group_sync */
    if (r == 0) r = pragma_expect(ss, d->db, "PRAGMA synchronous=NORMAL", NULL, err);
    if (r == 0) r = pragma_expect(ss, d->db, "PRAGMA foreign_keys=ON", NULL, err);
    if (r == 0) r = pragma_expect(ss, d->db, "PRAGMA trusted_schema=OFF", NULL, err);
    /* deleted content is overwritten (Debian builds SQLite so; others may
     * not): purged ciphertext and wiped keys do not stay in free pages */
    if (r == 0) r = pragma_expect(ss, d->db, "PRAGMA secure_delete=ON", NULL, err);
    if (r != 0) {
        if (err && strstr(err->msg, "not a database"))
            aw_err_set(err, AW_EIO, "store: %s is not an SQLite database", ss->path);
        db_close(d);
        return r;
    }
    return 0;
}

static void sq_conn_close(aw_conn_t *c) {
    if (!c) return;
    db_close(&c->own);
    free(c);
}

static int sq_conn_open(aw_store_t *st, aw_conn_t **out, aw_err_t *err) {
    sq_store_t *ss = st->impl;
    aw_conn_t *c = calloc(1, sizeof *c);
    if (!c) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    c->ss = ss;
    int rc = db_open(ss, &c->own, err);
    if (rc != 0) {
        free(c);
        return rc;
    }
    c->cur = &c->own;
    *out = c;
    return 0;
}

/* Outside a transaction a healthy connection is in autocommit mode; one
 * stuck inside a transaction (a ROLLBACK that failed) is not reused. */
static bool sq_conn_ok(aw_conn_t *c) {
    return sqlite3_get_autocommit(c->own.db) != 0;
}

static void release_stmts(aw_conn_t *c) {
    sq_db_t *d = c->cur;
    for (size_t i = 0; i < d->n_stmts;) {
        sq_stmt_t *s = d->stmts[i];
        if (s->busy) aw_sql_done(&s->base);
        /* done removed a transient statement: look at the same slot again */
        if (i < d->n_stmts && d->stmts[i] == s) i++;
    }
}

/* Runs BEGIN, BEGIN IMMEDIATE, COMMIT or ROLLBACK on the current handle (a statement
 * prepared once: parsing them on every transaction showed in profiles). */
static int db_ctl(sq_db_t *d, int which, aw_err_t *err) {
    int rc = SQLITE_OK;
    if (!d->ctl[which])
        rc = sqlite3_prepare_v3(d->db, sq_ctl_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                &d->ctl[which], NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(d->ctl[which]);
        sqlite3_reset(d->ctl[which]);
        if (rc == SQLITE_DONE) return 0;
    }
    return map_rc(d->db, rc, sq_ctl_sql[which], err);
}

static int ctl_exec(aw_conn_t *c, int which, aw_err_t *err) {
    return db_ctl(c->cur, which, err);
}

/* The writer handle, opened on first use; one left inside a transaction
 * without an open batch (a ROLLBACK that failed) is replaced. Called under
 * write_mu. */
static int writer_get(sq_store_t *ss, aw_err_t *err) {
    if (ss->writer && (ss->batch || sqlite3_get_autocommit(ss->writer->db))) return 0;
    if (ss->writer) {
        db_close(ss->writer);
        free(ss->writer);
        ss->writer = NULL;
    }
    sq_db_t *d = calloc(1, sizeof *d);
    if (!d) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    int rc = db_open(ss, d, err);
    if (rc != 0) {
        free(d);
        return rc;
    }
    ss->writer = d;
    return 0;
}

/* A write transaction that would grow a WAL already past CKPT_STALL_PAGES
 * waits (bounded by dl) until the checkpoint thread has restarted it. */
static void wal_stall(sq_store_t *ss, const struct timespec *dl) {
    if (!ss->ckpt_started || atomic_load(&ss->wal_pages) < CKPT_STALL_PAGES) return;
    pthread_mutex_lock(&ss->ckpt_mu);
    while (atomic_load(&ss->wal_pages) >= CKPT_STALL_PAGES && !ss->ckpt_stop) {
        ss->ckpt_pages = atomic_load(&ss->wal_pages);
        if (!ss->ckpt_want) {
            ss->ckpt_want = true;
            pthread_cond_signal(&ss->ckpt_cv);
        }
        if (pthread_cond_timedwait(&ss->ckpt_done, &ss->ckpt_mu, dl) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&ss->ckpt_mu);
}

/* ---- write batches (see the top of this file) ------------------------------ */

/* Under write_mu: commits the open batch (or finds it lost: SQLite rolls a
 * transaction back by itself after some errors) and detaches it; *seq is
 * the commit to wait for, 0 when it failed. */
static sq_batch_t *batch_commit_locked(sq_store_t *ss, uint64_t *seq) {
    sq_batch_t *b = ss->batch;
    ss->batch = NULL;
    atomic_store(&b->closed, true);
    *seq = 0;
    aw_err_t e = {0};
    int rc;
    if (sqlite3_get_autocommit(ss->writer->db))
        rc = aw_err_set(&e, AW_EIO, "store: %s: the transaction was rolled back after an error",
                        ss->path);
    else if ((rc = db_ctl(ss->writer, SQ_COMMIT, &e)) != 0 &&
             !sqlite3_get_autocommit(ss->writer->db))
        db_ctl(ss->writer, SQ_ROLLBACK, NULL);
    if (rc == 0) {
        *seq = atomic_fetch_add(&ss->committed, 1) + 1;
        atomic_fetch_add(&ss->n_batches, 1);
        atomic_fetch_add(&ss->n_batched, b->members);
    } else {
        aw_err_prefix(&e, "commit failed, transaction rolled back");
        b->rc = rc;
        snprintf(b->msg, sizeof b->msg, "%s", e.msg);
    }
    return b;
}

/* Outside write_mu: waits for the WAL sync of commit seq and tells the
 * members the outcome. */
static void batch_publish(sq_store_t *ss, sq_batch_t *b, uint64_t seq) {
    aw_err_t e = {0};
    if (seq && group_sync(ss, seq, &e) != 0) {
        b->rc = e.code;
        snprintf(b->msg, sizeof b->msg, "%s", e.msg);
    }
    pthread_mutex_lock(&ss->sync_mu);
    b->done = true;
    bool last = --b->refs == 0;
    pthread_cond_broadcast(&ss->sync_cv);
    pthread_mutex_unlock(&ss->sync_mu);
    if (last) free(b);
}

static bool syncing(sq_store_t *ss) {
    pthread_mutex_lock(&ss->sync_mu);
    bool r = ss->syncing;
    pthread_mutex_unlock(&ss->sync_mu);
    return r;
}

/* Takes the writer mutex and commits batch b if it is still open. Waits
 * for the mutex at most BATCH_WAIT_MS: its holder may commit b itself (a
 * bulk transaction does as it starts), and the caller looks again. */
static void batch_take_over(sq_store_t *ss, sq_batch_t *b, int busy_ms) {
    struct timespec dl =
        aw_time_deadline(CLOCK_REALTIME, busy_ms < BATCH_WAIT_MS ? busy_ms : BATCH_WAIT_MS);
    if (pthread_mutex_timedlock(&ss->write_mu, &dl) != 0) return;
    if (ss->batch != b) {
        pthread_mutex_unlock(&ss->write_mu);
        return;
    }
    uint64_t seq;
    batch_commit_locked(ss, &seq);
    pthread_mutex_unlock(&ss->write_mu);
    batch_publish(ss, b, seq);
}

/* A member's wait for its batch. The batch was left open because a WAL
 * sync was running or another writer was waiting. Its first member commits
 * it once no sync runs and no writer waits (a commit now would have waited
 * for that sync anyway); any member does after BATCH_WAIT_MS without
 * progress and no sync running (a writer it counted on gave up). */
static int batch_wait(sq_store_t *ss, sq_batch_t *b, bool first, int busy_ms, aw_err_t *err) {
    pthread_mutex_lock(&ss->sync_mu);
    while (!b->done) {
        if (atomic_load(&b->closed)) { /* its committer announces the outcome */
            pthread_cond_wait(&ss->sync_cv, &ss->sync_mu);
            continue;
        }
        bool take = first && !ss->syncing && atomic_load(&ss->write_waiters) == 0;
        if (!take) {
            struct timespec ts = aw_time_deadline(CLOCK_REALTIME, BATCH_WAIT_MS);
            take = pthread_cond_timedwait(&ss->sync_cv, &ss->sync_mu, &ts) == ETIMEDOUT &&
                   !ss->syncing && !atomic_load(&b->closed);
        }
        if (take && !b->done) {
            pthread_mutex_unlock(&ss->sync_mu);
            batch_take_over(ss, b, busy_ms);
            pthread_mutex_lock(&ss->sync_mu);
        }
    }
    int rc = b->rc;
    if (rc) aw_err_set(err, rc, "%s", b->msg);
    bool last = --b->refs == 0;
    pthread_mutex_unlock(&ss->sync_mu);
    if (last) free(b);
    return rc;
}

static void end_tx(aw_conn_t *c) {
    c->mode = 0;
    c->cur = &c->own;
    c->in_sp = false;
    if (c->write_locked) pthread_mutex_unlock(&c->ss->write_mu);
    c->write_locked = false;
}

/* The end of a write transaction (its part released into the batch when
 * member, undone when not): leaves the batch open for a writer that waits,
 * or commits it; then, for a member, waits for the outcome. Called under
 * write_mu; returns without it. */
static int batch_leave(aw_conn_t *c, bool member, aw_err_t *err) {
    sq_store_t *ss = c->ss;
    sq_batch_t *b = ss->batch;
    if (member) {
        b->members++;
        b->refs++;
    }
    if (b->members == 0) { /* nothing in it: end the SQLite transaction */
        ss->batch = NULL;
        if (!sqlite3_get_autocommit(ss->writer->db)) db_ctl(ss->writer, SQ_ROLLBACK, NULL);
        end_tx(c);
        free(b);
        return 0;
    }
    bool lost = sqlite3_get_autocommit(ss->writer->db) != 0;
    bool first = member && b->members == 1;
    if (!lost && b->members < BATCH_MAX && (atomic_load(&ss->write_waiters) > 0 || syncing(ss))) {
        end_tx(c); /* the next writer, or the first member after the sync, commits */
    } else {
        uint64_t seq;
        batch_commit_locked(ss, &seq);
        end_tx(c);
        batch_publish(ss, b, seq);
    }
    return member ? batch_wait(ss, b, first, ss->busy_ms, err) : 0;
}

static int sq_begin(aw_conn_t *c, int mode, aw_err_t *err) {
    sq_store_t *ss = c->ss;
    bool bulk = mode & AW_TX_BULK;
    mode &= ~AW_TX_BULK;
    if (mode == AW_TX_READ) {
        int rc = ctl_exec(c, SQ_BEGIN, err);
        if (rc == 0) c->mode = mode;
        return rc;
    }
    struct timespec dl = aw_time_deadline(CLOCK_REALTIME, ss->busy_ms);
    wal_stall(ss, &dl);
    atomic_fetch_add(&ss->write_waiters, 1);
    int lr = pthread_mutex_timedlock(&ss->write_mu, &dl);
    atomic_fetch_sub(&ss->write_waiters, 1);
    if (lr != 0)
        return aw_err_set(err, AW_EBUSY,
                          "store: another write transaction held the lock for %d ms; "
                          "retry later",
                          ss->busy_ms);
    c->write_locked = true;
    int rc = writer_get(ss, err);
    if (rc != 0) {
        end_tx(c);
        return rc;
    }
    c->cur = ss->writer;
    if (ss->batch && !sqlite3_get_autocommit(ss->writer->db) && !bulk) {
        /* others' work is in the open transaction: ours goes on top */
        rc = ctl_exec(c, SQ_SAVEPOINT, err);
        c->in_sp = rc == 0;
    } else {
        /* a batch lost (rolled back by SQLite): its members learn it; one
         * open for a long transaction: committed first, its members do not
         * wait for the long one */
        if (ss->batch) {
            uint64_t seq;
            sq_batch_t *old = batch_commit_locked(ss, &seq);
            batch_publish(ss, old, seq);
        }
        ss->batch = calloc(1, sizeof *ss->batch);
        rc = ss->batch ? ctl_exec(c, SQ_BEGIN_IMMEDIATE, err)
                       : aw_err_set(err, AW_ENOMEM, "store: out of memory");
        if (rc == 0) {
            ss->batch->refs = 1;
        } else {
            free(ss->batch);
            ss->batch = NULL;
        }
    }
    if (rc != 0) {
        if (ss->batch)
            batch_leave(c, false, NULL); /* others' work: commit or hand on */
        else
            end_tx(c);
        return rc;
    }
    c->mode = mode;
    return 0;
}

static void sq_rollback(aw_conn_t *c) {
    release_stmts(c);
    if (!c->write_locked) {
        if (!sqlite3_get_autocommit(c->cur->db)) ctl_exec(c, SQ_ROLLBACK, NULL);
        end_tx(c);
        return;
    }
    if (c->in_sp && !sqlite3_get_autocommit(c->cur->db)) {
        ctl_exec(c, SQ_ROLLBACK_TO, NULL);
        ctl_exec(c, SQ_RELEASE, NULL);
    }
    batch_leave(c, false, NULL);
}

static int sq_commit(aw_conn_t *c, aw_err_t *err) {
    release_stmts(c);
    if (!c->write_locked) {
        int rc = ctl_exec(c, SQ_COMMIT, err);
        if (rc != 0 && !sqlite3_get_autocommit(c->cur->db)) ctl_exec(c, SQ_ROLLBACK, NULL);
        end_tx(c);
        return rc;
    }
    int rc = c->in_sp ? ctl_exec(c, SQ_RELEASE, err) : 0;
    if (rc != 0) {
        aw_err_prefix(err, "commit failed, transaction rolled back");
        if (!sqlite3_get_autocommit(c->cur->db)) {
            ctl_exec(c, SQ_ROLLBACK_TO, NULL);
            ctl_exec(c, SQ_RELEASE, NULL);
        }
        batch_leave(c, false, NULL);
        return rc;
    }
    return batch_leave(c, true, err);
}

static int sq_exec_script(aw_conn_t *c, const char *sql, aw_err_t *err) {
    char *msg = NULL;
    int rc = sqlite3_exec(c->cur->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        aw_err_set(err, AW_EIO, "store: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return AW_EIO;
    }
    return 0;
}

/* ---- statements ---------------------------------------------------------- */

static int sq_prepare(aw_conn_t *c, aw_tx_t *tx, const char *sql, aw_sql_t **out, aw_err_t *err) {
    sq_db_t *d = c->cur;
    sq_stmt_t *found = NULL;
    bool cached_busy = false;
    /* Linear: the program has a bounded set of constant statements and the
     * pointer comparison hits first almost always. */
    for (size_t i = 0; i < d->n_stmts; i++) {
        sq_stmt_t *s = d->stmts[i];
        if (!s->cached) continue;
        if (s->key == sql || strcmp(s->key, sql) == 0) {
            if (s->busy)
                cached_busy = true;
            else
                found = s;
            break;
        }
    }
    if (!found) {
        if (d->n_stmts == d->cap_stmts) {
            size_t nc = d->cap_stmts ? d->cap_stmts * 2 : 32;
            sq_stmt_t **ns = realloc(d->stmts, nc * sizeof *ns);
            if (!ns) return aw_err_set(err, AW_ENOMEM, "store: out of memory");
            d->stmts = ns;
            d->cap_stmts = nc;
        }
        found = calloc(1, sizeof *found);
        char *q = aw_sql_dollar_to_qmark(sql);
        if (!found || !q || !(found->key = strdup(sql))) {
            free(q);
            if (found) free(found->key);
            free(found);
            return aw_err_set(err, AW_ENOMEM, "store: out of memory");
        }
        int rc = sqlite3_prepare_v3(d->db, q, -1, cached_busy ? 0 : SQLITE_PREPARE_PERSISTENT,
                                    &found->st, NULL);
        free(q);
        if (rc != SQLITE_OK) {
            rc = map_rc(d->db, rc, "prepare", err);
            aw_err_prefix(err, "SQL '%.200s'", sql);
            free(found->key);
            free(found);
            return rc;
        }
        found->base.eng = &aw_store_engine_sqlite;
        found->d = d;
        found->cached = !cached_busy;
        d->stmts[d->n_stmts++] = found;
    }
    found->c = c;
    found->base.borrow = false;
    found->busy = true;
    found->bind_rc = 0;
    found->changes = 0;
    found->base.tx = tx;
    *out = &found->base;
    return 0;
}

static void note_bind(sq_stmt_t *s, int rc) {
    if (rc != SQLITE_OK && s->bind_rc == 0) s->bind_rc = rc;
}

static void sq_bind_text(aw_sql_t *b, int i, const char *v) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    note_bind(
        s, v ? sqlite3_bind_text(s->st, i, v, -1, s->base.borrow ? SQLITE_STATIC : SQLITE_TRANSIENT)
             : sqlite3_bind_null(s->st, i));
}
static void sq_bind_int64(aw_sql_t *b, int i, int64_t v) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    note_bind(s, sqlite3_bind_int64(s->st, i, v));
}
static void sq_bind_null(aw_sql_t *b, int i) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    note_bind(s, sqlite3_bind_null(s->st, i));
}
static void sq_bind_blob(aw_sql_t *b, int i, const void *v, size_t n) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    note_bind(s, sqlite3_bind_blob64(s->st, i, v ? v : "", n,
                                     s->base.borrow ? SQLITE_STATIC : SQLITE_TRANSIENT));
}

static int sq_step(aw_sql_t *b, aw_err_t *err) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    if (s->bind_rc) return map_rc(s->d->db, s->bind_rc, "bind", err);
    if (s->c->mode == AW_TX_READ && !sqlite3_stmt_readonly(s->st))
        return aw_err_set(err, AW_ESTATE, "store: write statement in a read transaction");
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) {
        s->changes = sqlite3_changes64(s->d->db);
        return 0;
    }
    return map_rc(s->d->db, rc, "statement", err);
}

static bool sq_col_null(aw_sql_t *b, int col) {
    return sqlite3_column_type(((sq_stmt_t *)b)->st, col) == SQLITE_NULL;
}
static const char *sq_col_text(aw_sql_t *b, int col) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    if (sqlite3_column_type(s->st, col) == SQLITE_NULL) return NULL;
    return (const char *)sqlite3_column_text(s->st, col);
}
static int64_t sq_col_int64(aw_sql_t *b, int col) {
    return sqlite3_column_int64(((sq_stmt_t *)b)->st, col);
}
static const void *sq_col_blob(aw_sql_t *b, int col, size_t *n) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    const void *p = sqlite3_column_blob(s->st, col);
    *n = (size_t)sqlite3_column_bytes(s->st, col);
    return p;
}
static int64_t sq_changes(aw_sql_t *b) {
    return ((sq_stmt_t *)b)->changes;
}

static void sq_done(aw_sql_t *b) {
    sq_stmt_t *s = (sq_stmt_t *)b;
    sqlite3_reset(s->st);
    sqlite3_clear_bindings(s->st); /* no borrowed value is left bound */
    s->base.borrow = false;
    s->busy = false;
    s->base.tx = NULL;
    if (!s->cached) {
        sq_db_t *d = s->d;
        for (size_t i = 0; i < d->n_stmts; i++) {
            if (d->stmts[i] == s) {
                d->stmts[i] = d->stmts[--d->n_stmts];
                break;
            }
        }
        stmt_free(s);
    }
}

/* The writer handle after start-up migrations holds their schema and pages
 * (≈ 0.5 MB of an idle server); it is opened again by the first write. */
static void sq_trim(aw_store_t *st) {
    sq_store_t *ss = st->impl;
    pthread_mutex_lock(&ss->write_mu);
    bool closed = false;
    if (ss->writer && !ss->batch && sqlite3_get_autocommit(ss->writer->db)) {
        db_close(ss->writer);
        free(ss->writer);
        ss->writer = NULL;
        closed = true;
    }
    pthread_mutex_unlock(&ss->write_mu);
#ifdef __GLIBC__
    if (closed) malloc_trim(0); /* free() alone leaves the pages in the heap */
#else
    (void)closed;
#endif
}

static void sq_stats(aw_store_t *st, aw_store_stats_t *out) {
    sq_store_t *ss = st->impl;
    out->write_txs = atomic_load(&ss->n_batched);
    out->write_commits = atomic_load(&ss->n_batches);
    out->write_waiting = atomic_load(&ss->write_waiters);
}

const aw_store_engine_t aw_store_engine_sqlite = {
    .name = "sqlite",
    .dialect = AW_SQL_SQLITE,
    .open = sq_open,
    .close = sq_close,
    .conn_open = sq_conn_open,
    .conn_close = sq_conn_close,
    .conn_ok = sq_conn_ok,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .exec_script = sq_exec_script,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int64 = sq_bind_int64,
    .bind_null = sq_bind_null,
    .bind_blob = sq_bind_blob,
    .step = sq_step,
    .col_null = sq_col_null,
    .col_text = sq_col_text,
    .col_int64 = sq_col_int64,
    .col_blob = sq_col_blob,
    .changes = sq_changes,
    .done = sq_done,
    .stats = sq_stats,
    .trim = sq_trim,
};
