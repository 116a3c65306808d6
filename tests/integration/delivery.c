/* End to end through the real server: a sender (this test, using src/jose)
 * announces, uploads and submits; `amtsweg inbox` receives, decrypts and
 * accepts; the sender verifies the whole event log. */
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/b64.h"
#include "base/time.h"
#include "delivery_helpers.h"
#include "jose/jws.h"
#include "../unit/store/pg_harness.h"

static json_t *verify_set(aw_jwk_t *key, const char *tok, aw_set_t *out) {
    aw_err_t err;
    ASSERT_MSG(aw_set_verify(key, tok, strlen(tok), out, &err) == 0, "SET: %s", err.msg);
    return out->event_body;
}

static aw_jwk_t *platform_key_from_jwks(int port) {
    aw_tc_resp_t r;
    aw_tc_request(port, "GET", "/.well-known/jwks.json", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    json_t *j = dl_json(&r);
    json_t *k0 = json_array_get(json_object_get(j, "keys"), 0);
    ASSERT_NOT_NULL(k0);
    ASSERT_NULL(json_object_get(k0, "d")); /* public only */
    aw_jwk_t *k = NULL;
    aw_err_t err;
    ASSERT_MSG(aw_jwk_from_json(k0, &k, &err) == 0, "%s", err.msg);
    json_decref(j);
    aw_tc_resp_free(&r);
    return k;
}

TEST_T(delivery_end_to_end, 120) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {"0b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001",
                         "0b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0002"};
    const char *pts[] = {"Impfpass des Hundes", "Foto des Hundes (nicht wirklich)"};
    const char *data = "{\"hund\":{\"name\":\"Bello\",\"rasse\":\"Dackel\"}}";
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, data, NULL, ids, pts, 2, &s), 202);

    /* the subscriber sees it */
    aw_tc_resp_t r;
    char path[300];
    snprintf(path, sizeof path, "/v1/submissions?destinationId=%s", e.dest);
    dl_req(e.srv.port, "GET", path, e.ptoken, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body, s.sid);
    aw_tc_resp_free(&r);

    /* the authority's inbox receives, decrypts, checks and accepts */
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    char f[900];
    snprintf(f, sizeof f, "%s/%s/data.json", out, s.cid);
    size_t n;
    char *got = aw_test_read_file(f, &n);
    ASSERT_NOT_NULL(got);
    ASSERT_STR(got, data);
    free(got);
    snprintf(f, sizeof f, "%s/%s/attachments/%s_beleg.txt", out, s.cid, ids[1]);
    got = aw_test_read_file(f, &n);
    ASSERT_NOT_NULL(got);
    ASSERT_STR(got, pts[1]);
    free(got);
    snprintf(f, sizeof f, "%s/%s/metadata.json", out, s.cid);
    got = aw_test_read_file(f, &n);
    ASSERT_NOT_NULL(got);
    ASSERT_CONTAINS(got, "contentStructure");
    free(got);

    /* nothing left for pick-up; a second run does nothing */
    dl_req(e.srv.port, "GET", path, e.ptoken, NULL, NULL, 0, &r);
    ASSERT_CONTAINS(r.body, "\"totalCount\":0");
    aw_tc_resp_free(&r);
    ASSERT_EQ(dl_inbox(&e, out), 0);

    /* the sender reads and verifies the whole event log */
    json_t *log = dl_events(&e, e.stoken, s.cid);
    ASSERT_EQ(json_array_size(log), 3);
    aw_jwk_t *pk = platform_key_from_jwks(e.srv.port);
    aw_jwk_t *dk = dl_key("a", "sig.public");
    aw_set_t s1, s2, s3;
    verify_set(pk, json_string_value(json_array_get(log, 0)), &s1);
    ASSERT_STR(s1.event, AW_SET_EV_CREATE);
    ASSERT_STR(s1.submission_id, s.sid);
    ASSERT_STR(s1.case_id, s.cid);
    json_t *tags2 = json_object_get(verify_set(pk, json_string_value(json_array_get(log, 1)), &s2),
                                    "authenticationTags");
    ASSERT_STR(s2.event, AW_SET_EV_SUBMIT);
    ASSERT_STR(json_string_value(json_object_get(tags2, "metadata")), s.mtag);
    ASSERT_STR(json_string_value(json_object_get(tags2, "data")), s.dtag);
    ASSERT_EQ(json_object_size(json_object_get(tags2, "attachments")), 2);
    /* the accept is signed by the destination, not by the platform */
    aw_err_t err;
    aw_set_t bad;
    ASSERT(aw_set_verify(pk, json_string_value(json_array_get(log, 2)),
                         strlen(json_string_value(json_array_get(log, 2))), &bad, &err) != 0);
    json_t *tags3 = json_object_get(verify_set(dk, json_string_value(json_array_get(log, 2)), &s3),
                                    "authenticationTags");
    ASSERT_STR(s3.event, AW_SET_EV_ACCEPT);
    ASSERT_STR(s3.iss, e.dest);
    ASSERT(json_equal(tags2, tags3));
    aw_set_free(&s1);
    aw_set_free(&s2);
    aw_set_free(&s3);
    aw_jwk_free(pk);
    aw_jwk_free(dk);
    json_decref(log);

    /* only ciphertext on the server's disk: no plaintext in db or var */
    ASSERT_MSG(aw_test_sh("grep -rqa 'Bello' %s/amtsweg.db* %s/var", aw_test_tmpdir(),
                          aw_test_tmpdir()) != 0,
               "plaintext found on the server's disk");
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(delivery_idempotent_reput) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    const char *ids[] = {"1b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001"};
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, ids, 1, &s), 201);
    char tag[AW_JWE_TAG_LEN + 1];
    char *t = dl_seal("anlage", 6, tag);
    ASSERT_EQ(dl_put_attachment(&e, &s, ids[0], t), 204);
    ASSERT_EQ(dl_put_attachment(&e, &s, ids[0], t), 204); /* same again */
    char *em = dl_seal("{}", 2, s.mtag), *ed = dl_seal("{}", 2, s.dtag);
    ASSERT_EQ(dl_submit_tokens(&e, &s, em, ed, NULL), 202);
    ASSERT_EQ(dl_submit_tokens(&e, &s, em, ed, NULL), 202); /* identical: idempotent */
    ASSERT_EQ(dl_submit_tokens(&e, &s, ed, em, NULL), 409); /* different: conflict */
    ASSERT_EQ(dl_put_attachment(&e, &s, ids[0], t), 409);   /* too late */
    json_t *log = dl_events(&e, e.stoken, s.cid);
    ASSERT_EQ(json_array_size(log), 2); /* one create, one submit */
    json_decref(log);
    free(t);
    free(em);
    free(ed);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(delivery_token_errors) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    aw_tc_resp_t r;
    char body[400];
    snprintf(body, sizeof body, "grant_type=client_credentials&client_id=%s&client_secret=wrong",
             e.sender_id);
    dl_req(e.srv.port, "POST", "/token", NULL, "application/x-www-form-urlencoded", body,
           strlen(body), &r);
    ASSERT_EQ(r.status, 401);
    ASSERT_CONTAINS(r.body, "invalid_client");
    aw_tc_resp_free(&r);
    snprintf(body, sizeof body, "grant_type=password&client_id=%s&client_secret=%s", e.sender_id,
             e.sender_secret);
    dl_req(e.srv.port, "POST", "/token", NULL, "application/x-www-form-urlencoded", body,
           strlen(body), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "unsupported_grant_type");
    aw_tc_resp_free(&r);
    /* no token, a made-up token */
    dl_req(e.srv.port, "POST", "/v1/submissions", NULL, "application/json", "{}", 2, &r);
    ASSERT_EQ(r.status, 401);
    aw_tc_resp_free(&r);
    dl_req(e.srv.port, "POST", "/v1/submissions", "made-up", "application/json", "{}", 2, &r);
    ASSERT_EQ(r.status, 401);
    aw_tc_resp_free(&r);
    /* secrets are stored hashed */
    ASSERT_MSG(aw_test_sh("grep -qa '%s' %s/amtsweg.db*", e.sender_secret, aw_test_tmpdir()) != 0,
               "client secret stored in clear");
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST(delivery_destination_keys_checked) {
    dl_env_t e;
    memset(&e, 0, sizeof e);
    dl_start(&e, NULL);
    /* a private key as the published encryption key is refused */
    char *enc = dl_keyfile_json("a", "enc.private"), *sig = dl_keyfile_json("a", "sig.public");
    json_t *d = json_pack("{s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}]}", "encryptionPublicKey",
                          json_loads(enc, 0, NULL), "signingPublicKey", json_loads(sig, 0, NULL),
                          "services", "identifier", DL_LEIKA, "regions", "09", "submissionSchemas",
                          "schemaUri", "urn:x:y", "mimeType", "application/json");
    char *body = json_dumps(d, JSON_COMPACT);
    aw_tc_resp_t r;
    aw_tc_request(e.srv.port, "POST", "/admin/v1/destinations",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "private key material");
    aw_tc_resp_free(&r);
    free(body);
    /* swapped keys: the encryption key fails the signature rules */
    json_object_set_new(d, "encryptionPublicKey", json_loads(sig, 0, NULL));
    body = json_dumps(d, JSON_COMPACT);
    aw_tc_request(e.srv.port, "POST", "/admin/v1/destinations",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "encryptionPublicKey");
    aw_tc_resp_free(&r);
    free(body);
    /* a LeiKa key must be 99 + 12 digits */
    free(enc);
    enc = dl_keyfile_json("a", "enc.public");
    json_object_set_new(d, "encryptionPublicKey", json_loads(enc, 0, NULL));
    json_object_set_new(json_array_get(json_object_get(d, "services"), 0), "identifier",
                        json_string("12345"));
    body = json_dumps(d, JSON_COMPACT);
    aw_tc_request(e.srv.port, "POST", "/admin/v1/destinations",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), &r);
    ASSERT_EQ(r.status, 400);
    ASSERT_CONTAINS(r.body, "LeiKa");
    aw_tc_resp_free(&r);
    free(body);
    /* without the operator token: 401 */
    aw_tc_request(e.srv.port, "GET", "/admin/v1/destinations", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 401);
    aw_tc_resp_free(&r);
    json_decref(d);
    free(enc);
    free(sig);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(delivery_end_to_end_postgres, 180) {
    aw_pg_harness_t pg;
    const char *url = aw_pg_harness_start_or_skip(&pg);
    const char *extra[] = {"--db", url, NULL};
    dl_env_t e;
    dl_setup(&e, NULL, extra);
    const char *ids[] = {"3b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001"};
    const char *pts[] = {"Anlage auf PostgreSQL"};
    const char *data = "{\"pg\":true}";
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, data, NULL, ids, pts, 1, &s), 202);
    ASSERT_EQ(dl_send(&e, data, NULL, ids, pts, 1, &s), 202); /* announce ids are per submission */
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    json_t *log = dl_events(&e, e.stoken, s.cid);
    ASSERT_EQ(json_array_size(log), 3);
    json_decref(log);
    aw_tc_resp_t r;
    aw_tc_request(e.srv.port, "GET", "/ready", NULL, NULL, 0, &r);
    ASSERT_CONTAINS(r.body, "postgres");
    aw_tc_resp_free(&r);
    aw_tc_request(e.srv.port, "GET", "/metrics", NULL, NULL, 0, &r);
    ASSERT_EQ(aw_tc_metric(r.body, "amtsweg_delivery_submissions{state=\"accepted\"}"), 2);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
    aw_pg_harness_stop(&pg);
}

