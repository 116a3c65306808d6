#include "catalog/finder.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "catalog/finder_backend.h"

#define DEFAULT_WORDLIST  "/usr/share/dict/ngerman"
#define DEFAULT_THESAURUS "/usr/share/openthesaurus-de/openthesaurus.txt"

const double aw_finder_field_weights[4] = {8.0, 5.0, 3.0, 1.0};

/* Query term groups and their weights in the final score. */
enum { G_QUERY, G_STRONG, G_WEAK, G_FUZZY, G_COUNT };
static const double group_weight[G_COUNT] = {1.0, 0.8, 0.3, 0.6};

enum { MAX_QUERY_WORDS = 24, MAX_GROUP_TERMS = 64 };

typedef struct conn {
    struct conn *next;
    void *b; /* backend connection */
    aw_tok_stemmer_t *st;
    uint16_t *tri_scratch;
    double *scores;
} conn_t;

struct aw_finder {
    aw_fan_t an;
    const aw_finder_backend_t *backend;
    void *index;
    size_t n_docs;
    char (*leika)[16];
    double *prior; /* per doc, multiplies the score */
    pthread_mutex_t lock;
    conn_t *idle;
    aw_finder_stats_t stats;
};

/* Function words ignored in queries (German and English), folded. */
static const char *const stopwords[] = {
    "der",     "die",      "das",     "den",     "dem",    "des",    "ein",   "eine",    "einer",
    "eines",   "einem",    "einen",   "und",     "oder",   "aber",   "ich",   "du",      "er",
    "sie",     "es",       "wir",     "ihr",     "mich",   "mir",    "dich",  "mein",    "meine",
    "meinen",  "meinem",   "meiner",  "meines",  "dein",   "deine",  "sein",  "seine",   "unser",
    "unsere",  "wie",      "was",     "wer",     "wo",     "wann",   "warum", "wieso",   "weshalb",
    "welche",  "welcher",  "welches", "woher",   "wohin",  "ist",    "sind",  "bin",     "bist",
    "war",     "hat",      "habe",    "haben",   "hast",   "muss",   "musst", "muessen", "kann",
    "kannst",  "koennen",  "darf",    "duerfen", "will",   "wollen", "soll",  "sollen",  "moechte",
    "brauche", "brauchen", "fuer",    "mit",     "von",    "vom",    "zu",    "zum",     "zur",
    "im",      "in",       "an",      "am",      "auf",    "aus",    "bei",   "nach",    "ueber",
    "um",      "als",      "auch",    "noch",    "nicht",  "kein",   "keine", "so",      "da",
    "dann",    "denn",     "wenn",    "ob",      "nun",    "mal",    "bitte", "hallo",   "gibt",
    "geht",    "tun",      "man",     "wird",    "werden", "ne",     "nen",   "dass",    "wegen",
    "viel",    "hoch",     "etwas",
};

/* English function words: ignored too, and they mark a query as English. */
static const char *const stopwords_en[] = {
    "the",  "a",       "of",     "for",    "my",   "to",     "i",    "is",  "how",
    "do",   "can",     "what",   "where",  "get",  "need",   "and",  "or",  "with",
    "on",   "at",      "from",   "me",     "it",   "this",   "that", "are", "be",
    "want", "germany", "german", "please", "does", "should", "when", "who", "which",
    "your", "our",     "we",     "you",    "have", "has",
};

/* Three-letter words allowed as compound parts. */
static const char *const short_parts[] = {"amt", "bau", "kfz", "ehe", "tod",  "pkw",
                                          "lkw", "see", "rad", "weg", "zoll", "kur"};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- analysis ----------------------------------------------------------- */

static size_t term_of(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *w, size_t len,
                      char *out) {
    if (an->stages & AW_FINDER_STEM) return aw_tok_stem(st, w, len, out);
    memcpy(out, w, len);
    out[len] = 0;
    return len;
}

static size_t word_terms(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *w, size_t len,
                         aw_fan_term_t *out, size_t max);

