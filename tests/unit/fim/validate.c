/* Tests for src/fim/validate.c: all errors at once, paths, messages. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <stdlib.h>

#include "fim/fim.h"
#include "test.h"

static aw_fim_schema_t *types(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/unit/types.xml", aw_test_srcdir());
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    return s;
}

static int run(aw_fim_schema_t *s, const char *json, aw_fim_errors_t *errs) {
    aw_fim_errors_init(errs);
    aw_err_t err;
    return aw_fim_validate(s, json, strlen(json), errs, &err);
}

#define VALID_BASE                                                                   \
    "\"G99000000001\":{\"F99000000001\":\"01067\"},\"F99000000003\":\"1990-05-17\"," \
    "\"F99000000006\":[\"01\"]"

TEST(valid_document) {
    aw_fim_schema_t *s = types();
    aw_fim_errors_t e;
    ASSERT_EQ(run(s,
                  "{" VALID_BASE ",\"F99000000004\":3,\"F99000000005\":true,"
                  "\"F99000000007\":12.5,\"F99000000009\":\"08:30\"}",
                  &e),
              0);
    ASSERT_EQ(e.n, 0);
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(postleitzahl_message) {
    aw_fim_schema_t *s = types();
    aw_fim_errors_t e;
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"1234\"},\"F99000000003\":\"1990-05-17\","
                  "\"F99000000006\":[\"01\"]}",
                  &e),
              AW_EINVAL);
    ASSERT_EQ(e.n, 1);
    ASSERT_STR(e.v[0].path, "/G99000000001/F99000000001");
    ASSERT_STR(e.v[0].field_id, "F99000000001");
    ASSERT_STR(e.v[0].label, "Postleitzahl");
    ASSERT_STR(e.v[0].msg_de, "Postleitzahl: Bitte genau 5 Ziffern eingeben.");
    ASSERT_STR(e.v[0].msg_en, "Postleitzahl: Please enter exactly 5 digits.");
    ASSERT_STR(e.v[0].text_de, "Bitte genau 5 Ziffern eingeben.");
    /* right length, wrong digits (00xxx is not a German postcode) */
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"00123\"},\"F99000000003\":\"1990-05-17\","
                  "\"F99000000006\":[\"01\"]}",
                  &e),
              AW_EINVAL);
    ASSERT_STR(e.v[0].code, "pattern");
    ASSERT_STR(e.v[0].msg_de, "Postleitzahl: Bitte genau 5 Ziffern eingeben.");
    ASSERT_NOT_NULL(aw_fim_errors_for(&e, "/G99000000001/F99000000001"));
    ASSERT_NULL(aw_fim_errors_for(&e, "/F99000000003"));
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(all_errors_at_once) {
    aw_fim_schema_t *s = types();
    aw_fim_errors_t e;
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000002\":\"Berlin Mitte\"},"
                  "\"F99000000003\":\"2023-02-30\",\"F99000000004\":11,\"F99000000005\":\"ja\","
                  "\"F99000000006\":[\"01\",\"02\",\"01\",\"02\"],\"F99000000007\":1.234,"
                  "\"F99000000008\":\"x\",\"F99000000009\":\"25:00\",\"X\":1}",
                  &e),
              AW_EINVAL);
    const char *want[][2] = {
        {"/G99000000001/F99000000001", "required"},
        {"/G99000000001/F99000000002", "maxLength"},
        {"/F99000000003", "format"},
        {"/F99000000004", "maximum"},
        {"/F99000000005", "type"},
        {"/F99000000006", "maxItems"},
        {"/F99000000007", "type"},
        {"/F99000000009", "format"},
        {"/F99000000008", "unknown"},
        {"/X", "unknown"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const aw_fim_error_t *x = aw_fim_errors_for(&e, want[i][0]);
        ASSERT_MSG(x != NULL, "no error for %s", want[i][0]);
        ASSERT_STR(x->code, want[i][1]);
        ASSERT(*x->text_de && *x->text_en);
    }
    ASSERT_EQ(e.n, sizeof want / sizeof *want);
    aw_buf_t b = AW_BUF_INIT;
    aw_fim_errors_json(&e, &b);
    ASSERT_CONTAINS(b.data, "\"path\":\"/F99000000004\",\"field\":\"F99000000004\",\"label\":"
                            "\"Anzahl Hunde\",\"code\":\"maximum\",\"message_de\":\"Anzahl Hunde: "
                            "Der Wert darf höchstens 10 sein.\"");
    aw_buf_free(&b);
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(cardinality_and_types) {
    aw_fim_schema_t *s = types();
    aw_fim_errors_t e;
    /* a single value where a list belongs, empty list, group not an object */
    ASSERT_EQ(
        run(s, "{\"G99000000001\":[],\"F99000000003\":\"1899-12-31\",\"F99000000006\":\"01\"}", &e),
        AW_EINVAL);
    ASSERT_STR(aw_fim_errors_for(&e, "/G99000000001")->code, "type");
    ASSERT_STR(aw_fim_errors_for(&e, "/F99000000006")->code, "type");
    ASSERT_STR(aw_fim_errors_for(&e, "/F99000000003")->code, "minimum");
    ASSERT_STR(aw_fim_errors_for(&e, "/F99000000003")->text_de,
               "Das Datum darf nicht vor dem 01.01.1900 liegen.");
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s, "{" VALID_BASE ",\"F99000000004\":2.0}", &e), 0); /* integral */
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s, "{" VALID_BASE ",\"F99000000004\":2.5}", &e), AW_EINVAL);
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"01067\"},\"F99000000003\":\"1990-05-"
                  "17\",\"F99000000006\":[]}",
                  &e),
              AW_EINVAL);
    ASSERT_STR(e.v[0].code, "minItems");
    ASSERT_STR(e.v[0].text_de, "Bitte mindestens einen Eintrag angeben.");
    aw_fim_errors_free(&e);
    /* empty text is not a value */
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"01067\",\"F99000000002\":\"\"},"
                  "\"F99000000003\":\"1990-05-17\",\"F99000000006\":[\"01\"]}",
                  &e),
              AW_EINVAL);
    ASSERT_STR(e.v[0].msg_de, "Ort: Bitte ausfüllen.");
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(json_syntax_duplicates_and_bounds) {
    aw_fim_schema_t *s = types();
    aw_fim_errors_t e;
    ASSERT_EQ(run(s, "{\"F99000000003\":\"1990-05-17\",\"F99000000003\":\"1990-05-17\"}", &e),
              AW_EINVAL);
    ASSERT_STR(e.v[0].code, "syntax");
    ASSERT_CONTAINS(e.v[0].msg_en, "duplicate");
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s, "[1,2", &e), AW_EINVAL);
    ASSERT_STR(e.v[0].code, "syntax");
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s, "[1]", &e), AW_EINVAL);
    ASSERT_STR(e.v[0].code, "type");
    aw_fim_errors_free(&e);
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = 0;
    ASSERT_EQ(run(s, deep, &e), AW_EINVAL);
    ASSERT_CONTAINS(e.v[0].msg_en, "nested deeper");
    aw_fim_errors_free(&e);
    /* invalid UTF-8 */
    ASSERT_EQ(run(s, "{\"X\":\"\xff\"}", &e), AW_EINVAL);
    ASSERT_STR(e.v[0].code, "syntax");
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(real_schema_sample_documents) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml",
             aw_test_srcdir());
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_EQ(aw_fim_schema_load(path, NULL, &s, &err), 0);
    int valid = 0;
    for (int i = 0; i < 50; i++) {
        aw_buf_t d = AW_BUF_INIT;
        aw_fim_sample_json(s, (uint64_t)i, false, &d);
        aw_fim_errors_t e;
        aw_fim_errors_init(&e);
        if (aw_fim_validate(s, d.data, d.len, &e, &err) == 0)
            valid++;
        else
            fprintf(stderr, "seed %d: %s %s\n", i, e.v[0].path, e.v[0].msg_en);
        aw_fim_errors_free(&e);
        aw_buf_free(&d);
    }
    ASSERT_EQ(valid, 50); /* every generated valid document is valid */
    aw_fim_schema_free(s);
}

