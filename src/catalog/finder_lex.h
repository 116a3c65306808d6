/*
 * finder_lex — the finder's word knowledge: a string map, the lexicon of
 * known German words and the decompounder.
 *
 * The lexicon holds folded words (see tokenizer.h) with flags: the nouns
 * and infinitives of the Debian word list (wngerman,
 * /usr/share/dict/ngerman), the verb stems
 * derived from it that occur as first parts of compounds ("wohn" in
 * "Wohnsitz", "meld" in "Meldebescheinigung"), and every word of the
 * catalogue. Decompounding splits a folded word into known parts, allowing
 * the German linking elements (Fugen) -s, -es, -n, -en and -e between parts:
 * "kraftfahrzeugsteuer" → kraftfahrzeug + steuer, "hundesteuer" →
 * hund(e) + steuer, "aufenthaltserlaubnis" → aufenthalt(s) + erlaubnis.
 * Everything is built once and read-only afterwards, so any number of
 * threads may read it.
 */
#ifndef AW_CATALOG_FINDER_LEX_H
#define AW_CATALOG_FINDER_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* A map from byte strings to uint32 values (open addressing, strings kept
 * in one growing blob). */
typedef struct aw_strmap {
    struct aw_strmap_slot *slots;
    size_t cap, count;
    char *blob;
    size_t blob_len, blob_cap;
    int oom;
} aw_strmap_t;

void aw_strmap_init(aw_strmap_t *m);
void aw_strmap_free(aw_strmap_t *m);
/* Returns a pointer to the value of key (inserted with value 0 when new),
 * NULL on allocation failure. The pointer is valid until the next insert. */
uint32_t *aw_strmap_put(aw_strmap_t *m, const char *key, size_t len);
/* The same with a hash from aw_strmap_hash (computed once, e.g. to
 * prefetch the slot with aw_strmap_prefetch before using it). */
uint64_t aw_strmap_hash(const char *key, size_t len);
void aw_strmap_prefetch(const aw_strmap_t *m, uint64_t h);
uint32_t *aw_strmap_put_h(aw_strmap_t *m, const char *key, size_t len, uint64_t h);
const uint32_t *aw_strmap_get_h(const aw_strmap_t *m, const char *key, size_t len, uint64_t h);
/* Makes room for count more keys without rehashing. */
int aw_strmap_reserve(aw_strmap_t *m, size_t count);
/* Returns a pointer to the value or NULL when key is absent. */
const uint32_t *aw_strmap_get(const aw_strmap_t *m, const char *key, size_t len);

enum {
    AW_LEX_WORD = 1,  /* a word of the word list or the catalogue */
    AW_LEX_MOD = 2,   /* only as a first part of a compound (verb stem) */
    AW_LEX_CAT = 4,   /* occurs in the catalogue */
    AW_LEX_SHORT = 8, /* a 3-letter word allowed as a compound part */
    AW_LEX_STOP = 16, /* a function word, ignored in queries */
    AW_LEX_NOUN = 32, /* capitalised in the word list */
    AW_LEX_EN = 64,   /* an English function word */
};

typedef struct aw_lex {
    aw_strmap_t map;
    uint64_t *bloom;       /* one bit per hash: most compound-part probes miss,
                              and this answers them from cache, not the table */
    size_t wordlist_words; /* words read from the word list */
} aw_lex_t;

void aw_lex_init(aw_lex_t *lx);
void aw_lex_free(aw_lex_t *lx);
int aw_lex_add(aw_lex_t *lx, const char *w, size_t len, uint32_t flags);
uint32_t aw_lex_flags(const aw_lex_t *lx, const char *w, size_t len);

/* Reads a word list (one word per line, UTF-8). AW_ENOTFOUND when the file
 * is absent, so callers can degrade; AW_EIO on read errors. */
int aw_lex_load_wordlist(aw_lex_t *lx, const char *path, aw_err_t *err);

#define AW_LEX_MAX_PARTS 8

typedef struct aw_lex_part {
    uint8_t off, len; /* within the word; len excludes a linking element */
} aw_lex_part_t;

/* Splits a folded word into two or more known parts, recursing into long
 * parts; returns the number of distinct parts written (0: not a compound).
 * Parts of the top-level split come first. */
size_t aw_lex_decompound(const aw_lex_t *lx, const char *w, size_t len, aw_lex_part_t *parts,
                         size_t max);

#endif
