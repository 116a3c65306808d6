/*
 * finder_analyzer — what the finder knows about German, and how it turns
 * documents and queries into index terms (see finder.h for the pipeline).
 *
 * Built once by aw_finder_new; read-only afterwards, so shared by all
 * threads. Per-thread state (the stemmer, trigram scratch) is passed in.
 */
#ifndef AW_CATALOG_FINDER_ANALYZER_H
#define AW_CATALOG_FINDER_ANALYZER_H

#include <stddef.h>

#include "catalog/finder_lex.h"
#include "catalog/finder_syn.h"
#include "catalog/finder_trigram.h"
#include "catalog/tokenizer.h"

typedef struct aw_fan {
    unsigned stages; /* AW_FINDER_* */
    aw_lex_t lex;
    aw_syn_t syn;
    aw_tri_t tri;
    aw_strmap_t index_terms; /* every term the documents produce */
    /* Memo of aw_fan_word_terms: word → index into memo_terms. Written
     * only while building (one thread), read-only afterwards. */
    aw_strmap_t memo;
    char **memo_terms; /* terms separated by NUL, ending with an empty one */
    size_t n_memo, cap_memo;
    int building;
} aw_fan_t;

#define AW_FAN_WORD_TERMS 10

typedef char aw_fan_term_t[AW_TOK_WORD_MAX + 1];

/* Index terms of one folded word: its own term first, then its compound
 * parts' terms (when decompounding is on); returns the count. */
size_t aw_fan_word_terms(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *w, size_t len,
                         aw_fan_term_t *out, size_t max);

/* Called for each index term of a document; colocated: the term shares
 * the previous term's position (a compound part). */
typedef int (*aw_fan_term_fn)(void *ctx, const char *term, size_t len, size_t start, size_t end,
                              int colocated);

int aw_fan_doc_terms(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *text, size_t len,
                     aw_fan_term_fn fn, void *ctx);

#endif
