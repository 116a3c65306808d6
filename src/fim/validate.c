/*
 * validate — submission JSON against a schema: every error at once.
 *
 * The document is an object keyed by element ids; a group is an object, an
 * edge with max > 1 is an array. Each value gets at most one error (the
 * first check that fails: type, then length, then pattern, then range or
 * list), so a form shows one message per input. Messages are German and
 * English; the label is prefixed in msg_de/msg_en only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/hex.h"
#include "fim/internal.h"

void aw_fim_errors_init(aw_fim_errors_t *e) {
    memset(e, 0, sizeof *e);
    aw_arena_init(&e->arena, 8192, 0);
    e->max = 1000;
}

void aw_fim_errors_free(aw_fim_errors_t *e) {
    free(e->v);
    aw_arena_free(&e->arena);
    memset(e, 0, sizeof *e);
}

const aw_fim_error_t *aw_fim_errors_for(const aw_fim_errors_t *e, const char *path) {
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->v[i].path, path) == 0) return &e->v[i];
    return NULL;
}

void aw_fim__error_add(aw_fim_errors_t *errs, const char *path, const aw_fim_elem_t *e,
                       const char *code, const char *text_de, const char *text_en,
                       const char *rule_id) {
    if (errs->n >= (errs->max ? errs->max : 1000)) {
        errs->truncated = true;
        return;
    }
    if (errs->n == errs->cap) {
        size_t nc = errs->cap ? errs->cap * 2 : 16;
        aw_fim_error_t *nv = realloc(errs->v, nc * sizeof *nv);
        if (!nv) {
            errs->truncated = true;
            return;
        }
        errs->v = nv;
        errs->cap = nc;
    }
    aw_arena_t *a = &errs->arena;
    aw_fim_error_t *x = &errs->v[errs->n++];
    memset(x, 0, sizeof *x);
    x->path = aw_arena_strdup(a, path);
    x->elem = e;
    x->field_id = e ? e->id : NULL;
    x->label = e && e->label ? e->label : "";
    x->code = code;
    x->text_de = aw_arena_strdup(a, text_de);
    x->text_en = aw_arena_strdup(a, text_en);
    if (e && *x->label) {
        size_t ll = strlen(x->label), ld = strlen(text_de), le = strlen(text_en);
        char *d = aw_arena_alloc(a, ll + ld + 3), *n = aw_arena_alloc(a, ll + le + 3);
        if (d) {
            memcpy(d, x->label, ll);
            memcpy(d + ll, ": ", 2);
            memcpy(d + ll + 2, text_de, ld + 1);
        }
        if (n) {
            memcpy(n, x->label, ll);
            memcpy(n + ll, ": ", 2);
            memcpy(n + ll + 2, text_en, le + 1);
        }
        x->msg_de = d ? d : "";
        x->msg_en = n ? n : "";
    } else {
        x->msg_de = x->text_de;
        x->msg_en = x->text_en;
    }
    x->rule_id = rule_id ? aw_arena_strdup(a, rule_id) : NULL;
}

void aw_fim_errors_json(const aw_fim_errors_t *e, aw_buf_t *out) {
    aw_buf_putc(out, '[');
    for (size_t i = 0; i < e->n; i++) {
        const aw_fim_error_t *x = &e->v[i];
        if (i) aw_buf_putc(out, ',');
        aw_buf_puts(out, "{\"path\":\"");
        aw_buf_json_str(out, x->path, strlen(x->path));
        aw_buf_puts(out, "\",\"field\":");
        if (x->field_id) {
            aw_buf_putc(out, '"');
            aw_buf_json_str(out, x->field_id, strlen(x->field_id));
            aw_buf_putc(out, '"');
        } else {
            aw_buf_puts(out, "null");
        }
        aw_buf_puts(out, ",\"label\":\"");
        aw_buf_json_str(out, x->label, strlen(x->label));
        aw_buf_puts(out, "\",\"code\":\"");
        aw_buf_puts(out, x->code);
        aw_buf_puts(out, "\",\"message_de\":\"");
        aw_buf_json_str(out, x->msg_de, strlen(x->msg_de));
        aw_buf_puts(out, "\",\"message_en\":\"");
        aw_buf_json_str(out, x->msg_en, strlen(x->msg_en));
        aw_buf_putc(out, '"');
        if (x->rule_id) {
            aw_buf_puts(out, ",\"rule\":\"");
            aw_buf_json_str(out, x->rule_id, strlen(x->rule_id));
            aw_buf_putc(out, '"');
        }
        aw_buf_putc(out, '}');
    }
    aw_buf_putc(out, ']');
}

/* ---- the walk ------------------------------------------------------------ */

typedef struct {
    const aw_fim_schema_t *s;
    aw_fim_errors_t *errs;
    aw_buf_t path;
    void *md; /* pcre2 match data, reused */
} vctx_t;

static size_t path_push_n(vctx_t *v, const char *key, size_t len) {
    size_t old = v->path.len;
    size_t n = 0;
    while (n < len && key[n] != '~' && key[n] != '/') n++;
    if (n == len) {
        aw_buf_reserve(&v->path, n + 2);
        if (v->path.oom) return old;
        v->path.data[v->path.len++] = '/';
        memcpy(v->path.data + v->path.len, key, n);
        v->path.len += n;
        v->path.data[v->path.len] = 0;
        return old;
    }
    aw_buf_putc(&v->path, '/');
    for (size_t i = 0; i < len; i++) {
        if (key[i] == '~')
            aw_buf_puts(&v->path, "~0");
        else if (key[i] == '/')
            aw_buf_puts(&v->path, "~1");
        else
            aw_buf_putc(&v->path, key[i]);
    }
    return old;
}