/* A data set just under the default limit (10 MB of JWE): taken, fetched,
 * decrypted, hash-checked and accepted; its bytes arrive unchanged. */
TEST_T(delivery_data_set_at_the_limit_travels_through, 180) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    size_t n = 7400000; /* sealed: 4/3 of it plus the JWE parts, just below 10 000 000 */
    char *data = malloc(n + 1);
    memcpy(data, "{\"text\":\"", 9);
    for (size_t i = 9; i < n - 2; i++) data[i] = (char)('a' + (i * 7919) % 26);
    memcpy(data + n - 2, "\"}", 3);
    dl_sub_t s;
    ASSERT_EQ(dl_announce(&e, e.dest, NULL, 0, &s), 201);
    char *meta = dl_metadata(data, NULL, NULL, 0);
    char *em = dl_seal(meta, strlen(meta), s.mtag), *ed = dl_seal(data, n, s.dtag);
    ASSERT_GT(strlen(ed), 9800000);
    ASSERT_LE(strlen(ed), 10000000);
    ASSERT_EQ(dl_submit_tokens(&e, &s, em, ed, NULL), 202);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    char f[900];
    snprintf(f, sizeof f, "%s/%s/data.json", out, s.cid);
    size_t got_n = 0;
    char *got = aw_test_read_file(f, &got_n);
    ASSERT_NOT_NULL(got);
    ASSERT_EQ(got_n, n);
    ASSERT(memcmp(got, data, n) == 0);
    char *ev = dl_last_event(&e, s.cid, e.stoken);
    ASSERT_CONTAINS(ev, "accept-submission");
    free(ev);
    free(got);
    free(meta);
    free(em);
    free(ed);
    free(data);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

