/*
 * dest — destinations (Zustellpunkte) and OAuth clients: validation,
 * storage, the operator's admin API (/admin/v1/...) and the public
 * destination endpoints of the Submission API.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/secure.h"
#include "base/time.h"
#include "delivery/callback.h"
#include "delivery/internal.h"
#include "http/auth.h"
#include "store/outbox.h"

#define LEIKA_URN "urn:de:fim:leika:leistung:"

void dl_dest_clear(dl_dest_t *d) {
    json_decref(d->doc);
    free(d->enc_jwk);
    free(d->sig_jwk);
    free(d->enc_kid);
    free(d->sig_kid);
    free(d->callback_url);
    aw_secure_free_str(d->callback_secret);
    memset(d, 0, sizeof *d);
}

int dl_dest_get(aw_tx_t *tx, const char *id, dl_dest_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!aw_uuid_valid(id)) return aw_err_set(err, AW_ENOTFOUND, "destination not found");
    aw_sql_t *s;
    int rc =
        aw_sql_query(tx,
                     "SELECT id, status, doc, enc_jwk, sig_jwk, enc_kid, sig_kid, callback_url,"
                     " callback_secret FROM delivery_destinations WHERE id = $1",
                     &s, err, "t", id);
    if (rc) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        bool oom = false;
        snprintf(out->id, sizeof out->id, "%s", aw_sql_col_text(s, 0));
        snprintf(out->status, sizeof out->status, "%s", aw_sql_col_text(s, 1));
        const char *doc = aw_sql_col_text(s, 2);
        out->doc = json_loads(doc ? doc : "{}", 0, NULL);
        out->enc_jwk = aw_sql_col_strdup(s, 3, &oom);
        out->sig_jwk = aw_sql_col_strdup(s, 4, &oom);
        out->enc_kid = aw_sql_col_strdup(s, 5, &oom);
        out->sig_kid = aw_sql_col_strdup(s, 6, &oom);
        out->callback_url = aw_sql_col_strdup(s, 7, &oom);
        out->callback_secret = aw_sql_col_strdup(s, 8, &oom);
        rc = (oom || !out->doc) ? aw_err_set(err, AW_ENOMEM, "destination: out of memory") : 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "destination %s not found", id);
    }
    aw_sql_done(s);
    if (rc) dl_dest_clear(out);
    return rc;
}

int dl_dest_submit_facts(aw_tx_t *tx, const char *id, bool *callback, char enc_kid[DL_KID_MAX],
                         aw_err_t *err) {
    *callback = false;
    if (enc_kid) enc_kid[0] = 0;
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT CASE WHEN callback_url IS NULL THEN 0 ELSE 1 END, enc_kid"
                          " FROM delivery_destinations WHERE id = $1",
                          &s, err, "t", id);
    if (rc) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        *callback = aw_sql_col_int64(s, 0) != 0;
        if (enc_kid) snprintf(enc_kid, DL_KID_MAX, "%s", aw_sql_col_text(s, 1));
    }
    aw_sql_done(s);
    return rc < 0 ? rc : 0;
}

int dl_dest_has_callback(aw_tx_t *tx, const char *id, bool *yes, aw_err_t *err) {
    return dl_dest_submit_facts(tx, id, yes, NULL, err);
}

int dl_dest_enc_kid_check(aw_tx_t *tx, const char *dest, const char *kid, int64_t since,
                          const char *field, aw_err_t *err) {
    aw_sql_t *q;
    int rc = aw_sql_query(tx,
                          "SELECT 1 FROM delivery_destination_keys WHERE destination_id = $1"
                          " AND kid = $2 AND purpose = 'enc'"
                          " AND (retired_at IS NULL OR retired_at >= $3)",
                          &q, err, "ttI", dest, kid, since);
    if (rc) return rc;
    rc = aw_sql_step(q, err);
    aw_sql_done(q);
    if (rc < 0) return rc;
    if (rc == 1) return 0;
    char cur[100] = "?";
    if (aw_sql_query(tx, "SELECT enc_kid FROM delivery_destinations WHERE id = $1", &q, NULL, "t",
                     dest) == 0) {
        if (aw_sql_step(q, NULL) == 1) snprintf(cur, sizeof cur, "%s", aw_sql_col_text(q, 0));
        aw_sql_done(q);
    }
    return aw_err_set(err, AW_EPERM,
                      "%s is sealed for the key '%.64s', which is not the destination's "
                      "encryption key (encryptionKid: %s); fetch the destination and seal again",
                      field, kid, cur);
}

bool dl_dest_offers(const dl_dest_t *d, const char *identifier) {
    json_t *svcs = json_object_get(d->doc, "services");
    size_t i;
    json_t *sv;
    json_array_foreach(svcs, i, sv) {
        const char *id = json_string_value(json_object_get(sv, "identifier"));
        if (id && identifier && strcmp(id, identifier) == 0) return true;
    }
    return false;
}

json_t *dl_dest_public_json(const dl_dest_t *d) {
    json_t *j =
        json_pack("{s:s, s:s, s:O, s:s, s:O}", "destinationId", d->id, "status", d->status,
                  "services", json_object_get(d->doc, "services"), "encryptionKid", d->enc_kid,
                  "metadataVersions", json_object_get(d->doc, "metadataVersions"));
    json_t *rc = json_object_get(d->doc, "replyChannels");
    if (j && rc) json_object_set(j, "replyChannels", rc);
    return j;
}

static json_t *dest_private_json(const dl_dest_t *d) {
    json_t *j = dl_dest_public_json(d);
    json_t *ci = json_object_get(d->doc, "contactInformation");
    if (j && ci) json_object_set(j, "contactInformation", ci);
    if (j && d->callback_url)
        json_object_set_new(j, "callback", json_pack("{s:s}", "url", d->callback_url));
    if (j) {
        json_object_set_new(j, "encryptionPublicKey", json_loads(d->enc_jwk, 0, NULL));
        json_object_set_new(j, "signingPublicKey", json_loads(d->sig_jwk, 0, NULL));
    }
    return j;
}

static bool all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return n > 0;
}

/* "99123456789012" or "urn:de:fim:leika:leistung:99..." or another URN. */
static int normalise_service(const char *in, char *out, size_t cap, aw_err_t *err) {
    size_t n = in ? strlen(in) : 0;
    if (n == 14 && all_digits(in, 14)) {
        if (in[0] != '9' || in[1] != '9') goto bad_leika;
        snprintf(out, cap, LEIKA_URN "%s", in);
        return 0;
    }
    if (n > strlen(LEIKA_URN) && strncmp(in, LEIKA_URN, strlen(LEIKA_URN)) == 0) {
        const char *k = in + strlen(LEIKA_URN);
        if (strlen(k) != 14 || !all_digits(k, 14) || k[0] != '9' || k[1] != '9') goto bad_leika;
        snprintf(out, cap, "%s", in);
        return 0;
    }
    /* ^urn:[a-z0-9][a-z0-9-]{0,31}:[a-z0-9()+,.:=@;$_!*'%/?#-]+$ */
    if (n < 7 || n > 255 || strncmp(in, "urn:", 4) != 0) goto bad;
    const char *p = in + 4;
    size_t nid = strcspn(p, ":");
    if (nid == 0 || nid > 32 || p[nid] != ':' ||
        !(isalnum((unsigned char)p[0]) && !isupper((unsigned char)p[0])))
        goto bad;
    for (size_t i = 0; i < nid; i++)
        if (!(islower((unsigned char)p[i]) || isdigit((unsigned char)p[i]) || p[i] == '-'))
            goto bad;
    const char *nss = p + nid + 1;
    if (!*nss) goto bad;
    for (const char *q = nss; *q; q++)
        if (!(islower((unsigned char)*q) || isdigit((unsigned char)*q) ||
              strchr("()+,.:=@;$_!*'%/?#-", *q)))
            goto bad;
    snprintf(out, cap, "%s", in);
    return 0;
bad_leika:
    return aw_err_set(err, AW_EINVAL, "service '%s': a LeiKa key must match ^99\\d{12}$", in);
bad:
    return aw_err_set(err, AW_EINVAL,
                      "service '%s': must be a LeiKa key (99 + 12 digits), its URN " LEIKA_URN
                      "<key>, or another URN",
                      in ? in : "(missing)");
}

