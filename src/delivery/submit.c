/*
 * submit — the sender side of the Submission API: announce (POST
 * /v1/submissions), attachments (PUT .../attachments/{id}, streamed to disk),
 * submit (PUT /v1/submissions/{id}) and the event log of a case.
 *
 * Signing a SET costs milliseconds, so it happens outside any write
 * transaction: the write transaction only inserts/updates rows with
 * conditions that make a concurrent change visible (state = 'incomplete',
 * tags unchanged), so the signed event always describes what was stored.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hex.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/time.h"
#include "delivery/callback.h"
#include "delivery/internal.h"
#include "jose/jwe.h"
#include "jose/set.h"

/* ---- submissions in the store -------------------------------------------- */

void dl_sub_clear(dl_sub_t *s) {
    free(s->service_identifier);
    free(s->service_name);
    free(s->enc_meta);
    free(s->enc_data);
    free(s->meta_tag);
    free(s->data_tag);
    free(s->callback_url);
    aw_secure_free_str(s->callback_secret);
    for (size_t i = 0; i < s->n_att; i++) {
        free(s->att[i].tag);
        free(s->att[i].digest);
        free(s->att[i].blob);
    }
    free(s->att);
    memset(s, 0, sizeof *s);
}

static int64_t col_i64(aw_sql_t *q, int c) {
    return aw_sql_col_null(q, c) ? 0 : aw_sql_col_int64(q, c);
}

int dl_sub_get(aw_tx_t *tx, const char *id, dl_sub_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!id || !aw_uuid_valid(id)) return aw_err_set(err, AW_ENOTFOUND, "submission not found");
    aw_sql_t *q;
    int rc = aw_sql_query(tx,
                          "SELECT id, case_id, destination_id, sender_client_id, state,"
                          " service_identifier, service_name, encrypted_metadata, encrypted_data,"
                          " metadata_tag, data_tag, callback_url, callback_secret, created_at,"
                          " submitted_at, fetched_at, decided_at, purged_at"
                          " FROM delivery_submissions WHERE id = $1",
                          &q, err, "t", id);
    if (rc) return rc;
    rc = aw_sql_step(q, err);
    bool oom = false;
    if (rc == 1) {
        snprintf(out->id, sizeof out->id, "%s", aw_sql_col_text(q, 0));
        snprintf(out->case_id, sizeof out->case_id, "%s", aw_sql_col_text(q, 1));
        snprintf(out->dest_id, sizeof out->dest_id, "%s", aw_sql_col_text(q, 2));
        snprintf(out->sender, sizeof out->sender, "%s", aw_sql_col_text(q, 3));
        snprintf(out->state, sizeof out->state, "%s", aw_sql_col_text(q, 4));
        out->service_identifier = aw_sql_col_strdup(q, 5, &oom);
        out->service_name = aw_sql_col_strdup(q, 6, &oom);
        out->enc_meta = aw_sql_col_strdup(q, 7, &oom);
        out->enc_data = aw_sql_col_strdup(q, 8, &oom);
        out->meta_tag = aw_sql_col_strdup(q, 9, &oom);
        out->data_tag = aw_sql_col_strdup(q, 10, &oom);
        out->callback_url = aw_sql_col_strdup(q, 11, &oom);
        out->callback_secret = aw_sql_col_strdup(q, 12, &oom);
        out->created_at = col_i64(q, 13);
        out->submitted_at = col_i64(q, 14);
        out->fetched_at = col_i64(q, 15);
        out->decided_at = col_i64(q, 16);
        out->purged_at = col_i64(q, 17);
        rc = 0;
    } else if (rc == 0)
        rc = aw_err_set(err, AW_ENOTFOUND, "submission not found");
    aw_sql_done(q);
    if (rc == 0 && !oom) {
        rc = aw_sql_query(tx,
                          "SELECT id, tag, digest, size, blob_id FROM delivery_attachments"
                          " WHERE submission_id = $1 ORDER BY position",
                          &q, err, "t", id);
        if (rc == 0) {
            size_t cap = 0;
            while ((rc = aw_sql_step(q, err)) == 1) {
                if (out->n_att == cap) {
                    cap = cap ? cap * 2 : 8;
                    void *p = realloc(out->att, cap * sizeof *out->att);
                    if (!p) {
                        oom = true;
                        break;
                    }
                    out->att = p;
                }
                struct dl_att *a = &out->att[out->n_att++];
                memset(a, 0, sizeof *a);
                snprintf(a->id, sizeof a->id, "%s", aw_sql_col_text(q, 0));
                a->tag = aw_sql_col_strdup(q, 1, &oom);
                a->digest = aw_sql_col_strdup(q, 2, &oom);
                a->size = col_i64(q, 3);
                a->blob = aw_sql_col_strdup(q, 4, &oom);
            }
            aw_sql_done(q);
            if (rc > 0) rc = 0;
        }
    }
    if (rc == 0 && oom) rc = aw_err_set(err, AW_ENOMEM, "submission: out of memory");
    if (rc) dl_sub_clear(out);
    return rc;
}

