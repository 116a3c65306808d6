/*
 * platform.c — signing with the platform key for other modules
 * (platform.h).
 */
#include "delivery/platform.h"

#include "delivery/internal.h"
#include "jose/jws.h"

int aw_delivery_platform_sign(aw_delivery_t *d, const char *typ, const void *payload, size_t len,
                              aw_buf_t *out, aw_err_t *err) {
    int rc = dl_platform_key(d, err);
    if (rc != 0) return rc;
    return aw_jws_sign(atomic_load(&d->platform_key), typ, payload, len, out, err);
}