static size_t path_push(vctx_t *v, const char *key) {
    size_t old = v->path.len;
    size_t n = 0;
    while (key[n] && key[n] != '~' && key[n] != '/') n++;
    if (!key[n]) {
        aw_buf_reserve(&v->path, n + 2);
        if (v->path.oom) return old;
        v->path.data[v->path.len++] = '/';
        memcpy(v->path.data + v->path.len, key, n + 1);
        v->path.len += n;
        return old;
    }
    aw_buf_putc(&v->path, '/');
    for (const char *p = key; *p; p++) {
        if (*p == '~')
            aw_buf_puts(&v->path, "~0");
        else if (*p == '/')
            aw_buf_puts(&v->path, "~1");
        else
            aw_buf_putc(&v->path, *p);
    }
    return old;
}

static size_t path_push_index(vctx_t *v, size_t i) {
    size_t old = v->path.len;
    char b[24];
    size_t n = sizeof b;
    b[--n] = 0;
    do b[--n] = (char)('0' + i % 10);
    while ((i /= 10) && n > 1);
    b[--n] = '/';
    aw_buf_puts(&v->path, b + n);
    return old;
}

static void path_pop(vctx_t *v, size_t old) {
    v->path.len = old;
    if (v->path.data) v->path.data[old] = 0;
}

static void err(vctx_t *v, const aw_fim_elem_t *e, const char *code, const char *de,
                const char *en) {
    aw_fim__error_add(v->errs, v->path.data ? v->path.data : "", e, code, de, en, NULL);
}

/* Whether a pattern admits only digits: then "Ziffern" reads better than
 * "Zeichen" in length messages (Postleitzahl: Bitte genau 5 Ziffern ...). */
bool aw_fim__digits_only_pattern(const char *p) {
    if (!p) return false;
    bool any = false;
    for (const char *q = p; *q; q++) {
        if (*q == '\\') {
            if (q[1] != 'd') return false;
            q++;
            any = true;
            continue;
        }
        if (strchr("[]{}()|?*+^$,-", *q)) continue;
        if (*q >= '0' && *q <= '9') {
            any = true;
            continue;
        }
        return false;
    }
    return any;
}

/* Number text for messages: German uses a decimal comma. */
static void num_text(const char *s, char *de, char *en, size_t n) {
    snprintf(en, n, "%s", s);
    snprintf(de, n, "%s", s);
    for (char *p = de; *p; p++)
        if (*p == '.') *p = ',';
}

static void date_de(const char *iso, char *out, size_t n) {
    if (aw_fim__is_date(iso))
        snprintf(out, n, "%.2s.%.2s.%.4s", iso + 8, iso + 5, iso);
    else
        snprintf(out, n, "%s", iso);
}

static void type_error(vctx_t *v, const aw_fim_elem_t *e) {
    const char *de = "Bitte einen Text eingeben.", *en = "Please enter text.";
    if (e->kind == AW_FIM_GROUP) {
        de = "Ungültige Angaben (Objekt erwartet).";
        en = "Invalid data (an object is expected).";
    } else if (e->codelist) {
        de = "Bitte einen Wert aus der Liste wählen.";
        en = "Please choose a value from the list.";
    } else {
        switch (e->datatype) {
        case AW_FIM_DT_DATE:
            de = "Bitte ein gültiges Datum eingeben (JJJJ-MM-TT).";
            en = "Please enter a valid date (YYYY-MM-DD).";
            break;
        case AW_FIM_DT_TIME:
            de = "Bitte eine gültige Uhrzeit eingeben (hh:mm).";
            en = "Please enter a valid time (hh:mm).";
            break;
        case AW_FIM_DT_DATETIME:
            de = "Bitte einen gültigen Zeitpunkt eingeben (Datum und Uhrzeit).";
            en = "Please enter a valid date and time.";
            break;
        case AW_FIM_DT_BOOL:
            de = "Bitte ja oder nein wählen.";
            en = "Please choose yes or no.";
            break;
        case AW_FIM_DT_NUM:
            de = "Bitte eine Zahl eingeben.";
            en = "Please enter a number.";
            break;
        case AW_FIM_DT_NUM_INT:
            de = "Bitte eine ganze Zahl eingeben.";
            en = "Please enter a whole number.";
            break;
        case AW_FIM_DT_NUM_CURRENCY:
            de = "Bitte einen Geldbetrag mit höchstens 2 Nachkommastellen eingeben.";
            en = "Please enter an amount with at most 2 decimal places.";
            break;
        case AW_FIM_DT_FILE:
            de = "Bitte eine Datei anhängen.";
            en = "Please attach a file.";
            break;
        case AW_FIM_DT_OBJ:
            de = "Ungültiger Wert (Objekt erwartet).";
            en = "Invalid value (an object is expected).";
            break;
        default:
            break;
        }
    }
    err(v, e,
        e->kind == AW_FIM_GROUP || e->datatype == AW_FIM_DT_TEXT || e->codelist ? "type"
        : e->datatype == AW_FIM_DT_DATE || e->datatype == AW_FIM_DT_TIME ||
                e->datatype == AW_FIM_DT_DATETIME
            ? "format"
            : "type",
        de, en);
}

