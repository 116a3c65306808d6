/*
 * core — the delivery service object, its platform SET key, client bearer
 * authentication, the event log writer and small shared helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/b64.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/secure.h"
#include "base/time.h"
#include "delivery/internal.h"
#include "http/auth.h"
#include "http/problem.h"
#include "jose/jwk.h"
#include "jose/set.h"
#include "store/outbox.h"

void aw_delivery_config_defaults(aw_delivery_config_t *c) {
    memset(c, 0, sizeof *c);
    c->var_dir = "var";
    c->max_data_bytes = 10u * 1000 * 1000;
    c->max_metadata_bytes = 1024 * 1024;
    c->max_attachment_bytes = 500ull * 1000 * 1000;
    c->max_attachments = 100;
    c->max_submission_bytes = 2000ull * 1000 * 1000;
    c->token_ttl_s = 1800;
    c->token_rate_limit = 30;
    c->callback_timeout_s = 10;
    c->incomplete_ttl_s = 86400;
    c->unfetched_reject_s = 14 * 86400;
    c->decided_purge_s = 7 * 86400;
    c->events_ttl_s = 730 * 86400;
    c->platform_key_recheck_ms = 30000;
    c->purge_interval_s = 60;
    c->worker_poll_ms = 500;
    c->sign_worker = true;
    c->sign_escalate = 30000; /* ≈ a minute of signing on two cores (2 × 245 SETs/s) */
    c->sign_max_backlog = 100000;
}

bool dl_parse_uint(const char *s, uint64_t max, uint64_t *out) {
    if (!s || !*s || strlen(s) > 20) return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > max) return false;
    *out = v;
    return true;
}

int aw_delivery_parse_deadlines(aw_delivery_config_t *c, const char *spec, aw_err_t *err) {
    static const char *names[] = {"incomplete", "unfetched-reject", "decided-purge", "events"};
    int64_t *f[] = {&c->incomplete_ttl_s, &c->unfetched_reject_s, &c->decided_purge_s,
                    &c->events_ttl_s};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL, *tok = strtok_r(buf, ",", &save);
    for (int i = 0; i < 4; i++, tok = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        if (!tok || !dl_parse_uint(tok, 100ull * 365 * 86400, &v) || v == 0)
            return aw_err_set(err, AW_EINVAL,
                              "deadlines: '%s' must be 4 positive numbers of seconds "
                              "(incomplete,unfetched-reject,decided-purge,events); %s is bad",
                              spec, names[i]);
        *f[i] = (int64_t)v;
    }
    if (tok) return aw_err_set(err, AW_EINVAL, "deadlines: more than 4 values in '%s'", spec);
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

void dl_problem(aw_http_resp_t *resp, int status, const char *type, const char *title,
                const char *fmt, ...) {
    char detail[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    aw_http_resp_problem_json(resp, aw_problem_new(status, type, title, detail));
}

void dl_store_error(aw_http_resp_t *resp, const aw_err_t *err) {
    if (err->code == AW_EBUSY) {
        dl_problem(resp, 503, "service-unavailable", "Service Unavailable",
                   "the database is busy; retry");
        aw_http_resp_header(resp, "Retry-After", "1");
        return;
    }
    aw_log_error("delivery.store", "err=%s", aw_err_name(err->code));
    dl_problem(resp, 500, "internal-error", "Internal Server Error",
               "the request could not be stored; nothing was changed");
}

void dl_sha256_hex(const void *p, size_t n, char out[65]) {
    unsigned char md[32];
    unsigned int l = 0;
    EVP_Digest(p, n, md, &l, EVP_sha256(), NULL);
    aw_hex_encode(md, 32, out);
}

int dl_random_b64(size_t nbytes, char *out, size_t outcap) {
    unsigned char r[64];
    if (nbytes > sizeof r || aw_b64url_enclen(nbytes) + 1 > outcap) return AW_EINVAL;
    if (RAND_bytes(r, (int)nbytes) != 1) return AW_ECRYPTO;
    size_t n = aw_b64url_encode(r, nbytes, out);
    out[n] = '\0';
    aw_secure_wipe(r, sizeof r);
    return 0;
}

static int pbkdf2(const char *secret, const unsigned char *salt, size_t saltlen, unsigned iter,
                  unsigned char out[32]) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "PBKDF2", NULL);
    EVP_KDF_CTX *k = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM p[] = {
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)secret, strlen(secret)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen),
        OSSL_PARAM_construct_uint(OSSL_KDF_PARAM_ITER, &iter),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    int ok = k && EVP_KDF_derive(k, out, 32, p) == 1;
    EVP_KDF_CTX_free(k);
    EVP_KDF_free(kdf);
    return ok ? 0 : AW_ECRYPTO;
}

/* Client secrets are 256 random bits made by amtsweg (dl_random_b64), never
 * chosen by people, so one SHA-256 is as hard to invert as the secret is to
 * guess; a slow KDF adds nothing against guessing and turns POST /token into
 * tens of milliseconds of CPU per call for anyone who sends one. Stored as
 * "sha256$<hex>". Hashes written by earlier versions ("pbkdf2-sha256$...")
 * are still verified. */
