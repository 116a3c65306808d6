/*
 * platform — the platform's PS512 signing key for modules beyond delivery.
 *
 * The delivery engine owns the key (file or store, generated on first use)
 * and publishes it at /.well-known/jwks.json. The catalogue's routing API
 * signs destinationSignature with the same key through this one call, so a
 * client verifies routes and event-log SETs with the same JWKS and there is
 * exactly one platform key to rotate.
 */
#ifndef AW_DELIVERY_PLATFORM_H
#define AW_DELIVERY_PLATFORM_H

#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"
#include "delivery/delivery.h"

/* Compact JWS (PS512, typ as given, the key's kid) over payload, appended
 * to out. Loads or creates the key on first use (seconds: RSA-4096).
 * Thread-safe. */
int aw_delivery_platform_sign(aw_delivery_t *d, const char *typ, const void *payload, size_t len,
                              aw_buf_t *out, aw_err_t *err);

#endif