/* "DE091620000000" / "091620000000": ARS of 2, 3, 5, 9 or 12 digits. */
static int normalise_region(const char *in, char *out, size_t cap, aw_err_t *err) {
    const char *d = in && strncmp(in, "DE", 2) == 0 ? in + 2 : in;
    size_t n = d ? strlen(d) : 0;
    if (!all_digits(d ? d : "", n) || (n != 2 && n != 3 && n != 5 && n != 9 && n != 12))
        return aw_err_set(err, AW_EINVAL,
                          "region '%s': must be an ARS (2, 3, 5, 9 or 12 digits), optionally "
                          "prefixed DE",
                          in ? in : "(missing)");
    snprintf(out, cap, "DE%s", d);
    return 0;
}

static int check_key(json_t *jwk, aw_jwk_purpose_t purpose, const char *field,
                     const char *key_roots, char **kid_out, char **json_out, aw_err_t *err) {
    if (!json_is_object(jwk))
        return aw_err_set(err, AW_EINVAL, "%s: a JWK object is required", field);
    aw_jwk_t *k = NULL;
    int rc = aw_jwk_from_json(jwk, &k, err);
    if (rc == 0 && aw_jwk_is_private(k))
        rc = aw_err_set(err, AW_EINVAL,
                        "%s: contains private key material; send the public key only", field);
    aw_jwk_check_opts_t opts = {.require_x5c = key_roots != NULL, .x5c_roots_pem = key_roots};
    if (rc == 0) rc = aw_jwk_check_fitconnect(k, purpose, &opts, err);
    if (rc == 0) {
        aw_buf_t b = AW_BUF_INIT;
        rc = aw_jwk_write(k, false, &b, err);
        if (rc == 0) {
            *json_out = aw_buf_take(&b, NULL);
            *kid_out = strdup(aw_jwk_kid(k));
        }
        aw_buf_free(&b);
    }
    aw_jwk_free(k);
    if (rc) aw_err_prefix(err, "%s", field);
    return rc;
}

/* Records key kid (purpose "enc"/"sig") as a current key of destination
 * dest: a kid the destination had before must name the same key for the
 * same purpose (its certificate may be new). */
static int key_record(aw_tx_t *tx, const char *dest, const char *kid, const char *purpose,
                      const char *jwk, int64_t now, aw_err_t *err) {
    aw_sql_t *q;
    int rc = aw_sql_query(tx,
                          "SELECT purpose, jwk FROM delivery_destination_keys"
                          " WHERE destination_id = $1 AND kid = $2",
                          &q, err, "tt", dest, kid);
    if (rc) return rc;
    int r = aw_sql_step(q, err);
    bool known = r == 1, same = false, same_purpose = false;
    if (known) {
        same_purpose = strcmp(aw_sql_col_text(q, 0), purpose) == 0;
        const char *old = aw_sql_col_text(q, 1);
        aw_jwk_t *a = NULL, *b = NULL;
        aw_err_t e2;
        if (aw_jwk_parse(old, strlen(old), &a, &e2) == 0 &&
            aw_jwk_parse(jwk, strlen(jwk), &b, &e2) == 0)
            same = aw_jwk_same_public(a, b);
        aw_jwk_free(a);
        aw_jwk_free(b);
    }
    aw_sql_done(q);
    if (r < 0) return r;
    const char *field = strcmp(purpose, "enc") == 0 ? "encryptionPublicKey" : "signingPublicKey";
    if (known && !same_purpose)
        return aw_err_set(err, AW_EINVAL,
                          "%s: kid '%s' named the destination's %s key before; a key for "
                          "another purpose needs a new kid",
                          field, kid, strcmp(purpose, "enc") == 0 ? "signing" : "encryption");
    if (known && !same)
        return aw_err_set(err, AW_EINVAL,
                          "%s: kid '%s' named another key of this destination before (events "
                          "may be signed with it); a new key needs a new kid",
                          field, kid);
    if (known)
        return aw_sql_exec(tx,
                           "UPDATE delivery_destination_keys SET jwk = $1, retired_at = NULL"
                           " WHERE destination_id = $2 AND kid = $3",
                           NULL, err, "ttt", jwk, dest, kid);
    return aw_sql_exec(tx,
                       "INSERT INTO delivery_destination_keys (destination_id, kid, purpose, jwk,"
                       " created_at) VALUES ($1, $2, $3, $4, $5)",
                       NULL, err, "ttttI", dest, kid, purpose, jwk, now);
}

