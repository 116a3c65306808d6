/* Security Event Tokens (RFC 8417) in FIT-Connect's shape, on jws.c. */
#include "jose/set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/b64.h"
#include "base/uuid.h"
#include "jose/jwe.h"
#include "jose/jws.h"

json_t *aw_set_auth_tags(const char *metadata, const char *data,
                         const aw_set_attachment_tag_t *attachments, size_t n_attachments) {
    json_t *tags = json_object(), *att = json_object();
    bool ok = tags && att;
    if (ok && metadata) ok = json_object_set_new(tags, "metadata", json_string(metadata)) == 0;
    if (ok && data) ok = json_object_set_new(tags, "data", json_string(data)) == 0;
    for (size_t i = 0; ok && i < n_attachments; i++)
        ok = attachments[i].id && attachments[i].tag &&
             json_object_set_new(att, attachments[i].id, json_string(attachments[i].tag)) == 0;
    if (ok && n_attachments > 0) {
        ok = json_object_set(tags, "attachments", att) == 0;
    }
    json_decref(att);
    json_t *body = ok ? json_pack("{sO}", "authenticationTags", tags) : NULL;
    json_decref(tags);
    return body;
}

int aw_set_sign(const aw_jwk_t *key, const aw_set_claims_t *c, aw_buf_t *out, aw_err_t *err) {
    if (!c->iss || !*c->iss) return aw_err_set(err, AW_EINVAL, "set: iss is required");
    if (!c->submission_id || !aw_uuid_valid(c->submission_id))
        return aw_err_set(err, AW_EINVAL, "set: submission id must be a UUID");
    if (!c->case_id || !aw_uuid_valid(c->case_id))
        return aw_err_set(err, AW_EINVAL, "set: case id must be a UUID");
    if (!c->event || strncmp(c->event, "https://", 8) != 0)
        return aw_err_set(err, AW_EINVAL, "set: event must be an https URI");
    if (c->event_body && !json_is_object(c->event_body))
        return aw_err_set(err, AW_EINVAL, "set: event body must be a JSON object");
    if (!aw_jwk_kid(key)) return aw_err_set(err, AW_EINVAL, "set: signing key has no kid");
    char jti[AW_UUID_STRLEN + 1];
    if (c->jti) {
        if (!aw_uuid_valid(c->jti)) return aw_err_set(err, AW_EINVAL, "set: jti must be a UUID");
        snprintf(jti, sizeof jti, "%s", c->jti);
    } else if (aw_uuid_v4(jti) != 0) {
        return aw_err_set(err, AW_ECRYPTO, "set: random generator failed");
    }
    int64_t iat = c->iat ? c->iat : (int64_t)time(NULL);
    char sub[64], txn[64];
    snprintf(sub, sizeof sub, "submission:%s", c->submission_id);
    snprintf(txn, sizeof txn, "case:%s", c->case_id);
    json_t *events = json_object();
    json_t *p = json_object();
    bool ok =
        events && p &&
        json_object_set_new(events, c->event,
                            c->event_body ? json_deep_copy(c->event_body) : json_object()) == 0 &&
        json_object_set_new(p, "$schema", json_string(AW_SET_SCHEMA)) == 0 &&
        json_object_set_new(p, "jti", json_string(jti)) == 0 &&
        json_object_set_new(p, "iss", json_string(c->iss)) == 0 &&
        json_object_set_new(p, "iat", json_integer(iat)) == 0 &&
        json_object_set_new(p, "sub", json_string(sub)) == 0 &&
        json_object_set_new(p, "txn", json_string(txn)) == 0 &&
        json_object_set(p, "events", events) == 0;
    json_decref(events);
    char *s = ok ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(p);
    if (!s) return aw_err_set(err, AW_ENOMEM, "set: out of memory (or invalid UTF-8 in a claim)");
    int rc = aw_jws_sign(key, AW_SET_TYP, s, strlen(s), out, err);
    free(s);
    return rc;
}

void aw_set_free(aw_set_t *s) {
    if (!s) return;
    json_decref(s->payload);
    memset(s, 0, sizeof *s);
}

