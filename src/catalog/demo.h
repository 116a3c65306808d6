/*
 * demo — the demo catalogue for `amtsweg demo`: areas and postal codes
 * (data/catalog/municipalities.tsv, plz.tsv), services
 * (data/demo/services.tsv), demo authorities with EfA parameters
 * (data/demo/authorities.json) and responsibilities
 * (data/demo/responsibilities.tsv). Loaded in one transaction, only into
 * a catalogue without services and areas, so restarting `demo` never
 * duplicates or overwrites anything an operator changed.
 */
#ifndef AW_CATALOG_DEMO_H
#define AW_CATALOG_DEMO_H

#include "base/err.h"
#include "store/store.h"

/* data_dir: the data directory (holding catalog/ and demo/). Missing
 * optional files are logged and skipped; bad files are errors. */
int aw_catalog_demo_load(aw_store_t *st, const char *data_dir, aw_err_t *err);

#endif
