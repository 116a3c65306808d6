/* Tests for src/fim/export.c: the JSON Schema export, and the differential
 * test: our validator and ajv (on the exported schema) must agree on
 * accept/reject for every generated document. */
#include <stdio.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fim/fim.h"
#include "fim/internal.h"
#include "test.h"

static aw_fim_schema_t *load(const char *rel, const char *cl_rel) {
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/%s", aw_test_srcdir(), rel);
    snprintf(dir, sizeof dir, "%s/tests/data/fim/%s", aw_test_srcdir(), cl_rel ? cl_rel : "");
    aw_fim_load_opts_t o = {.codelist_dir = cl_rel ? dir : NULL};
    aw_fim_schema_t *s = NULL;
    aw_err_t err = {0};
    int rc = aw_fim_schema_load(path, &o, &s, &err);
    ASSERT_MSG(rc == 0, "load %s: %s", rel, err.msg);
    return s;
}

static void write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Loads the overlay without the rules JSON Schema cannot express (those are
 * the ones the export lists in its $comment). */
static void load_exportable_overlay(aw_fim_schema_t *s, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/data/overlays/%s", aw_test_srcdir(), name);
    char *text = aw_test_read_file(path, NULL);
    ASSERT_NOT_NULL(text);
    aw_err_t err;
    ASSERT_EQ(aw_fim_overlay_load_mem(s, text, strlen(text), name, &err), 0);
    aw_buf_t skipped = AW_BUF_INIT;
    int nskipped = aw_fim__overlay_not_exported(s, &skipped);
    aw_buf_t kept = AW_BUF_INIT;
    int line = 0, nrules = 0;
    for (char *p = text; p && *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        char tag[32];
        snprintf(tag, sizeof tag, "(line %d)", line);
        if (!skipped.data || !strstr(skipped.data, tag)) {
            aw_buf_append(&kept, p, len);
            if (len && p[0] == 'R') nrules++;
        }
        aw_buf_putc(&kept, '\n');
        p = nl ? nl + 1 : NULL;
    }
    fprintf(stderr, "%s: %d rules exported to JSON Schema, not exportable: %s\n", name, nrules,
            nskipped ? skipped.data : "none");
    ASSERT_GE(nrules, 8);
    ASSERT_EQ(aw_fim_overlay_load_mem(s, kept.data, kept.len, name, &err), 0);
    aw_buf_reset(&skipped);
    ASSERT_EQ(aw_fim__overlay_not_exported(s, &skipped), 0);
    aw_buf_free(&skipped);
    aw_buf_free(&kept);
    free(text);
}

/* invalid_div: at least ndocs / invalid_div documents must be invalid */
static void differential_mix(const char *rel, const char *cl_rel, int ndocs, const char *overlay,
                             int invalid_div) {
    aw_fim_schema_t *s = load(rel, cl_rel);
    if (overlay) load_exportable_overlay(s, overlay);
    aw_buf_t js = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_EQ(aw_fim_export_json_schema(s, &js, &err), 0);
    char spath[1024], dpath[1024], opath[1024];
    snprintf(spath, sizeof spath, "%s/schema.json", aw_test_tmpdir());
    snprintf(dpath, sizeof dpath, "%s/docs.jsonl", aw_test_tmpdir());
    snprintf(opath, sizeof opath, "%s/ajv.txt", aw_test_tmpdir());
    write_file(spath, js.data, js.len);
    aw_buf_t docs = AW_BUF_INIT;
    char *ours = calloc((size_t)ndocs, 1);
    int nvalid = 0;
    for (int i = 0; i < ndocs; i++) {
        aw_buf_t d = AW_BUF_INIT;
        ASSERT_EQ(aw_fim_sample_json(s, (uint64_t)i + 1, i % 2 == 1, &d), 0);
        aw_fim_errors_t errs;
        aw_fim_errors_init(&errs);
        int rc = aw_fim_validate(s, d.data, d.len, &errs, &err);
        ASSERT_MSG(rc == 0 || rc == AW_EINVAL, "validate failed: %s", err.msg);
        ours[i] = rc == 0 ? '1' : '0';
        nvalid += rc == 0;
        aw_fim_errors_free(&errs);
        aw_buf_append(&docs, d.data, d.len);
        aw_buf_putc(&docs, '\n');
        aw_buf_free(&d);
    }
    write_file(dpath, docs.data, docs.len);
    int rc = aw_test_sh("cd %s/tests/node && node fim-ajv.mjs %s %s > %s", aw_test_srcdir(), spath,
                        dpath, opath);
    ASSERT_EQ(rc, 0);
    size_t olen;
    char *out = aw_test_read_file(opath, &olen);
    ASSERT_NOT_NULL(out);
    int disagree = 0;
    char *line = out;
    const char *docp = docs.data;
    for (int i = 0; i < ndocs; i++) {
        ASSERT_MSG(line && *line, "ajv gave fewer verdicts than documents (%d)", i);
        const char *dend = strchr(docp, '\n');
        if (line[0] != ours[i]) {
            if (disagree < 5) {
                aw_fim_errors_t errs;
                aw_fim_errors_init(&errs);
                aw_fim_validate(s, docp, (size_t)(dend - docp), &errs, &err);
                fprintf(stderr, "doc %d: ours=%c ajv=%c first error: %s %s\n  %.*s\n", i, ours[i],
                        line[0], errs.n ? errs.v[0].path : "-", errs.n ? errs.v[0].msg_en : "-",
                        (int)(dend - docp > 3000 ? 3000 : dend - docp), docp);
                aw_fim_errors_free(&errs);
            }
            disagree++;
        }
        docp = dend + 1;
        char *nl = strchr(line, '\n');
        line = nl ? nl + 1 : NULL;
    }
    fprintf(stderr, "%s: %d documents, %d valid, %d disagreements\n", rel, ndocs, nvalid, disagree);
    ASSERT_EQ(disagree, 0);
    ASSERT_GT(nvalid, ndocs / 50);                  /* the generator makes valid documents */
    ASSERT_LT(nvalid, ndocs - ndocs / invalid_div); /* and invalid ones */
    free(out);
    free(ours);
    aw_buf_free(&docs);
    aw_buf_free(&js);
    aw_fim_schema_free(s);
}

