/*
 * subscribe — the subscriber side: pick-up list, submission and attachment
 * download, and the subscriber's accept/reject SETs on POST
 * /v1/cases/{caseId}/events. A subscriber client sees only the
 * destinations it is bound to; anything else is 404 (nothing leaked).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "delivery/callback.h"
#include "delivery/internal.h"
#include "jose/jws.h"
#include "jose/set.h"

static bool subscriber_only(aw_delivery_t *d, aw_http_req_t *req, aw_http_resp_t *resp,
                            dl_client_t *c) {
    if (!dl_client_auth(d, req, resp, c)) return false;
    if (c->kind != DL_SUBSCRIBER) {
        dl_problem(resp, 403, DL_PROBLEM("forbidden"), "Forbidden",
                   "this endpoint is for subscriber clients of a destination");
        return false;
    }
    return true;
}

static void not_found(aw_http_resp_t *resp) {
    dl_problem(resp, 404, DL_PROBLEM("submission-not-found"), "Submission not found",
               "there is no submission ready for pick-up with this id for this client");
}

static void h_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!subscriber_only(d, req, resp, &c)) return;
    const char *dest = aw_http_query(req, "destinationId");
    uint64_t off = 0, lim = 100;
    const char *o = aw_http_query(req, "offset"), *l = aw_http_query(req, "limit");
    if ((o && !dl_parse_uint(o, 1000000000, &off)) ||
        (l && (!dl_parse_uint(l, 500, &lim) || !lim)) || (dest && !aw_uuid_valid(dest))) {
        dl_problem(resp, 400, DL_PROBLEM("invalid-request"), "Invalid request",
                   "destinationId must be a UUID, offset >= 0, limit 1..500");
        return;
    }
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    int rc = 0;
    if (dest) {
        bool yes = false;
        rc = dl_client_has_dest(tx, c.id, dest, &yes, &err);
        if (rc == 0 && !yes) {
            aw_store_rollback(tx);
            dl_problem(resp, 403, DL_PROBLEM("forbidden"), "Forbidden",
                       "this client is not a subscriber of destination %s", dest);
            return;
        }
    }
    aw_sql_t *q;
    int64_t total = 0;
    json_t *arr = json_array();
    if (rc == 0)
        rc = aw_sql_query(tx,
                          "SELECT COUNT(*) FROM delivery_submissions s JOIN"
                          " delivery_client_destinations cd ON cd.destination_id = s.destination_id"
                          " WHERE cd.client_id = $1 AND s.state = 'submitted'"
                          " AND ($2 = '' OR s.destination_id = $2)",
                          &q, &err, "tt", c.id, dest ? dest : "");
    if (rc == 0) {
        if ((rc = aw_sql_step(q, &err)) == 1) total = aw_sql_col_int64(q, 0);
        aw_sql_done(q);
    }
    if (rc >= 0)
        rc = aw_sql_query(tx,
                          "SELECT s.destination_id, s.id, s.case_id FROM delivery_submissions s"
                          " JOIN delivery_client_destinations cd"
                          " ON cd.destination_id = s.destination_id"
                          " WHERE cd.client_id = $1 AND s.state = 'submitted'"
                          " AND ($2 = '' OR s.destination_id = $2)"
                          " ORDER BY s.submitted_at, s.id LIMIT $3 OFFSET $4",
                          &q, &err, "ttII", c.id, dest ? dest : "", (int64_t)lim, (int64_t)off);
    if (rc == 0) {
        while ((rc = aw_sql_step(q, &err)) == 1)
            json_array_append_new(arr,
                                  json_pack("{s:s,s:s,s:s}", "destinationId", aw_sql_col_text(q, 0),
                                            "submissionId", aw_sql_col_text(q, 1), "caseId",
                                            aw_sql_col_text(q, 2)));
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (rc < 0) {
        json_decref(arr);
        return dl_store_error(resp, &err);
    }
    aw_http_resp_json(resp, 200,
                      json_pack("{s:i,s:I,s:I,s:o}", "count", (int)json_array_size(arr), "offset",
                                (json_int_t)off, "totalCount", (json_int_t)total, "submissions",
                                arr));
}

/* Loads a submission the subscriber may see in state submitted. */
static int load_visible(aw_delivery_t *d, const dl_client_t *c, const char *sid, dl_sub_t *s,
                        aw_http_resp_t *resp) {
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) {
        dl_store_error(resp, &err);
        return -1;
    }
    int rc = dl_sub_get(tx, sid, s, &err);
    bool yes = false;
    if (rc == 0) rc = dl_client_has_dest(tx, c->id, s->dest_id, &yes, &err);
    aw_store_rollback(tx);
    if (rc == AW_ENOTFOUND || (rc == 0 && (!yes || strcmp(s->state, "submitted") != 0))) {
        if (rc == 0) dl_sub_clear(s);
        not_found(resp);
        return -1;
    }
    if (rc) {
        dl_store_error(resp, &err);
        return -1;
    }
    return 0;
}