int dl_dest_put(aw_tx_t *tx, json_t *in, char id[AW_UUID_STRLEN + 1], bool allow_loopback,
                const char *key_roots, aw_err_t *err) {
    if (!json_is_object(in))
        return aw_err_set(err, AW_EINVAL, "destination: a JSON object is required");
    const char *given = json_string_value(json_object_get(in, "destinationId"));
    if (given) {
        if (!aw_uuid_valid(given))
            return aw_err_set(err, AW_EINVAL, "destinationId: '%s' is not a UUID", given);
        snprintf(id, AW_UUID_STRLEN + 1, "%s", given);
    }
    if (!id[0]) aw_uuid_v4(id);
    const char *status = json_string_value(json_object_get(in, "status"));
    if (!status) status = "active";
    if (strcmp(status, "active") && strcmp(status, "inactive"))
        return aw_err_set(err, AW_EINVAL, "status: must be active or inactive, is '%s'", status);

    char *enc_kid = NULL, *enc = NULL, *sig_kid = NULL, *sig = NULL;
    json_t *doc = json_object();
    json_t *svcs = json_array();
    int rc = check_key(json_object_get(in, "encryptionPublicKey"), AW_JWK_ENC,
                       "encryptionPublicKey", key_roots, &enc_kid, &enc, err);
    if (rc == 0)
        rc = check_key(json_object_get(in, "signingPublicKey"), AW_JWK_SIG, "signingPublicKey",
                       key_roots, &sig_kid, &sig, err);
    if (rc == 0 && strcmp(enc_kid, sig_kid) == 0)
        rc = aw_err_set(err, AW_EINVAL, "the encryption and signing keys must have different kids");
    json_t *ekid = json_object_get(in, "encryptionKid");
    if (rc == 0 && ekid && (!json_is_string(ekid) || strcmp(json_string_value(ekid), enc_kid)))
        rc = aw_err_set(err, AW_EINVAL, "encryptionKid: must equal the kid of encryptionPublicKey");

    json_t *services = json_object_get(in, "services");
    if (rc == 0 && (!json_is_array(services) || json_array_size(services) == 0 ||
                    json_array_size(services) > 200))
        rc = aw_err_set(err, AW_EINVAL, "services: 1..200 services are required");
    size_t i;
    json_t *sv;
    if (rc == 0) json_array_foreach(services, i, sv) {
            char ident[300];
            json_t *regions = json_object_get(sv, "regions");
            json_t *schemas = json_object_get(sv, "submissionSchemas");
            rc = normalise_service(json_string_value(json_object_get(sv, "identifier")), ident,
                                   sizeof ident, err);
            if (rc == 0 && (!json_is_array(regions) || json_array_size(regions) == 0 ||
                            json_array_size(regions) > 1000))
                rc = aw_err_set(err, AW_EINVAL, "services[%zu].regions: 1..1000 ARS are required",
                                i);
            if (rc == 0 && (!json_is_array(schemas) || json_array_size(schemas) == 0 ||
                            json_array_size(schemas) > 50))
                rc = aw_err_set(err, AW_EINVAL,
                                "services[%zu].submissionSchemas: 1..50 schemas are required", i);
            if (rc) break;
            json_t *ro = json_array(), *so = json_array();
            size_t k;
            json_t *x;
            json_array_foreach(regions, k, x) {
                char reg[32];
                if ((rc = normalise_region(json_string_value(x), reg, sizeof reg, err))) break;
                json_array_append_new(ro, json_string(reg));
            }
            if (rc == 0) json_array_foreach(schemas, k, x) {
                    const char *uri = json_string_value(json_object_get(x, "schemaUri"));
                    const char *mt = json_string_value(json_object_get(x, "mimeType"));
                    if (!uri || !*uri || strlen(uri) > 1024 || !mt ||
                        (strcmp(mt, "application/json") && strcmp(mt, "application/xml"))) {
                        rc = aw_err_set(err, AW_EINVAL,
                                        "services[%zu].submissionSchemas[%zu]: schemaUri (1..1024 "
                                        "chars) and mimeType application/json or application/xml "
                                        "are required",
                                        i, k);
                        break;
                    }
                    json_array_append_new(so,
                                          json_pack("{s:s,s:s}", "schemaUri", uri, "mimeType", mt));
                }
            json_array_append_new(svcs, json_pack("{s:s,s:o,s:o}", "identifier", ident, "regions",
                                                  ro, "submissionSchemas", so));
            if (rc) break;
        }
    const char *cb_url = NULL, *cb_secret = NULL;
    json_t *cb = json_object_get(in, "callback");
    if (rc == 0 && cb && !json_is_null(cb)) {
        cb_url = json_string_value(json_object_get(cb, "url"));
        cb_secret = json_string_value(json_object_get(cb, "secret"));
        if (!aw_callback_url_ok(cb_url, allow_loopback))
            rc = aw_err_set(err, AW_EINVAL, "callback.url: must be an https:// URL");
        else if (!cb_secret || strlen(cb_secret) < 32 || strlen(cb_secret) > 512)
            rc = aw_err_set(err, AW_EINVAL, "callback.secret: 32..512 characters are required");
    }
    json_t *mv = json_object_get(in, "metadataVersions");
    if (rc == 0 && mv &&
        (!json_is_array(mv) || json_array_size(mv) == 0 || json_array_size(mv) > 20))
        rc = aw_err_set(err, AW_EINVAL, "metadataVersions: 1..20 versions are required");
    json_t *rch = json_object_get(in, "replyChannels");
    if (rc == 0 && rch && !json_is_object(rch))
        rc = aw_err_set(err, AW_EINVAL, "replyChannels: must be an object");
    json_t *ci = json_object_get(in, "contactInformation");
    if (rc == 0 && ci && !json_is_object(ci))
        rc = aw_err_set(err, AW_EINVAL, "contactInformation: must be an object");
    if (rc == 0) {
        json_object_set(doc, "services", svcs);
        json_object_set_new(doc, "metadataVersions",
                            mv ? json_deep_copy(mv) : json_pack("[s]", "1.0.0"));
        if (rch) json_object_set(doc, "replyChannels", rch);
        if (ci) json_object_set(doc, "contactInformation", ci);
        char *txt = json_dumps(doc, JSON_COMPACT);
        int64_t now = aw_time_now_ms();
        rc = txt ? aw_sql_exec(
                       tx,
                       "INSERT INTO delivery_destinations (id, status, doc, enc_kid, enc_jwk,"
                       " sig_kid, sig_jwk, callback_url, callback_secret, created_at,"
                       " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)"
                       " ON CONFLICT (id) DO UPDATE SET status = excluded.status,"
                       " doc = excluded.doc, enc_kid = excluded.enc_kid,"
                       " enc_jwk = excluded.enc_jwk, sig_kid = excluded.sig_kid,"
                       " sig_jwk = excluded.sig_jwk, callback_url = excluded.callback_url,"
                       " callback_secret = excluded.callback_secret,"
                       " updated_at = excluded.updated_at",
                       NULL, err, "tttttttttI", id, status, txt, enc_kid, enc, sig_kid, sig, cb_url,
                       cb_secret, now)
                 : aw_err_set(err, AW_ENOMEM, "destination: out of memory");
        free(txt);
        /* the key history: these two are current, any other is retired */
        if (rc == 0) rc = key_record(tx, id, enc_kid, "enc", enc, now, err);
        if (rc == 0) rc = key_record(tx, id, sig_kid, "sig", sig, now, err);
        if (rc == 0)
            rc = aw_sql_exec(tx,
                             "UPDATE delivery_destination_keys SET retired_at = $1"
                             " WHERE destination_id = $2 AND retired_at IS NULL"
                             " AND kid <> $3 AND kid <> $4",
                             NULL, err, "Ittt", now, id, enc_kid, sig_kid);
    }
    json_decref(doc);
    json_decref(svcs);
    free(enc_kid);
    free(enc);
    free(sig_kid);
    free(sig);
    return rc;
}

