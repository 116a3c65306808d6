/*
 * catalog — the catalogue model in the store: services (LeiKa), areas (ARS
 * hierarchy with AGS and postal codes), authorities (the store's tenants,
 * extended with a profile), per-service parameters of an authority (the EfA
 * "parameterisation") and responsibilities (service, ARS prefix) →
 * authority + destination. Every change made through these calls writes
 * one row to the append-only audit table (who, when, what) in the same
 * transaction, so a change and its audit entry commit together or not at
 * all.
 *
 * Records travel as jansson objects with the field names of the admin API
 * (docs/catalog.md): inputs are borrowed and validated field by field
 * (errors name the field), outputs are new references owned by the caller.
 * All calls take an aw_tx_t * so callers decide what commits together.
 *
 * Jurisdiction (aw_cat_route_find): among the responsibilities for a service
 * whose ARS prefix is a prefix of the area's ARS, the longest wins (a
 * Kreis-level entry covers its Gemeinden unless one has its own). Two
 * different authorities at the same, longest prefix are a tie and an error
 * (AW_ECONFLICT naming both); an area that is not in the catalogue is
 * AW_ENOTFOUND. Prefixes have the natural ARS lengths 2, 3, 5, 9 or 12.
 */
#ifndef AW_CATALOG_CATALOG_H
#define AW_CATALOG_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/uuid.h"
#include "store/store.h"

#define AW_CAT_LIST_MAX    500 /* rows per list call */
#define AW_CAT_TEXT_MAX    (32 * 1024)
#define AW_CAT_NAME_MAX    512
#define AW_CAT_DEST_ID_MAX 128

/* Validators shared by the importers and the APIs. */
bool aw_cat_valid_leika(const char *s);   /* ^99\d{12}$ */
bool aw_cat_valid_ars(const char *s);     /* 2, 3, 5, 9 or 12 digits */
bool aw_cat_valid_ags(const char *s);     /* 8 digits */
bool aw_cat_valid_plz(const char *s);     /* 5 digits */
bool aw_cat_valid_dest_id(const char *s); /* 1..128 of [A-Za-z0-9._:-] */
/* Name folding for area search: ASCII lowercase, Ä/Ö/Ü → ä/ö/ü. Writes at
 * most n-1 bytes into out. */
void aw_cat_fold(const char *s, char *out, size_t n);

/* ---- audit ---------------------------------------------------------------- */

/* Appends one audit row. actor: who ("operator", "cli:alice", "import");
 * action: create | update | delete | import; detail may be NULL (borrowed). */
int aw_cat_audit(aw_tx_t *tx, const char *actor, const char *action, const char *object_type,
                 const char *object_id, json_t *detail, aw_err_t *err);
/* {"total": n, "entries": [{id, at, actor, action, objectType, objectId,
 * detail}]} newest first. */
int aw_cat_audit_list(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err);
/* Rows in the audit log (< 0: an error). Every change of the catalogue
 * writes one in its own transaction, and the log is append-only, so the
 * count grows with every committed change: nodes compare it to see whether
 * their finder index is stale. */
int64_t aw_cat_audit_count(aw_tx_t *tx, aw_err_t *err);

/* ---- services ------------------------------------------------------------- */

/* Fields: leikaKey (required), name (required), shortText, longText,
 * documents, fees, legalBasis, processingTime, keywords (strings; documents
 * and keywords may also be arrays of strings, stored joined by "; "),
 * onlineService {schemaId, schemaVersion, overlay}, xzufiId.
 * *created (may be NULL) tells whether it was new. */
int aw_cat_service_put(aw_tx_t *tx, json_t *in, const char *actor, bool *created, aw_err_t *err);
int aw_cat_service_get(aw_tx_t *tx, const char *leika, json_t **out, aw_err_t *err);
/* {"total", "services": [...]} ordered by key. */
int aw_cat_service_list(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err);
int aw_cat_service_delete(aw_tx_t *tx, const char *leika, const char *actor, aw_err_t *err);
/* The service as an authority offers it: the defaults overridden by the
 * authority's parameters (name, shortText, longText, fees, processingTime,
 * paymentAccount, destinationId), plus "authority" {id, slug, name}.
 * tenant NULL: the defaults. */
int aw_cat_service_for(aw_tx_t *tx, const char *leika, const char *tenant, json_t **out,
                       aw_err_t *err);

/* ---- areas ---------------------------------------------------------------- */

/* Fields: id (the ARS at natural length, required), name (required), level
 * (land, regierungsbezirk, kreis, gemeindeverband, gemeinde; required and
 * consistent with the ARS length), type, ags (8 digits, gemeinde only),
 * plzSeat, postalCodes (array of 5-digit codes; replaces the AGS's list).
 * actor NULL: no audit row (bulk importers write one summary row). */
