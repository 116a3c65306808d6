/* Tests of src/delivery/purge.c: FIT-Connect deadlines with an injected
 * clock, on both store engines. */
#include <string.h>
#include <sys/stat.h>

#include "../store/fixture.h"
#include "base/time.h"
#include "delivery/delivery.h"
#include "delivery/internal.h"
#include "jose/set.h"
#include "store/sql.h"
#include "service.h"

#define DAY (86400LL * 1000)

static aw_delivery_t *service(store_fixture_t *f, aw_delivery_config_t *cfg, char *dest) {
    aw_delivery_t *d = dl_test_service(f, cfg, NULL);
    dl_test_dest(f, dest);
    return d;
}

static void add_sub(store_fixture_t *f, const char *dest, const char *id, const char *state,
                    int64_t created, int64_t submitted, int64_t decided) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx,
                          "INSERT INTO delivery_submissions (id, case_id, destination_id,"
                          " sender_client_id, state, service_identifier, encrypted_metadata,"
                          " created_at, submitted_at, decided_at, updated_at)"
                          " VALUES ($1, $1, $2, 'c', $3, 'urn:x:y', 'ciphertext', $4, $5, $6, $4)",
                          NULL, &err, "tttIII", id, dest, state, created, submitted, decided),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

static void state_is(store_fixture_t *f, const char *id, const char *want, bool content) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(
        aw_sql_query(tx, "SELECT state, encrypted_metadata FROM delivery_submissions WHERE id = $1",
                     &q, &err, "t", id),
        &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    ASSERT_STR(aw_sql_col_text(q, 0), want);
    ASSERT_EQ(!aw_sql_col_null(q, 1), content);
    aw_sql_done(q);
    aw_store_rollback(tx);
}

static int64_t events(store_fixture_t *f, const char *id, const char *ev) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT COUNT(*) FROM delivery_events WHERE submission_id = $1"
                           " AND event = $2",
                           &q, &err, "tt", id, ev),
              &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    int64_t n = aw_sql_col_int64(q, 0);
    aw_sql_done(q);
    aw_store_rollback(tx);
    return n;
}

#define S_INC "00000000-0000-4000-8000-000000000001"
#define S_SUB "00000000-0000-4000-8000-000000000002"
#define S_ACC "00000000-0000-4000-8000-000000000003"
#define S_NEW "00000000-0000-4000-8000-000000000004"

STORE_TEST(purge_applies_fitconnect_deadlines) {
    aw_delivery_config_t cfg;
    char dest[40];
    aw_delivery_t *d = service(f, &cfg, dest);
    int64_t t0 = 1700000000000LL;
    add_sub(f, dest, S_INC, "incomplete", t0, 0, 0);
    add_sub(f, dest, S_SUB, "submitted", t0, t0, 0);
    add_sub(f, dest, S_ACC, "accepted", t0, t0, t0 + DAY);
    add_sub(f, dest, S_NEW, "submitted", t0 + 10 * DAY, t0 + 10 * DAY, 0);
    /* an attachment file of the incomplete submission */
    ASSERT_EQ(aw_test_sh("mkdir -p %s/var/attachments/%s && echo c > %s/var/attachments/%s/x.jwe",
                         aw_test_tmpdir(), S_INC, aw_test_tmpdir(), S_INC),
              0);
    aw_delivery_purge_stats_t st;
    aw_err_t err;
    /* day 0.5: nothing is due, and nothing is written (no write transaction
     * on SQLite, where the store counts them) */
    aw_store_stats_t w0, w1;
    ASSERT_OK(aw_store_stats(f->st, &w0, &err), &err);
    ASSERT_OK(aw_delivery_purge(d, t0 + DAY / 2, &st, &err), &err);
    ASSERT_EQ(st.incomplete_purged + st.auto_rejected + st.content_purged, 0);
    ASSERT_OK(aw_store_stats(f->st, &w1, &err), &err);
    ASSERT_EQ(w1.write_txs, w0.write_txs);
    /* day 1 + 1 ms: the incomplete one is deleted, with its files */
    ASSERT_OK(aw_delivery_purge(d, t0 + DAY + 1, &st, &err), &err);
    ASSERT_EQ(st.incomplete_purged, 1);
    state_is(f, S_INC, "deleted", false);
    ASSERT_EQ(events(f, S_INC, "delete-submission"), 1);
    ASSERT_EQ(aw_test_sh("test ! -e %s/var/attachments/%s", aw_test_tmpdir(), S_INC), 0);
    /* day 8 + 1 ms: the accepted one (decided on day 1) loses its content */
    ASSERT_OK(aw_delivery_purge(d, t0 + 8 * DAY + 1, &st, &err), &err);
    ASSERT_EQ(st.content_purged, 1);
    state_is(f, S_ACC, "deleted", false);
    state_is(f, S_SUB, "submitted", true);
    /* day 14 + 1 ms: the unpicked one is rejected by the platform */
    ASSERT_OK(aw_delivery_purge(d, t0 + 14 * DAY + 1, &st, &err), &err);
    ASSERT_EQ(st.auto_rejected, 1);
    state_is(f, S_SUB, "rejected", true);
    ASSERT_EQ(events(f, S_SUB, "reject-submission"), 1);
    state_is(f, S_NEW, "submitted", true);
    /* day 21 + 2 ms: and purged 7 days after that */
    ASSERT_OK(aw_delivery_purge(d, t0 + 21 * DAY + 2, &st, &err), &err);
    ASSERT_EQ(st.content_purged, 1);
    state_is(f, S_SUB, "deleted", false);
    /* idempotent: running again changes nothing */
    ASSERT_OK(aw_delivery_purge(d, t0 + 21 * DAY + 3, &st, &err), &err);
    ASSERT_EQ(st.incomplete_purged + st.auto_rejected + st.content_purged, 0);
    ASSERT_EQ(events(f, S_SUB, "reject-submission"), 1);
    /* after 730 days the events go, and with them the deleted rows */
    ASSERT_OK(aw_delivery_purge(d, t0 + 2000 * DAY, &st, &err), &err);
    ASSERT_GE(st.events_deleted, 4);
    ASSERT_EQ(events(f, S_SUB, "reject-submission"), 0);
    aw_delivery_purge_stats_t tot;
    aw_delivery_purge_totals(d, &tot);
    ASSERT_EQ(tot.incomplete_purged, 1);
    ASSERT_GE(tot.auto_rejected, 2); /* S_NEW too, by day 2000 */
    dl_test_service_free(d, &cfg);
}