int dl_client_create(aw_tx_t *tx, const char *kind, const char *name, json_t *destinations,
                     char id[AW_UUID_STRLEN + 1], char *secret, size_t secret_cap, aw_err_t *err) {
    if (!kind || (strcmp(kind, "sender") && strcmp(kind, "subscriber")))
        return aw_err_set(err, AW_EINVAL, "kind: must be sender or subscriber");
    if (!name) name = "";
    if (strlen(name) > 200) return aw_err_set(err, AW_EINVAL, "name: at most 200 characters");
    if (destinations && !json_is_array(destinations))
        return aw_err_set(err, AW_EINVAL, "destinations: must be an array of destination ids");
    if (strcmp(kind, "subscriber") == 0 && json_array_size(destinations) == 0)
        return aw_err_set(err, AW_EINVAL,
                          "destinations: a subscriber needs at least one destination");
    if (strcmp(kind, "sender") == 0 && json_array_size(destinations) > 0)
        return aw_err_set(err, AW_EINVAL,
                          "destinations: only subscribers are bound to destinations");
    aw_uuid_v4(id);
    if (dl_random_b64(32, secret, secret_cap))
        return aw_err_set(err, AW_ECRYPTO, "cannot create a client secret");
    char hash[200];
    int rc = dl_secret_hash(secret, hash, sizeof hash, err);
    if (rc == 0)
        rc = aw_sql_exec(tx,
                         "INSERT INTO delivery_clients (id, kind, name, secret_hash, created_at)"
                         " VALUES ($1, $2, $3, $4, $5)",
                         NULL, err, "ttttI", id, kind, name, hash, aw_time_now_ms());
    size_t i;
    json_t *x;
    json_array_foreach(destinations, i, x) {
        if (rc) break;
        const char *did = json_string_value(x);
        dl_dest_t dd;
        if (!did || (rc = dl_dest_get(tx, did, &dd, err)) != 0) {
            rc = aw_err_set(err, did ? rc : AW_EINVAL, "destinations[%zu]: no destination '%s'", i,
                            did ? did : "(not a string)");
            break;
        }
        dl_dest_clear(&dd);
        rc = aw_sql_exec(tx,
                         "INSERT INTO delivery_client_destinations (client_id, destination_id)"
                         " VALUES ($1, $2) ON CONFLICT DO NOTHING",
                         NULL, err, "tt", id, did);
    }
    return rc;
}

/* ---- admin API ------------------------------------------------------------ */

static int err_status(int code) {
    switch (code) {
    case AW_EINVAL:
        return 400;
    case AW_ENOTFOUND:
        return 404;
    case AW_ECONFLICT:
        return 409;
    default:
        return 500;
    }
}