static void check_string(vctx_t *v, const aw_fim_elem_t *e, const char *s, size_t len) {
    const aw_fim_constraints_t *c = &e->c;
    size_t n = aw_fim__utf8_len(s, len);
    char de[200], en[200];
    if (n == 0) {
        err(v, e, "required", "Bitte ausfüllen.", "Please fill in this field.");
        return;
    }
    bool digits = c->digits_only;
    const char *unit_de = digits ? "Ziffern" : "Zeichen",
               *unit_en = digits ? "digits" : "characters";
    bool exact = c->has_min_len && c->has_max_len && c->min_len == c->max_len;
    bool len_bad = (c->has_min_len && n < c->min_len) || (c->has_max_len && n > c->max_len);
    bool pat_bad =
        !len_bad && c->pattern_re && aw_fim__xsdre_match_md(c->pattern_re, s, len, &v->md) != 1;
    if (exact && (len_bad || (pat_bad && digits))) {
        snprintf(de, sizeof de, "Bitte genau %u %s eingeben.", c->min_len, unit_de);
        snprintf(en, sizeof en, "Please enter exactly %u %s.", c->min_len, unit_en);
        err(v, e, len_bad ? (n < c->min_len ? "minLength" : "maxLength") : "pattern", de, en);
        return;
    }
    if (c->has_min_len && n < c->min_len) {
        snprintf(de, sizeof de, "Bitte mindestens %u %s eingeben.", c->min_len, unit_de);
        snprintf(en, sizeof en, "Please enter at least %u %s.", c->min_len, unit_en);
        err(v, e, "minLength", de, en);
        return;
    }
    if (c->has_max_len && n > c->max_len) {
        snprintf(de, sizeof de, "Bitte höchstens %u %s eingeben.", c->max_len, unit_de);
        snprintf(en, sizeof en, "Please enter at most %u %s.", c->max_len, unit_en);
        err(v, e, "maxLength", de, en);
        return;
    }
    if (e->datatype == AW_FIM_DT_TEXT_LATIN) {
        uint32_t cp;
        if (!aw_fim_latin_check(s, len, NULL, &cp)) {
            aw_fim_latin_describe(cp, de, en, sizeof de);
            err(v, e, "charset", de, en);
            return;
        }
    }
    if (pat_bad) {
        if (digits) {
            err(v, e, "pattern", "Bitte nur Ziffern im vorgegebenen Format eingeben.",
                "Please enter digits in the required format.");
        } else {
            err(v, e, "pattern", "Bitte im vorgegebenen Format eingeben.",
                "Please use the required format.");
        }
    }
}

static void check_range_num(vctx_t *v, const aw_fim_elem_t *e, double x) {
    const aw_fim_constraints_t *c = &e->c;
    char de[160], en[160], nd[64], ne[64];
    if (c->has_min_num && x < c->min_num) {
        num_text(c->min_value, nd, ne, sizeof nd);
        snprintf(de, sizeof de, "Der Wert muss mindestens %s sein.", nd);
        snprintf(en, sizeof en, "The value must be at least %s.", ne);
        err(v, e, "minimum", de, en);
    } else if (c->has_max_num && x > c->max_num) {
        num_text(c->max_value, nd, ne, sizeof nd);
        snprintf(de, sizeof de, "Der Wert darf höchstens %s sein.", nd);
        snprintf(en, sizeof en, "The value must be at most %s.", ne);
        err(v, e, "maximum", de, en);
    }
}

static void check_range_date(vctx_t *v, const aw_fim_elem_t *e, const char *s) {
    const aw_fim_constraints_t *c = &e->c;
    char de[160], en[160], d[32];
    if (c->min_value && aw_fim__is_date(c->min_value) && strcmp(s, c->min_value) < 0) {
        date_de(c->min_value, d, sizeof d);
        snprintf(de, sizeof de, "Das Datum darf nicht vor dem %s liegen.", d);
        snprintf(en, sizeof en, "The date must not be before %s.", c->min_value);
        err(v, e, "minimum", de, en);
    } else if (c->max_value && aw_fim__is_date(c->max_value) && strcmp(s, c->max_value) > 0) {
        date_de(c->max_value, d, sizeof d);
        snprintf(de, sizeof de, "Das Datum darf nicht nach dem %s liegen.", d);
        snprintf(en, sizeof en, "The date must not be after %s.", c->max_value);
        err(v, e, "maximum", de, en);
    }
}

static void validate_group(vctx_t *v, const aw_fim_elem_t *g, json_t *obj);

/* A value reduced to what field checks need; filled from a json_t or from
 * the streaming parser. Use `len` for strings: a streamed one may point
 * into the input. */
enum { SC_STR, SC_INT, SC_REAL, SC_BOOL, SC_NULL, SC_OBJ, SC_ARR };
typedef struct {
    int kind;
    const char *s;
    size_t len;
    double x;
} scalar_t;

static void check_value(vctx_t *v, const aw_fim_elem_t *e, const scalar_t *sc);

/* Whether a value equals a locked field's preset (inhalt), compared as the
 * field's JSON type (docs/fim.md, "Locked fields"; the export's "const"). */
static bool locked_matches(const aw_fim_elem_t *e, int kind, const char *s, size_t len, double x);

static void check_field(vctx_t *v, const aw_fim_elem_t *e, const scalar_t *sc) {
    size_t before = v->errs->n;
    check_value(v, e, sc);
    if (v->errs->n != before || v->errs->truncated || !aw_fim__locked(e)) return;
    if (!locked_matches(e, sc->kind, sc->s, sc->len, sc->x)) {
        char de[300], en[300];
        snprintf(de, sizeof de, "Dieses Feld ist gesperrt; der Wert muss \"%.200s\" sein.",
                 e->content);
        snprintf(en, sizeof en, "This field is locked; its value must be \"%.200s\".", e->content);
        err(v, e, "const", de, en);
    }
}

