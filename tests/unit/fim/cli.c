/* Tests for src/fim/cli.c: `amtsweg schema ...` through the real binary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#define D "%s/tests/data/fim"

static char *out_of(const char *name) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", aw_test_tmpdir(), name);
    return aw_test_read_file(p, NULL);
}

TEST(schema_help) {
    const char *b = aw_test_bin(), *t = aw_test_tmpdir();
    ASSERT_EQ(aw_test_sh("%s schema --help > %s/h.txt", b, t), 0);
    char *h = out_of("h.txt");
    ASSERT_CONTAINS(h, "validate FILE DATA.json");
    free(h);
    const char *cmds[] = {"check", "show", "export", "validate"};
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(aw_test_sh("%s schema %s --help > %s/h.txt", b, cmds[i], t), 0);
        h = out_of("h.txt");
        ASSERT_CONTAINS(h, "usage: amtsweg schema");
        free(h);
    }
    ASSERT_EQ(aw_test_sh("%s --help | grep -q 'schema'", b), 0);
    ASSERT_EQ(aw_test_sh("%s schema frobnicate 2>/dev/null", b), 2);
}

TEST(schema_show_and_export) {
    const char *b = aw_test_bin(), *t = aw_test_tmpdir(), *s = aw_test_srcdir();
    ASSERT_EQ(aw_test_sh("%s schema show " D "/xdf2/S00000186v1.0_xdf2/S00000186v1.0_xdf2.xml > "
                         "%s/show.txt",
                         b, s, t),
              0);
    char *o = out_of("show.txt");
    ASSERT_CONTAINS(o, "[1:1] S00000186 v1.0");
    ASSERT_CONTAINS(o, "[1:*] G00000282 v1.0 \"Verantwortliche Person im Betrieb\"");
    ASSERT_CONTAINS(
        o, "select/text codes=urn:de:fim:codeliste:nichterforderlichvorhanden_2020-12-04 (2)");
    free(o);
    ASSERT_EQ(aw_test_sh("%s schema export --json-schema " D
                         "/xdf2/S00000094V1.0_xdf2/S00000094V1.0_xdf2.xml > %s/s.json",
                         b, s, t),
              0);
    o = out_of("s.json");
    ASSERT_CONTAINS(o, "\"$schema\":\"https://json-schema.org/draft/2020-12/schema\"");
    free(o);
    ASSERT_EQ(aw_test_sh("%s schema export " D "/xdf2/flxbe-simple.xml 2>/dev/null", b, s), 2);
}

TEST(schema_check_exit_status) {
    const char *b = aw_test_bin(), *t = aw_test_tmpdir(), *s = aw_test_srcdir();
    ASSERT_EQ(aw_test_sh("%s schema check " D "/unit/quality.xml > %s/c.txt", b, s, t), 1);
    char *o = out_of("c.txt");
    ASSERT_CONTAINS(o,
                    "FEHLER 1011 (FehlerKritisch) F99000000101: Bei Datenfeldern mit der Feldart "
                    "'Auswahl' muss der Datentyp 'Text' sein.");
    free(o);
    ASSERT_EQ(aw_test_sh("%s schema check " D "/attack/xxe.xml 2> %s/e.txt", b, s, t), 1);
    o = out_of("e.txt");
    ASSERT_CONTAINS(o, "document type declarations");
    free(o);
    ASSERT_EQ(aw_test_sh("%s schema check " D "/unit/types.xml > /dev/null", b, s), 0);
}

TEST(schema_validate) {
    const char *b = aw_test_bin(), *t = aw_test_tmpdir(), *s = aw_test_srcdir();
    ASSERT_EQ(aw_test_sh("printf '%%s' '{\"G99000000001\":{\"F99000000001\":\"1234\"},"
                         "\"F99000000003\":\"1990-01-01\",\"F99000000006\":[\"01\"]}' > %s/d.json",
                         t),
              0);
    ASSERT_EQ(
        aw_test_sh("%s schema validate " D "/unit/types.xml %s/d.json > %s/v.txt", b, s, t, t), 1);
    char *o = out_of("v.txt");
    ASSERT_CONTAINS(o, "/G99000000001/F99000000001: Postleitzahl: Bitte genau 5 Ziffern eingeben.");
    ASSERT_CONTAINS(o, "Postleitzahl: Please enter exactly 5 digits.");
    free(o);
    ASSERT_EQ(aw_test_sh("%s schema validate --json " D "/unit/types.xml %s/d.json > %s/v.json", b,
                         s, t, t),
              1);
    o = out_of("v.json");
    ASSERT_CONTAINS(o, "\"code\":\"minLength\"");
    free(o);
    ASSERT_EQ(aw_test_sh("printf 'R1: require F99000000005\\n' > %s/o.rules", t), 0);
    ASSERT_EQ(aw_test_sh("printf '%%s' '{\"G99000000001\":{\"F99000000001\":\"12345\"},"
                         "\"F99000000003\":\"1990-01-01\",\"F99000000006\":[\"01\"]}' > %s/d.json",
                         t),
              0);
    ASSERT_EQ(aw_test_sh("%s schema validate " D "/unit/types.xml %s/d.json > /dev/null", b, s, t),
              0);
    ASSERT_EQ(aw_test_sh("%s schema validate " D "/unit/types.xml %s/d.json --overlay %s/o.rules "
                         "> %s/v.txt",
                         b, s, t, t, t),
              1);
    o = out_of("v.txt");
    ASSERT_CONTAINS(o, "Einverstanden: Bitte ausfüllen. [required R1]");
    free(o);
    ASSERT_EQ(aw_test_sh("printf 'R1: require F1\\n' > %s/bad.rules", t), 0);
    ASSERT_EQ(aw_test_sh("%s schema validate " D "/unit/types.xml %s/d.json --overlay %s/bad.rules "
                         "2> %s/e.txt",
                         b, s, t, t, t),
              2);
    o = out_of("e.txt");
    ASSERT_CONTAINS(o, "unknown element id 'F1'");
    free(o);
}
