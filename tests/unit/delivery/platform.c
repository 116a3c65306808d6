/* The platform's SET key: rotation (a new key signs, the ones before stay
 * published until the purge, their private parts are wiped), another node
 * taking the new key up, key files (recorded so that a replaced file stays
 * published; rotation refused) and keys stored before migration 0105 (their
 * public parts filled in). Both engines. */
#include "base/time.h"
#include "delivery/platform.h"
#include "jose/jws.h"
#include "service.h"
#include "store/sql.h"

/* A service whose platform key is kept in the store (made on first use). */
static aw_delivery_t *store_keyed(store_fixture_t *f, aw_delivery_config_t *cfg,
                                  int64_t recheck_ms) {
    char var[700];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    aw_delivery_config_defaults(cfg);
    cfg->var_dir = strdup(var);
    cfg->platform_key_recheck_ms = recheck_ms;
    aw_delivery_t *d;
    aw_err_t err;
    ASSERT_OK(aw_delivery_new(cfg, f->st, NULL, &d, &err), &err);
    return d;
}

/* A SET-like token of d's current key. */
static char *sign(aw_delivery_t *d) {
    aw_buf_t b = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_OK(aw_delivery_platform_sign(d, "secevent+jwt", "{\"x\":1}", 7, &b, &err), &err);
    return aw_buf_take(&b, NULL);
}

static const char *kid_of(const char *token) {
    static char kid[128];
    json_t *h = NULL;
    aw_err_t err;
    ASSERT_OK(aw_jws_peek_header(token, strlen(token), 4096, &h, &err), &err);
    snprintf(kid, sizeof kid, "%s", json_string_value(json_object_get(h, "kid")));
    json_decref(h);
    return kid;
}

/* The kids of d's JWKS, in order, comma-separated; and whether token
 * verifies with the published key of its kid. */
static const char *jwks_kids(aw_delivery_t *d, const char *token, bool *verifies) {
    static char kids[1024];
    json_t *j = NULL;
    aw_err_t err;
    ASSERT_OK(dl_platform_jwks(d, &j, &err), &err);
    kids[0] = '\0';
    if (verifies) *verifies = false;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(j, "keys"), i, k) {
        const char *kid = json_string_value(json_object_get(k, "kid"));
        ASSERT(kid);
        ASSERT(!json_object_get(k, "d")); /* public parts only */
        snprintf(kids + strlen(kids), sizeof kids - strlen(kids), "%s%s", i ? "," : "", kid);
        if (token && verifies && strcmp(kid, kid_of(token)) == 0) {
            aw_jwk_t *pub;
            ASSERT_OK(aw_jwk_from_json(k, &pub, &err), &err);
            aw_jws_verified_t v;
            if (aw_jws_verify(pub, token, strlen(token), NULL, &v, &err) == 0) {
                *verifies = true;
                aw_jws_verified_free(&v);
            }
            aw_jwk_free(pub);
        }
    }
    json_decref(j);
    return kids;
}

static int64_t count_where(store_fixture_t *f, const char *where, const char *kid) {
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_READ, &tx, &err), &err);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM delivery_platform_keys WHERE kid = $1 AND %s",
             where);
    aw_sql_t *q;
    ASSERT_OK(aw_sql_query(tx, sql, &q, &err, "t", kid), &err);
    ASSERT_EQ(aw_sql_step(q, &err), 1);
    int64_t n = aw_sql_col_int64(q, 0);
    aw_sql_done(q);
    aw_store_rollback(tx);
    return n;
}

STORE_TEST_T(platform_key_rotation_keeps_earlier_keys_published, 600) {
    aw_delivery_config_t c1, c2;
    aw_delivery_t *d1 = store_keyed(f, &c1, 30000);
    char *t1 = sign(d1); /* first use: the key is made */
    char k1[128];
    snprintf(k1, sizeof k1, "%s", kid_of(t1));
    ASSERT_STR(jwks_kids(d1, NULL, NULL), k1);
    /* a second node, looking for a newer key at every use */
    aw_delivery_t *d2 = store_keyed(f, &c2, 0);
    char *t2 = sign(d2);
    ASSERT_STR(kid_of(t2), k1);

    char k2[64];
    aw_err_t err;
    int64_t made1 = atomic_load(&d1->key_created_ms);
    ASSERT(made1 > 0);
    ASSERT_OK(dl_platform_rotate(d1, k2, &err), &err);
    ASSERT(atomic_load(&d1->key_created_ms) > made1); /* the key age metric starts anew */
    ASSERT(strcmp(k1, k2) != 0);
    char *t3 = sign(d1), *t4 = sign(d2);
    ASSERT_STR(kid_of(t3), k2);
    ASSERT_STR(kid_of(t4), k2); /* the other node took it up */
    /* the old key: private part wiped, retired, still published */
    ASSERT_EQ(count_where(f, "private_jwk = '' AND retired_at IS NOT NULL", k1), 1);
    ASSERT_EQ(count_where(f, "private_jwk <> '' AND retired_at IS NULL", k2), 1);
    char want[300];
    snprintf(want, sizeof want, "%s,%s", k2, k1);
    bool ok = false;
    ASSERT_STR(jwks_kids(d2, t1, &ok), want);
    ASSERT_MSG(ok, "a SET of the retired key does not verify with the JWKS");
    ASSERT_STR(jwks_kids(d1, t3, &ok), want);
    ASSERT(ok);

    /* the purge drops the retired key once no event it signed can be left */
    aw_delivery_purge_stats_t st;
    ASSERT_OK(aw_delivery_purge(d1, aw_time_now_ms() + c1.events_ttl_s * 1000 - 60000, &st, &err),
              &err);
    ASSERT_STR(jwks_kids(d1, NULL, NULL), want);
    ASSERT_OK(aw_delivery_purge(d1, aw_time_now_ms() + c1.events_ttl_s * 1000 + 60000, &st, &err),
              &err);
    ASSERT_STR(jwks_kids(d1, NULL, NULL), k2);
    free(t1), free(t2), free(t3), free(t4);
    dl_test_service_free(d2, &c2);
    dl_test_service_free(d1, &c1);
}