json_t *dl_sub_json(const dl_sub_t *s, bool full) {
    json_t *att = json_array();
    for (size_t i = 0; i < s->n_att; i++) json_array_append_new(att, json_string(s->att[i].id));
    json_t *st = json_pack("{s:s}", "identifier", s->service_identifier);
    if (s->service_name) json_object_set_new(st, "name", json_string(s->service_name));
    json_t *j = json_pack("{s:s,s:s,s:s,s:o,s:o}", "destinationId", s->dest_id, "submissionId",
                          s->id, "caseId", s->case_id, "attachments", att, "serviceType", st);
    if (s->callback_url && j)
        json_object_set_new(j, "callback", json_pack("{s:s}", "url", s->callback_url));
    if (full && j) {
        if (s->enc_meta) json_object_set_new(j, "encryptedMetadata", json_string(s->enc_meta));
        if (s->enc_data) json_object_set_new(j, "encryptedData", json_string(s->enc_data));
    }
    return j;
}

void dl_attachment_dir(const aw_delivery_t *d, const char *sub_id, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s", d->attach_dir, sub_id);
}

void dl_attachment_path(const aw_delivery_t *d, const char *sub_id, const char *att_id,
                        const char *digest, char *out, size_t cap) {
    snprintf(out, cap, "%s/%s/%s.%.16s.jwe", d->attach_dir, sub_id, att_id, digest);
}

void dl_attachments_remove(const aw_delivery_t *d, const char *sub_id) {
    char dir[4200];
    dl_attachment_dir(d, sub_id, dir, sizeof dir);
    DIR *dp = opendir(dir);
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.' && (e->d_name[1] == 0 || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        char p[4500];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(dp);
    rmdir(dir);
}

/* ---- announce ------------------------------------------------------------- */

static void bad_request(aw_http_resp_t *resp, const char *field, const char *what) {
    dl_problem(resp, 400, DL_PROBLEM("invalid-request"), "Invalid request", "%s%s%s", field,
               *field ? ": " : "", what);
}

static bool sender_only(aw_delivery_t *d, aw_http_req_t *req, aw_http_resp_t *resp,
                        dl_client_t *c) {
    if (!dl_client_auth(d, req, resp, c)) return false;
    if (c->kind != DL_SENDER) {
        dl_problem(resp, 403, DL_PROBLEM("forbidden"), "Forbidden",
                   "this endpoint is for sender clients");
        return false;
    }
    return true;
}

/* The routes' gate: a client that is not a sender is refused before its
 * body is read; the one let in is remembered for the handler. */
static void sender_gate(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    dl_client_t c;
    if (!sender_only(ctx, req, resp, &c)) return;
    snprintf(req->principal, sizeof req->principal, "%s", c.id);
    req->principal_kind = c.kind;
}

/* A token sealed for a key that is not (or no longer) the destination's. */
static void wrong_key(aw_http_resp_t *resp, const aw_err_t *err) {
    dl_problem(resp, 422, DL_PROBLEM("encryption-key-invalid"), "Encryption key invalid", "%s",
               err->msg);
}

static void not_found_sub(aw_http_resp_t *resp) {
    dl_problem(resp, 404, DL_PROBLEM("submission-not-found"), "Submission not found",
               "there is no submission with this id for this client");
}

