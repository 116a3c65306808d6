/*
 * service — a delivery service on the store fixture's database for unit
 * tests: defaults, the TEST-ONLY platform key b (copied, mode 0600) and a
 * var dir in the test's tmpdir.
 */
#ifndef AW_TEST_DELIVERY_SERVICE_H
#define AW_TEST_DELIVERY_SERVICE_H

#include <stdlib.h>
#include <string.h>

#include "../store/fixture.h"
#include "delivery/delivery.h"
#include "delivery/internal.h"

/* attachment_store may be NULL (the engine's default). */
static inline aw_delivery_t *dl_test_service(store_fixture_t *f, aw_delivery_config_t *cfg,
                                             const char *attachment_store) {
    char pk[700], var[700];
    snprintf(pk, sizeof pk, "%s/pk.jwk", aw_test_tmpdir());
    snprintf(var, sizeof var, "%s/var", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("cp %s/tests/data/jose/b/sig.private.jwk %s && chmod 600 %s",
                         aw_test_srcdir(), pk, pk),
              0);
    aw_delivery_config_defaults(cfg);
    cfg->var_dir = strdup(var);
    cfg->platform_key_file = strdup(pk);
    cfg->attachment_store = attachment_store;
    aw_delivery_t *d;
    aw_err_t err;
    ASSERT_OK(aw_delivery_new(cfg, f->st, NULL, &d, &err), &err);
    return d;
}

static inline void dl_test_service_free(aw_delivery_t *d, aw_delivery_config_t *cfg) {
    aw_delivery_free(d);
    free((char *)cfg->var_dir);
    free((char *)cfg->platform_key_file);
}

/* An active destination with the TEST-ONLY keys a offering LeiKa
 * 99123456789012 in region 09; its id into dest (40 bytes). */
static inline void dl_test_dest(store_fixture_t *f, char *dest) {
    char p1[700], p2[700];
    snprintf(p1, sizeof p1, "%s/tests/data/jose/a/enc.public.jwk", aw_test_srcdir());
    snprintf(p2, sizeof p2, "%s/tests/data/jose/a/sig.public.jwk", aw_test_srcdir());
    json_t *doc =
        json_pack("{s:o,s:o,s:[{s:s,s:[s],s:[{s:s,s:s}]}]}", "encryptionPublicKey",
                  json_load_file(p1, 0, NULL), "signingPublicKey", json_load_file(p2, 0, NULL),
                  "services", "identifier", "99123456789012", "regions", "09", "submissionSchemas",
                  "schemaUri", "urn:x:y", "mimeType", "application/json");
    aw_tx_t *tx;
    aw_err_t err;
    ASSERT_OK(aw_store_begin(f->st, AW_TX_WRITE, &tx, &err), &err);
    dest[0] = 0;
    ASSERT_OK(dl_dest_put(tx, doc, dest, false, NULL, &err), &err);
    ASSERT_OK(aw_store_commit(tx, &err), &err);
    json_decref(doc);
}

#endif
