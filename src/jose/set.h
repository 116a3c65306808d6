/*
 * set — Security Event Tokens (RFC 8417) as FIT-Connect's event log uses
 * them: a PS512 JWS with header {alg: PS512, typ: "secevent+jwt", kid} and
 * payload
 *
 *   {"$schema": ".../set-payload/1.0.0/set-payload.schema.json",
 *    "jti": "<uuid>", "iss": "...", "iat": <seconds>,
 *    "sub": "submission:<uuid>", "txn": "case:<uuid>",
 *    "events": {"https://schema.fitko.de/fit-connect/events/<name>": {...}}}
 *
 * with exactly one event. submit-submission and accept-submission carry
 * {"authenticationTags": {"metadata", "data", "attachments": {id: tag}}};
 * reject-submission carries {"problems": [...]}. Which events a caller
 * accepts, and whether the tags match stored ones, is the caller's policy
 * (src/delivery); this module checks form and signature.
 */
#ifndef AW_JOSE_SET_H
#define AW_JOSE_SET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/buf.h"
#include "base/err.h"
#include "jose/jwk.h"

#define AW_SET_TYP "secevent+jwt"
#define AW_SET_SCHEMA \
    "https://schema.fitko.de/fit-connect/set-payload/1.0.0/set-payload.schema.json"
#define AW_SET_EVENT_BASE "https://schema.fitko.de/fit-connect/events/"
#define AW_SET_EV_CREATE  AW_SET_EVENT_BASE "create-submission"
#define AW_SET_EV_SUBMIT  AW_SET_EVENT_BASE "submit-submission"
#define AW_SET_EV_FORWARD AW_SET_EVENT_BASE "forward-submission"
#define AW_SET_EV_ACCEPT  AW_SET_EVENT_BASE "accept-submission"
#define AW_SET_EV_REJECT  AW_SET_EVENT_BASE "reject-submission"
#define AW_SET_EV_DELETE  AW_SET_EVENT_BASE "delete-submission"
#define AW_SET_MAX_LEN    (256 * 1024) /* token bound for verification */

/* One attachment's tag for authenticationTags.attachments. */
typedef struct aw_set_attachment_tag {
    const char *id;  /* attachment UUID */
    const char *tag; /* base64url JWE tag */
} aw_set_attachment_tag_t;

/* Builds {"authenticationTags": {...}} (new reference; NULL on OOM).
 * metadata/data may be NULL (omitted); attachments may be empty. */
json_t *aw_set_auth_tags(const char *metadata, const char *data,
                         const aw_set_attachment_tag_t *attachments, size_t n_attachments);

typedef struct aw_set_claims {
    const char *iss;           /* required */
    const char *submission_id; /* UUID, becomes sub "submission:<id>" */
    const char *case_id;       /* UUID, becomes txn "case:<id>" */
    const char *event;         /* full event URI, e.g. AW_SET_EV_SUBMIT */
    json_t *event_body;        /* borrowed; NULL: {} */
    const char *jti;           /* NULL: a fresh UUIDv4 */
    int64_t iat;               /* seconds since epoch; 0: now */
} aw_set_claims_t;

/* Signs a SET with the private key (PS512, typ secevent+jwt, kid of the
 * key, which must have one). Token appended to out. */
int aw_set_sign(const aw_jwk_t *key, const aw_set_claims_t *claims, aw_buf_t *out, aw_err_t *err);

typedef struct aw_set {
    json_t *payload;           /* whole payload (owned) */
    const char *kid;           /* from the header (borrowed from the struct) */
    const char *jti, *iss;     /* borrowed from payload */
    const char *submission_id; /* the <uuid> of sub */
    const char *case_id;       /* the <uuid> of txn */
    const char *event;         /* the single event URI */
    json_t *event_body;        /* borrowed from payload: the event's object */
    int64_t iat;
    char kid_buf[AW_JWK_KID_MAX + 1];
    char sub_buf[48], txn_buf[48];
} aw_set_t;

/* Verifies header (typ secevent+jwt — "application/secevent+jwt" and any
 * letter case are the same type, RFC 7515 §4.1.9 — alg PS512, kid present),
 * signature, and structure: $schema (when present) a FIT-Connect set-payload URI,
 * jti a UUID, iss a non-empty string, iat a non-negative integer, sub
 * "submission:<uuid>", txn "case:<uuid>", events an object with exactly
 * one member whose value is an object, authenticationTags (when present)
 * well-formed. Fills out on success (aw_set_free). */
int aw_set_verify(const aw_jwk_t *key, const char *token, size_t len, aw_set_t *out, aw_err_t *err);
void aw_set_free(aw_set_t *s);
/* Same, choosing the key by the token's kid from keys: AW_ENOTFOUND
 * ("unknown kid ...") when no key matches. */
int aw_set_verify_jwks(const aw_jwks_t *keys, const char *token, size_t len, aw_set_t *out,
                       aw_err_t *err);

#endif
