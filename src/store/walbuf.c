/*
 * walbuf.c — the WAL write-gathering VFS shim (see walbuf.h).
 *
 * How SQLite writes a WAL (wal.c, sqlite3WalFrames), which this relies on:
 *  - a commit appends frames at the end of the log: for each page a 24-byte
 *    frame header, then the page; the last frame of a commit has the
 *    database size in header bytes 4..7 (0 in every other frame);
 *  - when the log starts over, the 32-byte WAL header is written at offset
 *    0 first;
 *  - frames of the open transaction may be rewritten in place (a page
 *    written twice, then their checksums): writes below the end of what
 *    this file object wrote. These go to the file at once, after the
 *    buffer, so the order of all writes is SQLite's own;
 *  - the commit becomes visible to readers (the WAL index header) only
 *    after the last write of sqlite3WalFrames returned: the buffer is in
 *    the file by then, because the page of the commit frame flushes it and
 *    a rewritten commit header is written through.
 * Another process that writes the same database (SQLite's write lock keeps
 * it from doing so during our transaction) may restart the log; until this
 * object restarts it too, its appends lie below its old end and are written
 * through one by one: slower, still correct.
 */
#include "store/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#define FRAME_HDR 24

typedef struct wb_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, after this struct */
    unsigned char *buf; /* AW_WALBUF_CAP bytes once written to */
    sqlite3_int64 off;  /* file offset of buf[0] */
    sqlite3_int64 end;  /* end of the log as written through this object */
    int len;
    bool commit_hdr; /* the last write was a commit frame's header */
} wb_file_t;

#define REAL_OFFSET ((sizeof(wb_file_t) + 7) & ~(size_t)7)

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *parent;
static _Atomic uint64_t n_asked, n_done, n_rewrites;

/* The unix VFS writes at most 128 KiB - 1 per call (it masks the length:
 * SQLite's own writes are at most a 64 KiB page), so longer runs go in
 * 64 KiB pieces. */
#define PIECE 65536

static int real_write(wb_file_t *p, const void *data, int n, sqlite3_int64 off) {
    int rc = SQLITE_OK;
    for (int at = 0; rc == SQLITE_OK && at < n; at += PIECE) {
        atomic_fetch_add_explicit(&n_done, 1, memory_order_relaxed);
        rc = p->real->pMethods->xWrite(p->real, (const char *)data + at,
                                       n - at < PIECE ? n - at : PIECE, off + at);
    }
    return rc;
}

static int flush(wb_file_t *p) {
    p->commit_hdr = false;
    if (p->len == 0) return SQLITE_OK;
    int n = p->len;
    p->len = 0;
    int rc = real_write(p, p->buf, n, p->off);
    if (rc != SQLITE_OK) p->end = p->off; /* what follows is not in the file */
    return rc;
}

static int wb_close(sqlite3_file *f) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    int rc2 = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
    sqlite3_free(p->buf);
    p->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *out, int n, sqlite3_int64 off) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xRead(p->real, out, n, off);
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int wb_write(sqlite3_file *f, const void *data, int n, sqlite3_int64 off) {
    wb_file_t *p = (wb_file_t *)f;
    atomic_fetch_add_explicit(&n_asked, 1, memory_order_relaxed);
    if (off == 0) p->end = 0; /* the log starts over */
    int rc;
    if (off < p->end || n > AW_WALBUF_CAP) {
        /* a rewrite of what is in the log already (or too large to
         * gather): after the buffer, straight to the file */
        atomic_fetch_add_explicit(&n_rewrites, off < p->end, memory_order_relaxed);
        if ((rc = flush(p)) != SQLITE_OK) return rc;
        rc = real_write(p, data, n, off);
        if (rc == SQLITE_OK && off + n > p->end) p->end = off + n;
        return rc;
    }
    /* the page of a commit frame follows its header in the buffer */
    bool commit_page = p->commit_hdr && p->len && off == p->off + p->len;
    if (p->len && (off != p->off + p->len || p->len + n > AW_WALBUF_CAP) &&
        (rc = flush(p)) != SQLITE_OK)
        return rc;
    p->commit_hdr = false;
    if (!p->buf && !(p->buf = sqlite3_malloc(AW_WALBUF_CAP))) {
        rc = real_write(p, data, n, off); /* no memory: unbuffered */
        if (rc == SQLITE_OK) p->end = off + n;
        return rc;
    }
    if (p->len == 0) p->off = off;
    memcpy(p->buf + p->len, data, (size_t)n);
    p->len += n;
    p->end = off + n;
    if (commit_page) return flush(p);
    p->commit_hdr = n == FRAME_HDR && be32((const unsigned char *)data + 4) != 0;
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    if (rc == SQLITE_OK && (rc = p->real->pMethods->xTruncate(p->real, size)) == SQLITE_OK &&
        p->end > size)
        p->end = size;
    return rc;
}

