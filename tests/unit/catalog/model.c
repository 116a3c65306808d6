/* Tests of src/catalog/model.c: jurisdiction (prefix rules, ties, unknown
 * areas), EfA parameters, authorities, audit — on both engines. */
#include <stdlib.h>
#include <string.h>

#include "../store/fixture.h"
#include "catalog/catalog.h"
#include "catalog/import.h"
#include "store/sql.h"

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

static void import_file(aw_tx_t *tx, aw_cat_import_kind_t kind, const char *name) {
    char path[2048];
    snprintf(path, sizeof path, "%s/tests/data/catalog/%s", aw_test_srcdir(), name);
    size_t len;
    char *data = aw_test_read_file(path, &len);
    ASSERT(data);
    aw_err_t err = {0};
    ASSERT_OK(aw_cat_import(tx, kind, data, len, name, "test", NULL, &err), &err);
    free(data);
}

static void add_authority(aw_tx_t *tx, const char *slug, const char *dest) {
    aw_err_t err = {0};
    json_t *a = json_pack("{ss ss ss}", "slug", slug, "name", slug, "destinationId", dest);
    ASSERT_OK(aw_cat_authority_put(tx, NULL, a, "test", NULL, &err), &err);
    json_decref(a);
}

/* Areas, three services, authorities kreis (Dithmarschen) and heide. */
static void seed(store_fixture_t *f) {
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    import_file(tx, AW_CAT_IMPORT_MUNICIPALITIES, "areas-small.tsv");
    import_file(tx, AW_CAT_IMPORT_PLZ, "plz-small.tsv");
    import_file(tx, AW_CAT_IMPORT_SERVICES, "services-small.tsv");
    add_authority(tx, "kreis", "dest-kreis-default");
    add_authority(tx, "heide", "dest-heide");
    add_authority(tx, "land", "dest-land");
    commit(tx);
}

static void add_resp(store_fixture_t *f, const char *leika, const char *ars, const char *auth) {
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    aw_err_t err = {0};
    ASSERT_OK(aw_cat_resp_add(tx, leika, ars, auth, NULL, "test", NULL, &err), &err);
    commit(tx);
}

static int route(store_fixture_t *f, const char *leika, const char *ars, aw_cat_route_t *r,
                 aw_err_t *err) {
    aw_tx_t *tx = begin(f, AW_TX_READ);
    int rc = aw_cat_route_find(tx, leika, ars, r, err);
    aw_store_rollback(tx);
    return rc;
}

#define DOG "99102013104000"
#define CAR "99036008007000"

STORE_TEST(most_specific_prefix_wins) {
    seed(f);
    add_resp(f, DOG, "01", "land");
    add_resp(f, DOG, "01051", "kreis");
    add_resp(f, DOG, "010510044044", "heide");
    aw_err_t err = {0};
    aw_cat_route_t r;
    /* Heide has its own entry */
    ASSERT_OK(route(f, DOG, "010510044044", &r, &err), &err);
    ASSERT(r.found);
    ASSERT_STR(r.prefix, "010510044044");
    ASSERT_STR(r.destination_id, "dest-heide");
    /* Brunsbüttel is covered by the Kreis */
    ASSERT_OK(route(f, DOG, "010510011011", &r, &err), &err);
    ASSERT_STR(r.prefix, "01051");
    ASSERT_STR(r.destination_id, "dest-kreis-default");
    /* Averlak: Gemeindeverband has no entry, the Kreis wins over the Land */
    ASSERT_OK(route(f, DOG, "010515163003", &r, &err), &err);
    ASSERT_STR(r.prefix, "01051");
    /* Flensburg: only the Land */
    ASSERT_OK(route(f, DOG, "010010000000", &r, &err), &err);
    ASSERT_STR(r.prefix, "01");
    ASSERT_STR(r.destination_id, "dest-land");
    /* a Kreis-level query is not covered by a Gemeinde entry */
    ASSERT_OK(route(f, DOG, "01051", &r, &err), &err);
    ASSERT_STR(r.prefix, "01051");
    /* Köln: nobody */
    ASSERT_OK(route(f, DOG, "053150000000", &r, &err), &err);
    ASSERT(!r.found);
    /* another service: nobody anywhere */
    ASSERT_OK(route(f, CAR, "010510044044", &r, &err), &err);
    ASSERT(!r.found);
}

