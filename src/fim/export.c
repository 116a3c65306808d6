/*
 * export — JSON Schema 2020-12 in FITKO's style.
 *
 * $defs keyed by element id hold one definition per element (the first
 * occurrence wins when an id appears with different content; the quality
 * report flags that). Properties are keyed by id and refer to $defs; the
 * cardinality of an edge becomes required / array with minItems/maxItems at
 * the use site, because the same element may be used with different
 * cardinalities. The result accepts exactly what aw_fim_validate accepts
 * (without overlay rules), which tests/unit/fim/export.c checks with ajv.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fim/internal.h"

static void str(aw_buf_t *b, const char *s) {
    aw_buf_putc(b, '"');
    aw_buf_json_str(b, s, strlen(s));
    aw_buf_putc(b, '"');
}

static bool edge_is_data(const aw_fim_elem_t *g, size_t i) {
    return g->children[i].carries_data;
}

static void props(aw_buf_t *b, const aw_fim_elem_t *g) {
    aw_buf_puts(b, "\"type\":\"object\",\"properties\":{");
    bool first = true;
    for (size_t i = 0; i < g->nchildren; i++) {
        if (!edge_is_data(g, i)) continue;
        const aw_fim_edge_t *ed = &g->children[i];
        if (!first) aw_buf_putc(b, ',');
        first = false;
        str(b, ed->elem->id);
        aw_buf_puts(b, ":{");
        if (ed->max > 1) {
            aw_buf_puts(b, "\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/");
            aw_buf_json_str(b, ed->elem->id, strlen(ed->elem->id));
            aw_buf_puts(b, "\"}");
            if (ed->min > 0) aw_buf_printf(b, ",\"minItems\":%u", ed->min);
            if (ed->max != AW_FIM_UNBOUNDED) aw_buf_printf(b, ",\"maxItems\":%u", ed->max);
        } else {
            aw_buf_puts(b, "\"$ref\":\"#/$defs/");
            aw_buf_json_str(b, ed->elem->id, strlen(ed->elem->id));
            aw_buf_puts(b, "\"");
        }
        aw_buf_puts(b, "}");
    }
    aw_buf_puts(b, "},\"required\":[");
    first = true;
    for (size_t i = 0; i < g->nchildren; i++) {
        if (!edge_is_data(g, i) || g->children[i].min == 0) continue;
        if (!first) aw_buf_putc(b, ',');
        first = false;
        str(b, g->children[i].elem->id);
    }
    aw_buf_puts(b, "],\"additionalProperties\":false");
}

static void num_kw(aw_buf_t *b, const char *kw, double x) {
    if (x == floor(x) && fabs(x) < 1e15)
        aw_buf_printf(b, ",\"%s\":%.0f", kw, x);
    else
        aw_buf_printf(b, ",\"%s\":%.17g", kw, x);
}

static void field_def(aw_buf_t *b, const aw_fim_elem_t *e) {
    const aw_fim_constraints_t *c = &e->c;
    if (e->codelist) {
        aw_buf_puts(b, "\"type\":\"string\",\"enum\":[");
        for (size_t i = 0; i < e->codelist->ncodes; i++) {
            if (i) aw_buf_putc(b, ',');
            str(b, e->codelist->codes[i].code);
        }
        aw_buf_putc(b, ']');
        return;
    }
    switch (e->datatype) {
    case AW_FIM_DT_BOOL:
        aw_buf_puts(b, "\"type\":\"boolean\"");
        return;
    case AW_FIM_DT_NUM:
    case AW_FIM_DT_NUM_INT:
    case AW_FIM_DT_NUM_CURRENCY:
        aw_buf_puts(b, e->datatype == AW_FIM_DT_NUM_INT ? "\"type\":\"integer\""
                                                        : "\"type\":\"number\"");
        if (e->datatype == AW_FIM_DT_NUM_CURRENCY) aw_buf_puts(b, ",\"multipleOf\":0.01");
        if (c->has_min_num) num_kw(b, "minimum", c->min_num);
        if (c->has_max_num) num_kw(b, "maximum", c->max_num);
        return;
    case AW_FIM_DT_OBJ:
        aw_buf_puts(b, "\"type\":\"object\"");
        return;
    case AW_FIM_DT_FILE:
        aw_buf_puts(b, "\"type\":\"string\",\"minLength\":1,\"contentMediaType\":");
        str(b, e->media_type ? e->media_type : "application/octet-stream");
        return;
    case AW_FIM_DT_DATE:
        aw_buf_puts(b, "\"type\":\"string\",\"format\":\"date\"");
        if (c->min_value && aw_fim__is_date(c->min_value)) {
            aw_buf_puts(b, ",\"formatMinimum\":");
            str(b, c->min_value);
        }
        if (c->max_value && aw_fim__is_date(c->max_value)) {
            aw_buf_puts(b, ",\"formatMaximum\":");
            str(b, c->max_value);
        }
        return;
    case AW_FIM_DT_TIME:
        /* local time of day as forms enter it (RFC 3339 "time" needs an offset) */
        aw_buf_puts(
            b, "\"type\":\"string\",\"pattern\":\"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$\"");
        return;
    case AW_FIM_DT_DATETIME:
        aw_buf_puts(b, "\"type\":\"string\",\"format\":\"date-time\"");
        return;
    default:
        break;
    }
    aw_buf_puts(b, "\"type\":\"string\"");
    /* an empty string is not a value: omit the key instead */
    uint32_t minl = c->has_min_len && c->min_len > 1 ? c->min_len : 1;
    aw_buf_printf(b, ",\"minLength\":%u", minl);
    if (c->has_max_len) aw_buf_printf(b, ",\"maxLength\":%u", c->max_len);
    bool own = c->pattern_re && c->pattern_ecma;
    if (own) {
        aw_buf_puts(b, ",\"pattern\":");
        str(b, c->pattern_ecma);
    }
    if (e->datatype == AW_FIM_DT_TEXT_LATIN) {
        /* String.Latin+ (DIN SPEC 91379 type C); a second pattern goes into allOf */
        aw_buf_t re = AW_BUF_INIT;
        aw_fim_latin_ecma_pattern(&re);
        aw_buf_puts(b, own ? ",\"allOf\":[{\"pattern\":" : ",\"pattern\":");
        aw_buf_putc(b, '"');
        aw_buf_json_str(b, re.data, re.len);
        aw_buf_putc(b, '"');
        if (own) aw_buf_puts(b, "}]");
        aw_buf_free(&re);
    }
}

