/*
 * Helpers for the delivery integration tests (static, one copy per test
 * file): a server with a platform key and loopback callbacks, a destination
 * with the committed TEST-ONLY keys `a`, sender/subscriber clients, tokens,
 * sealing, announcing and submitting like a FIT-Connect sender.
 */
#ifndef AW_TEST_DELIVERY_HELPERS_H
#define AW_TEST_DELIVERY_HELPERS_H

#include <jansson.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/b64.h"
#include "base/hex.h"
#include "../unit/store/pg_harness.h"
#include "harness.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/set.h"
#include "store/sql.h"
#include "store/store.h"
#include "test.h"

#define DL_ADMIN      "0123456789abcdef-test-token"
#define DL_LEIKA      "99123456789012"
#define DL_AUTH_ADMIN "Authorization: Bearer " DL_ADMIN "\r\n"

typedef struct dl_env {
    aw_tc_server_t srv;
    char dest[64];
    char sender_id[64], sender_secret[128];
    char sub_id[64], sub_secret[128];
    char stoken[128], ptoken[128]; /* sender / subscriber bearer tokens */
} dl_env_t;

static inline aw_jwk_t *dl_key(const char *set, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/%s/%s.jwk", aw_test_srcdir(), set, name);
    aw_err_t err = {0};
    aw_jwk_t *k = NULL;
    ASSERT_MSG(aw_jwk_load_file(path, &k, &err) == 0, "%s: %s", path, err.msg);
    return k;
}

static inline char *dl_keyfile_json(const char *set, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/%s/%s.jwk", aw_test_srcdir(), set, name);
    size_t n;
    char *s = aw_test_read_file(path, &n);
    ASSERT_NOT_NULL(s);
    return s;
}

static inline json_t *dl_json(const aw_tc_resp_t *r) {
    json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
    ASSERT_MSG(j != NULL, "not JSON (status %d): %s", r->status, r->body ? r->body : "");
    return j;
}

/* Request with optional bearer and content type; body may be NULL. */
static inline void dl_req(int port, const char *method, const char *path, const char *token,
                          const char *ct, const char *body, size_t len, aw_tc_resp_t *r) {
    char h[512] = "";
    size_t n = 0;
    if (token) n += (size_t)snprintf(h + n, sizeof h - n, "Authorization: Bearer %s\r\n", token);
    if (ct) n += (size_t)snprintf(h + n, sizeof h - n, "Content-Type: %s\r\n", ct);
    aw_tc_request(port, method, path, h, body, body ? len : 0, r);
}

static inline void dl_start(dl_env_t *e, const char *const *extra) {
    char db[700], var[700], pk[700];
    snprintf(db, sizeof db, "%s/amtsweg.db", aw_test_tmpdir());
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    snprintf(pk, sizeof pk, "%s/platform.jwk", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("cp %s/tests/data/jose/b/sig.private.jwk %s && chmod 600 %s",
                         aw_test_srcdir(), pk, pk),
              0);
    const char *args[24] = {"serve", "--db",
                            db,      "--var-dir",
                            var,     "--platform-key",
                            pk,      "--threads",
                            "4",     "--callback-allow-loopback",
                            "1",     "--log-level",
                            "warn"};
    int n = 13;
    for (int i = 0; extra && extra[i] && n < 22; i++) args[n++] = extra[i];
    args[n] = NULL;
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" DL_ADMIN, NULL};
    aw_tc_start(&e->srv, args, env);
}

/* Creates a destination (status, callback URL may be NULL); id into out. */
static inline void dl_make_dest(dl_env_t *e, const char *status, const char *cb_url, char *out,
                                size_t cap) {
    char *enc = dl_keyfile_json("a", "enc.public"), *sig = dl_keyfile_json("a", "sig.public");
    json_t *d = json_pack(
        "{s:s,s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}]}", "status", status, "encryptionPublicKey",
        json_loads(enc, 0, NULL), "signingPublicKey", json_loads(sig, 0, NULL), "services",
        "identifier", DL_LEIKA, "regions", "091620000000", "submissionSchemas", "schemaUri",
        "https://schema.fitko.de/fim/s00000094_1.0.schema.json", "mimeType", "application/json");
    free(enc);
    free(sig);
    ASSERT_NOT_NULL(d);
    if (cb_url)
        json_object_set_new(d, "callback",
                            json_pack("{s:s,s:s}", "url", cb_url, "secret",
                                      "callback-secret-0123456789abcdef0123"));
    char *body = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    aw_tc_resp_t r;
    aw_tc_request(e->srv.port, "POST", "/admin/v1/destinations",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), &r);
    free(body);
    ASSERT_MSG(r.status == 201, "create destination: %d %s", r.status, r.body);
    json_t *j = dl_json(&r);
    snprintf(out, cap, "%s", json_string_value(json_object_get(j, "destinationId")));
    json_decref(j);
    aw_tc_resp_free(&r);
}