bool aw_fim__locked(const aw_fim_elem_t *e) {
    return e->kind == AW_FIM_FIELD && e->feldart == AW_FIM_FA_LOCKED && e->content && *e->content;
}

/* JSON type of a locked preset: 'n' number, 'b' boolean, 's' string. */
char aw_fim__locked_type(const aw_fim_elem_t *e, double *num) {
    const char *c = e->content;
    if (e->codelist) return 's';
    switch (e->datatype) {
    case AW_FIM_DT_NUM:
    case AW_FIM_DT_NUM_INT:
    case AW_FIM_DT_NUM_CURRENCY:
        return aw_fim__parse_num(c, num) ? 'n' : 's';
    case AW_FIM_DT_BOOL:
        if (strcmp(c, "true") == 0 || strcmp(c, "false") == 0) {
            *num = c[0] == 't';
            return 'b';
        }
        return 's';
    default:
        return 's';
    }
}

static bool locked_matches(const aw_fim_elem_t *e, int kind, const char *s, size_t len, double x) {
    double num = 0;
    switch (aw_fim__locked_type(e, &num)) {
    case 'n':
        return (kind == SC_INT || kind == SC_REAL) && x == num;
    case 'b':
        return kind == SC_BOOL && x == num;
    default:
        /* streamed strings point into the input: compare by length */
        return kind == SC_STR && len == strlen(e->content) && memcmp(s, e->content, len) == 0;
    }
}

static void check_value(vctx_t *v, const aw_fim_elem_t *e, const scalar_t *sc) {
    if (e->codelist) {
        if (sc->kind != SC_STR) {
            type_error(v, e);
            return;
        }
        for (size_t i = 0; i < e->codelist->ncodes; i++)
            if (strcmp(e->codelist->codes[i].code, sc->s) == 0) return;
        err(v, e, "enum", "Bitte einen Wert aus der Liste wählen.",
            "Please choose a value from the list.");
        return;
    }
    bool number = sc->kind == SC_INT || sc->kind == SC_REAL;
    switch (e->datatype) {
    case AW_FIM_DT_BOOL:
        if (sc->kind != SC_BOOL) type_error(v, e);
        return;
    case AW_FIM_DT_NUM:
        if (!number)
            type_error(v, e);
        else
            check_range_num(v, e, sc->x);
        return;
    case AW_FIM_DT_NUM_INT:
        if (!number || (sc->kind == SC_REAL && (sc->x != floor(sc->x) || !isfinite(sc->x))))
            type_error(v, e);
        else
            check_range_num(v, e, sc->x);
        return;
    case AW_FIM_DT_NUM_CURRENCY:
        if (!number) {
            type_error(v, e);
            return;
        }
        if (sc->kind == SC_REAL) {
            double c = sc->x * 100.0;
            if (!isfinite(c) || fabs(c - nearbyint(c)) > 1e-7 * (fabs(c) > 1 ? fabs(c) : 1)) {
                type_error(v, e);
                return;
            }
        }
        check_range_num(v, e, sc->x);
        return;
    case AW_FIM_DT_OBJ:
        if (sc->kind != SC_OBJ) type_error(v, e);
        return;
    case AW_FIM_DT_FILE:
        if (sc->kind != SC_STR || sc->len == 0) type_error(v, e);
        return;
    default:
        break;
    }
    if (sc->kind != SC_STR) {
        type_error(v, e);
        return;
    }
    switch (e->datatype) {
    case AW_FIM_DT_DATE:
        if (!aw_fim__is_date(sc->s))
            type_error(v, e);
        else
            check_range_date(v, e, sc->s);
        return;
    case AW_FIM_DT_TIME:
        if (!aw_fim__is_time(sc->s)) type_error(v, e);
        return;
    case AW_FIM_DT_DATETIME:
        if (!aw_fim__is_datetime(sc->s)) type_error(v, e);
        return;
    default:
        check_string(v, e, sc->s, sc->len);
    }
}

static void validate_value(vctx_t *v, const aw_fim_elem_t *e, json_t *val) {
    if (e->kind == AW_FIM_GROUP) {
        if (!json_is_object(val))
            type_error(v, e);
        else
            validate_group(v, e, val);
        return;
    }
    scalar_t sc = {0};
    switch (json_typeof(val)) {
    case JSON_STRING:
        sc.kind = SC_STR;
        sc.s = json_string_value(val);
        sc.len = json_string_length(val);
        break;
    case JSON_INTEGER:
        sc.kind = SC_INT;
        sc.x = (double)json_integer_value(val);
        break;
    case JSON_REAL:
        sc.kind = SC_REAL;
        sc.x = json_real_value(val);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        sc.kind = SC_BOOL;
        sc.x = json_is_true(val);
        break;
    case JSON_OBJECT:
        sc.kind = SC_OBJ;
        break;
    case JSON_ARRAY:
        sc.kind = SC_ARR;
        break;
    default:
        sc.kind = SC_NULL;
    }
    check_field(v, e, &sc);
}

static const aw_fim_edge_t *find_edge_n(const aw_fim_elem_t *g, const char *key, size_t n) {
    if (!g->htab) return NULL;
    uint64_t h = aw_fim__hash(key, n), a = 0, b = 0;
    bool quick = n >= 8 && n <= 16;
    if (quick) {
        memcpy(&a, key, 8);
        memcpy(&b, key + n - 8, 8);
    }
    for (uint32_t i = (uint32_t)h & g->hmask;; i = (i + 1) & g->hmask) {
        const struct aw_fim_slot *sl = &g->htab[i];
        if (!sl->k) return NULL;
        if (sl->hash != h || sl->n != n) continue;
        if (quick ? (sl->a == a && sl->b == b) : memcmp(g->by_id[sl->k - 1]->elem->id, key, n) == 0)
            return g->by_id[sl->k - 1];
    }
}

