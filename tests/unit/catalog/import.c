/* Tests of src/catalog/import.c and xzufi.c: good and broken files. */
#include <stdlib.h>
#include <string.h>

#include "../store/fixture.h"
#include "catalog/catalog.h"
#include "catalog/import.h"

static aw_tx_t *begin(store_fixture_t *f) {
    aw_err_t err = {0};
    aw_tx_t *tx;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    return tx;
}

static char *data_file(const char *name, size_t *len) {
    char path[2048];
    snprintf(path, sizeof path, "%s/tests/data/catalog/%s", aw_test_srcdir(), name);
    char *d = aw_test_read_file(path, len);
    ASSERT_MSG(d, "cannot read %s", path);
    return d;
}

static int import_name(aw_tx_t *tx, aw_cat_import_kind_t kind, const char *name,
                       aw_cat_import_stats_t *st, aw_err_t *err) {
    size_t len;
    char *d = data_file(name, &len);
    int rc = aw_cat_import(tx, kind, d, len, name, "test", st, err);
    free(d);
    return rc;
}

static int import_text(aw_tx_t *tx, aw_cat_import_kind_t kind, const char *text, aw_err_t *err) {
    return aw_cat_import(tx, kind, text, strlen(text), "inline", "test", NULL, err);
}

/* Areas and authorities the XZuFi and responsibility files refer to. */
static void base(aw_tx_t *tx) {
    aw_err_t err = {0};
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_MUNICIPALITIES, "areas-small.tsv", NULL, &err), &err);
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_SERVICES, "services-small.tsv", NULL, &err), &err);
    const char *slugs[] = {"kreis", "heide"};
    for (int i = 0; i < 2; i++) {
        json_t *a = json_pack("{ss ss}", "slug", slugs[i], "name", slugs[i]);
        ASSERT_OK(aw_cat_authority_put(tx, NULL, a, "t", NULL, &err), &err);
        json_decref(a);
    }
}

STORE_TEST(municipalities_and_plz) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f);
    aw_cat_import_stats_t st;
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_MUNICIPALITIES, "areas-small.tsv", &st, &err), &err);
    ASSERT_EQ(st.rows, 11);
    ASSERT_EQ(st.areas, 11);
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_PLZ, "plz-small.tsv", &st, &err), &err);
    ASSERT_EQ(st.postal_codes, 6);
    /* idempotent: a second import updates */
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_MUNICIPALITIES, "areas-small.tsv", &st, &err), &err);
    ASSERT_EQ(aw_cat_area_count(tx, &err), 11);
    json_t *a;
    ASSERT_OK(aw_cat_area_get(tx, "01051", &a, &err), &err);
    ASSERT_STR(json_string_value(json_object_get(a, "level")), "kreis");
    json_decref(a);
    ASSERT_OK(aw_cat_area_get(tx, "010515163", &a, &err), &err);
    ASSERT_STR(json_string_value(json_object_get(a, "type")), "Amt");
    json_decref(a);
    aw_store_rollback(tx);
}

STORE_TEST(broken_tabular_files_name_the_line) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_MUNICIPALITIES, "", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "header");
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_MUNICIPALITIES, "ars\tname\n01\tX\n", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "'level'");
    aw_store_rollback(tx);
    tx = begin(f);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_MUNICIPALITIES,
                          "ars_short\tname\tlevel\n01\tSH\tland\n0105\tKaputt\tkreis\n", &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "inline:3");
    ASSERT_CONTAINS(err.msg, "ARS");
    aw_store_rollback(tx);
    tx = begin(f);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_MUNICIPALITIES,
                          "ars_short\tname\tlevel\n01051\tDithmarschen\tgemeinde\n", &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "inline:2");
    ASSERT_CONTAINS(err.msg, "level");
    aw_store_rollback(tx);
    tx = begin(f);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_PLZ, "plz\tags\n2474\t01051044\n", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "inline:2");
    aw_store_rollback(tx);
    tx = begin(f);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_SERVICES, "leika_key\tname\n99123\tX\n", &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "leikaKey");
    aw_store_rollback(tx);
}

STORE_TEST(responsibilities_csv_and_tsv) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f);
    base(tx);
    aw_cat_import_stats_t st;
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_RESPONSIBILITIES, "resp-good.csv", &st, &err), &err);
    ASSERT_EQ(st.responsibilities, 2);
    aw_cat_route_t r;
    ASSERT_OK(aw_cat_route_find(tx, "99102013104000", "010510011011", &r, &err), &err);
    ASSERT_STR(r.destination_id, "dest-kreis");
    aw_store_rollback(tx);
    tx = begin(f);
    base(tx);
    ASSERT_EQ(import_name(tx, AW_CAT_IMPORT_RESPONSIBILITIES, "resp-bad-ars.tsv", &st, &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "resp-bad-ars.tsv:3");
    aw_store_rollback(tx);
    tx = begin(f);
    base(tx);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_RESPONSIBILITIES,
                          "leika_key;ars;authority\n99102013104000;01051;\"kreis\n", &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "unterminated");
    aw_store_rollback(tx);
}

