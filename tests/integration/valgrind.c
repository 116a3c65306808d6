/* The release binary under valgrind memcheck: start, answer requests of
 * every operator kind and error path, drain on SIGTERM — no invalid access,
 * no uninitialised use, no definite leak. And a delivery with an attachment
 * in the database store: chunked upload, streamed download, an upload cut
 * off by a reset, the signer. */
#include "delivery_helpers.h"
#include "harness.h"
#include "test.h"

#include <sys/socket.h>
#include <unistd.h>

/* Starts the release binary's `serve` with args under valgrind memcheck
 * (skips the test without valgrind or the binary). */
static void vg_start(aw_tc_server_t *s, const char *const *args, const char *const *env) {
    if (aw_test_sh("command -v valgrind >/dev/null") != 0) TEST_SKIP("valgrind not installed");
    const char *bin = getenv("AMTSWEG_RELEASE_BIN");
    if (!bin || access(bin, X_OK) != 0) TEST_SKIP("AMTSWEG_RELEASE_BIN not built");
    static char logopt[700];
    snprintf(logopt, sizeof logopt, "--log-file=%s/valgrind.log", aw_test_tmpdir());
    const char *argv[48] = {"valgrind",
                            "--quiet",
                            "--error-exitcode=99",
                            "--leak-check=full",
                            "--errors-for-leak-kinds=definite",
                            "--show-leak-kinds=definite",
                            logopt,
                            bin,
                            "serve"};
    int n = 9;
    for (int i = 0; args[i] && n < 47; i++) argv[n++] = args[i];
    argv[n] = NULL;
    aw_tc_start_argv(s, argv, env);
}

/* Stops the server; asserts a clean exit, with valgrind's words if not. */
static void vg_stop(aw_tc_server_t *s) {
    int rc = aw_tc_stop(s);
    char log[600];
    snprintf(log, sizeof log, "%s/valgrind.log", aw_test_tmpdir());
    char *vg = aw_test_read_file(log, NULL);
    ASSERT_MSG(rc == 0, "exit status %d; valgrind says:\n%s", rc, vg ? vg : "");
    free(vg);
}

TEST_T(release_binary_is_valgrind_clean, 300) {
    char db[600];
    snprintf(db, sizeof db, "%s/vg.db", aw_test_tmpdir());
    const char *args[] = {"--db", db, "--threads", "2", NULL};
    aw_tc_server_t s;
    vg_start(&s, args, NULL);
    const char *paths[] = {"/health", "/ready", "/metrics", "/nope", "/health/x"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        aw_tc_resp_t r;
        aw_tc_request(s.port, "GET", paths[i], NULL, NULL, 0, &r);
        ASSERT(r.status == 200 || r.status == 404);
        aw_tc_resp_free(&r);
    }
    aw_tc_resp_t r;
    aw_tc_request(s.port, "POST", "/health", "Content-Type: application/json\r\n", "{\"a\":1}", 7,
                  &r);
    ASSERT_EQ(r.status, 405);
    aw_tc_resp_free(&r);
    /* a body over the limit, sent whole before the answer is read: the
     * 413 comes after the headers and the rest lingers (linger.c) */
    int fd = aw_tc_connect(s.port);
    aw_tc_sendf(fd, "POST /health HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 8000000\r\n\r\n");
    size_t sent;
    int send_errno = aw_tc_send_filler(fd, 8000000, &sent);
    ASSERT_MSG(send_errno == 0, "send failed after %zu bytes: %s", sent, strerror(send_errno));
    ASSERT_EQ(aw_tc_read(fd, &r), 0);
    ASSERT_EQ(r.status, 413);
    aw_tc_resp_free(&r);
    ASSERT(aw_tc_wait_closed(fd));
    close(fd);
    vg_stop(&s);
}

/* db: the SQLite file or PostgreSQL URL the server uses. */
static void vg_delivery(const char *db) {
    char var[600], pk[600];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    snprintf(pk, sizeof pk, "%s/platform.jwk", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("cp %s/tests/data/jose/b/sig.private.jwk %s && chmod 600 %s",
                         aw_test_srcdir(), pk, pk),
              0);
    const char *args[] = {"--db",      db,  "--var-dir",   var,    "--platform-key",     pk,
                          "--threads", "2", "--log-level", "warn", "--attachment-store", "database",
                          NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" DL_ADMIN, NULL};
    dl_env_t e;
    memset(&e, 0, sizeof e);
    vg_start(&e.srv, args, env);
    dl_make_dest(&e, "active", NULL, e.dest, sizeof e.dest);
    dl_make_client(&e, "sender", NULL, e.sender_id, e.sender_secret);
    dl_make_client(&e, "subscriber", e.dest, e.sub_id, e.sub_secret);
    dl_token(e.srv.port, e.sender_id, e.sender_secret, e.stoken);
    dl_token(e.srv.port, e.sub_id, e.sub_secret, e.ptoken);
    /* 450 kB of plaintext, 600 kB sealed: two chunks and a part */
    char *pt = malloc(450001);
    for (int i = 0; i < 450000; i++) pt[i] = (char)('a' + i % 26);
    pt[450000] = 0;
    const char *ids[] = {"2b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a00c1"};
    const char *pts[] = {pt};
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, "{\"a\":1}", NULL, ids, pts, 1, &s), 202);
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s.sid, ids[0]);
    aw_tc_resp_t r;
    dl_req(e.srv.port, "GET", path, e.ptoken, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_GE(r.body_len, 450000);
    aw_tc_resp_free(&r);
    /* an upload reset after a chunk was stored */
    dl_sub_t s2;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s2), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *tok = dl_seal(pt, strlen(pt), tag);
    dl_upload_broken_off(&e, db, &s2, ids[0], tok);
    /* the event log, signed (by the signer or this reader) */
    json_t *logj = dl_events(&e, e.stoken, s.cid);
    ASSERT_GE(json_array_size(logj), 2);
    json_decref(logj);
    free(tok);
    free(pt);
    vg_stop(&e.srv);
}

TEST_T(release_delivery_with_database_attachments_is_valgrind_clean, 600) {
    char db[600];
    snprintf(db, sizeof db, "%s/vg.db", aw_test_tmpdir());
    vg_delivery(db);
}

TEST_T(release_delivery_on_postgres_is_valgrind_clean, 600) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    vg_delivery(url);
    aw_pg_harness_stop(&pg);
}