static const aw_fim_edge_t *find_edge(const aw_fim_elem_t *g, const char *key) {
    return find_edge_n(g, key, strlen(key));
}

static void validate_edge(vctx_t *v, const aw_fim_edge_t *edge, json_t *val) {
    char de[160], en[160];
    const aw_fim_elem_t *e = edge->elem;
    if (edge->max <= 1) {
        validate_value(v, e, val);
        return;
    }
    if (!json_is_array(val)) {
        err(v, e, "type", "Mehrere Angaben als Liste erwartet.", "A list of entries is expected.");
        return;
    }
    size_t n = json_array_size(val);
    if (n < edge->min) {
        if (edge->min == 1) {
            err(v, e, "minItems", "Bitte mindestens einen Eintrag angeben.",
                "Please provide at least one entry.");
        } else {
            snprintf(de, sizeof de, "Bitte mindestens %u Einträge angeben.", edge->min);
            snprintf(en, sizeof en, "Please provide at least %u entries.", edge->min);
            err(v, e, "minItems", de, en);
        }
    } else if (n > edge->max) {
        snprintf(de, sizeof de, "Bitte höchstens %u Einträge angeben.", edge->max);
        snprintf(en, sizeof en, "Please provide at most %u entries.", edge->max);
        err(v, e, "maxItems", de, en);
    }
    for (size_t k = 0; k < n; k++) {
        size_t o2 = path_push_index(v, k);
        validate_value(v, e, json_array_get(val, k));
        path_pop(v, o2);
    }
}

/* Walks the keys that are present (fewer than the schema's children as a
 * rule), then reports the required children that were not seen. */
static void validate_group(vctx_t *v, const aw_fim_elem_t *g, json_t *obj) {
    char de[160], en[160];
    uint8_t seen_small[256];
    uint8_t *seen = g->nchildren <= sizeof seen_small ? seen_small : calloc(g->nchildren, 1);
    if (!seen) return;
    memset(seen, 0, g->nchildren <= sizeof seen_small ? g->nchildren : 0);
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        const aw_fim_edge_t *edge = find_edge(g, key);
        size_t old = path_push(v, key);
        if (edge) {
            seen[edge - g->children] = 1;
            validate_edge(v, edge, val);
        } else {
            char kd[128];
            snprintf(kd, sizeof kd, "%.80s", key);
            snprintf(de, sizeof de, "Unbekanntes Feld \u201e%s\u201c.", kd);
            snprintf(en, sizeof en, "Unknown field '%s'.", kd);
            aw_fim__error_add(v->errs, v->path.data, NULL, "unknown", de, en, NULL);
        }
        path_pop(v, old);
    }
    for (size_t i = 0; i < g->nchildren; i++) {
        const aw_fim_edge_t *edge = &g->children[i];
        if (!edge->carries_data || edge->min == 0 || seen[i]) continue;
        const aw_fim_elem_t *e = edge->elem;
        size_t old = path_push(v, e->id);
        if (e->kind == AW_FIM_GROUP)
            err(v, e, "required", "Bitte diese Angaben machen.",
                "Please provide this information.");
        else
            err(v, e, "required", "Bitte ausfüllen.", "Please fill in this field.");
        path_pop(v, old);
    }
    if (seen != seen_small) free(seen);
}

int aw_fim_validate_json(const aw_fim_schema_t *s, const void *json, aw_fim_errors_t *errs,
                         aw_err_t *e) {
    json_t *root = (json_t *)json;
    vctx_t v = {.s = s, .errs = errs};
    aw_buf_puts(&v.path, "");
    if (!json_is_object(root)) {
        aw_fim__error_add(errs, "", NULL, "type", "Die Daten müssen ein JSON-Objekt sein.",
                          "The data must be a JSON object.", NULL);
    } else {
        validate_group(&v, s->root, root);
        if (s->overlay) aw_fim__overlay_eval(s, root, errs);
    }
    bool oom = !aw_buf_ok(&v.path);
    aw_buf_free(&v.path);
    if (v.md) aw_fim__xsdre_md_free(v.md);
    if (oom) return aw_err_set(e, AW_ENOMEM, "out of memory");
    return errs->n ? AW_EINVAL : 0;
}

/* ---- streaming validation ---------------------------------------------------
 *
 * The common case (no overlay, well-formed input) validates straight from the
 * JSON text without building a DOM: one pass, no allocation per value. Any
 * syntax problem, duplicate key, odd number or string the fast path does not
 * want to judge makes it give up (return 1); the caller then runs the jansson
 * path, which produces the same verdicts and jansson's syntax messages.
 */

typedef struct {
    vctx_t *v;
    const char *p, *end;
    int depth;
    aw_buf_t str;  /* decoded string when it had escapes */
    const char *s; /* the string just read: into the input, or str.data */
    size_t slen;
    bool escaped;
} sctx_t;

/* bytes that end the plain-ASCII run inside a string */
static const uint8_t SPECIAL[256] = {
    [0 ... 0x1F] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xFF] = 1,
};

#define BAIL 1