static void h_announce(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!sender_only(d, req, resp, &c)) return;
    if (dl_sign_refuse(d, resp)) return;
    json_t *in = req->json;
    const char *dest_id = json_string_value(json_object_get(in, "destinationId"));
    json_t *ann = json_object_get(in, "announcedAttachments");
    json_t *svc = json_object_get(in, "serviceType");
    const char *ident = json_string_value(json_object_get(svc, "identifier"));
    const char *sname = json_string_value(json_object_get(svc, "name"));
    const char *case_in = json_string_value(json_object_get(in, "caseId"));
    json_t *cb = json_object_get(in, "callback");
    if (!json_is_object(in)) return bad_request(resp, "", "the body must be a JSON object");
    if (!dest_id || !aw_uuid_valid(dest_id))
        return bad_request(resp, "destinationId", "a UUID is required");
    if (ann && !json_is_array(ann))
        return bad_request(resp, "announcedAttachments", "must be an array of UUIDs");
    if (!ident || strlen(ident) < 7 || strlen(ident) > 255)
        return bad_request(resp, "serviceType.identifier",
                           "a service identifier (URN) is required");
    if (sname && strlen(sname) > 255)
        return bad_request(resp, "serviceType.name", "at most 255 characters");
    if (json_object_get(in, "caseId") && (!case_in || !aw_uuid_valid(case_in)))
        return bad_request(resp, "caseId", "must be a UUID");
    const char *cb_url = NULL, *cb_secret = NULL;
    if (cb && !json_is_null(cb)) {
        cb_url = json_string_value(json_object_get(cb, "url"));
        cb_secret = json_string_value(json_object_get(cb, "secret"));
        if (!aw_callback_url_ok(cb_url, d->cfg.callback_allow_loopback))
            return bad_request(resp, "callback.url", "must be an https:// URL");
        if (!cb_secret || strlen(cb_secret) < 32 || strlen(cb_secret) > 512)
            return bad_request(resp, "callback.secret", "32..512 characters are required");
    }
    size_t n_att = json_array_size(ann);
    if (n_att > d->cfg.max_attachments) {
        dl_problem(resp, 413, DL_PROBLEM("too-many-attachments"), "Too many attachments",
                   "%zu attachments announced; at most %u are allowed", n_att,
                   d->cfg.max_attachments);
        return;
    }
    for (size_t i = 0; i < n_att; i++) {
        const char *a = json_string_value(json_array_get(ann, i));
        if (!a || !aw_uuid_valid(a)) {
            dl_problem(resp, 400, DL_PROBLEM("invalid-request"), "Invalid request",
                       "announcedAttachments[%zu]: must be a UUID", i);
            return;
        }
        for (size_t k = 0; k < i; k++)
            if (strcasecmp(a, json_string_value(json_array_get(ann, k))) == 0) {
                dl_problem(resp, 400, DL_PROBLEM("invalid-request"), "Invalid request",
                           "announcedAttachments[%zu]: duplicate of [%zu]", i, k);
                return;
            }
    }
    char svc_urn[300];
    if (strlen(ident) == 14 && ident[0] == '9' && ident[1] == '9' &&
        strspn(ident, "0123456789") == 14)
        snprintf(svc_urn, sizeof svc_urn, "urn:de:fim:leika:leistung:%s", ident);
    else
        snprintf(svc_urn, sizeof svc_urn, "%s", ident);

    char sid[AW_UUID_STRLEN + 1], cid[AW_UUID_STRLEN + 1];
    aw_uuid_v4(sid);
    if (case_in) {
        for (int i = 0; i < AW_UUID_STRLEN; i++) cid[i] = (char)tolower((unsigned char)case_in[i]);
        cid[AW_UUID_STRLEN] = 0;
    } else
        aw_uuid_v4(cid);
    int64_t now = aw_time_now_ms();

    /* One write transaction checks the destination and records the
     * submission: a read transaction of its own before it cost more than
     * the checks (the writer's page cache is warm, a reader's is not). */
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    dl_dest_t dd;
    int rc = dl_dest_get(tx, dest_id, &dd, &err);
    /* A given caseId must not be another sender's case: its event log
     * would become readable to this client. */
    int64_t foreign = 0;
    if (rc == 0 && case_in) {
        aw_sql_t *q;
        rc = aw_sql_query(tx,
                          "SELECT COUNT(*) FROM delivery_submissions"
                          " WHERE case_id = $1 AND sender_client_id <> $2",
                          &q, &err, "tt", case_in, c.id);
        if (rc == 0) {
            if ((rc = aw_sql_step(q, &err)) == 1) foreign = aw_sql_col_int64(q, 0);
            aw_sql_done(q);
            if (rc > 0) rc = 0;
        }
        if (rc) dl_dest_clear(&dd);
    }
    if (rc) {
        aw_store_rollback(tx);
        if (rc != AW_ENOTFOUND) return dl_store_error(resp, &err);
        dl_problem(resp, 404, DL_PROBLEM("destination-not-found"), "Destination not found",
                   "there is no destination %s", dest_id);
        return;
    }
    bool active = strcmp(dd.status, "active") == 0;
    bool offers = dl_dest_offers(&dd, svc_urn);
    dl_dest_clear(&dd);
    if (foreign || !active || !offers) {
        aw_store_rollback(tx);
        if (foreign)
            dl_problem(resp, 404, DL_PROBLEM("case-not-found"), "Case not found",
                       "caseId: there is no case with this id for this client");
        else if (!active)
            dl_problem(resp, 422, DL_PROBLEM("destination-state-invalid"),
                       "Destination state invalid",
                       "destination %s is not active; it accepts no submissions", dest_id);
        else
            dl_problem(resp, 422, DL_PROBLEM("service-not-offered"), "Service not offered",
                       "destination %s does not offer the service %s", dest_id, svc_urn);
        return;
    }
    rc = aw_sql_exec(tx,
                     "INSERT INTO delivery_submissions (id, case_id, destination_id,"
                     " sender_client_id, state, service_identifier, service_name, callback_url,"
                     " callback_secret, created_at, updated_at)"
                     " VALUES ($1, $2, $3, $4, 'incomplete', $5, $6, $7, $8, $9, $9)",
                     NULL, &err, "ttttttttI", sid, cid, dest_id, c.id, svc_urn, sname, cb_url,
                     cb_secret, now);
    for (size_t i = 0; rc == 0 && i < n_att; i++) {
        char aid[AW_UUID_STRLEN + 1];
        const char *a = json_string_value(json_array_get(ann, i));
        for (int k = 0; k < AW_UUID_STRLEN; k++) aid[k] = (char)tolower((unsigned char)a[k]);
        aid[AW_UUID_STRLEN] = 0;
        rc = aw_sql_exec(tx,
                         "INSERT INTO delivery_attachments (submission_id, id, position)"
                         " VALUES ($1, $2, $3)",
                         NULL, &err, "tti", sid, aid, (int)i);
    }
    if (rc == 0) rc = dl_event_pending(tx, sid, cid, "create-submission", NULL, now, &err);
    if (rc == 0)
        rc = aw_store_commit(tx, &err);
    else
        aw_store_rollback(tx);
    if (rc) return dl_store_error(resp, &err);
    dl_signer_kick(d, 1);
    aw_log_info("delivery.announce", "submission=%s case=%s destination=%s attachments=%zu", sid,
                cid, dest_id, n_att);
    aw_http_resp_json(
        resp, 201,
        json_pack("{s:s,s:s,s:s}", "destinationId", dest_id, "submissionId", sid, "caseId", cid));
}