STORE_TEST(purge_events_are_signed_by_the_platform) {
    aw_delivery_config_t cfg;
    char dest[40];
    aw_delivery_t *d = service(f, &cfg, dest);
    int64_t t0 = 1700000000000LL;
    add_sub(f, dest, S_SUB, "submitted", t0, t0, 0);
    aw_err_t err;
    ASSERT_OK(aw_delivery_purge(d, t0 + 15 * DAY, NULL, &err), &err);
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx, "SELECT token FROM delivery_events WHERE submission_id = $1", &q,
                           &err, "t", S_SUB),
              &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    char *tok = strdup(aw_sql_col_text(q, 0));
    aw_sql_done(q);
    aw_store_rollback(tx);
    char p[700];
    snprintf(p, sizeof p, "%s/tests/data/jose/b/sig.public.jwk", aw_test_srcdir());
    aw_jwk_t *k;
    ASSERT_OK(aw_jwk_load_file(p, &k, &err), &err);
    aw_set_t set;
    ASSERT_OK(aw_set_verify(k, tok, strlen(tok), &set, &err), &err);
    ASSERT_STR(set.event, AW_SET_EV_REJECT);
    ASSERT_STR(set.submission_id, S_SUB);
    ASSERT_EQ(set.iat, (t0 + 15 * DAY) / 1000);
    char *body = json_dumps(set.event_body, 0);
    ASSERT_CONTAINS(body, "submission-not-picked-up");
    free(body);
    aw_set_free(&set);
    aw_jwk_free(k);
    free(tok);
    dl_test_service_free(d, &cfg);
}

/* dl_dest_has_callback (used by submit, which enqueues the new-submission
 * callback only then) answers the same on both engines: a PostgreSQL
 * boolean would read as 0 through aw_sql_col_int64. */
STORE_TEST(dest_has_callback_on_both_engines) {
    aw_delivery_config_t cfg;
    char dest[40];
    aw_delivery_t *d = service(f, &cfg, dest);
    aw_tx_t *tx;
    aw_err_t err;
    bool yes = true;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(dl_dest_has_callback(tx, dest, &yes, &err), &err);
    ASSERT(!yes);
    ASSERT_OK(aw_sql_exec(tx,
                          "UPDATE delivery_destinations SET callback_url = 'https://x.example/cb'"
                          " WHERE id = $1",
                          NULL, &err, "t", dest),
              &err);
    ASSERT_OK(dl_dest_has_callback(tx, dest, &yes, &err), &err);
    ASSERT(yes);
    ASSERT_OK(dl_dest_has_callback(tx, "00000000-0000-4000-8000-00000000ffff", &yes, &err), &err);
    ASSERT(!yes);
    aw_store_rollback(tx);
    dl_test_service_free(d, &cfg);
}

/* The keys of destination dest: "kid purpose retired|current" lines. */
static char *key_rows(store_fixture_t *f, const char *dest) {
    aw_tx_t *tx;
    aw_err_t err;
    aw_sql_t *q;
    aw_buf_t b = AW_BUF_INIT;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    ASSERT_OK(aw_sql_query(tx,
                           "SELECT kid, purpose, retired_at FROM delivery_destination_keys"
                           " WHERE destination_id = $1 ORDER BY kid",
                           &q, &err, "t", dest),
              &err);
    while (aw_sql_step(q, &err) == 1)
        aw_buf_printf(&b, "%s %s %s\n", aw_sql_col_text(q, 0), aw_sql_col_text(q, 1),
                      aw_sql_col_null(q, 2) ? "current" : "retired");
    aw_sql_done(q);
    aw_store_rollback(tx);
    aw_buf_putc(&b, 0);
    return aw_buf_take(&b, NULL);
}