int dl_secret_hash(const char *secret, char *out, size_t outcap, aw_err_t *err) {
    char hx[65];
    if (strlen(secret) < 32) return aw_err_set(err, AW_EINVAL, "client secret too short");
    dl_sha256_hex(secret, strlen(secret), hx);
    snprintf(out, outcap, "sha256$%s", hx);
    return 0;
}

bool dl_secret_check(const char *secret, const char *stored) {
    if (stored && strncmp(stored, "sha256$", 7) == 0) {
        char hx[65];
        dl_sha256_hex(secret, strlen(secret), hx);
        return strlen(stored + 7) == 64 && aw_ct_equal(hx, 64, stored + 7, 64);
    }
    unsigned iter = 0;
    char sx[33] = {0}, hx[65] = {0};
    if (!stored || sscanf(stored, "pbkdf2-sha256$%u$%32[0-9a-f]$%64[0-9a-f]", &iter, sx, hx) != 3 ||
        iter == 0 || iter > 10000000 || strlen(sx) != 32 || strlen(hx) != 64)
        return false;
    unsigned char salt[16], want[32], got[32];
    size_t n;
    if (aw_hex_decode(sx, 32, salt, sizeof salt, &n) || n != 16) return false;
    if (aw_hex_decode(hx, 64, want, sizeof want, &n) || n != 32) return false;
    if (pbkdf2(secret, salt, 16, iter, got)) return false;
    bool ok = aw_ct_equal(got, 32, want, 32);
    aw_secure_wipe(got, sizeof got);
    return ok;
}

/* ---- client authentication ------------------------------------------------ */

static void unauthorized(aw_http_resp_t *resp, const char *why) {
    dl_problem(resp, 401, "unauthorized", "Unauthorized", "%s", why);
    aw_http_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"amtsweg\"");
}

/* Validated bearer tokens. Every sender request used to look its token up
 * in a read transaction of its own; this cache answers for
 * DL_AUTH_CACHE_MS after a lookup. It holds only the SHA-256 of a token
 * (never the token), its client, kind and expiry; a token past its expiry
 * is refused from the cache too. Deleting a client here empties it at once
 * (dl_auth_forget); another amtsweg process on the same PostgreSQL database
 * refuses that client's tokens at most DL_AUTH_CACHE_MS later. */
#define DL_AUTH_SLOTS    128
#define DL_AUTH_CACHE_MS 2000

typedef struct dl_auth_slot {
    char hash[65];
    dl_client_t client;
    int64_t expires_ms; /* the token's expiry (wall clock) */
    int64_t until_us;   /* monotonic: valid in the cache before this */
} dl_auth_slot_t;

struct dl_auth_cache {
    dl_auth_slot_t slot[DL_AUTH_SLOTS];
};

static unsigned auth_slot_of(const char *h) {
    unsigned char b[2];
    size_t n = 0;
    if (aw_hex_decode(h, 4, b, sizeof b, &n) != 0 || n != 2) return 0;
    return ((unsigned)b[0] << 8 | b[1]) % DL_AUTH_SLOTS;
}

static bool auth_cache_get(aw_delivery_t *d, const char *h, dl_client_t *c) {
    bool hit = false;
    pthread_mutex_lock(&d->auth_mu);
    if (d->auth_cache) {
        dl_auth_slot_t *s = &d->auth_cache->slot[auth_slot_of(h)];
        if (s->hash[0] && aw_ct_equal(s->hash, 64, h, 64) && s->until_us > aw_time_mono_us() &&
            s->expires_ms > aw_time_now_ms()) {
            *c = s->client;
            hit = true;
        }
    }
    pthread_mutex_unlock(&d->auth_mu);
    return hit;
}

static void auth_cache_put(aw_delivery_t *d, const char *h, const dl_client_t *c,
                           int64_t expires_ms, int64_t looked_up_us) {
    pthread_mutex_lock(&d->auth_mu);
    if (!d->auth_cache) d->auth_cache = calloc(1, sizeof *d->auth_cache);
    if (d->auth_cache) {
        dl_auth_slot_t *s = &d->auth_cache->slot[auth_slot_of(h)];
        memcpy(s->hash, h, 65);
        s->client = *c;
        s->expires_ms = expires_ms;
        /* counted from before the lookup: a delete that committed while it
         * ran cannot stretch the window */
        s->until_us = looked_up_us + DL_AUTH_CACHE_MS * 1000;
    }
    pthread_mutex_unlock(&d->auth_mu);
}

void dl_auth_forget(aw_delivery_t *d) {
    pthread_mutex_lock(&d->auth_mu);
    if (d->auth_cache) memset(d->auth_cache, 0, sizeof *d->auth_cache);
    pthread_mutex_unlock(&d->auth_mu);
}