/* ---- attachments (streamed) ----------------------------------------------- */

typedef struct upload {
    aw_delivery_t *d;
    char sid[AW_UUID_STRLEN + 1], aid[AW_UUID_STRLEN + 1];
    char dest[AW_UUID_STRLEN + 1]; /* the submission's destination and announcement */
    int64_t announced_at;
    int fd;
    char tmp[4500];
    dl_blob_writer_t *bw; /* the database store: the blob being written */
    aw_jwe_stream_t *js;
    EVP_MD_CTX *md;
    uint64_t size;
    int status; /* non-zero: refused, problem already in resp */
} upload_t;

static void upload_cleanup(aw_http_req_t *req) {
    upload_t *u = req->user;
    if (!u) return;
    if (u->fd >= 0) close(u->fd);
    if (u->tmp[0]) unlink(u->tmp);
    dl_blob_free(u->bw); /* deleted unless recorded */
    aw_jwe_stream_free(u->js);
    EVP_MD_CTX_free(u->md);
    free(u);
    req->user = NULL;
}

static int refuse(upload_t *u, aw_http_resp_t *resp, int status, const char *type,
                  const char *title, const char *detail) {
    (void)resp;
    dl_problem(resp, status, type, title, "%s", detail);
    if (u) u->status = status;
    return status;
}

/* Checks everything that can be checked before the body: token, content
 * type, submission, announced attachment; opens the temporary file. */
static int upload_begin(aw_delivery_t *d, aw_http_req_t *req, aw_http_resp_t *resp) {
    upload_t *u = calloc(1, sizeof *u);
    if (!u)
        return refuse(NULL, resp, 503, "service-unavailable", "Service Unavailable",
                      "out of memory");
    u->d = d;
    u->fd = -1;
    req->user = u;
    req->cleanup = upload_cleanup;
    dl_client_t c;
    if (!sender_only(d, req, resp, &c)) return u->status = resp->status;
    const char *ct = aw_http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/jose", 16) != 0)
        return refuse(u, resp, 415, DL_PROBLEM("unsupported-media-type"), "Unsupported Media Type",
                      "an attachment is a compact JWE sent as application/jose");
    const char *sid = aw_http_param(req, "submissionId"), *aid = aw_http_param(req, "attachmentId");
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) {
        dl_store_error(resp, &err);
        return u->status = resp->status;
    }
    dl_sub_t s;
    int rc = dl_sub_get(tx, sid, &s, &err);
    aw_store_rollback(tx);
    if (rc == AW_ENOTFOUND || (rc == 0 && strcmp(s.sender, c.id))) {
        if (rc == 0) dl_sub_clear(&s);
        not_found_sub(resp);
        return u->status = 404;
    }
    if (rc) {
        dl_store_error(resp, &err);
        return u->status = resp->status;
    }
    bool announced = false;
    for (size_t i = 0; i < s.n_att; i++)
        if (aid && strcasecmp(s.att[i].id, aid) == 0) {
            announced = true;
            snprintf(u->aid, sizeof u->aid, "%s", s.att[i].id);
        }
    bool incomplete = strcmp(s.state, "incomplete") == 0;
    snprintf(u->sid, sizeof u->sid, "%s", s.id);
    snprintf(u->dest, sizeof u->dest, "%s", s.dest_id);
    u->announced_at = s.created_at;
    dl_sub_clear(&s);
    if (!announced)
        return refuse(u, resp, 422, DL_PROBLEM("attachment-not-announced"),
                      "Attachment not announced",
                      "this attachment id was not announced for the submission; upload "
                      "attachments under their announced ids");
    if (!incomplete)
        return refuse(u, resp, 409, DL_PROBLEM("submission-state-invalid"),
                      "Submission state invalid",
                      "the submission was already submitted; attachments can no longer change");
    u->md = EVP_MD_CTX_new();
    if (!u->md || !EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) ||
        aw_jwe_stream_new(NULL, d->cfg.max_attachment_bytes, 0, NULL, NULL, &u->js, &err))
        return refuse(u, resp, 503, "service-unavailable", "Service Unavailable", "out of memory");
    if (d->blobs_db) {
        if (dl_blob_begin(d, u->sid, &u->bw, &err)) {
            dl_store_error(resp, &err);
            return u->status = resp->status;
        }
        return 0;
    }
    char dir[4200];
    dl_attachment_dir(d, u->sid, dir, sizeof dir);
    mkdir(dir, 0700);
    char rnd[32];
    dl_random_b64(9, rnd, sizeof rnd);
    snprintf(u->tmp, sizeof u->tmp, "%s/.%s.%s.tmp", dir, u->aid, rnd);
    u->fd = open(u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (u->fd < 0) {
        u->tmp[0] = 0;
        aw_log_error("delivery.attachment", "action=open outcome=failed errno=%d", errno);
        return refuse(u, resp, 500, "internal-error", "Internal Server Error",
                      "the attachment could not be stored");
    }
    return 0;
}

