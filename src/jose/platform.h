/*
 * platform — the platform's own signing key: one PS512 RSA-4096 key pair
 * per installation that signs what amtsweg vouches for (the routing API's
 * destinationSignature; event SETs of the delivery module may use it too)
 * and whose public half is published at /.well-known/jwks.json.
 *
 * Shared by modules through this process-wide accessor so that the routing
 * API and the delivery engine sign with the same key and the JWKS lists it
 * once. The private key lives in a JWK file (mode 0600); when the file is
 * missing it is generated on first use (several seconds: RSA-4096), which
 * is why deployments and tests pass a prepared file. Several nodes sharing
 * a database must be given the same file.
 */
#ifndef AW_JOSE_PLATFORM_H
#define AW_JOSE_PLATFORM_H

#include <jansson.h>

#include "base/err.h"
#include "jose/jwk.h"

/* Configures the key file. An existing file is loaded now (errors name
 * it); a missing one is generated on first use by aw_platform_key (parent
 * directory must exist; written 0600, never overwritten), so a server
 * starts fast. The first successful call wins; later calls are no-ops.
 * Thread-safe. The file must hold a private RSA key usable for PS512. */
int aw_platform_key_init(const char *path, aw_err_t *err);
/* The private key (borrowed; valid until aw_platform_key_free), created
 * when configured but missing; NULL before init or when creating failed
 * (logged). */
const aw_jwk_t *aw_platform_key(void);
/* {"keys": [public JWK]} as a new reference, or NULL before init. */
json_t *aw_platform_jwks(void);
/* Signs payload (compact JWS, typ as given, kid of the key) into out. */
int aw_platform_sign(const char *typ, const void *payload, size_t len, aw_buf_t *out,
                     aw_err_t *err);
/* Forgets the key (tests, shutdown). */
void aw_platform_key_free(void);

#endif
