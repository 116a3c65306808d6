/*
 * finder_eval — measures a finder against a file of judged queries
 * (../shared/fixtures/catalog/queries.tsv: query, acceptable LeiKa keys
 * comma-separated, kind). Used by bench/finder.c and by the unit test that
 * keeps a floor under the quality, so both compute the same figures.
 *
 * Split: within each kind, queries at even positions (1st, 3rd, ...) form
 * the "dev" half, the others the "held-out" half; tuning looks at dev
 * only, held-out shows whether an improvement generalises.
 */
#ifndef AW_CATALOG_FINDER_EVAL_H
#define AW_CATALOG_FINDER_EVAL_H

#include <stdio.h>

#include "catalog/finder.h"

#define AW_EVAL_MAX_KINDS 16

typedef struct aw_eval_score {
    size_t n;
    double hit1, hit5, hit10, mrr; /* sums; divide by n */
} aw_eval_score_t;

typedef struct aw_eval_result {
    aw_eval_score_t all, dev, held;
    size_t n_kinds;
    char kind[AW_EVAL_MAX_KINDS][24];
    aw_eval_score_t by_kind[AW_EVAL_MAX_KINDS];
} aw_eval_result_t;

typedef struct aw_eval_query {
    char *text, *keys, *kind;
    int dev;
} aw_eval_query_t;

typedef struct aw_eval_set {
    aw_eval_query_t *q;
    size_t n;
    char *data;
} aw_eval_set_t;

int aw_eval_load(const char *path, aw_eval_set_t *set, aw_err_t *err);
void aw_eval_free(aw_eval_set_t *set);

/* Runs every query; misses of dev queries (rank > 10) are printed to
 * misses when not NULL (held-out queries are never printed). */
int aw_eval_run(aw_finder_t *f, const aw_eval_set_t *set, aw_eval_result_t *r, FILE *misses,
                aw_err_t *err);

#endif