STORE_TEST(tie_is_an_error_naming_both) {
    seed(f);
    add_resp(f, DOG, "01051", "kreis");
    add_resp(f, DOG, "01051", "heide");
    aw_err_t err = {0};
    aw_cat_route_t r;
    ASSERT_EQ(route(f, DOG, "010510011011", &r, &err), AW_ECONFLICT);
    ASSERT_CONTAINS(err.msg, "ambiguous");
    ASSERT_CONTAINS(err.msg, "heide");
    ASSERT_CONTAINS(err.msg, "kreis");
    ASSERT(!r.found);
    /* a more specific entry resolves the tie for its Gemeinde */
    add_resp(f, DOG, "010510044044", "heide");
    ASSERT_OK(route(f, DOG, "010510044044", &r, &err), &err);
    ASSERT_STR(r.destination_id, "dest-heide");
}

STORE_TEST(unknown_area_and_service) {
    seed(f);
    aw_err_t err = {0};
    aw_cat_route_t r;
    ASSERT_EQ(route(f, DOG, "010519999999", &r, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "no area");
    ASSERT_EQ(route(f, "99999999999999", "01051", &r, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "no service");
    ASSERT_EQ(route(f, DOG, "0105", &r, &err), AW_EINVAL);
    ASSERT_EQ(route(f, "12345", "01051", &r, &err), AW_EINVAL);
    /* responsibilities need existing area, service and authority */
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    ASSERT_EQ(aw_cat_resp_add(tx, DOG, "019999999999", "kreis", NULL, "t", NULL, &err),
              AW_ENOTFOUND);
    ASSERT_EQ(aw_cat_resp_add(tx, DOG, "01051", "nobody", NULL, "t", NULL, &err), AW_ENOTFOUND);
    ASSERT_OK(aw_cat_resp_add(tx, DOG, "01051", "kreis", NULL, "t", NULL, &err), &err);
    ASSERT_EQ(aw_cat_resp_add(tx, DOG, "01051", "kreis", NULL, "t", NULL, &err), AW_ECONFLICT);
    aw_store_rollback(tx);
}

STORE_TEST(destination_precedence) {
    seed(f);
    aw_err_t err = {0};
    aw_cat_route_t r;
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    ASSERT_OK(aw_cat_resp_add(tx, DOG, "01051", "kreis", NULL, "t", NULL, &err), &err);
    ASSERT_OK(aw_cat_resp_add(tx, CAR, "01051", "kreis", "dest-explicit", "t", NULL, &err), &err);
    json_t *p = json_pack("{ss ss}", "destinationId", "dest-kreis-dog", "fees", "12 €");
    ASSERT_OK(aw_cat_params_put(tx, "kreis", DOG, p, "t", &err), &err);
    json_decref(p);
    commit(tx);
    ASSERT_OK(route(f, DOG, "010510011011", &r, &err), &err);
    ASSERT_STR(r.destination_id, "dest-kreis-dog"); /* parameter beats the default */
    ASSERT_OK(route(f, CAR, "010510011011", &r, &err), &err);
    ASSERT_STR(r.destination_id, "dest-explicit"); /* responsibility beats both */
}

STORE_TEST(efa_parameters_override_defaults) {
    seed(f);
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    json_t *p = json_pack("{ss ss}", "fees", "90 € im Jahr", "shortText", "Heide-Text");
    ASSERT_OK(aw_cat_params_put(tx, "heide", DOG, p, "t", &err), &err);
    json_decref(p);
    p = json_pack("{ss}", "fees", "120 € im Jahr");
    ASSERT_OK(aw_cat_params_put(tx, "kreis", DOG, p, "t", &err), &err);
    json_decref(p);
    p = json_pack("{ss}", "colour", "red");
    ASSERT_EQ(aw_cat_params_put(tx, "kreis", DOG, p, "t", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "colour");
    json_decref(p);
    p = json_pack("{ss}", "fees", "1 €");
    ASSERT_EQ(aw_cat_params_put(tx, "kreis", "99999999999999", p, "t", &err), AW_ENOTFOUND);
    json_decref(p);
    commit(tx);
    tx = begin(f, AW_TX_READ);
    json_t *a, *b, *d;
    ASSERT_OK(aw_cat_service_for(tx, DOG, "heide", &a, &err), &err);
    ASSERT_OK(aw_cat_service_for(tx, DOG, "kreis", &b, &err), &err);
    ASSERT_OK(aw_cat_service_for(tx, DOG, NULL, &d, &err), &err);
    ASSERT_STR(json_string_value(json_object_get(a, "fees")), "90 € im Jahr");
    ASSERT_STR(json_string_value(json_object_get(a, "shortText")), "Heide-Text");
    ASSERT_STR(json_string_value(json_object_get(b, "fees")), "120 € im Jahr");
    ASSERT_STR(json_string_value(json_object_get(b, "shortText")), "Hund zur Steuer anmelden.");
    ASSERT_STR(json_string_value(json_object_get(d, "fees")), "keine Gebühr");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(a, "authority"), "slug")),
               "heide");
    json_decref(a);
    json_decref(b);
    json_decref(d);
    aw_store_rollback(tx);
}

