/* Shared helpers for the jose unit tests (static inline: no prototypes
 * needed, each test file gets its own copy). */
#ifndef AW_TEST_JOSE_HELPERS_H
#define AW_TEST_JOSE_HELPERS_H

#include <jansson.h>

#include "base/err.h"
#include "jose/jwk.h"
#include "test.h"

/* Loads tests/data/jose/<set>/<name>.jwk (committed TEST-ONLY keys). */
static inline aw_jwk_t *test_key(const char *set, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/%s/%s.jwk", aw_test_srcdir(), set, name);
    aw_err_t err = {0};
    aw_jwk_t *k = NULL;
    int rc = aw_jwk_load_file(path, &k, &err);
    ASSERT_MSG(rc == 0, "cannot load %s: %s", path, err.msg);
    return k;
}

/* Reads a file below /work/shared/specs/jose (via ../shared from the repo). */
static inline char *spec_file(const char *rel, size_t *len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/../shared/specs/jose/%s", aw_test_srcdir(), rel);
    char *s = aw_test_read_file(path, len);
    if (!s) {
        snprintf(path, sizeof path, "/work/shared/specs/jose/%s", rel);
        s = aw_test_read_file(path, len);
    }
    return s;
}

static inline json_t *spec_json(const char *rel) {
    size_t len;
    char *s = spec_file(rel, &len);
    if (!s) TEST_SKIP("spec vectors not available (../shared/specs/jose)");
    json_error_t je;
    json_t *j = json_loadb(s, len, 0, &je);
    free(s);
    ASSERT_MSG(j != NULL, "%s: %s", rel, je.text);
    return j;
}

static inline aw_jwk_t *jwk_from(const json_t *obj) {
    aw_err_t err = {0};
    aw_jwk_t *k = NULL;
    int rc = aw_jwk_from_json(obj, &k, &err);
    ASSERT_MSG(rc == 0, "jwk: %s", err.msg);
    return k;
}

/* Hex string to bytes (malloc'd). */
static inline unsigned char *unhex(const char *h, size_t *n) {
    size_t l = strlen(h);
    unsigned char *b = malloc(l / 2 + 1);
    for (size_t i = 0; i < l / 2; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    *n = l / 2;
    return b;
}

#endif
