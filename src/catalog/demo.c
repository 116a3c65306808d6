/*
 * demo.c — loads the demo catalogue into an empty store (demo.h).
 */
#include "catalog/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/log.h"
#include "catalog/catalog.h"
#include "catalog/import.h"
#include "store/sql.h"

static int import_file(aw_tx_t *tx, aw_cat_import_kind_t kind, const char *path, bool optional,
                       aw_err_t *err) {
    if (optional && access(path, R_OK) != 0) {
        aw_log_warn("catalog.demo.missing", "file=%s", path);
        return 0;
    }
    char *data;
    size_t len;
    int rc = aw_cat_read_file(path, &data, &len, err);
    if (rc != 0) return rc;
    aw_cat_import_stats_t st;
    rc = aw_cat_import(tx, kind, data, len, path, "demo", &st, err);
    free(data);
    if (rc == 0)
        aw_log_info("catalog.demo.import", "kind=%s rows=%zu", aw_cat_import_kind_name(kind),
                    st.rows);
    return rc;
}

int aw_catalog_demo_load(aw_store_t *st, const char *data_dir, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_WRITE | AW_TX_BULK, &tx, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx, "SELECT (SELECT count(*) FROM services) + (SELECT count(*) FROM areas)",
                      &s, err, "");
    int64_t n = 0;
    if (rc == 0) {
        rc = aw_sql_step(s, err);
        n = rc == 1 ? aw_sql_col_int64(s, 0) : 0;
        aw_sql_done(s);
        rc = rc < 0 ? rc : 0;
    }
    if (rc != 0 || n > 0) {
        aw_store_rollback(tx);
        if (n > 0) aw_log_info("catalog.demo.skip", "reason=catalogue_not_empty");
        return rc;
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/catalog/municipalities.tsv", data_dir);
    rc = import_file(tx, AW_CAT_IMPORT_MUNICIPALITIES, p, false, err);
    if (rc == 0) {
        snprintf(p, sizeof p, "%s/catalog/plz.tsv", data_dir);
        rc = import_file(tx, AW_CAT_IMPORT_PLZ, p, true, err);
    }
    snprintf(p, sizeof p, "%s/demo/services.tsv", data_dir);
    bool have_services = access(p, R_OK) == 0;
    if (rc == 0) rc = import_file(tx, AW_CAT_IMPORT_SERVICES, p, true, err);
    if (rc == 0 && have_services) {
        snprintf(p, sizeof p, "%s/demo/authorities.json", data_dir);
        rc = import_file(tx, AW_CAT_IMPORT_AUTHORITIES, p, true, err);
    }
    if (rc == 0 && have_services) {
        snprintf(p, sizeof p, "%s/demo/responsibilities.tsv", data_dir);
        rc = import_file(tx, AW_CAT_IMPORT_RESPONSIBILITIES, p, true, err);
    }
    if (rc != 0) {
        aw_store_rollback(tx);
        aw_err_prefix(err, "demo catalogue");
        return rc;
    }
    return aw_store_commit(tx, err);
}