STORE_TEST(xzufi_good_file) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f);
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_MUNICIPALITIES, "areas-small.tsv", NULL, &err), &err);
    aw_cat_import_stats_t st;
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-good.xml", &st, &err), &err);
    ASSERT_EQ(st.services, 2);
    ASSERT_EQ(st.authorities, 1);
    ASSERT_EQ(st.online_services, 1);
    ASSERT_EQ(st.responsibilities, 3);
    /* nachrichtenkopf, modulText 99, versionsinformation, x:fremd */
    ASSERT_EQ(st.skipped_elements, 4);
    json_t *s;
    ASSERT_OK(aw_cat_service_get(tx, "99102013104000", &s, &err), &err);
    ASSERT_STR(json_string_value(json_object_get(s, "name")), "Hundesteuer Anmeldung");
    ASSERT_STR(json_string_value(json_object_get(s, "shortText")),
               "Einen Hund zur Hundesteuer anmelden.");
    ASSERT_STR(json_string_value(json_object_get(s, "fees")), "keine Gebühr");
    ASSERT_STR(json_string_value(json_object_get(s, "keywords")), "Hund anmelden; Hundemarke");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(s, "onlineService"), "schemaId")),
               "S00000094");
    json_decref(s);
    json_t *a;
    ASSERT_OK(aw_cat_authority_get(tx, "OE-77", &a, &err), &err);
    ASSERT_STR(json_string_value(json_object_get(a, "name")), "Bürgeramt Heide");
    ASSERT_STR(json_string_value(json_object_get(a, "slug")), "buergeramt-heide");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(a, "address"), "street")),
               "Postelweg 1");
    ASSERT_STR(json_string_value(json_object_get(json_object_get(a, "contacts"), "email")),
               "buergeramt@heide.example");
    json_decref(a);
    aw_cat_route_t r;
    ASSERT_OK(aw_cat_route_find(tx, "99102013104000", "010510011011", &r, &err), &err);
    ASSERT_STR(r.prefix, "01051");
    /* re-importing the same file is harmless */
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-good.xml", &st, &err), &err);
    ASSERT_EQ(st.authorities, 1);
    ASSERT_EQ(st.responsibilities, 0);
    aw_store_rollback(tx);
}

STORE_TEST(xzufi_broken_files) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f);
    ASSERT_EQ(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-broken.xml", NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "xzufi-broken.xml:6");
    ASSERT_EQ(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-doctype.xml", NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "DOCTYPE");
    ASSERT_EQ(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-wrong-ns.xml", NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "namespace");
    ASSERT_EQ(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-no-leika.xml", NULL, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "xzufi-no-leika.xml:3");
    ASSERT_CONTAINS(err.msg, "referenzLeiKa");
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_XZUFI, "not xml at all", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "inline:1");
    aw_store_rollback(tx);
    /* a zustaendigkeit for an area we do not know fails and names the line */
    tx = begin(f);
    ASSERT_EQ(import_name(tx, AW_CAT_IMPORT_XZUFI, "xzufi-good.xml", NULL, &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "xzufi-good.xml:");
    ASSERT_CONTAINS(err.msg, "no area");
    aw_store_rollback(tx);
}

TEST(import_kind_names) {
    ASSERT_EQ(aw_cat_import_kind("xzufi"), AW_CAT_IMPORT_XZUFI);
    ASSERT_EQ(aw_cat_import_kind("nope"), 0);
    ASSERT_STR(aw_cat_import_kind_name(AW_CAT_IMPORT_PLZ), "plz");
}

STORE_TEST(authorities_json_with_efa_parameters) {
    aw_err_t err = {0};
    aw_tx_t *tx = begin(f);
    ASSERT_OK(import_name(tx, AW_CAT_IMPORT_SERVICES, "services-small.tsv", NULL, &err), &err);
    char path[2048];
    snprintf(path, sizeof path, "%s/data/demo/authorities.json", aw_test_srcdir());
    size_t len;
    char *d = aw_test_read_file(path, &len);
    ASSERT(d);
    aw_cat_import_stats_t st;
    ASSERT_OK(
        aw_cat_import(tx, AW_CAT_IMPORT_AUTHORITIES, d, len, "authorities.json", "t", &st, &err),
        &err);
    ASSERT_EQ(st.authorities, 4);
    /* again: updated in place, not duplicated */
    ASSERT_OK(
        aw_cat_import(tx, AW_CAT_IMPORT_AUTHORITIES, d, len, "authorities.json", "t", &st, &err),
        &err);
    free(d);
    json_t *l;
    ASSERT_OK(aw_cat_authority_list(tx, 0, 100, &l, &err), &err);
    ASSERT_EQ(json_integer_value(json_object_get(l, "total")), 4);
    json_decref(l);
    json_t *heide, *koeln;
    ASSERT_OK(aw_cat_service_for(tx, "99102013104000", "heide", &heide, &err), &err);
    ASSERT_OK(aw_cat_service_for(tx, "99102013104000", "koeln", &koeln, &err), &err);
    ASSERT_CONTAINS(json_string_value(json_object_get(heide, "fees")), "90 €");
    ASSERT_CONTAINS(json_string_value(json_object_get(koeln, "fees")), "156 €");
    json_decref(heide);
    json_decref(koeln);
    ASSERT_EQ(
        import_text(tx, AW_CAT_IMPORT_AUTHORITIES, "[{\"slug\": \"x\",\n \"slug\": \"y\"}]", &err),
        AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "inline:2");
    aw_store_rollback(tx);
    tx = begin(f);
    ASSERT_EQ(import_text(tx, AW_CAT_IMPORT_AUTHORITIES,
                          "[{\"slug\":\"a\",\"name\":\"A\",\"services\":{\"99102013104000\":"
                          "{\"colour\":\"#fff\"}}}]",
                          &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "authority 1");
    aw_store_rollback(tx);
}