/* A database-store error of an upload: its blob gone (swept: the upload
 * outlived the incomplete deadline) is the client's 409; the rest as any
 * store error. */
static void blob_error(aw_http_resp_t *resp, const aw_err_t *err) {
    if (err->code == AW_ECONFLICT)
        dl_problem(resp, 409, DL_PROBLEM("submission-state-invalid"), "Submission state invalid",
                   "the upload took longer than an incomplete submission may live");
    else
        dl_store_error(resp, err);
}

static int upload_chunk(aw_http_req_t *req, aw_http_resp_t *resp, const char *data, size_t len,
                        void *ctx) {
    aw_delivery_t *d = ctx;
    if (!req->user) {
        int st = upload_begin(d, req, resp);
        if (st) return st;
    }
    upload_t *u = req->user;
    if (u->status) return u->status;
    aw_err_t err;
    u->size += len;
    if (u->size > d->cfg.max_attachment_bytes)
        return refuse(u, resp, 413, DL_PROBLEM("attachment-too-large"), "Attachment too large",
                      "the attachment exceeds the configured limit");
    if (aw_jwe_stream_feed(u->js, data, len, &err)) {
        dl_problem(resp, 400, DL_PROBLEM("invalid-jwe"), "Invalid JWE", "attachment: %s", err.msg);
        return u->status = 400;
    }
    EVP_DigestUpdate(u->md, data, len);
    if (u->bw) {
        if (dl_blob_write(u->bw, data, len, &err)) {
            blob_error(resp, &err);
            return u->status = resp->status;
        }
        return 0;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(u->fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            aw_log_error("delivery.attachment", "action=write outcome=failed errno=%d", errno);
            return refuse(u, resp, errno == ENOSPC ? 507 : 500, "internal-error",
                          "Internal Server Error", "the attachment could not be stored");
        }
        off += (size_t)w;
    }
    return 0;
}

/* The file store: the temporary file becomes the attachment's file
 * (fsynced, renamed, directory fsynced) at path. */
static int file_store(aw_delivery_t *d, upload_t *u, const char *digest, char *path, size_t cap) {
    char dir[4200];
    dl_attachment_path(d, u->sid, u->aid, digest, path, cap);
    dl_attachment_dir(d, u->sid, dir, sizeof dir);
    int rc = fsync(u->fd) != 0 ? -1 : 0;
    if (close(u->fd) != 0) rc = -1;
    u->fd = -1;
    if (rc == 0 && rename(u->tmp, path) != 0) rc = -1;
    if (rc) {
        aw_log_error("delivery.attachment", "action=store outcome=failed errno=%d", errno);
        path[0] = 0;
        return rc;
    }
    u->tmp[0] = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static void h_attachment_put(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!req->user && upload_begin(d, req, resp)) return;
    upload_t *u = req->user;
    if (u->status) return;
    aw_err_t err;
    aw_jwe_info_t info;
    if (aw_jwe_stream_finish(u->js, &info, &err)) {
        dl_problem(resp, 400, DL_PROBLEM("invalid-jwe"), "Invalid JWE", "attachment: %s", err.msg);
        return;
    }
    char tag[AW_JWE_TAG_LEN + 1], kid[DL_KID_MAX];
    snprintf(tag, sizeof tag, "%s", info.tag);
    snprintf(kid, sizeof kid, "%s", info.kid ? info.kid : "");
    aw_jwe_info_free(&info);
    /* sealed for the destination's key, as data and metadata must be */
    if (kid[0]) {
        aw_tx_t *ktx;
        int krc = aw_store_begin(d->store, AW_TX_READ, &ktx, &err);
        if (krc == 0) {
            krc = dl_dest_enc_kid_check(ktx, u->dest, kid, u->announced_at, "the attachment", &err);
            aw_store_rollback(ktx);
        }
        if (krc == AW_EPERM) return wrong_key(resp, &err);
        if (krc) return dl_store_error(resp, &err);
    }
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_DigestFinal_ex(u->md, md, &ml);
    char digest[65];
    aw_hex_encode(md, 32, digest);
    char path[4500] = "";
    if (u->bw && dl_blob_flush(u->bw, &err) != 0) return blob_error(resp, &err);
    if (!u->bw && file_store(d, u, digest, path, sizeof path) != 0) {
        dl_problem(resp, 500, "internal-error", "Internal Server Error",
                   "the attachment could not be stored");
        return;
    }
    /* Record it; the state must still be incomplete. The UPDATE takes the
     * submission's row lock first: on PostgreSQL a final PUT (which locks
     * the same row with its own UPDATE) then either waits for this commit
     * and signs the new tag, or committed first and this finds the state
     * changed. Reading the state without the lock let an upload commit
     * after a submit had read and signed the attachments' tags. (SQLite's
     * write lock already orders the two.) */
    aw_tx_t *tx;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    int64_t locked = 0;
    int rc = aw_sql_exec(tx,
                         "UPDATE delivery_submissions SET updated_at = $1"
                         " WHERE id = $2 AND state = 'incomplete'",
                         &locked, &err, "It", aw_time_now_ms(), u->sid);
    dl_sub_t s;
    if (rc == 0) rc = dl_sub_get(tx, u->sid, &s, &err);
    if (rc) {
        aw_store_rollback(tx);
        return dl_store_error(resp, &err);
    }
    char *old_digest = NULL, *old_blob = NULL;
    int64_t others = 0;
    for (size_t i = 0; i < s.n_att; i++) {
        if (strcmp(s.att[i].id, u->aid) == 0) {
            old_digest = s.att[i].digest ? strdup(s.att[i].digest) : NULL;
            old_blob = s.att[i].blob ? strdup(s.att[i].blob) : NULL;
        } else
            others += s.att[i].size;
    }
    bool incomplete = locked == 1 && strcmp(s.state, "incomplete") == 0;
    dl_sub_clear(&s);
    if (!incomplete) {
        aw_store_rollback(tx);
        if (!u->bw && (!old_digest || strcmp(old_digest, digest))) unlink(path);
        free(old_digest);
        free(old_blob);
        dl_problem(resp, 409, DL_PROBLEM("submission-state-invalid"), "Submission state invalid",
                   "the submission was submitted meanwhile; attachments can no longer change");
        return;
    }
    if ((uint64_t)others + u->size > d->cfg.max_submission_bytes) {
        aw_store_rollback(tx);
        if (!u->bw && (!old_digest || strcmp(old_digest, digest))) unlink(path);
        free(old_digest);
        free(old_blob);
        dl_problem(resp, 413, DL_PROBLEM("submission-too-large"), "Submission too large",
                   "all attachments together would exceed the configured limit");
        return;
    }
    rc = aw_sql_exec(tx,
                     "UPDATE delivery_attachments SET tag = $1, size = $2, digest = $3,"
                     " uploaded_at = $4, blob_id = $5 WHERE submission_id = $6 AND id = $7",
                     NULL, &err, "tItIttt", tag, (int64_t)u->size, digest, aw_time_now_ms(),
                     u->bw ? dl_blob_id(u->bw) : NULL, u->sid, u->aid);
    if (rc == 0 && u->bw) rc = dl_blob_record_in(tx, dl_blob_id(u->bw), &err);
    /* the content it replaces: a blob goes with this commit */
    if (rc == 0 && old_blob) rc = dl_blob_delete_in(tx, old_blob, &err);
    if (rc == 0)
        rc = aw_store_commit(tx, &err);
    else
        aw_store_rollback(tx);
    free(old_blob);
    if (rc) {
        free(old_digest);
        if (u->bw)
            blob_error(resp, &err);
        else
            dl_store_error(resp, &err);
        return;
    }
    if (u->bw) dl_blob_keep(u->bw);
    /* a replaced file (same digest, file store: the same file) */
    if (old_digest && !old_blob && (u->bw || strcmp(old_digest, digest))) {
        char op[4500];
        dl_attachment_path(d, u->sid, u->aid, old_digest, op, sizeof op);
        unlink(op);
    }
    free(old_digest);
    aw_log_info("delivery.attachment", "submission=%s attachment=%s bytes=%llu", u->sid, u->aid,
                (unsigned long long)u->size);
    aw_http_resp_text(resp, 204, NULL, NULL, 0);
}