/* Memoised: a catalogue repeats its words, and the tokenizer, the
 * document-frequency pass and the vocabulary pass all analyse them. */
size_t aw_fan_word_terms(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *w, size_t len,
                         aw_fan_term_t *out, size_t max) {
    if (max == 0 || len == 0) return 0;
    const uint32_t *v = aw_strmap_get(&an->memo, w, len);
    if (v) {
        size_t k = 0;
        for (const char *t = an->memo_terms[*v]; *t && k < max; t += strlen(t) + 1)
            memcpy(out[k++], t, strlen(t) + 1);
        return k;
    }
    size_t k = word_terms(an, st, w, len, out, max);
    if (an->building && max >= AW_FAN_WORD_TERMS) {
        aw_fan_t *m = (aw_fan_t *)an; /* single-threaded while building */
        if (m->n_memo == m->cap_memo) {
            size_t nc = m->cap_memo ? m->cap_memo * 2 : 1024;
            char **nt = realloc(m->memo_terms, nc * sizeof *nt);
            if (!nt) return k;
            m->memo_terms = nt;
            m->cap_memo = nc;
        }
        size_t total = 1;
        for (size_t i = 0; i < k; i++) total += strlen(out[i]) + 1;
        char *buf = malloc(total), *p = buf;
        if (!buf) return k;
        for (size_t i = 0; i < k; i++) {
            size_t l = strlen(out[i]) + 1;
            memcpy(p, out[i], l);
            p += l;
        }
        *p = 0;
        uint32_t *slot = aw_strmap_put(&m->memo, w, len);
        if (!slot) {
            free(buf);
            return k;
        }
        *slot = (uint32_t)m->n_memo;
        m->memo_terms[m->n_memo++] = buf;
    }
    return k;
}

static size_t word_terms(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *w, size_t len,
                         aw_fan_term_t *out, size_t max) {
    term_of(an, st, w, len, out[0]);
    size_t k = 1;
    if (!(an->stages & AW_FINDER_DECOMPOUND)) return k;
    aw_lex_part_t parts[AW_LEX_MAX_PARTS];
    size_t np = aw_lex_decompound(&an->lex, w, len, parts, AW_LEX_MAX_PARTS);
    for (size_t i = 0; i < np && k < max; i++) {
        term_of(an, st, w + parts[i].off, parts[i].len, out[k]);
        size_t j;
        for (j = 0; j < k && strcmp(out[j], out[k]) != 0; j++) {
        }
        if (j == k) k++;
    }
    return k;
}

typedef struct {
    const aw_fan_t *an;
    aw_tok_stemmer_t *st;
    aw_fan_term_fn fn;
    void *ctx;
} doc_walk_t;

static int doc_word(void *ctx, const aw_tok_word_t *w) {
    doc_walk_t *d = ctx;
    aw_fan_term_t t[AW_FAN_WORD_TERMS];
    size_t n = aw_fan_word_terms(d->an, d->st, w->text, w->len, t, AW_FAN_WORD_TERMS);
    for (size_t i = 0; i < n; i++) {
        int rc = d->fn(d->ctx, t[i], strlen(t[i]), w->start, w->end, i > 0);
        if (rc) return rc;
    }
    return 0;
}

int aw_fan_doc_terms(const aw_fan_t *an, aw_tok_stemmer_t *st, const char *text, size_t len,
                     aw_fan_term_fn fn, void *ctx) {
    doc_walk_t d = {an, st, fn, ctx};
    return aw_tok_words(text, len, doc_word, &d);
}

/* ---- building ------------------------------------------------------------ */

typedef struct {
    aw_fan_t *an;
    aw_tok_stemmer_t *st;
    aw_strmap_t prefixes; /* first 4 letters of every catalogue word */
} build_ctx_t;

static int collect_word(void *ctx, const aw_tok_word_t *w) {
    build_ctx_t *b = ctx;
    if (aw_lex_add(&b->an->lex, w->text, w->len, AW_LEX_CAT)) return AW_ENOMEM;
    return 0;
}

