/*
 * purge — deadlines (FIT-Connect defaults, configurable) and the callback
 * job, both run by the outbox worker.
 *
 *  - incomplete submissions older than incomplete_ttl: deleted
 *    (delete-submission event, attachments removed);
 *  - submitted but undecided after unfetched_reject: the platform signs
 *    reject-submission (problem submission-not-picked-up);
 *  - decided (accepted/rejected) submissions: ciphertext purged
 *    decided_purge after the decision (delete-submission event);
 *  - events older than events_ttl deleted, and with them the rows of
 *    deleted submissions and the destination and platform keys retired
 *    before (no event they could have signed is left).
 * Each step works in batches and is idempotent; the clock is a parameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "base/time.h"
#include "delivery/callback.h"
#include "delivery/internal.h"

#define BATCH 100

typedef struct {
    char id[AW_UUID_STRLEN + 1], case_id[AW_UUID_STRLEN + 1];
} pair_t;

static int select_batch(aw_delivery_t *d, const char *sql, int64_t cutoff, pair_t *out, size_t *n,
                        aw_err_t *err) {
    aw_tx_t *tx;
    *n = 0;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
    if (rc) return rc;
    aw_sql_t *q;
    rc = aw_sql_query(tx, sql, &q, err, "Ii", cutoff, BATCH);
    if (rc == 0) {
        while ((rc = aw_sql_step(q, err)) == 1 && *n < BATCH) {
            snprintf(out[*n].id, sizeof out[0].id, "%s", aw_sql_col_text(q, 0));
            snprintf(out[*n].case_id, sizeof out[0].case_id, "%s", aw_sql_col_text(q, 1));
            (*n)++;
        }
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    return rc < 0 ? rc : 0;
}

/* Moves one submission from `from` states to deleted with a signed
 * delete-submission (or reject-submission) event. Returns 1 when it
 * changed, 0 when someone else got there first. */
static int transition(aw_delivery_t *d, const pair_t *p, const char *update_sql, const char *event,
                      json_t *body, int64_t now, bool drop_files, aw_err_t *err) {
    char jti[AW_UUID_STRLEN + 1];
    aw_buf_t set = AW_BUF_INIT;
    int rc = dl_event_sign(d, p->id, p->case_id, event, body, now, jti, &set, err);
    aw_tx_t *tx;
    int changed = 0;
    if (rc == 0 && (rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err)) == 0) {
        int64_t ch = 0;
        rc = aw_sql_exec(tx, update_sql, &ch, err, "It", now, p->id);
        if (rc == 0 && ch == 1) {
            changed = 1;
            if (drop_files)
                rc = aw_sql_exec(tx, "DELETE FROM delivery_attachments WHERE submission_id = $1",
                                 NULL, err, "t", p->id);
            if (rc == 0 && drop_files) rc = dl_blobs_delete_submission_in(tx, p->id, err);
            if (rc == 0)
                rc = dl_event_record(tx, p->id, p->case_id, event, jti, set.data, false, now, err);
        }
        if (rc == 0 && changed)
            rc = aw_store_commit(tx, err);
        else
            aw_store_rollback(tx);
    }
    aw_buf_free(&set);
    if (rc) return rc;
    if (changed && drop_files) dl_attachments_remove(d, p->id);
    return changed;
}

