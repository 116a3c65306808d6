#include "catalog/finder_lex.h"
#include "catalog/tokenizer.h"
#include "test.h"

static const char *split(const aw_lex_t *lx, const char *w) {
    static char out[256];
    aw_lex_part_t p[AW_LEX_MAX_PARTS];
    size_t n = aw_lex_decompound(lx, w, strlen(w), p, AW_LEX_MAX_PARTS);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, sizeof out - l, "%s%.*s", i ? "+" : "", p[i].len, w + p[i].off);
    }
    return out;
}

TEST(strmap_put_get_grow) {
    aw_strmap_t m;
    aw_strmap_init(&m);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        uint32_t *v = aw_strmap_put(&m, k, strlen(k));
        ASSERT_NOT_NULL(v);
        *v = (uint32_t)i + 1;
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        const uint32_t *v = aw_strmap_get(&m, k, strlen(k));
        ASSERT_NOT_NULL(v);
        ASSERT_EQ(*v, i + 1);
    }
    ASSERT_NULL(aw_strmap_get(&m, "key", 3));
    ASSERT_NULL(aw_strmap_get(&m, "key49999", 8));
    aw_strmap_free(&m);
}

TEST(decompounds_with_small_lexicon_and_linking_elements) {
    aw_lex_t lx;
    aw_lex_init(&lx);
    const char *nouns[] = {"kraftfahrzeug", "steuer", "hund",    "aufenthalt",
                           "erlaubnis",     "geburt", "urkunde", "antrag"};
    for (size_t i = 0; i < sizeof nouns / sizeof *nouns; i++)
        ASSERT_EQ(aw_lex_add(&lx, nouns[i], strlen(nouns[i]), AW_LEX_WORD | AW_LEX_NOUN), 0);
    ASSERT_STR(split(&lx, "kraftfahrzeugsteuer"), "kraftfahrzeug+steuer");
    ASSERT_STR(split(&lx, "hundesteuer"), "hund+steuer");                     /* Fugen-e */
    ASSERT_STR(split(&lx, "aufenthaltserlaubnis"), "aufenthalt+erlaubnis");   /* Fugen-s */
    ASSERT_STR(split(&lx, "geburtsurkundenantrag"), "geburt+urkunde+antrag"); /* -s, -n */
    ASSERT_STR(split(&lx, "steuer"), "");        /* a word alone is no compound */
    ASSERT_STR(split(&lx, "hundxyzsteuer"), ""); /* unknown middle */
    aw_lex_free(&lx);
}

TEST(decompounds_with_debian_word_list) {
    aw_lex_t lx;
    aw_lex_init(&lx);
    aw_err_t err;
    int rc = aw_lex_load_wordlist(&lx, "/usr/share/dict/ngerman", &err);
    if (rc == AW_ENOTFOUND) TEST_SKIP("wngerman not installed");
    ASSERT_EQ(rc, 0);
    ASSERT_GT(lx.wordlist_words, 100000);
    /* wngerman lacks the noun "Steuer" (only lower-case "steuer", which the
     * lexicon skips); the finder knows it from the catalogue. */
    ASSERT_EQ(aw_lex_add(&lx, "steuer", 6, AW_LEX_CAT), 0);
    ASSERT_STR(split(&lx, "kraftfahrzeugsteuer"), "kraftfahrzeug+steuer");
    ASSERT_STR(split(&lx, "hundesteuer"), "hunde+steuer");
    ASSERT_STR(split(&lx, "wohnsitz"), "wohn+sitz"); /* verb stem from "wohnen" */
    ASSERT_STR(split(&lx, "lohnsteuerkarte"), "lohnsteuer+karte+lohn+steuer");
    ASSERT_STR(split(&lx, "bestellen"), ""); /* verbs stay whole */
    aw_lex_free(&lx);
}

TEST(missing_word_list_is_not_found) {
    aw_lex_t lx;
    aw_lex_init(&lx);
    aw_err_t err;
    ASSERT_EQ(aw_lex_load_wordlist(&lx, "/nonexistent/words", &err), AW_ENOTFOUND);
    ASSERT_CONTAINS(err.msg, "/nonexistent/words");
    aw_lex_free(&lx);
}