bool dl_client_auth(aw_delivery_t *d, aw_http_req_t *req, aw_http_resp_t *resp, dl_client_t *c) {
    if (req->principal[0]) { /* the route's gate authenticated this request */
        snprintf(c->id, sizeof c->id, "%s", req->principal);
        c->kind = req->principal_kind;
        return true;
    }
    const char *tok = aw_auth_bearer(req);
    if (!tok || !*tok || strlen(tok) > 512) {
        unauthorized(resp, "an OAuth bearer token from POST /token is required");
        return false;
    }
    char h[65];
    dl_sha256_hex(tok, strlen(tok), h);
    if (auth_cache_get(d, h, c)) return true;
    int64_t t0 = aw_time_mono_us();
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) {
        dl_store_error(resp, &err);
        return false;
    }
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT t.hash, t.client_id, t.expires_at, c.kind FROM delivery_tokens t"
                          " JOIN delivery_clients c ON c.id = t.client_id WHERE t.hash = $1",
                          &s, &err, "t", h);
    bool ok = false;
    int64_t exp = 0;
    if (rc == 0 && aw_sql_step(s, &err) == 1) {
        const char *sh = aw_sql_col_text(s, 0);
        exp = aw_sql_col_int64(s, 2);
        const char *kind = aw_sql_col_text(s, 3);
        if (sh && aw_ct_equal(sh, strlen(sh), h, 64) && exp > aw_time_now_ms()) {
            snprintf(c->id, sizeof c->id, "%s", aw_sql_col_text(s, 1));
            c->kind = kind && strcmp(kind, "subscriber") == 0 ? DL_SUBSCRIBER : DL_SENDER;
            ok = true;
        }
    }
    if (rc == 0) aw_sql_done(s);
    aw_store_rollback(tx);
    if (!ok) unauthorized(resp, "the bearer token is unknown or expired; get a new one");
    if (ok) auth_cache_put(d, h, c, exp, t0);
    return ok;
}

int dl_client_has_dest(aw_tx_t *tx, const char *client_id, const char *dest_id, bool *yes,
                       aw_err_t *err) {
    aw_sql_t *s;
    *yes = false;
    int rc = aw_sql_query(tx,
                          "SELECT 1 FROM delivery_client_destinations"
                          " WHERE client_id = $1 AND destination_id = $2",
                          &s, err, "tt", client_id, dest_id);
    if (rc) return rc;
    rc = aw_sql_step(s, err);
    aw_sql_done(s);
    if (rc < 0) return rc;
    *yes = rc == 1;
    return 0;
}

/* ---- event log ----------------------------------------------------------- */

int dl_event_record(aw_tx_t *tx, const char *sub_id, const char *case_id, const char *event,
                    const char *jti, const char *token, bool posted, int64_t now_ms,
                    aw_err_t *err) {
    return aw_sql_exec(tx,
                       "INSERT INTO delivery_events (case_id, submission_id, event, jti, token,"
                       " posted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       NULL, err, "tttttiI", case_id, sub_id, event, jti, token, posted ? 1 : 0,
                       now_ms);
}

int dl_event_sign(aw_delivery_t *d, const char *sub_id, const char *case_id, const char *event,
                  json_t *body, int64_t now_ms, char jti[AW_UUID_STRLEN + 1], aw_buf_t *out,
                  aw_err_t *err) {
    char uri[200];
    snprintf(uri, sizeof uri, "%s%s", AW_SET_EVENT_BASE, event);
    aw_uuid_v4(jti);
    aw_set_claims_t cl = {.iss = d->iss,
                          .submission_id = sub_id,
                          .case_id = case_id,
                          .event = uri,
                          .event_body = body,
                          .jti = jti,
                          .iat = now_ms / 1000};
    int rc = dl_platform_key(d, err);
    if (rc == 0) rc = aw_set_sign(atomic_load(&d->platform_key), &cl, out, err);
    if (rc == 0 && !aw_buf_ok(out)) rc = aw_err_set(err, AW_ENOMEM, "event: out of memory");
    return rc;
}

int dl_event_add(aw_delivery_t *d, aw_tx_t *tx, const char *sub_id, const char *case_id,
                 const char *event, json_t *body, int64_t now_ms, aw_err_t *err) {
    char jti[AW_UUID_STRLEN + 1];
    aw_buf_t b = AW_BUF_INIT;
    int rc = dl_event_sign(d, sub_id, case_id, event, body, now_ms, jti, &b, err);
    if (rc == 0) rc = dl_event_record(tx, sub_id, case_id, event, jti, b.data, false, now_ms, err);
    aw_buf_free(&b);
    return rc;
}

int dl_enqueue_callback(aw_tx_t *tx, const char *type, const char *dest_id, const char *sub_id,
                        const char *case_id, bool to_sender, aw_err_t *err) {
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", type, "destinationId", dest_id,
                          "submissionId", sub_id, "caseId", case_id, "toSender", to_sender);
    char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!txt) return aw_err_set(err, AW_ENOMEM, "callback: out of memory");
    int rc = aw_store_outbox_enqueue(tx, DL_JOB_CALLBACK, txt, 0, NULL, err);
    free(txt);
    return rc;
}