int aw_delivery_purge(aw_delivery_t *d, int64_t now, aw_delivery_purge_stats_t *stats,
                      aw_err_t *err) {
    aw_delivery_purge_stats_t st = {0};
    pair_t *b = calloc(BATCH, sizeof *b);
    if (!b) return aw_err_set(err, AW_ENOMEM, "purge: out of memory");
    size_t n;
    int rc = 0;
    /* 1. incomplete */
    for (int round = 0; rc == 0 && round < 1000; round++) {
        rc = select_batch(d,
                          "SELECT id, case_id FROM delivery_submissions WHERE state = 'incomplete'"
                          " AND created_at < $1 ORDER BY created_at LIMIT $2",
                          now - d->cfg.incomplete_ttl_s * 1000, b, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int c = transition(d, &b[i],
                               "UPDATE delivery_submissions SET state = 'deleted', purged_at = $1,"
                               " updated_at = $1, encrypted_metadata = NULL, encrypted_data = NULL"
                               " WHERE id = $2 AND state = 'incomplete'",
                               "delete-submission", NULL, now, true, err);
            if (c < 0) rc = c;
            st.incomplete_purged += c > 0;
        }
        if (n < BATCH) break;
    }
    /* 2. undecided → reject-submission by the platform */
    json_t *body =
        json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "problems", "type",
                  DL_EVENT_PROBLEM("submission-not-picked-up"), "title", "Submission not picked up",
                  "detail", "the destination did not accept or reject the submission in time",
                  "instance", "submission");
    for (int round = 0; rc == 0 && round < 1000; round++) {
        rc = select_batch(d,
                          "SELECT id, case_id FROM delivery_submissions WHERE state = 'submitted'"
                          " AND submitted_at < $1 ORDER BY submitted_at LIMIT $2",
                          now - d->cfg.unfetched_reject_s * 1000, b, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int c =
                transition(d, &b[i],
                           "UPDATE delivery_submissions SET state = 'rejected', decided_at = $1,"
                           " updated_at = $1 WHERE id = $2 AND state = 'submitted'",
                           "reject-submission", body, now, false, err);
            if (c < 0) rc = c;
            st.auto_rejected += c > 0;
        }
        if (n < BATCH) break;
    }
    json_decref(body);
    /* 3. decided → content purged */
    for (int round = 0; rc == 0 && round < 1000; round++) {
        rc = select_batch(d,
                          "SELECT id, case_id FROM delivery_submissions"
                          " WHERE state IN ('accepted', 'rejected') AND decided_at < $1"
                          " ORDER BY decided_at LIMIT $2",
                          now - d->cfg.decided_purge_s * 1000, b, &n, err);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            int c = transition(d, &b[i],
                               "UPDATE delivery_submissions SET state = 'deleted', purged_at = $1,"
                               " updated_at = $1, encrypted_metadata = NULL, encrypted_data = NULL"
                               " WHERE id = $2 AND state IN ('accepted', 'rejected')",
                               "delete-submission", NULL, now, true, err);
            if (c < 0) rc = c;
            st.content_purged += c > 0;
        }
        if (n < BATCH) break;
    }
    free(b);
    /* 4. old events and the rows of deleted submissions; a read-only look
     * first, so that a run with nothing to delete writes nothing (no write
     * transaction, no WAL sync) */
    int64_t cutoff = now - d->cfg.events_ttl_s * 1000, ch = 0;
    bool old = false;
    if (rc == 0) {
        aw_tx_t *tx;
        aw_sql_t *q;
        rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
        if (rc == 0) {
            rc = aw_sql_query(tx,
                              "SELECT CASE WHEN EXISTS (SELECT 1 FROM delivery_events"
                              " WHERE created_at < $1) OR EXISTS (SELECT 1 FROM"
                              " delivery_submissions WHERE state = 'deleted' AND created_at < $1)"
                              " OR EXISTS (SELECT 1 FROM delivery_destination_keys"
                              " WHERE retired_at < $1) OR EXISTS (SELECT 1 FROM"
                              " delivery_platform_keys WHERE retired_at < $1) THEN 1 ELSE 0 END",
                              &q, err, "I", cutoff);
            if (rc == 0) {
                int r = aw_sql_step(q, err);
                if (r < 0) rc = r;
                old = r == 1 && aw_sql_col_int64(q, 0) != 0;
                aw_sql_done(q);
            }
            aw_store_rollback(tx);
        }
    }
    if (rc == 0 && old) {
        /* an event has its submission's case: the case index finds them
         * (there is no index on submission_id, and none is wanted on the
         * hot insert path) */
        aw_tx_t *tx;
        rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err);
        if (rc == 0) {
            rc = aw_sql_exec(tx, "DELETE FROM delivery_events WHERE created_at < $1", &ch, err, "I",
                             cutoff);
            if (rc == 0)
                rc = aw_sql_exec(
                    tx,
                    "DELETE FROM delivery_submissions WHERE state = 'deleted'"
                    " AND created_at < $1 AND NOT EXISTS (SELECT 1 FROM delivery_events e"
                    " WHERE e.case_id = delivery_submissions.case_id"
                    " AND e.submission_id = delivery_submissions.id)",
                    NULL, err, "I", cutoff);
            if (rc == 0)
                rc = aw_sql_exec(tx, "DELETE FROM delivery_destination_keys WHERE retired_at < $1",
                                 NULL, err, "I", cutoff);
            /* a platform key retired before the oldest event kept can have
             * signed none of them: no longer published */
            if (rc == 0)
                rc = aw_sql_exec(tx, "DELETE FROM delivery_platform_keys WHERE retired_at < $1",
                                 NULL, err, "I", cutoff);
            if (rc == 0)
                rc = aw_store_commit(tx, err);
            else
                aw_store_rollback(tx);
        }
        st.events_deleted = ch;
    }
    /* 5. attachment blobs nothing points at: uploads that broke off in a
     * node that died (the others deleted their own), older than any upload
     * can be */
    if (rc == 0) rc = dl_blob_sweep(d, now - d->cfg.incomplete_ttl_s * 1000, &st.blobs_swept, err);
    atomic_fetch_add(&d->tot_blobs_swept, st.blobs_swept);
    atomic_fetch_add(&d->tot_incomplete, st.incomplete_purged);
    atomic_fetch_add(&d->tot_rejected, st.auto_rejected);
    atomic_fetch_add(&d->tot_purged, st.content_purged);
    atomic_fetch_add(&d->tot_events, st.events_deleted);
    if (st.incomplete_purged || st.auto_rejected || st.content_purged || st.events_deleted ||
        st.blobs_swept)
        aw_log_info("delivery.purge",
                    "incomplete_purged=%lld auto_rejected=%lld content_purged=%lld "
                    "events_deleted=%lld blobs_swept=%lld",
                    (long long)st.incomplete_purged, (long long)st.auto_rejected,
                    (long long)st.content_purged, (long long)st.events_deleted,
                    (long long)st.blobs_swept);
    if (stats) *stats = st;
    return rc;
}