static void h_get(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!subscriber_only(d, req, resp, &c)) return;
    dl_sub_t s;
    if (load_visible(d, &c, aw_http_param(req, "submissionId"), &s, resp)) return;
    if (!s.fetched_at) {
        aw_tx_t *tx;
        aw_err_t err;
        if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err) == 0) {
            if (aw_sql_exec(tx,
                            "UPDATE delivery_submissions SET fetched_at = $1"
                            " WHERE id = $2 AND fetched_at IS NULL",
                            NULL, &err, "It", aw_time_now_ms(), s.id) == 0)
                aw_store_commit(tx, &err);
            else
                aw_store_rollback(tx);
        }
    }
    aw_log_info("delivery.fetch", "submission=%s client=%s", s.id, c.id);
    aw_http_resp_json(resp, 200, dl_sub_json(&s, true));
    dl_sub_clear(&s);
}

static void h_get_attachment(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!subscriber_only(d, req, resp, &c)) return;
    dl_sub_t s;
    if (load_visible(d, &c, aw_http_param(req, "submissionId"), &s, resp)) return;
    const char *aid = aw_http_param(req, "attachmentId");
    const struct dl_att *a = NULL;
    for (size_t i = 0; i < s.n_att; i++)
        if (aid && strcasecmp(s.att[i].id, aid) == 0) a = &s.att[i];
    if (!a || !a->digest) {
        dl_sub_clear(&s);
        dl_problem(resp, 404, DL_PROBLEM("attachment-not-found"), "Attachment not found",
                   "the submission has no attachment with this id");
        return;
    }
    if (a->blob) {
        aw_err_t err;
        char blob[AW_UUID_STRLEN + 1];
        snprintf(blob, sizeof blob, "%s", a->blob);
        uint64_t size = (uint64_t)a->size;
        dl_sub_clear(&s);
        if (dl_blob_respond(d, resp, blob, size, &err))
            dl_problem(resp, 500, "internal-error", "Internal Server Error",
                       "the attachment could not be read");
        return;
    }
    char path[4500];
    dl_attachment_path(d, s.id, a->id, a->digest, path, sizeof path);
    dl_sub_clear(&s);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        aw_log_error("delivery.attachment", "action=read outcome=missing");
        dl_problem(resp, 500, "internal-error", "Internal Server Error",
                   "the attachment could not be read");
        return;
    }
    /* Streamed from the file: attachments may be up to 500 MB. */
    aw_http_resp_file(resp, 200, "application/jose", fd, (uint64_t)st.st_size);
}

/* ---- subscriber events ---------------------------------------------------- */

static void set_problem(aw_http_resp_t *resp, int status, const char *slug, const char *detail,
                        const char *extra) {
    char type[200];
    snprintf(type, sizeof type, DL_PROBLEM("%s"), slug);
    dl_problem(resp, status, type, "Security event token refused", "%s%s", detail,
               extra ? extra : "");
}

static bool tags_equal(const dl_sub_t *s, json_t *at) {
    if (!json_is_object(at)) return false;
    const char *m = json_string_value(json_object_get(at, "metadata"));
    const char *dt = json_string_value(json_object_get(at, "data"));
    json_t *atts = json_object_get(at, "attachments");
    if (!m || !s->meta_tag || strcmp(m, s->meta_tag)) return false;
    if ((dt == NULL) != (s->data_tag == NULL)) return false;
    if (dt && strcmp(dt, s->data_tag)) return false;
    size_t n = atts ? json_object_size(atts) : 0;
    if (atts && !json_is_object(atts)) return false;
    if (n != s->n_att) return false;
    for (size_t i = 0; i < s->n_att; i++) {
        const char *t = json_string_value(json_object_get(atts, s->att[i].id));
        if (!t || !s->att[i].tag || strcmp(t, s->att[i].tag)) return false;
    }
    return true;
}