static void ws(sctx_t *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Reads a string at c->p ('"') into c->s/c->slen: a slice of the input when
 * it has no escapes (not NUL-terminated), else the decoded copy in c->str. */
static int sstring(sctx_t *c) {
    c->p++;
    c->str.len = 0;
    c->escaped = false;
    const char *start = c->p;
    for (;;) {
        /* the common case: plain ASCII */
        const char *q = c->p;
        while (q < c->end && !SPECIAL[(uint8_t)*q]) q++;
        c->p = q;
        if (c->p >= c->end) return BAIL;
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            if (!c->escaped) {
                c->s = start;
                c->slen = (size_t)(c->p - start);
                c->p++;
                return 0;
            }
            aw_buf_append(&c->str, start, (size_t)(c->p - start));
            c->p++;
            break;
        }
        if (ch < 0x20) return BAIL;
        if (ch == '\\') {
            c->escaped = true;
            aw_buf_append(&c->str, start, (size_t)(c->p - start));
            if (c->p + 1 >= c->end) return BAIL;
            char e = c->p[1];
            c->p += 2;
            switch (e) {
            case '"':
                aw_buf_putc(&c->str, '"');
                break;
            case '\\':
                aw_buf_putc(&c->str, '\\');
                break;
            case '/':
                aw_buf_putc(&c->str, '/');
                break;
            case 'b':
                aw_buf_putc(&c->str, '\b');
                break;
            case 'f':
                aw_buf_putc(&c->str, '\f');
                break;
            case 'n':
                aw_buf_putc(&c->str, '\n');
                break;
            case 'r':
                aw_buf_putc(&c->str, '\r');
                break;
            case 't':
                aw_buf_putc(&c->str, '\t');
                break;
            case 'u': {
                unsigned u;
                if (c->end - c->p < 4 || aw_hex4(c->p, &u)) return BAIL;
                c->p += 4;
                if (u == 0 || (u >= 0xD800 && u <= 0xDFFF)) return BAIL; /* jansson decides */
                char b[4];
                size_t n;
                if (u < 0x80)
                    b[0] = (char)u, n = 1;
                else if (u < 0x800)
                    b[0] = (char)(0xC0 | (u >> 6)), b[1] = (char)(0x80 | (u & 0x3F)), n = 2;
                else
                    b[0] = (char)(0xE0 | (u >> 12)), b[1] = (char)(0x80 | ((u >> 6) & 0x3F)),
                    b[2] = (char)(0x80 | (u & 0x3F)), n = 3;
                aw_buf_append(&c->str, b, n);
                break;
            }
            default:
                return BAIL;
            }
            start = c->p;
            continue;
        }
        if (ch < 0x80) {
            c->p++;
            continue;
        }
        /* strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF) */
        size_t n;
        unsigned cp;
        if (ch >= 0xC2 && ch <= 0xDF)
            n = 2, cp = ch & 0x1F;
        else if (ch >= 0xE0 && ch <= 0xEF)
            n = 3, cp = ch & 0x0F;
        else if (ch >= 0xF0 && ch <= 0xF4)
            n = 4, cp = ch & 0x07;
        else
            return BAIL;
        if ((size_t)(c->end - c->p) < n) return BAIL;
        for (size_t i = 1; i < n; i++) {
            unsigned char cc = (unsigned char)c->p[i];
            if ((cc & 0xC0) != 0x80) return BAIL;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return BAIL;
        c->p += n;
    }
    if (!aw_buf_ok(&c->str)) return BAIL;
    if (!c->str.data) aw_buf_puts(&c->str, "");
    c->str.data[c->str.len] = 0;
    c->s = c->str.data;
    c->slen = c->str.len;
    return 0;
}

/* Makes c->s NUL-terminated (copies a slice of the input into c->str). */
static int snul(sctx_t *c) {
    if (c->s == c->str.data) return 0;
    c->str.len = 0;
    aw_buf_append(&c->str, c->s, c->slen);
    if (!aw_buf_ok(&c->str) || !c->str.data) {
        if (aw_buf_ok(&c->str) && c->slen == 0) aw_buf_puts(&c->str, "");
        if (!c->str.data) return BAIL;
    }
    c->str.data[c->str.len] = 0;
    c->s = c->str.data;
    return 0;
}

/* Reads a number; integers with more than 15 digits are left to jansson. */
static int snumber(sctx_t *c, scalar_t *sc) {
    const char *q = c->p;
    bool real = false;
    if (q < c->end && *q == '-') q++;
    if (q >= c->end) return BAIL;
    if (*q == '0')
        q++;
    else if (*q >= '1' && *q <= '9')
        while (q < c->end && *q >= '0' && *q <= '9') q++;
    else
        return BAIL;
    if (q < c->end && *q == '.') {
        real = true;
        q++;
        if (q >= c->end || *q < '0' || *q > '9') return BAIL;
        while (q < c->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < c->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < c->end && (*q == '+' || *q == '-')) q++;
        if (q >= c->end || *q < '0' || *q > '9') return BAIL;
        while (q < c->end && *q >= '0' && *q <= '9') q++;
    }
    size_t n = (size_t)(q - c->p);
    char buf[64];
    if (n >= sizeof buf || (!real && n > 15)) return BAIL;
    memcpy(buf, c->p, n);
    buf[n] = 0;
    sc->kind = real ? SC_REAL : SC_INT;
    sc->x = strtod(buf, NULL);
    if (!isfinite(sc->x)) return BAIL;
    c->p = q;
    return 0;
}

static int slit(sctx_t *c, const char *lit, size_t n) {
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0) return BAIL;
    c->p += n;
    return 0;
}

static int sskip(sctx_t *c);