TEST_T(delivery_large_attachment_streams_through, 180) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    /* 6 MiB: many body chunks on the way in, streamed decryption in the inbox */
    size_t n = 6u * 1024 * 1024;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) big[i] = (char)('a' + (i * 7919) % 26);
    big[n] = 0;
    const char *ids[] = {"4b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001"};
    const char *pts[] = {big};
    dl_sub_t s;
    ASSERT_EQ(dl_send(&e, "{\"gross\":true}", NULL, ids, pts, 1, &s), 202);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    char f[900];
    snprintf(f, sizeof f, "%s/%s/attachments/%s_beleg.txt", out, s.cid, ids[0]);
    size_t got_n = 0;
    char *got = aw_test_read_file(f, &got_n);
    ASSERT_NOT_NULL(got);
    ASSERT_EQ(got_n, n);
    ASSERT(memcmp(got, big, n) == 0);
    free(got);
    free(big);
    json_t *log = dl_events(&e, e.stoken, s.cid);
    ASSERT_EQ(json_array_size(log), 3);
    json_decref(log);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* ---- certified destination keys (--key-roots) ------------------------------ */

/* A certificate for key's public part, issued by ca_key under ca (NULL:
 * self-signed), valid from `from` to `to` seconds from now. */
static X509 *cert_for(EVP_PKEY *key, const char *cn, EVP_PKEY *ca_key, X509 *ca, long from,
                      long to) {
    X509 *c = X509_new();
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), (long)(aw_time_now_ms() % 1000000000));
    X509_gmtime_adj(X509_getm_notBefore(c), from);
    X509_gmtime_adj(X509_getm_notAfter(c), to);
    X509_set_pubkey(c, key);
    X509_NAME *n = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, ca ? X509_get_subject_name(ca) : n);
    if (!ca) {
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, c, c, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "CA:TRUE");
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ASSERT(X509_sign(c, ca_key ? ca_key : key, EVP_sha256()) > 0);
    return c;
}

/* The public JWK of set/name with x5c = [cert] (no x5c when cert is NULL). */
static json_t *jwk_with_x5c(const char *set, const char *name, X509 *cert) {
    char *s = dl_keyfile_json(set, name);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    if (cert) {
        unsigned char *der = NULL;
        int len = i2d_X509(cert, &der);
        char *b64 = malloc(aw_b64_enclen((size_t)len) + 1);
        aw_b64_encode(der, (size_t)len, b64);
        OPENSSL_free(der);
        json_object_set_new(j, "x5c", json_pack("[s]", b64));
        free(b64);
    }
    return j;
}

