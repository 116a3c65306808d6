/* Attachments through the real server on both attachment stores: in the
 * database (several nodes on one PostgreSQL share them; --attachment-store
 * database on SQLite too) and as files (--var-dir), and the switch from
 * one to the other. */
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delivery_helpers.h"

#define A1    "2b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a00a1"
#define A2    "2b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a00a2"
#define CHUNK (256 * 1024) /* DL_BLOB_CHUNK in src/delivery/internal.h */

/* Plaintext of n bytes (text: the inbox's metadata hashes strlen bytes). */
static char *text(size_t n, char c0) {
    char *p = malloc(n + 1);
    for (size_t i = 0; i < n; i++) p[i] = (char)(c0 + (char)(i % 23));
    p[n] = 0;
    return p;
}

/* A second node: same database and platform key, its own --var-dir. */
static void start_node(aw_tc_server_t *srv, const char *db, const char *var) {
    char pk[700];
    snprintf(pk, sizeof pk, "%s/platform.jwk", aw_test_tmpdir());
    const char *args[] = {"serve", "--db",      db,  "--var-dir",   var,    "--platform-key",
                          pk,      "--threads", "4", "--log-level", "warn", NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" DL_ADMIN, NULL};
    aw_tc_start(srv, args, env);
}

static void get_attachment(int port, const char *token, const dl_sub_t *s, const char *aid,
                           aw_tc_resp_t *r) {
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s->sid, aid);
    dl_req(port, "GET", path, token, NULL, NULL, 0, r);
}

/* GET of the attachment gives exactly tok. */
static void attachment_is(int port, const char *token, const dl_sub_t *s, const char *aid,
                          const char *tok) {
    aw_tc_resp_t r;
    get_attachment(port, token, s, aid, &r);
    ASSERT_MSG(r.status == 200, "GET attachment: %d %s", r.status, r.body ? r.body : "");
    ASSERT_STR(aw_tc_header(&r, "Content-Type"), "application/jose");
    ASSERT_EQ(r.body_len, strlen(tok));
    ASSERT(memcmp(r.body, tok, strlen(tok)) == 0);
    aw_tc_resp_free(&r);
}

/* Files under DIR/attachments (the file store's). */
static int files_under(const char *var) {
    return aw_test_sh("test -z \"$(find %s/attachments -type f 2>/dev/null)\"", var) == 0 ? 0 : 1;
}

TEST_T(attachments_shared_by_two_nodes_postgres, 120) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    const char *extra[] = {"--db", url, NULL};
    dl_env_t a;
    dl_setup(&a, NULL, extra); /* node A: the default store on PostgreSQL, the database */
    char var_b[700];
    snprintf(var_b, sizeof var_b, "%s/var-b", aw_test_tmpdir());
    dl_env_t b = a;
    start_node(&b.srv, url, var_b);

    /* 600 kB of plaintext, about 800 kB sealed: more than three chunks */
    char *pt = text(600 * 1000, 'a');
    const char *ids[] = {A1};
    const char *pts[] = {pt};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&a, a.dest, ids, 1, &s), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *tok = dl_seal(pt, strlen(pt), tag);
    ASSERT_EQ(dl_put_attachment(&a, &s, A1, tok), 204);
    ASSERT_EQ(dl_submit_sealed(&a, &s, "{\"hund\":\"Bello\"}", NULL, ids, pts, 1), 202);

    /* node B serves the attachment node A took, byte for byte */
    attachment_is(b.srv.port, b.ptoken, &s, A1, tok);
    /* and the authority's inbox, talking to node B, checks its hash and
     * accepts */
    dl_inbox_accepts(&b, &a, s.cid);
    /* no node wrote a file */
    char var_a[700];
    snprintf(var_a, sizeof var_a, "%s/var", aw_test_tmpdir());
    ASSERT_EQ(files_under(var_a), 0);
    ASSERT_EQ(files_under(var_b), 0);

    free(pt);
    free(tok);
    ASSERT_EQ(aw_tc_stop(&b.srv), 0);
    ASSERT_EQ(aw_tc_stop(&a.srv), 0);
    aw_pg_harness_stop(&pg);
}