static void fail(aw_http_resp_t *resp, aw_err_t *err) {
    int st = err_status(err->code);
    if (st == 500)
        dl_store_error(resp, err);
    else
        dl_problem(resp, st,
                   st == 404   ? "not-found"
                   : st == 409 ? "conflict"
                               : "invalid-request",
                   st == 404   ? "Not Found"
                   : st == 409 ? "Conflict"
                               : "Invalid Request",
                   "%s", err->msg);
}

static void h_dest_put(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx, const char *id_in) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    char id[AW_UUID_STRLEN + 1] = "";
    if (id_in) {
        if (!aw_uuid_valid(id_in)) {
            dl_problem(resp, 404, "not-found", "Not Found", "destination id is not a UUID");
            return;
        }
        snprintf(id, sizeof id, "%s", id_in);
        json_object_set_new(req->json, "destinationId", json_string(id));
    }
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    int rc = dl_dest_put(tx, req->json, id, d->cfg.callback_allow_loopback, d->cfg.key_roots, &err);
    dl_dest_t dd;
    if (rc == 0 && (rc = dl_dest_get(tx, id, &dd, &err)) == 0) {
        rc = aw_store_commit(tx, &err);
        if (rc == 0) {
            aw_log_info("delivery.destination", "action=put id=%s status=%s", id, dd.status);
            aw_http_resp_json(resp, id_in ? 200 : 201, dest_private_json(&dd));
        } else
            fail(resp, &err);
        dl_dest_clear(&dd);
        return;
    }
    aw_store_rollback(tx);
    fail(resp, &err);
}

static void h_dest_create(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    h_dest_put(req, resp, ctx, NULL);
}
static void h_dest_replace(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    h_dest_put(req, resp, ctx, aw_http_param(req, "destinationId"));
}

static void h_dest_patch(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    const char *id = aw_http_param(req, "destinationId");
    const char *status = json_string_value(json_object_get(req->json, "status"));
    if (!status || (strcmp(status, "active") && strcmp(status, "inactive"))) {
        dl_problem(resp, 400, "invalid-request", "Invalid Request",
                   "status: must be active or inactive");
        return;
    }
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    int64_t ch = 0;
    int rc = aw_sql_exec(
        tx, "UPDATE delivery_destinations SET status = $1, updated_at = $2 WHERE id = $3", &ch,
        &err, "tIt", status, aw_time_now_ms(), id);
    dl_dest_t dd;
    if (rc == 0 && ch == 0) rc = aw_err_set(&err, AW_ENOTFOUND, "destination %s not found", id);
    if (rc == 0 && (rc = dl_dest_get(tx, id, &dd, &err)) == 0) {
        if ((rc = aw_store_commit(tx, &err)) == 0) {
            aw_log_info("delivery.destination", "action=status id=%s status=%s", id, status);
            aw_http_resp_json(resp, 200, dest_private_json(&dd));
        } else
            fail(resp, &err);
        dl_dest_clear(&dd);
        return;
    }
    aw_store_rollback(tx);
    fail(resp, &err);
}

static void h_dest_get_admin(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    dl_dest_t dd;
    int rc = dl_dest_get(tx, aw_http_param(req, "destinationId"), &dd, &err);
    bool got = rc == 0;
    /* the keys it has had: current ones without retiredAt */
    json_t *keys = json_array();
    aw_sql_t *q;
    if (rc == 0)
        rc = aw_sql_query(tx,
                          "SELECT kid, purpose, created_at, retired_at FROM"
                          " delivery_destination_keys WHERE destination_id = $1"
                          " ORDER BY created_at, kid",
                          &q, &err, "t", dd.id);
    if (rc == 0) {
        while ((rc = aw_sql_step(q, &err)) == 1) {
            char c[40], r[40];
            aw_time_format_rfc3339_ms(aw_sql_col_int64(q, 2), c, sizeof c);
            json_t *k =
                json_pack("{s:s,s:s,s:s}", "kid", aw_sql_col_text(q, 0), "purpose",
                          strcmp(aw_sql_col_text(q, 1), "enc") == 0 ? "encryption" : "signature",
                          "createdAt", c);
            if (!aw_sql_col_null(q, 3))
                json_object_set_new(
                    k, "retiredAt",
                    json_string(aw_time_format_rfc3339_ms(aw_sql_col_int64(q, 3), r, sizeof r)));
            json_array_append_new(keys, k);
        }
        aw_sql_done(q);
    }
    aw_store_rollback(tx);
    if (rc < 0) {
        json_decref(keys);
        if (got) dl_dest_clear(&dd);
        return fail(resp, &err);
    }
    json_t *j = dest_private_json(&dd);
    json_object_set_new(j, "keys", keys);
    aw_http_resp_json(resp, 200, j);
    dl_dest_clear(&dd);
}

static void h_dest_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    aw_sql_t *s;
    json_t *arr = json_array();
    int rc =
        aw_sql_query(tx, "SELECT id FROM delivery_destinations ORDER BY created_at, id LIMIT 1000",
                     &s, &err, "");
    json_t *ids = json_array();
    if (rc == 0) {
        while ((rc = aw_sql_step(s, &err)) == 1)
            json_array_append_new(ids, json_string(aw_sql_col_text(s, 0)));
        aw_sql_done(s);
    }
    size_t i;
    json_t *x;
    json_array_foreach(ids, i, x) {
        dl_dest_t dd;
        if (dl_dest_get(tx, json_string_value(x), &dd, &err) == 0) {
            json_array_append_new(arr, dest_private_json(&dd));
            dl_dest_clear(&dd);
        }
    }
    json_decref(ids);
    aw_store_rollback(tx);
    if (rc < 0) {
        json_decref(arr);
        return fail(resp, &err);
    }
    aw_http_resp_json(resp, 200,
                      json_pack("{s:i,s:i,s:i,s:o}", "count", (int)json_array_size(arr), "offset",
                                0, "totalCount", (int)json_array_size(arr), "destinations", arr));
}