/* The streaming fast path and the jansson path must report the same errors. */
static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *error_set(const aw_fim_errors_t *e) {
    char **v = calloc(e->n + 1, sizeof *v);
    for (size_t i = 0; i < e->n; i++) {
        size_t l = strlen(e->v[i].path) + strlen(e->v[i].code) + strlen(e->v[i].msg_de) + 4;
        v[i] = malloc(l);
        snprintf(v[i], l, "%s %s %s", e->v[i].path, e->v[i].code, e->v[i].msg_de);
    }
    qsort(v, e->n, sizeof *v, cmp_str);
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_puts(&b, "");
    for (size_t i = 0; i < e->n; i++) {
        aw_buf_puts(&b, v[i]);
        aw_buf_putc(&b, '\n');
        free(v[i]);
    }
    free(v);
    return aw_buf_take(&b, NULL);
}

static void stream_vs_dom(const char *rel, const char *cl_rel) {
    char path[1024], dir[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/%s", aw_test_srcdir(), rel);
    snprintf(dir, sizeof dir, "%s/tests/data/fim/%s", aw_test_srcdir(), cl_rel ? cl_rel : "");
    aw_fim_load_opts_t o = {.codelist_dir = cl_rel ? dir : NULL};
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_EQ(aw_fim_schema_load(path, &o, &s, &err), 0);
    for (int i = 0; i < 400; i++) {
        aw_buf_t d = AW_BUF_INIT;
        aw_fim_sample_json(s, (uint64_t)i * 7 + 3, i % 3 != 0, &d);
        if (i % 50 == 7) { /* escapes, unicode, whitespace */
            aw_buf_t w = AW_BUF_INIT;
            for (size_t k = 0; k < d.len; k++) {
                if (d.data[k] == ',')
                    aw_buf_puts(&w, " ,\n\t");
                else
                    aw_buf_putc(&w, d.data[k]);
            }
            aw_buf_free(&d);
            d = w;
        }
        aw_fim_errors_t a, b;
        aw_fim_errors_init(&a);
        aw_fim_errors_init(&b);
        int ra = aw_fim_validate(s, d.data, d.len, &a, &err);
        json_error_t je;
        json_t *root = json_loadb(d.data, d.len, JSON_REJECT_DUPLICATES, &je);
        ASSERT_NOT_NULL(root);
        int rb = aw_fim_validate_json(s, root, &b, &err);
        json_decref(root);
        ASSERT_EQ(ra, rb);
        char *sa = error_set(&a), *sb = error_set(&b);
        ASSERT_MSG(strcmp(sa, sb) == 0, "doc %d differs:\nstream:\n%s\ndom:\n%s\n%s", i, sa, sb,
                   d.data);
        free(sa);
        free(sb);
        aw_fim_errors_free(&a);
        aw_fim_errors_free(&b);
        aw_buf_free(&d);
    }
    aw_fim_schema_free(s);
}

TEST(stream_equals_dom) {
    stream_vs_dom("xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml", NULL);
    stream_vs_dom("xdf3/S00000186v1.0_xdf3.xml", "xdf2/S00000186v1.0_xdf2");
    stream_vs_dom("unit/types.xml", NULL);
}

TEST(stream_edge_cases) {
    aw_fim_schema_t *s = types();
    aw_fim_errors_t e;
    /* escapes decode before checks: "01067" */
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"\\u0030\\u00311067\"},"
                  "\"F99000000003\":\"1990-05-17\",\"F99000000006\":[\"01\"]}",
                  &e),
              AW_EINVAL);
    ASSERT_STR(e.v[0].code, "maxLength");
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s,
                  "{\"G99000000001\":{\"F99000000001\":\"\\u00301067\"},"
                  "\"F99000000003\":\"1990-05-17\",\"F99000000006\":[\"01\"]}",
                  &e),
              0);
    aw_fim_errors_free(&e);
    /* duplicate known key, duplicate unknown key, lone surrogate, trailing garbage */
    const char *bad[] = {
        "{\"F99000000003\":\"1990-05-17\",\"F99000000003\":\"1990-05-17\"}",
        "{\"X\":1,\"X\":2}",
        "{\"X\":{\"a\":1,\"a\":2}}", /* found by the fuzzer: duplicates below an unknown key */
        "{\"F99000000003\":\"\\ud800\"}",
        "{\"F99000000003\":\"1990-05-17\"} x",
        "{\"F99000000003\":\"1990-05-17\",}",
        "{\"F99000000004\":01}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ASSERT_EQ(run(s, bad[i], &e), AW_EINVAL);
        ASSERT_STR(e.v[0].code, "syntax");
        aw_fim_errors_free(&e);
    }
    aw_fim_schema_free(s);
}

