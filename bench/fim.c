/*
 * bench/fim — FIM engine figures (printed, never asserted):
 *   - parse time of the largest fixture schema (S00000186 as XDF3, 400 KB)
 *   - validation documents/s and fields/s on generated S00000186 documents
 *   - ajv (node, tests/node) on our exported JSON Schema, same documents,
 *     same run, and the ratio.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fim/fim.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t count_values(json_t *v) {
    size_t n = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) n += count_values(x);
    } else if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) n += count_values(json_array_get(v, i));
    } else {
        n = 1;
    }
    return n;
}

int main(void) {
    const char *src = getenv("AMTSWEG_SRC");
    if (!src) src = ".";
    char path[1024], cl[1024];
    snprintf(path, sizeof path, "%s/tests/data/fim/xdf3/S00000186v1.0_xdf3.xml", src);
    snprintf(cl, sizeof cl, "%s/tests/data/fim/xdf2/S00000186v1.0_xdf2", src);
    aw_fim_load_opts_t o = {.codelist_dir = cl};
    aw_err_t err;
    aw_fim_schema_t *s = NULL;
    /* parse: best of several runs, and the mean */
    int runs = 30;
    double best = 1e9, total = 0;
    for (int i = 0; i < runs; i++) {
        double t0 = now();
        if (aw_fim_schema_load(path, &o, &s, &err)) {
            fprintf(stderr, "load: %s\n", err.msg);
            return 1;
        }
        double dt = now() - t0;
        total += dt;
        if (dt < best) best = dt;
        if (i + 1 < runs) aw_fim_schema_free(s);
    }
    printf("parse S00000186 XDF3 (411 KB, %zu elements, %zu code lists incl. files): best %.2f ms, "
           "mean %.2f ms (target < 20 ms)\n",
           s->nelems, s->ncodelists, best * 1e3, total / runs * 1e3);

    /* documents: half valid, half with mistakes */
    int ndocs = 1000;
    json_t **docs = calloc((size_t)ndocs, sizeof *docs);
    aw_buf_t jsonl = AW_BUF_INIT;
    size_t fields = 0;
    int valid = 0;
    for (int i = 0; i < ndocs; i++) {
        aw_buf_t d = AW_BUF_INIT;
        aw_fim_sample_json(s, (uint64_t)i + 1000, i % 2 == 1, &d);
        json_error_t je;
        docs[i] = json_loadb(d.data, d.len, JSON_REJECT_DUPLICATES, &je);
        if (!docs[i]) {
            fprintf(stderr, "sample %d: %s\n", i, je.text);
            return 1;
        }
        fields += count_values(docs[i]);
        aw_buf_append(&jsonl, d.data, d.len);
        aw_buf_putc(&jsonl, '\n');
        aw_buf_free(&d);
    }
    /* ours, best of three rounds of about 1 s each (the machine may be shared):
     * (a) from JSON text, as a submission arrives (streaming fast path);
     * (b) on documents already parsed by jansson (the overlay path). */
    double text_best = 0, dom_best = 0;
    for (int round = 0; round < 3; round++) {
        long n = 0;
        double t0 = now(), dt;
        do {
            const char *p = jsonl.data;
            for (int i = 0; i < ndocs; i++) {
                const char *nl = strchr(p, '\n');
                aw_fim_errors_t e;
                aw_fim_errors_init(&e);
                int rc = aw_fim_validate(s, p, (size_t)(nl - p), &e, &err);
                if (round == 0 && n < ndocs && rc == 0) valid++;
                aw_fim_errors_free(&e);
                p = nl + 1;
                n++;
            }
            dt = now() - t0;
        } while (dt < 1.0);
        if ((double)n / dt > text_best) text_best = (double)n / dt;
        n = 0;
        t0 = now();
        do {
            for (int i = 0; i < ndocs; i++) {
                aw_fim_errors_t e;
                aw_fim_errors_init(&e);
                aw_fim_validate_json(s, docs[i], &e, &err);
                aw_fim_errors_free(&e);
                n++;
            }
            dt = now() - t0;
        } while (dt < 1.0);
        if ((double)n / dt > dom_best) dom_best = (double)n / dt;
    }
    double ours = text_best;
    printf("validate S00000186: %d documents (%d valid), %.1f values per document, %.0f bytes "
           "per document\n",
           ndocs, valid, (double)fields / ndocs, (double)jsonl.len / ndocs);
    printf("  amtsweg from JSON text: %.0f documents/s, %.0f fields/s\n", text_best,
           text_best * (double)fields / ndocs);
    printf("  amtsweg on parsed documents (jansson DOM, overlay path): %.0f documents/s\n",
           dom_best);

    /* ajv on the exported schema, same documents */
    char tmpl[] = "/tmp/amtsweg-bench-fim.XXXXXX";
    char *dir = mkdtemp(tmpl);
    aw_buf_t js = AW_BUF_INIT;
    aw_fim_export_json_schema(s, &js, &err);
    char sp[1200], dp[1200], op[1200], cmd[4096];
    snprintf(sp, sizeof sp, "%s/schema.json", dir);
    snprintf(dp, sizeof dp, "%s/docs.jsonl", dir);
    snprintf(op, sizeof op, "%s/ajv.txt", dir);
    FILE *f = fopen(sp, "w");
    fwrite(js.data, 1, js.len, f);
    fclose(f);
    f = fopen(dp, "w");
    fwrite(jsonl.data, 1, jsonl.len, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd %s/tests/node && node fim-ajv.mjs %s %s --bench 1 > %s 2>&1", src,
             sp, dp, op);
    double ajv = 0, ajv_text = 0;
    if (system(cmd) == 0) {
        f = fopen(op, "r");
        long an = 0;
        double as = 0, ar = 0;
        if (f && fscanf(f, "ajv_docs %ld seconds %lf docs_per_s %lf\n", &an, &as, &ar) == 3)
            ajv = ar;
        if (f && fscanf(f, "ajv_text_docs %ld seconds %lf docs_per_s %lf", &an, &as, &ar) == 3)
            ajv_text = ar;
        if (f) fclose(f);
    }
    if (ajv > 0) {
        printf("  ajv 8 on the exported JSON Schema, from JSON text (JSON.parse + validate): "
               "%.0f documents/s\n",
               ajv_text);
        printf("  ajv 8 on the exported JSON Schema, documents already parsed: %.0f documents/s\n",
               ajv);
        printf("  ratio from text, like for like: %.2fx (target >= 2x)\n",
               ajv_text > 0 ? ours / ajv_text : 0.0);
        printf("  ratio amtsweg (from text) / ajv (already parsed): %.2fx; both on parsed "
               "documents: %.2fx\n",
               ours / ajv, dom_best / ajv);
    } else {
        printf("  ajv: not available (run `make check` once to install tests/node)\n");
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    for (int i = 0; i < ndocs; i++) json_decref(docs[i]);
    free(docs);
    aw_buf_free(&jsonl);
    aw_buf_free(&js);
    aw_fim_schema_free(s);
    return 0;
}