static inline void dl_make_client(dl_env_t *e, const char *kind, const char *dest, char *id,
                                  char *secret) {
    char body[300];
    if (dest)
        snprintf(body, sizeof body, "{\"kind\":\"%s\",\"name\":\"t\",\"destinations\":[\"%s\"]}",
                 kind, dest);
    else
        snprintf(body, sizeof body, "{\"kind\":\"%s\",\"name\":\"t\"}", kind);
    aw_tc_resp_t r;
    aw_tc_request(e->srv.port, "POST", "/admin/v1/clients",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), &r);
    ASSERT_MSG(r.status == 201, "create client: %d %s", r.status, r.body);
    json_t *j = dl_json(&r);
    strcpy(id, json_string_value(json_object_get(j, "clientId")));
    strcpy(secret, json_string_value(json_object_get(j, "clientSecret")));
    json_decref(j);
    aw_tc_resp_free(&r);
}

static inline void dl_token(int port, const char *id, const char *secret, char *out) {
    char body[400];
    snprintf(body, sizeof body, "grant_type=client_credentials&client_id=%s&client_secret=%s", id,
             secret);
    aw_tc_resp_t r;
    dl_req(port, "POST", "/token", NULL, "application/x-www-form-urlencoded", body, strlen(body),
           &r);
    ASSERT_MSG(r.status == 200, "token: %d %s", r.status, r.body);
    json_t *j = dl_json(&r);
    strcpy(out, json_string_value(json_object_get(j, "access_token")));
    json_decref(j);
    aw_tc_resp_free(&r);
}

/* A test body run twice: `name` on the default SQLite store and
 * `name_postgres` on a throwaway PostgreSQL cluster (skipped where
 * PostgreSQL is not installed). The body passes `extra` (the --db
 * argument, or NULL) on to dl_setup/dl_start. */
#define DL_TEST_BOTH(name, timeout)                         \
    static void dl_body_##name(const char *const *extra);   \
    TEST_T(name, timeout) {                                 \
        dl_body_##name(NULL);                               \
    }                                                       \
    TEST_T(name##_postgres, timeout) {                      \
        aw_pg_harness_t pg;                                 \
        const char *url = aw_pg_harness_start_or_skip(&pg); \
        const char *extra[] = {"--db", url, NULL};          \
        dl_body_##name(extra);                              \
        aw_pg_harness_stop(&pg);                            \
    }                                                       \
    static void dl_body_##name(const char *const *extra)

/* Server + active destination (callback optional) + sender + subscriber. */
static inline void dl_setup(dl_env_t *e, const char *cb_url, const char *const *extra) {
    memset(e, 0, sizeof *e);
    dl_start(e, extra);
    dl_make_dest(e, "active", cb_url, e->dest, sizeof e->dest);
    dl_make_client(e, "sender", NULL, e->sender_id, e->sender_secret);
    dl_make_client(e, "subscriber", e->dest, e->sub_id, e->sub_secret);
    dl_token(e->srv.port, e->sender_id, e->sender_secret, e->stoken);
    dl_token(e->srv.port, e->sub_id, e->sub_secret, e->ptoken);
}

static inline void dl_sha512_hex(const void *p, size_t n, char out[129]) {
    unsigned char md[64];
    unsigned int l;
    EVP_Digest(p, n, md, &l, EVP_sha512(), NULL);
    aw_hex_encode(md, 64, out);
}

/* Seals pt for destination key a/enc; returns malloc'd token, tag out. */
static inline char *dl_seal(const void *pt, size_t n, char tag[AW_JWE_TAG_LEN + 1]) {
    aw_jwk_t *k = dl_key("a", "enc.public");
    aw_buf_t b = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_MSG(aw_jwe_seal(k, pt, n, AW_JWE_CTY_JSON, &b, tag, &err) == 0, "%s", err.msg);
    aw_jwk_free(k);
    return aw_buf_take(&b, NULL);
}