/* ---- submit --------------------------------------------------------------- */

/* Checks a token's size and structure; its tag and header kid ("" when
 * none) into tag and kid. */
static int inspect(aw_http_resp_t *resp, const char *field, const char *tok, size_t max,
                   char tag[AW_JWE_TAG_LEN + 1], char kid[DL_KID_MAX]) {
    size_t n = strlen(tok);
    if (n > max) {
        dl_problem(resp, 413, DL_PROBLEM("submission-too-large"), "Content too large",
                   "%s: %zu bytes; the limit is %zu", field, n, max);
        return 413;
    }
    aw_jwe_info_t info;
    aw_err_t err;
    if (aw_jwe_inspect(tok, n, max, &info, &err)) {
        dl_problem(resp, 400, DL_PROBLEM("invalid-jwe"), "Invalid JWE", "%s: %s", field, err.msg);
        return 400;
    }
    snprintf(tag, AW_JWE_TAG_LEN + 1, "%s", info.tag);
    snprintf(kid, DL_KID_MAX, "%s", info.kid ? info.kid : "");
    aw_jwe_info_free(&info);
    return 0;
}

static void h_submit(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!sender_only(d, req, resp, &c)) return;
    json_t *in = req->json;
    json_t *jm = json_object_get(in, "encryptedMetadata"),
           *jd = json_object_get(in, "encryptedData");
    if (!json_is_object(in) || !json_is_string(jm) || (jd && !json_is_string(jd)))
        return bad_request(
            resp, "encryptedMetadata",
            "a compact JWE string is required; encryptedData is an optional compact JWE string");
    const char *meta = json_string_value(jm), *data = jd ? json_string_value(jd) : NULL;
    char mtag[AW_JWE_TAG_LEN + 1], dtag[AW_JWE_TAG_LEN + 1] = "", mkid[DL_KID_MAX],
                                                         dkid[DL_KID_MAX] = "";
    if (inspect(resp, "encryptedMetadata", meta, d->cfg.max_metadata_bytes, mtag, mkid)) return;
    if (data && inspect(resp, "encryptedData", data, d->cfg.max_data_bytes, dtag, dkid)) return;

    /* One write transaction reads the submission, checks it and submits
     * it (see h_announce for why not a read transaction first). */
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    dl_sub_t s;
    int rc = dl_sub_get(tx, aw_http_param(req, "submissionId"), &s, &err);
    if (rc == AW_ENOTFOUND || (rc == 0 && strcmp(s.sender, c.id))) {
        aw_store_rollback(tx);
        if (rc == 0) dl_sub_clear(&s);
        return not_found_sub(resp);
    }
    if (rc) {
        aw_store_rollback(tx);
        return dl_store_error(resp, &err);
    }
    aw_set_attachment_tag_t *tags = NULL;
    json_t *body = NULL;
    bool cb_dest = false, conflict = false;
    if (strcmp(s.state, "incomplete") != 0) {
        aw_store_rollback(tx);
        /* idempotent re-PUT of the same content */
        bool same =
            s.enc_meta && strcmp(s.enc_meta, meta) == 0 &&
            ((!data && !s.enc_data) || (data && s.enc_data && strcmp(data, s.enc_data) == 0));
        if (same && strcmp(s.state, "deleted") != 0)
            aw_http_resp_json(resp, 202, dl_sub_json(&s, false));
        else
            dl_problem(resp, 409, DL_PROBLEM("submission-state-invalid"),
                       "Submission state invalid",
                       "the submission is %s; it was submitted with other content", s.state);
        goto out;
    }
    uint64_t total = strlen(meta) + (data ? strlen(data) : 0);
    tags = calloc(s.n_att + 1, sizeof *tags);
    size_t missing = 0;
    char first_missing[AW_UUID_STRLEN + 1] = "";
    for (size_t i = 0; tags && i < s.n_att; i++) {
        tags[i].id = s.att[i].id;
        tags[i].tag = s.att[i].tag;
        total += (uint64_t)s.att[i].size;
        if (!s.att[i].tag && missing++ == 0)
            snprintf(first_missing, sizeof first_missing, "%s", s.att[i].id);
    }
    if (!tags) {
        aw_store_rollback(tx);
        dl_problem(resp, 500, "internal-error", "Internal Server Error", "out of memory");
        goto out;
    }
    if (missing) {
        aw_store_rollback(tx);
        dl_problem(resp, 422, DL_PROBLEM("missing-attachments"), "Attachments missing",
                   "%zu announced attachment(s) not uploaded yet, e.g. %s", missing, first_missing);
        goto out;
    }
    if (total > d->cfg.max_submission_bytes) {
        aw_store_rollback(tx);
        dl_problem(resp, 413, DL_PROBLEM("submission-too-large"), "Submission too large",
                   "the submission has %llu bytes; the limit is %llu", (unsigned long long)total,
                   (unsigned long long)d->cfg.max_submission_bytes);
        goto out;
    }
    if (dl_sign_refuse(d, resp)) {
        aw_store_rollback(tx);
        goto out;
    }
    /* sealed for the destination's key, or one that was current since the
     * announcement (the key history only when it is not the current one);
     * a token without kid cannot be checked here */
    char cur_kid[DL_KID_MAX];
    rc = dl_dest_submit_facts(tx, s.dest_id, &cb_dest, cur_kid, &err);
    if (rc == 0 && mkid[0] && strcmp(mkid, cur_kid) != 0)
        rc = dl_dest_enc_kid_check(tx, s.dest_id, mkid, s.created_at, "encryptedMetadata", &err);
    if (rc == 0 && dkid[0] && strcmp(dkid, cur_kid) != 0 && strcmp(dkid, mkid) != 0)
        rc = dl_dest_enc_kid_check(tx, s.dest_id, dkid, s.created_at, "encryptedData", &err);
    if (rc) {
        aw_store_rollback(tx);
        if (rc == AW_EPERM)
            wrong_key(resp, &err);
        else
            dl_store_error(resp, &err);
        goto out;
    }
    body = aw_set_auth_tags(mtag, data ? dtag : NULL, tags, s.n_att);
    int64_t now = aw_time_now_ms();
    int64_t ch = 0;
    rc = aw_sql_exec(tx,
                     "UPDATE delivery_submissions SET state = 'submitted', encrypted_metadata = $1,"
                     " encrypted_data = $2, metadata_tag = $3, data_tag = $4, bytes = $5,"
                     " submitted_at = $6, updated_at = $6 WHERE id = $7 AND state = 'incomplete'",
                     &ch, &err, "ttttIIt", meta, data, mtag, data ? dtag : NULL, (int64_t)total,
                     now, s.id);
    if (rc == 0 && ch != 1) conflict = true;
    /* The attachments signed must be the attachments stored. On SQLite the
     * write lock makes this a repetition; on PostgreSQL the UPDATE above
     * locked the row, and an upload that raced with the first read shows
     * now. Only announced attachments exist, so none means nothing to do. */
    if (rc == 0 && !conflict && s.n_att) {
        dl_sub_t now_s;
        if ((rc = dl_sub_get(tx, s.id, &now_s, &err)) == 0) {
            for (size_t i = 0; i < s.n_att && !conflict; i++)
                conflict = !now_s.att[i].tag || strcmp(now_s.att[i].tag, s.att[i].tag) != 0;
            dl_sub_clear(&now_s);
        }
    }
    if (rc == 0 && !conflict)
        rc = dl_event_pending(tx, s.id, s.case_id, "submit-submission", body, now, &err);
    if (rc == 0 && !conflict && cb_dest)
        rc = dl_enqueue_callback(tx, AW_CALLBACK_NEW_SUBMISSIONS, s.dest_id, s.id, s.case_id, false,
                                 &err);
    if (rc == 0 && !conflict)
        rc = aw_store_commit(tx, &err);
    else
        aw_store_rollback(tx);
    if (rc) {
        dl_store_error(resp, &err);
        goto out;
    }
    if (conflict) {
        dl_problem(resp, 409, DL_PROBLEM("submission-state-invalid"), "Submission state invalid",
                   "the submission changed while it was being submitted; retry");
        goto out;
    }
    dl_signer_kick(d, 1);
    if (cb_dest && d->worker) aw_worker_kick(d->worker);
    aw_log_info("delivery.submit", "submission=%s case=%s destination=%s bytes=%llu", s.id,
                s.case_id, s.dest_id, (unsigned long long)total);
    aw_http_resp_json(resp, 202, dl_sub_json(&s, false));
