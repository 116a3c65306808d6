/*
 * inbox — `amtsweg inbox`: the authority's side of FIT-Connect.
 *
 * For each submission ready for pick-up at the destination: fetch it,
 * decrypt metadata and data with the destination's private encryption key,
 * check the data hash and every attachment hash against the metadata, then
 * either write DIR/<caseId>/{metadata.json, data.json|data.xml,
 * attachments/...} atomically (staging directory, fsync, rename) and post an
 * accept-submission SET signed with the destination's signature key
 * (authenticationTags of metadata, data and attachments), or post
 * reject-submission with problems.
 *
 * Crash safety: the result directory carries a `.submission` marker with the
 * submission id. A restart re-fetches everything still in state submitted;
 * when the result directory of that submission already exists it is not
 * written again, only the decision is posted. A decision the server already
 * recorded (409) counts as done, so nothing is accepted twice. Attachments
 * are decrypted as a stream into the staging directory (bounded memory).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/dl_curl.h"
#include "base/hex.h"
#include "base/secure.h"
#include "base/uuid.h"
#include "delivery/delivery.h"
#include "delivery/internal.h"
#include "fim/fim.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/set.h"

#define INBOX_MAX_JSON (64u * 1024 * 1024)
#define INBOX_MAX_KEYS 8

typedef struct inbox {
    const char *server, *client_id, *client_secret, *dest, *out;
    const char *schemas; /* directory of FIM schemas (XDatenfelder XML), may be NULL */
    /* private encryption keys: the current one first, then older ones
     * (after a rotation, submissions sealed for the old key remain) */
    aw_jwk_t *enc[INBOX_MAX_KEYS];
    size_t nenc;
    aw_jwk_t *sig;
    char token[128];
    long last_status;
} inbox_t;

