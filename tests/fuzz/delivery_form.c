/* Fuzz target: the application/x-www-form-urlencoded parser of POST /token.
 * Invariants: never reads past len, output always NUL-terminated within cap,
 * a found value never contains NUL. */
#include <stdint.h>
#include <string.h>

#include "delivery/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *names[] = {"grant_type", "client_id", "client_secret", "a", ""};
    char out[64];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        memset(out, 'Z', sizeof out);
        int rc = dl_form_get((const char *)data, size, names[i], out, sizeof out);
        if (rc == 1 && strnlen(out, sizeof out) == sizeof out) __builtin_trap();
    }
    return 0;
}