static void h_post_event(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_client_t c;
    if (!subscriber_only(d, req, resp, &c)) return;
    const char *cid = aw_http_param(req, "caseId");
    const char *ct = aw_http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/jose", 16) != 0) {
        dl_problem(resp, 415, DL_PROBLEM("unsupported-media-type"), "Unsupported Media Type",
                   "a security event token is sent as application/jose");
        return;
    }
    const char *tok = req->body ? req->body : "";
    size_t len = req->body_len;
    while (len && (tok[len - 1] == '\n' || tok[len - 1] == '\r' || tok[len - 1] == ' ')) len--;
    json_t *hdr = NULL;
    aw_err_t err;
    if (aw_jws_peek_header(tok, len, AW_SET_MAX_LEN, &hdr, &err)) {
        set_problem(resp, 400, "invalid-event",
                    "the body is not a security event token: ", err.msg);
        return;
    }
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    char kidb[80];
    snprintf(kidb, sizeof kidb, "%s", kid ? kid : "");
    json_decref(hdr);
    /* the case must have a submission visible to this client; among its
     * destinations (a case may span several) the token's kid picks one */
    aw_tx_t *tx;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    aw_sql_t *q;
    char dest_id[AW_UUID_STRLEN + 1] = "";
    bool visible = false;
    dl_dest_t dd = {0};
    int rc = aw_sql_query(tx,
                          "SELECT DISTINCT s.destination_id FROM delivery_submissions s"
                          " JOIN delivery_client_destinations cd"
                          " ON cd.destination_id = s.destination_id"
                          " WHERE s.case_id = $1 AND cd.client_id = $2"
                          " ORDER BY s.destination_id LIMIT 50",
                          &q, &err, "tt", aw_uuid_valid(cid) ? cid : "", c.id);
    json_t *ids = json_array();
    if (rc == 0) {
        while ((rc = aw_sql_step(q, &err)) == 1)
            json_array_append_new(ids, json_string(aw_sql_col_text(q, 0)));
        aw_sql_done(q);
    }
    size_t di;
    json_t *dv;
    json_array_foreach(ids, di, dv) {
        if (rc < 0 || dest_id[0]) break;
        visible = true;
        dl_dest_t cand;
        if ((rc = dl_dest_get(tx, json_string_value(dv), &cand, &err)) != 0) break;
        if (strcmp(cand.sig_kid, kidb) == 0) {
            dd = cand;
            snprintf(dest_id, sizeof dest_id, "%s", cand.id);
        } else {
            dl_dest_clear(&cand);
        }
    }
    json_decref(ids);
    aw_store_rollback(tx);
    if (rc < 0) {
        dl_dest_clear(&dd);
        return dl_store_error(resp, &err);
    }
    if (!visible) {
        dl_problem(resp, 404, DL_PROBLEM("case-not-found"), "Case not found",
                   "there is no case with this id for this client");
        return;
    }
    if (!dest_id[0]) {
        set_problem(resp, 422, "invalid-event",
                    "the token's kid is not the current signing key of the destination", NULL);
        return;
    }
    aw_jwk_t *key = NULL;
    aw_set_t set;
    rc = aw_jwk_parse(dd.sig_jwk, strlen(dd.sig_jwk), &key, &err);
    dl_dest_clear(&dd);
    if (rc) return dl_store_error(resp, &err);
    rc = aw_set_verify(key, tok, len, &set, &err);
    aw_jwk_free(key);
    if (rc) {
        set_problem(resp, 422, "invalid-event", "the token was refused: ", err.msg);
        return;
    }
    int status = 0;
    const char *why = NULL;
    const char *ev = set.event;
    bool accept = strcmp(ev, AW_SET_EV_ACCEPT) == 0, reject = strcmp(ev, AW_SET_EV_REJECT) == 0;
    dl_sub_t s = {0};
    bool have_sub = false;
    if (strcmp(set.iss, dest_id) != 0)
        status = 422, why = "iss must be the destination id";
    else if (strcasecmp(set.case_id, cid) != 0)
        status = 422, why = "txn must be this case";
    else if (!accept && !reject)
        status = 422, why = "only accept-submission and reject-submission may be sent";
    if (!status) {
        if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) {
            aw_set_free(&set);
            return dl_store_error(resp, &err);
        }
        rc = dl_sub_get(tx, set.submission_id, &s, &err);
        aw_store_rollback(tx);
        if (rc && rc != AW_ENOTFOUND) {
            aw_set_free(&set);
            return dl_store_error(resp, &err);
        }
        have_sub = rc == 0;
        if (!have_sub || strcasecmp(s.case_id, cid) != 0 || strcmp(s.dest_id, dest_id) != 0)
            status = 422, why = "sub must be a submission of this case and destination";
        else if (strcmp(s.state, "submitted") != 0)
            status = 409, why = "the submission is not in state submitted";
        else if (accept && !tags_equal(&s, json_object_get(set.event_body, "authenticationTags")))
            status = 422,
            why = "authenticationTags do not equal the tags of the stored metadata, data and "
                  "attachments";
        else if (reject && !json_is_array(json_object_get(set.event_body, "problems")))
            status = 422, why = "reject-submission must carry problems";
    }
    if (status) {
        set_problem(resp, status, status == 409 ? "submission-state-invalid" : "invalid-event", why,
                    NULL);
        if (have_sub) dl_sub_clear(&s);
        aw_set_free(&set);
        return;
    }
    int64_t now = aw_time_now_ms();
    const char *state = accept ? "accepted" : "rejected";
    bool conflict = false;
    rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, &err);
    if (rc == 0) {
        int64_t ch = 0;
        rc = aw_sql_exec(tx,
                         "UPDATE delivery_submissions SET state = $1, decided_at = $2,"
                         " updated_at = $2 WHERE id = $3 AND state = 'submitted'",
                         &ch, &err, "tIt", state, now, s.id);
        if (rc == 0 && ch != 1) conflict = true;
        if (rc == 0 && !conflict)
            rc = dl_event_record(tx, s.id, s.case_id,
                                 accept ? "accept-submission" : "reject-submission", set.jti, tok,
                                 true, now, &err);
        if (rc == 0 && !conflict && s.callback_url)
            rc = dl_enqueue_callback(tx, AW_CALLBACK_NEW_EVENTS, s.dest_id, s.id, s.case_id, true,
                                     &err);
        if (rc == 0 && !conflict)
            rc = aw_store_commit(tx, &err);
        else
            aw_store_rollback(tx);
    }
    aw_set_free(&set);
    if (rc == AW_ECONFLICT) {
        set_problem(resp, 409, "invalid-event", "an event with this jti exists already", NULL);
    } else if (rc) {
        dl_store_error(resp, &err);
    } else if (conflict) {
        set_problem(resp, 409, "submission-state-invalid", "the submission is no longer submitted",
                    NULL);
    } else {
        if (s.callback_url && d->worker) aw_worker_kick(d->worker);
        aw_log_info("delivery.decision", "submission=%s case=%s state=%s", s.id, s.case_id, state);
        aw_http_resp_text(resp, 204, NULL, NULL, 0);
    }
    dl_sub_clear(&s);
}

/* POST events' gate: only a subscriber's body is read. */
static void subscriber_gate(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    dl_client_t c;
    if (!subscriber_only(ctx, req, resp, &c)) return;
    snprintf(req->principal, sizeof req->principal, "%s", c.id);
    req->principal_kind = c.kind;
}

int dl_register_subscriber(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err) {
    aw_route_spec_t r[] = {
        {"GET", "/v1/submissions", h_list, d, 0, 0, NULL, NULL},
        {"GET", "/v1/submissions/{submissionId}", h_get, d, 0, 0, NULL, NULL},
        {"GET", "/v1/submissions/{submissionId}/attachments/{attachmentId}", h_get_attachment, d, 0,
         0, NULL, NULL},
        {"POST", "/v1/cases/{caseId}/events", h_post_event, d, 0, AW_SET_MAX_LEN, NULL,
         subscriber_gate},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        int rc = aw_http_server_route(srv, &r[i], err);
        if (rc) return rc;
    }
    return 0;
}