/* POSTs a destination with the two keys; returns the status, body in r. */
static int post_dest(dl_env_t *e, json_t *enc, json_t *sig, aw_tc_resp_t *r) {
    json_t *d = json_pack("{s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}]}", "encryptionPublicKey", enc,
                          "signingPublicKey", sig, "services", "identifier", DL_LEIKA, "regions",
                          "091620000000", "submissionSchemas", "schemaUri", "urn:x:y", "mimeType",
                          "application/json");
    char *body = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    aw_tc_request(e->srv.port, "POST", "/admin/v1/destinations",
                  DL_AUTH_ADMIN "Content-Type: application/json\r\n", body, strlen(body), r);
    free(body);
    return r->status;
}

/* A destination with the keys of set a, certified by enc_c / sig_c, is
 * refused with 400 naming the field and the reason. */
static void refused(dl_env_t *e, X509 *enc_c, X509 *sig_c, const char *field, const char *why) {
    aw_tc_resp_t r;
    ASSERT_EQ(post_dest(e, jwk_with_x5c("a", "enc.public", enc_c),
                        jwk_with_x5c("a", "sig.public", sig_c), &r),
              400);
    ASSERT_CONTAINS(r.body, field);
    ASSERT_CONTAINS(r.body, why);
    aw_tc_resp_free(&r);
}

/* With --key-roots, a destination's keys must be certified: x5c present,
 * the leaf holding the key, the chain verifying against the roots (and
 * valid now). The certificate is published with the key. */
TEST_T(destination_keys_certified_under_key_roots, 120) {
    aw_jwk_t *ca_k = dl_key("b", "sig.private"), *other_k = dl_key("b", "enc.private");
    aw_jwk_t *enc_k = dl_key("a", "enc.public"), *sig_k = dl_key("a", "sig.public");
    X509 *ca = cert_for(aw_jwk_pkey(ca_k), "amtsweg test root", NULL, NULL, -3600, 86400);
    X509 *other = cert_for(aw_jwk_pkey(other_k), "another root", NULL, NULL, -3600, 86400);
    X509 *enc_c = cert_for(aw_jwk_pkey(enc_k), "enc", aw_jwk_pkey(ca_k), ca, -3600, 86400);
    X509 *sig_c = cert_for(aw_jwk_pkey(sig_k), "sig", aw_jwk_pkey(ca_k), ca, -3600, 86400);
    X509 *sig_by_other =
        cert_for(aw_jwk_pkey(sig_k), "sig", aw_jwk_pkey(other_k), other, -3600, 86400);
    X509 *sig_expired =
        cert_for(aw_jwk_pkey(sig_k), "sig", aw_jwk_pkey(ca_k), ca, -86400 * 2, -86400);
    char roots[700];
    snprintf(roots, sizeof roots, "%s/roots.pem", aw_test_tmpdir());
    FILE *f = fopen(roots, "w");
    ASSERT(f && PEM_write_X509(f, ca) == 1);
    fclose(f);

    dl_env_t e;
    const char *extra[] = {"--key-roots", roots, NULL};
    dl_start(&e, extra);
    refused(&e, NULL, sig_c, "encryptionPublicKey", "x5c (certificate chain) is missing");
    refused(&e, enc_c, sig_by_other, "signingPublicKey",
            "chain does not verify against the trusted roots");
    refused(&e, enc_c, sig_expired, "signingPublicKey", "certificate has expired");
    /* the signature key's certificate in the encryption key's slot */
    refused(&e, sig_c, sig_c, "encryptionPublicKey", "holds a different public key");
    aw_tc_resp_t r;
    ASSERT_EQ(post_dest(&e, jwk_with_x5c("a", "enc.public", enc_c),
                        jwk_with_x5c("a", "sig.public", sig_c), &r),
              201);
    json_t *j = dl_json(&r);
    char path[300];
    snprintf(path, sizeof path, "/v1/destinations/%s/keys/%s",
             json_string_value(json_object_get(j, "destinationId")), aw_jwk_kid(enc_k));
    json_decref(j);
    aw_tc_resp_free(&r);
    aw_tc_request(e.srv.port, "GET", path, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    ASSERT_CONTAINS(r.body, "\"x5c\"");
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);

    /* the command line applies the same rule */
    char db[700];
    snprintf(db, sizeof db, "%s/amtsweg.db", aw_test_tmpdir());
    ASSERT(aw_test_sh("'%s' destination add --db '%s' --key-roots '%s' --enc-key "
                      "%s/tests/data/jose/a/enc.public.jwk --sig-key "
                      "%s/tests/data/jose/a/sig.public.jwk --service %s --region 09 "
                      ">%s/cli.out 2>&1",
                      aw_test_bin(), db, roots, aw_test_srcdir(), aw_test_srcdir(), DL_LEIKA,
                      aw_test_tmpdir()) != 0);
    char out[800];
    snprintf(out, sizeof out, "%s/cli.out", aw_test_tmpdir());
    char *msg = aw_test_read_file(out, NULL);
    ASSERT_CONTAINS(msg, "x5c (certificate chain) is missing");
    free(msg);

    /* a roots file that holds no certificate stops the start */
    ASSERT(aw_test_sh("AMTSWEG_ADMIN_TOKEN=%s '%s' serve --db '%s' --listen 127.0.0.1:0 "
                      "--key-roots %s/tests/data/jose/a/enc.public.jwk >'%s' 2>&1",
                      DL_ADMIN, aw_test_bin(), db, aw_test_srcdir(), out) != 0);
    msg = aw_test_read_file(out, NULL);
    ASSERT_CONTAINS(msg, "--key-roots");
    ASSERT_CONTAINS(msg, "no PEM certificate");
    free(msg);
    X509_free(ca), X509_free(other), X509_free(enc_c), X509_free(sig_c);
    X509_free(sig_by_other), X509_free(sig_expired);
    aw_jwk_free(ca_k), aw_jwk_free(other_k), aw_jwk_free(enc_k), aw_jwk_free(sig_k);
}

