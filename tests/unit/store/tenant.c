/* Tests of src/store/tenant.c: tenants and settings on both engines. */
#include "fixture.h"

#include <string.h>

static aw_tx_t *begin(store_fixture_t *f, int mode) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, mode, &tx, &err), &err);
    return tx;
}

static void commit(aw_tx_t *tx) {
    aw_err_t err = {0};
    ASSERT_OK(aw_store_commit(tx, &err), &err);
}

STORE_TEST(tenant_create_get_update) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    aw_tenant_t t = {.slug = "koeln", .name = "Stadt Köln"};
    ASSERT_OK(aw_store_tenant_put(tx, &t, &err), &err);
    ASSERT(aw_uuid_is_v4(t.id));
    ASSERT_GT(t.created_at_ms, 0);
    ASSERT_EQ(t.created_at_ms, t.updated_at_ms);
    commit(tx);

    tx = begin(f, AW_TX_READ);
    aw_tenant_t got;
    ASSERT_OK(aw_store_tenant_get(tx, t.id, &got, &err), &err);
    ASSERT_STR(got.id, t.id);
    ASSERT_STR(got.slug, "koeln");
    ASSERT_STR(got.name, "Stadt Köln");
    ASSERT_EQ(got.created_at_ms, t.created_at_ms);
    aw_tenant_clear(&got);
    ASSERT_OK(aw_store_tenant_get_by_slug(tx, "koeln", &got, &err), &err);
    ASSERT_STR(got.id, t.id);
    aw_tenant_clear(&got);
    ASSERT_EQ(aw_store_tenant_get_by_slug(tx, "bonn", &got, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "bonn");
    aw_store_rollback(tx);

    /* put with the id updates; created_at stays */
    tx = begin(f, AW_TX_WRITE);
    aw_tenant_t upd = {.slug = "koeln-stadt", .name = "Köln"};
    memcpy(upd.id, t.id, sizeof upd.id);
    ASSERT_OK(aw_store_tenant_put(tx, &upd, &err), &err);
    ASSERT_EQ(upd.created_at_ms, t.created_at_ms);
    commit(tx);
    tx = begin(f, AW_TX_READ);
    ASSERT_OK(aw_store_tenant_get(tx, t.id, &got, &err), &err);
    ASSERT_STR(got.slug, "koeln-stadt");
    ASSERT_STR(got.name, "Köln");
    aw_tenant_clear(&got);
    aw_store_rollback(tx);
}

STORE_TEST(tenant_put_with_new_given_id_inserts) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    aw_tenant_t t = {.id = "0F8FAD5B-D9CB-469F-A165-70867728950E", .slug = "a", .name = "A"};
    ASSERT_OK(aw_store_tenant_put(tx, &t, &err), &err);
    ASSERT_STR(t.id, "0f8fad5b-d9cb-469f-a165-70867728950e");
    commit(tx);
    tx = begin(f, AW_TX_READ);
    aw_tenant_t got;
    ASSERT_OK(aw_store_tenant_get(tx, "0f8fad5b-d9cb-469f-a165-70867728950e", &got, &err), &err);
    aw_tenant_clear(&got);
    aw_store_rollback(tx);
}

STORE_TEST(tenant_validation_and_conflict) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    const char *bad_slugs[] = {
        "",    "Koeln", "-x",
        "a b", "ö",     "0123456789012345678901234567890123456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof bad_slugs / sizeof *bad_slugs; i++) {
        aw_tenant_t t = {.slug = (char *)bad_slugs[i], .name = "X"};
        ASSERT_EQ(aw_store_tenant_put(tx, &t, &err), AW_EINVAL);
        ASSERT_CONTAINS(err.msg, "slug");
    }
    aw_tenant_t t = {.slug = "x", .name = "line\nbreak"};
    ASSERT_EQ(aw_store_tenant_put(tx, &t, &err), AW_EINVAL);
    aw_tenant_t t2 = {.slug = "x", .name = NULL};
    ASSERT_EQ(aw_store_tenant_put(tx, &t2, &err), AW_EINVAL);
    aw_tenant_t t3 = {.id = "not-a-uuid", .slug = "x", .name = "X"};
    ASSERT_EQ(aw_store_tenant_put(tx, &t3, &err), AW_EINVAL);
    aw_tenant_t ok = {.slug = "x", .name = "X"};
    ASSERT_OK(aw_store_tenant_put(tx, &ok, &err), &err);
    commit(tx);

    tx = begin(f, AW_TX_WRITE);
    aw_tenant_t dup = {.slug = "x", .name = "Y"};
    ASSERT_EQ(aw_store_tenant_put(tx, &dup, &err), AW_ECONFLICT);
    ASSERT_STR(err.msg, "tenant slug 'x' is already taken");
    aw_store_rollback(tx);
}