static volatile sig_atomic_t stop_flag;
static void on_signal(int s) {
    (void)s;
    stop_flag = 1;
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef size_t (*write_fn)(char *, size_t, size_t, void *);

static size_t to_buf(char *p, size_t s, size_t n, void *u) {
    aw_buf_t *b = u;
    if (b->len + s * n > INBOX_MAX_JSON) return 0;
    aw_buf_append(b, p, s * n);
    return aw_buf_ok(b) ? s * n : 0;
}

static int http(inbox_t *ib, const char *method, const char *path, const char *ct, const char *body,
                size_t len, write_fn wf, void *wctx, aw_err_t *err) {
    CURL *c = curl_easy_init();
    if (!c) return aw_err_set(err, AW_ENOMEM, "curl init failed");
    char url[4096], auth[200], cth[200];
    snprintf(url, sizeof url, "%s%s", ib->server, path);
    struct curl_slist *hs = NULL;
    if (ib->token[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", ib->token);
        hs = curl_slist_append(hs, auth);
    }
    if (ct) {
        snprintf(cth, sizeof cth, "Content-Type: %s", ct);
        hs = curl_slist_append(hs, cth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, wctx);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "amtsweg-inbox");
    CURLcode cc = curl_easy_perform(c);
    ib->last_status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ib->last_status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    aw_secure_wipe(auth, sizeof auth);
    if (cc != CURLE_OK)
        return aw_err_set(err, AW_EIO, "%s %s: %s", method, path, curl_easy_strerror(cc));
    return 0;
}

/* GET/POST returning JSON; non-2xx is an error naming the status. */
static json_t *http_json(inbox_t *ib, const char *method, const char *path, const char *ct,
                         const char *body, size_t len, aw_err_t *err) {
    aw_buf_t b = AW_BUF_INIT;
    json_t *j = NULL;
    if (http(ib, method, path, ct, body, len, to_buf, &b, err) == 0) {
        if (ib->last_status < 200 || ib->last_status > 299) {
            aw_err_set(err, AW_EIO, "%s %s: HTTP %ld: %.300s", method, path, ib->last_status,
                       b.data ? b.data : "");
        } else {
            json_error_t je;
            j = json_loadb(b.data ? b.data : "", b.len, JSON_REJECT_DUPLICATES, &je);
            if (!j) aw_err_set(err, AW_EINVAL, "%s %s: bad JSON: %s", method, path, je.text);
        }
    }
    aw_buf_free(&b);
    return j;
}

static int get_token(inbox_t *ib, aw_err_t *err) {
    ib->token[0] = 0;
    char *eid = curl_easy_escape(NULL, ib->client_id, 0),
         *esec = curl_easy_escape(NULL, ib->client_secret, 0);
    aw_buf_t f = AW_BUF_INIT;
    aw_buf_printf(&f, "grant_type=client_credentials&client_id=%s&client_secret=%s", eid, esec);
    curl_free(eid);
    aw_secure_wipe(esec, strlen(esec));
    curl_free(esec);
    json_t *j =
        http_json(ib, "POST", "/token", "application/x-www-form-urlencoded", f.data, f.len, err);
    aw_buf_wipe_free(&f);
    const char *t = json_string_value(json_object_get(j, "access_token"));
    int rc = t && strlen(t) < sizeof ib->token
                 ? 0
                 : (j ? aw_err_set(err, AW_EINVAL, "token: no access_token") : err->code);
    if (rc == 0) snprintf(ib->token, sizeof ib->token, "%s", t);
    json_decref(j);
    return rc;
}

/* ---- files ----------------------------------------------------------------- */

static int write_all(const char *path, const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, (const char *)p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    int ok = off == n && fsync(fd) == 0;
    return close(fd) == 0 && ok ? 0 : -1;
}

static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static void rm_rf(const char *dir) {
    DIR *dp = opendir(dir);
    if (!dp) {
        unlink(dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4500];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rm_rf(p);
        else
            unlink(p);
    }
    closedir(dp);
    rmdir(dir);
}

static void sha512_hex(const void *p, size_t n, char out[129]) {
    unsigned char md[64];
    unsigned int l = 0;
    EVP_Digest(p, n, md, &l, EVP_sha512(), NULL);
    aw_hex_encode(md, 64, out);
}

/* ---- attachments: download → streaming decrypt → file + SHA-512 ---------- */

typedef struct att_dl {
    aw_jwe_stream_t *js;
    int fd;
    EVP_MD_CTX *md;
    aw_err_t err;
    bool failed;
    aw_buf_t errbody; /* non-2xx answers */
    long *status;
} att_dl_t;

static int att_sink(void *ctx, const unsigned char *p, size_t n) {
    att_dl_t *a = ctx;
    EVP_DigestUpdate(a->md, p, n);
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(a->fd, p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (size_t)w;
    }
    return 0;
}

static size_t att_write(char *p, size_t s, size_t n, void *u) {
    att_dl_t *a = u;
    if (a->failed) return 0;
    if (aw_jwe_stream_feed(a->js, p, s * n, &a->err)) {
        a->failed = true;
        return 0;
    }
    return s * n;
}

/* Returns 0 (hash in hex, tag), 1 (decryption failed: a reason for
 * rejection in why), or < 0 (transport error; retry later). */
static int fetch_attachment(inbox_t *ib, const char *sid, const char *aid, const char *path,
                            char hex[129], char tag[AW_JWE_TAG_LEN + 1], char *why, size_t whycap,
                            aw_err_t *err) {
    att_dl_t a = {.fd = -1};
    a.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    a.md = EVP_MD_CTX_new();
    if (a.fd < 0 || !a.md || !EVP_DigestInit_ex(a.md, EVP_sha512(), NULL)) {
        if (a.fd >= 0) close(a.fd);
        EVP_MD_CTX_free(a.md);
        return aw_err_set(err, AW_EIO, "cannot write %s: %s", path, strerror(errno));
    }
    int rc = aw_jwe_stream_new_keys((const aw_jwk_t *const *)ib->enc, ib->nenc, 0, 0, att_sink, &a,
                                    &a.js, err);
    char p[512];
    snprintf(p, sizeof p, "/v1/submissions/%s/attachments/%s", sid, aid);
    if (rc == 0) rc = http(ib, "GET", p, NULL, NULL, 0, att_write, &a, err);
    int out = 0;
    if (rc == 0 && ib->last_status != 200 && !a.failed) {
        out = aw_err_set(err, AW_EIO, "GET %s: HTTP %ld", p, ib->last_status);
    } else if (rc && !a.failed) {
        out = rc;
    } else {
        aw_jwe_info_t info;
        if (a.failed || aw_jwe_stream_finish(a.js, &info, &a.err)) {
            snprintf(why, whycap, "attachment %s: %s", aid, a.err.msg);
            out = 1;
            /* sealed for a key this inbox was not given: not the citizen's
             * fault, and a reject could not be taken back; leave it */
            if (a.err.code == AW_ENOTFOUND) out = aw_err_set(err, AW_ENOTFOUND, "%s", why);
        } else {
            snprintf(tag, AW_JWE_TAG_LEN + 1, "%s", info.tag);
            aw_jwe_info_free(&info);
            unsigned char md[64];
            unsigned int l = 0;
            EVP_DigestFinal_ex(a.md, md, &l);
            aw_hex_encode(md, 64, hex);
            if (fsync(a.fd) != 0) out = aw_err_set(err, AW_EIO, "fsync %s failed", path);
        }
    }
    aw_jwe_stream_free(a.js);
    EVP_MD_CTX_free(a.md);
    close(a.fd);
    return out;
}

/* ---- decisions -------------------------------------------------------------- */

static int post_event(inbox_t *ib, const char *sid, const char *cid, const char *event,
                      json_t *body, aw_err_t *err) {
    aw_set_claims_t cl = {
        .iss = ib->dest, .submission_id = sid, .case_id = cid, .event = event, .event_body = body};
    aw_buf_t t = AW_BUF_INIT;
    int rc = aw_set_sign(ib->sig, &cl, &t, err);
    char p[256];
    snprintf(p, sizeof p, "/v1/cases/%s/events", cid);
    aw_buf_t r = AW_BUF_INIT;
    if (rc == 0) rc = http(ib, "POST", p, "application/jose", t.data, t.len, to_buf, &r, err);
    if (rc == 0 && ib->last_status == 409) {
        /* already decided (a previous run's post arrived): done */
    } else if (rc == 0 && ib->last_status != 204 && ib->last_status != 200) {
        rc = aw_err_set(err, AW_EIO, "POST %s: HTTP %ld: %.300s", p, ib->last_status,
                        r.data ? r.data : "");
    }
    aw_buf_free(&t);
    aw_buf_free(&r);
    return rc;
}

static json_t *problem(const char *slug, const char *title, const char *detail,
                       const char *instance) {
    char type[200];
    snprintf(type, sizeof type, DL_EVENT_PROBLEM("%s"), slug);
    return json_pack("{s:s,s:s,s:s,s:s}", "type", type, "title", title, "detail", detail,
                     "instance", instance);
}

/* 0: absent, 1: holds this submission, 2: exists otherwise. */
static int marker_state(const char *dir, const char *sid) {
    struct stat st;
    if (stat(dir, &st) != 0) return 0;
    char path[4400], have[64] = "";
    snprintf(path, sizeof path, "%s/.submission", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(have, sizeof have, f)) have[0] = 0;
        fclose(f);
        have[strcspn(have, "\n")] = 0;
    }
    return strcmp(have, sid) == 0 ? 1 : 2;
}

static bool safe_name(const char *s) {
    if (!s || !*s || s[0] == '.' || strlen(s) > 120) return false;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) return false;
    return true;
}