static int wb_sync(sqlite3_file *f, int flags) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xSync(p->real, flags);
}

static int wb_file_size(sqlite3_file *f, sqlite3_int64 *size) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileSize(p->real, size);
}

static int wb_lock(sqlite3_file *f, int level) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xLock(p->real, level);
}

static int wb_unlock(sqlite3_file *f, int level) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xUnlock(p->real, level);
}

static int wb_check_reserved(sqlite3_file *f, int *out) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int wb_file_control(sqlite3_file *f, int op, void *arg) {
    wb_file_t *p = (wb_file_t *)f;
    int rc = flush(p);
    return rc != SQLITE_OK ? rc : p->real->pMethods->xFileControl(p->real, op, arg);
}

static int wb_sector_size(sqlite3_file *f) {
    wb_file_t *p = (wb_file_t *)f;
    return p->real->pMethods->xSectorSize(p->real);
}

static int wb_device_characteristics(sqlite3_file *f) {
    wb_file_t *p = (wb_file_t *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

/* Version 1: SQLite maps and locks shared memory through the database
 * file, never through the WAL. */
static const sqlite3_io_methods wb_methods = {
    .iVersion = 1,
    .xClose = wb_close,
    .xRead = wb_read,
    .xWrite = wb_write,
    .xTruncate = wb_truncate,
    .xSync = wb_sync,
    .xFileSize = wb_file_size,
    .xLock = wb_lock,
    .xUnlock = wb_unlock,
    .xCheckReservedLock = wb_check_reserved,
    .xFileControl = wb_file_control,
    .xSectorSize = wb_sector_size,
    .xDeviceCharacteristics = wb_device_characteristics,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) /* our file is large enough for the parent's */
        return parent->xOpen(parent, name, f, flags, out_flags);
    wb_file_t *p = (wb_file_t *)f;
    memset(p, 0, sizeof *p);
    p->real = (sqlite3_file *)((char *)f + REAL_OFFSET);
    int rc = parent->xOpen(parent, name, p->real, flags, out_flags);
    p->base.pMethods = rc == SQLITE_OK ? &wb_methods : NULL;
    return rc;
}

static int reg_rc = SQLITE_ERROR;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;

static void reg(void) {
    parent = sqlite3_vfs_find(NULL);
    if (!parent) return;
    /* The parent's methods with its own pAppData and limits: only the name,
     * the file size and xOpen differ, and xOpen passes the parent on. */
    wb_vfs = *parent;
    wb_vfs.pNext = NULL;
    wb_vfs.zName = AW_WALBUF_VFS;
    wb_vfs.szOsFile = (int)REAL_OFFSET + parent->szOsFile;
    wb_vfs.xOpen = wb_open;
    reg_rc = sqlite3_vfs_register(&wb_vfs, 0);
}

int aw_walbuf_register(void) {
    pthread_once(&reg_once, reg);
    return reg_rc;
}

void aw_walbuf_counts(aw_walbuf_counts_t *out) {
    out->asked = atomic_load(&n_asked);
    out->done = atomic_load(&n_done);
    out->rewrites = atomic_load(&n_rewrites);
}
