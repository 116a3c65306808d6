#include "catalog/finder_eval.h"

#include <stdlib.h>
#include <string.h>

void aw_eval_free(aw_eval_set_t *set) {
    free(set->q);
    free(set->data);
    memset(set, 0, sizeof *set);
}

int aw_eval_load(const char *path, aw_eval_set_t *set, aw_err_t *err) {
    memset(set, 0, sizeof *set);
    FILE *f = fopen(path, "rb");
    if (!f) return aw_err_set(err, AW_ENOTFOUND, "queries %s: cannot open", path);
    size_t cap = 1 << 20;
    set->data = malloc(cap + 1);
    if (!set->data) {
        fclose(f);
        return aw_err_set(err, AW_ENOMEM, "queries: out of memory");
    }
    size_t len = fread(set->data, 1, cap, f);
    fclose(f);
    set->data[len] = 0;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += set->data[i] == '\n';
    set->q = calloc(lines, sizeof *set->q);
    if (!set->q) {
        aw_eval_free(set);
        return aw_err_set(err, AW_ENOMEM, "queries: out of memory");
    }
    char *p = set->data;
    size_t line = 0;
    struct {
        char kind[24];
        size_t n;
    } seen[AW_EVAL_MAX_KINDS];
    size_t n_seen = 0;
    while (p && *p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        if (line++ > 0 && *p) {
            char *t1 = strchr(p, '\t');
            char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
            if (!t2) {
                aw_eval_free(set);
                return aw_err_set(err, AW_EINVAL, "queries %s line %zu: expected 3 columns", path,
                                  line);
            }
            *t1 = *t2 = 0;
            char *cr = strchr(t2 + 1, '\r');
            if (cr) *cr = 0;
            aw_eval_query_t *q = &set->q[set->n++];
            q->text = p;
            q->keys = t1 + 1;
            q->kind = t2 + 1;
            size_t k;
            for (k = 0; k < n_seen && strcmp(seen[k].kind, q->kind) != 0; k++) {
            }
            if (k == n_seen && n_seen < AW_EVAL_MAX_KINDS) {
                snprintf(seen[k].kind, sizeof seen[k].kind, "%s", q->kind);
                seen[k].n = 0;
                n_seen++;
            }
            q->dev = k < n_seen ? (seen[k].n++ % 2 == 0) : 0;
        }
        p = nl ? nl + 1 : NULL;
    }
    return 0;
}

static void add(aw_eval_score_t *s, size_t rank) {
    s->n++;
    if (rank == 0) return;
    s->hit1 += rank <= 1;
    s->hit5 += rank <= 5;
    s->hit10 += rank <= 10;
    s->mrr += 1.0 / (double)rank;
}

static int key_ok(const char *keys, const char *leika) {
    size_t n = strlen(leika);
    const char *p = keys;
    while (*p) {
        size_t l = strcspn(p, ",");
        if (l == n && memcmp(p, leika, n) == 0) return 1;
        p += l;
        if (*p == ',') p++;
    }
    return 0;
}

int aw_eval_run(aw_finder_t *f, const aw_eval_set_t *set, aw_eval_result_t *r, FILE *misses,
                aw_err_t *err) {
    memset(r, 0, sizeof *r);
    aw_finder_hit_t hits[AW_FINDER_LIMIT_MAX];
    for (size_t i = 0; i < set->n; i++) {
        const aw_eval_query_t *q = &set->q[i];
        int n = aw_finder_search(f, q->text, AW_FINDER_LIMIT_MAX, hits, err);
        if (n < 0) return n;
        size_t rank = 0;
        for (int k = 0; k < n && !rank; k++)
            if (key_ok(q->keys, hits[k].leika)) rank = (size_t)k + 1;
        add(&r->all, rank);
        add(q->dev ? &r->dev : &r->held, rank);
        size_t k;
        for (k = 0; k < r->n_kinds && strcmp(r->kind[k], q->kind) != 0; k++) {
        }
        if (k == r->n_kinds && k < AW_EVAL_MAX_KINDS) {
            snprintf(r->kind[k], sizeof r->kind[k], "%s", q->kind);
            r->n_kinds++;
        }
        if (k < AW_EVAL_MAX_KINDS) add(&r->by_kind[k], rank);
        if (misses && q->dev && (rank == 0 || rank > 1)) {
            fprintf(misses, "  rank %-3zu %-10s %s  [want %s; got", rank, q->kind, q->text,
                    q->keys);
            for (int j = 0; j < n && j < 3; j++) fprintf(misses, " %s", hits[j].leika);
            fprintf(misses, "]\n");
        }
    }
    return 0;
}
