/* SQLite FTS5 backend of the finder: an in-memory database built from the
 * catalogue at start-up; each thread's connection is a copy made with the
 * backup API (the index is a few hundred KiB), so searches never share a
 * connection. The "aw_german" tokenizer analyses documents with the
 * finder's analyzer; in query mode it passes terms through, because the
 * finder hands FTS5 terms it has analysed already.
 *
 * Ranking is a custom FTS5 auxiliary function, aw_bm25(svc, weights): BM25
 * (k1 1.2, b 0.75, field weights as in finder_backend.h) where each OR-ed
 * term carries its own weight (the finder's group weight times the term's
 * IDF, known from building). That scores all term groups of a query in one
 * statement, and IDF comes from a table instead of a scan of each term's
 * doclist as in FTS5's built-in bm25(). IDF is Lucene's
 * log(1 + (N - n + 0.5) / (n + 0.5)), never negative. */
#include <pthread.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "catalog/finder_backend.h"

#include <math.h>

typedef struct {
    sqlite3 *db;
    const aw_fan_t *an;
    size_t n_docs;
    aw_strmap_t df;       /* term → number of documents containing it */
    double avg_len;       /* tokens per document */
    pthread_mutex_t lock; /* the master is read by backups one at a time */
} fts_index_t;

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *q;
    const fts_index_t *ix;
    aw_buf_t match;
} fts_conn_t;

enum { MAX_PHRASES = 256, N_FIELDS = 4 };

/* Marks a column value as "compound parts only" for the tokenizer. */
#define PART_MARK '\x01'

/* A match on a compound part weighs this much of a whole-word match. */
static const double part_weight = 0.6;

/* aw_bm25(svc, BLOB of (weight, concept) double pairs, avg_len) */
static void aux_bm25(const Fts5ExtensionApi *api, Fts5Context *fc, sqlite3_context *ctx, int nv,
                     sqlite3_value **v) {
    if (nv != 2 || sqlite3_value_type(v[0]) != SQLITE_BLOB) {
        sqlite3_result_error(ctx, "aw_bm25: bad arguments", -1);
        return;
    }
    const double *w = sqlite3_value_blob(v[0]);
    int nw = sqlite3_value_bytes(v[0]) / (int)(2 * sizeof(double));
    double avg = sqlite3_value_double(v[1]);
    int np = api->xPhraseCount(fc);
    if (np > MAX_PHRASES || np > nw) {
        sqlite3_result_error(ctx, "aw_bm25: too many phrases", -1);
        return;
    }
    double freq[MAX_PHRASES];
    memset(freq, 0, sizeof(double) * (size_t)np);
    int ni = 0;
    if (api->xInstCount(fc, &ni) != SQLITE_OK) ni = 0;
    for (int i = 0; i < ni; i++) {
        int ip, ic, io;
        if (api->xInst(fc, i, &ip, &ic, &io) != SQLITE_OK) continue;
        if (ip < 0 || ip >= np || ic < 0 || ic >= 2 * N_FIELDS) continue;
        freq[ip] += ic < N_FIELDS ? aw_finder_field_weights[ic]
                                  : part_weight * aw_finder_field_weights[ic - N_FIELDS];
    }
    int dl = 0;
    for (int col = 0; col < N_FIELDS; col++) {
        int cs = 0;
        api->xColumnSize(fc, col, &cs);
        dl += cs;
    }
    const double k1 = 1.2, b = 0.75;
    double norm = k1 * (1 - b + b * (double)dl / (avg > 0 ? avg : 1));
    double best[MAX_PHRASES];
    memset(best, 0, sizeof(double) * (size_t)np);
    for (int p = 0; p < np; p++) {
        if (freq[p] <= 0) continue;
        double s = w[2 * p] * freq[p] * (k1 + 1) / (freq[p] + norm);
        int c = (int)w[2 * p + 1];
        if (c >= 0 && c < np && s > best[c]) best[c] = s;
    }
    double score = 0;
    for (int c = 0; c < np; c++) score += best[c];
    sqlite3_result_double(ctx, score);
}

typedef struct {
    const aw_fan_t *an;
    aw_tok_stemmer_t *st;
} tok_t;

