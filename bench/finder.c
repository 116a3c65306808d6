/*
 * bench/finder — quality and speed of the service finder.
 *
 *   finder [--stages=stem,decompound,synonyms,trigram|none] [--ablation]
 *          [--misses] [--catalog PATH] [--queries PATH]
 *
 * Prints hit@1, hit@5, hit@10 and MRR over the judged queries, overall,
 * per kind and for the dev / held-out halves, then queries per second on
 * one thread. --ablation prints one line per stage set (docs/finder.md).
 * --misses lists dev-half queries not ranked first (never held-out ones).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "catalog/finder.h"
#include "catalog/finder_eval.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned parse_stages(const char *s) {
    if (strcmp(s, "none") == 0) return 0;
    unsigned st = 0;
    if (strstr(s, "stem")) st |= AW_FINDER_STEM;
    if (strstr(s, "decompound")) st |= AW_FINDER_DECOMPOUND;
    if (strstr(s, "synonyms")) st |= AW_FINDER_SYNONYMS;
    if (strstr(s, "trigram")) st |= AW_FINDER_TRIGRAM;
    if (strstr(s, "all")) st |= AW_FINDER_ALL;
    return st;
}

static void line(const char *label, const aw_eval_score_t *s) {
    double n = s->n ? (double)s->n : 1;
    printf("%-12s %4zu  %6.3f %6.3f %6.3f %6.3f\n", label, s->n, s->hit1 / n, s->hit5 / n,
           s->hit10 / n, s->mrr / n);
}

/* "none" cannot be 0 in the options (0 means all), so plain BM25 is a set
 * with no analysis bit: pass a value outside the mask. */
static aw_finder_t *build(const aw_finder_catalog_t *cat, unsigned stages, double *ms) {
    aw_finder_opts_t o = {0};
    o.stages = stages ? stages : 16;
    aw_finder_t *f;
    aw_err_t err;
    double t0 = now_s();
    if (aw_finder_new(cat->docs, cat->n, &o, &f, &err) != 0) {
        fprintf(stderr, "finder: %s\n", err.msg);
        exit(1);
    }
    *ms = (now_s() - t0) * 1e3;
    return f;
}

int main(int argc, char **argv) {
    const char *src = getenv("AMTSWEG_SRC") ? getenv("AMTSWEG_SRC") : ".";
    char cat_path[1024], q_path[1024];
    snprintf(cat_path, sizeof cat_path, "%s/data/demo/services.tsv", src);
    snprintf(q_path, sizeof q_path, "%s/tests/data/finder/queries.tsv", src);
    unsigned stages = AW_FINDER_ALL;
    int ablation = 0, misses = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--stages=", 9) == 0)
            stages = parse_stages(argv[i] + 9);
        else if (strcmp(argv[i], "--ablation") == 0)
            ablation = 1;
        else if (strcmp(argv[i], "--misses") == 0)
            misses = 1;
        else if (strcmp(argv[i], "--catalog") == 0 && i + 1 < argc)
            snprintf(cat_path, sizeof cat_path, "%s", argv[++i]);
        else if (strcmp(argv[i], "--queries") == 0 && i + 1 < argc)
            snprintf(q_path, sizeof q_path, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: finder [--stages=LIST|none] [--ablation] [--misses] "
                            "[--catalog PATH] [--queries PATH]\n");
            return 2;
        }
    }
    aw_log_set_level(AW_LOG_WARN);
    aw_err_t err;
    aw_finder_catalog_t cat;
    aw_eval_set_t set;
    if (aw_finder_catalog_load(cat_path, &cat, &err) != 0 ||
        aw_eval_load(q_path, &set, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double ms;
    if (ablation) {
        static const struct {
            const char *name;
            unsigned st;
        } rows[] = {
            {"plain BM25 (folding only)", 0},
            {"+ stemming", AW_FINDER_STEM},
            {"+ decompounding", AW_FINDER_STEM | AW_FINDER_DECOMPOUND},
            {"+ synonyms", AW_FINDER_STEM | AW_FINDER_DECOMPOUND | AW_FINDER_SYNONYMS},
            {"+ trigram (all)", AW_FINDER_ALL},
        };
        printf("| stages | hit@1 | hit@5 | hit@10 | MRR | held-out hit@10 | held-out MRR | "
               "build ms |\n|---|---|---|---|---|---|---|---|\n");
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
            aw_finder_t *f = build(&cat, rows[i].st, &ms);
            aw_eval_result_t r;
            if (aw_eval_run(f, &set, &r, NULL, &err) != 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
            double n = (double)r.all.n, h = r.held.n ? (double)r.held.n : 1;
            printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f |\n", rows[i].name,
                   r.all.hit1 / n, r.all.hit5 / n, r.all.hit10 / n, r.all.mrr / n, r.held.hit10 / h,
                   r.held.mrr / h, ms);
            aw_finder_free(f);
        }
        aw_eval_free(&set);
        aw_finder_catalog_free(&cat);
        return 0;
    }
    aw_finder_t *f = build(&cat, stages, &ms);
    aw_eval_result_t r;
    if (aw_eval_run(f, &set, &r, misses ? stdout : NULL, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("finder: %zu services, %zu queries, build %.0f ms\n", cat.n, set.n, ms);
    printf("%-12s %4s  %6s %6s %6s %6s\n", "set", "n", "hit@1", "hit@5", "hit@10", "MRR");
    line("all", &r.all);
    line("dev", &r.dev);
    line("held-out", &r.held);
    for (size_t k = 0; k < r.n_kinds; k++) line(r.kind[k], &r.by_kind[k]);
    /* Speed: the whole set repeatedly on this thread for about a second of
     * CPU time (thread CPU clock, so other load on the machine does not
     * count against us). */
    aw_finder_hit_t hits[10];
    size_t done = 0;
    double t0 = cpu_s(), t1;
    do {
        for (size_t i = 0; i < set.n; i++) aw_finder_search(f, set.q[i].text, 10, hits, &err);
        done += set.n;
        t1 = cpu_s();
    } while (t1 - t0 < 1.0);
    printf("speed: %.0f queries/s on one core (%.1f us/query CPU, limit 10)\n", done / (t1 - t0),
           (t1 - t0) / done * 1e6);
    aw_finder_free(f);
    aw_eval_free(&set);
    aw_finder_catalog_free(&cat);
    return 0;
}
