/* Tests for src/fim/xsdre.c: XSD regex semantics on PCRE2 and ECMAScript. */
#include <string.h>

#include "fim/fim.h"
#include "test.h"

static int m(const char *pat, const char *s) {
    void *re;
    aw_err_t err;
    ASSERT_MSG(aw_fim_xsdre_compile(pat, &re, &err) == 0, "%s: %s", pat, err.msg);
    int r = aw_fim_xsdre_match(re, s, strlen(s));
    aw_fim_xsdre_free(re);
    return r;
}

TEST(implicitly_anchored) {
    ASSERT_EQ(m("[0-9]{3}", "123"), 1);
    ASSERT_EQ(m("[0-9]{3}", "1234"), 0);
    ASSERT_EQ(m("[0-9]{3}", "x123"), 0);
    ASSERT_EQ(m("a|b", "ab"), 0); /* alternation inside the anchors */
    ASSERT_EQ(m("a|b", "b"), 1);
}

TEST(xsd_classes) {
    ASSERT_EQ(m("\\d+", "١٢٣"), 1); /* \d is Unicode Nd in XSD */
    ASSERT_EQ(m("[\\p{L}0-9. ]*", "Müller Straße 5."), 1);
    ASSERT_EQ(m("\\s", "\u00a0"), 0); /* XSD \s is only space, tab, CR, LF */
    ASSERT_EQ(m(".", "\n"), 0);
    ASSERT_EQ(m("\\i\\c*", "name-1"), 1);
    ASSERT_EQ(m("[a-z-[aeiou]]+", "bcd"), 1); /* class subtraction */
    ASSERT_EQ(m("[a-z-[aeiou]]+", "bad"), 0);
    ASSERT_EQ(m("\\p{IsBasicLatin}+", "abc"), 1);
    ASSERT_EQ(m("\\p{IsBasicLatin}+", "äbc"), 0);
    ASSERT_EQ(m("a\\-b", "a-b"), 1);
}

TEST(dollar_and_caret) {
    /* literal in XSD, but a trailing $ / leading ^ is taken as the anchor meant */
    ASSERT_EQ(m("[a-z]+@[a-z]+\\.[a-z]{2,3}$", "max@example.de"), 1);
    ASSERT_EQ(m("^[0-9]+$", "42"), 1);
    ASSERT_EQ(m("a\\$", "a$"), 1);
    ASSERT_EQ(m("a$b", "a$b"), 1); /* inner $ is literal */
}

TEST(ecma_translation) {
    aw_buf_t b = AW_BUF_INIT;
    aw_err_t err;
    ASSERT_EQ(aw_fim_xsdre_translate("\\d{5}", AW_FIM_RE_ECMA, &b, &err), 0);
    ASSERT_STR(b.data, "^(?:\\p{Nd}{5})$");
    aw_buf_reset(&b);
    ASSERT_EQ(aw_fim_xsdre_translate("\\p{IsLatin-1Supplement}", AW_FIM_RE_ECMA, &b, &err), 0);
    ASSERT_STR(b.data, "^(?:[\\u{80}-\\u{FF}])$");
    aw_buf_free(&b);
}

TEST(rejects_non_xsd) {
    void *re;
    aw_err_t err;
    ASSERT_NE(aw_fim_xsdre_compile("(?i)abc", &re, &err), 0);
    ASSERT_NE(aw_fim_xsdre_compile("[abc", &re, &err), 0);
    ASSERT_NE(aw_fim_xsdre_compile("\\q", &re, &err), 0);
    ASSERT_CONTAINS(err.msg, "unknown escape");
    ASSERT_NE(aw_fim_xsdre_compile("\\p{IsKlingon}", &re, &err), 0);
    ASSERT_NE(aw_fim_xsdre_compile("*a", &re, &err), 0);
}
