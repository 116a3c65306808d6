/* libFuzzer: the strict JSON body parser, differentially against jansson's
 * json_loadb (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY): both accept the
 * same inputs and build equal values; deeper than AW_JSON_MAX_DEPTH is
 * refused with AW_ETOOBIG. A difference aborts. One deliberate difference:
 * a NUL byte anywhere is refused here, while json_loadb accepts "2\0 " (a
 * NUL after a number at the end ends its input). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/json.h"

static int depth_of(const json_t *v) {
    int d = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            int e = depth_of(x);
            if (e > d) d = e;
        }
        return d + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int e = depth_of(x);
            if (e > d) d = e;
        }
        return d + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    aw_json_error_t je;
    aw_err_t err = {0};
    json_t *v = aw_json_parse_strict((const char *)data, size, 0, &je, &err);
    if (memchr(data, 0, size)) {
        if (v) abort();
        return 0;
    }
    json_error_t e;
    json_t *ref =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (ref && depth_of(ref) > AW_JSON_MAX_DEPTH) {
        if (v || err.code != AW_ETOOBIG) abort();
    } else if (ref) {
        if (!v) {
            fprintf(stderr, "refused what jansson accepts: %s\n", err.msg);
            abort();
        }
        if (!json_equal(v, ref)) abort();
    } else if (v) {
        fprintf(stderr, "accepted what jansson refuses: %s\n", e.text);
        abort();
    }
    json_decref(v);
    json_decref(ref);
    return 0;
}
