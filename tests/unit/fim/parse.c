/* Tests for src/fim/parse.c (XDatenfelder 2.0/3.0 → schema model). */
#include <stdio.h>
#include <string.h>

#include "fim/fim.h"
#include "test.h"

static int try_load(const char *rel, const char *cl_rel, aw_fim_schema_t **s, aw_err_t *err) {
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/%s", aw_test_srcdir(), rel);
    snprintf(dir, sizeof dir, "%s/tests/data/fim/%s", aw_test_srcdir(), cl_rel ? cl_rel : "");
    aw_fim_load_opts_t o = {.codelist_dir = cl_rel ? dir : NULL};
    return aw_fim_schema_load(path, &o, s, err);
}

static aw_fim_schema_t *load(const char *rel, const char *cl_rel) {
    aw_fim_schema_t *s = NULL;
    aw_err_t err = {0};
    ASSERT_MSG(try_load(rel, cl_rel, &s, &err) == 0, "load %s: %s", rel, err.msg);
    return s;
}

static void expect_error(const char *rel, int code, const char *needle) {
    aw_fim_schema_t *s = NULL;
    aw_err_t err = {0};
    int rc = try_load(rel, NULL, &s, &err);
    ASSERT_EQ(rc, code);
    ASSERT_NULL(s);
    ASSERT_CONTAINS(err.msg, needle);
}

TEST(xdf2_s94_model) {
    aw_fim_schema_t *s = load("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", NULL);
    ASSERT_EQ(s->xdf_version, 2);
    ASSERT_STR(s->root->id, "S00000094");
    ASSERT_STR(s->root->version, "1.0");
    ASSERT_EQ(s->ncodelists, 4);
    const aw_fim_elem_t *plz = aw_fim_schema_find(s, "F60000246");
    ASSERT_NOT_NULL(plz);
    ASSERT_EQ(plz->kind, AW_FIM_FIELD);
    ASSERT_STR(plz->label, "Postleitzahl");
    ASSERT_EQ(plz->datatype, AW_FIM_DT_TEXT);
    ASSERT_EQ(plz->feldart, AW_FIM_FA_INPUT);
    ASSERT(plz->c.has_min_len && plz->c.min_len == 5 && plz->c.max_len == 5);
    ASSERT_STR(plz->c.pattern, "([0]{1}[1-9]{1}|[1-9]{1}[0-9]{1})[0-9]{3}");
    ASSERT_NOT_NULL(plz->c.pattern_re);
    /* the same id under several parents, equal by 9/12-character form */
    ASSERT(aw_fim_schema_find(s, "F60000000246") == plz);
    const aw_fim_elem_t *staat = aw_fim_schema_find(s, "F60000261");
    ASSERT_NOT_NULL(staat);
    ASSERT_NOT_NULL(staat->codelist);
    ASSERT_GT(staat->codelist->ncodes, 100);
    ASSERT_STR(staat->codelist->id, "C60000020");
    /* rules are kept verbatim */
    size_t nrules = 0;
    for (size_t i = 0; i < s->nelems; i++) nrules += s->elems[i]->nrules;
    ASSERT_GT(nrules, 5);
    aw_fim_schema_free(s);
}

static bool count_visit(const aw_fim_edge_t *e, uint32_t depth, void *ctx) {
    int *n = ctx;
    (*n)++;
    if (e->max == AW_FIM_UNBOUNDED) n[1]++;
    if (depth > (uint32_t)n[2]) n[2] = (int)depth;
    return true;
}

TEST(xdf2_and_xdf3_same_tree) {
    aw_fim_schema_t *a = load("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", NULL);
    aw_fim_schema_t *b = load("xdf3/S00000186v1.0_xdf3.xml", "xdf2/S00000186v1.0_xdf2");
    ASSERT_EQ(b->xdf_version, 3);
    ASSERT_STR(b->root->id, "S00000000186");
    int na[3] = {0}, nb[3] = {0};
    aw_fim_schema_walk(a, count_visit, na);
    aw_fim_schema_walk(b, count_visit, nb);
    ASSERT_EQ(na[0], nb[0]);
    ASSERT_EQ(na[1], nb[1]);
    ASSERT_GT(na[1], 0); /* some 1:* edges */
    ASSERT_EQ(na[2], nb[2]);
    ASSERT_EQ(a->nelems, b->nelems);
    ASSERT_EQ(a->ncodelists, b->ncodelists);
    /* inline werte in XDF3 vs genericode in XDF2: same codes */
    const aw_fim_elem_t *fa = aw_fim_schema_find(a, "F00002534");
    const aw_fim_elem_t *fb = aw_fim_schema_find(b, "F00002534");
    ASSERT(fa && fb && fa->codelist && fb->codelist);
    ASSERT_EQ(fa->codelist->ncodes, fb->codelist->ncodes);
    ASSERT(fb->codelist->inline_values);
    ASSERT_STR(fa->codelist->codes[1].code, fb->codelist->codes[1].code);
    /* XDF3 constraints from attributes */
    const aw_fim_elem_t *pa = aw_fim_schema_find(a, "F00000069");
    const aw_fim_elem_t *pb = aw_fim_schema_find(b, "F00000069");
    ASSERT(pa && pb);
    ASSERT_EQ(pa->c.max_len, 23);
    ASSERT_EQ(pb->c.max_len, 23);
    aw_fim_schema_free(a);
    aw_fim_schema_free(b);
}

