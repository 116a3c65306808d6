/* Fuzz target: the receiver's check of a FIT-Connect callback
 * (aw_callback_verify): the callback-timestamp and callback-authentication
 * headers and the body as a sender could send them. The input is split at
 * the first two newlines into timestamp, authentication and body.
 * Invariants: no crash or read past the headers' NULs; an accepted callback
 * is one whose authentication is the HMAC the secret gives (any case) and
 * whose timestamp is within the 300 s window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery/callback.h"

#define SECRET "callback-secret-0123456789abcdef0123"
#define NOW    1764288000 /* 2025-11-28T00:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    const char *nl1 = memchr(p, '\n', size);
    if (!nl1) return 0;
    const char *nl2 = memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1));
    if (!nl2) return 0;
    char *ts = strndup(p, (size_t)(nl1 - p)), *auth = strndup(nl1 + 1, (size_t)(nl2 - nl1 - 1));
    size_t blen = (size_t)(end - nl2 - 1);
    char *body = malloc(blen + 1);
    if (ts && auth && body) {
        memcpy(body, nl2 + 1, blen);
        aw_err_t err;
        if (aw_callback_verify(SECRET, ts, auth, body, blen, NOW, &err) == 0) {
            long long t = atoll(ts);
            char want[AW_CALLBACK_HMAC_HEX + 1];
            if (t < NOW - AW_CALLBACK_MAX_AGE_S || t > NOW + AW_CALLBACK_MAX_AGE_S ||
                aw_callback_sign(SECRET, t, body, blen, want, &err) != 0 ||
                strlen(auth) != AW_CALLBACK_HMAC_HEX || strcasecmp(auth, want) != 0)
                __builtin_trap();
        }
    }
    free(ts);
    free(auth);
    free(body);
    return 0;
}