/* ---- key rotation ------------------------------------------------------------ */

/* The key a SET names (header kid), as the destination publishes it. */
static aw_jwk_t *published_key_of(dl_env_t *e, const char *set_token) {
    json_t *hdr = NULL;
    aw_err_t err;
    ASSERT_MSG(aw_jws_peek_header(set_token, strlen(set_token), 1 << 16, &hdr, &err) == 0, "%s",
               err.msg);
    char path[300];
    snprintf(path, sizeof path, "/v1/destinations/%s/keys/%s", e->dest,
             json_string_value(json_object_get(hdr, "kid")));
    json_decref(hdr);
    aw_tc_resp_t r;
    aw_tc_request(e->srv.port, "GET", path, NULL, NULL, 0, &r);
    ASSERT_MSG(r.status == 200, "%s: %d %s", path, r.status, r.body);
    aw_jwk_t *k;
    ASSERT_MSG(aw_jwk_parse(r.body, r.body_len, &k, &err) == 0, "%s", err.msg);
    aw_tc_resp_free(&r);
    return k;
}

/* The sender verifies the last SET of case cid with the key its kid names. */
static void last_set_verifies(dl_env_t *e, const char *cid, const char *want_event) {
    json_t *log = dl_events(e, e->stoken, cid);
    const char *tok = json_string_value(json_array_get(log, json_array_size(log) - 1));
    aw_jwk_t *k = published_key_of(e, tok);
    aw_set_t s;
    verify_set(k, tok, &s);
    ASSERT_STR(s.event, want_event);
    aw_set_free(&s);
    aw_jwk_free(k);
    json_decref(log);
}

/* New keys for e's destination (`amtsweg keys new --kid rotated-2026` into
 * <tmpdir>/newkeys, its path into kd), put on the destination through the
 * admin API. */
static void rotate(dl_env_t *e, char *kd, size_t cap) {
    snprintf(kd, cap, "%s/newkeys", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("'%s' keys new --kid rotated-2026 --out '%s' >/dev/null 2>&1",
                         aw_test_bin(), kd),
              0);
    char p1[800], p2[800];
    snprintf(p1, sizeof p1, "%s/enc.public.jwk", kd);
    snprintf(p2, sizeof p2, "%s/sig.public.jwk", kd);
    json_t *doc = json_pack(
        "{s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}]}", "encryptionPublicKey",
        json_load_file(p1, 0, NULL), "signingPublicKey", json_load_file(p2, 0, NULL), "services",
        "identifier", DL_LEIKA, "regions", "091620000000", "submissionSchemas", "schemaUri",
        "https://schema.fitko.de/fim/s00000094_1.0.schema.json", "mimeType", "application/json");
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char path[300];
    snprintf(path, sizeof path, "/admin/v1/destinations/%s", e->dest);
    aw_tc_resp_t r;
    aw_tc_request(e->srv.port, "PUT", path, DL_AUTH_ADMIN "Content-Type: application/json\r\n",
                  body, strlen(body), &r);
    free(body);
    ASSERT_MSG(r.status == 200 || r.status == 201, "%d %s", r.status, r.body);
    aw_tc_resp_free(&r);
}

/* The authority replaces both keys of its destination. Senders get the new
 * encryption key; the old signature key stays published, so the sender
 * still verifies the accept the authority signed before; the old
 * encryption key is gone; SETs signed with the old key are refused from
 * now on; the authority's inbox with the new keys takes the next one. */