STORE_TEST(tenant_list_and_delete) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    const char *slugs[] = {"mitte", "aachen", "zwickau", "bonn"};
    char ids[4][AW_UUID_STRLEN + 1];
    for (int i = 0; i < 4; i++) {
        aw_tenant_t t = {.slug = (char *)slugs[i], .name = "N"};
        ASSERT_OK(aw_store_tenant_put(tx, &t, &err), &err);
        memcpy(ids[i], t.id, sizeof ids[i]);
    }
    char scope[64];
    snprintf(scope, sizeof scope, "tenant:%s", ids[3]);
    ASSERT_OK(aw_store_setting_put(tx, scope, "fee", "12.50", &err), &err);
    commit(tx);

    tx = begin(f, AW_TX_READ);
    aw_tenant_t *list;
    size_t n;
    ASSERT_OK(aw_store_tenant_list(tx, 0, 100, &list, &n, &err), &err);
    ASSERT_EQ(n, 4);
    ASSERT_STR(list[0].slug, "aachen");
    ASSERT_STR(list[1].slug, "bonn");
    ASSERT_STR(list[3].slug, "zwickau");
    aw_tenant_list_free(list, n);
    ASSERT_OK(aw_store_tenant_list(tx, 1, 2, &list, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_STR(list[0].slug, "bonn");
    ASSERT_STR(list[1].slug, "mitte");
    aw_tenant_list_free(list, n);
    aw_store_rollback(tx);

    tx = begin(f, AW_TX_WRITE);
    ASSERT_OK(aw_store_tenant_delete(tx, ids[3], &err), &err);
    ASSERT_EQ(aw_store_tenant_delete(tx, ids[3], &err), AW_ENOTFOUND);
    commit(tx);
    tx = begin(f, AW_TX_READ);
    char *v = NULL;
    ASSERT_EQ(aw_store_setting_get(tx, scope, "fee", &v, &err), AW_ENOTFOUND);
    ASSERT_OK(aw_store_tenant_list(tx, 0, 0, &list, &n, &err), &err);
    ASSERT_EQ(n, 3);
    aw_tenant_list_free(list, n);
    aw_store_rollback(tx);
}

STORE_TEST(settings_crud) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    ASSERT_OK(aw_store_setting_put(tx, "global", "privacy_url", "https://example.org/p", &err),
              &err);
    ASSERT_OK(aw_store_setting_put(tx, "global", "brand", "{\"color\":\"#004b87\"}", &err), &err);
    ASSERT_OK(aw_store_setting_put(tx, "tenant:x", "brand", "other", &err), &err);
    commit(tx);

    tx = begin(f, AW_TX_WRITE);
    char *v = NULL;
    ASSERT_OK(aw_store_setting_get(tx, "global", "brand", &v, &err), &err);
    ASSERT_STR(v, "{\"color\":\"#004b87\"}");
    free(v);
    ASSERT_OK(aw_store_setting_put(tx, "global", "brand", "changed", &err), &err);
    ASSERT_OK(aw_store_setting_get(tx, "global", "brand", &v, &err), &err);
    ASSERT_STR(v, "changed");
    free(v);
    aw_setting_t *list;
    size_t n;
    ASSERT_OK(aw_store_setting_list(tx, "global", &list, &n, &err), &err);
    ASSERT_EQ(n, 2);
    ASSERT_STR(list[0].key, "brand");
    ASSERT_STR(list[0].value, "changed");
    ASSERT_STR(list[1].key, "privacy_url");
    ASSERT_STR(list[1].scope, "global");
    ASSERT_GT(list[1].updated_at_ms, 0);
    aw_setting_list_free(list, n);
    ASSERT_OK(aw_store_setting_delete(tx, "global", "brand", &err), &err);
    ASSERT_EQ(aw_store_setting_delete(tx, "global", "brand", &err), AW_ENOTFOUND);
    commit(tx);

    tx = begin(f, AW_TX_READ);
    ASSERT_EQ(aw_store_setting_get(tx, "global", "brand", &v, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "brand");
    ASSERT_OK(aw_store_setting_get(tx, "tenant:x", "brand", &v, &err), &err);
    ASSERT_STR(v, "other");
    free(v);
    aw_store_rollback(tx);
}

STORE_TEST(settings_bounds) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    ASSERT_EQ(aw_store_setting_put(tx, "", "k", "v", &err), AW_EINVAL);
    ASSERT_EQ(aw_store_setting_put(tx, "global", "", "v", &err), AW_EINVAL);
    ASSERT_EQ(aw_store_setting_put(tx, "global", "k", NULL, &err), AW_EINVAL);
    size_t big = 64 * 1024 + 1;
    char *v = malloc(big + 1);
    memset(v, 'a', big);
    v[big] = '\0';
    ASSERT_EQ(aw_store_setting_put(tx, "global", "k", v, &err), AW_ETOOBIG);
    v[big - 1] = '\0'; /* exactly 64 KiB is fine */
    ASSERT_OK(aw_store_setting_put(tx, "global", "k", v, &err), &err);
    free(v);
    ASSERT_OK(aw_store_setting_put(tx, "global", "empty", "", &err), &err);
    char *got = NULL;
    ASSERT_OK(aw_store_setting_get(tx, "global", "empty", &got, &err), &err);
    ASSERT_STR(got, "");
    free(got);
    commit(tx);
}