/* A key file is recorded by its public part; a node started with another
 * file publishes both; rotating through the API is refused. */
STORE_TEST(platform_key_files_stay_published_and_cannot_rotate) {
    aw_delivery_config_t c1, c2;
    aw_delivery_t *d1 = dl_test_service(f, &c1, NULL); /* TEST-ONLY key b */
    char *t1 = sign(d1);
    char kb[128];
    snprintf(kb, sizeof kb, "%s", kid_of(t1));
    ASSERT_EQ(count_where(f, "private_jwk = '' AND public_jwk <> ''", kb), 1);
    char kid[64];
    aw_err_t err;
    ASSERT_EQ(dl_platform_rotate(d1, kid, &err), AW_ECONFLICT);
    ASSERT_CONTAINS(err.msg, "--platform-key");
    dl_test_service_free(d1, &c1);

    /* the file replaced by another key (TEST-ONLY key a) */
    char pk[700];
    snprintf(pk, sizeof pk, "%s/pk2.jwk", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("cp %s/tests/data/jose/a/sig.private.jwk %s && chmod 600 %s",
                         aw_test_srcdir(), pk, pk),
              0);
    char var[700];
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    aw_delivery_config_defaults(&c2);
    c2.var_dir = strdup(var);
    c2.platform_key_file = strdup(pk);
    aw_delivery_t *d2;
    ASSERT_OK(aw_delivery_new(&c2, f->st, NULL, &d2, &err), &err);
    char *t2 = sign(d2);
    char want[300];
    snprintf(want, sizeof want, "%s,%s", kid_of(t2), kb);
    bool ok = false;
    ASSERT_STR(jwks_kids(d2, t1, &ok), want);
    ASSERT_MSG(ok, "a SET of the replaced key file does not verify with the JWKS");
    free(t1), free(t2);
    dl_test_service_free(d2, &c2);
}

/* Keys stored before migration 0105 have only their private part: the
 * first load stores the public parts of all of them, so the JWKS (which
 * reads public parts only) still publishes the older key that signed the
 * events from before. */
STORE_TEST(platform_keys_from_before_0105_stay_published) {
    const char *sets[2] = {"b", "a"}; /* b older, a newer */
    char kids[2][128];
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    for (int i = 0; i < 2; i++) {
        char path[700];
        snprintf(path, sizeof path, "%s/tests/data/jose/%s/sig.private.jwk", aw_test_srcdir(),
                 sets[i]);
        char *jwk = aw_test_read_file(path, NULL);
        ASSERT_NOT_NULL(jwk);
        aw_jwk_t *k;
        ASSERT_OK(aw_jwk_parse(jwk, strlen(jwk), &k, &err), &err);
        snprintf(kids[i], sizeof kids[i], "%s", aw_jwk_kid(k));
        aw_jwk_free(k);
        ASSERT_OK(aw_sql_exec(tx,
                              "INSERT INTO delivery_platform_keys (kid, private_jwk, created_at)"
                              " VALUES ($1, $2, $3)",
                              NULL, &err, "ttI", kids[i], jwk, (int64_t)1000 * (i + 1)),
                  &err);
        free(jwk);
    }
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    aw_delivery_config_t c;
    aw_delivery_t *d = store_keyed(f, &c, 30000);
    char *t = sign(d);
    ASSERT_STR(kid_of(t), kids[1]); /* the newest signs */
    for (int i = 0; i < 2; i++) ASSERT_EQ(count_where(f, "public_jwk <> ''", kids[i]), 1);
    char want[300];
    snprintf(want, sizeof want, "%s,%s", kids[1], kids[0]);
    ASSERT_STR(jwks_kids(d, NULL, NULL), want);
    free(t);
    dl_test_service_free(d, &c);
}