/* ---- the platform key ------------------------------------------------------- */

/* Makes k (and its public part) the key that signs from now on. The key it
 * replaces stays allocated until aw_delivery_free (old_keys): a signer may
 * have loaded the pointer a moment ago. Under key_mu. */
static int set_platform_key(aw_delivery_t *d, aw_jwk_t *k, aw_err_t *err) {
    aw_jwk_t *pub = NULL;
    int rc = aw_jwk_public(k, &pub, err);
    aw_jwk_t **grown = rc == 0 ? realloc(d->old_keys, (d->n_old_keys + 2) * sizeof *grown) : NULL;
    if (!grown) {
        aw_jwk_free(k);
        aw_jwk_free(pub);
        return rc ? rc : aw_err_set(err, AW_ENOMEM, "platform key: out of memory");
    }
    d->old_keys = grown;
    aw_jwk_t *old = atomic_load(&d->platform_key), *old_pub = atomic_load(&d->platform_pub);
    if (old) d->old_keys[d->n_old_keys++] = old;
    if (old_pub) d->old_keys[d->n_old_keys++] = old_pub;
    atomic_store(&d->platform_pub, pub);
    atomic_store(&d->platform_key, k);
    return 0;
}

/* Records the public part of a key file, so that a later file (a rotation
 * by replacing it) does not unpublish it. */
static int record_file_key(aw_delivery_t *d, const aw_jwk_t *k, int64_t *created, aw_err_t *err) {
    *created = aw_time_now_ms();
    aw_jwk_t *pub = NULL;
    aw_buf_t b = AW_BUF_INIT;
    int rc = aw_jwk_public(k, &pub, err);
    if (rc == 0) rc = aw_jwk_write(pub, false, &b, err);
    aw_jwk_free(pub);
    aw_tx_t *tx;
    if (rc == 0 && (rc = aw_store_begin(d->store, AW_TX_READ, &tx, err)) == 0) {
        aw_sql_t *q;
        bool known = false;
        rc = aw_sql_query(tx, "SELECT created_at FROM delivery_platform_keys WHERE kid = $1", &q,
                          err, "t", aw_jwk_kid(k));
        if (rc == 0) {
            known = aw_sql_step(q, err) == 1;
            if (known) *created = aw_sql_col_int64(q, 0);
            aw_sql_done(q);
        }
        aw_store_rollback(tx);
        /* a read first: a restart with the same file writes nothing */
        if (rc == 0 && !known && (rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err)) == 0) {
            rc = aw_sql_exec(tx,
                             "INSERT INTO delivery_platform_keys (kid, private_jwk, public_jwk,"
                             " created_at) VALUES ($1, '', $2, $3) ON CONFLICT (kid) DO NOTHING",
                             NULL, err, "ttI", aw_jwk_kid(k), b.data, *created);
            if (rc == 0)
                rc = aw_store_commit(tx, err);
            else
                aw_store_rollback(tx);
        }
    }
    aw_buf_free(&b);
    return rc;
}

static int load_key_file(aw_delivery_t *d, aw_err_t *err) {
    struct stat st;
    const char *p = d->cfg.platform_key_file;
    if (stat(p, &st) != 0)
        return aw_err_set(err, AW_EIO, "platform key %s: %s", p, strerror(errno));
    if (st.st_mode & 077)
        return aw_err_set(err, AW_EINVAL,
                          "platform key %s is readable by others (mode %03o); chmod 600 it", p,
                          (unsigned)(st.st_mode & 0777));
    aw_jwk_t *k = NULL;
    int rc = aw_jwk_load_file(p, &k, err);
    if (rc) return rc;
    if (!aw_jwk_is_private(k) || !aw_jwk_kid(k)) {
        aw_jwk_free(k);
        return aw_err_set(err, AW_EINVAL, "platform key %s: must be a private key with a kid", p);
    }
    int64_t created;
    if ((rc = record_file_key(d, k, &created, err)) != 0) {
        aw_jwk_free(k);
        return rc;
    }
    rc = set_platform_key(d, k, err);
    if (rc == 0) atomic_store(&d->key_created_ms, created);
    return rc;
}

/* The kid and private JWK of the key that signs: the newest with a private
 * part (kid: 64 bytes; *jwk NULL when there is none). */
static int newest_key(aw_delivery_t *d, char *kid, char **jwk, int64_t *created, aw_err_t *err) {
    *jwk = NULL;
    kid[0] = '\0';
    *created = 0;
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
    if (rc) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx,
                      "SELECT kid, private_jwk, created_at FROM delivery_platform_keys"
                      " WHERE private_jwk <> '' ORDER BY created_at DESC, kid DESC LIMIT 1",
                      &s, err, "");
    if (rc == 0) {
        if (aw_sql_step(s, err) == 1) {
            snprintf(kid, 64, "%s", aw_sql_col_text(s, 0));
            *jwk = aw_sql_col_strdup(s, 1, NULL);
            *created = aw_sql_col_int64(s, 2);
        }
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    return rc;
}