TEST_T(destination_key_rotation_keeps_old_events_verifiable, 180) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    dl_sub_t s1;
    ASSERT_EQ(dl_send(&e, "{\"vorher\":1}", NULL, NULL, NULL, 0, &s1), 202);
    char out[700];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT_EQ(dl_inbox(&e, out), 0);
    last_set_verifies(&e, s1.cid, AW_SET_EV_ACCEPT);

    /* new keys (as `amtsweg keys new` makes them), put on the destination */
    char kd[700];
    rotate(&e, kd, sizeof kd);
    char p1[800];
    snprintf(p1, sizeof p1, "%s/enc.public.jwk", kd);
    char path[300];
    aw_tc_resp_t r;
    snprintf(path, sizeof path, "/admin/v1/destinations/%s", e.dest);
    /* the operator sees the history */
    aw_tc_request(e.srv.port, "GET", path, DL_AUTH_ADMIN, NULL, 0, &r);
    json_t *j = dl_json(&r);
    json_t *keys = json_object_get(j, "keys");
    ASSERT_EQ(json_array_size(keys), 4);
    int retired = 0;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) retired += json_object_get(k, "retiredAt") != NULL;
    ASSERT_EQ(retired, 2);
    json_decref(j);
    aw_tc_resp_free(&r);

    /* senders see the new encryption key, and only that one */
    snprintf(path, sizeof path, "/v1/destinations/%s", e.dest);
    aw_tc_request(e.srv.port, "GET", path, NULL, NULL, 0, &r);
    ASSERT_CONTAINS(r.body, "\"encryptionKid\":\"rotated-2026-enc\"");
    aw_tc_resp_free(&r);
    aw_jwk_t *old_enc = dl_key("a", "enc.public");
    snprintf(path, sizeof path, "/v1/destinations/%s/keys/%s", e.dest, aw_jwk_kid(old_enc));
    aw_jwk_free(old_enc);
    aw_tc_request(e.srv.port, "GET", path, NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 404);
    ASSERT_CONTAINS(r.body, "was replaced");
    ASSERT_CONTAINS(r.body, "rotated-2026-enc");
    aw_tc_resp_free(&r);
    /* the accept signed with the old key still verifies */
    last_set_verifies(&e, s1.cid, AW_SET_EV_ACCEPT);

    /* the next submission, sealed for the new key */
    dl_sub_t s2;
    ASSERT_EQ(dl_announce(&e, e.dest, NULL, 0, &s2), 201);
    aw_jwk_t *nk;
    aw_err_t err;
    ASSERT_MSG(aw_jwk_load_file(p1, &nk, &err) == 0, "%s", err.msg);
    const char *data = "{\"nachher\":2}";
    char *meta = dl_metadata(data, NULL, NULL, 0);
    aw_buf_t em = AW_BUF_INIT, ed = AW_BUF_INIT;
    ASSERT_MSG(aw_jwe_seal(nk, meta, strlen(meta), AW_JWE_CTY_JSON, &em, s2.mtag, &err) == 0, "%s",
               err.msg);
    ASSERT_MSG(aw_jwe_seal(nk, data, strlen(data), AW_JWE_CTY_JSON, &ed, s2.dtag, &err) == 0, "%s",
               err.msg);
    ASSERT_EQ(dl_submit_tokens(&e, &s2, em.data, ed.data, NULL), 202);
    aw_jwk_free(nk);
    free(meta);
    aw_buf_free(&em);
    aw_buf_free(&ed);
    /* an accept signed with the retired key is refused */
    char *resp_body = NULL;
    json_t *tags =
        json_pack("{s:{s:s,s:s}}", "authenticationTags", "metadata", s2.mtag, "data", s2.dtag);
    ASSERT_EQ(
        dl_post_set(&e, "a", e.dest, s2.sid, s2.cid, s2.cid, AW_SET_EV_ACCEPT, tags, &resp_body),
        422);
    ASSERT_CONTAINS(resp_body, "not the current signing key");
    free(resp_body);
    json_decref(tags);
    /* the inbox with the new keys decrypts and accepts */
    ASSERT_EQ(aw_test_sh("%s inbox --server http://127.0.0.1:%d --client-id %s --client-secret %s "
                         "--destination %s --enc-key %s/enc.private.jwk --sign-key "
                         "%s/sig.private.jwk --out %s --once >%s/inbox2.out 2>&1",
                         aw_test_bin(), e.srv.port, e.sub_id, e.sub_secret, e.dest, kd, kd, out,
                         aw_test_tmpdir()),
              0);
    last_set_verifies(&e, s2.cid, AW_SET_EV_ACCEPT);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* `amtsweg inbox --once` with the given --enc-key files (a space-separated
 * list of paths) and sign key; output in <tmpdir>/inbox.log. */
static int inbox_keys(dl_env_t *e, const char *out, const char *enc_keys, const char *sig) {
    char args[2000] = "";
    size_t n = 0;
    char *list = strdup(enc_keys), *save = NULL;
    for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save))
        n += (size_t)snprintf(args + n, sizeof args - n, " --enc-key '%s'", t);
    free(list);
    return aw_test_sh("%s inbox --server http://127.0.0.1:%d --client-id %s --client-secret %s "
                      "--destination %s%s --sign-key '%s' --out %s --once >%s/inbox.log 2>&1",
                      aw_test_bin(), e->srv.port, e->sub_id, e->sub_secret, e->dest, args, sig, out,
                      aw_test_tmpdir());
}

/* Seals data (and its metadata) with the public key in file pub and
 * submits s; returns the status, the body into r when not NULL. */
static int submit_for(dl_env_t *e, dl_sub_t *s, const char *pub, const char *data,
                      aw_tc_resp_t *r) {
    aw_jwk_t *k;
    aw_err_t err;
    ASSERT_MSG(aw_jwk_load_file(pub, &k, &err) == 0, "%s", err.msg);
    char *meta = dl_metadata(data, NULL, NULL, 0);
    aw_buf_t em = AW_BUF_INIT, ed = AW_BUF_INIT;
    ASSERT(aw_jwe_seal(k, meta, strlen(meta), AW_JWE_CTY_JSON, &em, s->mtag, &err) == 0);
    ASSERT(aw_jwe_seal(k, data, strlen(data), AW_JWE_CTY_JSON, &ed, s->dtag, &err) == 0);
    int st = dl_submit_tokens(e, s, em.data, ed.data, r);
    aw_jwk_free(k);
    free(meta);
    aw_buf_free(&em);
    aw_buf_free(&ed);
    return st;
}