static aw_fim_schema_t *latin(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/unit/latin.xml", aw_test_srcdir());
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    return s;
}

TEST(text_latin_charset) {
    aw_fim_schema_t *s = latin();
    aw_fim_errors_t e;
    ASSERT_EQ(run(s, "{\"F99000000011\":\"Nguyễn-Łódź\",\"F99000000012\":\"Köln\"}", &e), 0);
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s, "{\"F99000000011\":\"Ab\\u03a9\",\"F99000000012\":\"k\\u2013\"}", &e),
              AW_EINVAL);
    ASSERT_EQ(e.n, 2);
    ASSERT_STR(e.v[0].code, "charset");
    ASSERT_STR(e.v[0].path, "/F99000000011");
    ASSERT_STR(e.v[0].msg_de, "Familienname: Das Zeichen \"\xce\xa9\" (U+03A9) ist nicht erlaubt; "
                              "bitte nur lateinische Zeichen nach DIN SPEC 91379 verwenden.");
    ASSERT_CONTAINS(e.v[0].msg_en, "(U+03A9) is not allowed");
    /* the character set comes before the field's own pattern */
    ASSERT_STR(e.v[1].code, "charset");
    ASSERT_CONTAINS(e.v[1].text_en, "U+2013");
    aw_fim_errors_free(&e);
    /* length first: 21 characters */
    ASSERT_EQ(run(s, "{\"F99000000011\":\"\\u03a9bcdefghijklmnopqrstu\"}", &e), AW_EINVAL);
    ASSERT_STR(e.v[0].code, "maxLength");
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}