/* The FIM schema file for a schemaUri: the schema id is the last path
 * segment up to the first '_' or '.', upper-cased ("…/s00000094_1.0.schema.json"
 * → S00000094); the file is the first DIR/<id>*.xml in name order. */
static bool find_schema(const char *dir, const char *uri, char *out, size_t cap) {
    if (!dir || !uri) return false;
    const char *last = strrchr(uri, '/');
    last = last ? last + 1 : uri;
    char id[64];
    size_t n = strcspn(last, "_.");
    if (n == 0 || n >= sizeof id) return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)last[i])) return false;
        id[i] = (char)toupper((unsigned char)last[i]);
    }
    id[n] = 0;
    struct dirent **list = NULL;
    int k = scandir(dir, &list, NULL, alphasort);
    bool found = false;
    for (int i = 0; i < k; i++) {
        const char *f = list[i]->d_name;
        size_t fl = strlen(f);
        if (!found && strncasecmp(f, id, n) == 0 && fl > 4 && strcmp(f + fl - 4, ".xml") == 0) {
            snprintf(out, cap, "%s/%s", dir, f);
            found = true;
        }
        free(list[i]);
    }
    free(list);
    return found;
}

/* Validates JSON data against its FIM schema when one is known. Appends a
 * schema-violation problem; returns false when the schema exists but
 * cannot be loaded (reported on stderr, the data is not judged). */