typedef struct dl_sub {
    char sid[64], cid[64];
    char mtag[AW_JWE_TAG_LEN + 1], dtag[AW_JWE_TAG_LEN + 1];
} dl_sub_t;

/* Announces with n attachment ids (given); returns status. */
static inline int dl_announce(dl_env_t *e, const char *dest, const char *const *att, int n,
                              dl_sub_t *s) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++) json_array_append_new(a, json_string(att[i]));
    json_t *b = json_pack("{s:s,s:o,s:{s:s,s:s}}", "destinationId", dest, "announcedAttachments", a,
                          "serviceType", "name", "Hund anmelden", "identifier",
                          "urn:de:fim:leika:leistung:" DL_LEIKA);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    aw_tc_resp_t r;
    dl_req(e->srv.port, "POST", "/v1/submissions", e->stoken, "application/json", body,
           strlen(body), &r);
    free(body);
    int st = r.status;
    if (st == 201) {
        json_t *j = dl_json(&r);
        strcpy(s->sid, json_string_value(json_object_get(j, "submissionId")));
        strcpy(s->cid, json_string_value(json_object_get(j, "caseId")));
        json_decref(j);
    }
    aw_tc_resp_free(&r);
    return st;
}

/* Metadata JSON (malloc'd) for data and attachments (plaintexts). */
static inline char *dl_metadata(const char *data, const char *const *att_ids,
                                const char *const *att_pt, int n) {
    char h[129];
    dl_sha512_hex(data, strlen(data), h);
    json_t *atts = json_array();
    for (int i = 0; i < n; i++) {
        char ah[129];
        dl_sha512_hex(att_pt[i], strlen(att_pt[i]), ah);
        json_array_append_new(atts, json_pack("{s:s,s:{s:s,s:s},s:s,s:s,s:s}", "attachmentId",
                                              att_ids[i], "hash", "type", "sha512", "content", ah,
                                              "purpose", "attachment", "mimeType", "text/plain",
                                              "filename", "beleg.txt"));
    }
    json_t *m = json_pack("{s:{s:{s:{s:s,s:s},s:{s:s,s:s}},s:o}}", "contentStructure", "data",
                          "hash", "type", "sha512", "content", h, "submissionSchema", "schemaUri",
                          "https://schema.fitko.de/fim/s00000094_1.0.schema.json", "mimeType",
                          "application/json", "attachments", atts);
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

static inline int dl_put_attachment(dl_env_t *e, const dl_sub_t *s, const char *aid,
                                    const char *tok) {
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", s->sid, aid);
    aw_tc_resp_t r;
    dl_req(e->srv.port, "PUT", path, e->stoken, "application/jose", tok, strlen(tok), &r);
    int st = r.status;
    aw_tc_resp_free(&r);
    return st;
}

/* PUT /v1/submissions/{id} with the given compact tokens; returns status. */
static inline int dl_submit_tokens(dl_env_t *e, const dl_sub_t *s, const char *meta,
                                   const char *data, aw_tc_resp_t *out) {
    json_t *b = json_pack("{s:s,s:s}", "encryptedMetadata", meta, "encryptedData", data);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char path[200];
    snprintf(path, sizeof path, "/v1/submissions/%s", s->sid);
    aw_tc_resp_t r;
    dl_req(e->srv.port, "PUT", path, e->stoken, "application/json", body, strlen(body), &r);
    free(body);
    int st = r.status;
    if (out)
        *out = r;
    else
        aw_tc_resp_free(&r);
    return st;
}

/* The final PUT: seals data and metadata (meta_override, or metadata
 * naming the attachment plaintexts); returns its status. */
static inline int dl_submit_sealed(dl_env_t *e, dl_sub_t *s, const char *data,
                                   const char *meta_override, const char *const *att_ids,
                                   const char *const *att_pt, int n) {
    char *meta = meta_override ? strdup(meta_override) : dl_metadata(data, att_ids, att_pt, n);
    char *em = dl_seal(meta, strlen(meta), s->mtag);
    char *ed = dl_seal(data, strlen(data), s->dtag);
    int st = dl_submit_tokens(e, s, em, ed, NULL);
    free(meta);
    free(em);
    free(ed);
    return st;
}

/* The whole sender flow; returns the final PUT status. */
static inline int dl_send(dl_env_t *e, const char *data, const char *meta_override,
                          const char *const *att_ids, const char *const *att_pt, int n,
                          dl_sub_t *s) {
    ASSERT_EQ(dl_announce(e, e->dest, att_ids, n, s), 201);
    for (int i = 0; i < n; i++) {
        char tag[AW_JWE_TAG_LEN + 1];
        char *t = dl_seal(att_pt[i], strlen(att_pt[i]), tag);
        ASSERT_EQ(dl_put_attachment(e, s, att_ids[i], t), 204);
        free(t);
    }
    return dl_submit_sealed(e, s, data, meta_override, att_ids, att_pt, n);
}

/* Runs `amtsweg inbox --once`; returns its exit status. */
static inline int dl_inbox(dl_env_t *e, const char *outdir) {
    return aw_test_sh("%s inbox --server http://127.0.0.1:%d --client-id %s --client-secret %s "
                      "--destination %s --enc-key %s/tests/data/jose/a/enc.private.jwk "
                      "--sign-key %s/tests/data/jose/a/sig.private.jwk --out %s --once "
                      ">%s/inbox.out 2>%s/inbox.err",
                      aw_test_bin(), e->srv.port, e->sub_id, e->sub_secret, e->dest,
                      aw_test_srcdir(), aw_test_srcdir(), outdir, aw_test_tmpdir(),
                      aw_test_tmpdir());
}

/* The event log of a case as a JSON array of tokens (new reference). */
static inline json_t *dl_events(dl_env_t *e, const char *token, const char *cid) {
    char path[200];
    snprintf(path, sizeof path, "/v1/cases/%s/events", cid);
    aw_tc_resp_t r;
    dl_req(e->srv.port, "GET", path, token, NULL, NULL, 0, &r);
    ASSERT_MSG(r.status == 200, "events: %d %s", r.status, r.body);
    json_t *j = dl_json(&r);
    json_t *log = json_incref(json_object_get(j, "eventLog"));
    json_decref(j);
    aw_tc_resp_free(&r);
    return log;
}

/* Posts a SET signed with key for the case; returns status, body in out. */
static inline int dl_post_set(dl_env_t *e, const char *key_set, const char *iss, const char *sub_id,
                              const char *case_id, const char *path_case, const char *event,
                              json_t *body, char **resp_body) {
    aw_jwk_t *k = dl_key(key_set, "sig.private");
    aw_set_claims_t cl = {.iss = iss,
                          .submission_id = sub_id,
                          .case_id = case_id,
                          .event = event,
                          .event_body = body};
    aw_buf_t t = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_MSG(aw_set_sign(k, &cl, &t, &err) == 0, "%s", err.msg);
    aw_jwk_free(k);
    char path[200];
    snprintf(path, sizeof path, "/v1/cases/%s/events", path_case);
    aw_tc_resp_t r;
    dl_req(e->srv.port, "POST", path, e->ptoken, "application/jose", t.data, t.len, &r);
    aw_buf_free(&t);
    int st = r.status;
    if (resp_body) *resp_body = strdup(r.body ? r.body : "");
    aw_tc_resp_free(&r);
    return st;
}

/* The payload of the last SET in a case's log, as text (malloc'd; the
 * signature is checked elsewhere). */
static inline char *dl_last_event(dl_env_t *e, const char *cid, const char *token) {
    json_t *log = dl_events(e, token, cid);
    ASSERT_GE(json_array_size(log), 1);
    const char *tok = json_string_value(json_array_get(log, json_array_size(log) - 1));
    const char *p1 = strchr(tok, '.') + 1;
    const char *p2 = strchr(p1, '.');
    unsigned char buf[8192];
    size_t n = 0;
    ASSERT_EQ(aw_b64url_decode(p1, (size_t)(p2 - p1), buf, &n), 0);
    json_decref(log);
    char *s = malloc(n + 1);
    memcpy(s, buf, n);
    s[n] = 0;
    return s;
}

/* Runs the inbox once against e's server into <tmpdir>/inbox and checks
 * that the case's last event (read through `log`) is accept-submission. */
static inline void dl_inbox_accepts(dl_env_t *e, dl_env_t *log, const char *cid) {
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(e, out), 0);
    char *ev = dl_last_event(log, cid, log->stoken);
    ASSERT_CONTAINS(ev, "accept-submission");
    free(ev);
}