TEST(xdf3_group_message_0103) {
    aw_fim_schema_t *s = load("xdf3/flxbe-simple.xml", NULL);
    ASSERT_STR(s->message, "xdatenfelder.datenfeldgruppe.0103");
    ASSERT_EQ(s->root->nchildren, 1);
    ASSERT_STR(s->root->children[0].elem->id, "G60000000088");
    ASSERT_EQ(s->root->children[0].elem->nrules, 1);
    ASSERT_CONTAINS(s->root->children[0].elem->rules[0].text, "G60000086");
    aw_fim_schema_free(s);
}

TEST(flxbe_error_fixtures_rejected) {
    expect_error("xdf3/flxbe-duplicate-id-node.xml", AW_EINVAL, "<id> twice");
    expect_error("xdf3/flxbe-empty-id-node.xml", AW_EINVAL, "empty <id>");
    expect_error("xdf3/flxbe-missing-id-node.xml", AW_EINVAL, "without <id>");
    expect_error("xdf3/flxbe-invalid-freigabestatus.xml", AW_EINVAL, "freigabestatus '10'");
    expect_error("xdf3/flxbe-unexpected-node.xml", AW_EINVAL, "unexpected element <unknown>");
    expect_error("xdf2/flxbe-duplicate-required-value.xml", AW_EINVAL, "<name> appears twice");
    expect_error("xdf2/flxbe-unknown-namespace.xml", AW_EUNSUPPORTED, "unsupported XDatenfelder");
    expect_error("xdf3/flxbe-unknown-namespace.xml", AW_EUNSUPPORTED, "namespace");
}

TEST(xdf1_namespace_unsupported) {
    const char *x = "<?xml version=\"1.0\"?><xdf:xdatenfelder.stammdatenschema.0102 "
                    "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_1\"/>";
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_EQ(aw_fim_schema_load_mem(x, strlen(x), "x.xml", NULL, NULL, &s, &err), AW_EUNSUPPORTED);
    ASSERT_CONTAINS(err.msg, "xdatenfelder_1");
}

TEST(xxe_rejected) {
    expect_error("attack/xxe.xml", AW_EINVAL, "document type declarations");
}

TEST(billion_laughs_rejected) {
    expect_error("attack/billion-laughs.xml", AW_EINVAL, "entity expansion");
}

TEST(missing_codelist_names_list_and_field) {
    aw_fim_schema_t *s = NULL;
    aw_err_t err;
    int rc = try_load("xdf3/S00000094V1.0_xdf3.xml", NULL, &s, &err);
    ASSERT_EQ(rc, AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "F60000000261");
    ASSERT_CONTAINS(err.msg,
                    "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:staat_2021-02-19");
}

TEST(praezisierung_broken_json_warns) {
    const char *x =
        "<?xml version=\"1.0\"?><xdf:xdatenfelder.datenfeld.0104 "
        "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_2\"><xdf:datenfeld>"
        "<xdf:identifikation><xdf:id>F1</xdf:id></xdf:identifikation><xdf:name>n</xdf:name>"
        "<xdf:feldart><code>input</code></xdf:feldart><xdf:datentyp><code>text</code></"
        "xdf:datentyp>"
        "<xdf:praezisierung>{minLength: 1</xdf:praezisierung></xdf:datenfeld>"
        "</xdf:xdatenfelder.datenfeld.0104>";
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_EQ(aw_fim_schema_load_mem(x, strlen(x), "x.xml", NULL, NULL, &s, &err), 0);
    ASSERT_EQ(s->nwarnings, 1);
    ASSERT_CONTAINS(s->warnings[0].msg, "praezisierung");
    ASSERT_STR(s->warnings[0].elem_id, "F1");
    aw_fim_schema_free(s);
}

