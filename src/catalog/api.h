/*
 * api — the catalogue's HTTP face:
 *  - public, FIT-Connect-compatible routing: GET /v1/routes, GET /v1/areas
 *    (rate limited per client address with 429 and RateLimit-* headers),
 *    GET /v1/catalog/services/{leikaKey}[?ars=] (a service as the
 *    responsible authority offers it), GET /v1/services?q=[&ars=] (finder
 *    ranking joined with jurisdiction, when a finder is attached);
 *  - the admin API under /admin/v1/ (operator token, problem+json):
 *    services, areas, authorities, their per-service parameters,
 *    responsibilities, imports and the audit log.
 * docs/catalog.md and docs/openapi.yaml describe every path.
 *
 * destinationSignature is a compact JWS (PS512, typ JWT) by the platform
 * key (the delivery module's, published at /.well-known/jwks.json) over {iss, iat, destinationId,
 * submissionHost, services: [{gebietIDs, leistungIDs}]}; signatures are cached per (service, ARS
 * prefix, destination) for an hour.
 */
#ifndef AW_CATALOG_API_H
#define AW_CATALOG_API_H

#include <stdbool.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/auth.h"
#include "http/http.h"
#include "store/store.h"

/* Signs payload with the platform key (compact JWS appended to out). */
typedef int (*aw_catalog_sign_fn)(void *ctx, const char *typ, const void *payload, size_t len,
                                  aw_buf_t *out, aw_err_t *err);

typedef struct aw_catalog_config {
    const char *public_url;  /* issuer and submissionHost of signatures */
    aw_catalog_sign_fn sign; /* NULL: routes carry no destinationSignature */
    void *sign_ctx;
    unsigned rate_limit;    /* requests per window and client; 0: off */
    unsigned rate_window_s; /* 0: 60 */
    const char *data_dir;   /* for the demo data */
    bool demo;              /* load the demo catalogue into an empty store */
    const char *assist_url; /* optional AI endpoint (assist.h); NULL: off */
    const char *assist_model;
    unsigned assist_timeout_ms;
} aw_catalog_config_t;

typedef struct aw_catalog aw_catalog_t;

/* Registers the routes (before the server starts) and, with demo set,
 * loads the demo catalogue into an empty store. Everything given must
 * outlive the catalogue. */
int aw_catalog_register(const aw_catalog_config_t *cfg, aw_http_server_t *srv, aw_store_t *st,
                        const aw_auth_t *auth, aw_catalog_t **out, aw_err_t *err);
/* Builds the finder from the stored services (GET /v1/services) once the
 * finder module is present; a no-op otherwise. */
int aw_catalog_start(aw_catalog_t *c, aw_err_t *err);
void aw_catalog_free(aw_catalog_t *c);

#endif