/* COUNT-style query on the server's database (SQLite file or URL, opened
 * next to the running server): the first column of the one row; sql takes
 * arg as $1 (NULL: sql has no parameter). */
static inline int64_t dl_db_count(const char *db, const char *sql, const char *arg) {
    aw_store_t *st;
    aw_err_t err;
    ASSERT_MSG(aw_store_open(db, NULL, &st, &err) == 0, "%s", err.msg);
    aw_tx_t *tx;
    ASSERT_MSG(aw_store_begin(st, AW_TX_READ, &tx, &err) == 0, "%s", err.msg);
    aw_sql_t *q;
    ASSERT_MSG((arg ? aw_sql_query(tx, sql, &q, &err, "t", arg)
                    : aw_sql_query(tx, sql, &q, &err, "")) == 0,
               "%s", err.msg);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    int64_t n = aw_sql_col_int64(q, 0);
    aw_sql_done(q);
    aw_store_rollback(tx);
    aw_store_close(st);
    return n;
}

/* Runs one statement on the server's database (taking $1 = arg) in a
 * transaction of its own; returns the rows it changed. */
static inline int64_t dl_db_exec(const char *db, const char *sql, const char *arg) {
    aw_store_t *st;
    aw_err_t err;
    ASSERT_MSG(aw_store_open(db, NULL, &st, &err) == 0, "%s", err.msg);
    aw_tx_t *tx;
    ASSERT_MSG(aw_store_begin(st, AW_TX_WRITE, &tx, &err) == 0, "%s", err.msg);
    int64_t ch = 0;
    ASSERT_MSG(aw_sql_exec(tx, sql, &ch, &err, "t", arg) == 0, "%s", err.msg);
    ASSERT_MSG(aw_store_commit(tx, &err) == 0, "%s", err.msg);
    aw_store_close(st);
    return ch;
}