static void h_client_create(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    char id[AW_UUID_STRLEN + 1], secret[64];
    const char *kind = json_string_value(json_object_get(req->json, "kind"));
    int rc = dl_client_create(tx, kind, json_string_value(json_object_get(req->json, "name")),
                              json_object_get(req->json, "destinations"), id, secret, sizeof secret,
                              &err);
    if (rc == 0)
        rc = aw_store_commit(tx, &err);
    else
        aw_store_rollback(tx);
    if (rc) return fail(resp, &err);
    aw_log_info("delivery.client", "action=create id=%s kind=%s", id, kind);
    json_t *dests = json_object_get(req->json, "destinations");
    aw_http_resp_json(resp, 201,
                      json_pack("{s:s,s:s,s:s,s:o}", "clientId", id, "clientSecret", secret, "kind",
                                kind, "destinations", dests ? json_incref(dests) : json_array()));
    aw_http_resp_header(resp, "Cache-Control", "no-store");
    aw_secure_wipe(secret, sizeof secret);
}

static void h_client_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    aw_sql_t *s;
    json_t *arr = json_array();
    int rc = aw_sql_query(tx,
                          "SELECT c.id, c.kind, c.name, d.destination_id FROM delivery_clients c"
                          " LEFT JOIN delivery_client_destinations d ON d.client_id = c.id"
                          " ORDER BY c.created_at, c.id LIMIT 10000",
                          &s, &err, "");
    if (rc == 0) {
        json_t *cur = NULL;
        while ((rc = aw_sql_step(s, &err)) == 1) {
            const char *id = aw_sql_col_text(s, 0);
            if (!cur || strcmp(json_string_value(json_object_get(cur, "clientId")), id)) {
                cur = json_pack("{s:s,s:s,s:s,s:[]}", "clientId", id, "kind", aw_sql_col_text(s, 1),
                                "name", aw_sql_col_text(s, 2), "destinations");
                json_array_append_new(arr, cur);
            }
            if (!aw_sql_col_null(s, 3))
                json_array_append_new(json_object_get(cur, "destinations"),
                                      json_string(aw_sql_col_text(s, 3)));
        }
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    if (rc < 0) {
        json_decref(arr);
        return fail(resp, &err);
    }
    aw_http_resp_json(resp, 200, json_pack("{s:o}", "clients", arr));
}

static void h_client_delete(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_WRITE, &tx, &err)) return dl_store_error(resp, &err);
    const char *id = aw_http_param(req, "clientId");
    int64_t ch = 0;
    int rc =
        aw_sql_exec(tx, "DELETE FROM delivery_tokens WHERE client_id = $1", NULL, &err, "t", id);
    if (rc == 0)
        rc = aw_sql_exec(tx, "DELETE FROM delivery_client_destinations WHERE client_id = $1", NULL,
                         &err, "t", id);
    if (rc == 0)
        rc = aw_sql_exec(tx, "DELETE FROM delivery_clients WHERE id = $1", &ch, &err, "t", id);
    if (rc == 0 && ch == 0) rc = aw_err_set(&err, AW_ENOTFOUND, "client %s not found", id);
    if (rc == 0)
        rc = aw_store_commit(tx, &err);
    else
        aw_store_rollback(tx);
    if (rc) return fail(resp, &err);
    dl_auth_forget(d); /* its tokens stop working now, not when the cache expires */
    aw_http_resp_text(resp, 204, NULL, NULL, 0);
}

static void h_dead_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    uint64_t off = 0, lim = 100;
    const char *o = aw_http_query(req, "offset"), *l = aw_http_query(req, "limit");
    if ((o && !dl_parse_uint(o, 1000000000, &off)) ||
        (l && (!dl_parse_uint(l, 500, &lim) || !lim))) {
        dl_problem(resp, 400, "invalid-request", "Invalid Request",
                   "offset must be >= 0 and limit 1..500");
        return;
    }
    aw_outbox_job_t *jobs = NULL;
    size_t n = 0;
    aw_err_t err;
    if (aw_store_outbox_list_dead(d->store, off, lim, &jobs, &n, &err)) return fail(resp, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            arr, json_pack("{s:I,s:s,s:s,s:i,s:I,s:s?}", "id", (json_int_t)jobs[i].id, "kind",
                           jobs[i].kind, "payload", jobs[i].payload, "attempts", jobs[i].attempts,
                           "createdAtMs", (json_int_t)jobs[i].created_at_ms, "lastError",
                           jobs[i].last_error));
    aw_outbox_jobs_free(jobs, n);
    aw_http_resp_json(resp, 200, json_pack("{s:i,s:o}", "count", (int)n, "deadLetters", arr));
}

static void h_dead_requeue(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    uint64_t id;
    aw_err_t err;
    if (!dl_parse_uint(aw_http_param(req, "jobId"), INT64_MAX, &id)) {
        dl_problem(resp, 404, "not-found", "Not Found", "no dead letter with this id");
        return;
    }
    if (aw_store_outbox_requeue_dead(d->store, (int64_t)id, aw_time_now_ms(), &err))
        return fail(resp, &err);
    if (d->worker) aw_worker_kick(d->worker);
    aw_http_resp_text(resp, 204, NULL, NULL, 0);
}

static void h_stats(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) return dl_store_error(resp, &err);
    json_t *states = json_object();
    aw_sql_t *s;
    int rc = aw_sql_query(tx, "SELECT state, COUNT(*) FROM delivery_submissions GROUP BY state", &s,
                          &err, "");
    if (rc == 0) {
        while ((rc = aw_sql_step(s, &err)) == 1)
            json_object_set_new(states, aw_sql_col_text(s, 0),
                                json_integer(aw_sql_col_int64(s, 1)));
        aw_sql_done(s);
    }
    aw_store_rollback(tx);
    aw_delivery_purge_stats_t t;
    aw_delivery_purge_totals(d, &t);
    aw_http_resp_json(resp, 200,
                      json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "submissions", states, "purge",
                                "incompletePurged", (json_int_t)t.incomplete_purged, "autoRejected",
                                (json_int_t)t.auto_rejected, "contentPurged",
                                (json_int_t)t.content_purged, "eventsDeleted",
                                (json_int_t)t.events_deleted, "blobsSwept",
                                (json_int_t)t.blobs_swept));
}

