/*
 * finder_syn — synonym and translation expansion for the finder.
 *
 * Three sources, each a map from a query key (the analysed term of a word,
 * or of two adjacent words joined by a space) to expansions (ready-made
 * index terms):
 *   - a curated list for administration (Kfz/Kraftfahrzeug,
 *     Perso/Personalausweis, Lappen/Führerschein, Umzug/Wohnsitz ...),
 *     compiled in; strong.
 *   - an English → German keyword map for the most used services, compiled
 *     in; strong.
 *   - OpenThesaurus (Debian openthesaurus-de-text), read at start-up; weak.
 *     Only synsets that reach a term of the index are kept, so the map stays
 *     small and every expansion can match something.
 * Read-only after building; safe for concurrent readers.
 */
#ifndef AW_CATALOG_FINDER_SYN_H
#define AW_CATALOG_FINDER_SYN_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/err.h"
#include "catalog/finder_lex.h"

typedef struct aw_syn_exp {
    const char *terms; /* index terms separated by single spaces */
    uint8_t strong;    /* 2: English translation, 1: curated, 0: thesaurus */
} aw_syn_exp_t;

typedef struct aw_syn {
    aw_strmap_t keys; /* key → index into lists */
    struct aw_syn_list {
        aw_syn_exp_t *v;
        uint32_t n, cap;
    } * lists;
    size_t n_lists, cap_lists;
    aw_arena_t arena;
    size_t thesaurus_sets; /* synsets kept from OpenThesaurus */
} aw_syn_t;

/* Turns a phrase into index terms separated by spaces; the finder's
 * analyzer provides it. as_key: only each word's own term (a lookup key);
 * else also compound parts (an expansion). Returns the length written. */
typedef size_t (*aw_syn_analyze_fn)(void *ctx, const char *phrase, size_t len, int as_key,
                                    char *out, size_t outsz);
/* Is an index term present in the catalogue index? */
typedef int (*aw_syn_known_fn)(void *ctx, const char *term, size_t len);

void aw_syn_init(aw_syn_t *s);
void aw_syn_free(aw_syn_t *s);

/* Adds the curated administrative list and the English map. */
int aw_syn_add_curated(aw_syn_t *s, aw_syn_analyze_fn an, aw_syn_known_fn known, void *ctx,
                       aw_err_t *err);

/* May a word (UTF-8, unfolded) lead to a term of the index? A cheap,
 * conservative pre-test that spares stemming most of the thesaurus. */
typedef int (*aw_syn_maybe_fn)(void *ctx, const char *word, size_t len);

/* Reads OpenThesaurus (lines of ';'-separated synonyms, '#' comments,
 * "(ugs.)"-style notes). AW_ENOTFOUND when the file is absent. */
int aw_syn_load_thesaurus(aw_syn_t *s, const char *path, aw_syn_analyze_fn an,
                          aw_syn_known_fn known, aw_syn_maybe_fn maybe, void *ctx, aw_err_t *err);

/* Expansions for a key; NULL/0 when none. */
const aw_syn_exp_t *aw_syn_get(const aw_syn_t *s, const char *key, size_t len, size_t *n);

#endif