static int add_prefix(build_ctx_t *b, const char *w, size_t len) {
    return aw_strmap_put(&b->prefixes, w, len < 4 ? len : 4) ? 0 : AW_ENOMEM;
}

/* Words sharing a stem share their first letters (stems are prefixes of
 * the folded word except where Snowball drops an umlaut). */
static int syn_maybe(void *ctx, const char *word, size_t len) {
    build_ctx_t *b = ctx;
    char w[AW_TOK_WORD_MAX + 1];
    size_t wl = aw_tok_fold_word(word, len, w);
    if (wl == 0) return 0;
    return aw_strmap_get(&b->prefixes, w, wl < 4 ? wl : 4) != NULL;
}

static int collect_terms(void *ctx, const aw_tok_word_t *w) {
    build_ctx_t *b = ctx;
    aw_fan_term_t t[AW_FAN_WORD_TERMS];
    size_t n = aw_fan_word_terms(b->an, b->st, w->text, w->len, t, AW_FAN_WORD_TERMS);
    for (size_t i = 0; i < n; i++)
        if (!aw_strmap_put(&b->an->index_terms, t[i], strlen(t[i]))) return AW_ENOMEM;
    if (add_prefix(b, w->text, w->len)) return AW_ENOMEM;
    if (b->an->stages & AW_FINDER_TRIGRAM) {
        if (aw_tri_add(&b->an->tri, w->text, w->len)) return AW_ENOMEM;
        aw_lex_part_t parts[AW_LEX_MAX_PARTS];
        size_t np = (b->an->stages & AW_FINDER_DECOMPOUND)
                        ? aw_lex_decompound(&b->an->lex, w->text, w->len, parts, AW_LEX_MAX_PARTS)
                        : 0;
        for (size_t i = 0; i < np; i++)
            if (aw_tri_add(&b->an->tri, w->text + parts[i].off, parts[i].len) ||
                add_prefix(b, w->text + parts[i].off, parts[i].len))
                return AW_ENOMEM;
    }
    return 0;
}

static size_t syn_analyze(void *ctx, const char *phrase, size_t len, int as_key, char *out,
                          size_t outsz);

typedef struct {
    build_ctx_t *b;
    char *out;
    size_t outsz, len;
    int as_key;
} phrase_ctx_t;

static int phrase_word(void *ctx, const aw_tok_word_t *w) {
    phrase_ctx_t *p = ctx;
    aw_fan_term_t t[AW_FAN_WORD_TERMS];
    size_t n = p->as_key ? 1 : AW_FAN_WORD_TERMS;
    if (p->as_key)
        term_of(p->b->an, p->b->st, w->text, w->len, t[0]);
    else
        n = aw_fan_word_terms(p->b->an, p->b->st, w->text, w->len, t, n);
    for (size_t i = 0; i < n; i++) {
        size_t tl = strlen(t[i]);
        if (p->len + tl + 2 > p->outsz) return 1;
        if (p->len) p->out[p->len++] = ' ';
        memcpy(p->out + p->len, t[i], tl);
        p->len += tl;
        p->out[p->len] = 0;
    }
    return 0;
}

static size_t syn_analyze(void *ctx, const char *phrase, size_t len, int as_key, char *out,
                          size_t outsz) {
    phrase_ctx_t p = {ctx, out, outsz, 0, as_key};
    out[0] = 0;
    aw_tok_words(phrase, len, phrase_word, &p);
    return p.len;
}

static int syn_known(void *ctx, const char *term, size_t len) {
    build_ctx_t *b = ctx;
    return aw_strmap_get(&b->an->index_terms, term, len) != NULL;
}

static int walk_doc(const aw_finder_doc_t *d, aw_tok_word_fn fn, void *ctx) {
    const char *f[4] = {d->name, d->keywords, d->short_text, d->long_text};
    for (int k = 0; k < 4; k++) {
        if (!f[k]) continue;
        int rc = aw_tok_words(f[k], strlen(f[k]), fn, ctx);
        if (rc) return rc;
    }
    return 0;
}