/* Prometheus text for the delivery service, appended to GET /metrics. */
static void write_metrics(void *ctx, aw_buf_t *out) {
    aw_delivery_t *d = ctx;
    aw_buf_t b = AW_BUF_INIT;
    aw_delivery_purge_stats_t t;
    aw_delivery_purge_totals(d, &t);
    aw_buf_printf(
        &b,
        "# HELP amtsweg_delivery_purged_total Submissions deleted by deadline, by reason.\n"
        "# TYPE amtsweg_delivery_purged_total counter\n"
        "amtsweg_delivery_purged_total{reason=\"incomplete\"} %lld\n"
        "amtsweg_delivery_purged_total{reason=\"decided\"} %lld\n"
        "# HELP amtsweg_delivery_auto_rejected_total Submissions rejected by the platform "
        "(not decided in time).\n"
        "# TYPE amtsweg_delivery_auto_rejected_total counter\n"
        "amtsweg_delivery_auto_rejected_total %lld\n"
        "# HELP amtsweg_delivery_events_deleted_total Events older than the retention.\n"
        "# TYPE amtsweg_delivery_events_deleted_total counter\n"
        "amtsweg_delivery_events_deleted_total %lld\n"
        "# HELP amtsweg_delivery_blobs_swept_total Attachment contents in the database that no "
        "attachment pointed at (uploads that broke off), deleted.\n"
        "# TYPE amtsweg_delivery_blobs_swept_total counter\n"
        "amtsweg_delivery_blobs_swept_total %lld\n",
        (long long)t.incomplete_purged, (long long)t.content_purged, (long long)t.auto_rejected,
        (long long)t.events_deleted, (long long)t.blobs_swept);
    aw_buf_printf(
        &b,
        "# HELP amtsweg_delivery_unsigned_events Events committed and not signed yet (estimate).\n"
        "# TYPE amtsweg_delivery_unsigned_events gauge\n"
        "amtsweg_delivery_unsigned_events %lld\n"
        "# HELP amtsweg_delivery_sign_backlog_limit Unsigned events: escalation, refusal (0 = "
        "off).\n"
        "# TYPE amtsweg_delivery_sign_backlog_limit gauge\n"
        "amtsweg_delivery_sign_backlog_limit{kind=\"escalate\"} %lld\n"
        "amtsweg_delivery_sign_backlog_limit{kind=\"refuse\"} %lld\n"
        "# HELP amtsweg_delivery_signed_total SETs signed by the background signer.\n"
        "# TYPE amtsweg_delivery_signed_total counter\n"
        "amtsweg_delivery_signed_total %lld\n"
        "# HELP amtsweg_delivery_sign_escalations_total Times the signer went to normal "
        "priority.\n"
        "# TYPE amtsweg_delivery_sign_escalations_total counter\n"
        "amtsweg_delivery_sign_escalations_total %lld\n"
        "# HELP amtsweg_delivery_sign_refused_total Announces and submits refused (503) at the "
        "backlog limit.\n"
        "# TYPE amtsweg_delivery_sign_refused_total counter\n"
        "amtsweg_delivery_sign_refused_total %lld\n"
        "# HELP amtsweg_delivery_signer_starved_seconds_total Time signing threads waited for "
        "claimed events while unsigned ones were left (the database slower than signing).\n"
        "# TYPE amtsweg_delivery_signer_starved_seconds_total counter\n"
        "amtsweg_delivery_signer_starved_seconds_total %.6f\n",
        (long long)dl_sign_backlog(d), (long long)d->cfg.sign_escalate,
        (long long)d->cfg.sign_max_backlog, (long long)atomic_load(&d->signed_bg),
        (long long)atomic_load(&d->escalations), (long long)atomic_load(&d->sign_refused),
        (double)atomic_load(&d->sign_starved_us) / 1e6);
    int64_t key_ms = atomic_load(&d->key_created_ms);
    if (key_ms > 0) /* none before the first use makes the key */
        aw_buf_printf(&b,
                      "# HELP amtsweg_delivery_platform_key_created_timestamp_seconds When the "
                      "platform key that signs was made (a key file: first seen); for an age "
                      "alert.\n"
                      "# TYPE amtsweg_delivery_platform_key_created_timestamp_seconds gauge\n"
                      "amtsweg_delivery_platform_key_created_timestamp_seconds %lld\n",
                      (long long)(key_ms / 1000));
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err) == 0) {
        aw_sql_t *s;
        if (aw_sql_query(tx, "SELECT state, COUNT(*) FROM delivery_submissions GROUP BY state", &s,
                         &err, "") == 0) {
            aw_buf_puts(&b, "# HELP amtsweg_delivery_submissions Submissions by state.\n"
                            "# TYPE amtsweg_delivery_submissions gauge\n");
            while (aw_sql_step(s, &err) == 1)
                aw_buf_printf(&b, "amtsweg_delivery_submissions{state=\"%s\"} %lld\n",
                              aw_sql_col_text(s, 0), (long long)aw_sql_col_int64(s, 1));
            aw_sql_done(s);
        }
        aw_store_rollback(tx);
    }
    aw_buf_append(out, b.data ? b.data : "", b.len);
    aw_buf_free(&b);
}

/* ---- public destination endpoints ----------------------------------------- */

/* Loads the destination named in the path; on failure the problem is
 * already in resp and false is returned. */
