/* Internals shared by the files of src/delivery (not for other modules). */
#ifndef AW_DELIVERY_INTERNAL_H
#define AW_DELIVERY_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/buf.h"
#include "base/uuid.h"
#include "delivery/delivery.h"
#include "delivery/worker.h"
#include "http/http.h"
#include "http/ratelimit.h"
#include "jose/jwk.h"
#include "store/sql.h"

#define DL_PROBLEM(slug)       "https://schema.fitko.de/fit-connect/submission-api/problems/" slug
#define DL_EVENT_PROBLEM(slug) "https://schema.fitko.de/fit-connect/events/problems/" slug
#define DL_JOB_CALLBACK        "delivery.callback"
#define DL_JOB_SIGN            "delivery.sign"

struct aw_delivery {
    aw_delivery_config_t cfg;
    aw_store_t *store;
    const aw_auth_t *op;
    /* private PS512 and its public part; NULL until first needed
     * (dl_platform_key). Replaced by a rotation (under key_mu); a replaced
     * key stays allocated (old_keys) until aw_delivery_free, so a signer
     * that loaded the pointer before may finish with it. */
    _Atomic(aw_jwk_t *) platform_key;
    _Atomic(aw_jwk_t *) platform_pub;
    aw_jwk_t **old_keys;
    size_t n_old_keys;
    int64_t key_checked_ms;         /* last look for a newer key in the store (under key_mu) */
    _Atomic int64_t key_created_ms; /* when the signing key was made (a file: first seen) */
    pthread_mutex_t key_mu;
    char iss[512];
    char attach_dir[4096];
    bool blobs_db; /* new attachments go into the database (blob.c), not attach_dir */
    _Atomic int64_t tot_blobs_swept;
    aw_worker_t *worker;
    struct dl_signer *signer; /* NULL unless cfg.sign_worker and started */
    aw_ratelimit_t token_rl;  /* POST /token per client address */
    _Atomic int64_t tot_incomplete, tot_rejected, tot_purged, tot_events;
    /* unsigned events (estimate, see events.c), SETs signed by the signer,
     * times it escalated, requests refused at sign_max_backlog */
    _Atomic int64_t backlog, signed_bg, escalations, sign_refused;
    /* µs idle signing threads waited for claimed work while unsigned events
     * nobody held were left (the claims' commits were slower than signing) */
    _Atomic int64_t sign_starved_us;
    _Atomic int64_t last_req_ms;      /* last announce/submit commit (signer: quiet?) */
    struct dl_auth_cache *auth_cache; /* validated bearer tokens (core.c); lazily made */
    pthread_mutex_t auth_mu;
};

enum { DL_SENDER = 1, DL_SUBSCRIBER = 2 };

typedef struct dl_client {
    char id[AW_UUID_STRLEN + 1];
    int kind;
} dl_client_t;

typedef struct dl_dest {
    char id[AW_UUID_STRLEN + 1];
    char status[16];
    json_t *doc; /* services, replyChannels, metadataVersions, contactInformation */
    char *enc_jwk, *sig_jwk, *enc_kid, *sig_kid, *callback_url, *callback_secret;
} dl_dest_t;

/* core.c */
/* The platform's SET key, loaded or (first use) generated and stored. */
int dl_platform_key(aw_delivery_t *d, aw_err_t *err);
/* A new platform key (kept in the store) that signs from now on; the keys
 * before it are retired (private part wiped, public part published until
 * the purge). kid_out: the new kid (64 bytes). AW_ECONFLICT with a key file. */
int dl_platform_rotate(aw_delivery_t *d, char *kid_out, aw_err_t *err);
/* The JWKS of the platform: the current key first, then every key still
 * published (retired ones, keys of replaced files). */
int dl_platform_jwks(aw_delivery_t *d, json_t **out, aw_err_t *err);
/* Makes a new platform key (RSA-4096, seconds) and stores it as the newest;
 * retire: the keys before it are retired (a rotation). kid: 64 bytes. */
int dl_platform_key_create(aw_store_t *st, bool retire, char *kid, aw_err_t *err);
/* The platform keys, newest first: [{kid, createdAt, current, retired,
 * retiredAt?, source}]; current_kid (may be NULL) is marked current. */
