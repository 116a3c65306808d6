/* Tests for src/fim/quality.c: FIM quality checks (Meldungen.xml). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fim/fim.h"
#include "test.h"

static aw_fim_schema_t *load(const char *rel) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/%s", aw_test_srcdir(), rel);
    aw_fim_schema_t *s;
    aw_err_t err;
    ASSERT_MSG(aw_fim_schema_load(path, NULL, &s, &err) == 0, "%s", err.msg);
    return s;
}

static bool has(const aw_fim_qreport_t *r, int code, const char *elem) {
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].code == code && (!elem || (r->v[i].elem_id && !strcmp(r->v[i].elem_id, elem))))
            return true;
    return false;
}

TEST(texts_are_verbatim_from_meldungen) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/qs/Meldungen.xml", aw_test_srcdir());
    char *x = aw_test_read_file(path, NULL);
    ASSERT_NOT_NULL(x);
    size_t n;
    const aw_fim_qmsg_t *c = aw_fim_quality_checks(&n);
    ASSERT_GE(n, 25);
    for (size_t i = 0; i < n; i++) {
        char key[64], typ[128], txt[600];
        snprintf(key, sizeof key, "<SimpleValue>%d</SimpleValue>", c[i].code);
        snprintf(typ, sizeof typ, "<SimpleValue>%s</SimpleValue>", c[i].type);
        snprintf(txt, sizeof txt, "<SimpleValue>%s</SimpleValue>", c[i].text);
        const char *p = strstr(x, key);
        ASSERT_MSG(p != NULL, "code %d not in Meldungen.xml", c[i].code);
        const char *end = strstr(p, "</Row>");
        const char *t = strstr(p, typ), *m = strstr(p, txt);
        ASSERT_MSG(t && t < end, "code %d: type differs", c[i].code);
        ASSERT_MSG(m && m < end, "code %d: text differs", c[i].code);
    }
    free(x);
}

TEST(findings_on_a_bad_schema) {
    aw_fim_schema_t *s = load("unit/quality.xml");
    aw_fim_qreport_t r;
    ASSERT_EQ(aw_fim_quality(s, &r), 0);
    static const int want[] = {1003, 1006, 1007, 1011, 1012, 1013, 1014, 1015, 1016, 1017,
                               1018, 1023, 1024, 1025, 1027, 1028, 1031, 1039, 1044, 1045,
                               1056, 1057, 1059, 1060, 1061, 1062, 1065, 1067, 1069, 1072,
                               1075, 1077, 1090, 1098, 1099, 1102, 1103, 1109, 1120, 1139};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ASSERT_MSG(has(&r, want[i], NULL), "check %d did not fire", want[i]);
    ASSERT(has(&r, 1011, "F99000000101"));
    ASSERT(has(&r, 1039, "X1"));
    ASSERT(has(&r, 1024, "R99000000101"));
    ASSERT(has(&r, 1023, "G99000000101"));
    ASSERT_GT(aw_fim_qreport_errors(&r), 20);
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
}

TEST(real_schema_findings) {
    aw_fim_schema_t *s = load("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml");
    aw_fim_qreport_t r;
    aw_fim_quality(s, &r);
    ASSERT(has(&r, 1077, "F00000519")); /* bool field with inhalt 'nein' */
    ASSERT(has(&r, 1048, "F00002507")); /* umlaut in code list URN */
    ASSERT(has(&r, 1105, "F00000537")); /* code list version 2020-28-09 */
    ASSERT(!has(&r, 1039, NULL));       /* ids are well-formed */
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
}

TEST(clean_small_schema) {
    aw_fim_schema_t *s = load("unit/types.xml");
    aw_fim_qreport_t r;
    aw_fim_quality(s, &r);
    for (size_t i = 0; i < r.n; i++)
        ASSERT_MSG(r.v[i].level > AW_FIM_Q_METHOD || r.v[i].code == 1007, "unexpected %d on %s",
                   r.v[i].code, r.v[i].elem_id);
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
}

TEST(rule_references) {
    aw_fim_schema_t *s = load("xdf3/flxbe-simple.xml");
    aw_fim_qreport_t r;
    aw_fim_quality(s, &r);
    ASSERT(has(&r, 1041, "R60000000019")); /* 9-character id in an XDF3 rule text */
    ASSERT(has(&r, 1001, "R60000000019")); /* G60000087 is not in the group */
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
    s = load("xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml");
    aw_fim_quality(s, &r);
    ASSERT(!has(&r, 1001, NULL)); /* every rule of the real schema names reachable elements */
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
}

TEST(string_latin_1131) {
    aw_fim_schema_t *s = load("unit/latin.xml");
    aw_fim_qreport_t r;
    ASSERT_EQ(aw_fim_quality(s, &r), 0);
    ASSERT(has(&r, 1131, "F99000000011"));
    ASSERT(!has(&r, 1131, "F99000000012"));
    for (size_t i = 0; i < r.n; i++)
        if (r.v[i].code == 1131) {
            ASSERT_STR(r.v[i].type, "FehlerKritisch");
            ASSERT_STR(r.v[i].detail, "beschreibung: U+2013 at byte 9");
        }
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
    /* the small clean schema has none */
    s = load("unit/types.xml");
    ASSERT_EQ(aw_fim_quality(s, &r), 0);
    ASSERT(!has(&r, 1131, NULL));
    aw_fim_qreport_free(&r);
    aw_fim_schema_free(s);
}