int aw_cat_area_put(aw_tx_t *tx, json_t *in, const char *actor, aw_err_t *err);
/* With "postalCodes" when the area has an AGS. */
int aw_cat_area_get(aw_tx_t *tx, const char *ars, json_t **out, aw_err_t *err);
/* Adds a postal code of a Gemeinde (by AGS); idempotent. */
int aw_cat_plz_add(aw_tx_t *tx, const char *plz, const char *ags, aw_err_t *err);

typedef enum { AW_CAT_AREA_BY_ARS = 1, AW_CAT_AREA_BY_AGS, AW_CAT_AREA_BY_ID } aw_cat_area_key_t;
/* Resolves an area parameter to the area's ARS (natural length) in
 * ars[13]. AW_EINVAL for a malformed value, AW_ENOTFOUND for an area not in
 * the catalogue. */
int aw_cat_area_resolve(aw_tx_t *tx, aw_cat_area_key_t kind, const char *value, char ars[13],
                        aw_err_t *err);
/* Search as FIT-Connect's areaSearchexpression: five digits → areas with
 * that postal code; otherwise a name prefix, where `*` matches any text
 * (e.g. "Leip*", "*dorf", "Bad*heim"). Case- and umlaut-insensitive.
 * {"total", "areas": [{id, name, type, level}]}. */
int aw_cat_area_search(aw_tx_t *tx, const char *expr, size_t offset, size_t limit, json_t **out,
                       aw_err_t *err);
int64_t aw_cat_area_count(aw_tx_t *tx, aw_err_t *err);

/* ---- authorities (tenants) ------------------------------------------------- */

/* Fields: slug, name (required), address {street, postalCode, city},
 * contacts {phone, email, fax, web}, openingHours, privacyUrl, imprintUrl,
 * logoUrl, colour (#rrggbb), destinationId (default destination),
 * paymentAccount, xzufiId. id NULL or "": create (the new id is in out's
 * "id"); else update that authority (AW_ENOTFOUND when absent).
 * *out (may be NULL) receives the stored record. */
int aw_cat_authority_put(aw_tx_t *tx, const char *id, json_t *in, const char *actor, json_t **out,
                         aw_err_t *err);
/* By id or slug. */
int aw_cat_authority_get(aw_tx_t *tx, const char *id_or_slug, json_t **out, aw_err_t *err);
int aw_cat_authority_list(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err);
int aw_cat_authority_delete(aw_tx_t *tx, const char *id_or_slug, const char *actor, aw_err_t *err);
/* The tenant id (UUID) of an authority given by id, slug or XZuFi id. */
int aw_cat_authority_id(aw_tx_t *tx, const char *ref, char id[AW_UUID_STRLEN + 1], aw_err_t *err);

/* ---- per-service parameters (EfA) ---------------------------------------- */

/* Fields: name, shortText, longText, fees, processingTime, paymentAccount,
 * destinationId (all optional; absent = the service's default). */
int aw_cat_params_put(aw_tx_t *tx, const char *tenant, const char *leika, json_t *in,
                      const char *actor, aw_err_t *err);
int aw_cat_params_get(aw_tx_t *tx, const char *tenant, const char *leika, json_t **out,
                      aw_err_t *err);
int aw_cat_params_delete(aw_tx_t *tx, const char *tenant, const char *leika, const char *actor,
                         aw_err_t *err);

/* ---- responsibilities ------------------------------------------------------ */

/* Adds (service, ARS prefix) → authority [+ destination overriding the
 * authority's]. The service, area and authority must exist; the same
 * triple twice → AW_ECONFLICT. *id (may be NULL) gets the new row id. */
int aw_cat_resp_add(aw_tx_t *tx, const char *leika, const char *ars, const char *authority,
                    const char *destination_id, const char *actor, int64_t *id, aw_err_t *err);
int aw_cat_resp_delete(aw_tx_t *tx, int64_t id, const char *actor, aw_err_t *err);
/* leika NULL: all. {"total", "responsibilities": [{id, leikaKey, ars,
 * authority, authorityName, destinationId}]}. */
int aw_cat_resp_list(aw_tx_t *tx, const char *leika, size_t offset, size_t limit, json_t **out,
                     aw_err_t *err);

/* ---- jurisdiction --------------------------------------------------------- */

typedef struct aw_cat_route {
    bool found;                                  /* false: nobody is responsible */
    char prefix[13];                             /* the winning ARS prefix */
    char tenant_id[AW_UUID_STRLEN + 1];          /* the authority */
    char destination_id[AW_CAT_DEST_ID_MAX + 1]; /* "" when none is configured */
} aw_cat_route_t;

/* See the header comment. ars: an area's ARS (any natural length).
 * Unknown service or area → AW_ENOTFOUND; a tie → AW_ECONFLICT. */
int aw_cat_route_find(aw_tx_t *tx, const char *leika, const char *ars, aw_cat_route_t *out,
                      aw_err_t *err);

#endif
