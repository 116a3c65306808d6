/*
 * blob — attachment content in the database (--attachment-store database).
 *
 * With PostgreSQL several amtsweg nodes share one database; an attachment
 * uploaded through one node must be readable through any other. Files under
 * --var-dir would need shared storage for that, so on PostgreSQL (by
 * default) the ciphertext goes into the database:
 *
 *  - one upload is one blob (delivery_blobs), registered before the first
 *    byte, its content in chunks of DL_BLOB_CHUNK bytes (delivery_blob_chunks,
 *    written one transaction per chunk: memory per upload stays bounded and
 *    no transaction lasts as long as a slow client);
 *  - the upload's record transaction points the attachment row at the blob,
 *    marks the blob recorded and deletes the blob it replaces. On PostgreSQL the chunk transactions
 *    commit asynchronously; the record transaction's synchronous commit
 *    flushes the WAL up to itself, so every chunk before it is durable when
 *    the 204 goes out. On SQLite every commit is durable anyway;
 *  - a blob no attachment row points at is garbage: an upload that was
 *    refused, broke off, or ran in a node that died: it stays unrecorded.
 *    The upload's own error path deletes it; the purge sweeps the rest once
 *    they are older than the incomplete-submission deadline (no upload can
 *    take longer: its submission is gone by then), looking only at
 *    unrecorded blobs (a partial index), never at the attachments;
 *  - a download streams the chunks in order, one short read transaction
 *    per chunk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/time.h"
#include "base/uuid.h"
#include "delivery/internal.h"
#include "store/sql.h"

struct dl_blob_writer {
    aw_delivery_t *d;
    char id[AW_UUID_STRLEN + 1];
    char *buf; /* DL_BLOB_CHUNK bytes */
    size_t len;
    int64_t seq;
    bool kept;
};

/* Staging writes need not wait for the disk (see above). */
static int async_commit(aw_tx_t *tx, aw_err_t *err) {
    if (aw_sql_dialect(tx) != AW_SQL_POSTGRES) return 0;
    return aw_sql_exec(tx, "SET LOCAL synchronous_commit TO OFF", NULL, err, "");
}