static void differential_with(const char *rel, const char *cl_rel, int ndocs, const char *overlay) {
    differential_mix(rel, cl_rel, ndocs, overlay, 5);
}

static void differential(const char *rel, const char *cl_rel, int ndocs) {
    differential_with(rel, cl_rel, ndocs, NULL);
}

TEST_T(ajv_agrees_with_rules_s94, 240) {
    setenv("AMTSWEG_TODAY", "2026-06-15", 1);
    differential_with("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", NULL, 1000,
                      "S00000094.rules");
}
TEST_T(ajv_agrees_with_rules_s186, 240) {
    setenv("AMTSWEG_TODAY", "2026-06-15", 1);
    differential_with("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", NULL, 1000,
                      "S00000186.rules");
}

TEST_T(ajv_agrees_s94_xdf2, 240) {
    differential("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", NULL, 600);
}
TEST_T(ajv_agrees_s186_xdf2, 240) {
    differential("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml", NULL, 600);
}
TEST_T(ajv_agrees_s94_xdf3, 240) {
    differential("xdf3/S00000094V1.0_xdf3.xml", "xdf2/S00000094V1.0_xdf2", 600);
}
TEST_T(ajv_agrees_s186_xdf3, 240) {
    differential("xdf3/S00000186v1.0_xdf3.xml", "xdf2/S00000186v1.0_xdf2", 600);
}

TEST(export_fitko_style) {
    aw_fim_schema_t *s = load("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", NULL);
    aw_buf_t js = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_EQ(aw_fim_export_json_schema(s, &js, &err), 0);
    ASSERT_CONTAINS(js.data, "\"$schema\":\"https://json-schema.org/draft/2020-12/schema\"");
    ASSERT_CONTAINS(js.data, "\"$defs\":{");
    ASSERT_CONTAINS(js.data, "\"F60000246\":{\"title\":\"Postleitzahl\"");
    ASSERT_CONTAINS(js.data, "\"minLength\":5,\"maxLength\":5,\"pattern\":\"^(?:([0]{1}[1-9]{1}|");
    ASSERT_CONTAINS(js.data, "\"G00000253\":{\"$ref\":\"#/$defs/G00000253\"}");
    ASSERT_CONTAINS(js.data, "\"additionalProperties\":false");
    ASSERT_CONTAINS(js.data, "\"enum\":[");
    aw_buf_free(&js);
    aw_fim_schema_free(s);
}

/* text_latin and locked fields: amtsweg and ajv agree on generated documents
 * (the generator puts Greek, Cyrillic and dashes into text_latin values and
 * changes locked presets). */
TEST_T(ajv_agrees_latin_and_locked, 120) {
    /* five fields, so fewer generated documents come out invalid */
    differential_mix("unit/latin.xml", NULL, 600, NULL, 12);
}

TEST(export_latin_and_locked) {
    aw_fim_schema_t *s = load("unit/latin.xml", NULL);
    aw_buf_t js = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_EQ(aw_fim_export_json_schema(s, &js, &err), 0);
    aw_buf_putc(&js, 0);
    json_t *j = json_loads(js.data, JSON_REJECT_DUPLICATES, NULL);
    ASSERT_NOT_NULL(j);
    json_t *defs = json_object_get(j, "$defs");
    const char *p =
        json_string_value(json_object_get(json_object_get(defs, "F99000000011"), "pattern"));
    ASSERT_NOT_NULL(p);
    ASSERT(strncmp(p, "^[\\u0009-\\u000A\\u000D\\u0020-\\u007E", 33) == 0);
    /* a field with its own pattern keeps it; String.Latin+ goes into allOf */
    json_t *f12 = json_object_get(defs, "F99000000012");
    ASSERT_STR(json_string_value(json_object_get(f12, "pattern")), "^(?:[A-Z][^\\n\\r]*)$");
    ASSERT_STR(json_string_value(
                   json_object_get(json_array_get(json_object_get(f12, "allOf"), 0), "pattern")),
               p);
    ASSERT_STR(json_string_value(json_object_get(json_object_get(defs, "F99000000013"), "const")),
               "DE");
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(defs, "F99000000014"), "const")),
              2);
    ASSERT(json_is_true(json_object_get(json_object_get(defs, "F99000000015"), "const")));
    json_decref(j);
    aw_buf_free(&js);
    aw_fim_schema_free(s);
}