/* Keys from before 0105 have only their private part: their public part
 * is stored (in tx) before a rotation wipes the private one. */
static int fill_public_parts(aw_tx_t *tx, aw_err_t *err) {
    enum { MAX_OLD = 64 };
    char *kids[MAX_OLD], *jwks[MAX_OLD];
    size_t n = 0;
    aw_sql_t *q;
    int rc = aw_sql_query(tx,
                          "SELECT kid, private_jwk FROM delivery_platform_keys"
                          " WHERE public_jwk IS NULL AND private_jwk <> '' LIMIT 64",
                          &q, err, "");
    if (rc) return rc;
    int r;
    while (n < MAX_OLD && (r = aw_sql_step(q, err)) == 1) {
        kids[n] = aw_sql_col_strdup(q, 0, NULL);
        jwks[n] = aw_sql_col_strdup(q, 1, NULL);
        n++;
    }
    if (r < 0) rc = r;
    aw_sql_done(q);
    for (size_t i = 0; i < n; i++) {
        aw_jwk_t *k = NULL, *pub = NULL;
        aw_buf_t b = AW_BUF_INIT;
        if (rc == 0 && (!kids[i] || !jwks[i]))
            rc = aw_err_set(err, AW_ENOMEM, "platform key: out of memory");
        if (rc == 0) rc = aw_jwk_parse(jwks[i], strlen(jwks[i]), &k, err);
        if (rc == 0) rc = aw_jwk_public(k, &pub, err);
        if (rc == 0) rc = aw_jwk_write(pub, false, &b, err);
        if (rc == 0)
            rc = aw_sql_exec(tx, "UPDATE delivery_platform_keys SET public_jwk = $1 WHERE kid = $2",
                             NULL, err, "tt", b.data, kids[i]);
        aw_jwk_free(k);
        aw_jwk_free(pub);
        aw_buf_free(&b);
        free(kids[i]);
        if (jwks[i]) aw_secure_free_str(jwks[i]);
    }
    return rc;
}

/* Stores a new RSA-4096 key (kid "platform-<uuid>") made now, with
 * created_at after every key before it. retire: the keys before it are
 * retired in the same transaction (a rotation); else (first use) a key
 * another node made meanwhile is left alone. */
int dl_platform_key_create(aw_store_t *st, bool retire, char *kid, aw_err_t *err) {
    snprintf(kid, 64, "platform-");
    aw_uuid_v4(kid + 9);
    aw_jwk_t *k = NULL, *pub = NULL;
    aw_log_info("delivery.platform_key", "action=generate kid=%s", kid);
    int rc = aw_jwk_generate(4096, AW_JWK_SIG, kid, &k, err);
    aw_buf_t priv = AW_BUF_INIT, pb = AW_BUF_INIT;
    if (rc == 0) rc = aw_jwk_write(k, true, &priv, err);
    if (rc == 0) rc = aw_jwk_public(k, &pub, err);
    if (rc == 0) rc = aw_jwk_write(pub, false, &pb, err);
    aw_jwk_free(k);
    aw_jwk_free(pub);
    aw_tx_t *tx;
    if (rc == 0 && (rc = aw_store_begin(st, AW_TX_WRITE, &tx, err)) == 0) {
        int64_t now = aw_time_now_ms(), last = 0;
        aw_sql_t *q;
        rc = aw_sql_query(tx, "SELECT COALESCE(MAX(created_at), 0) FROM delivery_platform_keys", &q,
                          err, "");
        if (rc == 0) {
            if (aw_sql_step(q, err) == 1) last = aw_sql_col_int64(q, 0);
            aw_sql_done(q);
        }
        /* keys from before 0105 have no public part: keep it before the
         * private one is wiped */
        if (rc == 0 && retire) rc = fill_public_parts(tx, err);
        if (rc == 0 && retire)
            rc = aw_sql_exec(tx,
                             "UPDATE delivery_platform_keys SET private_jwk = '', retired_at = $1"
                             " WHERE retired_at IS NULL AND private_jwk <> ''",
                             NULL, err, "I", now);
        if (rc == 0)
            rc = aw_sql_exec(tx,
                             "INSERT INTO delivery_platform_keys (kid, private_jwk, public_jwk,"
                             " created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING",
                             NULL, err, "tttI", kid, priv.data, pb.data,
                             now > last ? now : last + 1);
        if (rc == 0)
            rc = aw_store_commit(tx, err);
        else
            aw_store_rollback(tx);
    }
    aw_buf_wipe_free(&priv);
    aw_buf_free(&pb);
    return rc;
}

