/*
 * json — strict JSON parsing for request bodies, into jansson values.
 *
 * Strict means: duplicate object keys are rejected, invalid UTF-8 (overlong
 * forms, surrogates, beyond U+10FFFF), control characters and NUL (also as
 * \u0000) are rejected, the nesting depth is bounded (the recursion never
 * goes deeper than max_depth, so a deep body cannot exhaust the stack) and
 * exactly one value with only whitespace around it is accepted. On error the
 * message names line and column: "line 3, column 7: duplicate object key".
 * The decoder is ours (json.c says why), the values are jansson's; it
 * accepts what json_loadb accepts with JSON_REJECT_DUPLICATES |
 * JSON_DECODE_ANY (checked by a differential fuzz target), except that a
 * NUL byte is always refused.
 */
#ifndef AW_HTTP_JSON_H
#define AW_HTTP_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

#define AW_JSON_MAX_DEPTH 32

typedef struct aw_json_error {
    int line;   /* 1-based; 0 when unknown */
    int column; /* 1-based, in characters */
    size_t position;
    char text[200];
} aw_json_error_t;

/* Parses len bytes; returns a new reference or NULL with *jerr filled and
 * err set (AW_EINVAL, or AW_ETOOBIG for depth). max_depth 0 = default. */
json_t *aw_json_parse_strict(const char *data, size_t len, int max_depth, aw_json_error_t *jerr,
                             aw_err_t *err);

#endif