static int tok_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out) {
    tok_t *t = calloc(1, sizeof *t);
    if (!t) return SQLITE_NOMEM;
    t->an = ctx;
    t->st = aw_tok_stemmer_new();
    if (!t->st) {
        free(t);
        return SQLITE_NOMEM;
    }
    *out = (Fts5Tokenizer *)t;
    return SQLITE_OK;
}

static void tok_delete(Fts5Tokenizer *p) {
    tok_t *t = (tok_t *)p;
    aw_tok_stemmer_free(t->st);
    free(t);
}

typedef struct {
    void *ctx;
    int (*emit)(void *, int, const char *, int, int, int);
    int parts;      /* 1: emit only compound parts, 0: only whole words */
    int have_first; /* a part of the current word was emitted */
    size_t shift;   /* bytes of the marker before the text */
} emit_t;

static int emit_term(void *ctx, const char *term, size_t len, size_t start, size_t end,
                     int colocated) {
    emit_t *e = ctx;
    if (!colocated) e->have_first = 0; /* a new word */
    if (e->parts != colocated) return SQLITE_OK;
    int flags = 0;
    if (e->parts) {
        flags = e->have_first ? FTS5_TOKEN_COLOCATED : 0;
        e->have_first = 1;
    }
    return e->emit(e->ctx, flags, term, (int)len, (int)(start + e->shift), (int)(end + e->shift));
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
                        int (*emit)(void *, int, const char *, int, int, int)) {
    tok_t *t = (tok_t *)p;
    if (n <= 0) return SQLITE_OK;
    if (flags & FTS5_TOKENIZE_DOCUMENT) {
        /* Whole words go to the first four columns, compound parts to the
         * last four (their text starts with PART_MARK), so a match on a
         * whole word ("Reisepass") counts more than one on a part
         * ("Kinderreisepass"). */
        emit_t e = {ctx, emit, 0, 0, 0};
        if (text[0] == PART_MARK) {
            e.parts = 1;
            e.shift = 1;
            text++;
            n--;
        }
        return aw_fan_doc_terms(t->an, t->st, text, (size_t)n, emit_term, &e);
    }
    /* Query (and anything else): terms separated by spaces. */
    int i = 0;
    while (i < n) {
        while (i < n && text[i] == ' ') i++;
        int s = i;
        while (i < n && text[i] != ' ') i++;
        if (i > s) {
            int rc = emit(ctx, 0, text + s, i - s, s, i);
            if (rc != SQLITE_OK) return rc;
        }
    }
    return SQLITE_OK;
}

static int register_tokenizer(sqlite3 *db, const aw_fan_t *an, aw_err_t *err) {
    fts5_api *api = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
        return aw_err_set(err, AW_EUNSUPPORTED, "finder: SQLite has no FTS5: %s",
                          sqlite3_errmsg(db));
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    sqlite3_finalize(st);
    if (!api || api->iVersion < 2)
        return aw_err_set(err, AW_EUNSUPPORTED, "finder: FTS5 API unavailable");
    fts5_tokenizer tk = {tok_create, tok_delete, tok_tokenize};
    if (api->xCreateTokenizer(api, "aw_german", (void *)an, &tk, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "aw_bm25", NULL, aux_bm25, NULL) != SQLITE_OK)
        return aw_err_set(err, AW_EINTERNAL, "finder: cannot register tokenizer");
    return 0;
}

/* NOMUTEX: a connection is only ever used by one thread at a time (the
 * finder's pool; the master only under ix->lock), so SQLite's per-call
 * connection mutex is pure cost. */
static int open_mem(const aw_fan_t *an, sqlite3 **out, aw_err_t *err) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(":memory:", &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return aw_err_set(err, AW_ENOMEM, "finder: cannot open in-memory database");
    }
    int rc = register_tokenizer(db, an, err);
    if (rc) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

static void fts_free(void *p) {
    fts_index_t *ix = p;
    if (!ix) return;
    sqlite3_close(ix->db);
    aw_strmap_free(&ix->df);
    pthread_mutex_destroy(&ix->lock);
    free(ix);
}

typedef struct {
    fts_index_t *ix;
    uint32_t doc; /* 1-based */
    size_t tokens;
} df_ctx_t;