/* Keys stored before 0105 have no public part: it is stored once, so that
 * /.well-known/jwks.json reads public parts only (a read first: a database
 * without such keys writes nothing). */
static int store_public_parts(aw_delivery_t *d, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, err);
    if (rc) return rc;
    aw_sql_t *q;
    bool any = false;
    rc = aw_sql_query(tx,
                      "SELECT 1 FROM delivery_platform_keys WHERE public_jwk IS NULL"
                      " AND private_jwk <> '' LIMIT 1",
                      &q, err, "");
    if (rc == 0) {
        any = aw_sql_step(q, err) == 1;
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (rc || !any) return rc;
    if ((rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, err)) != 0) return rc;
    rc = fill_public_parts(tx, err);
    if (rc == 0)
        rc = aw_store_commit(tx, err);
    else
        aw_store_rollback(tx);
    return rc;
}

/* Loads the newest key of the store if it is not the one signing now;
 * generate: make one when the store has none (first use). Under key_mu. */
static int load_key_store(aw_delivery_t *d, bool generate, aw_err_t *err) {
    for (int round = 0; round < 2; round++) {
        char kid[64], made[64];
        char *jwk = NULL;
        int64_t created;
        int rc = newest_key(d, kid, &jwk, &created, err);
        if (rc) return rc;
        if (jwk) {
            aw_jwk_t *cur = atomic_load(&d->platform_key), *k = NULL;
            if (cur && aw_jwk_kid(cur) && strcmp(aw_jwk_kid(cur), kid) == 0) {
                aw_secure_free_str(jwk);
                return 0;
            }
            rc = aw_jwk_parse(jwk, strlen(jwk), &k, err);
            aw_secure_free_str(jwk);
            if (rc == 0) {
                rc = set_platform_key(d, k, err);
                if (rc == 0) {
                    atomic_store(&d->key_created_ms, created);
                    aw_log_info("delivery.platform_key", "action=load kid=%s", kid);
                }
            }
            return rc;
        }
        if (round == 1 || !generate) break;
        /* First use: create the key. Concurrent nodes may race; each takes
         * the newest, and every key made is published. */
        if ((rc = dl_platform_key_create(d->store, false, made, err)) != 0) return rc;
    }
    if (!generate) return 0;
    return aw_err_set(err, AW_EINTERNAL, "platform key: not found after creating it");
}

int dl_platform_key(aw_delivery_t *d, aw_err_t *err) {
    pthread_mutex_lock(&d->key_mu);
    int rc = 0;
    int64_t now = aw_time_mono_us() / 1000; /* intervals: the monotonic clock */
    if (!atomic_load(&d->platform_key)) {
        rc = load_key_store(d, true, err);
        if (rc == 0) rc = store_public_parts(d, err);
        d->key_checked_ms = now;
    } else if (!d->cfg.platform_key_file &&
               now - d->key_checked_ms >= d->cfg.platform_key_recheck_ms) {
        /* another node may have rotated the key; a failed look keeps the
         * key we have (it is published either way) */
        aw_err_t e2;
        if (load_key_store(d, false, &e2) != 0)
            aw_log_warn("delivery.platform_key", "action=recheck err=%s", aw_err_name(e2.code));
        d->key_checked_ms = now;
    }
    pthread_mutex_unlock(&d->key_mu);
    return rc;
}

int dl_platform_rotate(aw_delivery_t *d, char *kid_out, aw_err_t *err) {
    if (d->cfg.platform_key_file)
        return aw_err_set(err, AW_ECONFLICT,
                          "the platform key is a file (--platform-key): replace the file and "
                          "restart to rotate it");
    /* RSA-4096 generation takes seconds: made outside key_mu, so signing
     * goes on meanwhile */
    int rc = dl_platform_key_create(d->store, true, kid_out, err);
    if (rc) return rc;
    pthread_mutex_lock(&d->key_mu);
    rc = load_key_store(d, false, err);
    d->key_checked_ms = aw_time_mono_us() / 1000;
    pthread_mutex_unlock(&d->key_mu);
    if (rc == 0) aw_log_info("delivery.platform_key", "action=rotate kid=%s", kid_out);
    return rc;
}

int dl_platform_keys_list(aw_store_t *st, const char *current_kid, json_t **out, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_READ, &tx, err);
    if (rc) return rc;
    json_t *keys = json_array();
    aw_sql_t *s;
    rc = aw_sql_query(tx,
                      "SELECT kid, created_at, retired_at, CASE WHEN private_jwk = '' AND"
                      " retired_at IS NULL THEN 0 ELSE 1 END FROM delivery_platform_keys"
                      " ORDER BY created_at DESC, kid DESC",
                      &s, err, "");
    if (rc == 0) {
        while ((rc = aw_sql_step(s, err)) == 1) {
            const char *kid = aw_sql_col_text(s, 0);
            bool retired = !aw_sql_col_null(s, 2);
            json_t *k = json_pack("{s:s,s:I,s:b,s:b,s:s}", "kid", kid, "createdAt",
                                  (json_int_t)aw_sql_col_int64(s, 1), "current",
                                  current_kid && !strcmp(kid, current_kid), "retired", retired,
                                  "source", aw_sql_col_int64(s, 3) ? "store" : "file");
            if (k && retired)
                json_object_set_new(k, "retiredAt", json_integer(aw_sql_col_int64(s, 2)));
            if (k) json_array_append_new(keys, k);
        }
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    if (rc < 0) {
        json_decref(keys);
        return rc;
    }
    *out = keys;
    return 0;
}