static void check_schema(inbox_t *ib, json_t *mdata, const unsigned char *data, size_t len,
                         json_t *problems) {
    json_t *ss = json_object_get(mdata, "submissionSchema");
    const char *uri = json_string_value(json_object_get(ss, "schemaUri"));
    const char *mt = json_string_value(json_object_get(ss, "mimeType"));
    char path[4400];
    if (!mt || strcmp(mt, "application/json") != 0 ||
        !find_schema(ib->schemas, uri, path, sizeof path))
        return;
    aw_fim_schema_t *schema = NULL;
    aw_err_t err;
    aw_fim_load_opts_t lo = {.allow_missing_codelists = true};
    if (aw_fim_schema_load(path, &lo, &schema, &err)) {
        fprintf(stderr, "amtsweg inbox: schema %s: %s (data not validated)\n", path, err.msg);
        return;
    }
    aw_fim_errors_t errs;
    aw_fim_errors_init(&errs);
    int rc = aw_fim_validate(schema, (const char *)data, len, &errs, &err);
    if (rc == AW_EINVAL && errs.n > 0) {
        char detail[600];
        snprintf(detail, sizeof detail,
                 "the data violates its schema (%zu problem(s)); first: %s %s", errs.n,
                 errs.v[0].path ? errs.v[0].path : "/", errs.v[0].code ? errs.v[0].code : "");
        json_array_append_new(problems,
                              problem("schema-violation", "Schema violation", detail, "data"));
    }
    aw_fim_errors_free(&errs);
    aw_fim_schema_free(schema);
}

/* The kid in a compact JWE's header ("" when none or unreadable), in a
 * static buffer. */
static const char *token_kid(const char *tok) {
    static char kid[80];
    kid[0] = 0;
    aw_jwe_info_t info;
    aw_err_t e;
    if (tok && aw_jwe_inspect(tok, strlen(tok), strlen(tok), &info, &e) == 0) {
        snprintf(kid, sizeof kid, "%s", info.kid ? info.kid : "");
        aw_jwe_info_free(&info);
    }
    return kid;
}

/* The key to open tok with; NULL when its kid names none of ours. A token
 * whose header cannot be read gets the current key (opening it fails and
 * says why). */
static const aw_jwk_t *token_key(inbox_t *ib, const char *tok) {
    const char *kid = token_kid(tok);
    return aw_jwe_pick_key((const aw_jwk_t *const *)ib->enc, ib->nenc, *kid ? kid : NULL);
}

