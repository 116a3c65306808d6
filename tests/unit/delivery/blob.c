/* Tests of src/delivery/blob.c: attachment content in the database, on both
 * store engines (chunking, streaming back, discarding, the purge's sweep). */
#include <string.h>

#include "../store/fixture.h"
#include "base/time.h"
#include "delivery/delivery.h"
#include "delivery/internal.h"
#include "store/sql.h"
#include "service.h"

#define DAY  (86400LL * 1000)
#define SUB  "00000000-0000-4000-8000-0000000000b1"
#define SUB2 "00000000-0000-4000-8000-0000000000b2"
#define SUB3 "00000000-0000-4000-8000-0000000000b3"

static aw_delivery_t *service(store_fixture_t *f, aw_delivery_config_t *cfg) {
    return dl_test_service(f, cfg, "database");
}

static void service_free(aw_delivery_t *d, aw_delivery_config_t *cfg) {
    dl_test_service_free(d, cfg);
}

static int64_t count(store_fixture_t *f, const char *sql, const char *blob) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx, sql, &q, &err, "t", blob), &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    int64_t n = aw_sql_col_int64(q, 0);
    aw_sql_done(q);
    aw_store_rollback(tx);
    return n;
}

static int64_t chunks(store_fixture_t *f, const char *blob) {
    return count(f, "SELECT COUNT(*) FROM delivery_blob_chunks WHERE blob_id = $1", blob);
}

static int64_t blobs(store_fixture_t *f, const char *blob) {
    return count(f, "SELECT COUNT(*) FROM delivery_blobs WHERE id = $1", blob);
}

/* A blob of n bytes (a pattern that shows misplaced chunks), written in
 * pieces of odd sizes; its id into id. */
static unsigned char *write_blob_of(aw_delivery_t *d, const char *sub, size_t n,
                                    char id[AW_UUID_STRLEN + 1]) {
    unsigned char *p = malloc(n);
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + i / 251);
    dl_blob_writer_t *w;
    aw_err_t err;
    ASSERT_OK(dl_blob_begin(d, sub, &w, &err), &err);
    for (size_t off = 0, step = 1; off < n; off += step, step = step * 3 + 1) {
        if (step > n - off) step = n - off;
        ASSERT_OK(dl_blob_write(w, (const char *)p + off, step, &err), &err);
    }
    ASSERT_OK(dl_blob_flush(w, &err), &err);
    snprintf(id, AW_UUID_STRLEN + 1, "%s", dl_blob_id(w));
    dl_blob_keep(w);
    dl_blob_free(w);
    return p;
}

static unsigned char *write_blob(aw_delivery_t *d, size_t n, char id[AW_UUID_STRLEN + 1]) {
    return write_blob_of(d, SUB, n, id);
}

/* Streams the blob back as the HTTP layer would; -1 when a read failed,
 * else the bytes read (into *out, malloc'd). */
static long long read_back(aw_delivery_t *d, const char *id, uint64_t size, unsigned char **out) {
    aw_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    aw_err_t err;
    *out = malloc(size + 1);
    if (dl_blob_respond(d, &resp, id, size, &err) != 0) return -1;
    ASSERT_EQ(resp.status, 200);
    ASSERT_STR(resp.content_type, "application/jose");
    ASSERT_EQ(resp.file_size, size);
    long long got = 0;
    while ((uint64_t)got < size) {
        /* MHD's block size, not a multiple of the chunk size */
        size_t max = size - (uint64_t)got < 65000 ? (size_t)(size - (uint64_t)got) : 65000;
        long long n = resp.stream_fn(resp.stream_ctx, (uint64_t)got, (char *)*out + got, max);
        if (n < 0) {
            got = -1;
            break;
        }
        ASSERT(n > 0 && (size_t)n <= max);
        got += n;
    }
    resp.stream_free(resp.stream_ctx);
    aw_buf_free(&resp.body);
    return got;
}

STORE_TEST(blob_chunks_stream_back_in_order) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = service(f, &cfg);
    /* two full chunks and a part, one byte short of three chunks, one byte */
    size_t sizes[] = {2 * DL_BLOB_CHUNK + 4321, 3 * DL_BLOB_CHUNK - 1, 1};
    int64_t want_chunks[] = {3, 3, 1};
    for (int k = 0; k < 3; k++) {
        char id[AW_UUID_STRLEN + 1];
        unsigned char *p = write_blob(d, sizes[k], id);
        ASSERT_EQ(chunks(f, id), want_chunks[k]);
        unsigned char *back;
        ASSERT_EQ(read_back(d, id, sizes[k], &back), (long long)sizes[k]);
        ASSERT(memcmp(back, p, sizes[k]) == 0);
        free(back);
        free(p);
    }
    service_free(d, &cfg);
}