/* A server on SQLite with the database store (its file into db) and a
 * submission announced with attachment A1. */
static void start_sqlite_database_store(dl_env_t *e, char *db, size_t cap, dl_sub_t *s) {
    const char *extra[] = {"--attachment-store", "database", NULL};
    dl_setup(e, NULL, extra);
    snprintf(db, cap, "%s/amtsweg.db", aw_test_tmpdir());
    const char *ids[] = {A1};
    ASSERT_EQ(dl_announce(e, e->dest, ids, 1, s), 201);
}

TEST_T(attachment_in_database_on_sqlite_replaced_and_broken_off, 120) {
    dl_env_t e;
    char db[700];
    dl_sub_t s;
    start_sqlite_database_store(&e, db, sizeof db, &s);
    const char *ids[] = {A1};
    char tag[AW_JWE_TAG_LEN + 1];
    char *first = text(300 * 1000, 'A'), *second = text(450 * 1000, 'a');
    char *t1 = dl_seal(first, strlen(first), tag), *t2 = dl_seal(second, strlen(second), tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, t1), 204);
    int64_t after_first = dl_blob_rows(db, s.sid);
    ASSERT_GE(after_first, 3); /* one blob, two chunks or more */
    /* uploaded again with other content: the new blob replaces the old */
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, t2), 204);
    int64_t chunks2 = (int64_t)(strlen(t2) + CHUNK - 1) / CHUNK;
    ASSERT_EQ(dl_blob_rows(db, s.sid), 1 + chunks2);
    const char *pts[] = {second};
    ASSERT_EQ(dl_submit_sealed(&e, &s, "{\"a\":1}", NULL, ids, pts, 1), 202);
    attachment_is(e.srv.port, e.ptoken, &s, A1, t2);
    char var[700];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    ASSERT_EQ(files_under(var), 0);

    /* an upload that breaks off after more than a chunk leaves nothing */
    dl_sub_t s2;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s2), 201);
    dl_upload_broken_off(&e, db, &s2, A1, t2);
    /* and the attachment is still missing: the final PUT is refused */
    ASSERT_EQ(dl_submit_sealed(&e, &s2, "{\"a\":1}", NULL, ids, pts, 1), 422);

    free(first);
    free(second);
    free(t1);
    free(t2);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(file_attachments_stay_readable_after_switch_to_database, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL); /* SQLite: the file store */
    const char *ids[] = {A1};
    const char *pts[] = {"ein Beleg als Datei"};
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, "{\"a\":1}", NULL, ids, pts, 1, &s), 202);
    char var[700];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    ASSERT_EQ(files_under(var), 1);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
    /* the same database and directory, now with the database store */
    const char *extra[] = {"--attachment-store", "database", NULL};
    dl_start(&e, extra);
    dl_inbox_accepts(&e, &e, s.cid);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

typedef struct {
    dl_env_t *e;
    dl_sub_t *s;
    const char *tok;
    int status;
} put_t;

static void *put_thread(void *arg) {
    put_t *p = arg;
    p->status = dl_put_attachment(p->e, p->s, A1, p->tok);
    return NULL;
}

/* An upload and a final PUT racing on PostgreSQL: the upload's record
 * transaction takes the submission's row lock before it checks the state.
 * Here the "final PUT" is the test holding that lock with the state
 * changed to submitted: the upload waits for it (its statement shows as
 * waiting for a lock in pg_stat_activity; without the lock it would not
 * wait, and would record its attachment under a submitted submission) and
 * then answers 409, keeping nothing. */
