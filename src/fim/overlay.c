/*
 * overlay — executable versions of FIM's prose rules (docs/fim.md).
 *
 * One rule per line:
 *
 *   R00001326: require F00002535 if F00002534 == "02"
 *   R00001326: forbid  F00002535 if F00002534 != "02"
 *   R00000940: at_least_one F00000069, F00000072, F00000071
 *   R00001340: require F00002543 if F00000539 > today - 7
 *   R00001324: unique F00002529
 *   R9: assert F1 <= F2 message "Ende vor Beginn." "End before start."
 *
 * Ids may be qualified with their group (G00001399/F60000240) and must
 * name exactly one place in the schema; XDF2 (9 characters) and XDF3 (12
 * characters) ids are interchangeable. A rule is evaluated once per
 * instance of the deepest group that contains everything it names, so
 * rules inside repeated groups work per entry.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/time.h"
#include "fim/internal.h"

#define MAX_PATH 48

typedef struct {
    const char *text;
    const aw_fim_elem_t *elem;
    const aw_fim_edge_t *path[MAX_PATH]; /* edges from the root's children down */
    size_t npath;
} ref_t;

enum { OP_NONE, OP_ID, OP_STR, OP_NUM, OP_BOOL, OP_TODAY };

typedef struct {
    int kind;
    ref_t *ref;
    const char *s;
    double num;
    bool b;
    int days; /* today ± days */
} operand_t;

enum { N_OR, N_AND, N_NOT, N_CMP, N_IN, N_FILLED, N_EMPTY };
enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

typedef struct node {
    int kind, op;
    struct node *a, *b;
    operand_t x, y;
    operand_t *list;
    size_t nlist;
} node_t;

enum { A_REQUIRE, A_FORBID, A_SHOW, A_AT_LEAST_ONE, A_UNIQUE, A_ASSERT };

typedef struct {
    const char *id;
    int action;
    ref_t **targets;
    size_t ntargets;
    node_t *cond; /* NULL: always */
    node_t *expr; /* assert */
    const char *msg_de, *msg_en;
    int line;
    ref_t **refs; /* every reference, for the scope */
    size_t nrefs, refs_cap;
    size_t scope_len;           /* edges shared by all references' parents */
    const aw_fim_elem_t *group; /* `in G...`: references are relative to it */
    ref_t *occ;                 /* every place of that group (one, the root, without `in`) */
    size_t nocc;
} orule_t;

struct aw_fim_overlay {
    aw_arena_t arena;
    orule_t *rules;
    size_t n, cap;
    char today[11]; /* fixed for tests when set */
};

void aw_fim__overlay_free(aw_fim_overlay_t *o) {
    if (!o) return;
    for (size_t i = 0; i < o->n; i++) free(o->rules[i].refs);
    free(o->rules);
    aw_arena_free(&o->arena);
    free(o);
}

/* ---- lexer ---------------------------------------------------------------- */

enum { T_END, T_WORD, T_STR, T_NUM, T_OP, T_PUNCT };

typedef struct {
    const char *p;
    int kind;
    char tok[256];
    aw_err_t *err;
    const char *name;
    int line;
    aw_fim_overlay_t *o;
    const aw_fim_schema_t *s;
    orule_t *rule;
} lex_t;

static int lex_err(lex_t *l, const char *fmt, const char *arg)
    __attribute__((format(printf, 2, 0)));
static int lex_err(lex_t *l, const char *fmt, const char *arg) {
    char msg[300];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, arg);
#pragma GCC diagnostic pop
    return aw_err_set(l->err, AW_EINVAL, "%s:%d: %s", l->name, l->line, msg);
}

static int next(lex_t *l) {
    while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r') l->p++;
    l->tok[0] = 0;
    char c = *l->p;
    if (!c || c == '\n' || c == '#') {
        l->kind = T_END;
        return 0;
    }
    size_t n = 0;
    if (c == '"') {
        l->p++;
        while (*l->p && *l->p != '"' && *l->p != '\n') {
            if (*l->p == '\\' && (l->p[1] == '"' || l->p[1] == '\\')) l->p++;
            if (n + 1 >= sizeof l->tok) return lex_err(l, "string too long%s", "");
            l->tok[n++] = *l->p++;
        }
        if (*l->p != '"') return lex_err(l, "unterminated string%s", "");
        l->p++;
        l->tok[n] = 0;
        l->kind = T_STR;
        return 0;
    }
    if (isdigit((unsigned char)c) ||
        (c == '-' && isdigit((unsigned char)l->p[1]) && l->kind != T_WORD && l->kind != T_NUM)) {
        while (n + 1 < sizeof l->tok &&
               (isdigit((unsigned char)*l->p) || *l->p == '.' || (n == 0 && *l->p == '-')))
            l->tok[n++] = *l->p++;
        l->tok[n] = 0;
        l->kind = T_NUM;
        return 0;
    }
    if (isalpha((unsigned char)c) || c == '_') {
        while (n + 1 < sizeof l->tok &&
               (isalnum((unsigned char)*l->p) || *l->p == '_' || *l->p == '/' || *l->p == '.'))
            l->tok[n++] = *l->p++;
        l->tok[n] = 0;
        l->kind = T_WORD;
        return 0;
    }
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">", NULL};
    for (int i = 0; ops[i]; i++) {
        size_t ol = strlen(ops[i]);
        if (strncmp(l->p, ops[i], ol) == 0) {
            memcpy(l->tok, ops[i], ol + 1);
            l->p += ol;
            l->kind = T_OP;
            return 0;
        }
    }
    if (strchr(":,()+-", c)) {
        l->tok[0] = c;
        l->tok[1] = 0;
        l->p++;
        l->kind = T_PUNCT;
        return 0;
    }
    char bad[2] = {c, 0};
    return lex_err(l, "unexpected character '%s'", bad);
}

static bool is_punct(lex_t *l, char c) {
    return l->kind == T_PUNCT && l->tok[0] == c;
}
static bool is_word(lex_t *l, const char *w) {
    return l->kind == T_WORD && strcmp(l->tok, w) == 0;
}