/* Around a key rotation: a submission announced before it may still be
 * sealed for the old key; one announced after must use the new key (data
 * and attachments; 422 naming the current kid otherwise). The authority's
 * inbox holds both private keys and opens each token with the key its kid
 * names; an inbox without the old key leaves that submission alone (no
 * reject, which could not be taken back) and says which key is missing. */
TEST_T(submissions_sealed_for_the_old_key_survive_a_rotation, 180) {
    dl_env_t e;
    dl_setup(&e, NULL, NULL);
    char old_pub[700], old_priv[700], old_sig[700];
    snprintf(old_pub, sizeof old_pub, "%s/tests/data/jose/a/enc.public.jwk", aw_test_srcdir());
    snprintf(old_priv, sizeof old_priv, "%s/tests/data/jose/a/enc.private.jwk", aw_test_srcdir());
    snprintf(old_sig, sizeof old_sig, "%s/tests/data/jose/a/sig.private.jwk", aw_test_srcdir());
    dl_sub_t before;
    ASSERT_EQ(dl_announce(&e, e.dest, NULL, 0, &before), 201);
    char kd[700];
    rotate(&e, kd, sizeof kd);
    char new_pub[800], new_priv[800], new_sig[800];
    snprintf(new_pub, sizeof new_pub, "%s/enc.public.jwk", kd);
    snprintf(new_priv, sizeof new_priv, "%s/enc.private.jwk", kd);
    snprintf(new_sig, sizeof new_sig, "%s/sig.private.jwk", kd);

    /* announced before: the old key is still good */
    ASSERT_EQ(submit_for(&e, &before, old_pub, "{\"vorher\":1}", NULL), 202);
    /* announced after: the old key is refused, the new one taken */
    dl_sub_t after;
    ASSERT_EQ(dl_announce(&e, e.dest, (const char *const[]){"6b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001"},
                          1, &after),
              201);
    aw_tc_resp_t r;
    aw_jwk_t *ok;
    aw_err_t err;
    ASSERT(aw_jwk_load_file(old_pub, &ok, &err) == 0);
    aw_buf_t t = AW_BUF_INIT;
    ASSERT(aw_jwe_seal(ok, "beleg", 5, NULL, &t, NULL, &err) == 0);
    aw_jwk_free(ok);
    char path[300];
    snprintf(path, sizeof path, "/v1/submissions/%s/attachments/%s", after.sid,
             "6b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001");
    dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", t.data, t.len, &r);
    ASSERT_EQ(r.status, 422);
    ASSERT_CONTAINS(r.body, "the attachment is sealed for the key");
    aw_tc_resp_free(&r);
    aw_buf_free(&t);
    ASSERT(aw_jwk_load_file(new_pub, &ok, &err) == 0);
    ASSERT(aw_jwe_seal(ok, "beleg", 5, NULL, &t, NULL, &err) == 0);
    aw_jwk_free(ok);
    dl_req(e.srv.port, "PUT", path, e.stoken, "application/jose", t.data, t.len, &r);
    ASSERT_EQ(r.status, 204);
    aw_tc_resp_free(&r);
    aw_buf_free(&t);
    /* data and metadata sealed for the old key: refused */
    ASSERT_EQ(submit_for(&e, &after, old_pub, "{\"nachher\":2}", &r), 422);
    ASSERT_CONTAINS(r.body, "encryption-key-invalid");
    ASSERT_CONTAINS(r.body, "encryptionKid: rotated-2026-enc");
    aw_tc_resp_free(&r);
    /* the metadata must describe the attachment now */
    const char *att_ids[] = {"6b0e7c1c-2c7a-4e55-9a0e-6f1a4a5a0001"}, *att_pt[] = {"beleg"};
    char *meta = dl_metadata("{\"nachher\":2}", att_ids, att_pt, 1);
    aw_jwk_t *nk;
    ASSERT(aw_jwk_load_file(new_pub, &nk, &err) == 0);
    aw_buf_t em = AW_BUF_INIT, ed = AW_BUF_INIT;
    ASSERT(aw_jwe_seal(nk, meta, strlen(meta), AW_JWE_CTY_JSON, &em, after.mtag, &err) == 0);
    ASSERT(aw_jwe_seal(nk, "{\"nachher\":2}", 13, AW_JWE_CTY_JSON, &ed, after.dtag, &err) == 0);
    ASSERT_EQ(dl_submit_tokens(&e, &after, em.data, ed.data, NULL), 202);
    aw_jwk_free(nk);
    free(meta);
    aw_buf_free(&em);
    aw_buf_free(&ed);

    /* an inbox with the new key only: takes `after`, leaves `before` */
    char out[700], keys[2000];
    snprintf(out, sizeof out, "%s/inbox", aw_test_tmpdir());
    ASSERT(inbox_keys(&e, out, new_priv, new_sig) != 0);
    char log[800];
    snprintf(log, sizeof log, "%s/inbox.log", aw_test_tmpdir());
    char *txt = aw_test_read_file(log, NULL);
    ASSERT_CONTAINS(txt, before.sid);
    ASSERT_CONTAINS(txt, "not among the --enc-key files");
    free(txt);
    char *ev = dl_last_event(&e, before.cid, e.stoken);
    ASSERT_CONTAINS(ev, "submit-submission");
    free(ev);
    last_set_verifies(&e, after.cid, AW_SET_EV_ACCEPT);
    /* with both keys, `before` is opened with the old one and accepted */
    snprintf(keys, sizeof keys, "%s %s", new_priv, old_priv);
    ASSERT_EQ(inbox_keys(&e, out, keys, new_sig), 0);
    last_set_verifies(&e, before.cid, AW_SET_EV_ACCEPT);
    char f[900];
    snprintf(f, sizeof f, "%s/%s/data.json", out, before.cid);
    txt = aw_test_read_file(f, NULL);
    ASSERT_STR(txt, "{\"vorher\":1}");
    free(txt);
    (void)old_sig;
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}