TEST_T(upload_racing_a_submit_waits_for_it_postgres, 120) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    const char *extra[] = {"--db", url, NULL};
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    const char *ids[] = {A1};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *tok = dl_seal("eine Anlage", 11, tag);

    aw_store_t *st;
    aw_err_t err;
    ASSERT_MSG(aw_store_open(url, NULL, &st, &err) == 0, "%s", err.msg);
    aw_tx_t *tx;
    ASSERT_EQ(aw_store_begin(st, AW_TX_WRITE, &tx, &err), 0);
    int64_t ch = 0;
    ASSERT_EQ(aw_sql_exec(tx, "UPDATE delivery_submissions SET state = 'submitted' WHERE id = $1",
                          &ch, &err, "t", s.sid),
              0);
    ASSERT_EQ(ch, 1);
    put_t p = {.e = &e, .s = &s, .tok = tok};
    pthread_t th;
    ASSERT_EQ(pthread_create(&th, NULL, put_thread, &p), 0);
    int64_t waiting = 0;
    for (int i = 0; i < AW_TC_WAIT_S * 50 && waiting == 0; i++) {
        waiting = dl_db_count(url,
                              "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                              " AND query LIKE 'UPDATE delivery_submissions SET updated_at%'",
                              NULL);
        if (!waiting) {
            struct timespec ts = {0, 20 * 1000 * 1000}; /* polling a condition, bounded */
            nanosleep(&ts, NULL);
        }
    }
    ASSERT_EQ(aw_store_commit(tx, &err), 0);
    aw_store_close(st);
    pthread_join(th, NULL);
    ASSERT_MSG(waiting > 0, "the upload did not wait for the submission's row lock (status %d)",
               p.status);
    ASSERT_EQ(p.status, 409);
    ASSERT_EQ(dl_wait_blob_rows(url, s.sid, 0), 0);
    free(tok);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
    aw_pg_harness_stop(&pg);
}

/* The server killed (SIGKILL) in the middle of an upload to the database
 * store: what was accepted before stays (the first attachment, uploaded
 * and answered 204), the broken upload counts as not uploaded (the final
 * PUT is refused), and after a restart the sender uploads it again and the
 * authority's inbox accepts both. */
DL_TEST_BOTH(attachment_upload_survives_a_server_crash, 120) {
    const char *args[8];
    int n = 0;
    for (int i = 0; extra && extra[i] && n < 5; i++) args[n++] = extra[i];
    args[n++] = "--attachment-store";
    args[n++] = "database";
    args[n] = NULL;
    char db[700];
    if (extra)
        snprintf(db, sizeof db, "%s", extra[1]);
    else
        snprintf(db, sizeof db, "%s/amtsweg.db", aw_test_tmpdir());
    dl_env_t e;
    dl_setup(&e, NULL, args);
    const char *ids[] = {A1, A2};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 2, &s), 201);
    char *p1 = text(600 * 1000, 'a'), *p2 = text(600 * 1000, 'b');
    const char *pts[] = {p1, p2};
    char tag[AW_JWE_TAG_LEN + 1];
    char *t1 = dl_seal(p1, strlen(p1), tag), *t2 = dl_seal(p2, strlen(p2), tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, t1), 204);
    int64_t before = dl_blob_rows(db, s.sid);
    int fd = dl_upload_half(&e, db, &s, A2, t2, before + 2);
    ASSERT_EQ(aw_tc_signal(&e.srv, SIGKILL), 0);
    aw_tc_wait_exit(&e.srv);
    close(fd);
    dl_start(&e, args);
    ASSERT_EQ(dl_submit_sealed(&e, &s, "{\"a\":1}", NULL, ids, pts, 2), 422);
    ASSERT_EQ(dl_put_attachment(&e, &s, A2, t2), 204);
    ASSERT_EQ(dl_submit_sealed(&e, &s, "{\"a\":1}", NULL, ids, pts, 2), 202);
    attachment_is(e.srv.port, e.ptoken, &s, A1, t1);
    attachment_is(e.srv.port, e.ptoken, &s, A2, t2);
    dl_inbox_accepts(&e, &e, s.cid);
    free(p1);
    free(p2);
    free(t1);
    free(t2);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* The database store writes no file: a node starts and takes attachments
 * with a --var-dir it cannot create (a read-only file system), which the
 * file store refuses at start with a clear message. */