static int sskip_container(sctx_t *c, char close) {
    if (++c->depth > AW_FIM_MAX_JSON_DEPTH) return BAIL;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return 0;
    }
    for (int members = 0;; members++) {
        if (close == '}') {
            /* possible duplicate keys in objects we skip: jansson judges */
            if (members > 0) return BAIL;
            if (c->p >= c->end || *c->p != '"' || sstring(c)) return BAIL;
            ws(c);
            if (c->p >= c->end || *c->p != ':') return BAIL;
            c->p++;
            ws(c);
        }
        if (sskip(c)) return BAIL;
        ws(c);
        if (c->p >= c->end) return BAIL;
        if (*c->p == ',') {
            c->p++;
            ws(c);
            continue;
        }
        if (*c->p != close) return BAIL;
        c->p++;
        c->depth--;
        return 0;
    }
}

/* Skips any value (still checking its syntax). */
static int sskip(sctx_t *c) {
    if (c->p >= c->end) return BAIL;
    scalar_t sc;
    switch (*c->p) {
    case '{':
        /* objects with possibly duplicate keys cannot be judged here */
        return sskip_container(c, '}');
    case '[':
        return sskip_container(c, ']');
    case '"':
        return sstring(c);
    case 't':
        return slit(c, "true", 4);
    case 'f':
        return slit(c, "false", 5);
    case 'n':
        return slit(c, "null", 4);
    default:
        return snumber(c, &sc);
    }
}

static int sgroup(sctx_t *c, const aw_fim_elem_t *g);

/* Reads one value for element e (a field or a group). */
static int svalue(sctx_t *c, const aw_fim_elem_t *e) {
    vctx_t *v = c->v;
    if (c->p >= c->end) return BAIL;
    char ch = *c->p;
    if (e->kind == AW_FIM_GROUP) {
        if (ch == '{') return sgroup(c, e);
        type_error(v, e);
        return sskip(c);
    }
    scalar_t sc = {0};
    switch (ch) {
    case '"':
        if (sstring(c)) return BAIL;
        /* codes and dates are compared as C strings; text needs no copy */
        if ((e->codelist || e->datatype == AW_FIM_DT_DATE || e->datatype == AW_FIM_DT_TIME ||
             e->datatype == AW_FIM_DT_DATETIME) &&
            snul(c))
            return BAIL;
        sc.kind = SC_STR;
        sc.s = c->s;
        sc.len = c->slen;
        break;
    case 't':
    case 'f':
        if (slit(c, ch == 't' ? "true" : "false", ch == 't' ? 4 : 5)) return BAIL;
        sc.kind = SC_BOOL;
        sc.x = ch == 't';
        break;
    case 'n':
        if (slit(c, "null", 4)) return BAIL;
        sc.kind = SC_NULL;
        break;
    case '{':
        if (sskip(c)) return BAIL;
        sc.kind = SC_OBJ;
        break;
    case '[':
        if (sskip(c)) return BAIL;
        sc.kind = SC_ARR;
        break;
    default:
        if (snumber(c, &sc)) return BAIL;
    }
    check_field(v, e, &sc);
    return 0;
}

static int sedge(sctx_t *c, const aw_fim_edge_t *edge) {
    vctx_t *v = c->v;
    const aw_fim_elem_t *e = edge->elem;
    if (edge->max <= 1) return svalue(c, e);
    if (c->p >= c->end || *c->p != '[') {
        err(v, e, "type", "Mehrere Angaben als Liste erwartet.", "A list of entries is expected.");
        return sskip(c);
    }
    if (++c->depth > AW_FIM_MAX_JSON_DEPTH) return BAIL;
    /* remember where the count errors go: before the entries' errors, as the DOM path */
    size_t first = v->errs->n;
    size_t n = 0;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == ']')
        c->p++;
    else
        for (;;) {
            size_t o2 = path_push_index(v, n);
            int rc = svalue(c, e);
            path_pop(v, o2);
            if (rc) return BAIL;
            n++;
            ws(c);
            if (c->p >= c->end) return BAIL;
            if (*c->p == ',') {
                c->p++;
                ws(c);
                continue;
            }
            if (*c->p != ']') return BAIL;
            c->p++;
            break;
        }
    c->depth--;
    char de[160], en[160];
    size_t before = v->errs->n;
    if (n < edge->min) {
        if (edge->min == 1) {
            err(v, e, "minItems", "Bitte mindestens einen Eintrag angeben.",
                "Please provide at least one entry.");
        } else {
            snprintf(de, sizeof de, "Bitte mindestens %u Einträge angeben.", edge->min);
            snprintf(en, sizeof en, "Please provide at least %u entries.", edge->min);
            err(v, e, "minItems", de, en);
        }
    } else if (n > edge->max) {
        snprintf(de, sizeof de, "Bitte höchstens %u Einträge angeben.", edge->max);
        snprintf(en, sizeof en, "Please provide at most %u entries.", edge->max);
        err(v, e, "maxItems", de, en);
    }
    if (v->errs->n == before + 1 && before > first) {
        /* move the count error in front of the entries' errors */
        aw_fim_error_t x = v->errs->v[before];
        memmove(&v->errs->v[first + 1], &v->errs->v[first], (before - first) * sizeof x);
        v->errs->v[first] = x;
    }
    return 0;
}

