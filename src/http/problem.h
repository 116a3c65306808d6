/*
 * problem — RFC 9457 problem details (application/problem+json).
 *
 * Every error a client sees from the API is a problem object with `type`
 * (a URI naming the kind of problem), `title` (short, stable for the type),
 * `status`, `detail` (this occurrence, actionable) and optionally `instance`
 * and extension members. amtsweg's own types live under
 * https://amtsweg.de/problems/<slug>; FIT-Connect problem types keep their
 * official URIs (https://schema.fitko.de/fit-connect/submission-api/problems/...).
 */
#ifndef AW_HTTP_PROBLEM_H
#define AW_HTTP_PROBLEM_H

#include <jansson.h>

#define AW_PROBLEM_BASE "https://amtsweg.de/problems/"

/* Builds a problem object (new reference). `type` may be a slug (prefixed
 * with AW_PROBLEM_BASE) or an absolute URI; NULL means "about:blank". */
json_t *aw_problem_new(int status, const char *type, const char *title, const char *detail);

/* Standard title for an HTTP status ("Not Found"); never NULL. */
const char *aw_http_status_text(int status);

#endif