/* Processes one submission. 0 decided, < 0 error (left for a later run). */
static int process(inbox_t *ib, const char *sid, aw_err_t *err) {
    char p[256];
    snprintf(p, sizeof p, "/v1/submissions/%s", sid);
    json_t *sub = http_json(ib, "GET", p, NULL, NULL, 0, err);
    if (!sub) return err->code ? err->code : AW_EIO;
    const char *cid = json_string_value(json_object_get(sub, "caseId"));
    const char *em = json_string_value(json_object_get(sub, "encryptedMetadata"));
    const char *ed = json_string_value(json_object_get(sub, "encryptedData"));
    json_t *atts = json_object_get(sub, "attachments");
    if (!cid || !aw_uuid_valid(cid) || !em) {
        json_decref(sub);
        return aw_err_set(err, AW_EINVAL,
                          "submission %s: the server's answer lacks caseId or "
                          "encryptedMetadata",
                          sid);
    }
    char staging[4200], final[4200], marker[4300];
    snprintf(staging, sizeof staging, "%s/.tmp-%s", ib->out, sid);
    snprintf(final, sizeof final, "%s/%s", ib->out, cid);
    rm_rf(staging);
    json_t *problems = json_array();
    json_t *meta = NULL;
    aw_jwe_opened_t om = {0}, od = {0};
    bool have_m = false, have_d = false;
    int rc = 0;
    char mtag[AW_JWE_TAG_LEN + 1] = "", dtag[AW_JWE_TAG_LEN + 1] = "";
    aw_err_t e2;
    /* the key each token names (a rotated destination has had several);
     * one this inbox does not hold leaves the submission for later */
    const aw_jwk_t *mkey = token_key(ib, em), *dkey = ed ? token_key(ib, ed) : mkey;
    if (!mkey || !dkey) {
        /* the message first: em and ed belong to sub */
        aw_err_set(err, AW_ENOTFOUND,
                   "sealed for the key '%s', which is not among the --enc-key files; add it "
                   "(the submission stays until then)",
                   token_kid(mkey ? ed : em));
        json_decref(problems);
        json_decref(sub);
        return AW_ENOTFOUND;
    }
    if (aw_jwe_open(mkey, em, strlen(em), 0, &om, &e2)) {
        json_array_append_new(problems, problem("encryption-issue", "Decryption failed",
                                                "the metadata could not be decrypted", "metadata"));
    } else {
        have_m = true;
        snprintf(mtag, sizeof mtag, "%s", om.info.tag);
        json_error_t je;
        meta = json_loadb((const char *)om.plaintext, om.len, JSON_REJECT_DUPLICATES, &je);
        if (!meta || !json_is_object(meta))
            json_array_append_new(problems,
                                  problem("invalid-metadata", "Invalid metadata",
                                          "the metadata is not a JSON object without duplicate "
                                          "keys",
                                          "metadata"));
    }
    json_t *cs = json_object_get(meta, "contentStructure");
    json_t *mdata = json_object_get(cs, "data");
    json_t *matts = json_object_get(cs, "attachments");
    if (meta && json_is_object(meta)) {
        if (ed) {
            if (aw_jwe_open(dkey, ed, strlen(ed), 0, &od, &e2)) {
                json_array_append_new(problems, problem("encryption-issue", "Decryption failed",
                                                        "the data could not be decrypted", "data"));
            } else {
                have_d = true;
                snprintf(dtag, sizeof dtag, "%s", od.info.tag);
                const char *ht =
                    json_string_value(json_object_get(json_object_get(mdata, "hash"), "type"));
                const char *hc =
                    json_string_value(json_object_get(json_object_get(mdata, "hash"), "content"));
                char hex[129];
                sha512_hex(od.plaintext, od.len, hex);
                if (!ht || strcmp(ht, "sha512") || !hc || strcmp(hc, hex))
                    json_array_append_new(
                        problems,
                        problem("hash-mismatch", "Hash mismatch",
                                "the hash of the data does not match the metadata", "data"));
                else
                    check_schema(ib, mdata, od.plaintext, od.len, problems);
            }
        } else if (mdata) {
            json_array_append_new(problems,
                                  problem("missing-data", "Data missing",
                                          "the metadata describes data that was not sent", "data"));
        }
    }
    /* attachments */
    json_t *att_tags = json_object();
    if (json_array_size(problems) == 0) {
        char adir[4300];
        snprintf(adir, sizeof adir, "%s/attachments", staging);
        if (mkdir(staging, 0700) != 0 || mkdir(adir, 0700) != 0)
            rc = aw_err_set(err, AW_EIO, "cannot create %s: %s", staging, strerror(errno));
        size_t i;
        json_t *x;
        json_array_foreach(atts, i, x) {
            if (rc || json_array_size(problems)) break;
            const char *aid = json_string_value(x);
            json_t *ma = NULL, *y;
            size_t k;
            json_array_foreach(matts, k, y) {
                const char *id = json_string_value(json_object_get(y, "attachmentId"));
                if (id && aid && strcasecmp(id, aid) == 0) ma = y;
            }
            char inst[80];
            snprintf(inst, sizeof inst, "attachment:%s", aid ? aid : "");
            if (!aid || !aw_uuid_valid(aid) || !ma) {
                json_array_append_new(problems, problem("missing-attachment-metadata",
                                                        "Attachment not described",
                                                        "the metadata does not describe this "
                                                        "attachment",
                                                        inst));
                break;
            }
            const char *fn = json_string_value(json_object_get(ma, "filename"));
            char path[4600], hex[129], tag[AW_JWE_TAG_LEN + 1], why[600];
            if (safe_name(fn))
                snprintf(path, sizeof path, "%s/%s_%s", adir, aid, fn);
            else
                snprintf(path, sizeof path, "%s/%s", adir, aid);
            int r = fetch_attachment(ib, sid, aid, path, hex, tag, why, sizeof why, err);
            if (r < 0) {
                rc = r;
                break;
            }
            if (r == 1) {
                json_array_append_new(problems,
                                      problem("encryption-issue", "Decryption failed", why, inst));
                break;
            }
            json_t *h = json_object_get(ma, "hash");
            const char *ht = json_string_value(json_object_get(h, "type"));
            const char *hc = json_string_value(json_object_get(h, "content"));
            if (!ht || strcmp(ht, "sha512") || !hc || strcmp(hc, hex)) {
                json_array_append_new(problems,
                                      problem("hash-mismatch", "Hash mismatch",
                                              "the hash of the attachment does not match the "
                                              "metadata",
                                              inst));
                break;
            }
            json_object_set_new(att_tags, aid, json_string(tag));
        }
    }
    const char *sid_c = sid;
    if (rc == 0 && json_array_size(problems) > 0) {
        rm_rf(staging);
        json_t *body = json_pack("{s:O}", "problems", problems);
        rc = post_event(ib, sid_c, cid, AW_SET_EV_REJECT, body, err);
        json_decref(body);
        if (rc == 0) {
            const char *t = json_string_value(json_object_get(json_array_get(problems, 0), "type"));
            printf("rejected %s case %s: %s\n", sid, cid, t ? t : "?");
        }
    } else if (rc == 0) {
        /* write the result unless a previous run did: DIR/<caseId>, or
         * DIR/<caseId>.<submissionId> when the case directory belongs to
         * another submission of the case */
        int done = marker_state(final, sid);
        if (done == 2) {
            snprintf(final, sizeof final, "%s/%s.%s", ib->out, cid, sid);
            done = marker_state(final, sid);
        }
        (void)marker;
        if (done != 1) {
            char f[4400];
            const char *mt = json_string_value(
                json_object_get(json_object_get(mdata, "submissionSchema"), "mimeType"));
            snprintf(f, sizeof f, "%s/metadata.json", staging);
            if (write_all(f, om.plaintext, om.len))
                rc = aw_err_set(err, AW_EIO, "cannot write %s", f);
            if (rc == 0 && have_d) {
                snprintf(f, sizeof f, "%s/data.%s", staging,
                         mt && strcmp(mt, "application/xml") == 0 ? "xml" : "json");
                if (write_all(f, od.plaintext, od.len))
                    rc = aw_err_set(err, AW_EIO, "cannot write %s", f);
            }
            snprintf(f, sizeof f, "%s/.submission", staging);
            char line[64];
            int ln = snprintf(line, sizeof line, "%s\n", sid);
            if (rc == 0 && write_all(f, line, (size_t)ln))
                rc = aw_err_set(err, AW_EIO, "cannot write %s", f);
            if (rc == 0) {
                char adir[4300];
                snprintf(adir, sizeof adir, "%s/attachments", staging);
                fsync_dir(adir);
                fsync_dir(staging);
                if (done == 2) rm_rf(final); /* DIR/<case>.<sid> of an unmarked kind */
                if (rename(staging, final) != 0)
                    rc = aw_err_set(err, AW_EIO, "cannot rename %s: %s", staging, strerror(errno));
                else
                    fsync_dir(ib->out);
            }
        } else {
            rm_rf(staging);
        }
        if (rc == 0) {
            aw_set_attachment_tag_t *tags = calloc(json_object_size(att_tags) + 1, sizeof *tags);
            size_t n = 0;
            const char *key;
            json_t *v;
            json_object_foreach(att_tags, key, v) {
                tags[n].id = key;
                tags[n].tag = json_string_value(v);
                n++;
            }
            json_t *body = aw_set_auth_tags(mtag, have_d ? dtag : NULL, tags, n);
            free(tags);
            rc = post_event(ib, sid_c, cid, AW_SET_EV_ACCEPT, body, err);
            json_decref(body);
            if (rc == 0) printf("accepted %s case %s -> %s\n", sid, cid, final);
        }
    }
    if (rc) rm_rf(staging);
    json_decref(att_tags);
    json_decref(problems);
    json_decref(meta);
    if (have_m) aw_jwe_opened_free(&om);
    if (have_d) aw_jwe_opened_free(&od);
    json_decref(sub);
    fflush(stdout);
    return rc;
}