STORE_TEST(authority_fields_validated_and_slug_unique) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    json_t *a = json_pack("{ss ss ss}", "slug", "x", "name", "X", "privacyUrl", "ftp://nope");
    ASSERT_EQ(aw_cat_authority_put(tx, NULL, a, "t", NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "privacyUrl");
    json_decref(a);
    a = json_pack("{ss ss s{ss}}", "slug", "x", "name", "X", "address", "postalCode", "1234");
    ASSERT_EQ(aw_cat_authority_put(tx, NULL, a, "t", NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "address.postalCode");
    json_decref(a);
    a = json_pack("{ss ss ss s{ss ss}}", "slug", "x", "name", "X", "colour", "#00ff00", "contacts",
                  "email", "a@b.example", "phone", "+49 1");
    json_t *out = NULL;
    ASSERT_OK(aw_cat_authority_put(tx, NULL, a, "t", &out, &err), &err);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(out, "contacts"), "email")),
               "a@b.example");
    ASSERT_EQ(aw_cat_authority_put(tx, NULL, a, "t", NULL, &err), AW_ECONFLICT);
    json_decref(a);
    json_decref(out);
    aw_store_rollback(tx);
}

static int64_t audit_count(store_fixture_t *f) {
    aw_tx_t *tx = begin(f, AW_TX_READ);
    aw_err_t err = {0};
    json_t *l;
    ASSERT_OK(aw_cat_audit_list(tx, 0, 10, &l, &err), &err);
    int64_t n = json_integer_value(json_object_get(l, "total"));
    json_decref(l);
    aw_store_rollback(tx);
    return n;
}