int dl_platform_keys_list(aw_store_t *st, const char *current_kid, json_t **out, aw_err_t *err);
void dl_problem(aw_http_resp_t *resp, int status, const char *type, const char *title,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void dl_store_error(aw_http_resp_t *resp, const aw_err_t *err);
/* Bearer token of a client; fills a 401 problem on failure. */
bool dl_client_auth(aw_delivery_t *d, aw_http_req_t *req, aw_http_resp_t *resp, dl_client_t *c);
/* Forgets every validated token this process remembers (after a client or
 * its tokens were deleted). */
void dl_auth_forget(aw_delivery_t *d);
/* True when the subscriber client c may see destination dest_id. */
int dl_client_has_dest(aw_tx_t *tx, const char *client_id, const char *dest_id, bool *yes,
                       aw_err_t *err);
/* Signs a platform SET (event is the short name, e.g. "create-submission")
 * and records it in tx. body borrowed (NULL: {}). */
int dl_event_add(aw_delivery_t *d, aw_tx_t *tx, const char *sub_id, const char *case_id,
                 const char *event, json_t *body, int64_t now_ms, aw_err_t *err);
/* Signs without recording: token appended to out, jti filled. */
int dl_event_sign(aw_delivery_t *d, const char *sub_id, const char *case_id, const char *event,
                  json_t *body, int64_t now_ms, char jti[AW_UUID_STRLEN + 1], aw_buf_t *out,
                  aw_err_t *err);
int dl_event_record(aw_tx_t *tx, const char *sub_id, const char *case_id, const char *event,
                    const char *jti, const char *token, bool posted, int64_t now_ms, aw_err_t *err);
/* events.c: the platform's SETs, signed after the commit. */
/* Records an unsigned platform event (iat = now_ms) and a sign job in tx.
 * body borrowed (NULL: {}). */
int dl_event_pending(aw_tx_t *tx, const char *sub_id, const char *case_id, const char *event,
                     json_t *body, int64_t now_ms, aw_err_t *err);
/* Signs the unsigned events of case_id (NULL: of every case) that nobody
 * else has claimed. wait: also wait until those others hold are signed
 * (readers); otherwise (the worker: at most 512 events, at a lower thread
 * priority) AW_EBUSY when some remain with another signer.
 * signed_n (may be NULL): how many this call signed. */
int dl_events_sign(aw_delivery_t *d, const char *case_id, bool wait, int64_t *signed_n,
                   aw_err_t *err);
/* Outbox handler of DL_JOB_SIGN jobs left by older versions: drops the
 * job (the signer finds every unsigned event by itself). */
int dl_job_sign(void *ctx, const aw_outbox_job_t *job, aw_err_t *err);

/* The background signer (events.c): idle-priority threads, escalation
 * threads above cfg.sign_escalate, 503 at cfg.sign_max_backlog. */
typedef struct dl_signer dl_signer_t;
enum { DL_SIGN_IDLE = 0, DL_SIGN_ESCALATE = 1, DL_SIGN_REFUSE = 2 };
#define DL_SIGN_RETRY_AFTER "10" /* seconds, on a 503 for a full backlog */
/* What a backlog of unsigned events calls for; escalated: the signer is
 * escalated now (it stays so down to half of sign_escalate). */
int dl_sign_level(const aw_delivery_config_t *c, int64_t backlog, bool escalated);
/* The backlog estimate (>= 0) and its recount from the database. */
int64_t dl_sign_backlog(aw_delivery_t *d);
int dl_sign_backlog_count(aw_delivery_t *d, aw_err_t *err);
int dl_signer_start(aw_delivery_t *d, aw_err_t *err);
void dl_signer_stop(aw_delivery_t *d);
/* After the commit of `added` unsigned events: counts them, wakes a signer. */
void dl_signer_kick(aw_delivery_t *d, int64_t added);
/* One signer's loop on the calling thread: claim, sign, store (pipelined)
 * until nothing is claimable; escalation: also stop once the backlog is
 * below the escalation level while requests are coming in. */
int dl_signer_run(aw_delivery_t *d, bool escalation, int64_t *signed_n, aw_err_t *err);
/* Tests: waits until the backlog is <= at_most (AW_ETIMEOUT, AW_ESTATE
 * without a signer); how many signer threads run at SCHED_IDLE / normal. */
int dl_signer_wait(aw_delivery_t *d, int64_t at_most, int64_t timeout_ms);
int dl_signer_policies(aw_delivery_t *d, int *idle, int *normal);
/* At sign_max_backlog: fills a 503 problem with Retry-After, true. */
bool dl_sign_refuse(aw_delivery_t *d, aw_http_resp_t *resp);
/* Enqueues a callback job {target, destinationId|submissionId, ...}. */
int dl_enqueue_callback(aw_tx_t *tx, const char *type, const char *dest_id, const char *sub_id,
                        const char *case_id, bool to_sender, aw_err_t *err);
void dl_sha256_hex(const void *p, size_t n, char out[65]);
int dl_secret_hash(const char *secret, char *out, size_t outcap, aw_err_t *err);
bool dl_secret_check(const char *secret, const char *stored);
int dl_random_b64(size_t nbytes, char *out, size_t outcap);
bool dl_parse_uint(const char *s, uint64_t max, uint64_t *out);

/* dest.c */
int dl_dest_get(aw_tx_t *tx, const char *id, dl_dest_t *out, aw_err_t *err);
/* *yes: destination id has a callback URL (false when it does not exist). */
#define DL_KID_MAX 80 /* a token's kid as copied (key kids have at most 64) */
int dl_dest_has_callback(aw_tx_t *tx, const char *id, bool *yes, aw_err_t *err);
/* The same and the current encryption kid (enc_kid may be NULL), in one
 * look-up: what a final PUT needs of its destination. */
int dl_dest_submit_facts(aw_tx_t *tx, const char *id, bool *callback, char enc_kid[DL_KID_MAX],
                         aw_err_t *err);
void dl_dest_clear(dl_dest_t *d);
bool dl_dest_offers(const dl_dest_t *d, const char *identifier);
json_t *dl_dest_public_json(const dl_dest_t *d);
/* Validates a destination document (admin API / CLI) and stores it (insert
 * or replace). id in/out. */
/* 0 when kid names an encryption key of destination dest that was current
 * at some time since `since` (ms; the submission's announcement): the
 * current one, or one retired since; otherwise AW_EPERM naming field, the
 * kid and the current encryptionKid. */
int dl_dest_enc_kid_check(aw_tx_t *tx, const char *dest, const char *kid, int64_t since,
                          const char *field, aw_err_t *err);
int dl_dest_put(aw_tx_t *tx, json_t *in, char id[AW_UUID_STRLEN + 1], bool allow_loopback,
                const char *key_roots, aw_err_t *err);
int dl_client_create(aw_tx_t *tx, const char *kind, const char *name, json_t *destinations,
                     char id[AW_UUID_STRLEN + 1], char *secret, size_t secret_cap, aw_err_t *err);
int dl_register_admin(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err);

/* token.c */
/* Finds and decodes field `name` of an application/x-www-form-urlencoded
 * body into out (cap bytes, NUL-terminated). Returns 1 found, 0 absent,
 * -1 malformed (bad %-escape, NUL, too long) or repeated. */
int dl_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);
int dl_register_token(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err);

