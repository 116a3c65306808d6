/*
 * catalog bench — figures for the catalogue (never pass/fail), SQLite in
 * $TMPDIR (or /tmp), demo data from ./data (or AMTSWEG_DATA_DIR):
 *   import of all municipalities and postal codes (rows/s),
 *   jurisdiction lookups (aw_cat_route_find) over every Gemeinde, one
 *     read transaction each (lookups/s),
 *   area search by name prefix and by postal code (searches/s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "catalog/catalog.h"
#include "catalog/demo.h"
#include "catalog/import.h"
#include "store/sql.h"
#include "store/store.h"

#define RUN_US 1000000

static void die(const char *what, const aw_err_t *err) {
    fprintf(stderr, "catalog bench: %s: %s\n", what, err->msg);
    exit(1);
}

int main(void) {
    aw_log_set_level(AW_LOG_WARN);
    const char *data = getenv("AMTSWEG_DATA_DIR") ? getenv("AMTSWEG_DATA_DIR") : "data";
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char db[1024];
    snprintf(db, sizeof db, "%s/aw-catalog-bench-%d.db", tmp, (int)getpid());
    aw_err_t err = {0};
    aw_store_t *st;
    if (aw_store_open(db, NULL, &st, &err) || aw_store_migrate(st, NULL, &err)) die("open", &err);
    printf("catalog (SQLite, %s)\n", data);

    int64_t t0 = aw_time_mono_us();
    if (aw_catalog_demo_load(st, data, &err) != 0) die("demo load", &err);
    double s = (double)(aw_time_mono_us() - t0) / 1e6;
    aw_tx_t *tx;
    if (aw_store_begin(st, AW_TX_READ, &tx, &err) != 0) die("begin", &err);
    int64_t areas = aw_cat_area_count(tx, &err);
    /* every Gemeinde's ARS, for the lookups */
    aw_sql_t *q;
    if (aw_sql_query(tx, "SELECT ars FROM areas WHERE level = 'gemeinde' ORDER BY ars", &q, &err,
                     ""))
        die("query", &err);
    char(*gem)[13] = calloc(20000, sizeof *gem);
    size_t ng = 0;
    while (aw_sql_step(q, &err) == 1 && ng < 20000)
        snprintf(gem[ng++], 13, "%s", aw_sql_col_text(q, 0));
    aw_sql_done(q);
    aw_store_rollback(tx);
    printf("  demo load (areas, PLZ, services, authorities): %lld areas + 12883 PLZ in %.2f s"
           " (%.0f rows/s)\n",
           (long long)areas, s, (double)(areas + 12883) / s);

    const char *keys[] = {"99102013104000", "99036008007000", "99115005104000"};
    size_t n = 0, found = 0;
    t0 = aw_time_mono_us();
    while (aw_time_mono_us() - t0 < RUN_US) {
        aw_cat_route_t r;
        if (aw_store_begin(st, AW_TX_READ, &tx, &err) != 0) die("begin", &err);
        if (aw_cat_route_find(tx, keys[n % 3], gem[n % ng], &r, &err) != 0) die("route", &err);
        aw_store_rollback(tx);
        found += r.found;
        n++;
    }
    s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  jurisdiction lookups:     %8.0f /s (1 read tx each; %zu of %zu had an authority)\n",
           (double)n / s, found, n);

    const char *exprs[] = {"Ber", "Hei*", "*dorf", "Bad*heim", "Mün"};
    n = 0;
    t0 = aw_time_mono_us();
    while (aw_time_mono_us() - t0 < RUN_US) {
        json_t *res;
        if (aw_store_begin(st, AW_TX_READ, &tx, &err) != 0) die("begin", &err);
        if (aw_cat_area_search(tx, exprs[n % 5], 0, 20, &res, &err) != 0) die("search", &err);
        aw_store_rollback(tx);
        json_decref(res);
        n++;
    }
    s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  area search by name:      %8.0f /s (prefixes use the index, \"*...\" scans %lld "
           "names)\n",
           (double)n / s, (long long)areas);

    const char *plz[] = {"25746", "50667", "10115", "80331", "24937"};
    n = 0;
    t0 = aw_time_mono_us();
    while (aw_time_mono_us() - t0 < RUN_US) {
        json_t *res;
        if (aw_store_begin(st, AW_TX_READ, &tx, &err) != 0) die("begin", &err);
        if (aw_cat_area_search(tx, plz[n % 5], 0, 20, &res, &err) != 0) die("search", &err);
        aw_store_rollback(tx);
        json_decref(res);
        n++;
    }
    s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  area search by PLZ:       %8.0f /s (indexed)\n", (double)n / s);
    free(gem);
    aw_store_close(st);
    char p[1100];
    unlink(db);
    snprintf(p, sizeof p, "%s-wal", db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db);
    unlink(p);
    return 0;
}