/* ---- references ------------------------------------------------------------ */

typedef struct {
    const char *parts[8];
    size_t nparts;
    ref_t *r;
    size_t found;
    ref_t *all; /* when set, every match is stored (up to max_all) */
    size_t max_all;
    const aw_fim_edge_t *stack[MAX_PATH];
} find_t;

static void find_walk(find_t *f, const aw_fim_elem_t *g, size_t depth) {
    if (depth >= MAX_PATH) return;
    for (size_t i = 0; i < g->nchildren; i++) {
        const aw_fim_edge_t *ed = &g->children[i];
        f->stack[depth] = ed;
        /* does the tail of the path match the qualified name? */
        if (depth + 1 >= f->nparts) {
            bool ok = true;
            for (size_t k = 0; k < f->nparts && ok; k++)
                ok = aw_fim__id_eq(f->stack[depth + 1 - f->nparts + k]->elem->id, f->parts[k]);
            if (ok) {
                if (f->all && f->found < f->max_all) {
                    ref_t *o = &f->all[f->found];
                    memcpy(o->path, f->stack, (depth + 1) * sizeof *f->stack);
                    o->npath = depth + 1;
                    o->elem = ed->elem;
                }
                if (f->found == 0 && f->r) {
                    memcpy(f->r->path, f->stack, (depth + 1) * sizeof *f->stack);
                    f->r->npath = depth + 1;
                    f->r->elem = ed->elem;
                }
                f->found++;
            }
        }
        if (ed->elem->kind == AW_FIM_GROUP) find_walk(f, ed->elem, depth + 1);
    }
}

static int parse_ref(lex_t *l, ref_t **out) {
    if (l->kind != T_WORD) return lex_err(l, "element id expected, found '%s'", l->tok);
    ref_t *r = aw_arena_calloc(&l->o->arena, 1, sizeof *r);
    char *text = aw_arena_strdup(&l->o->arena, l->tok);
    if (!r || !text) return aw_err_set(l->err, AW_ENOMEM, "out of memory");
    r->text = text;
    find_t f = {.r = r};
    char *save, *copy = aw_arena_strdup(&l->o->arena, l->tok);
    for (char *t = strtok_r(copy, "/.", &save); t && f.nparts < 8; t = strtok_r(NULL, "/.", &save))
        f.parts[f.nparts++] = t;
    find_walk(&f, l->rule->group ? l->rule->group : l->s->root, 0);
    if (f.found == 0)
        return lex_err(l,
                       l->rule->group ? "unknown element id '%s' (not in the rule's group)"
                                      : "unknown element id '%s' (not in the schema)",
                       text);
    if (f.found > 1) {
        char msg[300];
        snprintf(msg, sizeof msg,
                 "element id '%s' is used in %zu places; qualify it with its group "
                 "(e.g. G.../%s)",
                 text, f.found, f.parts[f.nparts - 1]);
        return aw_err_set(l->err, AW_EINVAL, "%s:%d: %s", l->name, l->line, msg);
    }
    orule_t *ru = l->rule;
    if (ru->nrefs == ru->refs_cap) {
        size_t nc = ru->refs_cap ? ru->refs_cap * 2 : 8;
        ref_t **nv = realloc(ru->refs, nc * sizeof *nv);
        if (!nv) return aw_err_set(l->err, AW_ENOMEM, "out of memory");
        ru->refs = nv;
        ru->refs_cap = nc;
    }
    ru->refs[ru->nrefs++] = r;
    *out = r;
    return next(l);
}

/* ---- expressions ------------------------------------------------------------ */

static int parse_or(lex_t *l, node_t **out);

static node_t *mk(lex_t *l, int kind) {
    node_t *n = aw_arena_calloc(&l->o->arena, 1, sizeof *n);
    if (n) n->kind = kind;
    return n;
}

static int parse_operand(lex_t *l, operand_t *x) {
    memset(x, 0, sizeof *x);
    if (l->kind == T_STR) {
        x->kind = OP_STR;
        x->s = aw_arena_strdup(&l->o->arena, l->tok);
        return next(l);
    }
    if (l->kind == T_NUM) {
        x->kind = OP_NUM;
        if (!aw_fim__parse_num(l->tok, &x->num)) return lex_err(l, "bad number '%s'", l->tok);
        x->s = aw_arena_strdup(&l->o->arena, l->tok);
        return next(l);
    }
    if (is_word(l, "true") || is_word(l, "false")) {
        x->kind = OP_BOOL;
        x->b = l->tok[0] == 't';
        return next(l);
    }
    if (is_word(l, "today")) {
        x->kind = OP_TODAY;
        int rc = next(l);
        if (rc) return rc;
        if (is_punct(l, '+') || is_punct(l, '-') || (l->kind == T_NUM && l->tok[0] == '-')) {
            int sign = 1;
            if (l->kind == T_PUNCT) {
                sign = l->tok[0] == '-' ? -1 : 1;
                if ((rc = next(l))) return rc;
            }
            if (l->kind != T_NUM) return lex_err(l, "number of days expected after today%s", "");
            x->days = sign * atoi(l->tok);
            if ((rc = next(l))) return rc;
            if (is_word(l, "days")) return next(l);
        }
        return 0;
    }
    x->kind = OP_ID;
    return parse_ref(l, &x->ref);
}