static int valid_leika(const char *k) {
    if (!k || strlen(k) != 14 || k[0] != '9' || k[1] != '9') return 0;
    for (int i = 0; i < 14; i++)
        if (k[i] < '0' || k[i] > '9') return 0;
    return 1;
}

static int build_analyzer(aw_finder_t *f, const aw_finder_doc_t *docs, size_t n,
                          const aw_finder_opts_t *o, aw_err_t *err) {
    aw_fan_t *an = &f->an;
    aw_tok_stemmer_t *st = aw_tok_stemmer_new();
    if (!st) return aw_err_set(err, AW_ENOMEM, "finder: cannot create German stemmer");
    build_ctx_t b = {an, st, {0}};
    aw_strmap_init(&b.prefixes);
    int rc = 0;
    aw_err_t e2;
    if (an->stages & (AW_FINDER_DECOMPOUND | AW_FINDER_TRIGRAM)) {
        const char *wl = o && o->wordlist_path ? o->wordlist_path : DEFAULT_WORDLIST;
        rc = aw_lex_load_wordlist(&an->lex, wl, &e2);
        if (rc == AW_ENOMEM) goto fail_oom;
        if (rc) {
            aw_log_warn("finder.wordlist_missing",
                        "path=%s effect=\"compounds split with catalogue words only\" code=%s", wl,
                        aw_err_name(rc));
            rc = 0;
        }
    }
    for (size_t i = 0; i < sizeof short_parts / sizeof *short_parts; i++)
        if (aw_lex_add(&an->lex, short_parts[i], strlen(short_parts[i]),
                       AW_LEX_WORD | AW_LEX_SHORT | AW_LEX_NOUN))
            goto fail_oom;
    for (size_t i = 0; i < sizeof stopwords / sizeof *stopwords; i++)
        if (aw_lex_add(&an->lex, stopwords[i], strlen(stopwords[i]), AW_LEX_STOP)) goto fail_oom;
    for (size_t i = 0; i < sizeof stopwords_en / sizeof *stopwords_en; i++)
        if (aw_lex_add(&an->lex, stopwords_en[i], strlen(stopwords_en[i]), AW_LEX_STOP | AW_LEX_EN))
            goto fail_oom;
    for (size_t i = 0; i < n; i++)
        if (walk_doc(&docs[i], collect_word, &b)) goto fail_oom;
    for (size_t i = 0; i < n; i++)
        if (walk_doc(&docs[i], collect_terms, &b)) goto fail_oom;
    if (an->stages & AW_FINDER_TRIGRAM) {
        rc = aw_tri_build(&an->tri, err);
        if (rc) goto out;
    }
    if (an->stages & AW_FINDER_SYNONYMS) {
        rc = aw_syn_add_curated(&an->syn, syn_analyze, syn_known, &b, err);
        if (rc) goto out;
        const char *th = o && o->thesaurus_path ? o->thesaurus_path : DEFAULT_THESAURUS;
        rc = aw_syn_load_thesaurus(&an->syn, th, syn_analyze, syn_known, syn_maybe, &b, &e2);
        if (rc == AW_ENOMEM) goto fail_oom;
        if (rc) {
            aw_log_warn("finder.thesaurus_missing",
                        "path=%s effect=\"only curated synonyms\" code=%s", th, aw_err_name(rc));
            rc = 0;
        }
    }
out:
    aw_tok_stemmer_free(st);
    aw_strmap_free(&b.prefixes);
    return rc;
fail_oom:
    aw_tok_stemmer_free(st);
    aw_strmap_free(&b.prefixes);
    return aw_err_set(err, AW_ENOMEM, "finder: out of memory while building");
}