/* Document frequencies: the value holds doc count << 20 | last doc seen. */
static int df_term(void *ctx, const char *term, size_t len, size_t start, size_t end,
                   int colocated) {
    df_ctx_t *d = ctx;
    if (!colocated) d->tokens++;
    uint32_t *v = aw_strmap_put(&d->ix->df, term, len);
    if (!v) return AW_ENOMEM;
    if ((*v & 0xFFFFF) != d->doc) *v = ((*v >> 20) + 1) << 20 | d->doc;
    return 0;
}

static int fts_build(const aw_fan_t *an, const aw_finder_doc_t *docs, size_t n, void **out,
                     aw_err_t *err) {
    fts_index_t *ix = calloc(1, sizeof *ix);
    if (!ix) return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    pthread_mutex_init(&ix->lock, NULL);
    aw_strmap_init(&ix->df);
    ix->an = an;
    ix->n_docs = n;
    if (n >= 0xFFFFF) {
        fts_free(ix);
        return aw_err_set(err, AW_ETOOBIG, "finder: too many services for the FTS5 backend");
    }
    aw_tok_stemmer_t *st = aw_tok_stemmer_new();
    df_ctx_t dc = {ix, 0, 0};
    int rc = st ? 0 : AW_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *f[4] = {docs[i].name, docs[i].keywords, docs[i].short_text, docs[i].long_text};
        dc.doc = (uint32_t)i + 1;
        for (int k = 0; k < 4 && !rc; k++)
            if (f[k]) rc = aw_fan_doc_terms(an, st, f[k], strlen(f[k]), df_term, &dc);
    }
    aw_tok_stemmer_free(st);
    if (rc) {
        fts_free(ix);
        return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    }
    ix->avg_len = (double)dc.tokens / (double)n;
    rc = open_mem(an, &ix->db, err);
    if (rc) {
        fts_free(ix);
        return rc;
    }
    sqlite3_stmt *ins = NULL;
    char *msg = NULL;
    if (sqlite3_exec(ix->db,
                     "CREATE VIRTUAL TABLE svc USING fts5(name, keywords, short, long, "
                     "p_name, p_keywords, p_short, p_long, "
                     "content='', tokenize='aw_german');"
                     "BEGIN;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_prepare_v2(ix->db,
                           "INSERT INTO svc(rowid, name, keywords, short, long, p_name, "
                           "p_keywords, p_short, p_long) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = aw_err_set(err, AW_EINTERNAL, "finder: create index: %s",
                        msg ? msg : sqlite3_errmsg(ix->db));
        sqlite3_free(msg);
        fts_free(ix);
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        const char *f[4] = {docs[i].name, docs[i].keywords, docs[i].short_text, docs[i].long_text};
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i + 1);
        char *pt[4] = {0};
        for (int k = 0; k < 4; k++) {
            /* A leading control byte would be read as the marker. */
            const char *v = f[k] ? f[k] : "";
            while (*v && (unsigned char)*v < 0x20) v++;
            sqlite3_bind_text(ins, k + 2, v, -1, SQLITE_STATIC);
            size_t vl = strlen(v);
            pt[k] = malloc(vl + 2);
            if (pt[k]) {
                pt[k][0] = PART_MARK;
                memcpy(pt[k] + 1, v, vl + 1);
            }
            sqlite3_bind_text(ins, k + 6, pt[k] ? pt[k] : "", -1, SQLITE_TRANSIENT);
        }
        int oom = !pt[0] || !pt[1] || !pt[2] || !pt[3];
        for (int k = 0; k < 4; k++) free(pt[k]);
        if (oom) {
            sqlite3_finalize(ins);
            fts_free(ix);
            return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
        }
        if (sqlite3_step(ins) != SQLITE_DONE) {
            rc = aw_err_set(err, AW_EINTERNAL, "finder: index service %s: %s", docs[i].leika,
                            sqlite3_errmsg(ix->db));
            sqlite3_finalize(ins);
            fts_free(ix);
            return rc;
        }
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    if (sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = aw_err_set(err, AW_EINTERNAL, "finder: commit index: %s", sqlite3_errmsg(ix->db));
        fts_free(ix);
        return rc;
    }
    *out = ix;
    return 0;
}