static void def(const aw_fim_schema_t *s, aw_buf_t *b, const aw_fim_elem_t *e) {
    str(b, e->id);
    aw_buf_puts(b, ":{\"title\":");
    str(b, e->label ? e->label : e->name);
    if (e->help) {
        aw_buf_puts(b, ",\"description\":");
        str(b, e->help);
    }
    aw_buf_putc(b, ',');
    if (e->kind == AW_FIM_GROUP) {
        props(b, e);
        aw_fim__overlay_json_schema(s, e, b);
    } else {
        field_def(b, e);
        if (aw_fim__locked(e)) { /* the preset is the only value */
            double x = 0;
            char t = aw_fim__locked_type(e, &x);
            aw_buf_puts(b, ",\"const\":");
            if (t == 'n')
                aw_buf_printf(b, "%.17g", x);
            else if (t == 'b')
                aw_buf_puts(b, x != 0 ? "true" : "false");
            else
                str(b, e->content);
        }
    }
    aw_buf_putc(b, '}');
}

int aw_fim_export_json_schema(const aw_fim_schema_t *s, aw_buf_t *out, aw_err_t *err) {
    aw_buf_t *b = out;
    const aw_fim_elem_t *r = s->root;
    char lower[64];
    snprintf(lower, sizeof lower, "%s", r->id);
    for (char *p = lower; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
    aw_buf_puts(b, "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":");
    char idbuf[200];
    snprintf(idbuf, sizeof idbuf, "https://schema.fitko.de/fim/%s_%s.schema.json", lower,
             r->version ? r->version : "0");
    str(b, idbuf);
    aw_buf_puts(b, ",\"title\":");
    str(b, r->label ? r->label : r->name ? r->name : r->id);
    aw_buf_putc(b, ',');
    props(b, r);
    aw_fim__overlay_json_schema(s, r, b);
    aw_buf_t skipped = AW_BUF_INIT;
    if (aw_fim__overlay_not_exported(s, &skipped)) {
        aw_buf_puts(b, ",\"$comment\":");
        aw_buf_puts(&skipped, " are checked by amtsweg only (not expressible in JSON Schema)");
        aw_buf_putc(b, '"');
        aw_buf_puts(b, "Overlay rules ");
        aw_buf_json_str(b, skipped.data, skipped.len);
        aw_buf_putc(b, '"');
    }
    aw_buf_free(&skipped);
    aw_buf_puts(b, ",\"$defs\":{");
    bool first = true;
    for (size_t i = 0; i < s->nelems; i++) {
        const aw_fim_elem_t *e = s->elems[i];
        if (e == r || !aw_fim_elem_has_data(e)) continue;
        if (s->first[i] != e) continue; /* $defs: the first definition of an id */
        if (!first) aw_buf_putc(b, ',');
        first = false;
        def(s, b, e);
    }
    aw_buf_puts(b, "}}");
    if (!aw_buf_ok(b)) return aw_err_set(err, AW_ENOMEM, "out of memory");
    return 0;
}