static bool is_tag(const json_t *v) {
    unsigned char raw[24];
    size_t n;
    return json_is_string(v) && json_string_length(v) == AW_JWE_TAG_LEN &&
           aw_b64url_decode(json_string_value(v), AW_JWE_TAG_LEN, raw, &n) == 0 && n == 16;
}

static int check_tags(const json_t *tags, aw_err_t *err) {
    if (!json_is_object(tags))
        return aw_err_set(err, AW_EINVAL, "set: authenticationTags must be an object");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v) {
        if (strcmp(k, "metadata") == 0 || strcmp(k, "data") == 0) {
            if (!is_tag(v))
                return aw_err_set(err, AW_EINVAL,
                                  "set: authenticationTags.%s is not a JWE tag (22 base64url "
                                  "characters)",
                                  k);
        } else if (strcmp(k, "attachments") == 0) {
            if (!json_is_object(v))
                return aw_err_set(err, AW_EINVAL,
                                  "set: authenticationTags.attachments must be an object");
            const char *id;
            json_t *t;
            json_object_foreach(v, id, t) {
                if (!aw_uuid_valid(id))
                    return aw_err_set(err, AW_EINVAL,
                                      "set: authenticationTags.attachments key '%.40s' is not a "
                                      "UUID",
                                      id);
                if (!is_tag(t))
                    return aw_err_set(err, AW_EINVAL,
                                      "set: authenticationTags.attachments['%s'] is not a JWE tag",
                                      id);
            }
        } else {
            return aw_err_set(err, AW_EINVAL, "set: authenticationTags has unknown member '%.40s'",
                              k);
        }
    }
    return 0;
}

static const char *prefixed_uuid(const json_t *p, const char *claim, const char *prefix,
                                 aw_err_t *err, int *rc) {
    json_t *v = json_object_get(p, claim);
    size_t pl = strlen(prefix);
    if (!json_is_string(v)) {
        *rc = aw_err_set(err, AW_EINVAL, "set: claim '%s' is missing or not a string", claim);
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strncmp(s, prefix, pl) != 0 || !aw_uuid_valid(s + pl)) {
        *rc = aw_err_set(err, AW_EINVAL, "set: claim '%s' must be \"%s<uuid>\"", claim, prefix);
        return NULL;
    }
    return s + pl;
}

