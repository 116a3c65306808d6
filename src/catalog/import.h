/*
 * import — bulk loading of catalogue data into the store:
 *  - municipalities (Destatis GV-ISys derived TSV: ars, ars_short, ags,
 *    name, level, type, ..., plz_verwaltungssitz),
 *  - postal codes (OSM derived TSV: plz, ags, ...),
 *  - services (TSV with a header: leika_key, name, keywords, short, long,
 *    documents, fees, legal_basis, processing_time [, schema_id,
 *    schema_version, overlay]),
 *  - responsibilities (CSV or TSV with a header: leika_key, ars,
 *    authority [, destination_id]; separator detected from the header),
 *  - XZuFi 2.2 (leistung, organisationseinheit with zustaendigkeit,
 *    onlinedienst; docs/catalog.md lists the elements read),
 *  - authorities (JSON array of admin-API authority objects, each with an
 *    optional "services": {leikaKey: parameters} for the EfA parameters;
 *    an authority whose slug exists is updated).
 *
 * Every importer works inside the caller's transaction: either the whole
 * file is applied or (on the first error, which names the line) nothing,
 * once the caller rolls back. Each import writes one summary row to the
 * audit table (actor, kind, source, counts). Inputs are bounded
 * (AW_CAT_IMPORT_MAX bytes, lines of 64 KiB); XML is parsed with libxml2
 * without network access, entity expansion or DTDs.
 */
#ifndef AW_CATALOG_IMPORT_H
#define AW_CATALOG_IMPORT_H

#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

#define AW_CAT_IMPORT_MAX (64u * 1024 * 1024)

typedef enum {
    AW_CAT_IMPORT_MUNICIPALITIES = 1,
    AW_CAT_IMPORT_PLZ,
    AW_CAT_IMPORT_SERVICES,
    AW_CAT_IMPORT_RESPONSIBILITIES,
    AW_CAT_IMPORT_XZUFI,
    AW_CAT_IMPORT_AUTHORITIES,
} aw_cat_import_kind_t;

typedef struct aw_cat_import_stats {
    size_t rows; /* data rows or XML records read */
    size_t areas, postal_codes, services, authorities, responsibilities, online_services;
    size_t skipped_elements; /* XZuFi: unknown elements skipped (with their subtrees) */
} aw_cat_import_stats_t;

/* "municipalities", "plz", "services", "responsibilities", "xzufi",
 * "authorities" → kind;
 * 0 when unknown. */
aw_cat_import_kind_t aw_cat_import_kind(const char *name);
const char *aw_cat_import_kind_name(aw_cat_import_kind_t kind);

/* Imports len bytes of data. source names the input in errors and in the
 * audit row (a file name); actor is who imports. stats may be NULL. */
int aw_cat_import(aw_tx_t *tx, aw_cat_import_kind_t kind, const char *data, size_t len,
                  const char *source, const char *actor, aw_cat_import_stats_t *stats,
                  aw_err_t *err);

/* Reads a whole file (at most AW_CAT_IMPORT_MAX bytes); *out is malloc'ed
 * and NUL-terminated. */
int aw_cat_read_file(const char *path, char **out, size_t *len, aw_err_t *err);

#endif