void aw_finder_free(aw_finder_t *f) {
    if (!f) return;
    while (f->idle) {
        conn_t *c = f->idle;
        f->idle = c->next;
        f->backend->close(c->b);
        aw_tok_stemmer_free(c->st);
        free(c->tri_scratch);
        free(c->scores);
        free(c);
    }
    if (f->index) f->backend->free(f->index);
    aw_lex_free(&f->an.lex);
    aw_syn_free(&f->an.syn);
    aw_tri_free(&f->an.tri);
    aw_strmap_free(&f->an.index_terms);
    aw_strmap_free(&f->an.memo);
    for (size_t i = 0; i < f->an.n_memo; i++) free(f->an.memo_terms[i]);
    free(f->an.memo_terms);
    free(f->leika);
    free(f->prior);
    pthread_mutex_destroy(&f->lock);
    free(f);
}

int aw_finder_new(const aw_finder_doc_t *docs, size_t n, const aw_finder_opts_t *opts,
                  aw_finder_t **out, aw_err_t *err) {
    *out = NULL;
    if (n == 0 || n > AW_FINDER_DOCS_MAX)
        return aw_err_set(err, AW_EINVAL, "finder: need 1 to %d services, got %zu",
                          AW_FINDER_DOCS_MAX, n);
    for (size_t i = 0; i < n; i++)
        if (!valid_leika(docs[i].leika))
            return aw_err_set(err, AW_EINVAL,
                              "finder: service %zu: leika key must match ^99\\d{12}$", i);
    double t0 = now_ms();
    aw_finder_t *f = calloc(1, sizeof *f);
    if (!f) return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    pthread_mutex_init(&f->lock, NULL);
    f->an.stages = opts && opts->stages ? opts->stages & AW_FINDER_ALL : AW_FINDER_ALL;
    aw_lex_init(&f->an.lex);
    aw_syn_init(&f->an.syn);
    aw_tri_init(&f->an.tri);
    aw_strmap_init(&f->an.index_terms);
    aw_strmap_init(&f->an.memo);
    f->an.building = 1;
    f->backend = opts && opts->backend ? opts->backend : &aw_finder_backend_fts5;
    f->n_docs = n;
    f->leika = calloc(n, sizeof *f->leika);
    if (!f->leika) {
        aw_finder_free(f);
        return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    }
    f->prior = calloc(n, sizeof *f->prior);
    if (!f->prior) {
        aw_finder_free(f);
        return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(f->leika[i], docs[i].leika, 15);
        /* LeiKa keys end in a 3-digit detail code; 000 is the general form
         * of a service ("Reisepass Ausstellung"), others are special cases
         * ("... express"). A query that does not say which one most often
         * means the general form, so it wins near-ties. */
        f->prior[i] = strcmp(docs[i].leika + 11, "000") == 0 ? 1.05 : 1.0;
    }
    int rc = build_analyzer(f, docs, n, opts, err);
    if (!rc) rc = f->backend->build(&f->an, docs, n, &f->index, err);
    f->an.building = 0;
    if (rc) {
        aw_finder_free(f);
        return rc;
    }
    f->stats.docs = n;
    f->stats.wordlist_words = f->an.lex.wordlist_words;
    f->stats.thesaurus_sets = f->an.syn.thesaurus_sets;
    f->stats.vocabulary = f->an.index_terms.count;
    f->stats.build_ms = now_ms() - t0;
    aw_log_info("finder.built",
                "backend=%s docs=%zu terms=%zu wordlist_words=%zu thesaurus_sets=%zu ms=%.0f",
                f->backend->name, n, f->stats.vocabulary, f->stats.wordlist_words,
                f->stats.thesaurus_sets, f->stats.build_ms);
    *out = f;
    return 0;
}

void aw_finder_get_stats(const aw_finder_t *f, aw_finder_stats_t *st) {
    *st = f->stats;
}

/* ---- searching ----------------------------------------------------------- */

