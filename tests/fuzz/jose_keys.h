/* Loads the committed TEST-ONLY keys for the jose fuzz targets. make fuzz
 * runs from the repository root; AMTSWEG_SRC overrides. */
#ifndef AW_FUZZ_JOSE_KEYS_H
#define AW_FUZZ_JOSE_KEYS_H

#include <stdio.h>
#include <stdlib.h>

#include "jose/jwk.h"

static aw_jwk_t *fuzz_key(const char *rel) {
    const char *root = getenv("AMTSWEG_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/%s", root ? root : ".", rel);
    aw_err_t err;
    aw_jwk_t *k = NULL;
    if (aw_jwk_load_file(path, &k, &err) != 0) {
        fprintf(stderr, "fuzz: %s (run from the repository root)\n", err.msg);
        abort();
    }
    return k;
}

#endif