int dl_platform_jwks(aw_delivery_t *d, json_t **out, aw_err_t *err) {
    int rc = dl_platform_key(d, err);
    if (rc) return rc;
    aw_jwk_t *cur = atomic_load(&d->platform_pub);
    const char *cur_kid = aw_jwk_kid(cur);
    json_t *keys = json_array();
    json_array_append_new(keys, aw_jwk_to_json(cur, false));
    aw_tx_t *tx;
    if ((rc = aw_store_begin(d->store, AW_TX_READ, &tx, err)) == 0) {
        aw_sql_t *q;
        rc = aw_sql_query(tx,
                          "SELECT kid, public_jwk FROM delivery_platform_keys"
                          " ORDER BY created_at DESC, kid DESC",
                          &q, err, "");
        bool open = rc == 0;
        while (rc == 0) {
            int r = aw_sql_step(q, err);
            if (r <= 0) {
                rc = r;
                break;
            }
            if (cur_kid && strcmp(aw_sql_col_text(q, 0), cur_kid) == 0) continue;
            /* public parts only (store_public_parts filled those of keys
             * from before 0105 when the key was loaded) */
            const char *j = aw_sql_col_text(q, 1);
            aw_jwk_t *k = NULL;
            if (!j || !*j || aw_jwk_parse(j, strlen(j), &k, NULL) != 0) continue;
            json_t *jk = aw_jwk_to_json(k, false);
            if (jk) json_array_append_new(keys, jk);
            aw_jwk_free(k);
        }
        if (open) aw_sql_done(q);
        aw_store_rollback(tx);
    }
    if (rc) {
        json_decref(keys);
        return rc;
    }
    *out = json_pack("{s:o}", "keys", keys);
    return *out ? 0 : aw_err_set(err, AW_ENOMEM, "jwks: out of memory");
}

static void mkdir_p(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0700);
            *p = '/';
        }
    mkdir(tmp, 0700);
}

