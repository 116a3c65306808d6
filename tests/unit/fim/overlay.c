/* Tests for src/fim/overlay.c: the rule language and the shipped overlays. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fim/fim.h"
#include "test.h"

static aw_fim_schema_t *load(const char *rel, const char *cl_rel) {
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/%s", aw_test_srcdir(), rel);
    snprintf(dir, sizeof dir, "%s/tests/data/fim/%s", aw_test_srcdir(), cl_rel ? cl_rel : "");
    aw_fim_load_opts_t o = {.codelist_dir = cl_rel ? dir : NULL};
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load(path, &o, &s, &err) == 0, "%s", err.msg);
    return s;
}

static const char *OVERLAY =
    "# test overlay\n"
    "schema S99000000001\n"
    "T1: require F99000000004 if F99000000005 == true message \"Bitte die Anzahl angeben.\" "
    "\"Please give the number.\"\n"
    "T2: forbid G99000000001/F99000000002 if F99000000004 > 5\n"
    "T3: at_least_one F99000000007, F99000000009\n"
    "T4: unique F99000000006\n"
    "T5: assert F99000000003 <= today\n"
    "T6: show F99000000007 if F99000000006 in (\"02\")\n"
    "T7 in G99000000001: require F99000000002 if F99000000001 == \"01067\"\n"
    "T8: require F99000000009 if F99000000003 > today - 30 and not (F99000000005 == false)\n";

static int run(aw_fim_schema_t *s, const char *json, aw_fim_errors_t *e) {
    aw_fim_errors_init(e);
    aw_err_t err;
    return aw_fim_validate(s, json, strlen(json), e, &err);
}

static const aw_fim_error_t *by_rule(const aw_fim_errors_t *e, const char *rule) {
    for (size_t i = 0; i < e->n; i++)
        if (e->v[i].rule_id && strcmp(e->v[i].rule_id, rule) == 0) return &e->v[i];
    return NULL;
}

TEST(rule_language) {
    setenv("AMTSWEG_TODAY", "2026-06-15", 1);
    aw_fim_schema_t *s = load("unit/types.xml", NULL);
    aw_err_t err;
    ASSERT_MSG(aw_fim_overlay_load_mem(s, OVERLAY, strlen(OVERLAY), "t.rules", &err) == 0, "%s",
               err.msg);
    aw_fim_errors_t e;
    /* satisfies every rule */
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"01067\",\"F99000000002\":\"Dre\"},"
                  "\"F99000000003\":\"1990-05-17\",\"F99000000006\":[\"02\"],"
                  "\"F99000000007\":5}",
                  &e),
              0);
    aw_fim_errors_free(&e);
    /* breaks T1..T7 */
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"01067\"},"
                  "\"F99000000003\":\"2027-01-01\",\"F99000000005\":true,"
                  "\"F99000000006\":[\"01\",\"01\"]}",
                  &e),
              AW_EINVAL);
    const aw_fim_error_t *x = by_rule(&e, "T1");
    ASSERT_NOT_NULL(x);
    ASSERT_STR(x->path, "/F99000000004");
    ASSERT_STR(x->msg_de, "Anzahl Hunde: Bitte die Anzahl angeben.");
    x = by_rule(&e, "T3");
    ASSERT_NOT_NULL(x);
    ASSERT_STR(x->text_de, "Bitte mindestens eine dieser Angaben machen: Betrag oder Uhrzeit.");
    ASSERT_STR(x->text_en, "Please provide at least one of: Betrag or Uhrzeit.");
    x = by_rule(&e, "T4");
    ASSERT_NOT_NULL(x);
    ASSERT_STR(x->path, "/F99000000006");
    ASSERT_NOT_NULL(by_rule(&e, "T5"));
    x = by_rule(&e, "T7");
    ASSERT_NOT_NULL(x);
    ASSERT_STR(x->path, "/G99000000001/F99000000002");
    ASSERT_STR(x->code, "required");
    ASSERT_NOT_NULL(by_rule(&e, "T8")); /* future date within 30 days of... and not false */
    ASSERT_NULL(by_rule(&e, "T2"));
    aw_fim_errors_free(&e);
    /* forbid and show */
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"01069\",\"F99000000002\":\"Dre\"},"
                  "\"F99000000003\":\"1990-05-17\",\"F99000000004\":7,"
                  "\"F99000000006\":[\"01\"],\"F99000000007\":5}",
                  &e),
              AW_EINVAL);
    x = by_rule(&e, "T2");
    ASSERT_NOT_NULL(x);
    ASSERT_STR(x->code, "forbidden");
    ASSERT_STR(x->path, "/G99000000001/F99000000002");
    x = by_rule(&e, "T6");
    ASSERT_NOT_NULL(x);
    ASSERT_STR(x->path, "/F99000000007");
    ASSERT_EQ(e.n, 2);
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(visibility_for_forms) {
    aw_fim_schema_t *s = load("unit/types.xml", NULL);
    aw_err_t err;
    ASSERT_EQ(aw_fim_overlay_load_mem(s, OVERLAY, strlen(OVERLAY), "t.rules", &err), 0);
    const aw_fim_elem_t *betrag = aw_fim_schema_find(s, "F99000000007");
    const aw_fim_elem_t *ort = aw_fim_schema_find(s, "F99000000002");
    ASSERT(!aw_fim_overlay_visible(s, betrag, NULL));
    ASSERT(aw_fim_overlay_visible(s, ort, NULL));
    aw_fim_schema_free(s);
}

