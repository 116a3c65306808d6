/*
 * tenant.c — tenants and settings, written once for both engines on sql.h.
 */
#include "store/sql.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

#define LIST_MAX        1000
#define NAME_MAX_BYTES  256
#define SCOPE_MAX_BYTES 128
#define KEY_MAX_BYTES   128
#define VALUE_MAX_BYTES (64 * 1024)

void aw_tenant_clear(aw_tenant_t *t) {
    if (!t) return;
    free(t->slug);
    free(t->name);
    memset(t, 0, sizeof *t);
}

void aw_tenant_list_free(aw_tenant_t *list, size_t n) {
    for (size_t i = 0; i < n; i++) aw_tenant_clear(&list[i]);
    free(list);
}

void aw_setting_list_free(aw_setting_t *list, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(list[i].scope);
        free(list[i].key);
        free(list[i].value);
    }
    free(list);
}

static bool valid_slug(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || s[0] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    return true;
}

/* Printable text of 1..max bytes (no control characters). */
static bool valid_text(const char *s, size_t max) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return false;
    return true;
}

/* ---- tenants ------------------------------------------------------------- */

static int read_tenant(aw_sql_t *s, aw_tenant_t *t, aw_err_t *err) {
    memset(t, 0, sizeof *t);
    const char *id = aw_sql_col_text(s, 0);
    snprintf(t->id, sizeof t->id, "%s", id ? id : "");
    bool oom = false;
    t->slug = aw_sql_col_strdup(s, 1, &oom);
    t->name = aw_sql_col_strdup(s, 2, &oom);
    t->created_at_ms = aw_sql_col_int64(s, 3);
    t->updated_at_ms = aw_sql_col_int64(s, 4);
    if (oom) {
        aw_tenant_clear(t);
        return aw_err_set(err, AW_ENOMEM, "store: out of memory");
    }
    return 0;
}

int aw_store_tenant_put(aw_tx_t *tx, aw_tenant_t *t, aw_err_t *err) {
    if (!valid_slug(t->slug))
        return aw_err_set(err, AW_EINVAL,
                          "tenant slug must be 1-63 characters of a-z, 0-9 and '-', "
                          "not starting with '-'");
    if (!valid_text(t->name, NAME_MAX_BYTES))
        return aw_err_set(err, AW_EINVAL,
                          "tenant name must be 1-%d bytes without control characters",
                          NAME_MAX_BYTES);
    if (t->id[0] == '\0') {
        int rc = aw_uuid_v4(t->id);
        if (rc != 0) return aw_err_set(err, rc, "store: cannot generate a tenant id");
    } else if (!aw_uuid_valid(t->id)) {
        return aw_err_set(err, AW_EINVAL, "tenant id '%.40s' is not a UUID", t->id);
    }
    for (char *p = t->id; *p; p++)
        if (*p >= 'A' && *p <= 'F') *p = (char)(*p - 'A' + 'a');
    int64_t now = aw_time_now_ms();
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "INSERT INTO tenants (id, slug, name, created_at, updated_at)"
                          " VALUES ($1, $2, $3, $4, $4)"
                          " ON CONFLICT (id) DO UPDATE SET slug = excluded.slug,"
                          " name = excluded.name, updated_at = excluded.updated_at"
                          " RETURNING created_at, updated_at",
                          &s, err, "tttI", t->id, t->slug, t->name, now);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        t->created_at_ms = aw_sql_col_int64(s, 0);
        t->updated_at_ms = aw_sql_col_int64(s, 1);
        rc = 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_EINTERNAL, "store: tenant upsert returned no row");
    } else if (rc == AW_ECONFLICT) {
        aw_err_set(err, AW_ECONFLICT, "tenant slug '%s' is already taken", t->slug);
    }
    aw_sql_done(s);
    return rc;
}

static int tenant_get_by(aw_tx_t *tx, const char *sql, const char *what, const char *v,
                         aw_tenant_t *out, aw_err_t *err) {
    memset(out, 0, sizeof *out);
    aw_sql_t *s;
    int rc = aw_sql_query(tx, sql, &s, err, "t", v);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1)
        rc = read_tenant(s, out, err);
    else if (rc == 0)
        rc = aw_err_set(err, AW_ENOTFOUND, "no tenant with %s '%.64s'", what, v);
    aw_sql_done(s);
    return rc;
}

int aw_store_tenant_get(aw_tx_t *tx, const char *id, aw_tenant_t *out, aw_err_t *err) {
    return tenant_get_by(tx,
                         "SELECT id, slug, name, created_at, updated_at FROM tenants"
                         " WHERE id = $1",
                         "id", id ? id : "", out, err);
}

int aw_store_tenant_get_by_slug(aw_tx_t *tx, const char *slug, aw_tenant_t *out, aw_err_t *err) {
    return tenant_get_by(tx,
                         "SELECT id, slug, name, created_at, updated_at FROM tenants"
                         " WHERE slug = $1",
                         "slug", slug ? slug : "", out, err);
}