TEST(locked_preset_enforced) {
    aw_fim_schema_t *s = latin();
    aw_fim_errors_t e;
    ASSERT_EQ(run(s,
                  "{\"F99000000011\":\"A\",\"F99000000013\":\"DE\",\"F99000000014\":2.0,"
                  "\"F99000000015\":true}",
                  &e),
              0);
    aw_fim_errors_free(&e);
    ASSERT_EQ(run(s,
                  "{\"F99000000011\":\"A\",\"F99000000013\":\"AT\",\"F99000000014\":3,"
                  "\"F99000000015\":false}",
                  &e),
              AW_EINVAL);
    ASSERT_EQ(e.n, 3);
    ASSERT_STR(e.v[0].code, "const");
    ASSERT_STR(e.v[0].msg_de, "Staat: Dieses Feld ist gesperrt; der Wert muss \"DE\" sein.");
    ASSERT_STR(e.v[0].msg_en, "Staat: This field is locked; its value must be \"DE\".");
    ASSERT_STR(e.v[1].path, "/F99000000014");
    ASSERT_STR(e.v[1].code, "const");
    ASSERT_STR(e.v[2].code, "const");
    aw_fim_errors_free(&e);
    /* a wrong type is a type error, not a const error; absence is fine (0:1) */
    ASSERT_EQ(run(s, "{\"F99000000011\":\"A\",\"F99000000014\":\"2\"}", &e), AW_EINVAL);
    ASSERT_EQ(e.n, 1);
    ASSERT_STR(e.v[0].code, "type");
    aw_fim_errors_free(&e);
    /* the DOM path (aw_fim_validate_json) gives the same */
    json_t *j = json_loads("{\"F99000000011\":\"A\",\"F99000000013\":\"AT\"}", 0, NULL);
    aw_fim_errors_init(&e);
    aw_err_t err;
    ASSERT_EQ(aw_fim_validate_json(s, j, &e, &err), AW_EINVAL);
    ASSERT_EQ(e.n, 1);
    ASSERT_STR(e.v[0].code, "const");
    json_decref(j);
    aw_fim_errors_free(&e);
    aw_fim_schema_free(s);
}
