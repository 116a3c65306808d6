/*
 * parse — XDatenfelder 2.0 / 3.0.0 into the schema model.
 *
 * Both versions share the element names that matter (identifikation, name,
 * bezeichnungEingabe, struktur/anzahl/enthaelt, feldart, datentyp, ...);
 * they differ in status (XDF2 status, XDF3 freigabestatus), constraints
 * (XDF2: a JSON text, XDF3: attributes), code lists (XDF3 may inline
 * `werte`) and rules. One walker handles both with a version flag.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fim/internal.h"

#define NS_XDF2 "urn:xoev-de:fim:standard:xdatenfelder_2"
#define NS_XDF3 "urn:xoev-de:fim:standard:xdatenfelder_3.0.0"

typedef struct {
    aw_fim_schema_t *s;
    aw_arena_t *a;
    aw_err_t *err;
    int v; /* 2 or 3 */
    const char *name;
    size_t elems_cap;
    size_t cl_cap;
} ctx_t;

void aw_fim__warn(aw_fim_schema_t *s, const char *elem_id, const char *fmt, ...) {
    if (s->nwarnings == s->warn_cap) {
        size_t nc = s->warn_cap ? s->warn_cap * 2 : 16;
        aw_fim_warning_t *nv = realloc(s->warnings, nc * sizeof *nv);
        if (!nv) return;
        s->warnings = nv;
        s->warn_cap = nc;
    }
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->warnings[s->nwarnings].elem_id = elem_id ? aw_arena_strdup(&s->arena, elem_id) : NULL;
    s->warnings[s->nwarnings].msg = aw_arena_strdup(&s->arena, buf);
    s->nwarnings++;
}

static const char *const FELDART[] = {"input", "select", "label", "hidden", "locked"};
static const char *const DATATYPE[] = {"text",         "text_latin", "date", "time",
                                       "datetime",     "bool",       "num",  "num_int",
                                       "num_currency", "file",       "obj"};

const char *aw_fim_feldart_name(aw_fim_feldart_t f) {
    return f < AW_FIM_FA_UNKNOWN ? FELDART[f] : "unknown";
}
const char *aw_fim_datatype_name(aw_fim_datatype_t t) {
    return t < AW_FIM_DT_UNKNOWN ? DATATYPE[t] : "unknown";
}

bool aw_fim_elem_has_data(const aw_fim_elem_t *e) {
    if (e->kind == AW_FIM_GROUP) return true;
    return e->feldart != AW_FIM_FA_LABEL;
}

/* Text of the unqualified <code> child (XÖV Code type). */
static char *code_of(ctx_t *c, xmlNodePtr n) {
    if (!n) return NULL;
    xmlNodePtr code = aw_fim__child(n, "code");
    return aw_fim__text(c->a, code ? code : n);
}

static char *nonempty(char *s) {
    return s && *s ? s : NULL;
}

/* Single-valued children: a second occurrence is an error. */
static const char *const SINGLE[] = {"identifikation",
                                     "name",
                                     "bezeichnungEingabe",
                                     "bezeichnungAusgabe",
                                     "beschreibung",
                                     "definition",
                                     "hilfetextEingabe",
                                     "hilfetextAusgabe",
                                     "feldart",
                                     "datentyp",
                                     "praezisierung",
                                     "schemaelementart",
                                     "status",
                                     "freigabestatus",
                                     "codelisteReferenz",
                                     "fachlicherErsteller",
                                     "werte",
                                     "anzahl",
                                     NULL};

static int check_single(ctx_t *c, xmlNodePtr n, const char *what) {
    for (xmlNodePtr a = n->children; a; a = a->next) {
        if (a->type != XML_ELEMENT_NODE) continue;
        for (int i = 0; SINGLE[i]; i++) {
            if (strcmp((const char *)a->name, SINGLE[i]) != 0) continue;
            for (xmlNodePtr b = a->next; b; b = b->next)
                if (aw_fim__is(b, SINGLE[i]))
                    return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: element <%s> appears twice",
                                      c->name, xmlGetLineNo(b), what, SINGLE[i]);
        }
    }
    return 0;
}

static int parse_ident(ctx_t *c, xmlNodePtr n, const char *what, const char **id,
                       const char **version) {
    xmlNodePtr ident = aw_fim__child(n, "identifikation");
    if (!ident)
        return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s without <identifikation>", c->name,
                          xmlGetLineNo(n), what);
    int nid = 0, nver = 0;
    for (xmlNodePtr k = ident->children; k; k = k->next) {
        if (k->type != XML_ELEMENT_NODE) continue;
        if (aw_fim__is(k, "id"))
            nid++;
        else if (aw_fim__is(k, "version"))
            nver++;
        else
            return aw_err_set(c->err, AW_EINVAL,
                              "%s:%ld: %s: unexpected element <%s> in <identifikation>", c->name,
                              xmlGetLineNo(k), what, (const char *)k->name);
    }
    if (nid > 1 || nver > 1)
        return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: <identifikation> has %s twice", c->name,
                          xmlGetLineNo(ident), what, nid > 1 ? "<id>" : "<version>");
    *id = aw_fim__text(c->a, aw_fim__child(ident, "id"));
    if (!*id)
        return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: <identifikation> without <id>", c->name,
                          xmlGetLineNo(ident), what);
    if (!**id)
        return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: empty <id>", c->name, xmlGetLineNo(ident),
                          what);
    *version = nonempty(aw_fim__text(c->a, aw_fim__child(ident, "version")));
    return 0;
}

