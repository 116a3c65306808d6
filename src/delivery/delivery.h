/*
 * delivery — the FIT-Connect-compatible delivery service: destinations and
 * OAuth clients (admin API and CLI), the Submission API for senders
 * (announce, attachments, submit, event log), the subscriber API
 * (pick-up, accept/reject with SETs), the platform's signed event log,
 * callbacks through the transactional outbox, deadlines and purging.
 *
 * What it promises:
 *  - Only ciphertext is stored: submission data and metadata as compact JWE
 *    in the store, attachments as JWE in the store (attachment_store
 *    "database") or as files under <var_dir>/attachments ("file").
 *    Nothing of a submission's content is ever logged.
 *  - A 2xx reply means the submission, its state and its event are committed
 *    (store durability); the platform's SET for the event is signed after
 *    the commit (outbox worker, or the first reader of the case's log), so
 *    every event log a client reads is complete and signed. An attachment's
 *    file is fsynced and renamed, or its blob's chunks are written, before
 *    the commit that records it.
 *  - Every input is bounded (limits in aw_delivery_config_t); beyond a size
 *    limit the answer is 413, never 5xx.
 *  - Client secrets and bearer tokens are stored hashed (PBKDF2-SHA256 for
 *    secrets, SHA-256 for random 256-bit tokens) and compared in constant
 *    time.
 * docs/delivery.md describes the API, the choices and the limits.
 */
#ifndef AW_DELIVERY_DELIVERY_H
#define AW_DELIVERY_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "http/auth.h"
#include "http/http.h"
#include "store/store.h"

typedef struct aw_delivery_config {
    const char *var_dir;             /* attachments and (optional) key files; default "var" */
    const char *attachment_store;    /* "file" (under var_dir) or "database"; NULL: database on
                                        PostgreSQL (nodes share it), file on SQLite */
    const char *public_url;          /* iss of the platform's SETs; NULL: "amtsweg" */
    const char *platform_key_file;   /* PS512 private JWK (mode 0600); NULL: kept in the store */
    int64_t platform_key_recheck_ms; /* a key kept in the store: look for a rotation by
                                        another node this often; 30000 */
    size_t max_data_bytes;           /* encryptedData token; default 10 MB */
    size_t max_metadata_bytes;       /* encryptedMetadata token; default 1 MiB */
    uint64_t max_attachment_bytes;   /* one attachment token; default 500 MB */
    unsigned max_attachments;        /* announced attachments; default 100 */
    uint64_t max_submission_bytes;   /* all tokens of a submission; default 2 GB */
    int64_t token_ttl_s;             /* bearer token lifetime; default 1800 */
    unsigned token_rate_limit;       /* POST /token per client address and minute; 0 off; 30 */
    bool callback_allow_loopback;    /* allow http:// to 127.0.0.1/::1/localhost (tests) */
    const char *key_roots;           /* PEM file of trusted root certificates: destination keys
                                        must then carry an x5c chain that verifies against them
                                        (FIT-Connect: certified keys); NULL: x5c optional */
    int64_t callback_timeout_s;      /* default 10 */
    /* Deadlines (seconds), defaults as FIT-Connect. */
    int64_t incomplete_ttl_s;   /* incomplete submissions purged; 1 day */
    int64_t unfetched_reject_s; /* submitted, not decided: reject-submission; 14 days */
    int64_t decided_purge_s;    /* content purged after accept/reject; 7 days */
    int64_t events_ttl_s;       /* event log kept; 730 days */
    int64_t purge_interval_s;   /* how often the worker runs the purge; 60 */
    unsigned worker_poll_ms;    /* outbox poll when idle; 500 */
    bool sign_worker;           /* the worker signs pending event SETs; true. false: only
                                   readers of the log sign (tests, diagnostics) */
    unsigned sign_threads;      /* signer threads at idle priority; 0: cores */
    int64_t sign_escalate;      /* unsigned events above which the signer also runs at normal
                                   priority (until half of it); default 30000; 0: never */
    int64_t sign_max_backlog;   /* unsigned events at which announce and submit get 503 with
                                   Retry-After; default 100000; 0: no limit */
} aw_delivery_config_t;

/* Fills the defaults above. */
void aw_delivery_config_defaults(aw_delivery_config_t *c);
/* "D1,D2,D3,D4" seconds: incomplete, unfetched reject, decided purge,
 * events. Returns 0 or AW_EINVAL naming the field. */
int aw_delivery_parse_deadlines(aw_delivery_config_t *c, const char *spec, aw_err_t *err);

typedef struct aw_delivery aw_delivery_t;

/* Creates the service: loads or creates the platform's SET key (first
 * start: RSA-4096 generated and stored), creates var_dir/attachments.
 * cfg, store and operator outlive the service. *out: aw_delivery_free. */
int aw_delivery_new(const aw_delivery_config_t *cfg, aw_store_t *store,
                    const aw_auth_t *operator_auth, aw_delivery_t **out, aw_err_t *err);
/* Registers the routes (FIT-Connect API, /token, /.well-known/jwks.json,
 * /admin/v1/...). Before the server starts. */
int aw_delivery_register(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err);
/* Starts / stops the background worker (outbox jobs, deadlines). */
int aw_delivery_start(aw_delivery_t *d, aw_err_t *err);
void aw_delivery_stop(aw_delivery_t *d);
void aw_delivery_free(aw_delivery_t *d);

typedef struct aw_delivery_purge_stats {
    int64_t incomplete_purged; /* incomplete submissions deleted */
    int64_t auto_rejected;     /* unfetched/undecided submissions rejected by the platform */
    int64_t content_purged;    /* decided submissions whose ciphertext was deleted */
    int64_t events_deleted;    /* events older than events_ttl */
    int64_t blobs_swept;       /* attachment blobs no attachment points at (broken-off uploads) */
} aw_delivery_purge_stats_t;

/* Applies the deadlines as of now_ms (injectable for tests). Idempotent.
 * stats may be NULL. */
int aw_delivery_purge(aw_delivery_t *d, int64_t now_ms, aw_delivery_purge_stats_t *stats,
                      aw_err_t *err);
/* Totals since start (for metrics and the admin API). */
void aw_delivery_purge_totals(aw_delivery_t *d, aw_delivery_purge_stats_t *out);

/* CLI entry points (argv[0] is the subcommand). */
int aw_delivery_cli_destination(int argc, char **argv);
int aw_delivery_cli_client(int argc, char **argv);
int aw_delivery_cli_platform_key(int argc, char **argv);
int aw_delivery_cli_inbox(int argc, char **argv);

#endif