void dl_purge_tick(void *ctx, int64_t now_ms) {
    aw_delivery_t *d = ctx;
    aw_err_t err;
    if (aw_delivery_purge(d, now_ms, NULL, &err))
        aw_log_warn("delivery.purge", "outcome=failed err=%s", aw_err_name(err.code));
}

/* ---- the callback job ------------------------------------------------------ */

int dl_job_callback(void *ctx, const aw_outbox_job_t *job, aw_err_t *err) {
    aw_delivery_t *d = ctx;
    json_t *p = json_loads(job->payload, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *did = json_string_value(json_object_get(p, "destinationId"));
    const char *sid = json_string_value(json_object_get(p, "submissionId"));
    const char *cid = json_string_value(json_object_get(p, "caseId"));
    bool to_sender = json_is_true(json_object_get(p, "toSender"));
    if (!type || !did || !sid || !cid) {
        json_decref(p);
        return aw_err_set(err, AW_EINVAL, "callback job: malformed payload");
    }
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
    char *url = NULL, *secret = NULL;
    if (rc == 0) {
        if (to_sender) {
            dl_sub_t s;
            if ((rc = dl_sub_get(tx, sid, &s, err)) == 0) {
                url = s.callback_url ? strdup(s.callback_url) : NULL;
                secret = s.callback_secret ? strdup(s.callback_secret) : NULL;
                dl_sub_clear(&s);
            }
        } else {
            dl_dest_t dd;
            if ((rc = dl_dest_get(tx, did, &dd, err)) == 0) {
                url = dd.callback_url ? strdup(dd.callback_url) : NULL;
                secret = dd.callback_secret ? strdup(dd.callback_secret) : NULL;
                dl_dest_clear(&dd);
            }
        }
        aw_store_rollback(tx);
    }
    if (rc == AW_ENOTFOUND) rc = 0; /* gone meanwhile: nothing to tell */
    if (rc == 0 && url && secret) {
        json_t *body = json_pack("{s:s,s:[{s:s,s:s,s:s}]}", "type", type, "submissions",
                                 "destinationId", did, "submissionId", sid, "caseId", cid);
        char *txt = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        rc = txt ? aw_callback_post(url, secret, txt, strlen(txt), d->cfg.callback_allow_loopback,
                                    d->cfg.callback_timeout_s, err)
                 : aw_err_set(err, AW_ENOMEM, "callback: out of memory");
        if (rc == 0)
            aw_log_info("delivery.callback", "submission=%s to=%s outcome=delivered", sid,
                        to_sender ? "sender" : "destination");
        free(txt);
    }
    free(url);
    aw_secure_free_str(secret);
    json_decref(p);
    return rc;
}