int aw_delivery_new(const aw_delivery_config_t *cfg, aw_store_t *store, const aw_auth_t *op,
                    aw_delivery_t **out, aw_err_t *err) {
    aw_delivery_t *d = calloc(1, sizeof *d);
    if (!d) return aw_err_set(err, AW_ENOMEM, "delivery: out of memory");
    pthread_mutex_init(&d->key_mu, NULL);
    pthread_mutex_init(&d->auth_mu, NULL);
    d->cfg = *cfg;
    if (aw_ratelimit_init(&d->token_rl, cfg->token_rate_limit, 60) != 0) {
        pthread_mutex_destroy(&d->key_mu);
        pthread_mutex_destroy(&d->auth_mu);
        free(d);
        return aw_err_set(err, AW_ENOMEM, "delivery: out of memory");
    }
    d->store = store;
    d->op = op;
    snprintf(d->iss, sizeof d->iss, "%s",
             cfg->public_url && *cfg->public_url ? cfg->public_url : "amtsweg");
    snprintf(d->attach_dir, sizeof d->attach_dir, "%s/attachments",
             cfg->var_dir ? cfg->var_dir : "var");
    struct stat st;
    int rc = 0;
    if (cfg->key_roots && *cfg->key_roots) {
        rc = aw_jwk_roots_check(cfg->key_roots, err);
        if (rc) aw_err_prefix(err, "delivery: --key-roots");
    }
    const char *as = cfg->attachment_store;
    if (rc) {
        /* reported above */
    } else if (!as || !*as)
        d->blobs_db = strcmp(aw_store_engine_name(store), "postgres") == 0;
    else if (strcmp(as, "database") == 0)
        d->blobs_db = true;
    else if (strcmp(as, "file") != 0)
        rc = aw_err_set(err, AW_EINVAL,
                        "delivery: --attachment-store must be 'file' or 'database', not '%s'", as);
    if (rc == 0 && !d->blobs_db) {
        mkdir_p(d->attach_dir);
        if (stat(d->attach_dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            access(d->attach_dir, W_OK) != 0)
            rc = aw_err_set(err, AW_EIO, "delivery: cannot use %s as attachment directory: %s",
                            d->attach_dir, strerror(errno));
    } else if (rc == 0 && stat(d->attach_dir, &st) == 0 &&
               access(d->attach_dir, R_OK | W_OK) != 0) {
        /* The database store writes no file: a node may run on a read-only
         * file system. The directory matters only for files of uploads
         * from before the switch (served from it, removed when replaced or
         * purged); when it exists but cannot be used, say so once. */
        char q[600];
        aw_log_warn("delivery.attachment_dir",
                    "dir=%s outcome=unusable errno=%d effect=file_attachments_unavailable",
                    aw_log_quote(q, sizeof q, d->attach_dir), errno);
    }
    /* An existing key is loaded now; a missing one is generated on first
     * use (RSA-4096 takes seconds), so start-up stays fast. */
    if (rc == 0)
        rc = cfg->platform_key_file ? load_key_file(d, err) : load_key_store(d, false, err);
    if (rc == 0 && !cfg->platform_key_file && atomic_load(&d->platform_key))
        rc = store_public_parts(d, err);
    d->key_checked_ms = aw_time_mono_us() / 1000;
    if (rc) {
        aw_delivery_free(d);
        return rc;
    }
    aw_jwk_t *pk = atomic_load(&d->platform_key);
    aw_log_info("delivery.ready", "platform_kid=%s key_source=%s",
                pk ? aw_jwk_kid(pk) : "(first use)", cfg->platform_key_file ? "file" : "store");
    *out = d;
    return 0;
}

static void h_jwks(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    (void)req;
    aw_err_t err;
    json_t *jwks;
    if (dl_platform_jwks(d, &jwks, &err)) return dl_store_error(resp, &err);
    aw_http_resp_json(resp, 200, jwks);
    aw_http_resp_header(resp, "Cache-Control", "public, max-age=300");
}

static void h_info(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    (void)req, (void)ctx;
    aw_http_resp_json(
        resp, 200, json_pack("{s:{s:i,s:i,s:i}}", "version", "major", 1, "minor", 1, "patch", 3));
}

int aw_delivery_register(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err) {
    aw_route_spec_t r[] = {
        {.method = "GET", .path = "/.well-known/jwks.json", .handler = h_jwks, .ctx = d},
        {.method = "GET", .path = "/v1/info", .handler = h_info, .ctx = d},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        int rc = aw_http_server_route(srv, &r[i], err);
        if (rc) return rc;
    }
    int rc = dl_register_token(d, srv, err);
    if (rc == 0) rc = dl_register_admin(d, srv, err);
    if (rc == 0) rc = dl_register_sender(d, srv, err);
    if (rc == 0) rc = dl_register_subscriber(d, srv, err);
    return rc;
}

int aw_delivery_start(aw_delivery_t *d, aw_err_t *err) {
    int rc = aw_worker_new(d->store, "delivery", d->cfg.worker_poll_ms,
                           (d->cfg.callback_timeout_s + 20) * 1000, &d->worker, err);
    if (rc == 0) rc = aw_worker_handle(d->worker, DL_JOB_CALLBACK, dl_job_callback, d, err);
    if (rc == 0) rc = aw_worker_handle(d->worker, DL_JOB_SIGN, dl_job_sign, d, err);
    if (rc == 0)
        rc = aw_worker_every(d->worker, d->cfg.purge_interval_s * 1000, dl_purge_tick, d, err);
    if (rc == 0) rc = aw_worker_start(d->worker, err);
    if (rc == 0 && d->cfg.sign_worker) rc = dl_signer_start(d, err);
    if (rc == 0 && !d->cfg.sign_worker) {
        aw_err_t e2;
        if (dl_sign_backlog_count(d, &e2))
            aw_log_warn("delivery.signer", "count=failed err=%s", aw_err_name(e2.code));
    }
    if (rc) {
        aw_worker_free(d->worker);
        d->worker = NULL;
    }
    return rc;
}

void aw_delivery_stop(aw_delivery_t *d) {
    if (!d) return;
    dl_signer_stop(d);
    aw_worker_free(d->worker);
    d->worker = NULL;
}

void aw_delivery_free(aw_delivery_t *d) {
    if (!d) return;
    aw_delivery_stop(d);
    aw_jwk_free(atomic_load(&d->platform_key));
    aw_jwk_free(atomic_load(&d->platform_pub));
    for (size_t i = 0; i < d->n_old_keys; i++) aw_jwk_free(d->old_keys[i]);
    free(d->old_keys);
    pthread_mutex_destroy(&d->key_mu);
    pthread_mutex_destroy(&d->auth_mu);
    if (d->auth_cache) aw_secure_wipe(d->auth_cache, sizeof *d->auth_cache);
    free(d->auth_cache);
    aw_ratelimit_free(&d->token_rl);
    free(d);
}

void aw_delivery_purge_totals(aw_delivery_t *d, aw_delivery_purge_stats_t *out) {
    out->incomplete_purged = atomic_load(&d->tot_incomplete);
    out->auto_rejected = atomic_load(&d->tot_rejected);
    out->content_purged = atomic_load(&d->tot_purged);
    out->events_deleted = atomic_load(&d->tot_events);
    out->blobs_swept = atomic_load(&d->tot_blobs_swept);
}
