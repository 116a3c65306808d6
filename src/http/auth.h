/*
 * auth — the operator credential for admin APIs.
 *
 * Operators authenticate with `Authorization: Bearer <token>`. The server
 * keeps only the SHA-256 of the configured token and compares digests in
 * constant time, so neither the token nor timing leaks. Without a
 * configured token every admin request is refused (401), never allowed.
 * OAuth client tokens for the FIT-Connect APIs live in src/delivery.
 */
#ifndef AW_HTTP_AUTH_H
#define AW_HTTP_AUTH_H

#include <stdbool.h>

#include "http/http.h"

typedef struct aw_auth {
    bool configured;
    unsigned char digest[32]; /* SHA-256 of the operator token */
} aw_auth_t;

/* Configures from the token text (>= 16 characters). The caller wipes its
 * copy. Returns 0 or AW_EINVAL with a message. */
int aw_auth_init(aw_auth_t *a, const char *token, aw_err_t *err);
/* Extracts the bearer token of a request, or NULL. */
const char *aw_auth_bearer(const aw_http_req_t *req);
/* True when the request carries the operator token; otherwise fills resp
 * with a 401 problem (and WWW-Authenticate) and returns false. */
bool aw_auth_operator(const aw_auth_t *a, const aw_http_req_t *req, aw_http_resp_t *resp);

#endif