STORE_TEST(blob_missing_chunk_is_a_read_error) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = service(f, &cfg);
    char id[AW_UUID_STRLEN + 1];
    size_t n = 2 * DL_BLOB_CHUNK + 10;
    free(write_blob(d, n, id));
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "DELETE FROM delivery_blob_chunks WHERE blob_id = $1 AND seq = 1",
                          NULL, &err, "t", id),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    /* the first chunk is there: the response starts, the second fails */
    unsigned char *back;
    ASSERT_EQ(read_back(d, id, n, &back), -1);
    free(back);
    /* nothing at all: no response (the caller answers 500) */
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(dl_blob_delete_in(tx, id, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    ASSERT_EQ(blobs(f, id) + chunks(f, id), 0);
    aw_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    ASSERT_EQ(dl_blob_respond(d, &resp, id, n, &err), AW_EIO);
    ASSERT(resp.stream_fn == NULL);
    service_free(d, &cfg);
}

STORE_TEST(blob_not_kept_is_deleted) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = service(f, &cfg);
    dl_blob_writer_t *w;
    aw_err_t err;
    ASSERT_OK(dl_blob_begin(d, SUB, &w, &err), &err);
    char id[AW_UUID_STRLEN + 1];
    snprintf(id, sizeof id, "%s", dl_blob_id(w));
    static char big[DL_BLOB_CHUNK + 100];
    ASSERT_OK(dl_blob_write(w, big, sizeof big, &err), &err);
    ASSERT_EQ(blobs(f, id), 1);
    ASSERT_EQ(chunks(f, id), 1); /* the full chunk is stored already */
    dl_blob_free(w);             /* an upload refused or broken off */
    ASSERT_EQ(blobs(f, id), 0);
    ASSERT_EQ(chunks(f, id), 0);
    service_free(d, &cfg);
}

/* A submission in state (incomplete or submitted) created at created. */
static void add_sub(store_fixture_t *f, const char *id, const char *state, int64_t created) {
    char dest[40];
    dl_test_dest(f, dest);
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          "INSERT INTO delivery_submissions (id, case_id, destination_id,"
                          " sender_client_id, state, service_identifier, created_at,"
                          " submitted_at, updated_at)"
                          " VALUES ($1, $1, $2, 'c', $3, 'urn:x:y', $4, $4, $4)",
                          NULL, &err, "tttI", id, dest, state, created),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

/* What an upload's record transaction does: the attachment row points at
 * the blob, the blob is recorded. */
static void attach(store_fixture_t *f, const char *sub, const char *aid, const char *blob) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          "INSERT INTO delivery_attachments (submission_id, id, position, tag,"
                          " size, digest, blob_id) VALUES ($1, $2, 0, 't', 1, 'd', $3)",
                          NULL, &err, "ttt", sub, aid, blob),
              &err);
    ASSERT_OK(dl_blob_record_in(tx, blob, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

STORE_TEST(purge_sweeps_unrecorded_blobs_and_those_of_purged_submissions) {
    aw_delivery_config_t cfg;
    aw_delivery_t *d = service(f, &cfg);
    int64_t now = aw_time_now_ms();
    add_sub(f, SUB, "incomplete", now);
    add_sub(f, SUB3, "submitted", now);
    char kept[AW_UUID_STRLEN + 1], orphan[AW_UUID_STRLEN + 1], live[AW_UUID_STRLEN + 1];
    free(write_blob(d, 1000, kept));
    free(write_blob_of(d, SUB2, DL_BLOB_CHUNK + 1, orphan)); /* its node died */
    free(write_blob_of(d, SUB3, 10, live));
    attach(f, SUB, "00000000-0000-4000-8000-0000000000a1", kept);
    attach(f, SUB3, "00000000-0000-4000-8000-0000000000a3", live);
    /* the live one was uploaded three days ago: recorded, it stays */
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "UPDATE delivery_blobs SET created_at = $1 WHERE id = $2", NULL, &err,
                          "It", now - 3 * DAY, live),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    aw_delivery_purge_stats_t st;
    /* within a day nothing goes: the orphan could still be an upload */
    ASSERT_OK(aw_delivery_purge(d, now + DAY / 2, &st, &err), &err);
    ASSERT_EQ(st.blobs_swept, 0);
    ASSERT_EQ(blobs(f, orphan), 1);
    /* after a day: the orphan is swept, and the incomplete submission is
     * purged with its blob; the submitted one keeps its blob */
    ASSERT_OK(aw_delivery_purge(d, now + DAY + 1000, &st, &err), &err);
    ASSERT_EQ(st.incomplete_purged, 1);
    ASSERT_EQ(st.blobs_swept, 1);
    ASSERT_EQ(blobs(f, orphan) + chunks(f, orphan), 0);
    ASSERT_EQ(blobs(f, kept) + chunks(f, kept), 0);
    ASSERT_EQ(blobs(f, live) + chunks(f, live), 2);
    aw_delivery_purge_stats_t tot;
    aw_delivery_purge_totals(d, &tot);
    ASSERT_EQ(tot.blobs_swept, 1);
    /* recording a blob that is gone is a conflict, not a silent success */
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_EQ(dl_blob_record_in(tx, orphan, &err), AW_ECONFLICT);
    aw_store_rollback(tx);
    service_free(d, &cfg);
}

STORE_TEST(attachment_store_setting_is_checked) {
    aw_delivery_config_t cfg;
    aw_delivery_config_defaults(&cfg);
    cfg.var_dir = aw_test_tmpdir();
    cfg.attachment_store = "s3";
    aw_delivery_t *d = NULL;
    aw_err_t err;
    ASSERT_EQ(aw_delivery_new(&cfg, f->st, NULL, &d, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "'file' or 'database'");
}