STORE_TEST(every_change_is_audited_and_audit_is_append_only) {
    aw_err_t err = {0};
    ASSERT_EQ(audit_count(f), 0);
    seed(f); /* 3 imports + 3 authorities */
    ASSERT_EQ(audit_count(f), 6);
    add_resp(f, DOG, "01051", "kreis");
    aw_tx_t *tx = begin(f, AW_TX_WRITE);
    json_t *s = json_pack("{ss ss}", "leikaKey", DOG, "name", "Hundesteuer Anmeldung (neu)");
    ASSERT_OK(aw_cat_service_put(tx, s, "operator:alice", NULL, &err), &err);
    json_decref(s);
    commit(tx);
    ASSERT_EQ(audit_count(f), 8);
    tx = begin(f, AW_TX_READ);
    json_t *l;
    ASSERT_OK(aw_cat_audit_list(tx, 0, 1, &l, &err), &err);
    json_t *e = json_array_get(json_object_get(l, "entries"), 0);
    ASSERT_STR(json_string_value(json_object_get(e, "actor")), "operator:alice");
    ASSERT_STR(json_string_value(json_object_get(e, "action")), "update");
    ASSERT_STR(json_string_value(json_object_get(e, "objectType")), "service");
    ASSERT_STR(json_string_value(json_object_get(e, "objectId")), DOG);
    ASSERT_CONTAINS(json_string_value(json_object_get(e, "at")), "T");
    json_decref(l);
    aw_store_rollback(tx);
    /* a failed change leaves no audit row */
    tx = begin(f, AW_TX_WRITE);
    s = json_pack("{ss ss}", "leikaKey", "123", "name", "x");
    ASSERT_EQ(aw_cat_service_put(tx, s, "t", NULL, &err), AW_EINVAL);
    json_decref(s);
    aw_store_rollback(tx);
    ASSERT_EQ(audit_count(f), 8);
    /* the table refuses updates and deletes */
    tx = begin(f, AW_TX_WRITE);
    ASSERT(aw_sql_exec(tx, "UPDATE catalog_audit SET actor = 'mallory'", NULL, &err, "") != 0);
    aw_store_rollback(tx);
    tx = begin(f, AW_TX_WRITE);
    ASSERT(aw_sql_exec(tx, "DELETE FROM catalog_audit", NULL, &err, "") != 0);
    aw_store_rollback(tx);
    ASSERT_EQ(audit_count(f), 8);
}

STORE_TEST(area_search_and_resolve) {
    seed(f);
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f, AW_TX_READ);
    json_t *r;
    ASSERT_OK(aw_cat_area_search(tx, "hei", 0, 10, &r, &err), &err);
    ASSERT_EQ(json_integer_value(json_object_get(r, "total")), 1);
    json_decref(r);
    ASSERT_OK(aw_cat_area_search(tx, "KÖLN", 0, 10, &r, &err), &err);
    ASSERT_EQ(json_integer_value(json_object_get(r, "total")), 2); /* Kreis + Gemeinde */
    json_decref(r);
    ASSERT_OK(aw_cat_area_search(tx, "*stadt", 0, 10, &r, &err), &err);
    ASSERT_EQ(json_integer_value(json_object_get(r, "total")), 6);
    json_decref(r);
    ASSERT_OK(aw_cat_area_search(tx, "*stadt", 2, 2, &r, &err), &err);
    ASSERT_EQ(json_array_size(json_object_get(r, "areas")), 2);
    json_decref(r);
    ASSERT_OK(aw_cat_area_search(tx, "50668", 0, 10, &r, &err), &err);
    ASSERT_EQ(json_integer_value(json_object_get(r, "total")), 1);
    ASSERT_STR(
        json_string_value(json_object_get(json_array_get(json_object_get(r, "areas"), 0), "id")),
        "053150000000");
    json_decref(r);
    ASSERT_OK(aw_cat_area_search(tx, "100%", 0, 10, &r, &err), &err);
    ASSERT_EQ(json_integer_value(json_object_get(r, "total")), 0);
    json_decref(r);
    char ars[13];
    ASSERT_OK(aw_cat_area_resolve(tx, AW_CAT_AREA_BY_AGS, "01051044", ars, &err), &err);
    ASSERT_STR(ars, "010510044044");
    ASSERT_EQ(aw_cat_area_resolve(tx, AW_CAT_AREA_BY_AGS, "01051045", ars, &err), AW_ENOTFOUND);
    ASSERT_EQ(aw_cat_area_resolve(tx, AW_CAT_AREA_BY_ARS, "0105", ars, &err), AW_EINVAL);
    json_t *a;
    ASSERT_OK(aw_cat_area_get(tx, "053150000000", &a, &err), &err);
    ASSERT_EQ(json_array_size(json_object_get(a, "postalCodes")), 2);
    json_decref(a);
    aw_store_rollback(tx);
}