static int parse_primary(lex_t *l, node_t **out) {
    int rc;
    if (is_punct(l, '(')) {
        if ((rc = next(l)) || (rc = parse_or(l, out))) return rc;
        if (!is_punct(l, ')')) return lex_err(l, "')' expected, found '%s'", l->tok);
        return next(l);
    }
    if (is_word(l, "not")) {
        node_t *n = mk(l, N_NOT);
        if (!n) return AW_ENOMEM;
        if ((rc = next(l)) || (rc = parse_primary(l, &n->a))) return rc;
        *out = n;
        return 0;
    }
    if (is_word(l, "filled") || is_word(l, "empty")) {
        node_t *n = mk(l, l->tok[0] == 'f' ? N_FILLED : N_EMPTY);
        if (!n) return AW_ENOMEM;
        n->x.kind = OP_ID;
        if ((rc = next(l)) || (rc = parse_ref(l, &n->x.ref))) return rc;
        *out = n;
        return 0;
    }
    node_t *n = mk(l, N_CMP);
    if (!n) return AW_ENOMEM;
    if ((rc = parse_operand(l, &n->x))) return rc;
    if (is_word(l, "in")) {
        n->kind = N_IN;
        if ((rc = next(l))) return rc;
        if (!is_punct(l, '(')) return lex_err(l, "'(' expected after in%s", "");
        n->list = aw_arena_calloc(&l->o->arena, 32, sizeof *n->list);
        if ((rc = next(l))) return rc;
        while (!is_punct(l, ')')) {
            if (n->nlist == 32) return lex_err(l, "at most 32 values in a list%s", "");
            if ((rc = parse_operand(l, &n->list[n->nlist++]))) return rc;
            if (is_punct(l, ',')) {
                if ((rc = next(l))) return rc;
            } else if (!is_punct(l, ')'))
                return lex_err(l, "',' or ')' expected, found '%s'", l->tok);
        }
        *out = n;
        return next(l);
    }
    if (l->kind != T_OP) return lex_err(l, "comparison operator expected, found '%s'", l->tok);
    static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
    for (int i = 0; i < 6; i++)
        if (strcmp(l->tok, ops[i]) == 0) n->op = i;
    if ((rc = next(l)) || (rc = parse_operand(l, &n->y))) return rc;
    *out = n;
    return 0;
}

static int parse_and(lex_t *l, node_t **out) {
    int rc = parse_primary(l, out);
    while (!rc && is_word(l, "and")) {
        node_t *n = mk(l, N_AND);
        if (!n) return AW_ENOMEM;
        n->a = *out;
        if ((rc = next(l)) || (rc = parse_primary(l, &n->b))) return rc;
        *out = n;
    }
    return rc;
}

static int parse_or(lex_t *l, node_t **out) {
    int rc = parse_and(l, out);
    while (!rc && is_word(l, "or")) {
        node_t *n = mk(l, N_OR);
        if (!n) return AW_ENOMEM;
        n->a = *out;
        if ((rc = next(l)) || (rc = parse_and(l, &n->b))) return rc;
        *out = n;
    }
    return rc;
}

static int parse_targets(lex_t *l, orule_t *r) {
    r->targets = aw_arena_calloc(&l->o->arena, 32, sizeof *r->targets);
    if (!r->targets) return AW_ENOMEM;
    for (;;) {
        if (r->ntargets == 32) return lex_err(l, "at most 32 targets%s", "");
        int rc = parse_ref(l, &r->targets[r->ntargets++]);
        if (rc) return rc;
        if (!is_punct(l, ',')) return 0;
        if ((rc = next(l))) return rc;
    }
}

static int parse_line(lex_t *l) {
    int rc = next(l);
    if (rc || l->kind == T_END) return rc;
    if (is_word(l, "schema")) {
        if ((rc = next(l))) return rc;
        if (!aw_fim__id_eq(l->tok, l->s->root->id))
            return lex_err(l, "overlay is for schema %s, not this one", l->tok);
        if ((rc = next(l))) return rc;
        return l->kind == T_END ? 0 : lex_err(l, "unexpected '%s'", l->tok);
    }
    aw_fim_overlay_t *o = l->o;
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 16;
        orule_t *nv = realloc(o->rules, nc * sizeof *nv);
        if (!nv) return aw_err_set(l->err, AW_ENOMEM, "out of memory");
        o->rules = nv;
        o->cap = nc;
    }
    orule_t *r = &o->rules[o->n++];
    memset(r, 0, sizeof *r);
    l->rule = r;
    r->line = l->line;
    if (l->kind != T_WORD) return lex_err(l, "rule id expected, found '%s'", l->tok);
    r->id = aw_arena_strdup(&o->arena, l->tok);
    if ((rc = next(l))) return rc;
    r->nocc = 1;
    r->occ = aw_arena_calloc(&o->arena, 1, sizeof *r->occ);
    if (!r->occ) return aw_err_set(l->err, AW_ENOMEM, "out of memory");
    if (is_word(l, "in")) {
        if ((rc = next(l))) return rc;
        if (l->kind != T_WORD) return lex_err(l, "group id expected after in, found '%s'", l->tok);
        find_t f = {.max_all = 64};
        f.all = aw_arena_calloc(&o->arena, f.max_all, sizeof *f.all);
        if (!f.all) return aw_err_set(l->err, AW_ENOMEM, "out of memory");
        f.parts[0] = aw_arena_strdup(&o->arena, l->tok);
        f.nparts = 1;
        find_walk(&f, l->s->root, 0);
        if (f.found == 0 || f.all[0].elem->kind != AW_FIM_GROUP)
            return lex_err(l, "unknown group '%s' (not in the schema)", l->tok);
        r->group = f.all[0].elem;
        r->occ = f.all;
        r->nocc = f.found < f.max_all ? f.found : f.max_all;
        if ((rc = next(l))) return rc;
    }
    if (!is_punct(l, ':')) return lex_err(l, "':' expected after the rule id, found '%s'", l->tok);
    if ((rc = next(l))) return rc;
    static const char *const acts[] = {"require",      "forbid", "show",
                                       "at_least_one", "unique", "assert"};
    r->action = -1;
    for (int i = 0; i < 6; i++)
        if (is_word(l, acts[i])) r->action = i;
    if (r->action < 0)
        return lex_err(l,
                       "unknown action '%s' (require, forbid, show, at_least_one, unique, "
                       "assert)",
                       l->tok);
    if ((rc = next(l))) return rc;
    if (r->action == A_ASSERT)
        rc = parse_or(l, &r->expr);
    else
        rc = parse_targets(l, r);
    if (rc) return rc;
    if (is_word(l, "if")) {
        if ((rc = next(l)) || (rc = parse_or(l, &r->cond))) return rc;
    }
    if (is_word(l, "message")) {
        if ((rc = next(l))) return rc;
        if (l->kind != T_STR) return lex_err(l, "German message text expected%s", "");
        r->msg_de = aw_arena_strdup(&o->arena, l->tok);
        if ((rc = next(l))) return rc;
        if (l->kind != T_STR) return lex_err(l, "English message text expected%s", "");
        r->msg_en = aw_arena_strdup(&o->arena, l->tok);
        if ((rc = next(l))) return rc;
    }
    if (l->kind != T_END) return lex_err(l, "unexpected '%s' at the end of the rule", l->tok);
    if (r->action == A_UNIQUE)
        for (size_t i = 0; i < r->ntargets; i++) {
            const ref_t *t = r->targets[i];
            if (t->path[t->npath - 1]->max <= 1)
                return lex_err(l, "unique needs a repeated element; %s is at most once", t->text);
        }
    /* scope: the common prefix of all references' parent paths */
    size_t scope = SIZE_MAX;
    for (size_t i = 0; i < r->nrefs; i++) {
        const ref_t *a = r->refs[i];
        size_t k = a->npath - 1;
        if (i > 0) {
            const ref_t *b = r->refs[0];
            size_t m = 0;
            while (m < k && m < b->npath - 1 && a->path[m] == b->path[m]) m++;
            k = m;
        }
        if (k < scope) scope = k;
    }
    r->scope_len = scope == SIZE_MAX ? 0 : scope;
    return 0;
}