/* Replaces dest's keys by the public keys of set/enc and set/sig (kid_enc:
 * a kid to put on the encryption key instead of its own; NULL: its own). */
static int put_keys(store_fixture_t *f, const char *dest, const char *set, const char *kid_enc,
                    aw_err_t *err) {
    char p1[700], p2[700];
    snprintf(p1, sizeof p1, "%s/tests/data/jose/%s/enc.public.jwk", aw_test_srcdir(), set);
    snprintf(p2, sizeof p2, "%s/tests/data/jose/%s/sig.public.jwk", aw_test_srcdir(), set);
    json_t *enc = json_load_file(p1, 0, NULL);
    if (kid_enc) json_object_set_new(enc, "kid", json_string(kid_enc));
    json_t *doc =
        json_pack("{s:s,s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}]}", "destinationId", dest,
                  "encryptionPublicKey", enc, "signingPublicKey", json_load_file(p2, 0, NULL),
                  "services", "identifier", "99123456789012", "regions", "09", "submissionSchemas",
                  "schemaUri", "urn:x:y", "mimeType", "application/json");
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, err), err);
    char id[AW_UUID_STRLEN + 1];
    snprintf(id, sizeof id, "%s", dest);
    int rc = dl_dest_put(tx, doc, id, false, NULL, err);
    if (rc == 0)
        rc = aw_store_commit(tx, err);
    else
        aw_store_rollback(tx);
    json_decref(doc);
    return rc;
}

/* Replaced keys are retired, not forgotten; a kid names one key for good;
 * the purge drops a retired key with the last events it could have
 * signed (events_ttl after it was retired). */
STORE_TEST(destination_keys_retired_and_purged_after_the_events) {
    aw_delivery_config_t cfg;
    char dest[40];
    aw_delivery_t *d = service(f, &cfg, dest);
    char *a = key_rows(f, dest);
    aw_err_t err;
    int64_t before = aw_time_now_ms();
    ASSERT_OK(put_keys(f, dest, "b", NULL, &err), &err);
    char *ab = key_rows(f, dest);
    /* four keys: a's two retired, b's two current */
    ASSERT_EQ(strlen(ab) > strlen(a), 1);
    ASSERT_EQ((int)(strstr(ab, "retired") != NULL), 1);
    int cur = 0, ret = 0;
    for (const char *p = ab; (p = strstr(p, "current")); p++) cur++;
    for (const char *p = ab; (p = strstr(p, "retired")); p++) ret++;
    ASSERT_EQ(cur, 2);
    ASSERT_EQ(ret, 2);
    /* back to a: the same keys under their kids are current again */
    ASSERT_OK(put_keys(f, dest, "a", NULL, &err), &err);
    char *again = key_rows(f, dest);
    for (const char *line = a; *line; line = strchr(line, '\n') + 1) {
        char l[200];
        snprintf(l, sizeof l, "%.*s", (int)(strchr(line, '\n') - line), line);
        ASSERT_CONTAINS(again, l);
    }
    /* b's encryption key under a's encryption kid: refused, nothing changed */
    char akid[100];
    snprintf(akid, sizeof akid, "%.*s", (int)strcspn(a, " "), a);
    ASSERT_EQ(put_keys(f, dest, "b", akid, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "a new key needs a new kid");
    char *same = key_rows(f, dest);
    ASSERT_STR(same, again);
    /* b retired (again) now: kept until events_ttl has passed */
    aw_delivery_purge_stats_t st;
    ASSERT_OK(aw_delivery_purge(d, before + cfg.events_ttl_s * 1000 - DAY, &st, &err), &err);
    char *kept = key_rows(f, dest);
    ASSERT_STR(kept, again);
    ASSERT_OK(aw_delivery_purge(d, aw_time_now_ms() + cfg.events_ttl_s * 1000 + 1000, &st, &err),
              &err);
    char *purged = key_rows(f, dest);
    ASSERT_STR(purged, a);
    free(a), free(ab), free(again), free(same), free(kept), free(purged);
    dl_test_service_free(d, &cfg);
}

/* Migration 0104 on a database with destinations: their keys become the
 * current keys of the history. */
STORE_TEST(migration_0104_records_the_keys_of_existing_destinations) {
    aw_delivery_config_t cfg;
    char dest[40];
    aw_delivery_t *d = service(f, &cfg, dest);
    char *want = key_rows(f, dest);
    ASSERT_CONTAINS(want, "enc current");
    ASSERT_CONTAINS(want, "sig current");
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    ASSERT_OK(aw_sql_exec(tx, "DROP TABLE delivery_destination_keys", NULL, &err, ""), &err);
    ASSERT_OK(aw_sql_exec(tx, "DELETE FROM schema_version WHERE version = 104", NULL, &err, ""),
              &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    int applied = -1;
    ASSERT_OK(aw_store_migrate(f->st, &applied, &err), &err);
    ASSERT_EQ(applied, 1);
    char *got = key_rows(f, dest);
    ASSERT_STR(got, want);
    free(want), free(got);
    dl_test_service_free(d, &cfg);
}