out:
    json_decref(body);
    free(tags);
    dl_sub_clear(&s);
}

/* ---- event log ------------------------------------------------------------ */

static void h_events(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!dl_client_auth(d, req, resp, &c)) return;
    const char *cid = aw_http_param(req, "caseId");
    uint64_t off = 0, lim = 500;
    const char *o = aw_http_query(req, "offset"), *l = aw_http_query(req, "limit");
    if ((o && !dl_parse_uint(o, 1000000000, &off)) || (l && (!dl_parse_uint(l, 500, &lim) || !lim)))
        return bad_request(resp, "", "offset must be >= 0 and limit 1..500");
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    aw_sql_t *q;
    int rc = aw_sql_query(tx,
                          c.kind == DL_SENDER ? "SELECT COUNT(*) FROM delivery_submissions"
                                                " WHERE case_id = $1 AND sender_client_id = $2"
                                              : "SELECT COUNT(*) FROM delivery_submissions s"
                                                " JOIN delivery_client_destinations cd"
                                                " ON cd.destination_id = s.destination_id"
                                                " WHERE s.case_id = $1 AND cd.client_id = $2",
                          &q, &err, "tt", aw_uuid_valid(cid) ? cid : "", c.id);
    int64_t n = 0, total = 0;
    if (rc == 0) {
        if ((rc = aw_sql_step(q, &err)) == 1) n = aw_sql_col_int64(q, 0);
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (rc < 0) return dl_store_error(resp, &err);
    if (n == 0) {
        dl_problem(resp, 404, DL_PROBLEM("case-not-found"), "Case not found",
                   "there is no case with this id for this client");
        return;
    }
    /* Events committed but not signed yet are signed now (or waited for
     * while another signer holds them), so the log read is complete. Events
     * committed after this point are not part of this answer. */
    if (dl_events_sign(d, cid, true, NULL, &err)) return dl_store_error(resp, &err);
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    json_t *arr = json_array();
    rc = aw_sql_query(tx, "SELECT COUNT(*) FROM delivery_events WHERE case_id = $1 AND token <> ''",
                      &q, &err, "t", cid);
    if (rc == 0) {
        if ((rc = aw_sql_step(q, &err)) == 1) total = aw_sql_col_int64(q, 0);
        aw_sql_done(q);
    }
    if (rc >= 0)
        rc = aw_sql_query(tx,
                          "SELECT token FROM delivery_events WHERE case_id = $1 AND token <> ''"
                          " ORDER BY id LIMIT $2 OFFSET $3",
                          &q, &err, "tII", cid, (int64_t)lim, (int64_t)off);
    if (rc == 0) {
        while ((rc = aw_sql_step(q, &err)) == 1)
            json_array_append_new(arr, json_string(aw_sql_col_text(q, 0)));
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (rc < 0) {
        json_decref(arr);
        return dl_store_error(resp, &err);
    }
    aw_http_resp_json(resp, 200,
                      json_pack("{s:i,s:I,s:I,s:o}", "count", (int)json_array_size(arr), "offset",
                                (json_int_t)off, "totalCount", (json_int_t)total, "eventLog", arr));
}

int dl_register_sender(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err) {
    size_t submit_max = d->cfg.max_data_bytes + d->cfg.max_metadata_bytes + 4096;
    aw_route_spec_t r[] = {
        {"POST", "/v1/submissions", h_announce, d, AW_ROUTE_JSON, 64 * 1024, NULL, sender_gate},
        {"PUT", "/v1/submissions/{submissionId}/attachments/{attachmentId}", h_attachment_put, d,
         AW_ROUTE_STREAM, (size_t)d->cfg.max_attachment_bytes, upload_chunk, sender_gate},
        {"PUT", "/v1/submissions/{submissionId}", h_submit, d, AW_ROUTE_JSON, submit_max, NULL,
         sender_gate},
        {"GET", "/v1/cases/{caseId}/events", h_events, d, 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        int rc = aw_http_server_route(srv, &r[i], err);
        if (rc) return rc;
    }
    return 0;
}