int aw_store_tenant_list(aw_tx_t *tx, size_t offset, size_t limit, aw_tenant_t **out, size_t *n,
                         aw_err_t *err) {
    *out = NULL;
    *n = 0;
    if (limit == 0 || limit > LIST_MAX) limit = LIST_MAX;
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT id, slug, name, created_at, updated_at FROM tenants"
                          " ORDER BY slug LIMIT $1 OFFSET $2",
                          &s, err, "zz", limit, offset);
    if (rc != 0) return rc;
    aw_tenant_t *list = NULL;
    size_t cnt = 0, cap = 0;
    while ((rc = aw_sql_step(s, err)) == 1) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            aw_tenant_t *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                rc = aw_err_set(err, AW_ENOMEM, "store: out of memory");
                break;
            }
            list = nl;
        }
        rc = read_tenant(s, &list[cnt], err);
        if (rc != 0) break;
        cnt++;
    }
    aw_sql_done(s);
    if (rc < 0) {
        aw_tenant_list_free(list, cnt);
        return rc;
    }
    *out = list;
    *n = cnt;
    return 0;
}

int aw_store_tenant_delete(aw_tx_t *tx, const char *id, aw_err_t *err) {
    if (!id || !aw_uuid_valid(id)) return aw_err_set(err, AW_ENOTFOUND, "no such tenant");
    char scope[AW_UUID_STRLEN + 8];
    snprintf(scope, sizeof scope, "tenant:%s", id);
    int rc = aw_sql_exec(tx, "DELETE FROM settings WHERE scope = $1", NULL, err, "t", scope);
    if (rc != 0) return rc;
    int64_t changes = 0;
    rc = aw_sql_exec(tx, "DELETE FROM tenants WHERE id = $1", &changes, err, "t", id);
    if (rc == 0 && changes == 0) rc = aw_err_set(err, AW_ENOTFOUND, "no tenant with id '%s'", id);
    return rc;
}

/* ---- settings ------------------------------------------------------------ */

static int check_scope_key(const char *scope, const char *key, aw_err_t *err) {
    if (!valid_text(scope, SCOPE_MAX_BYTES))
        return aw_err_set(err, AW_EINVAL, "setting scope must be 1-%d printable bytes",
                          SCOPE_MAX_BYTES);
    if (!valid_text(key, KEY_MAX_BYTES))
        return aw_err_set(err, AW_EINVAL, "setting key must be 1-%d printable bytes",
                          KEY_MAX_BYTES);
    return 0;
}

int aw_store_setting_get(aw_tx_t *tx, const char *scope, const char *key, char **value,
                         aw_err_t *err) {
    *value = NULL;
    int rc = check_scope_key(scope, key, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx, "SELECT value FROM settings WHERE scope = $1 AND key = $2", &s, err, "tt",
                      scope, key);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        bool oom = false;
        *value = aw_sql_col_strdup(s, 0, &oom);
        rc = oom || !*value ? aw_err_set(err, AW_ENOMEM, "store: out of memory") : 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "no setting '%s' in scope '%s'", key, scope);
    }
    aw_sql_done(s);
    return rc;
}

int aw_store_setting_put(aw_tx_t *tx, const char *scope, const char *key, const char *value,
                         aw_err_t *err) {
    int rc = check_scope_key(scope, key, err);
    if (rc != 0) return rc;
    if (!value) return aw_err_set(err, AW_EINVAL, "setting '%s': value missing", key);
    if (strlen(value) > VALUE_MAX_BYTES)
        return aw_err_set(err, AW_ETOOBIG, "setting '%s': value longer than %d bytes", key,
                          VALUE_MAX_BYTES);
    return aw_sql_exec(tx,
                       "INSERT INTO settings (scope, key, value, updated_at)"
                       " VALUES ($1, $2, $3, $4)"
                       " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,"
                       " updated_at = excluded.updated_at",
                       NULL, err, "tttI", scope, key, value, aw_time_now_ms());
}

int aw_store_setting_delete(aw_tx_t *tx, const char *scope, const char *key, aw_err_t *err) {
    int rc = check_scope_key(scope, key, err);
    if (rc != 0) return rc;
    int64_t changes = 0;
    rc = aw_sql_exec(tx, "DELETE FROM settings WHERE scope = $1 AND key = $2", &changes, err, "tt",
                     scope, key);
    if (rc == 0 && changes == 0)
        rc = aw_err_set(err, AW_ENOTFOUND, "no setting '%s' in scope '%s'", key, scope);
    return rc;
}

int aw_store_setting_list(aw_tx_t *tx, const char *scope, aw_setting_t **out, size_t *n,
                          aw_err_t *err) {
    *out = NULL;
    *n = 0;
    if (!valid_text(scope, SCOPE_MAX_BYTES))
        return aw_err_set(err, AW_EINVAL, "setting scope must be 1-%d printable bytes",
                          SCOPE_MAX_BYTES);
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT scope, key, value, updated_at FROM settings"
                          " WHERE scope = $1 ORDER BY key",
                          &s, err, "t", scope);
    if (rc != 0) return rc;
    aw_setting_t *list = NULL;
    size_t cnt = 0, cap = 0;
    bool oom = false;
    while ((rc = aw_sql_step(s, err)) == 1) {
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            aw_setting_t *nl = realloc(list, cap * sizeof *nl);
            if (!nl) {
                oom = true;
                break;
            }
            list = nl;
        }
        aw_setting_t *e = &list[cnt++];
        e->scope = aw_sql_col_strdup(s, 0, &oom);
        e->key = aw_sql_col_strdup(s, 1, &oom);
        e->value = aw_sql_col_strdup(s, 2, &oom);
        e->updated_at_ms = aw_sql_col_int64(s, 3);
        if (oom) break;
    }
    aw_sql_done(s);
    if (oom) rc = aw_err_set(err, AW_ENOMEM, "store: out of memory");
    if (rc < 0) {
        aw_setting_list_free(list, cnt);
        return rc;
    }
    *out = list;
    *n = cnt;
    return 0;
}