int aw_set_verify(const aw_jwk_t *key, const char *token, size_t len, aw_set_t *out,
                  aw_err_t *err) {
    memset(out, 0, sizeof *out);
    aw_jws_verify_opts_t o = {.max_len = AW_SET_MAX_LEN, .alg = "PS512"};
    aw_jws_verified_t v;
    int rc = aw_jws_verify(key, token, len, &o, &v, err);
    if (rc) return aw_err_prefix(err, "set"), rc;
    json_t *typ = json_object_get(v.header, "typ");
    json_t *kid = json_object_get(v.header, "kid");
    json_t *p = NULL;
    /* RFC 7515 §4.1.9: "application/" may be omitted and media types
     * compare case-insensitively, so both spellings are the same type. */
    const char *ts = json_string_value(typ);
    if (ts && strncasecmp(ts, "application/", 12) == 0) ts += 12;
    if (!ts || strcasecmp(ts, AW_SET_TYP) != 0) {
        rc = aw_err_set(err, AW_EINVAL, "set: header typ must be \"" AW_SET_TYP "\"");
        goto fail;
    }
    if (!json_is_string(kid) || json_string_length(kid) == 0 ||
        json_string_length(kid) > AW_JWK_KID_MAX) {
        rc = aw_err_set(err, AW_EINVAL, "set: header kid is missing");
        goto fail;
    }
    snprintf(out->kid_buf, sizeof out->kid_buf, "%s", json_string_value(kid));
    json_error_t je;
    p = json_loadb((const char *)v.payload, v.payload_len, JSON_REJECT_DUPLICATES, &je);
    if (!p) {
        rc = aw_err_set(err, AW_EINVAL, "set: payload is not valid JSON: %s", je.text);
        goto fail;
    }
    if (!json_is_object(p)) {
        rc = aw_err_set(err, AW_EINVAL, "set: payload must be a JSON object");
        goto fail;
    }
    json_t *schema = json_object_get(p, "$schema");
    if (schema && (!json_is_string(schema) ||
                   strncmp(json_string_value(schema),
                           "https://schema.fitko.de/fit-connect/set-payload/", 48) != 0)) {
        rc = aw_err_set(err, AW_EINVAL, "set: $schema is not a FIT-Connect set-payload schema");
        goto fail;
    }
    json_t *jti = json_object_get(p, "jti"), *iss = json_object_get(p, "iss");
    json_t *iat = json_object_get(p, "iat"), *events = json_object_get(p, "events");
    if (!json_is_string(jti) || !aw_uuid_valid(json_string_value(jti))) {
        rc = aw_err_set(err, AW_EINVAL, "set: claim 'jti' must be a UUID");
        goto fail;
    }
    if (!json_is_string(iss) || json_string_length(iss) == 0) {
        rc = aw_err_set(err, AW_EINVAL, "set: claim 'iss' is missing or empty");
        goto fail;
    }
    if (!json_is_integer(iat) || json_integer_value(iat) < 0) {
        rc = aw_err_set(err, AW_EINVAL, "set: claim 'iat' must be a non-negative integer");
        goto fail;
    }
    const char *sub = prefixed_uuid(p, "sub", "submission:", err, &rc);
    if (!sub) goto fail;
    const char *txn = prefixed_uuid(p, "txn", "case:", err, &rc);
    if (!txn) goto fail;
    if (!json_is_object(events) || json_object_size(events) != 1) {
        rc = aw_err_set(err, AW_EINVAL, "set: claim 'events' must hold exactly one event");
        goto fail;
    }
    const char *ev;
    json_t *body;
    json_object_foreach(events, ev, body) {
        out->event = ev;
        out->event_body = body;
    }
    if (strncmp(out->event, "https://", 8) != 0) {
        rc = aw_err_set(err, AW_EINVAL, "set: event '%.80s' is not an https URI", out->event);
        goto fail;
    }
    if (!json_is_object(out->event_body)) {
        rc = aw_err_set(err, AW_EINVAL, "set: the event's value must be an object");
        goto fail;
    }
    json_t *tags = json_object_get(out->event_body, "authenticationTags");
    if (tags && (rc = check_tags(tags, err)) != 0) goto fail;
    out->payload = p;
    out->kid = out->kid_buf;
    out->jti = json_string_value(jti);
    out->iss = json_string_value(iss);
    out->iat = json_integer_value(iat);
    snprintf(out->sub_buf, sizeof out->sub_buf, "%s", sub);
    snprintf(out->txn_buf, sizeof out->txn_buf, "%s", txn);
    out->submission_id = out->sub_buf;
    out->case_id = out->txn_buf;
    aw_jws_verified_free(&v);
    return 0;
fail:
    json_decref(p);
    aw_jws_verified_free(&v);
    memset(out, 0, sizeof *out);
    return rc;
}

int aw_set_verify_jwks(const aw_jwks_t *keys, const char *token, size_t len, aw_set_t *out,
                       aw_err_t *err) {
    memset(out, 0, sizeof *out);
    json_t *h;
    int rc = aw_jws_peek_header(token, len, AW_SET_MAX_LEN, &h, err);
    if (rc) return aw_err_prefix(err, "set"), rc;
    json_t *kid = json_object_get(h, "kid");
    if (!json_is_string(kid)) {
        json_decref(h);
        return aw_err_set(err, AW_EINVAL, "set: header kid is missing");
    }
    const aw_jwk_t *k = aw_jwks_find(keys, json_string_value(kid));
    if (!k) {
        rc = aw_err_set(err, AW_ENOTFOUND, "set: unknown kid '%.64s'", json_string_value(kid));
        json_decref(h);
        return rc;
    }
    json_decref(h);
    return aw_set_verify(k, token, len, out, err);
}
