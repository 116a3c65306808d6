/* Tests for src/fim/latin.c: the String.Latin+ (DIN SPEC 91379 type C) set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fim/fim.h"
#include "test.h"

static bool ok(const char *s) {
    return aw_fim_latin_check(s, strlen(s), NULL, NULL);
}

TEST(accepts_names_addresses_and_sequences) {
    ASSERT(ok("Müller-Lüdenscheidt, Hauptstraße 5a"));
    ASSERT(ok("Ærøskøbing; Łódź; Şişli; Đorđević; ẞ; Nguyễn"));
    ASSERT(ok("O'Brien & Söhne GmbH (100 €) §3 ½ ¼"));
    ASSERT(ok("Zeile 1\nZeile 2\r\n\tTab\xc2\xa0nbsp"));          /* N4 */
    ASSERT(ok("L\xcc\xa5\xcc\x84 K\xcd\x9fH c\xcc\xa8\xcc\x86")); /* sequences L̥̄ K͟H c̨̆ */
    ASSERT(ok("D\xe2\x80\x99"
              "Alembert \xe2\x80\xa1")); /* ’ ‡ (N1) */
    ASSERT(ok(""));
}

TEST(refuses_other_characters_naming_them) {
    struct {
        const char *s;
        uint32_t cp;
        size_t off;
    } bad[] = {
        {"Ab\xce\xa9", 0x03A9, 2},         /* Greek (type D only) */
        {"\xd0\x96uk", 0x0416, 0},         /* Cyrillic (type D only) */
        {"a \xe2\x80\x93 b", 0x2013, 2},   /* en dash */
        {"\xe2\x80\x9eZitat", 0x201E, 0},  /* „ (E1, type E only) */
        {"x\xf0\x9f\x98\x80", 0x1F600, 1}, /* emoji */
        {"Ab\xc2\xad", 0x00AD, 2},         /* soft hyphen */
        {"\xc8\xa6", 0x0226, 0},           /* Ȧ: not in the list (ȧ is) */
        {"a\x01", 0x0001, 1},              /* control */
        {"a\x7f", 0x007F, 1},              /* DEL */
        {"ab\xff", 0xFFFD, 2},             /* invalid UTF-8 */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t off = 99;
        uint32_t cp = 0;
        ASSERT_MSG(!aw_fim_latin_check(bad[i].s, strlen(bad[i].s), &off, &cp), "case %zu", i);
        ASSERT_MSG(cp == bad[i].cp, "case %zu: U+%04X", i, (unsigned)cp);
        ASSERT_MSG(off == bad[i].off, "case %zu: offset %zu", i, off);
    }
    ASSERT(aw_fim_latin_cp(0x1E9E));
    ASSERT(!aw_fim_latin_cp(0x1E9F));
    ASSERT(aw_fim_latin_cp(0x035F));
    ASSERT(!aw_fim_latin_cp(0x0303)); /* combining tilde is not among the 19 diacritics */
}

TEST(message_names_the_character) {
    char de[200], en[200];
    aw_fim_latin_describe(0x03A9, de, en, sizeof de);
    ASSERT_STR(de, "Das Zeichen \"\xce\xa9\" (U+03A9) ist nicht erlaubt; bitte nur lateinische "
                   "Zeichen nach DIN SPEC 91379 verwenden.");
    ASSERT_STR(en, "The character \"\xce\xa9\" (U+03A9) is not allowed; please use Latin "
                   "characters (DIN SPEC 91379) only.");
    aw_fim_latin_describe(0x0001, de, en, sizeof de); /* invisible: only the number */
    ASSERT_CONTAINS(de, "Das Zeichen (U+0001)");
    aw_fim_latin_describe(0x1F600, de, en, sizeof de);
    ASSERT_CONTAINS(en, "(U+1F600)");
}

/* The exported ECMAScript pattern and the C table agree on every code point
 * of the BMP and a sample of the others, judged by ajv (node). */
TEST_T(ecma_pattern_agrees_with_table, 120) {
    aw_buf_t re = AW_BUF_INIT, js = AW_BUF_INIT, docs = AW_BUF_INIT;
    aw_fim_latin_ecma_pattern(&re);
    aw_buf_puts(&js, "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\","
                     "\"type\":\"string\",\"pattern\":\"");
    aw_buf_json_str(&js, re.data, re.len);
    aw_buf_puts(&js, "\"}");
    char *ours = malloc(0x11000);
    size_t n = 0;
    for (uint32_t cp = 0; cp < 0x10FFFF; cp = cp < 0x10000 ? cp + 1 : cp + 0x1001) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        if (cp < 0x10000)
            aw_buf_printf(&docs, "\"a\\u%04X\"\n", (unsigned)cp);
        else {
            uint32_t v = cp - 0x10000;
            aw_buf_printf(&docs, "\"a\\u%04X\\u%04X\"\n", (unsigned)(0xD800 + (v >> 10)),
                          (unsigned)(0xDC00 + (v & 0x3FF)));
        }
        ours[n++] = aw_fim_latin_cp(cp) ? '1' : '0';
    }
    const char *t = aw_test_tmpdir();
    char sp[1024], dp[1024], op[1024];
    snprintf(sp, sizeof sp, "%s/s.json", t);
    snprintf(dp, sizeof dp, "%s/d.jsonl", t);
    snprintf(op, sizeof op, "%s/o.txt", t);
    FILE *f = fopen(sp, "w");
    fwrite(js.data, 1, js.len, f);
    fclose(f);
    f = fopen(dp, "w");
    fwrite(docs.data, 1, docs.len, f);
    fclose(f);
    ASSERT_EQ(
        aw_test_sh("cd %s/tests/node && node fim-ajv.mjs %s %s > %s", aw_test_srcdir(), sp, dp, op),
        0);
    size_t olen;
    char *out = aw_test_read_file(op, &olen);
    ASSERT_NOT_NULL(out);
    size_t k = 0, allowed = 0;
    for (size_t i = 0; i < olen && k < n; i++) {
        if (out[i] == '\n') continue;
        ASSERT_MSG(out[i] == ours[k], "verdict %zu differs: ajv %c, table %c", k, out[i], ours[k]);
        allowed += ours[k] == '1';
        k++;
    }
    ASSERT_EQ(k, n);
    ASSERT(allowed > 600 && allowed < 800); /* type C: 4 + 95 + 13 + 209 + ... code points */
    free(out);
    free(ours);
    aw_buf_free(&re);
    aw_buf_free(&js);
    aw_buf_free(&docs);
}