int aw_fim_overlay_load_mem(aw_fim_schema_t *s, const char *text, size_t len, const char *name,
                            aw_err_t *err) {
    if (len > (1u << 20)) return aw_err_set(err, AW_ETOOBIG, "%s: overlay larger than 1 MiB", name);
    if (memchr(text, 0, len)) return aw_err_set(err, AW_EINVAL, "%s: NUL byte in overlay", name);
    aw_fim_overlay_t *o = calloc(1, sizeof *o);
    if (!o) return aw_err_set(err, AW_ENOMEM, "out of memory");
    aw_arena_init(&o->arena, 8192, 0);
    char *copy = aw_arena_strndup(&o->arena, text, len);
    lex_t l = {.err = err, .name = name ? name : "(overlay)", .o = o, .s = s};
    int rc = copy ? 0 : aw_err_set(err, AW_ENOMEM, "out of memory");
    char *save = NULL;
    int line = 0;
    for (char *p = copy; !rc && p;) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line++;
        l.p = p;
        l.line = line;
        l.kind = T_END;
        rc = parse_line(&l);
        if (rc == AW_ENOMEM && err && !err->msg[0]) aw_err_set(err, AW_ENOMEM, "out of memory");
        p = nl ? nl + 1 : NULL;
        if (o->n > 10000) rc = aw_err_set(err, AW_ETOOBIG, "%s: more than 10000 rules", name);
    }
    (void)save;
    if (rc) {
        aw_fim__overlay_free(o);
        return rc;
    }
    if (s->overlay) aw_fim__overlay_free(s->overlay);
    s->overlay = o;
    return 0;
}