static int push_elem(ctx_t *c, aw_fim_elem_t *e) {
    aw_fim_schema_t *s = c->s;
    if (s->nelems >= AW_FIM_MAX_ELEMENTS)
        return aw_err_set(c->err, AW_ETOOBIG, "%s: more than %d elements", c->name,
                          AW_FIM_MAX_ELEMENTS);
    if (s->nelems == c->elems_cap) {
        size_t nc = c->elems_cap ? c->elems_cap * 2 : 256;
        aw_fim_elem_t **nv = realloc(s->elems, nc * sizeof *nv);
        if (!nv) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
        s->elems = nv;
        c->elems_cap = nc;
    }
    e->index = (uint32_t)s->nelems;
    s->elems[s->nelems++] = e;
    return 0;
}

static int parse_rules(ctx_t *c, xmlNodePtr n, aw_fim_elem_t *e) {
    size_t k = 0;
    for (xmlNodePtr r = n->children; r; r = r->next)
        if (aw_fim__is(r, "regel")) k++;
    if (!k) return 0;
    e->rules = aw_arena_calloc(c->a, k, sizeof *e->rules);
    if (!e->rules) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
    for (xmlNodePtr r = n->children; r; r = r->next) {
        if (!aw_fim__is(r, "regel")) continue;
        aw_fim_rule_t *rule = &e->rules[e->nrules++];
        int rc = parse_ident(c, r, "rule", &rule->id, &rule->version);
        if (rc) return rc;
        rule->name = aw_fim__text(c->a, aw_fim__child(r, "name"));
        rule->description = nonempty(aw_fim__text(c->a, aw_fim__child(r, "beschreibung")));
        if (c->v == 3) {
            rule->text = aw_fim__text(c->a, aw_fim__child(r, "freitextRegel"));
            rule->script = nonempty(aw_fim__text(c->a, aw_fim__child(r, "skript")));
            rule->type = nonempty(code_of(c, aw_fim__child(r, "typ")));
        } else {
            rule->text = aw_fim__text(c->a, aw_fim__child(r, "definition"));
            rule->script = nonempty(aw_fim__text(c->a, aw_fim__child(r, "script")));
        }
        if (!rule->text) rule->text = "";
    }
    return 0;
}

static const char *json_str(ctx_t *c, json_t *o, const char *key, const char *id) {
    json_t *v = json_object_get(o, key);
    if (!v) return NULL;
    if (json_is_string(v)) return nonempty(aw_arena_strdup(c->a, json_string_value(v)));
    if (json_is_integer(v)) return aw_arena_printf(c->a, "%lld", (long long)json_integer_value(v));
    if (json_is_real(v)) return aw_arena_printf(c->a, "%.17g", json_real_value(v));
    aw_fim__warn(c->s, id, "praezisierung: %s is not a string, ignored", key);
    return NULL;
}

static void set_constraints(ctx_t *c, aw_fim_elem_t *e, const char *minl, const char *maxl,
                            const char *minv, const char *maxv, const char *pat) {
    aw_fim_constraints_t *k = &e->c;
    k->min_len_raw = minl;
    k->max_len_raw = maxl;
    if (minl) {
        if (aw_fim__parse_uint(minl, &k->min_len))
            k->has_min_len = true;
        else
            aw_fim__warn(c->s, e->id, "minLength '%s' is not a whole number, ignored", minl);
    }
    if (maxl) {
        if (aw_fim__parse_uint(maxl, &k->max_len))
            k->has_max_len = true;
        else
            aw_fim__warn(c->s, e->id, "maxLength '%s' is not a whole number, ignored", maxl);
    }
    k->min_value = minv;
    k->max_value = maxv;
    if (minv && aw_fim__parse_num(minv, &k->min_num)) k->has_min_num = true;
    if (maxv && aw_fim__parse_num(maxv, &k->max_num)) k->has_max_num = true;
    k->pattern = pat;
}

