/* Fuzz target: the finder's folding tokenizer and stemmer on arbitrary
 * bytes. Checks the promises of tokenizer.h: words are non-empty, bounded,
 * never contain ASCII upper case, punctuation or spaces, and their offsets
 * lie inside the input in increasing order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/tokenizer.h"

static aw_tok_stemmer_t *stemmer;

typedef struct {
    size_t size, last_end;
} check_t;

static int word(void *ctx, const aw_tok_word_t *w) {
    check_t *c = ctx;
    if (w->len == 0 || w->len > AW_TOK_WORD_MAX || strlen(w->text) != w->len) abort();
    if (w->start < c->last_end || w->end <= w->start || w->end > c->size) abort();
    c->last_end = w->end;
    for (size_t i = 0; i < w->len; i++) {
        unsigned char ch = (unsigned char)w->text[i];
        if (ch < 0x80 && !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) abort();
    }
    char out[AW_TOK_WORD_MAX + 1];
    size_t n = aw_tok_stem(stemmer, w->text, w->len, out);
    if (n > AW_TOK_WORD_MAX || strlen(out) != n) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!stemmer && !(stemmer = aw_tok_stemmer_new())) abort();
    check_t c = {size, 0};
    aw_tok_words((const char *)data, size, word, &c);
    return 0;
}