/* submit.c / subscribe.c */
int dl_register_sender(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err);
int dl_register_subscriber(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err);
typedef struct dl_sub {
    char id[AW_UUID_STRLEN + 1], case_id[AW_UUID_STRLEN + 1], dest_id[AW_UUID_STRLEN + 1];
    char sender[AW_UUID_STRLEN + 1];
    char state[16];
    char *service_identifier, *service_name, *enc_meta, *enc_data, *meta_tag, *data_tag;
    char *callback_url, *callback_secret;
    int64_t created_at, submitted_at, fetched_at, decided_at, purged_at;
    /* attachments in announced order */
    size_t n_att;
    struct dl_att {
        char id[AW_UUID_STRLEN + 1];
        char *tag, *digest;
        char *blob; /* the content's blob in the database, NULL: a file */
        int64_t size;
    } * att;
} dl_sub_t;

/* Loads a submission and its attachments (AW_ENOTFOUND). */
int dl_sub_get(aw_tx_t *tx, const char *id, dl_sub_t *out, aw_err_t *err);
void dl_sub_clear(dl_sub_t *s);
/* SubmissionReduced JSON (+ encrypted parts when full). */
json_t *dl_sub_json(const dl_sub_t *s, bool full);
/* Path of an attachment's ciphertext file. */
void dl_attachment_path(const aw_delivery_t *d, const char *sub_id, const char *att_id,
                        const char *digest, char *out, size_t cap);
void dl_attachment_dir(const aw_delivery_t *d, const char *sub_id, char *out, size_t cap);
/* Removes a submission's attachment directory (best effort). */
void dl_attachments_remove(const aw_delivery_t *d, const char *sub_id);

/* blob.c: attachment content in the database (--attachment-store database) */
#define DL_BLOB_CHUNK (256 * 1024)
typedef struct dl_blob_writer dl_blob_writer_t;
/* Registers a new blob for an upload to sub_id (committed at once). */
int dl_blob_begin(aw_delivery_t *d, const char *sub_id, dl_blob_writer_t **out, aw_err_t *err);
/* Appends; each full chunk is stored in a transaction of its own. */
int dl_blob_write(dl_blob_writer_t *w, const char *data, size_t len, aw_err_t *err);
/* Stores what is buffered; call before the transaction that records the blob. */
int dl_blob_flush(dl_blob_writer_t *w, aw_err_t *err);
const char *dl_blob_id(const dl_blob_writer_t *w);
/* The blob was recorded: dl_blob_free keeps it. */
void dl_blob_keep(dl_blob_writer_t *w);
/* Frees w and, unless kept, deletes the blob (best effort; the purge sweeps
 * what is left). NULL is a no-op. */
void dl_blob_free(dl_blob_writer_t *w);
int dl_blob_delete_in(aw_tx_t *tx, const char *blob_id, aw_err_t *err);
int dl_blobs_delete_submission_in(aw_tx_t *tx, const char *sub_id, aw_err_t *err);
/* Marks the blob recorded (an attachment row points at it now), in the
 * transaction that makes the row point at it. */
int dl_blob_record_in(aw_tx_t *tx, const char *blob_id, aw_err_t *err);
/* Deletes unrecorded blobs older than cutoff_ms. */
int dl_blob_sweep(aw_delivery_t *d, int64_t cutoff_ms, int64_t *swept, aw_err_t *err);
/* 200 streaming the blob (size bytes) from the database; an error when its
 * first chunk cannot be read (nothing is sent then). */
int dl_blob_respond(aw_delivery_t *d, aw_http_resp_t *resp, const char *blob_id, uint64_t size,
                    aw_err_t *err);

/* purge.c / callback jobs */
int dl_job_callback(void *ctx, const aw_outbox_job_t *job, aw_err_t *err);
void dl_purge_tick(void *ctx, int64_t now_ms);

#endif