static conn_t *conn_get(aw_finder_t *f, aw_err_t *err) {
    pthread_mutex_lock(&f->lock);
    conn_t *c = f->idle;
    if (c) f->idle = c->next;
    pthread_mutex_unlock(&f->lock);
    if (c) return c;
    c = calloc(1, sizeof *c);
    if (!c) goto oom;
    c->st = aw_tok_stemmer_new();
    c->scores = calloc(f->n_docs, sizeof *c->scores);
    c->tri_scratch = aw_tri_scratch_new(&f->an.tri);
    if (!c->st || !c->scores || !c->tri_scratch) goto oom;
    if (f->backend->open(f->index, &c->b, err) != 0) {
        aw_tok_stemmer_free(c->st);
        free(c->scores);
        free(c->tri_scratch);
        free(c);
        return NULL;
    }
    return c;
oom:
    if (c) {
        aw_tok_stemmer_free(c->st);
        free(c->scores);
        free(c->tri_scratch);
        free(c);
    }
    aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    return NULL;
}

static void conn_put(aw_finder_t *f, conn_t *c) {
    pthread_mutex_lock(&f->lock);
    c->next = f->idle;
    f->idle = c;
    pthread_mutex_unlock(&f->lock);
}

typedef struct {
    aw_fan_term_t t[G_COUNT][MAX_GROUP_TERMS];
    unsigned concept[G_COUNT][MAX_GROUP_TERMS];
    double weight[G_COUNT][MAX_GROUP_TERMS];
    size_t n[G_COUNT];
    unsigned next_concept;
    double scale; /* multiplies the group weight of terms added next */
} plan_t;

static int plan_has(const plan_t *p, const char *t, size_t upto) {
    for (size_t g = 0; g <= upto; g++)
        for (size_t i = 0; i < p->n[g]; i++)
            if (strcmp(p->t[g][i], t) == 0) return 1;
    return 0;
}

/* Weak expansions are capped: each OR-ed term costs FTS5 time, and the
 * thesaurus's long tails rarely help. */
static const size_t group_cap[G_COUNT] = {MAX_GROUP_TERMS, MAX_GROUP_TERMS, 12, 24};

static void plan_add(plan_t *p, int g, unsigned concept, const char *t, size_t len) {
    if (len == 0 || len > AW_TOK_WORD_MAX || p->n[g] >= group_cap[g]) return;
    char tmp[AW_TOK_WORD_MAX + 1];
    memcpy(tmp, t, len);
    tmp[len] = 0;
    if (plan_has(p, tmp, G_COUNT - 1)) return;
    p->concept[g][p->n[g]] = concept;
    p->weight[g][p->n[g]] = group_weight[g] * p->scale;
    memcpy(p->t[g][p->n[g]++], tmp, len + 1);
}

static void plan_add_list(plan_t *p, int g, unsigned concept, const char *terms) {
    const char *s = terms;
    while (*s) {
        size_t n = strcspn(s, " ");
        plan_add(p, g, concept, s, n);
        s += n;
        while (*s == ' ') s++;
    }
}

static void plan_syn(const aw_fan_t *an, plan_t *p, unsigned concept, const char *key,
                     size_t klen) {
    size_t n;
    const aw_syn_exp_t *e = aw_syn_get(&an->syn, key, klen, &n);
    for (size_t i = 0; i < n; i++)
        plan_add_list(p, e[i].strong ? G_STRONG : G_WEAK, concept, e[i].terms);
}

typedef struct {
    aw_tok_word_t w[MAX_QUERY_WORDS];
    size_t n;
} qwords_t;

static int q_word(void *ctx, const aw_tok_word_t *w) {
    qwords_t *q = ctx;
    if (q->n >= MAX_QUERY_WORDS) return 1;
    q->w[q->n++] = *w;
    return 0;
}

