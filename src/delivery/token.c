/*
 * token — OAuth 2.0 client credentials (RFC 6749 §4.4) with
 * client_secret_post: POST /token, form-encoded grant_type,
 * client_id, client_secret. Answers a random 256-bit bearer token that is
 * stored only as its SHA-256 and expires after token_ttl_s.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/secure.h"
#include "base/time.h"
#include "delivery/internal.h"

static int hexv(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int dl_form_get(const char *body, size_t len, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    int found = 0;
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && body[end] != '&') end++;
        const char *eq = memchr(body + i, '=', end - i);
        size_t kl = eq ? (size_t)(eq - (body + i)) : end - i;
        if (kl == nl && memcmp(body + i, name, nl) == 0) {
            if (found) return -1;
            found = 1;
            size_t o = 0;
            for (const char *p = eq ? eq + 1 : body + end; p < body + end; p++) {
                int c = (unsigned char)*p;
                if (c == '+')
                    c = ' ';
                else if (c == '%') {
                    if (p + 2 >= body + end) return -1;
                    int h = hexv(p[1]), l = hexv(p[2]);
                    if (h < 0 || l < 0) return -1;
                    c = h * 16 + l;
                    p += 2;
                }
                if (c == 0 || o + 1 >= cap) return -1;
                out[o++] = (char)c;
            }
            out[o] = '\0';
        }
        i = end + 1;
    }
    return found;
}

static void oauth_error(aw_http_resp_t *resp, int status, const char *code, const char *desc) {
    aw_http_resp_json(resp, status,
                      json_pack("{s:s,s:s}", "error", code, "error_description", desc));
    aw_http_resp_header(resp, "Cache-Control", "no-store");
    if (status == 401) aw_http_resp_header(resp, "WWW-Authenticate", "Basic realm=\"amtsweg\"");
}

static void h_token(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    /* Before anything else: each attempt costs a database read and a hash,
     * and guessing needs many attempts. */
    if (!aw_ratelimit_http(&d->token_rl, req, resp)) {
        aw_log_info("delivery.token", "outcome=rate-limited");
        return;
    }
    const char *ct = aw_http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        oauth_error(resp, 400, "invalid_request",
                    "the body must be application/x-www-form-urlencoded");
        return;
    }
    const char *b = req->body ? req->body : "";
    size_t n = req->body_len;
    char grant[64], id[64], secret[256];
    int g = dl_form_get(b, n, "grant_type", grant, sizeof grant);
    int i = dl_form_get(b, n, "client_id", id, sizeof id);
    int s = dl_form_get(b, n, "client_secret", secret, sizeof secret);
    if (g < 0 || i < 0 || s < 0) {
        oauth_error(resp, 400, "invalid_request", "malformed or repeated form field");
        goto out;
    }
    if (g == 0 || strcmp(grant, "client_credentials") != 0) {
        oauth_error(resp, 400, g ? "unsupported_grant_type" : "invalid_request",
                    "grant_type must be client_credentials");
        goto out;
    }
    if (i == 0 || s == 0) {
        oauth_error(resp, 401, "invalid_client",
                    "client_id and client_secret are required (client_secret_post)");
        goto out;
    }
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) {
        dl_store_error(resp, &err);
        goto out;
    }
    aw_sql_t *q;
    char *hash = NULL;
    if (aw_uuid_valid(id) &&
        aw_sql_query(tx, "SELECT secret_hash FROM delivery_clients WHERE id = $1", &q, &err, "t",
                     id) == 0) {
        if (aw_sql_step(q, &err) == 1) hash = aw_sql_col_strdup(q, 0, NULL);
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    /* Unknown clients go through the same check so timing does not tell
     * which client ids exist. */
    bool ok = dl_secret_check(secret, hash ? hash
                                           : "sha256$00000000000000000000000000000000"
                                             "00000000000000000000000000000000") &&
              hash;
    free(hash);
    if (!ok) {
        aw_log_info("delivery.token", "outcome=refused");
        oauth_error(resp, 401, "invalid_client", "unknown client or wrong secret");
        goto out;
    }
    char token[64], th[65];
    if (dl_random_b64(32, token, sizeof token)) {
        dl_problem(resp, 500, "internal-error", "Internal Server Error", "no randomness");
        goto out;
    }
    dl_sha256_hex(token, strlen(token), th);
    int64_t now = aw_time_now_ms();
    int rc = aw_store_begin(d->store, AW_TX_WRITE, &tx, &err);
    if (rc == 0) {
        rc = aw_sql_exec(tx, "DELETE FROM delivery_tokens WHERE expires_at < $1", NULL, &err, "I",
                         now - 3600 * 1000);
        if (rc == 0)
            rc = aw_sql_exec(tx,
                             "INSERT INTO delivery_tokens (hash, client_id, expires_at)"
                             " VALUES ($1, $2, $3)",
                             NULL, &err, "ttI", th, id, now + d->cfg.token_ttl_s * 1000);
        if (rc == 0)
            rc = aw_store_commit(tx, &err);
        else
            aw_store_rollback(tx);
    }
    if (rc) {
        dl_store_error(resp, &err);
    } else {
        aw_log_info("delivery.token", "outcome=issued client=%s", id);
        aw_http_resp_json(resp, 200,
                          json_pack("{s:s,s:s,s:I}", "access_token", token, "token_type", "Bearer",
                                    "expires_in", (json_int_t)d->cfg.token_ttl_s));
        aw_http_resp_header(resp, "Cache-Control", "no-store");
    }
    aw_secure_wipe(token, sizeof token);
out:
    aw_secure_wipe(secret, sizeof secret);
}

int dl_register_token(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err) {
    aw_route_spec_t r = {"POST", "/token", h_token, d, 0, 4096, NULL, NULL};
    return aw_http_server_route(srv, &r, err);
}