/* Rows of a submission's attachment blobs in db: the blobs and their
 * chunks (the database attachment store). */
static inline int64_t dl_blob_rows(const char *db, const char *sid) {
    return dl_db_count(db,
                       "SELECT (SELECT COUNT(*) FROM delivery_blobs WHERE submission_id = $1)"
                       " + (SELECT COUNT(*) FROM delivery_blob_chunks c JOIN delivery_blobs b"
                       " ON b.id = c.blob_id WHERE b.submission_id = $1)",
                       sid);
}

/* Waits (bounded, AW_TC_WAIT_S) until the submission's blob rows in db are
 * at least min (min > 0) or none (min == 0); returns the last count. */
static inline int64_t dl_wait_blob_rows(const char *db, const char *sid, int64_t min) {
    int64_t n = dl_blob_rows(db, sid);
    for (int i = 0; i < AW_TC_WAIT_S * 50 && (min ? n < min : n != 0); i++) {
        struct timespec ts = {0, 20 * 1000 * 1000}; /* polling a condition, bounded */
        nanosleep(&ts, NULL);
        n = dl_blob_rows(db, sid);
    }
    return n;
}

/* Starts an upload of tok to (s, aid): headers and the first half of the
 * body; returns the connection once the server has stored a chunk of it
 * (the submission's blob rows in db reached at least min_rows). tok must be
 * longer than two chunks (512 KiB). */
static inline int dl_upload_half(dl_env_t *e, const char *db, const dl_sub_t *s, const char *aid,
                                 const char *tok, int64_t min_rows) {
    int fd = aw_tc_connect(e->srv.port);
    aw_tc_sendf(fd,
                "PUT /v1/submissions/%s/attachments/%s HTTP/1.1\r\nHost: t\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/jose\r\n"
                "Content-Length: %zu\r\n\r\n",
                s->sid, aid, e->stoken, strlen(tok));
    aw_tc_send(fd, tok, strlen(tok) / 2);
    int64_t n = dl_wait_blob_rows(db, s->sid, min_rows);
    ASSERT_MSG(n >= min_rows, "the server stored no chunk of the upload (%lld rows)", (long long)n);
    return fd;
}

/* An upload that breaks off (dl_upload_half, then a reset): asserts that
 * the server then deletes what it stored. */
static inline void dl_upload_broken_off(dl_env_t *e, const char *db, const dl_sub_t *s,
                                        const char *aid, const char *tok) {
    int fd = dl_upload_half(e, db, s, aid, tok, 2);
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* a reset, as a dropped link */
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    int64_t n = dl_wait_blob_rows(db, s->sid, 0);
    ASSERT_MSG(n == 0, "%lld rows of the broken-off upload left", (long long)n);
}

#endif