static void parse_praezisierung(ctx_t *c, xmlNodePtr n, aw_fim_elem_t *e) {
    xmlNodePtr p = aw_fim__child(n, "praezisierung");
    if (!p) return;
    if (c->v == 3) {
        const char *names[] = {"minLength", "maxLength", "minValue", "maxValue", "pattern"};
        const char *vals[5] = {0};
        for (int i = 0; i < 5; i++) {
            xmlChar *v = xmlGetProp(p, (const xmlChar *)names[i]);
            if (v) {
                /* a pattern keeps its spaces; numbers are trimmed */
                vals[i] = i == 4 ? aw_arena_strdup(c->a, (const char *)v)
                                 : nonempty(aw_fim__text(
                                       c->a, (xmlNodePtr)xmlHasProp(p, (const xmlChar *)names[i])));
                if (vals[i] && !*vals[i]) vals[i] = NULL;
                xmlFree(v);
            }
        }
        set_constraints(c, e, vals[0], vals[1], vals[2], vals[3], vals[4]);
        return;
    }
    char *raw = aw_fim__text(c->a, p);
    if (!raw || !*raw) return;
    e->praezisierung_raw = raw;
    json_error_t je;
    json_t *o = json_loads(raw, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        aw_fim__warn(c->s, e->id, "praezisierung is not a JSON object (%s), ignored",
                     o ? "not an object" : je.text);
        json_decref(o);
        return;
    }
    const char *minl = json_str(c, o, "minLength", e->id);
    const char *maxl = json_str(c, o, "maxLength", e->id);
    const char *minv = json_str(c, o, "minValue", e->id);
    const char *maxv = json_str(c, o, "maxValue", e->id);
    json_t *pv = json_object_get(o, "pattern");
    const char *pat = json_is_string(pv) && *json_string_value(pv)
                          ? aw_arena_strdup(c->a, json_string_value(pv))
                          : NULL;
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        if (strcmp(key, "minLength") && strcmp(key, "maxLength") && strcmp(key, "minValue") &&
            strcmp(key, "maxValue") && strcmp(key, "pattern"))
            aw_fim__warn(c->s, e->id, "praezisierung: unknown key '%s' ignored", key);
    }
    set_constraints(c, e, minl, maxl, minv, maxv, pat);
    json_decref(o);
}

static int parse_codelist_ref(ctx_t *c, xmlNodePtr n, aw_fim_elem_t *e) {
    xmlNodePtr ref = aw_fim__child(n, "codelisteReferenz");
    xmlNodePtr werte = c->v == 3 ? aw_fim__child(n, "werte") : NULL;
    if (werte) {
        aw_fim_codelist_t *cl = aw_arena_calloc(c->a, 1, sizeof *cl);
        size_t k = 0;
        for (xmlNodePtr w = werte->children; w; w = w->next)
            if (aw_fim__is(w, "wert")) k++;
        if (!cl || !(cl->codes = aw_arena_calloc(c->a, k ? k : 1, sizeof *cl->codes)))
            return aw_err_set(c->err, AW_ENOMEM, "out of memory");
        cl->inline_values = true;
        cl->canonical_uri = aw_arena_printf(c->a, "werte:%s", e->id);
        cl->name = e->name;
        for (xmlNodePtr w = werte->children; w; w = w->next) {
            if (!aw_fim__is(w, "wert")) continue;
            aw_fim_code_t *code = &cl->codes[cl->ncodes];
            code->code = aw_fim__text(c->a, aw_fim__child(w, "code"));
            code->label = aw_fim__text(c->a, aw_fim__child(w, "name"));
            code->help = nonempty(aw_fim__text(c->a, aw_fim__child(w, "hilfe")));
            if (!code->code)
                return aw_err_set(c->err, AW_EINVAL, "%s:%ld: field %s: <wert> without <code>",
                                  c->name, xmlGetLineNo(w), e->id);
            if (!code->label) code->label = "";
            cl->ncodes++;
        }
        e->codelist = cl;
        return 0;
    }
    if (!ref) return 0;
    xmlNodePtr gi = c->v == 2 ? aw_fim__child(ref, "genericodeIdentification") : ref;
    const char *uri = nonempty(aw_fim__text(c->a, aw_fim__child(gi, "canonicalIdentification")));
    const char *ver = nonempty(aw_fim__text(c->a, aw_fim__child(gi, "version")));
    const char *cvu = nonempty(aw_fim__text(c->a, aw_fim__child(gi, "canonicalVersionUri")));
    const char *cid = NULL;
    if (c->v == 2)
        cid =
            nonempty(aw_fim__text(c->a, aw_fim__child(aw_fim__child(ref, "identifikation"), "id")));
    if (!uri && !cvu) {
        aw_fim__warn(c->s, e->id, "codelisteReferenz without canonicalIdentification, ignored");
        return 0;
    }
    /* a placeholder; resolved against genericode files after parsing */
    aw_fim_codelist_t *cl = aw_arena_calloc(c->a, 1, sizeof *cl);
    if (!cl) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
    cl->id = cid;
    cl->canonical_uri = uri ? uri : cvu;
    cl->version = ver;
    cl->canonical_version_uri = cvu;
    cl->codes = NULL;
    cl->ncodes = SIZE_MAX; /* marks "unresolved" */
    e->codelist = cl;
    return 0;
}

static aw_fim_feldart_t feldart_of(const char *s) {
    for (int i = 0; i < AW_FIM_FA_UNKNOWN; i++)
        if (s && strcmp(s, FELDART[i]) == 0) return (aw_fim_feldart_t)i;
    return AW_FIM_FA_UNKNOWN;
}
static aw_fim_datatype_t datatype_of(const char *s) {
    for (int i = 0; i < AW_FIM_DT_UNKNOWN; i++)
        if (s && strcmp(s, DATATYPE[i]) == 0) return (aw_fim_datatype_t)i;
    return AW_FIM_DT_UNKNOWN;
}

static int parse_elem(ctx_t *c, xmlNodePtr n, aw_fim_kind_t kind, uint32_t depth,
                      aw_fim_elem_t *parent, aw_fim_elem_t **out);