static int one_pass(inbox_t *ib, int *failures) {
    aw_err_t err;
    if (get_token(ib, &err)) {
        fprintf(stderr, "amtsweg inbox: %s\n", err.msg);
        return 1;
    }
    char p[256];
    snprintf(p, sizeof p, "/v1/submissions?destinationId=%s&limit=500", ib->dest);
    json_t *list = http_json(ib, "GET", p, NULL, NULL, 0, &err);
    if (!list) {
        fprintf(stderr, "amtsweg inbox: %s\n", err.msg);
        return 1;
    }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(list, "submissions"), i, x) {
        if (stop_flag) break;
        const char *sid = json_string_value(json_object_get(x, "submissionId"));
        if (!sid || !aw_uuid_valid(sid)) continue;
        if (process(ib, sid, &err)) {
            fprintf(stderr, "amtsweg inbox: submission %s: %s (will retry)\n", sid, err.msg);
            (*failures)++;
        }
    }
    json_decref(list);
    return 0;
}

static void usage(FILE *f) {
    fputs("usage: amtsweg inbox --server URL --client-id ID --client-secret S\n"
          "           --destination ID --enc-key FILE [--enc-key FILE]... --sign-key FILE\n"
          "           --out DIR\n"
          "           [--schemas DIR] [--once | --follow [--interval SECONDS]]\n\n"
          "Fetches submissions ready for pick-up, decrypts them, checks data and attachment\n"
          "hashes against the metadata, writes DIR/<caseId>/{metadata.json, data.json,\n"
          "attachments/...} atomically and posts accept-submission (or reject-submission\n"
          "with problems). With --schemas, JSON data is validated against its FIM schema\n"
          "(DIR/<schema id>*.xml, e.g. S00000094V1.0_xdf3.xml for .../s00000094_1.0...).\n"
          "The client secret may also come from AMTSWEG_CLIENT_SECRET.\n"
          "After a key rotation give the new --enc-key first and the old ones after it: each\n"
          "token is opened with the key its kid names. A submission sealed for a key not given\n"
          "is left alone (an error names the kid), never rejected.\n"
          "Safe to stop and restart at any point.\n",
          f);
}