static int sgroup(sctx_t *c, const aw_fim_elem_t *g) {
    vctx_t *v = c->v;
    if (++c->depth > AW_FIM_MAX_JSON_DEPTH) return BAIL;
    uint8_t seen_small[256];
    if (g->nchildren > sizeof seen_small) return BAIL;
    memset(seen_small, 0, g->nchildren);
    size_t unknown = 0;
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}')
        c->p++;
    else
        for (;;) {
            if (c->p >= c->end || *c->p != '"' || sstring(c)) return BAIL;
            const aw_fim_edge_t *edge = find_edge_n(g, c->s, c->slen);
            size_t old = path_push_n(v, c->s, c->slen);
            ws(c);
            if (c->p >= c->end || *c->p != ':') return BAIL;
            c->p++;
            ws(c);
            int rc;
            if (edge) {
                size_t i = (size_t)(edge - g->children);
                if (seen_small[i]) return BAIL; /* duplicate key */
                seen_small[i] = 1;
                rc = sedge(c, edge);
            } else {
                if (++unknown > 1) return BAIL; /* possible duplicates: jansson judges */
                char de[160], en[160], kd[128];
                snprintf(kd, sizeof kd, "%.*s", (int)(c->slen > 80 ? 80 : c->slen), c->s);
                snprintf(de, sizeof de, "Unbekanntes Feld \u201e%s\u201c.", kd);
                snprintf(en, sizeof en, "Unknown field '%s'.", kd);
                aw_fim__error_add(v->errs, v->path.data, NULL, "unknown", de, en, NULL);
                rc = sskip(c);
            }
            path_pop(v, old);
            if (rc) return BAIL;
            ws(c);
            if (c->p >= c->end) return BAIL;
            if (*c->p == ',') {
                c->p++;
                ws(c);
                continue;
            }
            if (*c->p != '}') return BAIL;
            c->p++;
            break;
        }
    c->depth--;
    for (size_t i = 0; i < g->nchildren; i++) {
        const aw_fim_edge_t *edge = &g->children[i];
        if (!edge->carries_data || edge->min == 0 || seen_small[i]) continue;
        const aw_fim_elem_t *e = edge->elem;
        size_t old = path_push(v, e->id);
        if (e->kind == AW_FIM_GROUP)
            err(v, e, "required", "Bitte diese Angaben machen.",
                "Please provide this information.");
        else
            err(v, e, "required", "Bitte ausfüllen.", "Please fill in this field.");
        path_pop(v, old);
    }
    return 0;
}

/* 0: validated (errs filled); BAIL: use the DOM path (errs untouched). */
static int validate_stream(const aw_fim_schema_t *s, const char *json, size_t len,
                           aw_fim_errors_t *errs) {
    aw_fim_errors_t tmp;
    aw_fim_errors_init(&tmp);
    tmp.max = errs->max;
    vctx_t v = {.s = s, .errs = &tmp};
    aw_buf_puts(&v.path, "");
    sctx_t c = {.v = &v, .p = json, .end = json + len};
    int rc = BAIL;
    ws(&c);
    if (c.p < c.end && *c.p == '{' && sgroup(&c, s->root) == 0) {
        ws(&c);
        if (c.p == c.end && aw_buf_ok(&v.path) && !tmp.truncated) rc = 0;
    }
    aw_buf_free(&v.path);
    aw_buf_free(&c.str);
    if (v.md) aw_fim__xsdre_md_free(v.md);
    if (rc == 0) {
        if (errs->n == 0 && errs->v == NULL) {
            aw_fim_errors_free(errs);
            *errs = tmp; /* hand over list and arena */
            return 0;
        }
        for (size_t i = 0; i < tmp.n; i++)
            aw_fim__error_add(errs, tmp.v[i].path, tmp.v[i].elem, tmp.v[i].code, tmp.v[i].text_de,
                              tmp.v[i].text_en, tmp.v[i].rule_id);
    }
    aw_fim_errors_free(&tmp);
    return rc;
}

/* Depth of brackets outside strings, without building anything. */
static bool depth_ok(const char *p, size_t len, int max) {
    int d = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[') {
            if (++d > max) return false;
        } else if (c == '}' || c == ']')
            d--;
    }
    return true;
}

int aw_fim_validate(const aw_fim_schema_t *s, const char *json, size_t len, aw_fim_errors_t *errs,
                    aw_err_t *e) {
    char de[300], en[300];
    if (len > AW_FIM_MAX_JSON_BYTES) {
        snprintf(de, sizeof de, "Die Daten sind zu groß (höchstens %u Bytes).",
                 AW_FIM_MAX_JSON_BYTES);
        snprintf(en, sizeof en, "The data is too large (at most %u bytes).", AW_FIM_MAX_JSON_BYTES);
        aw_fim__error_add(errs, "", NULL, "syntax", de, en, NULL);
        return AW_EINVAL;
    }
    if (!s->overlay && validate_stream(s, json, len, errs) == 0) return errs->n ? AW_EINVAL : 0;
    if (!depth_ok(json, len, AW_FIM_MAX_JSON_DEPTH)) {
        snprintf(de, sizeof de, "Die Daten sind tiefer als %d Ebenen verschachtelt.",
                 AW_FIM_MAX_JSON_DEPTH);
        snprintf(en, sizeof en, "The data is nested deeper than %d levels.", AW_FIM_MAX_JSON_DEPTH);
        aw_fim__error_add(errs, "", NULL, "syntax", de, en, NULL);
        return AW_EINVAL;
    }
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        snprintf(de, sizeof de, "Ungültiges JSON in Zeile %d: %s", je.line, je.text);
        snprintf(en, sizeof en, "Invalid JSON at line %d: %s", je.line, je.text);
        aw_fim__error_add(errs, "", NULL, "syntax", de, en, NULL);
        return AW_EINVAL;
    }
    int rc = aw_fim_validate_json(s, root, errs, e);
    json_decref(root);
    return rc;
}