static void load_error(const char *text, const char *needle) {
    aw_fim_schema_t *s = load("unit/types.xml", NULL);
    aw_err_t err;
    ASSERT_EQ(aw_fim_overlay_load_mem(s, text, strlen(text), "bad.rules", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, needle);
    ASSERT_NULL(s->overlay);
    aw_fim_schema_free(s);
}

TEST(load_errors) {
    load_error("R1: require F12345678", "bad.rules:1: unknown element id 'F12345678'");
    load_error("\nR1: require F99000000004 if F00000001 == 1", "bad.rules:2: unknown element id");
    load_error("R1: demand F99000000004", "unknown action 'demand'");
    load_error("R1: require F99000000004 if F99000000005 ==", "element id expected");
    load_error("R1: require F99000000004 if (F99000000005 == true", "')' expected");
    load_error("R1: require F99000000004 if F99000000005 == \"x", "unterminated string");
    load_error("schema S00000094\n", "overlay is for schema S00000094");
    load_error("R1: unique F99000000004", "unique needs a repeated element");
    load_error("R1 in G12345678: require F99000000004", "unknown group 'G12345678'");
}

TEST(shipped_overlays_load_on_both_versions) {
    const char *cases[][3] = {
        {"xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", NULL, "S00000094.rules"},
        {"xdf3/S00000094V1.0_xdf3.xml", "xdf2/S00000094V1.0_xdf2", "S00000094.rules"},
        {"xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", NULL, "S00000186.rules"},
        {"xdf3/S00000186v1.0_xdf3.xml", "xdf2/S00000186v1.0_xdf2", "S00000186.rules"},
    };
    for (size_t i = 0; i < 4; i++) {
        aw_fim_schema_t *s = load(cases[i][0], cases[i][1]);
        char path[1024];
        snprintf(path, sizeof path, "%s/data/overlays/%s", aw_test_srcdir(), cases[i][2]);
        aw_err_t err;
        ASSERT_MSG(aw_fim_overlay_load(s, path, &err) == 0, "%s", err.msg);
        aw_fim_schema_free(s);
    }
}

TEST(real_rules_s186) {
    setenv("AMTSWEG_TODAY", "2026-06-15", 1);
    aw_fim_schema_t *s = load("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/data/overlays/S00000186.rules", aw_test_srcdir());
    aw_err_t err;
    ASSERT_EQ(aw_fim_overlay_load(s, path, &err), 0);
    /* count rule errors over generated documents: the rules fire */
    int fired = 0;
    char seen[64][16];
    int nseen = 0;
    for (int i = 0; i < 200; i++) {
        aw_buf_t d = AW_BUF_INIT;
        aw_fim_sample_json(s, (uint64_t)i, false, &d);
        aw_fim_errors_t e;
        aw_fim_errors_init(&e);
        aw_fim_validate(s, d.data, d.len, &e, &err);
        for (size_t k = 0; k < e.n; k++) {
            ASSERT_NOT_NULL(e.v[k].rule_id); /* structural errors: none in valid samples */
            fired++;
            bool dup = false;
            for (int j = 0; j < nseen; j++) dup |= strcmp(seen[j], e.v[k].rule_id) == 0;
            if (!dup && nseen < 64) snprintf(seen[nseen++], 16, "%s", e.v[k].rule_id);
        }
        aw_fim_errors_free(&e);
        aw_buf_free(&d);
    }
    ASSERT_GT(fired, 0);
    ASSERT_GE(nseen, 8); /* at least 8 different real rules triggered */
    /* a targeted one: Koordinator vorhanden (02) needs a name */
    const char *doc = "{\"F00002534\":\"02\"}";
    aw_fim_errors_t e;
    aw_fim_errors_init(&e);
    aw_fim_validate(s, doc, strlen(doc), &e, &err);
    const aw_fim_error_t *x = by_rule(&e, "R00001326");
    ASSERT_NULL(x); /* F00002534 lives in a group; a top-level key is unknown */
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}
