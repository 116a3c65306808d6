/*
 * internal — declarations shared between the files of src/catalog (not
 * for other modules).
 */
#ifndef AW_CATALOG_INTERNAL_H
#define AW_CATALOG_INTERNAL_H

#include <jansson.h>

#include "catalog/import.h"
#include "store/store.h"

int aw_cat__import_xzufi(aw_tx_t *tx, const char *data, size_t len, const char *source,
                         aw_cat_import_stats_t *st, aw_err_t *err);
json_t *aw_cat__stats_json(const aw_cat_import_stats_t *s);

/* A service for citizens: with ars, as the responsible authority offers
 * it (parameters applied, "authority" set, or null when nobody is
 * responsible); *rc_out gets 0 or the error code. */
json_t *aw_cat__service_view(aw_tx_t *tx, const char *leika, const char *ars, aw_err_t *err,
                             int *rc_out);

#endif
