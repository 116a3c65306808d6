/*
 * callback — FIT-Connect callbacks: the sender side (sign and POST through
 * libcurl, run by the outbox worker) and the receiver side (verify), so
 * tests and `amtsweg inbox` check callbacks the same way a subscriber must.
 *
 * Callback-Authentication is the hex HMAC-SHA512 with the callback secret
 * over "<Callback-Timestamp>.<body>"; Callback-Timestamp is seconds since the
 * epoch. The receiver compares in constant time and refuses timestamps more
 * than AW_CALLBACK_MAX_AGE_S away from its clock.
 */
#ifndef AW_DELIVERY_CALLBACK_H
#define AW_DELIVERY_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define AW_CALLBACK_MAX_AGE_S 300
#define AW_CALLBACK_HMAC_HEX  128 /* hex chars of an HMAC-SHA512 */
#define AW_CALLBACK_NEW_SUBMISSIONS \
    "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions"
#define AW_CALLBACK_NEW_EVENTS \
    "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events"

/* hex HMAC-SHA512(secret, "<timestamp>.<body>") into out (NUL-terminated). */
int aw_callback_sign(const char *secret, int64_t timestamp, const void *body, size_t len,
                     char out[AW_CALLBACK_HMAC_HEX + 1], aw_err_t *err);

/* Receiver check: timestamp_hdr must be decimal seconds within
 * AW_CALLBACK_MAX_AGE_S of now_s, auth_hdr the matching hex HMAC (compared
 * in constant time, either case accepted). 0, or AW_ECRYPTO / AW_EINVAL. */
int aw_callback_verify(const char *secret, const char *timestamp_hdr, const char *auth_hdr,
                       const void *body, size_t len, int64_t now_s, aw_err_t *err);

/* True when url may receive callbacks: https://, or http:// to a loopback
 * host (127.0.0.0/8, [::1], localhost) when allow_loopback. */
bool aw_callback_url_ok(const char *url, bool allow_loopback);

/* POSTs body (JSON) to url with both headers; 2xx is success. Follows no
 * redirects; timeout_s bounds the whole exchange. */
int aw_callback_post(const char *url, const char *secret, const char *body, size_t len,
                     bool allow_loopback, int64_t timeout_s, aw_err_t *err);

#endif