static void make_plan(const aw_finder_t *f, conn_t *c, const qwords_t *q, plan_t *p) {
    const aw_fan_t *an = &f->an;
    aw_fan_term_t keys[MAX_QUERY_WORDS];
    int stop[MAX_QUERY_WORDS], translated[MAX_QUERY_WORDS];
    /* Is the query English? An English function word, or every content
     * word has an English translation. Then an English word's own term
     * counts less than its German translation: "register" should find
     * Anmeldung, not Melderegister. */
    int english = 0, content = 0, n_translated = 0;
    for (size_t i = 0; i < q->n; i++) {
        const aw_tok_word_t *w = &q->w[i];
        uint32_t fl = aw_lex_flags(&an->lex, w->text, w->len);
        stop[i] = (fl & AW_LEX_STOP) != 0;
        if (fl & AW_LEX_EN) english = 1;
        term_of(an, c->st, w->text, w->len, keys[i]);
        translated[i] = 0;
        if (stop[i] || !(an->stages & AW_FINDER_SYNONYMS)) continue;
        content++;
        size_t ne;
        const aw_syn_exp_t *e = aw_syn_get(&an->syn, keys[i], strlen(keys[i]), &ne);
        for (size_t k = 0; k < ne && !translated[i]; k++) translated[i] = e[k].strong == 2;
        n_translated += translated[i];
    }
    if (content > 0 && n_translated == content) english = 1;
    for (size_t i = 0; i < q->n; i++) {
        const aw_tok_word_t *w = &q->w[i];
        uint32_t fl = aw_lex_flags(&an->lex, w->text, w->len);
        if (stop[i]) continue;
        p->scale = english && translated[i] ? 0.4 : 1.0;
        /* The word is one concept (with its synonyms and corrections);
         * each compound part is another. */
        aw_fan_term_t t[AW_FAN_WORD_TERMS];
        unsigned cw[AW_FAN_WORD_TERMS];
        size_t nt = aw_fan_word_terms(an, c->st, w->text, w->len, t, AW_FAN_WORD_TERMS);
        if (english && translated[i]) nt = 1; /* "passport" is not pass + port */
        for (size_t k = 0; k < nt; k++) {
            cw[k] = p->next_concept++;
            plan_add(p, G_QUERY, cw[k], t[k], strlen(t[k]));
        }
        p->scale = 1.0;
        if (an->stages & AW_FINDER_SYNONYMS)
            for (size_t k = 0; k < nt; k++) plan_syn(an, p, cw[k], t[k], strlen(t[k]));
        /* A word that is neither German nor in the catalogue: a typo or a
         * fragment; look for the nearest catalogue words. */
        if ((an->stages & AW_FINDER_TRIGRAM) && w->len >= 4 &&
            !(fl & (AW_LEX_WORD | AW_LEX_CAT | AW_LEX_MOD)) && nt == 1 &&
            !(an->stages & AW_FINDER_SYNONYMS &&
              aw_syn_get(&an->syn, t[0], strlen(t[0]), &(size_t){0}))) {
            aw_tri_match_t m[3];
            size_t nm = aw_tri_match(&an->tri, c->tri_scratch, w->text, w->len, 0.5f, m, 3);
            for (size_t k = 0; k < nm; k++) {
                if (m[k].score < m[0].score - 0.1f) break;
                /* The closer the match, the more it counts. */
                p->scale = m[k].score / 0.6;
                const char *mw = an->tri.words[m[k].word];
                aw_fan_term_t mt[AW_FAN_WORD_TERMS];
                /* The word's own term; its parts are in the index anyway. */
                size_t nmt = aw_fan_word_terms(an, c->st, mw, strlen(mw), mt, 1);
                for (size_t j = 0; j < nmt; j++) plan_add(p, G_FUZZY, cw[0], mt[j], strlen(mt[j]));
            }
            p->scale = 1.0;
        }
    }
    /* Adjacent words written apart that form a known word: "Personal
     * ausweis", "dicht machen". */
    for (size_t i = 0; i + 1 < q->n; i++) {
        if (stop[i] || stop[i + 1]) continue;
        const aw_tok_word_t *a = &q->w[i], *b = &q->w[i + 1];
        if (a->len + b->len > AW_TOK_WORD_MAX) continue;
        char j[AW_TOK_WORD_MAX + 1];
        memcpy(j, a->text, a->len);
        memcpy(j + a->len, b->text, b->len);
        size_t jl = a->len + b->len;
        j[jl] = 0;
        aw_fan_term_t t[AW_FAN_WORD_TERMS];
        if (!(aw_lex_flags(&an->lex, j, jl) & (AW_LEX_WORD | AW_LEX_CAT))) {
            /* Not a word, but maybe a synonym key ("dicht machen"). */
            size_t ns = 0;
            if (!(an->stages & AW_FINDER_SYNONYMS)) continue;
            term_of(an, c->st, j, jl, t[0]);
            if (!aw_syn_get(&an->syn, t[0], strlen(t[0]), &ns)) continue;
        }
        size_t nt = aw_fan_word_terms(an, c->st, j, jl, t, AW_FAN_WORD_TERMS);
        unsigned cj = p->next_concept++;
        for (size_t k = 0; k < nt; k++) plan_add(p, G_QUERY, cj, t[k], strlen(t[k]));
        if (an->stages & AW_FINDER_SYNONYMS)
            for (size_t k = 0; k < nt; k++) plan_syn(an, p, cj, t[k], strlen(t[k]));
    }
    if (an->stages & AW_FINDER_SYNONYMS) {
        for (size_t i = 0; i + 1 < q->n; i++) {
            char key[2 * AW_TOK_WORD_MAX + 2];
            int kl = snprintf(key, sizeof key, "%s %s", keys[i], keys[i + 1]);
            if (kl > 0 && (size_t)kl < sizeof key)
                plan_syn(an, p, p->next_concept++, key, (size_t)kl);
        }
    }
}

