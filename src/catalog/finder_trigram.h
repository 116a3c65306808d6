/*
 * finder_trigram — a trigram index over the catalogue's vocabulary, for
 * fragments and typos.
 *
 * Every folded word of the catalogue (and its compound parts) is indexed by
 * its letter trigrams, padded with '$' at both ends. A query word that is
 * not a known German word is matched against it: candidates share trigrams
 * and are ranked by the Dice coefficient ("ummeldug" ~ "ummeldung" 0.70),
 * and a fragment of four or more letters also matches the words it starts
 * ("personalaus" → "personalausweis"). Read-only after building; lookups
 * use a caller-owned scratch so threads do not share state.
 */
#ifndef AW_CATALOG_FINDER_TRIGRAM_H
#define AW_CATALOG_FINDER_TRIGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

typedef struct aw_tri {
    char **words; /* sorted, folded, owned */
    size_t n_words, cap_words;
    struct aw_tri_post {
        uint32_t gram, word;
    } * posts;
    size_t n_posts;
    uint8_t *n_grams; /* per word */
} aw_tri_t;

typedef struct aw_tri_match {
    uint32_t word; /* index into words */
    float score;   /* 0..1 */
} aw_tri_match_t;

void aw_tri_init(aw_tri_t *t);
void aw_tri_free(aw_tri_t *t);
/* Collects a word (duplicates are fine); call aw_tri_build after the last. */
int aw_tri_add(aw_tri_t *t, const char *w, size_t len);
int aw_tri_build(aw_tri_t *t, aw_err_t *err);

/* Scratch for one thread: counts per word. Allocate with aw_tri_scratch_new
 * (free with free()). */
uint16_t *aw_tri_scratch_new(const aw_tri_t *t);

/* Best matches for a folded word with score >= min_score, best first;
 * returns the number written (≤ max). */
size_t aw_tri_match(const aw_tri_t *t, uint16_t *scratch, const char *w, size_t len,
                    float min_score, aw_tri_match_t *out, size_t max);

#endif