static int parse_struktur(ctx_t *c, xmlNodePtr n, aw_fim_elem_t *e, uint32_t depth) {
    size_t k = 0;
    for (xmlNodePtr s = n->children; s; s = s->next)
        if (aw_fim__is(s, "struktur")) k++;
    if (!k) return 0;
    e->children = aw_arena_calloc(c->a, k, sizeof *e->children);
    if (!e->children) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
    for (xmlNodePtr st = n->children; st; st = st->next) {
        if (!aw_fim__is(st, "struktur")) continue;
        int rc = check_single(c, st, e->id);
        if (rc) return rc;
        aw_fim_edge_t *edge = &e->children[e->nchildren];
        const char *anz = aw_fim__text(c->a, aw_fim__child(st, "anzahl"));
        if (!anz || !*anz)
            return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: <struktur> without <anzahl>", c->name,
                              xmlGetLineNo(st), e->id);
        edge->anzahl = anz;
        const char *colon = strchr(anz, ':');
        char minbuf[16];
        size_t ml = colon ? (size_t)(colon - anz) : 0;
        if (!colon || ml == 0 || ml >= sizeof minbuf)
            return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: anzahl '%s' is not min:max", c->name,
                              xmlGetLineNo(st), e->id, anz);
        memcpy(minbuf, anz, ml);
        minbuf[ml] = 0;
        if (!aw_fim__parse_uint(minbuf, &edge->min))
            return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: anzahl '%s': bad minimum", c->name,
                              xmlGetLineNo(st), e->id, anz);
        if (strcmp(colon + 1, "*") == 0)
            edge->max = AW_FIM_UNBOUNDED;
        else if (!aw_fim__parse_uint(colon + 1, &edge->max) || edge->max == 0)
            return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: anzahl '%s': bad maximum", c->name,
                              xmlGetLineNo(st), e->id, anz);
        if (edge->min > edge->max)
            return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: anzahl '%s': minimum above maximum",
                              c->name, xmlGetLineNo(st), e->id, anz);
        edge->bezug = nonempty(aw_fim__text(c->a, aw_fim__child(st, "bezug")));
        xmlNodePtr enth = aw_fim__child(st, "enthaelt");
        xmlNodePtr inner = NULL;
        int ninner = 0;
        for (xmlNodePtr x = enth ? enth->children : NULL; x; x = x->next) {
            if (x->type != XML_ELEMENT_NODE) continue;
            if (aw_fim__is(x, "datenfeld") || aw_fim__is(x, "datenfeldgruppe")) inner = x;
            ninner++;
        }
        if (ninner != 1 || !inner)
            return aw_err_set(c->err, AW_EINVAL,
                              "%s:%ld: %s: <enthaelt> must hold exactly one <datenfeld> or "
                              "<datenfeldgruppe>",
                              c->name, xmlGetLineNo(st), e->id);
        rc = parse_elem(c, inner, aw_fim__is(inner, "datenfeld") ? AW_FIM_FIELD : AW_FIM_GROUP,
                        depth + 1, e, &edge->elem);
        if (rc) return rc;
        e->nchildren++;
    }
    return 0;
}

