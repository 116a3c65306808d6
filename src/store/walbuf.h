/*
 * walbuf — an SQLite VFS shim that hands each commit's WAL frames to the
 * kernel in one write instead of two per page.
 *
 * SQLite writes a WAL frame as two pwrite calls (the 24-byte frame header,
 * then the page), so a commit of 13 pages costs 26 system calls, each with
 * the file system's per-call work. This shim sits on the default VFS
 * ("unix") and, for WAL files only, gathers writes that continue exactly
 * where the previous one ended in a buffer. The buffer goes to the file:
 *  - right after the page of a commit frame (a frame header whose "database
 *    size after commit" field is not zero): before SQLite publishes the
 *    commit in the WAL index, so a reader on another connection never looks
 *    for frames that are not in the file yet;
 *  - before any read, sync, truncate, size query, file control, lock call
 *    or close of that file, and before a write that does not continue the
 *    buffer (SQLite rewriting a frame of its open transaction); so every
 *    write reaches the file in the order SQLite issued it;
 *  - when it is full (a large transaction: several writes, still in order).
 * A failed write of the buffer fails the SQLite call that caused it (for a
 * commit: the commit fails, as it would have with the direct write).
 * Database and other files are opened by the default VFS itself, unwrapped.
 * Memory: one buffer of AW_WALBUF_CAP bytes per WAL file that is written
 * to (readers never allocate one).
 */
#ifndef AW_STORE_WALBUF_H
#define AW_STORE_WALBUF_H

#include <stdint.h>

#define AW_WALBUF_VFS "amtsweg-walbuf"
#define AW_WALBUF_CAP (256 * 1024)

/* Registers the shim (not as the default VFS); idempotent and thread-safe.
 * 0 or an SQLite error code. */
int aw_walbuf_register(void);

/* Since the start of the process (for tests and diagnostics): writes
 * SQLite asked for on WAL files, writes that reached the file system, and
 * asked writes that rewrote a part of the log (written through). */
typedef struct aw_walbuf_counts {
    uint64_t asked, done, rewrites;
} aw_walbuf_counts_t;
void aw_walbuf_counts(aw_walbuf_counts_t *out);

#endif