static void free_keys(inbox_t *ib) {
    for (size_t i = 0; i < ib->nenc; i++) aw_jwk_free(ib->enc[i]);
    ib->nenc = 0;
    aw_jwk_free(ib->sig);
    ib->sig = NULL;
}

/* Loads the private keys; distinct kids (the kid picks the key). */
static int load_keys(inbox_t *ib, const char *const *enc, size_t nenc, const char *sig) {
    aw_err_t err;
    for (size_t i = 0; i < nenc; i++) {
        if (aw_jwk_load_file(enc[i], &ib->enc[i], &err)) {
            fprintf(stderr, "amtsweg inbox: %s\n", err.msg);
            return -1;
        }
        ib->nenc = i + 1;
        const char *kid = aw_jwk_kid(ib->enc[i]);
        for (size_t k = 0; k < i; k++)
            if (kid && aw_jwk_kid(ib->enc[k]) && strcmp(kid, aw_jwk_kid(ib->enc[k])) == 0) {
                fprintf(stderr, "amtsweg inbox: two --enc-key files have the kid '%s'\n", kid);
                return -1;
            }
        if (!aw_jwk_is_private(ib->enc[i])) {
            fprintf(stderr, "amtsweg inbox: --enc-key %s is not a private key\n", enc[i]);
            return -1;
        }
    }
    if (aw_jwk_load_file(sig, &ib->sig, &err)) {
        fprintf(stderr, "amtsweg inbox: %s\n", err.msg);
        return -1;
    }
    if (!aw_jwk_is_private(ib->sig)) {
        fprintf(stderr, "amtsweg inbox: --sign-key %s is not a private key\n", sig);
        return -1;
    }
    return 0;
}

