#include "catalog/finder_trigram.h"

#include <stdlib.h>
#include <string.h>

#include "catalog/tokenizer.h"

void aw_tri_init(aw_tri_t *t) {
    memset(t, 0, sizeof *t);
}

void aw_tri_free(aw_tri_t *t) {
    for (size_t i = 0; i < t->n_words; i++) free(t->words[i]);
    free(t->words);
    free(t->posts);
    free(t->n_grams);
    memset(t, 0, sizeof *t);
}

int aw_tri_add(aw_tri_t *t, const char *w, size_t len) {
    if (len < 3 || len > AW_TOK_WORD_MAX) return 0;
    if (t->n_words == t->cap_words) {
        size_t nc = t->cap_words ? t->cap_words * 2 : 1024;
        char **nw = realloc(t->words, nc * sizeof *nw);
        if (!nw) return AW_ENOMEM;
        t->words = nw;
        t->cap_words = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return AW_ENOMEM;
    memcpy(c, w, len);
    c[len] = 0;
    t->words[t->n_words++] = c;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_post(const void *a, const void *b) {
    const struct aw_tri_post *x = a, *y = b;
    if (x->gram != y->gram) return x->gram < y->gram ? -1 : 1;
    return x->word < y->word ? -1 : x->word > y->word;
}

/* Trigrams of "$w$", deduplicated; returns the count. */
static size_t grams(const char *w, size_t len, uint32_t *out) {
    unsigned char p[AW_TOK_WORD_MAX + 2];
    p[0] = '$';
    memcpy(p + 1, w, len);
    p[len + 1] = '$';
    size_t n = 0;
    for (size_t i = 0; i + 3 <= len + 2; i++) {
        uint32_t g = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        size_t k;
        for (k = 0; k < n && out[k] != g; k++) {
        }
        if (k == n) out[n++] = g;
    }
    return n;
}

int aw_tri_build(aw_tri_t *t, aw_err_t *err) {
    qsort(t->words, t->n_words, sizeof *t->words, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < t->n_words; i++) {
        if (u && strcmp(t->words[u - 1], t->words[i]) == 0) {
            free(t->words[i]);
            continue;
        }
        t->words[u++] = t->words[i];
    }
    t->n_words = u;
    size_t total = 0;
    for (size_t i = 0; i < u; i++) total += strlen(t->words[i]);
    t->posts = malloc((total + u * 2 + 1) * sizeof *t->posts);
    t->n_grams = malloc(u + 1);
    if (!t->posts || !t->n_grams) return aw_err_set(err, AW_ENOMEM, "trigram index: out of memory");
    for (size_t i = 0; i < u; i++) {
        uint32_t g[AW_TOK_WORD_MAX + 2];
        size_t n = grams(t->words[i], strlen(t->words[i]), g);
        t->n_grams[i] = (uint8_t)n;
        for (size_t k = 0; k < n; k++) {
            t->posts[t->n_posts].gram = g[k];
            t->posts[t->n_posts].word = (uint32_t)i;
            t->n_posts++;
        }
    }
    qsort(t->posts, t->n_posts, sizeof *t->posts, cmp_post);
    return 0;
}

uint16_t *aw_tri_scratch_new(const aw_tri_t *t) {
    return calloc(t->n_words + 1, sizeof(uint16_t));
}

static void insert_best(aw_tri_match_t *out, size_t *n, size_t max, uint32_t word, float score) {
    for (size_t i = 0; i < *n; i++)
        if (out[i].word == word) {
            if (score > out[i].score) out[i].score = score;
            return;
        }
    size_t pos = *n;
    while (pos > 0 && out[pos - 1].score < score) pos--;
    if (pos >= max) return;
    size_t last = *n < max ? *n : max - 1;
    memmove(out + pos + 1, out + pos, (last - pos) * sizeof *out);
    out[pos].word = word;
    out[pos].score = score;
    if (*n < max) (*n)++;
}

size_t aw_tri_match(const aw_tri_t *t, uint16_t *scratch, const char *w, size_t len,
                    float min_score, aw_tri_match_t *out, size_t max) {
    if (len < 3 || len > AW_TOK_WORD_MAX || !t->n_words || max == 0) return 0;
    uint32_t g[AW_TOK_WORD_MAX + 2];
    size_t ng = grams(w, len, g);
    uint32_t touched[512];
    size_t nt = 0;
    for (size_t k = 0; k < ng; k++) {
        size_t lo = 0, hi = t->n_posts;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (t->posts[mid].gram < g[k])
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t p = lo; p < t->n_posts && t->posts[p].gram == g[k]; p++) {
            uint32_t wi = t->posts[p].word;
            if (scratch[wi] == 0 && nt < sizeof touched / sizeof *touched) touched[nt++] = wi;
            if (scratch[wi] < UINT16_MAX) scratch[wi]++;
        }
    }
    size_t n = 0;
    for (size_t i = 0; i < nt; i++) {
        uint32_t wi = touched[i];
        float dice = 2.0f * scratch[wi] / (float)(ng + t->n_grams[wi]);
        scratch[wi] = 0;
        if (dice >= min_score) insert_best(out, &n, max, wi, dice);
    }
    /* Words whose count was raised but that did not fit in `touched`. */
    if (nt == sizeof touched / sizeof *touched) memset(scratch, 0, t->n_words * sizeof *scratch);
    /* Fragments: words that start with w (a prefix typed so far). */
    if (len >= 4) {
        size_t lo = 0, hi = t->n_words;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (strncmp(t->words[mid], w, len) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t i = lo; i < t->n_words && strncmp(t->words[i], w, len) == 0; i++) {
            if (strlen(t->words[i]) == len) continue;
            float sc = 0.5f + 0.5f * (float)len / (float)strlen(t->words[i]);
            if (sc >= min_score) insert_best(out, &n, max, (uint32_t)i, sc);
        }
    }
    return n;
}
