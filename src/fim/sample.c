/*
 * sample — seeded submission documents for a schema (valid and broken).
 *
 * Used by the differential test against ajv, the benchmark and fuzz seeds.
 * A valid document follows the schema (cardinalities, types, lengths,
 * patterns where one of a few candidate shapes matches, code lists); with
 * `invalid` each value has a small chance of one typical mistake.
 */
#include <stdio.h>
#include <string.h>

#include "fim/internal.h"

typedef struct {
    uint64_t st;
    bool invalid;
    int mutations;
    uint32_t optional_percent; /* how often an optional element is present */
    aw_buf_t *out;
} gen_t;

static uint64_t rnd(gen_t *g) {
    uint64_t z = (g->st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t below(gen_t *g, uint32_t n) {
    return n ? (uint32_t)(rnd(g) % n) : 0;
}

static bool chance(gen_t *g, uint32_t percent) {
    return below(g, 100) < percent;
}

static void jstr(aw_buf_t *b, const char *s) {
    aw_buf_putc(b, '"');
    aw_buf_json_str(b, s, strlen(s));
    aw_buf_putc(b, '"');
}

static const char *const WORDS[] = {"Müller", "Straße", "Amt", "Hauptweg", "Zoë", "Berlin",
                                    "Köln",   "Antrag", "a",   "Test",     "x y", "Öl"};

static void make_text(gen_t *g, char *buf, size_t cap, uint32_t minl, uint32_t maxl, int kind) {
    uint32_t lo = minl ? minl : 1;
    uint32_t hi = maxl && maxl < lo + 24 ? maxl : lo + 24;
    if (hi < lo) hi = lo;
    uint32_t len = lo + below(g, hi - lo + 1);
    size_t n = 0, chars = 0;
    buf[0] = 0;
    if (kind == 2) {
        snprintf(buf, cap, "%s.%s@example.de", below(g, 2) ? "max" : "erika",
                 below(g, 2) ? "mustermann" : "muster");
        return;
    }
    while (chars < len && n + 8 < cap) {
        if (kind == 1) {
            buf[n++] = (char)('0' + below(g, 10));
            chars++;
        } else if (kind == 3) {
            buf[n++] = (char)('A' + below(g, 26));
            chars++;
        } else {
            const char *w = WORDS[below(g, sizeof WORDS / sizeof *WORDS)];
            size_t wl = strlen(w), wc = aw_fim__utf8_len(w, wl);
            if (chars + wc > len || n + wl + 1 >= cap) {
                buf[n++] = 'e';
                chars++;
                continue;
            }
            memcpy(buf + n, w, wl);
            n += wl;
            chars += wc;
        }
    }
    buf[n] = 0;
}

static void gen_value(gen_t *g, const aw_fim_elem_t *e, uint32_t depth);

static void gen_group(gen_t *g, const aw_fim_elem_t *grp, uint32_t depth) {
    aw_buf_t *b = g->out;
    aw_buf_putc(b, '{');
    bool first = true;
    for (size_t i = 0; i < grp->nchildren; i++) {
        const aw_fim_edge_t *ed = &grp->children[i];
        const aw_fim_elem_t *e = ed->elem;
        if (!aw_fim_elem_has_data(e)) continue;
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(grp->children[j].elem->id, e->id) == 0) dup = true;
        if (dup) continue;
        bool present = ed->min > 0 || chance(g, depth > 6 ? 20 : g->optional_percent);
        if (g->invalid && chance(g, 3)) {
            present = !present; /* drop a required one or add an optional one */
            g->mutations++;
        }
        if (!present) continue;
        if (!first) aw_buf_putc(b, ',');
        first = false;
        jstr(b, e->id);
        aw_buf_putc(b, ':');
        if (ed->max > 1) {
            uint32_t span = ed->max == AW_FIM_UNBOUNDED ? 3 : ed->max - ed->min;
            if (span > 3) span = 3;
            uint32_t n = ed->min + below(g, span + 1);
            if (n == 0) n = 1;
            if (g->invalid && chance(g, 5)) {
                n = chance(g, 50) && ed->min > 0 ? ed->min - 1
                                                 : (ed->max == AW_FIM_UNBOUNDED ? n : ed->max + 1);
                g->mutations++;
            }
            if (g->invalid && chance(g, 2)) {
                gen_value(g, e, depth + 1); /* a single value where a list belongs */
                g->mutations++;
                continue;
            }
            aw_buf_putc(b, '[');
            for (uint32_t k = 0; k < n && k < 12; k++) {
                if (k) aw_buf_putc(b, ',');
                gen_value(g, e, depth + 1);
            }
            aw_buf_putc(b, ']');
        } else {
            gen_value(g, e, depth + 1);
        }
    }
    if (g->invalid && chance(g, 2)) {
        if (!first) aw_buf_putc(b, ',');
        aw_buf_puts(b, "\"F99999999\":\"unbekannt\"");
        g->mutations++;
    }
    aw_buf_putc(b, '}');
}

static void gen_value(gen_t *g, const aw_fim_elem_t *e, uint32_t depth) {
    aw_buf_t *b = g->out;
    if (g->invalid && chance(g, 4)) {
        g->mutations++;
        switch (below(g, 5)) {
        case 0:
            aw_buf_puts(b, "null");
            return;
        case 1:
            aw_buf_puts(b, "42");
            return;
        case 2:
            aw_buf_puts(b, "\"\"");
            return;
        case 3:
            aw_buf_puts(b, "\"2023-02-30\"");
            return;
        default:
            aw_buf_puts(b, "true");
            return;
        }
    }
    if (e->kind == AW_FIM_GROUP) {
        gen_group(g, e, depth);
        return;
    }
    const aw_fim_constraints_t *c = &e->c;
    char buf[512];
    if (aw_fim__locked(e)) { /* the preset is the only valid value */
        double x = 0;
        char t = aw_fim__locked_type(e, &x);
        if (g->invalid && chance(g, 8)) {
            jstr(b, strcmp(e->content, "geändert") ? "geändert" : "anders");
            g->mutations++;
        } else if (t == 'n')
            aw_buf_printf(b, "%.17g", x);
        else if (t == 'b')
            aw_buf_puts(b, x != 0 ? "true" : "false");
        else
            jstr(b, e->content);
        return;
    }
    if (e->codelist) {
        if (e->codelist->ncodes == 0 || (g->invalid && chance(g, 5))) {
            jstr(b, "ZZZ-unbekannt");
            g->mutations++;
        } else {
            jstr(b, e->codelist->codes[below(g, (uint32_t)e->codelist->ncodes)].code);
        }
        return;
    }
    switch (e->datatype) {
    case AW_FIM_DT_BOOL:
        aw_buf_puts(b, chance(g, 50) ? "true" : "false");
        return;
    case AW_FIM_DT_NUM:
    case AW_FIM_DT_NUM_INT:
    case AW_FIM_DT_NUM_CURRENCY: {
        double lo = c->has_min_num ? c->min_num : 0, hi = c->has_max_num ? c->max_num : lo + 1000;
        if (hi < lo) hi = lo;
        long long v =
            (long long)lo + (long long)below(g, (uint32_t)(hi - lo + 1 > 1e9 ? 1e9 : hi - lo + 1));
        if (g->invalid && chance(g, 8)) {
            v = c->has_max_num ? (long long)c->max_num + 1 : -1;
            g->mutations++;
        }
        if (e->datatype == AW_FIM_DT_NUM_CURRENCY)
            aw_buf_printf(b, "%lld.%02u", v, below(g, 100));
        else if (e->datatype == AW_FIM_DT_NUM && chance(g, 30))
            aw_buf_printf(b, "%lld.5", v);
        else if (g->invalid && e->datatype == AW_FIM_DT_NUM_INT && chance(g, 5)) {
            aw_buf_printf(b, "%lld.25", v);
            g->mutations++;
        } else
            aw_buf_printf(b, "%lld", v);
        return;
    }
    case AW_FIM_DT_DATE: {
        unsigned y = 1950 + below(g, 80), m = 1 + below(g, 12), d = 1 + below(g, 28);
        if (g->invalid && chance(g, 8)) {
            d = 30, m = 2;
            g->mutations++;
        }
        aw_buf_printf(b, "\"%04u-%02u-%02u\"", y, m, d);
        return;
    }
    case AW_FIM_DT_TIME:
        aw_buf_printf(b, "\"%02u:%02u\"", below(g, 24), below(g, 60));
        return;
    case AW_FIM_DT_DATETIME:
        aw_buf_printf(b, "\"2024-%02u-%02uT%02u:%02u:00Z\"", 1 + below(g, 12), 1 + below(g, 28),
                      below(g, 24), below(g, 60));
        return;
    case AW_FIM_DT_FILE:
        aw_buf_printf(b, "\"%08x-%04x-4%03x-8%03x-%012llx\"", (unsigned)rnd(g), below(g, 65536),
                      below(g, 4096), below(g, 4096),
                      (unsigned long long)(rnd(g) & 0xFFFFFFFFFFFFull));
        return;
    case AW_FIM_DT_OBJ:
        aw_buf_puts(b, "{}");
        return;
    default:
        break;
    }
    uint32_t minl = c->has_min_len ? c->min_len : 1, maxl = c->has_max_len ? c->max_len : 0;
    if (g->invalid && chance(g, 8)) {
        g->mutations++;
        if (c->has_max_len && chance(g, 50))
            minl = maxl = c->max_len + 1 + below(g, 3);
        else if (minl > 1)
            minl = maxl = minl - 1;
        else {
            make_text(g, buf, sizeof buf, 1, 3, 3);
            strcat(buf, "!");
            jstr(b, buf);
            return;
        }
        make_text(g, buf, sizeof buf, minl, maxl, c->pattern_re && chance(g, 50) ? 1 : 0);
        jstr(b, buf);
        return;
    }
    if (c->pattern_re) {
        int start = (int)below(g, 4);
        for (int k = 0; k < 8; k++) {
            make_text(g, buf, sizeof buf, minl, maxl, (start + k) % 4);
            if (aw_fim_xsdre_match(c->pattern_re, buf, strlen(buf)) == 1) break;
        }
    } else {
        make_text(g, buf, sizeof buf, minl, maxl, 0);
    }
    if (e->datatype == AW_FIM_DT_TEXT_LATIN && g->invalid && chance(g, 8)) {
        /* outside String.Latin+: Greek omega, Cyrillic zhe, en dash */
        static const char *const ALIEN[] = {"\xce\xa9", "\xd0\x96", "\xe2\x80\x93"};
        size_t n = strlen(buf);
        const char *a = ALIEN[below(g, 3)];
        if (n > 3) n -= 3; /* keep within the length */
        snprintf(buf + n, sizeof buf - n, "%s", a);
        g->mutations++;
    }
    jstr(b, buf);
}

int aw_fim_sample_json(const aw_fim_schema_t *s, uint64_t seed, bool invalid, aw_buf_t *out) {
    gen_t g = {.st = seed * 0x2545F4914F6CDD1Dull + 1, .invalid = invalid, .out = out};
    /* every third document is sparse: few optional parts, few rules triggered */
    g.optional_percent = seed % 3 == 0 ? 10 : 60;
    gen_group(&g, s->root, 0);
    return aw_buf_ok(out) ? 0 : AW_ENOMEM;
}