static int parse_elem(ctx_t *c, xmlNodePtr n, aw_fim_kind_t kind, uint32_t depth,
                      aw_fim_elem_t *parent, aw_fim_elem_t **out) {
    if (depth > AW_FIM_MAX_DEPTH)
        return aw_err_set(c->err, AW_ETOOBIG, "%s:%ld: groups nested deeper than %d", c->name,
                          xmlGetLineNo(n), AW_FIM_MAX_DEPTH);
    aw_fim_elem_t *e = aw_arena_calloc(c->a, 1, sizeof *e);
    if (!e) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
    e->kind = kind;
    e->parent = parent;
    e->depth = depth;
    const char *what = kind == AW_FIM_FIELD ? "datenfeld" : "datenfeldgruppe";
    int rc = parse_ident(c, n, what, &e->id, &e->version);
    if (rc) return rc;
    rc = check_single(c, n, e->id);
    if (rc) return rc;
    rc = push_elem(c, e);
    if (rc) return rc;
    e->name = aw_fim__text(c->a, aw_fim__child(n, "name"));
    if (!e->name) e->name = "";
    e->label = nonempty(aw_fim__text(c->a, aw_fim__child(n, "bezeichnungEingabe")));
    e->label_out = nonempty(aw_fim__text(c->a, aw_fim__child(n, "bezeichnungAusgabe")));
    if (!e->label) e->label = e->name;
    e->help = nonempty(aw_fim__text(c->a, aw_fim__child(n, "hilfetextEingabe")));
    e->help_out = nonempty(aw_fim__text(c->a, aw_fim__child(n, "hilfetextAusgabe")));
    e->description = nonempty(aw_fim__text(c->a, aw_fim__child(n, "beschreibung")));
    e->definition = nonempty(aw_fim__text(c->a, aw_fim__child(n, "definition")));
    e->fachlicher_ersteller = nonempty(aw_fim__text(c->a, aw_fim__child(n, "fachlicherErsteller")));
    /* XDF3 may give several bezug elements: join them */
    aw_buf_t bz = AW_BUF_INIT;
    for (xmlNodePtr b = n->children; b; b = b->next) {
        if (!aw_fim__is(b, "bezug")) continue;
        char *t = aw_fim__text(c->a, b);
        if (t && *t) {
            if (bz.len) aw_buf_puts(&bz, "; ");
            aw_buf_puts(&bz, t);
        }
    }
    if (bz.len) e->bezug = aw_arena_strdup(c->a, bz.data);
    aw_buf_free(&bz);
    e->schemaelementart = nonempty(code_of(c, aw_fim__child(n, "schemaelementart")));
    if (c->v == 3) {
        xmlNodePtr fs = aw_fim__child(n, "freigabestatus");
        if (fs) {
            e->status = code_of(c, fs);
            uint32_t st;
            if (!aw_fim__parse_uint(e->status, &st) || st < 1 || st > 9)
                return aw_err_set(c->err, AW_EINVAL, "%s:%ld: %s: unknown freigabestatus '%s'",
                                  c->name, xmlGetLineNo(fs), e->id, e->status);
        }
    } else {
        e->status = nonempty(code_of(c, aw_fim__child(n, "status")));
    }
    rc = parse_rules(c, n, e);
    if (rc) return rc;
    if (kind == AW_FIM_FIELD) {
        e->feldart_code = nonempty(code_of(c, aw_fim__child(n, "feldart")));
        e->datatype_code = nonempty(code_of(c, aw_fim__child(n, "datentyp")));
        e->feldart = feldart_of(e->feldart_code);
        e->datatype = datatype_of(e->datatype_code);
        if (e->feldart == AW_FIM_FA_UNKNOWN)
            aw_fim__warn(c->s, e->id, "unknown feldart '%s', treated as input",
                         e->feldart_code ? e->feldart_code : "");
        if (e->datatype == AW_FIM_DT_UNKNOWN)
            aw_fim__warn(c->s, e->id, "unknown datentyp '%s', treated as text",
                         e->datatype_code ? e->datatype_code : "");
        for (xmlNodePtr x = n->children; x; x = x->next)
            if (aw_fim__is(x, "inhalt")) {
                char *t = nonempty(aw_fim__text(c->a, x));
                if (t) {
                    e->content = t;
                    break;
                }
            }
        parse_praezisierung(c, n, e);
        rc = parse_codelist_ref(c, n, e);
        if (rc) return rc;
        if (c->v == 3) {
            e->code_key = nonempty(aw_fim__text(c->a, aw_fim__child(n, "codeKey")));
            e->name_key = nonempty(aw_fim__text(c->a, aw_fim__child(n, "nameKey")));
            e->help_key = nonempty(aw_fim__text(c->a, aw_fim__child(n, "helpKey")));
        }
        e->max_size = nonempty(aw_fim__text(c->a, aw_fim__child(n, "maxSize")));
        e->media_type = nonempty(aw_fim__text(c->a, aw_fim__child(n, "mediaType")));
        if (e->c.pattern) {
            aw_err_t pe;
            void *re = NULL;
            if (aw_fim_xsdre_compile(e->c.pattern, &re, &pe) == 0) {
                e->c.pattern_re = re;
                e->c.digits_only = aw_fim__digits_only_pattern(e->c.pattern);
                aw_buf_t eb = AW_BUF_INIT;
                if (aw_fim_xsdre_translate(e->c.pattern, AW_FIM_RE_ECMA, &eb, NULL) == 0 &&
                    aw_buf_ok(&eb))
                    e->c.pattern_ecma = aw_arena_strdup(c->a, eb.data);
                aw_buf_free(&eb);
            } else {
                aw_fim__warn(c->s, e->id, "pattern '%s' not usable: %s", e->c.pattern, pe.msg);
            }
        }
    } else {
        rc = parse_struktur(c, n, e, depth);
        if (rc) return rc;
    }
    *out = e;
    return 0;
}

/* ---- code list resolution ------------------------------------------------ */

typedef struct {
    aw_fim_codelist_t **v;
    char **paths; /* the file of each list, for fields that choose other columns */
    size_t n, cap;
} cl_set_t;

static int load_dir_lists(ctx_t *c, const char *dir, cl_set_t *set) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *de;
    int count = 0;
    while ((de = readdir(d)) && count < 1000) {
        size_t l = strlen(de->d_name);
        if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        char *buf;
        size_t len;
        if (aw_fim__read_file(path, AW_FIM_MAX_XML_BYTES, &buf, &len, NULL)) continue;
        count++;
        /* cheap pre-check: only genericode documents */
        if (!memmem(buf, len < 4096 ? len : 4096, "CodeList", 8)) {
            free(buf);
            continue;
        }
        aw_fim_codelist_t *cl;
        aw_err_t e;
        int rc = aw_fim_genericode_parse(buf, len, path, c->a, &cl, &e);
        free(buf);
        if (rc) {
            aw_fim__warn(c->s, NULL, "code list file skipped: %s", e.msg);
            continue;
        }
        if (set->n == set->cap) {
            size_t nc = set->cap ? set->cap * 2 : 16;
            aw_fim_codelist_t **nv = realloc(set->v, nc * sizeof *nv);
            if (!nv) break;
            set->v = nv;
            char **np = realloc(set->paths, nc * sizeof *np);
            if (!np) break;
            set->paths = np;
            set->cap = nc;
        }
        set->paths[set->n] = aw_arena_strdup(c->a, path);
        set->v[set->n++] = cl;
    }
    closedir(d);
    return 0;
}

