#include "http/router.h"
#include "base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *method;
    char *tmpl;
    size_t nseg;
    char *seg[AW_ROUTER_MAX_SEGMENTS]; /* "{x}" for parameters, into tmpl copy */
    bool param[AW_ROUTER_MAX_SEGMENTS];
    char *storage;
} route_t;

struct aw_router {
    route_t *routes;
    size_t n, cap;
};

aw_router_t *aw_router_new(void) {
    return calloc(1, sizeof(aw_router_t));
}

void aw_router_free(aw_router_t *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->routes[i].method);
        free(r->routes[i].tmpl);
        free(r->routes[i].storage);
    }
    free(r->routes);
    free(r);
}

/* Splits "/a/b/c" in place into segments; returns count or -1. Empty
 * segments (double slash, trailing slash) are kept as "" so "/a/" never
 * matches "/a". */
static int split(char *p, char **seg, size_t max) {
    if (*p != '/') return -1;
    p++;
    size_t n = 0;
    if (*p == '\0') return 0; /* "/" */
    for (;;) {
        if (n == max) return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash) break;
        *slash = '\0';
        p = slash + 1;
    }
    return (int)n;
}

int aw_router_add(aw_router_t *r, const char *method, const char *tmpl) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->routes[i].method, method) == 0 && strcmp(r->routes[i].tmpl, tmpl) == 0)
            return AW_EINVAL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        route_t *nr = realloc(r->routes, cap * sizeof *nr);
        if (!nr) return AW_ENOMEM;
        r->routes = nr;
        r->cap = cap;
    }
    route_t rt = {0};
    rt.method = strdup(method);
    rt.tmpl = strdup(tmpl);
    rt.storage = strdup(tmpl);
    if (!rt.method || !rt.tmpl || !rt.storage) goto bad;
    int n = split(rt.storage, rt.seg, AW_ROUTER_MAX_SEGMENTS);
    if (n < 0) goto bad;
    rt.nseg = (size_t)n;
    size_t nparams = 0;
    for (size_t i = 0; i < rt.nseg; i++) {
        size_t len = strlen(rt.seg[i]);
        if (len >= 3 && rt.seg[i][0] == '{' && rt.seg[i][len - 1] == '}') {
            rt.param[i] = true;
            rt.seg[i][len - 1] = '\0';
            rt.seg[i]++;
            if (++nparams > AW_ROUTER_MAX_PARAMS) goto bad;
        } else if (strchr(rt.seg[i], '{') || strchr(rt.seg[i], '}')) {
            goto bad;
        }
    }
    r->routes[r->n] = rt;
    return (int)r->n++;
bad:
    free(rt.method);
    free(rt.tmpl);
    free(rt.storage);
    return AW_EINVAL;
}

size_t aw_router_count(const aw_router_t *r) {
    return r->n;
}

const char *aw_router_template(const aw_router_t *r, int route) {
    return route >= 0 && (size_t)route < r->n ? r->routes[route].tmpl : NULL;
}

const char *aw_router_method(const aw_router_t *r, int route) {
    return route >= 0 && (size_t)route < r->n ? r->routes[route].method : NULL;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in place; refuses encoded NUL and encoded '/'. */
static bool decode_segment(char *s) {
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            int hi = hexval(p[1]), lo = hi >= 0 ? hexval(p[2]) : -1;
            if (hi < 0 || lo < 0) return false;
            char c = (char)(hi << 4 | lo);
            if (c == '\0' || c == '/') return false;
            *o++ = c;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return true;
}

/* Score: more literal segments earlier = more specific. */
static bool match_route(const route_t *rt, char **seg, size_t nseg, unsigned *score) {
    if (rt->nseg != nseg) return false;
    unsigned s = 0;
    for (size_t i = 0; i < nseg; i++) {
        if (rt->param[i]) {
            if (seg[i][0] == '\0') return false;
        } else {
            if (strcmp(rt->seg[i], seg[i]) != 0) return false;
            s |= 1u << (AW_ROUTER_MAX_SEGMENTS - 1 - i);
        }
    }
    *score = s;
    return true;
}

static void allow_add(char *allow, size_t n, const char *m) {
    if (strstr(allow, m)) {
        /* exact token check */
        size_t ml = strlen(m);
        for (const char *p = allow; (p = strstr(p, m)) != NULL; p += ml)
            if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0')) return;
    }
    size_t len = strlen(allow);
    snprintf(allow + len, n - len, "%s%s", len ? ", " : "", m);
}

void aw_router_match(const aw_router_t *r, const char *method, const char *path, char *scratch,
                     aw_route_match_t *m) {
    memset(m, 0, sizeof *m);
    m->route = -1;
    m->status = 404;
    strcpy(scratch, path);
    char *seg[AW_ROUTER_MAX_SEGMENTS];
    int n = split(scratch, seg, AW_ROUTER_MAX_SEGMENTS);
    if (n < 0) return;
    for (int i = 0; i < n; i++)
        if (!decode_segment(seg[i])) return;
    bool head = strcmp(method, "HEAD") == 0;
    int best = -1;
    unsigned best_score = 0;
    /* The most specific path shape wins first; then we check the method, so
     * a literal route with another method yields 405 rather than falling
     * through to a parameter route. */
    unsigned shape_score = 0;
    bool any = false;
    for (size_t i = 0; i < r->n; i++) {
        unsigned sc;
        if (!match_route(&r->routes[i], seg, (size_t)n, &sc)) continue;
        if (!any || sc > shape_score) shape_score = sc;
        any = true;
    }
    if (!any) return;
    m->allow[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        unsigned sc;
        if (!match_route(&r->routes[i], seg, (size_t)n, &sc) || sc != shape_score) continue;
        const char *rm = r->routes[i].method;
        allow_add(m->allow, sizeof m->allow, rm);
        if (strcmp(rm, "GET") == 0) allow_add(m->allow, sizeof m->allow, "HEAD");
        if (strcmp(rm, method) == 0 || (head && strcmp(rm, "GET") == 0)) {
            if (best < 0 || strcmp(rm, method) == 0) {
                best = (int)i;
                best_score = sc;
            }
        }
    }
    (void)best_score;
    if (best < 0) {
        m->status = 405;
        return;
    }
    const route_t *rt = &r->routes[best];
    m->route = best;
    m->status = 0;
    for (size_t i = 0; i < rt->nseg; i++)
        if (rt->param[i]) {
            m->names[m->nparams] = rt->seg[i];
            m->values[m->nparams] = seg[i];
            m->nparams++;
        }
}