int dl_blob_begin(aw_delivery_t *d, const char *sub_id, dl_blob_writer_t **out, aw_err_t *err) {
    *out = NULL;
    dl_blob_writer_t *w = calloc(1, sizeof *w);
    if (w) w->buf = malloc(DL_BLOB_CHUNK);
    if (!w || !w->buf) {
        if (w) free(w);
        return aw_err_set(err, AW_ENOMEM, "attachment: out of memory");
    }
    w->d = d;
    aw_uuid_v4(w->id);
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
    if (rc == 0) {
        rc = async_commit(tx, err);
        if (rc == 0)
            rc = aw_sql_exec(tx,
                             "INSERT INTO delivery_blobs (id, submission_id, created_at)"
                             " VALUES ($1, $2, $3)",
                             NULL, err, "ttI", w->id, sub_id, aw_time_now_ms());
        if (rc == 0)
            rc = aw_store_commit(tx, err);
        else
            aw_store_rollback(tx);
    }
    if (rc) {
        free(w->buf);
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

const char *dl_blob_id(const dl_blob_writer_t *w) {
    return w->id;
}

/* Stores the buffered bytes as the next chunk. */
static int put_chunk(dl_blob_writer_t *w, aw_err_t *err) {
    if (w->len == 0) return 0;
    aw_tx_t *tx;
    int rc = aw_store_begin(w->d->store, AW_TX_WRITE, &tx, err);
    if (rc) return rc;
    rc = async_commit(tx, err);
    aw_sql_t *q = NULL;
    if (rc == 0)
        rc = aw_sql_prepare(tx,
                            "INSERT INTO delivery_blob_chunks (blob_id, seq, data)"
                            " VALUES ($1, $2, $3)",
                            &q, err);
    if (rc == 0) {
        aw_sql_borrow(q); /* w->buf and w->id outlive the statement: no copy */
        aw_sql_bind_text(q, 1, w->id);
        aw_sql_bind_int64(q, 2, w->seq);
        aw_sql_bind_blob(q, 3, w->buf, w->len);
        rc = aw_sql_step(q, err);
        if (rc > 0) rc = 0;
        aw_sql_done(q);
    }
    if (rc == 0)
        rc = aw_store_commit(tx, err);
    else
        aw_store_rollback(tx);
    if (rc == 0) {
        w->seq++;
        w->len = 0;
    }
    return rc;
}

int dl_blob_write(dl_blob_writer_t *w, const char *data, size_t len, aw_err_t *err) {
    while (len) {
        size_t n = DL_BLOB_CHUNK - w->len;
        if (n > len) n = len;
        memcpy(w->buf + w->len, data, n);
        w->len += n;
        data += n;
        len -= n;
        if (w->len == DL_BLOB_CHUNK) {
            int rc = put_chunk(w, err);
            if (rc) return rc;
        }
    }
    return 0;
}

int dl_blob_flush(dl_blob_writer_t *w, aw_err_t *err) {
    return put_chunk(w, err);
}

void dl_blob_keep(dl_blob_writer_t *w) {
    w->kept = true;
}

void dl_blob_free(dl_blob_writer_t *w) {
    if (!w) return;
    if (!w->kept) {
        aw_tx_t *tx;
        aw_err_t err;
        int rc = aw_store_begin(w->d->store, AW_TX_WRITE, &tx, &err);
        if (rc == 0) {
            rc = async_commit(tx, &err);
            if (rc == 0) rc = dl_blob_delete_in(tx, w->id, &err);
            if (rc == 0)
                rc = aw_store_commit(tx, &err);
            else
                aw_store_rollback(tx);
        }
        if (rc) /* the sweep removes it later */
            aw_log_warn("delivery.attachment", "action=discard blob=%s outcome=failed err=%s",
                        w->id, aw_err_name(rc));
    }
    free(w->buf);
    free(w);
}

int dl_blob_record_in(aw_tx_t *tx, const char *blob_id, aw_err_t *err) {
    int64_t ch = 0;
    int rc = aw_sql_exec(tx, "UPDATE delivery_blobs SET recorded = 1 WHERE id = $1", &ch, err, "t",
                         blob_id);
    if (rc == 0 && ch != 1) /* swept meanwhile: its upload took longer than any may */
        rc = aw_err_set(err, AW_ECONFLICT, "attachment: the upload's content is gone");
    return rc;
}

int dl_blob_delete_in(aw_tx_t *tx, const char *blob_id, aw_err_t *err) {
    /* the chunks explicitly: no reliance on cascading foreign keys */
    int rc = aw_sql_exec(tx, "DELETE FROM delivery_blob_chunks WHERE blob_id = $1", NULL, err, "t",
                         blob_id);
    if (rc == 0)
        rc = aw_sql_exec(tx, "DELETE FROM delivery_blobs WHERE id = $1", NULL, err, "t", blob_id);
    return rc;
}

int dl_blobs_delete_submission_in(aw_tx_t *tx, const char *sub_id, aw_err_t *err) {
    int rc = aw_sql_exec(tx,
                         "DELETE FROM delivery_blob_chunks WHERE blob_id IN"
                         " (SELECT id FROM delivery_blobs WHERE submission_id = $1)",
                         NULL, err, "t", sub_id);
    if (rc == 0)
        rc = aw_sql_exec(tx, "DELETE FROM delivery_blobs WHERE submission_id = $1", NULL, err, "t",
                         sub_id);
    return rc;
}

#define SWEEP_BATCH 20

int dl_blob_sweep(aw_delivery_t *d, int64_t cutoff_ms, int64_t *swept, aw_err_t *err) {
    *swept = 0;
    for (int round = 0; round < 1000; round++) {
        char ids[SWEEP_BATCH][AW_UUID_STRLEN + 1];
        size_t n = 0;
        aw_tx_t *tx;
        int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
        if (rc) return rc;
        aw_sql_t *q;
        rc = aw_sql_query(tx,
                          "SELECT id FROM delivery_blobs WHERE recorded = 0 AND created_at < $1"
                          " ORDER BY created_at LIMIT $2",
                          &q, err, "Ii", cutoff_ms, SWEEP_BATCH);
        if (rc == 0) {
            while (n < SWEEP_BATCH && (rc = aw_sql_step(q, err)) == 1)
                snprintf(ids[n++], sizeof ids[0], "%s", aw_sql_col_text(q, 0));
            aw_sql_done(q);
            if (rc > 0) rc = 0;
        }
        aw_store_rollback(tx);
        if (rc || n == 0) return rc;
        for (size_t i = 0; i < n; i++) {
            if ((rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err)) != 0) return rc;
            /* still unrecorded: an upload may have been recorded since */
            int64_t ch = 0;
            rc = aw_sql_exec(tx, "DELETE FROM delivery_blobs WHERE id = $1 AND recorded = 0", &ch,
                             err, "t", ids[i]);
            if (rc == 0 && ch == 1)
                rc = aw_sql_exec(tx, "DELETE FROM delivery_blob_chunks WHERE blob_id = $1", NULL,
                                 err, "t", ids[i]);
            if (rc == 0)
                rc = aw_store_commit(tx, err);
            else
                aw_store_rollback(tx);
            if (rc) return rc;
            *swept += ch;
        }
        if (n < SWEEP_BATCH) return 0;
    }
    return 0;
}

/* ---- download -------------------------------------------------------------- */

typedef struct {
    aw_delivery_t *d;
    char id[AW_UUID_STRLEN + 1];
    uint64_t size, pos;
    int64_t seq; /* next chunk to load */
    unsigned char *buf;
    size_t len, off;
} reader_t;

static int load_chunk(reader_t *r) {
    aw_tx_t *tx;
    aw_err_t err;
    int rc = aw_store_begin(r->d->store, AW_TX_READ, &tx, &err);
    if (rc) return rc;
    aw_sql_t *q;
    rc = aw_sql_query(tx, "SELECT data FROM delivery_blob_chunks WHERE blob_id = $1 AND seq = $2",
                      &q, &err, "tI", r->id, r->seq);
    if (rc == 0) {
        if ((rc = aw_sql_step(q, &err)) == 1) {
            size_t n = 0;
            const void *p = aw_sql_col_blob(q, 0, &n);
            rc = 0;
            if (n == 0 || n > DL_BLOB_CHUNK || !p)
                rc = aw_err_set(&err, AW_EINTERNAL, "chunk %lld has %zu bytes", (long long)r->seq,
                                n);
            else {
                memcpy(r->buf, p, n);
                r->len = n;
                r->off = 0;
                r->seq++;
            }
        } else if (rc == 0)
            rc = aw_err_set(&err, AW_ENOTFOUND, "chunk %lld is missing", (long long)r->seq);
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (rc)
        aw_log_error("delivery.attachment", "action=read blob=%s outcome=failed err=%s", r->id,
                     aw_err_name(rc));
    return rc;
}

static long long read_blob(void *ctx, uint64_t pos, char *buf, size_t max) {
    reader_t *r = ctx;
    if (pos != r->pos) return -1; /* MHD reads in order; anything else is a bug */
    if (r->off == r->len && load_chunk(r) != 0) return -1;
    size_t n = r->len - r->off;
    if (n > max) n = max;
    if (n > r->size - r->pos) n = (size_t)(r->size - r->pos);
    memcpy(buf, r->buf + r->off, n);
    r->off += n;
    r->pos += n;
    return (long long)n;
}

static void free_reader(void *ctx) {
    reader_t *r = ctx;
    if (!r) return;
    free(r->buf);
    free(r);
}

int dl_blob_respond(aw_delivery_t *d, aw_http_resp_t *resp, const char *blob_id, uint64_t size,
                    aw_err_t *err) {
    reader_t *r = calloc(1, sizeof *r);
    if (r) r->buf = malloc(DL_BLOB_CHUNK);
    if (!r || !r->buf) {
        free_reader(r);
        return aw_err_set(err, AW_ENOMEM, "attachment: out of memory");
    }
    r->d = d;
    snprintf(r->id, sizeof r->id, "%s", blob_id);
    r->size = size;
    /* the first chunk now: a missing blob is a clean error, not a cut body */
    if (size > 0 && load_chunk(r) != 0) {
        free_reader(r);
        return aw_err_set(err, AW_EIO, "attachment: its content cannot be read");
    }
    aw_http_resp_stream(resp, 200, "application/jose", size, read_blob, free_reader, r);
    return 0;
}
