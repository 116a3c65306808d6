/*
 * finder — the service finder: ranks catalogue services for a citizen's
 * query in plain German ("Hund anmelden", "perso abgelaufen was nun",
 * "fuehrerschein verloren", "register a car").
 *
 * A query is folded and analysed into index terms: Snowball stems, compound
 * parts (Kraftfahrzeugsteuer → kraftfahrzeug + steuer), curated
 * administrative synonyms and English keywords, OpenThesaurus synonyms and,
 * for words that are not German, the nearest catalogue words by trigrams.
 * Each group of terms is scored with BM25 by a search backend (a table of
 * function pointers, finder_backend.h; the first is SQLite FTS5 in memory,
 * built at start-up) and the groups are combined with fixed weights.
 * Field weights: name > synonyms/keywords > short text > long text.
 *
 * Promises: queries are bounded (AW_FINDER_QUERY_MAX bytes, else
 * AW_ETOOBIG); the query text is never logged; aw_finder_search may be
 * called from any number of threads at once (each thread borrows its own
 * database connection and scratch from a pool). Files read from /usr/share
 * (word list, thesaurus) are optional: when absent the finder logs a
 * warning and works with less knowledge.
 */
#ifndef AW_CATALOG_FINDER_H
#define AW_CATALOG_FINDER_H

#include <stddef.h>

#include "base/err.h"

#define AW_FINDER_QUERY_MAX 200 /* bytes */
#define AW_FINDER_LIMIT_MAX 100 /* results per search */
#define AW_FINDER_DOCS_MAX  100000

/* One service as the finder sees it. Strings are UTF-8 and are copied by
 * aw_finder_new (the caller keeps ownership). Any field but leika may be
 * NULL. keywords: synonyms and keywords, any separator. extra: documents,
 * fees, legal basis, processing time; kept for backends that want it, not
 * searched by the FTS5 backend (see finder_backend.h). */
typedef struct aw_finder_doc {
    const char *leika; /* LeiKa key, ^99\d{12}$ */
    const char *name;
    const char *keywords;
    const char *short_text;
    const char *long_text;
    const char *extra;
} aw_finder_doc_t;

/* Analysis stages; the bench switches them off one by one (ablation). */
enum {
    AW_FINDER_STEM = 1,       /* German Snowball stemming */
    AW_FINDER_DECOMPOUND = 2, /* compound splitting */
    AW_FINDER_SYNONYMS = 4,   /* curated, English, OpenThesaurus */
    AW_FINDER_TRIGRAM = 8,    /* typo and fragment matching */
    AW_FINDER_ALL = 15,
};

typedef struct aw_finder_backend aw_finder_backend_t;

typedef struct aw_finder_opts {
    unsigned stages;                    /* 0 means AW_FINDER_ALL */
    const char *wordlist_path;          /* NULL: /usr/share/dict/ngerman */
    const char *thesaurus_path;         /* NULL: OpenThesaurus in /usr/share */
    const aw_finder_backend_t *backend; /* NULL: SQLite FTS5 */
} aw_finder_opts_t;

typedef struct aw_finder_hit {
    char leika[16];
    double score; /* > 0, higher is better; comparable within one search */
    size_t doc;   /* index into the docs given to aw_finder_new */
} aw_finder_hit_t;

typedef struct aw_finder aw_finder_t;

/* Builds a finder over n docs (n ≥ 1). opts may be NULL. *out is owned by
 * the caller (aw_finder_free). */
int aw_finder_new(const aw_finder_doc_t *docs, size_t n, const aw_finder_opts_t *opts,
                  aw_finder_t **out, aw_err_t *err);

/* Ranks services for query (NUL-terminated UTF-8, at most
 * AW_FINDER_QUERY_MAX bytes; invalid bytes separate words). Writes up to
 * limit (≤ AW_FINDER_LIMIT_MAX, larger is clamped) hits into out, best
 * first. Returns the number of hits (0 when nothing matches or the query
 * has no searchable word) or a negative AW_E* code. Thread-safe. */
int aw_finder_search(aw_finder_t *f, const char *query, size_t limit, aw_finder_hit_t *out,
                     aw_err_t *err);

void aw_finder_free(aw_finder_t *f);

/* Facts about a built finder (for logs and /metrics). */
typedef struct aw_finder_stats {
    size_t docs, wordlist_words, thesaurus_sets, vocabulary;
    double build_ms;
} aw_finder_stats_t;
void aw_finder_get_stats(const aw_finder_t *f, aw_finder_stats_t *st);

/* The demo catalogue file (data/demo/services.tsv): UTF-8, tab-separated,
 * one header line; columns leika_key, name, keywords, short, long,
 * documents, fees, legal_basis, processing_time. The loaded docs point
 * into cat->data (extra = documents + fees + legal basis + time).
 * Bounded: 4 MiB, AW_FINDER_DOCS_MAX rows; a bad row gives an error naming
 * its line. Free with aw_finder_catalog_free. */
typedef struct aw_finder_catalog {
    aw_finder_doc_t *docs;
    size_t n;
    char *data;
    char **extra; /* owned strings behind docs[i].extra */
    /* Raw columns, for callers who need them (same order as docs). */
    const char **documents, **fees, **legal_basis, **processing_time;
} aw_finder_catalog_t;

int aw_finder_catalog_load(const char *path, aw_finder_catalog_t *cat, aw_err_t *err);
void aw_finder_catalog_free(aw_finder_catalog_t *cat);

#endif