static bool load_public_dest(aw_delivery_t *d, aw_http_req_t *req, aw_http_resp_t *resp,
                             dl_dest_t *dd) {
    aw_tx_t *tx;
    aw_err_t err;
    if (aw_store_begin(d->store, AW_TX_READ, &tx, &err)) {
        dl_store_error(resp, &err);
        return false;
    }
    int rc = dl_dest_get(tx, aw_http_param(req, "destinationId"), dd, &err);
    aw_store_rollback(tx);
    if (rc == AW_ENOTFOUND) {
        dl_problem(resp, 404, DL_PROBLEM("destination-not-found"), "Destination not found",
                   "there is no destination with this id");
        return false;
    }
    if (rc) {
        dl_store_error(resp, &err);
        return false;
    }
    return true;
}

static void h_dest_public(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_dest_t dd;
    if (!load_public_dest(d, req, resp, &dd)) return;
    aw_http_resp_json(resp, 200, dl_dest_public_json(&dd));
    dl_dest_clear(&dd);
}

static void h_dest_key(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    dl_dest_t dd;
    if (!load_public_dest(d, req, resp, &dd)) return;
    const char *kid = aw_http_param(req, "kid");
    const char *jwk = strcmp(kid, dd.enc_kid) == 0   ? dd.enc_jwk
                      : strcmp(kid, dd.sig_kid) == 0 ? dd.sig_jwk
                                                     : NULL;
    if (jwk) {
        aw_http_resp_text(resp, 200, "application/json", jwk, strlen(jwk));
        dl_dest_clear(&dd);
        return;
    }
    /* A retired signature key stays published: events it signed are
     * verified with it. A retired encryption key does not: nobody should
     * seal for it any more. */
    aw_tx_t *tx;
    aw_err_t err;
    aw_sql_t *q;
    int rc = aw_store_begin(d->store, AW_TX_READ, &tx, &err);
    if (rc == 0) {
        rc = aw_sql_query(tx,
                          "SELECT purpose, jwk FROM delivery_destination_keys"
                          " WHERE destination_id = $1 AND kid = $2",
                          &q, &err, "tt", dd.id, kid);
        if (rc == 0) {
            rc = aw_sql_step(q, &err);
            if (rc == 1 && strcmp(aw_sql_col_text(q, 0), "sig") == 0) {
                const char *old = aw_sql_col_text(q, 1);
                aw_http_resp_text(resp, 200, "application/json", old, strlen(old));
            } else if (rc == 1) {
                dl_problem(resp, 404, DL_PROBLEM("key-not-found"), "Key not found",
                           "the destination's encryption key %s was replaced; its current "
                           "encryptionKid is %s",
                           kid, dd.enc_kid);
            }
            aw_sql_done(q);
        }
        aw_store_rollback(tx);
    }
    if (rc < 0)
        dl_store_error(resp, &err);
    else if (rc == 0)
        dl_problem(resp, 404, DL_PROBLEM("key-not-found"), "Key not found",
                   "the destination has no key with this kid");
    dl_dest_clear(&dd);
}

/* GET /admin/v1/platform-keys: the platform's SET keys, newest first, with
 * which one signs on this node. */
static void h_pk_list(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_err_t err;
    if (dl_platform_key(d, &err)) return dl_store_error(resp, &err);
    aw_jwk_t *cur = atomic_load(&d->platform_key);
    json_t *keys;
    if (dl_platform_keys_list(d->store, cur ? aw_jwk_kid(cur) : NULL, &keys, &err))
        return dl_store_error(resp, &err);
    aw_http_resp_json(resp, 200, json_pack("{s:o}", "keys", keys));
}

/* POST /admin/v1/platform-keys: a new platform key signs from now on (takes
 * seconds: RSA-4096); 201 {kid}. 409 when the key is a file. */
static void h_pk_rotate(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    if (!aw_auth_operator(d->op, req, resp)) return;
    aw_err_t err;
    char kid[64];
    if (dl_platform_rotate(d, kid, &err)) return fail(resp, &err);
    aw_http_resp_json(resp, 201, json_pack("{s:s}", "kid", kid));
}

/* The operator token before the body is read. */
static void admin_gate(aw_http_req_t *req, aw_http_resp_t *resp, void *ctx) {
    aw_delivery_t *d = ctx;
    aw_auth_operator(d->op, req, resp);
}

int dl_register_admin(aw_delivery_t *d, aw_http_server_t *srv, aw_err_t *err) {
    aw_route_spec_t r[] = {
        {"POST", "/admin/v1/destinations", h_dest_create, d, AW_ROUTE_JSON, 0, NULL, admin_gate},
        {"GET", "/admin/v1/destinations", h_dest_list, d, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/destinations/{destinationId}", h_dest_get_admin, d, 0, 0, NULL, NULL},
        {"PUT", "/admin/v1/destinations/{destinationId}", h_dest_replace, d, AW_ROUTE_JSON, 0, NULL,
         admin_gate},
        {"PATCH", "/admin/v1/destinations/{destinationId}", h_dest_patch, d, AW_ROUTE_JSON, 0, NULL,
         admin_gate},
        {"POST", "/admin/v1/clients", h_client_create, d, AW_ROUTE_JSON, 0, NULL, admin_gate},
        {"GET", "/admin/v1/clients", h_client_list, d, 0, 0, NULL, NULL},
        {"DELETE", "/admin/v1/clients/{clientId}", h_client_delete, d, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/dead-letters", h_dead_list, d, 0, 0, NULL, NULL},
        {"POST", "/admin/v1/dead-letters/{jobId}/requeue", h_dead_requeue, d, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/delivery/stats", h_stats, d, 0, 0, NULL, NULL},
        {"GET", "/admin/v1/platform-keys", h_pk_list, d, 0, 0, NULL, NULL},
        {"POST", "/admin/v1/platform-keys", h_pk_rotate, d, 0, 0, NULL, admin_gate},
        {"GET", "/v1/destinations/{destinationId}", h_dest_public, d, 0, 0, NULL, NULL},
        {"GET", "/v1/destinations/{destinationId}/keys/{kid}", h_dest_key, d, 0, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        int rc = aw_http_server_route(srv, &r[i], err);
        if (rc) return rc;
    }
    return aw_http_server_add_metrics(srv, write_metrics, d, err);
}
