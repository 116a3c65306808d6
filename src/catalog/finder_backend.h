/*
 * finder_backend — the interface between the finder's analysis and a
 * full-text engine (as SQLite's vfs: a table of function pointers).
 *
 * The finder analyses documents and queries itself (finder_analyzer.h) and
 * asks a backend only for BM25 scores of bags of final index terms. A
 * backend builds an index once (build), then hands out per-thread
 * connections (open/close); score() must be callable concurrently on
 * different connections. The first backend is SQLite FTS5 in memory
 * (finder_fts5.c); a PostgreSQL one can store the analysed terms in a
 * tsvector ('simple' configuration, since the terms are already stemmed)
 * with setweight() per field and rank with ts_rank.
 */
#ifndef AW_CATALOG_FINDER_BACKEND_H
#define AW_CATALOG_FINDER_BACKEND_H

#include <stddef.h>

#include "base/err.h"
#include "catalog/finder.h"
#include "catalog/finder_analyzer.h"

/* Field weights for BM25, in aw_finder_doc_t order after leika:
 * name, keywords, short_text, long_text. The extra field is not indexed:
 * document lists name "Personalausweis" in half the catalogue, which
 * would take all weight (IDF) from the word where it matters. */
extern const double aw_finder_field_weights[4];

struct aw_finder_backend {
    const char *name;
    /* Builds the index for docs (rowid/doc number = position in docs). The
     * analyzer stays alive and read-only as long as the index. */
    int (*build)(const aw_fan_t *an, const aw_finder_doc_t *docs, size_t n, void **index,
                 aw_err_t *err);
    /* A connection for one thread at a time. */
    int (*open)(void *index, void **conn, aw_err_t *err);
    /* For every doc that contains at least one of the terms, adds to
     * scores[doc] the sum over concepts c of
     *   max over terms t of concept c: weights[t] * BM25(doc, t).
     * A concept is one thing the citizen asked for ("Kfz") with all its
     * spellings and synonyms (kfz, kraftfahrzeug, auto ...): a document
     * that names it five ways is not five times as relevant. BM25 uses
     * the backend's document frequencies and the field weights. */
    int (*score)(void *conn, const char *const *terms, const double *weights,
                 const unsigned *concepts, size_t n_terms, double *scores, aw_err_t *err);
    void (*close)(void *conn);
    void (*free)(void *index);
};

extern const aw_finder_backend_t aw_finder_backend_fts5;

#endif
