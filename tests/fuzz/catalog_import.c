/* Fuzz target: the catalogue importers (XZuFi XML, responsibilities CSV,
 * municipalities TSV) on arbitrary bytes, against a SQLite store seeded
 * with a few areas, services and authorities; every import is rolled
 * back. The first byte picks the importer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "catalog/catalog.h"
#include "catalog/import.h"
#include "store/store.h"

static aw_store_t *st;

static const char AREAS[] =
    "ars_short\tname\tlevel\tags\n01\tSH\tland\t\n01051\tDithmarschen\tkreis\t\n"
    "010510044044\tHeide\tgemeinde\t01051044\n";
static const char SERVICES[] = "leika_key\tname\n99102013104000\tHundesteuer Anmeldung\n";

static void setup(void) {
    aw_log_set_level(AW_LOG_OFF);
    char db[256];
    snprintf(db, sizeof db, "/tmp/aw-fuzz-catalog-%d.db", (int)getpid());
    unlink(db);
    aw_err_t err = {0};
    if (aw_store_open(db, NULL, &st, &err) || aw_store_migrate(st, NULL, &err)) abort();
    aw_tx_t *tx;
    if (aw_store_begin(st, AW_TX_WRITE, &tx, &err)) abort();
    if (aw_cat_import(tx, AW_CAT_IMPORT_MUNICIPALITIES, AREAS, strlen(AREAS), "a", "f", NULL,
                      &err) ||
        aw_cat_import(tx, AW_CAT_IMPORT_SERVICES, SERVICES, strlen(SERVICES), "s", "f", NULL, &err))
        abort();
    json_t *a = json_pack("{ss ss ss}", "slug", "kreis", "name", "Kreis", "xzufiId", "OE-1");
    if (aw_cat_authority_put(tx, NULL, a, "f", NULL, &err)) abort();
    json_decref(a);
    if (aw_store_commit(tx, &err)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!st) setup();
    if (size == 0) return 0;
    static const aw_cat_import_kind_t kinds[] = {
        AW_CAT_IMPORT_XZUFI, AW_CAT_IMPORT_RESPONSIBILITIES, AW_CAT_IMPORT_MUNICIPALITIES};
    aw_cat_import_kind_t kind = kinds[data[0] % 3];
    aw_err_t err = {0};
    aw_tx_t *tx;
    if (aw_store_begin(st, AW_TX_WRITE, &tx, &err)) abort();
    aw_cat_import(tx, kind, (const char *)data + 1, size - 1, "fuzz", "fuzz", NULL, &err);
    aw_store_rollback(tx);
    return 0;
}