static bool cl_matches(const aw_fim_codelist_t *want, const aw_fim_codelist_t *have) {
    if (want->canonical_version_uri && have->canonical_version_uri &&
        strcmp(want->canonical_version_uri, have->canonical_version_uri) == 0)
        return true;
    if (want->canonical_uri && have->canonical_uri &&
        strcmp(want->canonical_uri, have->canonical_uri) == 0) {
        if (!want->version) return true;
        return have->version && strcmp(want->version, have->version) == 0;
    }
    return false;
}

static int add_codelist(ctx_t *c, aw_fim_codelist_t *cl) {
    for (size_t i = 0; i < c->s->ncodelists; i++)
        if (c->s->codelists[i] == cl) return 0;
    if (c->s->ncodelists == c->cl_cap) {
        size_t nc = c->cl_cap ? c->cl_cap * 2 : 16;
        aw_fim_codelist_t **nv = realloc(c->s->codelists, nc * sizeof *nv);
        if (!nv) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
        c->s->codelists = nv;
        c->cl_cap = nc;
    }
    c->s->codelists[c->s->ncodelists++] = cl;
    return 0;
}

static int resolve_codelists(ctx_t *c, const char *dir, bool allow_missing) {
    cl_set_t set = {0};
    bool loaded = false;
    int rc = 0;
    for (size_t i = 0; i < c->s->nelems && !rc; i++) {
        aw_fim_elem_t *e = c->s->elems[i];
        aw_fim_codelist_t *want = e->codelist;
        if (!want) continue;
        if (want->ncodes != SIZE_MAX) {
            rc = add_codelist(c, want);
            continue;
        }
        if (!loaded && dir) load_dir_lists(c, dir, &set);
        loaded = true;
        aw_fim_codelist_t *have = NULL;
        size_t at = 0;
        for (size_t k = 0; k < set.n && !have; k++)
            if (cl_matches(want, set.v[k])) have = set.v[k], at = k;
        if (have && (e->code_key || e->name_key || e->help_key)) {
            /* the field reads other columns: a list of its own */
            char *buf;
            size_t len;
            aw_fim_codelist_t *own;
            rc = aw_fim__read_file(set.paths[at], AW_FIM_MAX_XML_BYTES, &buf, &len, c->err);
            if (!rc) {
                rc = aw_fim__genericode_parse_cols(buf, len, set.paths[at], c->a, e->code_key,
                                                   e->name_key, e->help_key, &own, c->err);
                free(buf);
            }
            if (rc) {
                aw_err_prefix(c->err, "%s: field %s", c->name, e->id);
                break;
            }
            have = own;
        }
        if (!have) {
            const char *ref =
                want->canonical_version_uri ? want->canonical_version_uri : want->canonical_uri;
            if (allow_missing) {
                aw_fim__warn(c->s, e->id, "code list %s not found; values are not checked", ref);
                want->ncodes = 0;
                want->codes = NULL;
                e->codelist = NULL;
                continue;
            }
            rc = aw_err_set(c->err, AW_ENOTFOUND,
                            "%s: field %s (%s): code list %s not found in %s (give the directory "
                            "with --codelists)",
                            c->name, e->id, e->label, ref, dir ? dir : "(no directory)");
            break;
        }
        if (!have->id) have->id = want->id;
        e->codelist = have;
        rc = add_codelist(c, have);
    }
    free(set.v);
    free(set.paths);
    return rc;
}

/* ---- entry points --------------------------------------------------------- */

static int edge_cmp(const void *a, const void *b) {
    const aw_fim_edge_t *x = *(const aw_fim_edge_t *const *)a,
                        *y = *(const aw_fim_edge_t *const *)b;
    uint64_t hx = aw_fim__hash(x->elem->id, strlen(x->elem->id));
    uint64_t hy = aw_fim__hash(y->elem->id, strlen(y->elem->id));
    if (hx != hy) return hx < hy ? -1 : 1;
    return strcmp(x->elem->id, y->elem->id);
}

static void build_index(aw_fim_schema_t *s, aw_fim_elem_t *g) {
    if (g->kind != AW_FIM_GROUP || g->by_id) return;
    g->by_id = aw_arena_calloc(&s->arena, g->nchildren ? g->nchildren : 1, sizeof *g->by_id);
    if (!g->by_id) return;
    for (size_t k = 0; k < g->nchildren; k++)
        if (g->children[k].carries_data) g->by_id[g->nby_id++] = &g->children[k];
    qsort(g->by_id, g->nby_id, sizeof *g->by_id, edge_cmp);
    g->by_hash = aw_arena_calloc(&s->arena, g->nby_id ? g->nby_id : 1, sizeof *g->by_hash);
    if (!g->by_hash) return;
    for (size_t k = 0; k < g->nby_id; k++)
        g->by_hash[k] = aw_fim__hash(g->by_id[k]->elem->id, strlen(g->by_id[k]->elem->id));
    size_t cap = 4;
    while (cap < g->nby_id * 2) cap *= 2;
    g->htab = aw_arena_calloc(&s->arena, cap, sizeof *g->htab);
    if (!g->htab) return;
    g->hmask = (uint32_t)(cap - 1);
    for (size_t k = 0; k < g->nby_id; k++) {
        size_t i = (size_t)g->by_hash[k] & g->hmask;
        while (g->htab[i].k) i = (i + 1) & g->hmask;
        const char *id = g->by_id[k]->elem->id;
        size_t n = strlen(id);
        struct aw_fim_slot *sl = &g->htab[i];
        sl->k = (uint32_t)k + 1;
        sl->n = (uint32_t)n;
        sl->hash = g->by_hash[k];
        if (n >= 8) {
            memcpy(&sl->a, id, 8);
            memcpy(&sl->b, id + n - 8, 8);
        }
    }
}