int aw_fim_overlay_load(aw_fim_schema_t *s, const char *path, aw_err_t *err) {
    char *buf;
    size_t len;
    int rc = aw_fim__read_file(path, 1u << 20, &buf, &len, err);
    if (rc) return rc;
    rc = aw_fim_overlay_load_mem(s, buf, len, path, err);
    free(buf);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------- */

typedef struct {
    const aw_fim_schema_t *s;
    const aw_fim_overlay_t *o;
    aw_fim_errors_t *errs;
    const orule_t *r;
    json_t *inst;   /* the scope instance */
    aw_buf_t *path; /* its JSON pointer */
    char today[11];
} ectx_t;

/* The value of a reference inside the scope instance (arrays below the scope
 * are entered at their first entry; the last step may stay an array). */
static json_t *resolve(const ectx_t *c, const ref_t *r, aw_buf_t *ptr) {
    json_t *v = c->inst;
    if (ptr) aw_buf_append(ptr, c->path->data, c->path->len);
    for (size_t k = c->r->scope_len; k < r->npath && v; k++) {
        if (json_is_array(v)) {
            if (ptr) aw_buf_puts(ptr, "/0");
            v = json_array_get(v, 0);
        }
        if (!json_is_object(v)) return NULL;
        v = json_object_get(v, r->path[k]->elem->id);
        if (ptr) {
            aw_buf_putc(ptr, '/');
            aw_buf_puts(ptr, r->path[k]->elem->id);
        }
    }
    return v;
}

static bool filled(json_t *v) {
    if (!v || json_is_null(v)) return false;
    if (json_is_string(v)) return json_string_length(v) > 0;
    if (json_is_array(v)) return json_array_size(v) > 0;
    if (json_is_object(v)) return json_object_size(v) > 0;
    return true;
}

static void today_plus(const char *today, int days, char out[11]) {
    int64_t d;
    if (aw_time_parse_date(today, &d) != 0) {
        snprintf(out, 11, "%s", today);
        return;
    }
    int64_t ms = (d + days) * 86400000LL;
    char buf[40];
    aw_time_format_rfc3339(ms, buf, sizeof buf);
    snprintf(out, 11, "%.10s", buf);
}

/* One scalar compared with one literal / scalar. */
static bool cmp_scalar(json_t *a, const operand_t *b, json_t *bj, int op, const char *today) {
    double x = 0, y = 0;
    const char *sa = NULL, *sb = NULL;
    char tb[11];
    int ka, kb; /* 0 str, 1 num, 2 bool */
    if (json_is_string(a))
        ka = 0, sa = json_string_value(a);
    else if (json_is_number(a))
        ka = 1, x = json_number_value(a);
    else if (json_is_boolean(a))
        ka = 2, x = json_is_true(a);
    else
        return op == C_NE;
    if (bj) {
        if (json_is_string(bj))
            kb = 0, sb = json_string_value(bj);
        else if (json_is_number(bj))
            kb = 1, y = json_number_value(bj);
        else if (json_is_boolean(bj))
            kb = 2, y = json_is_true(bj);
        else
            return op == C_NE;
    } else if (b->kind == OP_STR)
        kb = 0, sb = b->s;
    else if (b->kind == OP_NUM)
        kb = 1, y = b->num;
    else if (b->kind == OP_BOOL)
        kb = 2, y = b->b;
    else {
        today_plus(today, b->days, tb);
        kb = 0, sb = tb;
    }
    /* a number against a string literal that reads as a number */
    if (ka == 1 && kb == 0 && aw_fim__parse_num(sb, &y)) kb = 1;
    if (ka == 0 && kb == 1 && aw_fim__parse_num(sa, &x)) ka = 1;
    if (ka != kb) return op == C_NE;
    int c;
    if (ka == 0)
        c = strcmp(sa, sb);
    else
        c = x < y ? -1 : x > y ? 1 : 0;
    if (ka == 2 && op != C_EQ && op != C_NE) return false;
    switch (op) {
    case C_EQ:
        return c == 0;
    case C_NE:
        return c != 0;
    case C_LT:
        return c < 0;
    case C_LE:
        return c <= 0;
    case C_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static bool eval_cmp(const ectx_t *c, const operand_t *a, const operand_t *b, int op) {
    json_t *va = a->kind == OP_ID ? resolve(c, a->ref, NULL) : NULL;
    json_t *vb = b->kind == OP_ID ? resolve(c, b->ref, NULL) : NULL;
    if ((a->kind == OP_ID && !filled(va)) || (b->kind == OP_ID && !filled(vb)))
        return op == C_NE;  /* a missing value equals nothing */
    if (a->kind != OP_ID) { /* literal on the left: swap */
        static const int flip[] = {C_EQ, C_NE, C_GT, C_GE, C_LT, C_LE};
        if (b->kind != OP_ID) return false;
        return eval_cmp(c, b, a, flip[op]);
    }
    /* any entry of a repeated value */
    size_t na = json_is_array(va) ? json_array_size(va) : 1;
    size_t nb = vb && json_is_array(vb) ? json_array_size(vb) : 1;
    bool any = false, all = true;
    for (size_t i = 0; i < na; i++) {
        json_t *x = json_is_array(va) ? json_array_get(va, i) : va;
        for (size_t k = 0; k < nb; k++) {
            json_t *y = vb ? (json_is_array(vb) ? json_array_get(vb, k) : vb) : NULL;
            bool r = cmp_scalar(x, b, y, op == C_NE ? C_EQ : op, c->today);
            any |= r;
            all &= r;
        }
    }
    (void)all;
    return op == C_NE ? !any : any;
}

static bool eval(const ectx_t *c, const node_t *n) {
    switch (n->kind) {
    case N_OR:
        return eval(c, n->a) || eval(c, n->b);
    case N_AND:
        return eval(c, n->a) && eval(c, n->b);
    case N_NOT:
        return !eval(c, n->a);
    case N_FILLED:
        return filled(resolve(c, n->x.ref, NULL));
    case N_EMPTY:
        return !filled(resolve(c, n->x.ref, NULL));
    case N_IN:
        for (size_t i = 0; i < n->nlist; i++)
            if (eval_cmp(c, &n->x, &n->list[i], C_EQ)) return true;
        return false;
    default:
        return eval_cmp(c, &n->x, &n->y, n->op);
    }
}

static bool all_refs_filled(const ectx_t *c, const node_t *n) {
    if (!n) return true;
    if (n->x.kind == OP_ID && !filled(resolve(c, n->x.ref, NULL))) return false;
    if (n->y.kind == OP_ID && !filled(resolve(c, n->y.ref, NULL))) return false;
    return all_refs_filled(c, n->a) && all_refs_filled(c, n->b);
}

static void report(const ectx_t *c, const ref_t *t, const char *code, const char *de,
                   const char *en) {
    aw_buf_t p = AW_BUF_INIT;
    resolve(c, t, &p);
    aw_fim__error_add(c->errs, p.data ? p.data : "", t->elem, code,
                      c->r->msg_de ? c->r->msg_de : de, c->r->msg_en ? c->r->msg_en : en, c->r->id);
    aw_buf_free(&p);
}

static void eval_rule(ectx_t *c) {
    const orule_t *r = c->r;
    if (r->cond && !eval(c, r->cond)) {
        if (r->action != A_SHOW) return;
        for (size_t i = 0; i < r->ntargets; i++)
            if (filled(resolve(c, r->targets[i], NULL)))
                report(c, r->targets[i], "forbidden",
                       "Diese Angabe ist hier nicht vorgesehen. Bitte entfernen.",
                       "This entry does not apply here. Please remove it.");
        return;
    }
    switch (r->action) {
    case A_REQUIRE:
        for (size_t i = 0; i < r->ntargets; i++)
            if (!filled(resolve(c, r->targets[i], NULL)))
                report(c, r->targets[i], "required",
                       r->targets[i]->elem->kind == AW_FIM_GROUP ? "Bitte diese Angaben machen."
                                                                 : "Bitte ausfüllen.",
                       r->targets[i]->elem->kind == AW_FIM_GROUP
                           ? "Please provide this information."
                           : "Please fill in this field.");
        return;
    case A_FORBID:
        for (size_t i = 0; i < r->ntargets; i++)
            if (filled(resolve(c, r->targets[i], NULL)))
                report(c, r->targets[i], "forbidden",
                       "Diese Angabe ist hier nicht vorgesehen. Bitte entfernen.",
                       "This entry does not apply here. Please remove it.");
        return;
    case A_SHOW:
        return;
    case A_AT_LEAST_ONE: {
        for (size_t i = 0; i < r->ntargets; i++)
            if (filled(resolve(c, r->targets[i], NULL))) return;
        aw_buf_t de = AW_BUF_INIT, en = AW_BUF_INIT;
        aw_buf_puts(&de, "Bitte mindestens eine dieser Angaben machen: ");
        aw_buf_puts(&en, "Please provide at least one of: ");
        for (size_t i = 0; i < r->ntargets; i++) {
            const char *sep_de = i == 0 ? "" : i + 1 == r->ntargets ? " oder " : ", ";
            const char *sep_en = i == 0 ? "" : i + 1 == r->ntargets ? " or " : ", ";
            aw_buf_printf(&de, "%s%s", sep_de, r->targets[i]->elem->label);
            aw_buf_printf(&en, "%s%s", sep_en, r->targets[i]->elem->label);
        }
        aw_buf_putc(&de, '.');
        aw_buf_putc(&en, '.');
        report(c, r->targets[0], "rule", de.data, en.data);
        aw_buf_free(&de);
        aw_buf_free(&en);
        return;
    }
    case A_UNIQUE:
        for (size_t i = 0; i < r->ntargets; i++) {
            json_t *v = resolve(c, r->targets[i], NULL);
            if (!json_is_array(v)) continue;
            size_t n = json_array_size(v);
            bool dup = false;
            for (size_t a = 0; a < n && !dup; a++)
                for (size_t b = a + 1; b < n && !dup; b++)
                    dup = json_equal(json_array_get(v, a), json_array_get(v, b));
            if (dup)
                report(c, r->targets[i], "rule", "Bitte jeden Eintrag nur einmal auswählen.",
                       "Please choose each entry only once.");
        }
        return;
    case A_ASSERT:
        if (!all_refs_filled(c, r->expr)) return;
        if (!eval(c, r->expr))
            report(c, r->refs[0], "rule", "Die Angaben passen nicht zusammen.",
                   "The entries do not fit together.");
        return;
    }
}

/* Calls eval_rule for every instance of the rule's scope in the data. */
static void each_instance(ectx_t *c, json_t *v, size_t depth) {
    const orule_t *r = c->r;
    if (depth == r->scope_len) {
        if (!json_is_object(v)) return;
        c->inst = v;
        eval_rule(c);
        return;
    }
    const aw_fim_edge_t *ed = r->refs[0]->path[depth];
    json_t *child = json_is_object(v) ? json_object_get(v, ed->elem->id) : NULL;
    if (!child) return;
    size_t old = c->path->len;
    aw_buf_putc(c->path, '/');
    aw_buf_puts(c->path, ed->elem->id);
    if (json_is_array(child)) {
        for (size_t i = 0; i < json_array_size(child) && i < 10000; i++) {
            size_t o2 = c->path->len;
            aw_buf_printf(c->path, "/%zu", i);
            each_instance(c, json_array_get(child, i), depth + 1);
            c->path->len = o2;
            c->path->data[o2] = 0;
        }
    } else {
        each_instance(c, child, depth + 1);
    }
    c->path->len = old;
    if (c->path->data) c->path->data[old] = 0;
}

/* Follows one occurrence path of the rule's group (entering every entry of
 * repeated groups), then the rule's own scope. */
static void each_occurrence(ectx_t *c, const ref_t *occ, json_t *v, size_t depth) {
    if (depth == occ->npath) {
        each_instance(c, v, 0);
        return;
    }
    const aw_fim_edge_t *ed = occ->path[depth];
    json_t *child = json_is_object(v) ? json_object_get(v, ed->elem->id) : NULL;
    if (!child) return;
    size_t old = c->path->len;
    aw_buf_putc(c->path, '/');
    aw_buf_puts(c->path, ed->elem->id);
    if (json_is_array(child)) {
        for (size_t i = 0; i < json_array_size(child) && i < 10000; i++) {
            size_t o2 = c->path->len;
            aw_buf_printf(c->path, "/%zu", i);
            each_occurrence(c, occ, json_array_get(child, i), depth + 1);
            c->path->len = o2;
            c->path->data[o2] = 0;
        }
    } else {
        each_occurrence(c, occ, child, depth + 1);
    }
    c->path->len = old;
    if (c->path->data) c->path->data[old] = 0;
}

static void set_today(ectx_t *c) {
    const char *fixed = getenv("AMTSWEG_TODAY"); /* tests pin the date */
    if (fixed && aw_fim__is_date(fixed)) {
        snprintf(c->today, sizeof c->today, "%s", fixed);
        return;
    }
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(c->today, sizeof c->today, "%Y-%m-%d", &tm);
}

void aw_fim__overlay_eval(const aw_fim_schema_t *s, const void *root, aw_fim_errors_t *errs) {
    const aw_fim_overlay_t *o = s->overlay;
    if (!o) return;
    aw_buf_t path = AW_BUF_INIT;
    aw_buf_puts(&path, "");
    ectx_t c = {.s = s, .o = o, .errs = errs, .path = &path};
    set_today(&c);
    for (size_t i = 0; i < o->n; i++) {
        c.r = &o->rules[i];
        if (c.r->nrefs == 0) continue;
        for (size_t k = 0; k < c.r->nocc; k++) each_occurrence(&c, &c.r->occ[k], (json_t *)root, 0);
    }
    aw_buf_free(&path);
}

bool aw_fim_overlay_visible(const aw_fim_schema_t *s, const aw_fim_elem_t *e, const void *json) {
    const aw_fim_overlay_t *o = s->overlay;
    if (!o) return true;
    aw_buf_t path = AW_BUF_INIT;
    aw_buf_puts(&path, "");
    ectx_t c = {.s = s, .o = o, .path = &path};
    set_today(&c);
    bool visible = true;
    for (size_t i = 0; i < o->n && visible; i++) {
        const orule_t *r = &o->rules[i];
        if (r->action != A_SHOW || !r->cond) continue;
        bool targets = false;
        for (size_t k = 0; k < r->ntargets; k++)
            if (r->targets[k]->elem == e) targets = true;
        if (!targets) continue;
        c.r = r;
        /* evaluate in the first instance of the scope */
        json_t *v = (json_t *)json;
        for (size_t d = 0; d < r->occ[0].npath && v; d++) {
            v = json_is_object(v) ? json_object_get(v, r->occ[0].path[d]->elem->id) : NULL;
            if (json_is_array(v)) v = json_array_get(v, 0);
        }
        for (size_t d = 0; d < r->scope_len && v; d++) {
            v = json_is_object(v) ? json_object_get(v, r->refs[0]->path[d]->elem->id) : NULL;
            if (json_is_array(v)) v = json_array_get(v, 0);
        }
        if (!json_is_object(v)) {
            visible = false; /* nothing entered yet that could show it */
            continue;
        }
        c.inst = v;
        if (!eval(&c, r->cond)) visible = false;
    }
    aw_buf_free(&path);
    return visible;
}

/* ---- JSON Schema export of the rules JSON Schema can express --------------
 *
 * A rule is exported as an if/then (or anyOf, not, uniqueItems) on the
 * definition of its scope group. Not expressible, and therefore reported in
 * a "$comment" and left to amtsweg: comparisons with `today`, between two
 * fields or of strings by order; references through a repeated group below
 * the scope (amtsweg takes its first entry); scopes that are shared groups
 * used elsewhere too.
 */

static void jstr(aw_buf_t *b, const char *s) {
    aw_buf_putc(b, '"');
    aw_buf_json_str(b, s, strlen(s));
    aw_buf_putc(b, '"');
}

static void jlit(aw_buf_t *b, const operand_t *x) {
    if (x->kind == OP_STR)
        jstr(b, x->s);
    else if (x->kind == OP_BOOL)
        aw_buf_puts(b, x->b ? "true" : "false");
    else
        aw_buf_puts(b, x->s);
}

/* leaf kinds */
enum { L_FILLED, L_CONST, L_CMP, L_UNIQUE };

/* Writes a schema that holds when the value at r (relative to the scope,
 * from index `from`) is present and satisfies the leaf. */
static bool jpath(aw_buf_t *b, const ref_t *r, size_t from, int leaf, const operand_t *lit,
                  int op) {
    for (size_t k = from; k + 1 < r->npath; k++)
        if (r->path[k]->max > 1) return false;
    for (size_t k = from; k < r->npath; k++) {
        const char *id = r->path[k]->elem->id;
        aw_buf_puts(b, "{\"type\":\"object\",");
        if (leaf != L_UNIQUE) {
            aw_buf_puts(b, "\"required\":[");
            jstr(b, id);
            aw_buf_puts(b, "],");
        }
        aw_buf_puts(b, "\"properties\":{");
        jstr(b, id);
        aw_buf_putc(b, ':');
    }
    const aw_fim_edge_t *last = r->path[r->npath - 1];
    bool many = last->max > 1;
    switch (leaf) {
    case L_FILLED:
        if (many)
            aw_buf_puts(b, "{\"type\":\"array\",\"minItems\":1}");
        else if (last->elem->kind == AW_FIM_GROUP ||
                 (last->elem->kind == AW_FIM_FIELD && last->elem->datatype == AW_FIM_DT_OBJ))
            aw_buf_puts(b, "{\"type\":\"object\",\"minProperties\":1}");
        else
            aw_buf_puts(b, "{\"not\":{\"const\":\"\"}}");
        break;
    case L_CONST:
        aw_buf_puts(b, many ? "{\"type\":\"array\",\"contains\":{\"const\":" : "{\"const\":");
        jlit(b, lit);
        aw_buf_puts(b, many ? "}}" : "}");
        break;
    case L_CMP: {
        static const char *const kw[] = {
            "", "", "exclusiveMaximum", "maximum", "exclusiveMinimum", "minimum"};
        aw_buf_puts(b, many ? "{\"type\":\"array\",\"contains\":{\"type\":\"number\",\""
                            : "{\"type\":\"number\",\"");
        aw_buf_puts(b, kw[op]);
        aw_buf_puts(b, "\":");
        aw_buf_puts(b, lit->s);
        aw_buf_puts(b, many ? "}}" : "}");
        break;
    }
    default:
        aw_buf_puts(b, "{\"type\":\"array\",\"uniqueItems\":true}");
    }
    for (size_t k = from; k < r->npath; k++) aw_buf_puts(b, "}}");
    return true;
}

static bool jcond(aw_buf_t *b, const node_t *n, size_t from);

static bool jcmp(aw_buf_t *b, const operand_t *x, const operand_t *y, int op, size_t from) {
    static const int flip[] = {C_EQ, C_NE, C_GT, C_GE, C_LT, C_LE};
    if (x->kind != OP_ID) {
        if (y->kind != OP_ID) return false;
        return jcmp(b, y, x, flip[op], from);
    }
    if (y->kind == OP_ID || y->kind == OP_TODAY) return false;
    /* amtsweg compares "2" and 2 as numbers; JSON Schema does not: only when
     * the literal has the field's JSON type */
    const aw_fim_elem_t *f = x->ref->elem;
    if (f->kind != AW_FIM_FIELD) return false;
    bool numeric =
        !f->codelist && (f->datatype == AW_FIM_DT_NUM || f->datatype == AW_FIM_DT_NUM_INT ||
                         f->datatype == AW_FIM_DT_NUM_CURRENCY);
    bool boolean = !f->codelist && f->datatype == AW_FIM_DT_BOOL;
    if (y->kind == OP_NUM && !numeric) return false;
    if (y->kind == OP_BOOL && !boolean) return false;
    if (y->kind == OP_STR && (numeric || boolean)) return false;
    if (y->kind == OP_STR) {
        double d;
        if (aw_fim__parse_num(y->s, &d) && !f->codelist) return false; /* "5" vs "5.0" */
    }
    if (op == C_EQ || op == C_NE) {
        if (op == C_NE) aw_buf_puts(b, "{\"not\":");
        bool ok = jpath(b, x->ref, from, L_CONST, y, op);
        if (op == C_NE) aw_buf_putc(b, '}');
        return ok;
    }
    if (y->kind != OP_NUM) return false; /* order of strings/dates: not in JSON Schema */
    return jpath(b, x->ref, from, L_CMP, y, op);
}

static bool jcond(aw_buf_t *b, const node_t *n, size_t from) {
    bool ok;
    switch (n->kind) {
    case N_OR:
    case N_AND:
        aw_buf_puts(b, n->kind == N_OR ? "{\"anyOf\":[" : "{\"allOf\":[");
        ok = jcond(b, n->a, from);
        aw_buf_putc(b, ',');
        ok = ok && jcond(b, n->b, from);
        aw_buf_puts(b, "]}");
        return ok;
    case N_NOT:
        aw_buf_puts(b, "{\"not\":");
        ok = jcond(b, n->a, from);
        aw_buf_putc(b, '}');
        return ok;
    case N_FILLED:
        return jpath(b, n->x.ref, from, L_FILLED, NULL, 0);
    case N_EMPTY:
        aw_buf_puts(b, "{\"not\":");
        ok = jpath(b, n->x.ref, from, L_FILLED, NULL, 0);
        aw_buf_putc(b, '}');
        return ok;
    case N_IN:
        aw_buf_puts(b, "{\"anyOf\":[");
        ok = true;
        for (size_t i = 0; i < n->nlist && ok; i++) {
            if (i) aw_buf_putc(b, ',');
            ok = jcmp(b, &n->x, &n->list[i], C_EQ, from);
        }
        aw_buf_puts(b, "]}");
        return ok;
    default:
        return jcmp(b, &n->x, &n->y, n->op, from);
    }
}

static bool jtargets(aw_buf_t *b, const orule_t *r, bool negate, const char *comb, size_t from) {
    aw_buf_printf(b, "{\"%s\":[", comb);
    bool ok = true;
    for (size_t i = 0; i < r->ntargets && ok; i++) {
        if (i) aw_buf_putc(b, ',');
        if (negate) aw_buf_puts(b, "{\"not\":");
        ok = jpath(b, r->targets[i], from, r->action == A_UNIQUE ? L_UNIQUE : L_FILLED, NULL, 0);
        if (negate) aw_buf_putc(b, '}');
    }
    aw_buf_puts(b, "]}");
    return ok;
}

static bool jrule(aw_buf_t *b, const orule_t *r) {
    size_t from = r->scope_len;
    bool ok = true;
    switch (r->action) {
    case A_REQUIRE:
    case A_FORBID:
    case A_AT_LEAST_ONE:
    case A_UNIQUE: {
        const char *comb = r->action == A_AT_LEAST_ONE ? "anyOf" : "allOf";
        if (r->cond) {
            aw_buf_puts(b, "{\"if\":");
            ok = jcond(b, r->cond, from);
            aw_buf_puts(b, ",\"then\":");
        }
        ok = ok && jtargets(b, r, r->action == A_FORBID, comb, from);
        if (r->cond) aw_buf_putc(b, '}');
        return ok;
    }
    case A_SHOW:
        if (!r->cond) return false;
        aw_buf_puts(b, "{\"if\":");
        ok = jcond(b, r->cond, from);
        aw_buf_puts(b, ",\"else\":");
        ok = ok && jtargets(b, r, true, "allOf", from);
        aw_buf_putc(b, '}');
        return ok;
    default: { /* assert: checked when every field it names is filled */
        aw_buf_puts(b, "{\"if\":{\"allOf\":[");
        for (size_t i = 0; i < r->nrefs && ok; i++) {
            if (i) aw_buf_putc(b, ',');
            ok = jpath(b, r->refs[i], from, L_FILLED, NULL, 0);
        }
        aw_buf_puts(b, "]},\"then\":");
        ok = ok && jcond(b, r->expr, from);
        aw_buf_putc(b, '}');
        return ok;
    }
    }
}

/* The group a rule's JSON Schema belongs to (NULL: the root), and whether
 * that group stands for exactly the instances amtsweg evaluates. */
static bool count_uses(const aw_fim_elem_t *g, const aw_fim_elem_t *e, size_t *n, int depth) {
    if (depth > AW_FIM_MAX_DEPTH + 2) return false;
    for (size_t i = 0; i < g->nchildren; i++) {
        if (g->children[i].elem == e) (*n)++;
        if (g->children[i].elem->kind == AW_FIM_GROUP)
            count_uses(g->children[i].elem, e, n, depth + 1);
    }
    return true;
}

static const aw_fim_elem_t *rule_scope(const aw_fim_schema_t *s, const orule_t *r, bool *ok) {
    *ok = true;
    if (r->nrefs == 0) {
        *ok = false;
        return NULL;
    }
    if (r->scope_len == 0) return r->group ? r->group : s->root;
    const aw_fim_elem_t *e = r->refs[0]->path[r->scope_len - 1]->elem;
    size_t n = 0;
    count_uses(s->root, e, &n, 0);
    if (n != 1 || r->group) *ok = false;
    return e;
}

int aw_fim__overlay_json_schema(const aw_fim_schema_t *s, const aw_fim_elem_t *g, aw_buf_t *out) {
    const aw_fim_overlay_t *o = s->overlay;
    if (!o) return 0;
    int n = 0;
    for (size_t i = 0; i < o->n; i++) {
        bool ok;
        if (rule_scope(s, &o->rules[i], &ok) != g || !ok) continue;
        aw_buf_t b = AW_BUF_INIT;
        if (!jrule(&b, &o->rules[i]) || !aw_buf_ok(&b)) {
            aw_buf_free(&b);
            continue;
        }
        aw_buf_puts(out, n ? "," : ",\"allOf\":[");
        aw_buf_append(out, b.data, b.len);
        aw_buf_free(&b);
        n++;
    }
    if (n) aw_buf_putc(out, ']');
    return n;
}

int aw_fim__overlay_not_exported(const aw_fim_schema_t *s, aw_buf_t *out) {
    const aw_fim_overlay_t *o = s->overlay;
    if (!o) return 0;
    int n = 0;
    for (size_t i = 0; i < o->n; i++) {
        bool ok;
        rule_scope(s, &o->rules[i], &ok);
        aw_buf_t b = AW_BUF_INIT;
        if (ok) ok = jrule(&b, &o->rules[i]);
        aw_buf_free(&b);
        if (ok) continue;
        aw_buf_printf(out, "%s%s (line %d)", n ? ", " : "", o->rules[i].id, o->rules[i].line);
        n++;
    }
    return n;
}