TEST_T(database_store_needs_no_writable_var_dir, 120) {
    const char *extra[] = {"--attachment-store", "database", "--var-dir", "/proc/amtsweg-none",
                           NULL};
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    const char *ids[] = {A1};
    const char *pts[] = {"ein Beleg"};
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, "{\"a\":1}", NULL, ids, pts, 1, &s), 202);
    dl_inbox_accepts(&e, &e, s.cid);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
    char out[700];
    snprintf(out, sizeof out, "%s/file-store.err", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("AMTSWEG_ADMIN_TOKEN=%s %s serve --listen 127.0.0.1:0 --db %s/other.db "
                         "--attachment-store file --var-dir /proc/amtsweg-none >/dev/null 2>%s",
                         DL_ADMIN, aw_test_bin(), aw_test_tmpdir(), out),
              1);
    char *msg = aw_test_read_file(out, NULL);
    ASSERT_CONTAINS(msg, "cannot use /proc/amtsweg-none/attachments as attachment directory");
    free(msg);
}

/* An upload whose blob the purge swept meanwhile (it outlived the
 * incomplete deadline: simulated by deleting the rows) ends with 409, not
 * a 5xx; uploading again works. */
TEST_T(upload_whose_blob_was_swept_gets_409, 120) {
    dl_env_t e;
    char db[700];
    dl_sub_t s;
    start_sqlite_database_store(&e, db, sizeof db, &s);
    char tag[AW_JWE_TAG_LEN + 1];
    char *pt = text(600 * 1000, 'c');
    char *tok = dl_seal(pt, strlen(pt), tag);
    int fd = dl_upload_half(&e, db, &s, A1, tok, 2);
    dl_db_exec(db,
               "DELETE FROM delivery_blob_chunks WHERE blob_id IN"
               " (SELECT id FROM delivery_blobs WHERE submission_id = $1)",
               s.sid);
    dl_db_exec(db, "DELETE FROM delivery_blobs WHERE submission_id = $1", s.sid);
    size_t half = strlen(tok) / 2;
    aw_tc_send(fd, tok + half, strlen(tok) - half);
    aw_tc_resp_t r;
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_MSG(r.status == 409, "status %d: %s", r.status, r.body ? r.body : "");
    ASSERT_CONTAINS(r.body, "took longer");
    aw_tc_resp_free(&r);
    close(fd);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, tok), 204);
    free(pt);
    free(tok);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* A download cut short (a chunk missing in the database: the response ends
 * before its Content-Length) is a transport error for `amtsweg inbox`: it
 * leaves the submission for a later run and rejects nothing. */
TEST_T(inbox_retries_an_attachment_cut_short, 120) {
    dl_env_t e;
    char db[700];
    dl_sub_t s;
    start_sqlite_database_store(&e, db, sizeof db, &s);
    const char *ids[] = {A1};
    char *pt = text(600 * 1000, 'd');
    const char *pts[] = {pt};
    char tag[AW_JWE_TAG_LEN + 1];
    char *tok = dl_seal(pt, strlen(pt), tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, A1, tok), 204);
    ASSERT_EQ(dl_submit_sealed(&e, &s, "{\"a\":1}", NULL, ids, pts, 1), 202);
    ASSERT_EQ(dl_db_exec(db,
                         "DELETE FROM delivery_blob_chunks WHERE seq = 1 AND blob_id IN"
                         " (SELECT id FROM delivery_blobs WHERE submission_id = $1)",
                         s.sid),
              1);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT(dl_inbox(&e, out) != 0); /* it says so */
    char *ev = dl_last_event(&e, s.cid, e.stoken);
    ASSERT_CONTAINS(ev, "submit-submission"); /* nothing decided */
    free(ev);
    ASSERT_EQ(aw_test_sh("test ! -e %s/%s", out, s.cid), 0); /* nothing written */
    free(pt);
    free(tok);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}
