/*
 * router — maps (method, path) to a route with path parameters.
 *
 * Templates are literal segments and `{name}` segments that match exactly one
 * non-empty path segment: "/v1/submissions/{submissionId}/attachments/{id}".
 * A literal segment wins over a parameter at the same position, so
 * "/v1/submissions/stats" can coexist with "/v1/submissions/{id}".
 * A lookup distinguishes "no such path" (404) from "path exists, method not
 * allowed" (405, with the Allow list). HEAD is answered by GET routes.
 * The router is built once at start-up and then read concurrently without
 * locks. Path parameters are returned as pointers into a caller-provided
 * scratch copy of the path (percent-decoded per segment).
 */
#ifndef AW_HTTP_ROUTER_H
#define AW_HTTP_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define AW_ROUTER_MAX_PARAMS   8
#define AW_ROUTER_MAX_SEGMENTS 16

typedef struct aw_router aw_router_t;

typedef struct aw_route_match {
    int route;       /* index returned by aw_router_add, -1 when none */
    int status;      /* 0 on a match, else 404 or 405 */
    char allow[128]; /* for 405: "GET, HEAD, POST" */
    size_t nparams;
    const char *names[AW_ROUTER_MAX_PARAMS];
    const char *values[AW_ROUTER_MAX_PARAMS];
} aw_route_match_t;

aw_router_t *aw_router_new(void);
void aw_router_free(aw_router_t *r);
/* Returns the route index (>= 0) or AW_EINVAL for a malformed template or a
 * duplicate (method, template). */
int aw_router_add(aw_router_t *r, const char *method, const char *tmpl);
size_t aw_router_count(const aw_router_t *r);
const char *aw_router_template(const aw_router_t *r, int route);
const char *aw_router_method(const aw_router_t *r, int route);
/* Matches path (no query string) against the routes. `scratch` must hold
 * strlen(path)+1 bytes and outlive the use of the parameter values. */
void aw_router_match(const aw_router_t *r, const char *method, const char *path, char *scratch,
                     aw_route_match_t *m);

#endif
