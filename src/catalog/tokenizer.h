/*
 * tokenizer — turns German text into search terms, and the FTS5 tokenizer.
 *
 * Folding: UTF-8 text is split into words of letters and digits; letters are
 * lowercased, ä/ö/ü become ae/oe/ue, ß becomes ss and other Latin accents are
 * dropped (é → e). Citizens type "fuehrerschein", "Führerschein" and
 * "fuhrerschein"; folding makes the first two equal, stemming (below) makes
 * all three equal. Invalid UTF-8 bytes and punctuation separate words; code
 * points outside Latin-1/Latin Extended-A are kept byte for byte.
 *
 * Stemming: German Snowball (libstemmer). Because folded text spells umlauts
 * as ae/oe/ue, the stemmer is fed the "german2" variant's input (ae → ä,
 * oe → ö, ue → ü unless after q), and Snowball removes umlauts in its last
 * step, so stems are plain ASCII for German words.
 *
 * The FTS5 tokenizer ("aw_german") uses both plus the analyzer's
 * decompounding for documents; in query mode it passes terms through,
 * because the finder analyses queries itself and hands FTS5 final terms.
 * A stemmer object is not thread-safe: one aw_tok_stemmer_t per thread.
 */
#ifndef AW_CATALOG_TOKENIZER_H
#define AW_CATALOG_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

/* Longest folded word kept; longer words are cut (a bound, not a limit on
 * real German: "Grundstücksverkehrsgenehmigungszuständigkeitsübertragungs-
 * verordnung" is 79 bytes and still finds its stem's prefix). */
#define AW_TOK_WORD_MAX 64

typedef struct aw_tok_word {
    char text[AW_TOK_WORD_MAX + 1]; /* folded, NUL-terminated */
    size_t len;
    size_t start, end; /* byte offsets of the word in the input */
} aw_tok_word_t;

/* Called for each word; a non-zero return stops the walk and is returned. */
typedef int (*aw_tok_word_fn)(void *ctx, const aw_tok_word_t *w);

/* Splits and folds text (len bytes, need not be NUL-terminated). Returns 0
 * or the first non-zero value returned by fn. */
int aw_tok_words(const char *text, size_t len, aw_tok_word_fn fn, void *ctx);

/* Folds one already-separated word (e.g. a line of a word list) into out
 * (size AW_TOK_WORD_MAX + 1); returns its length, 0 if it holds no letter
 * or digit, and stops at the first separator. */
size_t aw_tok_fold_word(const char *s, size_t len, char *out);

typedef struct aw_tok_stemmer aw_tok_stemmer_t;

/* A German stemmer; NULL on allocation failure. Free with
 * aw_tok_stemmer_free. */
aw_tok_stemmer_t *aw_tok_stemmer_new(void);
void aw_tok_stemmer_free(aw_tok_stemmer_t *s);

/* Stems a folded word into out (size AW_TOK_WORD_MAX + 1); returns the
 * length. Words shorter than 3 bytes and words with digits are copied. */
size_t aw_tok_stem(aw_tok_stemmer_t *s, const char *word, size_t len, char *out);

#endif
