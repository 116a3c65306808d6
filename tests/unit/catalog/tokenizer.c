#include "catalog/tokenizer.h"
#include "test.h"

typedef struct {
    char out[512];
} join_t;

static int join_word(void *ctx, const aw_tok_word_t *w) {
    join_t *j = ctx;
    size_t n = strlen(j->out);
    snprintf(j->out + n, sizeof j->out - n, "%s%s", n ? "|" : "", w->text);
    return 0;
}

static const char *words(const char *s) {
    static join_t j;
    j.out[0] = 0;
    aw_tok_words(s, strlen(s), join_word, &j);
    return j.out;
}

TEST(folds_umlauts_sharp_s_and_accents) {
    ASSERT_STR(words("Führerschein für Straße"), "fuehrerschein|fuer|strasse");
    ASSERT_STR(words("ÄRGER Öl Übung"), "aerger|oel|uebung");
    ASSERT_STR(words("Café Señor Łódź"), "cafe|senor|lodz");
    ASSERT_STR(words("GROẞ"), "gross");
}

TEST(splits_on_punctuation_and_keeps_digits) {
    ASSERT_STR(words("EU-Führerschein, SGB XII (2024)!"), "eu|fuehrerschein|sgb|xii|2024");
    ASSERT_STR(words("  \t\n"), "");
    ASSERT_STR(words("a\xe2\x80\x93"
                     "b"),
               "a|b"); /* en dash */
}

TEST(invalid_utf8_separates_words) {
    ASSERT_STR(words("ab\xff"
                     "cd\xc3"),
               "ab|cd");
    ASSERT_STR(words("x\xed\xa0\x80y"), "x|y"); /* UTF-16 surrogate */
    ASSERT_STR(words("\xc0\xaf"), "");          /* overlong '/' */
}

TEST(long_words_are_bounded) {
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ASSERT_EQ(strlen(words(big)), AW_TOK_WORD_MAX);
}

TEST(stems_umlaut_spellings_alike) {
    aw_tok_stemmer_t *st = aw_tok_stemmer_new();
    ASSERT_NOT_NULL(st);
    char a[AW_TOK_WORD_MAX + 1], b[AW_TOK_WORD_MAX + 1], c[AW_TOK_WORD_MAX + 1];
    aw_tok_stem(st, "fuehrerschein", 13, a);
    aw_tok_stem(st, "fuhrerschein", 12, b);
    ASSERT_STR(a, b);
    aw_tok_stem(st, "anmeldung", 9, a);
    aw_tok_stem(st, "anmelden", 8, b);
    ASSERT_STR(a, b);
    aw_tok_stem(st, "haeuser", 7, c);
    ASSERT_STR(c, "haus");
    aw_tok_stem(st, "2024", 4, c);
    ASSERT_STR(c, "2024");
    aw_tok_stemmer_free(st);
}
