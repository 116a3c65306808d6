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

/* authorities.json: [{slug, name, ..., "services": {leika: {params}}}] */
static int load_authorities(aw_tx_t *tx, const char *path, aw_err_t *err) {
    if (access(path, R_OK) != 0) {
        aw_log_warn("catalog.demo.missing", "file=%s", path);
        return 0;
    }
    json_error_t je;
    json_t *list = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!list) return aw_err_set(err, AW_EINVAL, "%s:%d: %s", path, je.line, je.text);
    if (!json_is_array(list)) {
        json_decref(list);
        return aw_err_set(err, AW_EINVAL, "%s: must be a JSON array of authorities", path);
    }
    size_t i;
    json_t *a;
    int rc = 0;
    json_array_foreach(list, i, a) {
        json_t *params = json_incref(json_object_get(a, "services"));
        json_object_del(a, "services");
        json_t *rec = NULL;
        rc = aw_cat_authority_put(tx, NULL, a, "demo", &rec, err);
        if (rc == 0 && params) {
            const char *id = json_string_value(json_object_get(rec, "id"));
            const char *leika;
            json_t *p;
            json_object_foreach(params, leika, p) {
                rc = aw_cat_params_put(tx, id, leika, p, "demo", err);
                if (rc == AW_ENOTFOUND) { /* service not in this demo catalogue */
                    aw_err_clear(err);
                    rc = 0;
                }
                if (rc != 0) break;
            }
        }
        json_decref(params);
        json_decref(rec);
        if (rc != 0) {
            aw_err_prefix(err, "%s: authority %zu", path, i + 1);
            break;
        }
    }
    json_decref(list);
    return rc;
}

int aw_catalog_demo_load(aw_store_t *st, const char *data_dir, aw_err_t *err) {
    aw_tx_t *tx;
    int rc = aw_store_begin(st, AW_TX_WRITE, &tx, err);
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
    if (rc == 0) {
        snprintf(p, sizeof p, "%s/demo/authorities.json", data_dir);
        rc = load_authorities(tx, p, err);
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