TEST(bad_anzahl_and_depth) {
    const char *x =
        "<?xml version=\"1.0\"?><xdf:xdatenfelder.datenfeldgruppe.0103 "
        "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_2\"><xdf:datenfeldgruppe>"
        "<xdf:identifikation><xdf:id>G1</xdf:id></xdf:identifikation><xdf:struktur>"
        "<xdf:anzahl>3:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld><xdf:identifikation><xdf:id>F1"
        "</xdf:id></xdf:identifikation></xdf:datenfeld></xdf:enthaelt></xdf:struktur>"
        "</xdf:datenfeldgruppe></xdf:xdatenfelder.datenfeldgruppe.0103>";
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_EQ(aw_fim_schema_load_mem(x, strlen(x), "x.xml", NULL, NULL, &s, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "anzahl '3:1'");
    /* nesting deeper than the bound */
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_puts(&b, "<?xml version=\"1.0\"?><xdf:xdatenfelder.datenfeldgruppe.0103 "
                    "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_2\">");
    for (int i = 0; i < AW_FIM_MAX_DEPTH + 5; i++)
        aw_buf_printf(&b,
                      "%s<xdf:datenfeldgruppe><xdf:identifikation><xdf:id>G%d</xdf:id>"
                      "</xdf:identifikation>",
                      i ? "<xdf:struktur><xdf:anzahl>1:1</xdf:anzahl><xdf:enthaelt>" : "", i);
    for (int i = AW_FIM_MAX_DEPTH + 4; i >= 0; i--)
        aw_buf_printf(&b, "</xdf:datenfeldgruppe>%s", i ? "</xdf:enthaelt></xdf:struktur>" : "");
    aw_buf_puts(&b, "</xdf:xdatenfelder.datenfeldgruppe.0103>");
    ASSERT_EQ(aw_fim_schema_load_mem(b.data, b.len, "deep.xml", NULL, NULL, &s, &err), AW_ETOOBIG);
    ASSERT_CONTAINS(err.msg, "deeper");
    aw_buf_free(&b);
}

TEST(genericode_parse) {
    char path[1024];
    snprintf(path, sizeof path,
             "%s/tests/data/fim/xdf2/S00000094V1.0_xdf2/C00000021_genericode.xml",
             aw_test_srcdir());
    size_t len;
    char *x = aw_test_read_file(path, &len);
    ASSERT_NOT_NULL(x);
    aw_arena_t a;
    aw_arena_init(&a, 4096, 0);
    aw_fim_codelist_t *cl;
    aw_err_t err;
    ASSERT_EQ(aw_fim_genericode_parse(x, len, "C21", &a, &cl, &err), 0);
    ASSERT_EQ(cl->ncodes, 9);
    ASSERT_STR(cl->codes[0].code, "001");
    ASSERT_STR(cl->codes[0].label, "Arbeitnehmerin");
    ASSERT_STR(cl->version, "2018-05-09");
    ASSERT_STR(cl->canonical_version_uri,
               "urn:de:fim:codeliste:artbeschäftigungsverhältnis_2018-05-09");
    ASSERT_EQ(aw_fim_genericode_parse("<x/>", 4, "bad", &a, &cl, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "not a genericode");
    aw_arena_free(&a);
    free(x);
}

TEST(many_elements_load_linearly) {
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_puts(&b, "<?xml version=\"1.0\"?><xdf:xdatenfelder.datenfeldgruppe.0103 "
                    "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_2\"><xdf:datenfeldgruppe>"
                    "<xdf:identifikation><xdf:id>G1</xdf:id></xdf:identifikation>");
    for (int i = 0; i < 20000; i++)
        aw_buf_printf(&b,
                      "<xdf:struktur><xdf:anzahl>0:1</xdf:anzahl><xdf:enthaelt><xdf:datenfeld>"
                      "<xdf:identifikation><xdf:id>F%d</xdf:id></xdf:identifikation>"
                      "</xdf:datenfeld></xdf:enthaelt></xdf:struktur>",
                      i % 15000);
    aw_buf_puts(&b, "</xdf:datenfeldgruppe></xdf:xdatenfelder.datenfeldgruppe.0103>");
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load_mem(b.data, b.len, "many.xml", NULL, NULL, &s, &err) == 0, "%s",
               err.msg);
    ASSERT_EQ(s->nelems, 20001);
    const aw_fim_elem_t *g = s->root->children[0].elem;
    size_t data = 0;
    for (size_t i = 0; i < g->nchildren; i++) data += g->children[i].carries_data;
    ASSERT_EQ(data, 15000); /* repeated sibling ids carry data once */
    aw_fim_schema_free(s);
    aw_buf_free(&b);
}

TEST(xdf3_code_and_name_key) {
    /* a field that takes the codes from the "name" column of C00000021 */
    const char *t = aw_test_tmpdir();
    ASSERT_EQ(
        aw_test_sh("cp %s/tests/data/fim/xdf2/S00000094V1.0_xdf2/C00000021_genericode.xml %s/",
                   aw_test_srcdir(), t),
        0);
    const char *x =
        "<?xml version=\"1.0\"?><xdf:xdatenfelder.datenfeld.0104 "
        "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_3.0.0\"><xdf:datenfeld>"
        "<xdf:identifikation><xdf:id>F99000000001</xdf:id></xdf:identifikation>"
        "<xdf:name>Art</xdf:name><xdf:feldart><code>select</code></xdf:feldart>"
        "<xdf:datentyp><code>text</code></xdf:datentyp><xdf:codelisteReferenz>"
        "<xdf:canonicalIdentification>urn:de:fim:codeliste:artbeschäftigungsverhältnis"
        "</xdf:canonicalIdentification><xdf:version>2018-05-09</xdf:version>"
        "</xdf:codelisteReferenz><xdf:codeKey>name</xdf:codeKey><xdf:nameKey>code</xdf:nameKey>"
        "</xdf:datenfeld></xdf:xdatenfelder.datenfeld.0104>";
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load_mem(x, strlen(x), "k.xml", t, NULL, &s, &err) == 0, "%s",
               err.msg);
    const aw_fim_elem_t *f = aw_fim_schema_find(s, "F99000000001");
    ASSERT_STR(f->code_key, "name");
    ASSERT_EQ(f->codelist->ncodes, 9);
    ASSERT_STR(f->codelist->codes[0].code, "Arbeitnehmerin");
    ASSERT_STR(f->codelist->codes[0].label, "001");
    aw_fim_schema_free(s);
    /* a column that does not exist is a clear error */
    char *y = strdup(x);
    char *k = strstr(y, "<xdf:codeKey>name");
    memcpy(k + 13, "nope", 4);
    ASSERT_EQ(aw_fim_schema_load_mem(y, strlen(y), "k.xml", t, NULL, &s, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "F99000000001");
    ASSERT_CONTAINS(err.msg, "no key or column 'nope'");
    free(y);
}

TEST(xdf3_help_key) {
    /* flxbe-input names a help column; its code list reference is empty */
    aw_fim_schema_t *s = load("xdf3/flxbe-input.xml", NULL);
    const aw_fim_elem_t *f = NULL;
    for (size_t i = 0; i < s->nelems && !f; i++)
        if (s->elems[i]->kind == AW_FIM_FIELD) f = s->elems[i];
    ASSERT_NOT_NULL(f);
    ASSERT_STR(f->help_key, "HelpKey");
    ASSERT_STR(f->code_key, "CodeKey");
    aw_fim_schema_free(s);
    /* with a genericode list, the help column fills code->help */
    const char *t = aw_test_tmpdir();
    ASSERT_EQ(
        aw_test_sh("cp %s/tests/data/fim/xdf2/S00000094V1.0_xdf2/C00000021_genericode.xml %s/",
                   aw_test_srcdir(), t),
        0);
    const char *x = "<?xml version=\"1.0\"?><xdf:xdatenfelder.datenfeld.0104 "
                    "xmlns:xdf=\"urn:xoev-de:fim:standard:xdatenfelder_3.0.0\"><xdf:datenfeld>"
                    "<xdf:identifikation><xdf:id>F99000000001</xdf:id></xdf:identifikation>"
                    "<xdf:name>Art</xdf:name><xdf:feldart><code>select</code></xdf:feldart>"
                    "<xdf:datentyp><code>text</code></xdf:datentyp><xdf:codelisteReferenz>"
                    "<xdf:canonicalIdentification>urn:de:fim:codeliste:artbeschäftigungsverhältnis"
                    "</xdf:canonicalIdentification><xdf:version>2018-05-09</xdf:version>"
                    "</xdf:codelisteReferenz><xdf:helpKey>name</xdf:helpKey>"
                    "</xdf:datenfeld></xdf:xdatenfelder.datenfeld.0104>";
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load_mem(x, strlen(x), "h.xml", t, NULL, &s, &err) == 0, "%s",
               err.msg);
    f = aw_fim_schema_find(s, "F99000000001");
    ASSERT_STR(f->help_key, "name");
    ASSERT_EQ(f->codelist->ncodes, 9);
    ASSERT_STR(f->codelist->codes[0].code, "001");
    ASSERT_STR(f->codelist->codes[0].help, "Arbeitnehmerin");
    aw_fim_schema_free(s);
    /* an unknown help column is a clear error */
    char *y = strdup(x);
    memcpy(strstr(y, "<xdf:helpKey>name") + 13, "nope", 4);
    ASSERT_EQ(aw_fim_schema_load_mem(y, strlen(y), "h.xml", t, NULL, &s, &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "no key or column 'nope'");
    free(y);
}