int aw_delivery_cli_inbox(int argc, char **argv) {
    inbox_t ib = {0};
    const char *enc[INBOX_MAX_KEYS], *sig = NULL;
    size_t nenc = 0;
    bool follow = false;
    long interval = 5;
    ib.client_secret = getenv("AMTSWEG_CLIENT_SECRET");
    static const struct option lo[] = {{"server", required_argument, 0, 'S'},
                                       {"client-id", required_argument, 0, 'i'},
                                       {"client-secret", required_argument, 0, 's'},
                                       {"destination", required_argument, 0, 'd'},
                                       {"enc-key", required_argument, 0, 'e'},
                                       {"sign-key", required_argument, 0, 'k'},
                                       {"out", required_argument, 0, 'o'},
                                       {"once", no_argument, 0, '1'},
                                       {"follow", no_argument, 0, 'f'},
                                       {"interval", required_argument, 0, 'I'},
                                       {"schemas", required_argument, 0, 'C'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'S':
            ib.server = optarg;
            break;
        case 'i':
            ib.client_id = optarg;
            break;
        case 's':
            ib.client_secret = optarg;
            break;
        case 'd':
            ib.dest = optarg;
            break;
        case 'e':
            if (nenc == INBOX_MAX_KEYS) {
                fprintf(stderr, "amtsweg inbox: at most %d --enc-key files\n", INBOX_MAX_KEYS);
                return 2;
            }
            enc[nenc++] = optarg;
            break;
        case 'k':
            sig = optarg;
            break;
        case 'o':
            ib.out = optarg;
            break;
        case 'C':
            ib.schemas = optarg;
            break;
        case '1':
            follow = false;
            break;
        case 'f':
            follow = true;
            break;
        case 'I':
            interval = strtol(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "amtsweg inbox: unknown or incomplete option '%s'\n", argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (!ib.server || !ib.client_id || !ib.client_secret || !ib.dest || !nenc || !sig || !ib.out ||
        interval < 1) {
        fprintf(stderr, "amtsweg inbox: --server, --client-id, --client-secret, --destination, "
                        "--enc-key, --sign-key and --out are required\n");
        usage(stderr);
        return 2;
    }
    if (!aw_uuid_valid(ib.dest)) {
        fprintf(stderr, "amtsweg inbox: --destination must be a UUID\n");
        return 2;
    }
    if (load_keys(&ib, enc, nenc, sig)) {
        free_keys(&ib);
        return 1;
    }
    mkdir(ib.out, 0700);
    struct stat st;
    if (stat(ib.out, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "amtsweg inbox: %s is not a directory\n", ib.out);
        free_keys(&ib);
        return 1;
    }
    aw_err_t lerr = {0};
    if (aw_dl_curl_load(&lerr) < 0) {
        fprintf(stderr, "amtsweg inbox: %s\n", lerr.msg);
        free_keys(&ib);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int failures = 0, code = 0;
    do {
        if (one_pass(&ib, &failures)) code = 1;
        for (long s = 0; follow && !stop_flag && s < interval; s++) sleep(1);
    } while (follow && !stop_flag);
    aw_secure_wipe(ib.token, sizeof ib.token);
    free_keys(&ib);
    return code ? code : failures ? 1 : 0;
}