static bool is_ancestor(const aw_fim_elem_t *a, const aw_fim_elem_t *e) {
    for (const aw_fim_elem_t *p = e; p; p = p->parent)
        if (p == a) return true;
    return false;
}

/* The first definition of an id wins everywhere, so that validation and the
 * export ($defs keyed by id) agree; differing versions are reported. */
/* first[i] for every element, with a hash table: linear in the number of
 * elements, so a hostile schema cannot make loading quadratic. */
static int index_ids(aw_fim_schema_t *s) {
    size_t cap = 16;
    while (cap < s->nelems * 2) cap *= 2;
    uint32_t *tab = calloc(cap, sizeof *tab);
    s->first = calloc(s->nelems ? s->nelems : 1, sizeof *s->first);
    if (!tab || !s->first) {
        free(tab);
        return AW_ENOMEM;
    }
    for (size_t i = 0; i < s->nelems; i++) {
        const char *id = s->elems[i]->id;
        size_t h = (size_t)aw_fim__hash(id, strlen(id)) & (cap - 1);
        for (;;) {
            if (!tab[h]) {
                tab[h] = (uint32_t)i + 1;
                s->first[i] = s->elems[i];
                break;
            }
            aw_fim_elem_t *f = s->elems[tab[h] - 1];
            if (strcmp(f->id, id) == 0) {
                s->first[i] = f;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    free(tab);
    return 0;
}

/* The first definition of an id wins everywhere, so that validation and the
 * export ($defs keyed by id) agree; differing versions are reported. Of
 * siblings with the same id only the first carries data (one JSON key). */
static void canonicalize(aw_fim_schema_t *s) {
    for (size_t i = 0; i < s->nelems; i++) {
        aw_fim_elem_t *g = s->elems[i];
        for (size_t k = 0; k < g->nchildren; k++) {
            aw_fim_elem_t *e = g->children[k].elem;
            aw_fim_elem_t *f = s->first[e->index];
            if (f != e && f->kind == e->kind && !is_ancestor(f, g)) {
                if ((f->version || e->version) &&
                    (!f->version || !e->version || strcmp(f->version, e->version) != 0))
                    aw_fim__warn(s, e->id,
                                 "element used in versions %s and %s; the first definition is "
                                 "used for validation",
                                 f->version ? f->version : "-", e->version ? e->version : "-");
                g->children[k].elem = f;
            }
        }
        for (size_t k = 0; k < g->nchildren; k++) {
            aw_fim_edge_t *ed = &g->children[k];
            aw_fim_elem_t *f = s->first[ed->elem->index];
            ed->carries_data = aw_fim_elem_has_data(ed->elem) && f->stamp != (uint32_t)i + 1;
            f->stamp = (uint32_t)i + 1;
        }
    }
}

int aw_fim_schema_load_mem(const char *xml, size_t len, const char *name, const char *base_dir,
                           const aw_fim_load_opts_t *opts, aw_fim_schema_t **out, aw_err_t *err) {
    *out = NULL;
    if (!name) name = "(memory)";
    xmlDocPtr doc;
    int rc = aw_fim__xml_read(xml, len, name, &doc, err);
    if (rc) return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const char *ns = root->ns && root->ns->href ? (const char *)root->ns->href : "";
    int v = 0;
    if (strcmp(ns, NS_XDF2) == 0)
        v = 2;
    else if (strcmp(ns, NS_XDF3) == 0)
        v = 3;
    if (!v) {
        rc = aw_err_set(err, AW_EUNSUPPORTED,
                        "%s: unsupported XDatenfelder version or namespace '%s' (supported: %s, "
                        "%s)",
                        name, ns, NS_XDF2, NS_XDF3);
        xmlFreeDoc(doc);
        return rc;
    }
    const char *msg = (const char *)root->name;
    const char *inner_name = NULL;
    aw_fim_kind_t kind = AW_FIM_GROUP;
    if (strcmp(msg, "xdatenfelder.stammdatenschema.0102") == 0)
        inner_name = "stammdatenschema";
    else if (strcmp(msg, "xdatenfelder.datenfeldgruppe.0103") == 0)
        inner_name = "datenfeldgruppe";
    else if (strcmp(msg, "xdatenfelder.datenfeld.0104") == 0) {
        inner_name = "datenfeld";
        kind = AW_FIM_FIELD;
    }
    if (!inner_name) {
        rc = aw_err_set(err, AW_EUNSUPPORTED,
                        "%s: unsupported message <%s> (supported: xdatenfelder.stammdatenschema."
                        "0102, xdatenfelder.datenfeldgruppe.0103, xdatenfelder.datenfeld.0104)",
                        name, msg);
        xmlFreeDoc(doc);
        return rc;
    }
    xmlNodePtr inner = aw_fim__child(root, inner_name);
    if (!inner) {
        rc = aw_err_set(err, AW_EINVAL, "%s: <%s> without <%s>", name, msg, inner_name);
        xmlFreeDoc(doc);
        return rc;
    }
    aw_fim_schema_t *s = calloc(1, sizeof *s);
    if (!s) {
        xmlFreeDoc(doc);
        return aw_err_set(err, AW_ENOMEM, "out of memory");
    }
    aw_arena_init(&s->arena, 1 << 16, 0);
    s->xdf_version = v;
    s->message = aw_arena_strdup(&s->arena, msg);
    s->path = aw_arena_strdup(&s->arena, name);
    ctx_t c = {.s = s, .a = &s->arena, .err = err, .v = v, .name = s->path};
    if (strcmp(inner_name, "stammdatenschema") == 0) {
        rc = parse_elem(&c, inner, AW_FIM_GROUP, 0, NULL, &s->root);
        if (!rc && v == 3) {
            xmlNodePtr ds = aw_fim__child(inner, "dokumentsteckbrief");
            if (ds) s->dokumentsteckbrief = nonempty(aw_fim__text(c.a, aw_fim__child(ds, "id")));
        }
    } else {
        aw_fim_elem_t *r = aw_arena_calloc(c.a, 1, sizeof *r);
        if (!r)
            rc = aw_err_set(err, AW_ENOMEM, "out of memory");
        else {
            r->kind = AW_FIM_GROUP;
            r->children = aw_arena_calloc(c.a, 1, sizeof *r->children);
            rc = r->children ? 0 : aw_err_set(err, AW_ENOMEM, "out of memory");
        }
        if (!rc) {
            rc = parse_elem(&c, inner, kind, 1, r, &r->children[0].elem);
        }
        if (!rc) {
            aw_fim_elem_t *ch = r->children[0].elem;
            r->nchildren = 1;
            r->children[0].min = r->children[0].max = 1;
            r->children[0].anzahl = "1:1";
            r->children[0].carries_data = aw_fim_elem_has_data(ch);
            r->id = ch->id;
            r->version = ch->version;
            r->name = ch->name;
            r->label = ch->label;
            r->status = ch->status;
            s->root = r;
        }
    }
    xmlFreeDoc(doc);
    if (!rc) {
        const char *dir = opts && opts->codelist_dir ? opts->codelist_dir : base_dir;
        rc = resolve_codelists(&c, dir, opts && opts->allow_missing_codelists);
    }
    if (rc) {
        aw_fim_schema_free(s);
        return rc;
    }
    if (index_ids(s)) {
        aw_fim_schema_free(s);
        return aw_err_set(err, AW_ENOMEM, "out of memory");
    }
    canonicalize(s);
    for (size_t i = 0; i < s->nelems; i++) build_index(s, s->elems[i]);
    build_index(s, s->root);
    *out = s;
    return 0;
}

int aw_fim_schema_load(const char *path, const aw_fim_load_opts_t *opts, aw_fim_schema_t **out,
                       aw_err_t *err) {
    *out = NULL;
    char *buf;
    size_t len;
    int rc = aw_fim__read_file(path, AW_FIM_MAX_XML_BYTES, &buf, &len, err);
    if (rc) return rc;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    rc = aw_fim_schema_load_mem(buf, len, path, dir, opts, out, err);
    free(buf);
    return rc;
}

void aw_fim_schema_free(aw_fim_schema_t *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nelems; i++)
        if (s->elems[i]->c.pattern_re) aw_fim_xsdre_free(s->elems[i]->c.pattern_re);
    if (s->overlay) aw_fim__overlay_free(s->overlay);
    free(s->elems);
    free(s->first);
    free(s->codelists);
    free(s->warnings);
    aw_arena_free(&s->arena);
    free(s);
}

const aw_fim_elem_t *aw_fim_schema_find(const aw_fim_schema_t *s, const char *id) {
    for (size_t i = 0; i < s->nelems; i++)
        if (aw_fim__id_eq(s->elems[i]->id, id)) return s->elems[i];
    return NULL;
}

static bool walk(const aw_fim_edge_t *edge, uint32_t depth, aw_fim_visit_fn visit, void *ctx) {
    if (!visit(edge, depth, ctx)) return true;
    const aw_fim_elem_t *e = edge->elem;
    for (size_t i = 0; i < e->nchildren; i++) walk(&e->children[i], depth + 1, visit, ctx);
    return true;
}

void aw_fim_schema_walk(const aw_fim_schema_t *s, aw_fim_visit_fn visit, void *ctx) {
    aw_fim_edge_t root = {.elem = s->root, .min = 1, .max = 1, .anzahl = "1:1"};
    walk(&root, 0, visit, ctx);
}
