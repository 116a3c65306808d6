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

static size_t path_push(vctx_t *v, const char *key) {
    size_t old = v->path.len;
    aw_buf_putc(&v->path, '/');
    if (!strpbrk(key, "~/")) {
        aw_buf_puts(&v->path, key);
        return old;
    }
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
static bool digits_only_pattern(const char *p) {
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
    bool digits = digits_only_pattern(c->pattern);
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

static void validate_value(vctx_t *v, const aw_fim_elem_t *e, json_t *val) {
    if (e->kind == AW_FIM_GROUP) {
        if (!json_is_object(val))
            type_error(v, e);
        else
            validate_group(v, e, val);
        return;
    }
    if (e->codelist) {
        if (!json_is_string(val)) {
            type_error(v, e);
            return;
        }
        const char *s = json_string_value(val);
        for (size_t i = 0; i < e->codelist->ncodes; i++)
            if (strcmp(e->codelist->codes[i].code, s) == 0) return;
        err(v, e, "enum", "Bitte einen Wert aus der Liste wählen.",
            "Please choose a value from the list.");
        return;
    }
    switch (e->datatype) {
    case AW_FIM_DT_BOOL:
        if (!json_is_boolean(val)) type_error(v, e);
        return;
    case AW_FIM_DT_NUM:
        if (!json_is_number(val))
            type_error(v, e);
        else
            check_range_num(v, e, json_number_value(val));
        return;
    case AW_FIM_DT_NUM_INT: {
        if (!json_is_number(val)) {
            type_error(v, e);
            return;
        }
        double x = json_number_value(val);
        if (json_is_real(val) && (x != floor(x) || !isfinite(x))) {
            type_error(v, e);
            return;
        }
        check_range_num(v, e, x);
        return;
    }
    case AW_FIM_DT_NUM_CURRENCY: {
        if (!json_is_number(val)) {
            type_error(v, e);
            return;
        }
        double x = json_number_value(val);
        if (json_is_real(val)) {
            double c = x * 100.0;
            if (!isfinite(c) || fabs(c - nearbyint(c)) > 1e-7 * (fabs(c) > 1 ? fabs(c) : 1)) {
                type_error(v, e);
                return;
            }
        }
        check_range_num(v, e, x);
        return;
    }
    case AW_FIM_DT_OBJ:
        if (!json_is_object(val)) type_error(v, e);
        return;
    case AW_FIM_DT_FILE:
        if (!json_is_string(val) || json_string_length(val) == 0) type_error(v, e);
        return;
    default:
        break;
    }
    if (!json_is_string(val)) {
        type_error(v, e);
        return;
    }
    const char *s = json_string_value(val);
    switch (e->datatype) {
    case AW_FIM_DT_DATE:
        if (!aw_fim__is_date(s))
            type_error(v, e);
        else
            check_range_date(v, e, s);
        return;
    case AW_FIM_DT_TIME:
        if (!aw_fim__is_time(s)) type_error(v, e);
        return;
    case AW_FIM_DT_DATETIME:
        if (!aw_fim__is_datetime(s)) type_error(v, e);
        return;
    default:
        check_string(v, e, s, json_string_length(val));
    }
}

static const aw_fim_edge_t *find_edge(const aw_fim_elem_t *g, const char *key) {
    size_t lo = 0, hi = g->nby_id;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->by_id[mid]->elem->id, key);
        if (c == 0) return g->by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
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