static void fts_close(void *p) {
    fts_conn_t *c = p;
    if (!c) return;
    sqlite3_finalize(c->q);
    sqlite3_close(c->db);
    aw_buf_free(&c->match);
    free(c);
}

static int fts_open(void *p, void **out, aw_err_t *err) {
    fts_index_t *ix = p;
    fts_conn_t *c = calloc(1, sizeof *c);
    if (!c) return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    c->ix = ix;
    int rc = open_mem(ix->an, &c->db, err);
    if (rc) {
        free(c);
        return rc;
    }
    pthread_mutex_lock(&ix->lock);
    sqlite3_backup *b = sqlite3_backup_init(c->db, "main", ix->db, "main");
    int brc = b ? sqlite3_backup_step(b, -1) : SQLITE_ERROR;
    if (b) sqlite3_backup_finish(b);
    pthread_mutex_unlock(&ix->lock);
    if (brc != SQLITE_DONE) {
        rc = aw_err_set(err, AW_EINTERNAL, "finder: copy index: %s", sqlite3_errmsg(c->db));
        fts_close(c);
        return rc;
    }
    const char *sql = "SELECT rowid, aw_bm25(svc, ?2, ?3) FROM svc WHERE svc MATCH ?1";
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->q, NULL) != SQLITE_OK) {
        rc = aw_err_set(err, AW_EINTERNAL, "finder: prepare search: %s", sqlite3_errmsg(c->db));
        fts_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int fts_score(void *p, const char *const *terms, const double *weights,
                     const unsigned *concepts, size_t n_terms, double *scores, aw_err_t *err) {
    fts_conn_t *c = p;
    const fts_index_t *ix = c->ix;
    double w[2 * MAX_PHRASES];
    unsigned cmap[MAX_PHRASES]; /* concept ids renumbered densely from 0 */
    size_t nc = 0;
    size_t np = 0;
    aw_buf_reset(&c->match);
    for (size_t i = 0; i < n_terms && np < MAX_PHRASES; i++) {
        const uint32_t *v = aw_strmap_get(&ix->df, terms[i], strlen(terms[i]));
        if (!v) continue; /* in no document: cannot match */
        double df = (double)(*v >> 20), n = (double)ix->n_docs;
        size_t k;
        for (k = 0; k < nc && cmap[k] != concepts[i]; k++) {
        }
        if (k == nc) cmap[nc++] = concepts[i];
        w[2 * np] = weights[i] * log(1.0 + (n - df + 0.5) / (df + 0.5));
        w[2 * np + 1] = (double)k;
        np++;
        if (c->match.len) aw_buf_puts(&c->match, " OR ");
        aw_buf_putc(&c->match, '"');
        for (const char *t = terms[i]; *t; t++) {
            if (*t == '"') aw_buf_putc(&c->match, '"'); /* FTS5 string escape */
            aw_buf_putc(&c->match, *t);
        }
        aw_buf_putc(&c->match, '"');
    }
    if (np == 0) return 0;
    if (!aw_buf_ok(&c->match)) return aw_err_set(err, AW_ENOMEM, "finder: out of memory");
    sqlite3_bind_text(c->q, 1, c->match.data, (int)c->match.len, SQLITE_STATIC);
    sqlite3_bind_blob(c->q, 2, w, (int)(2 * np * sizeof *w), SQLITE_STATIC);
    sqlite3_bind_double(c->q, 3, ix->avg_len);
    int rc;
    while ((rc = sqlite3_step(c->q)) == SQLITE_ROW) {
        sqlite3_int64 id = sqlite3_column_int64(c->q, 0);
        if (id >= 1 && (size_t)id <= ix->n_docs) scores[id - 1] += sqlite3_column_double(c->q, 1);
    }
    sqlite3_reset(c->q);
    sqlite3_clear_bindings(c->q);
    if (rc != SQLITE_DONE) /* Not sqlite3_errmsg: it may quote query terms. */
        return aw_err_set(err, AW_EINTERNAL, "finder: search failed (SQLite error %d)", rc);
    return 0;
}

const aw_finder_backend_t aw_finder_backend_fts5 = {
    .name = "sqlite-fts5",
    .build = fts_build,
    .open = fts_open,
    .score = fts_score,
    .close = fts_close,
    .free = fts_free,
};