/* The platform key kept in the store, rotated through the admin API: the
 * new key is published first, the one before it after it (its SETs still
 * verify), the list shows which signs; only the operator may rotate; a key
 * file cannot be rotated this way (409). */
TEST_T(platform_key_rotates_through_the_admin_api, 180) {
    char db[700], var[700];
    snprintf(db, sizeof db, "%s/pk.db", aw_test_tmpdir());
    snprintf(var, sizeof var, "%s/pkvar", aw_test_tmpdir());
    const char *args[] = {"serve", "--db",        db,     "--var-dir", var, "--threads",
                          "2",     "--log-level", "warn", NULL};
    const char *env[] = {"AMTSWEG_ADMIN_TOKEN=" DL_ADMIN, NULL};
    /* the first key made beforehand by the CLI (RSA-4096 takes a second or
     * two; one generation less inside the harness's 20 s read bound) */
    ASSERT_EQ(aw_test_sh("'%s' platform-key rotate --db '%s' >/dev/null 2>&1", aw_test_bin(), db),
              0);
    aw_tc_server_t s;
    aw_tc_start(&s, args, env);
    aw_jwk_t *k1 = platform_key_from_jwks(s.port);
    char kid1[128];
    snprintf(kid1, sizeof kid1, "%s", aw_jwk_kid(k1));
    aw_jwk_free(k1);

    aw_tc_resp_t r;
    aw_tc_request(s.port, "GET", "/metrics", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    double made = aw_tc_metric(r.body, "amtsweg_delivery_platform_key_created_timestamp_seconds");
    ASSERT_MSG(made > 1.7e9, "key creation time %f", made);
    aw_tc_resp_free(&r);
    aw_tc_request(s.port, "POST", "/admin/v1/platform-keys", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 401);
    aw_tc_resp_free(&r);
    aw_tc_request(s.port, "POST", "/admin/v1/platform-keys", DL_AUTH_ADMIN, NULL, 0, &r);
    ASSERT_EQ(r.status, 201);
    json_t *j = dl_json(&r);
    char kid2[128];
    snprintf(kid2, sizeof kid2, "%s", json_string_value(json_object_get(j, "kid")));
    json_decref(j);
    aw_tc_resp_free(&r);
    ASSERT(strcmp(kid1, kid2) != 0);

    aw_tc_request(s.port, "GET", "/.well-known/jwks.json", NULL, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    j = dl_json(&r);
    json_t *keys = json_object_get(j, "keys");
    ASSERT_EQ(json_array_size(keys), 2);
    ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 0), "kid")), kid2);
    ASSERT_STR(json_string_value(json_object_get(json_array_get(keys, 1), "kid")), kid1);
    ASSERT_NULL(json_object_get(json_array_get(keys, 1), "d"));
    json_decref(j);
    aw_tc_resp_free(&r);

    aw_tc_request(s.port, "GET", "/admin/v1/platform-keys", DL_AUTH_ADMIN, NULL, 0, &r);
    ASSERT_EQ(r.status, 200);
    j = dl_json(&r);
    keys = json_object_get(j, "keys");
    ASSERT_EQ(json_array_size(keys), 2);
    json_t *cur = json_array_get(keys, 0), *old = json_array_get(keys, 1);
    ASSERT_STR(json_string_value(json_object_get(cur, "kid")), kid2);
    ASSERT(json_is_true(json_object_get(cur, "current")));
    ASSERT(json_is_false(json_object_get(cur, "retired")));
    ASSERT_STR(json_string_value(json_object_get(old, "kid")), kid1);
    ASSERT(json_is_true(json_object_get(old, "retired")));
    ASSERT(json_is_integer(json_object_get(old, "retiredAt")));
    json_decref(j);
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&s), 0);

    dl_env_t e;
    memset(&e, 0, sizeof e);
    dl_start(&e, NULL); /* --platform-key FILE */
    aw_tc_request(e.srv.port, "POST", "/admin/v1/platform-keys", DL_AUTH_ADMIN, NULL, 0, &r);
    ASSERT_EQ(r.status, 409);
    ASSERT_CONTAINS(r.body, "--platform-key");
    aw_tc_resp_free(&r);
    ASSERT_EQ(aw_tc_stop(&e.srv), 0);
}