int aw_finder_search(aw_finder_t *f, const char *query, size_t limit, aw_finder_hit_t *out,
                     aw_err_t *err) {
    if (!query) return aw_err_set(err, AW_EINVAL, "query missing");
    size_t qlen = strnlen(query, AW_FINDER_QUERY_MAX + 1);
    if (qlen > AW_FINDER_QUERY_MAX)
        return aw_err_set(err, AW_ETOOBIG, "query too long: at most %d bytes", AW_FINDER_QUERY_MAX);
    if (limit > AW_FINDER_LIMIT_MAX) limit = AW_FINDER_LIMIT_MAX;
    if (limit == 0) return 0;
    qwords_t q;
    q.n = 0;
    aw_tok_words(query, qlen, q_word, &q);
    if (q.n == 0) return 0;
    conn_t *c = conn_get(f, err);
    if (!c) return err ? err->code : AW_ENOMEM;
    plan_t *p = malloc(sizeof *p);
    if (!p) {
        conn_put(f, c);
        return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    }
    memset(p->n, 0, sizeof p->n);
    p->next_concept = 0;
    p->scale = 1.0;
    make_plan(f, c, &q, p);
    memset(c->scores, 0, f->n_docs * sizeof *c->scores);
    const char *terms[G_COUNT * MAX_GROUP_TERMS];
    double weights[G_COUNT * MAX_GROUP_TERMS];
    unsigned concepts[G_COUNT * MAX_GROUP_TERMS];
    size_t nt = 0;
    for (int g = 0; g < G_COUNT; g++)
        for (size_t i = 0; i < p->n[g]; i++) {
            terms[nt] = p->t[g][i];
            concepts[nt] = p->concept[g][i];
            weights[nt++] = p->weight[g][i];
        }
    int rc = nt ? f->backend->score(c->b, terms, weights, concepts, nt, c->scores, err) : 0;
    free(p);
    size_t n = 0;
    if (!rc) {
        for (size_t d = 0; d < f->n_docs; d++) {
            double s = c->scores[d] * f->prior[d];
            if (s <= 0) continue;
            size_t pos = n;
            while (pos > 0 && out[pos - 1].score < s) pos--;
            if (pos >= limit) continue;
            size_t last = n < limit ? n : limit - 1;
            memmove(out + pos + 1, out + pos, (last - pos) * sizeof *out);
            memcpy(out[pos].leika, f->leika[d], 16);
            out[pos].score = s;
            out[pos].doc = d;
            if (n < limit) n++;
        }
    }
    conn_put(f, c);
    return rc ? rc : (int)n;
}
