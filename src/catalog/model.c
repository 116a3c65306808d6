/*
 * model.c — the catalogue records in the store (catalog.h), written once
 * for both engines on store/sql.h. Each record kind has a field table that
 * maps API names to bind positions and result columns, so validation,
 * binding and JSON output follow one list.
 */
#include "catalog/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/time.h"
#include "store/sql.h"

/* ---- validation ----------------------------------------------------------- */

static bool all_digits(const char *s, size_t n) {
    if (!s || strlen(s) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

bool aw_cat_valid_leika(const char *s) {
    return all_digits(s, 14) && s[0] == '9' && s[1] == '9';
}

bool aw_cat_valid_ars(const char *s) {
    size_t n = s ? strlen(s) : 0;
    return (n == 2 || n == 3 || n == 5 || n == 9 || n == 12) && all_digits(s, n);
}

bool aw_cat_valid_ags(const char *s) {
    return all_digits(s, 8);
}

bool aw_cat_valid_plz(const char *s) {
    return all_digits(s, 5);
}

bool aw_cat_valid_dest_id(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > AW_CAT_DEST_ID_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

void aw_cat_fold(const char *s, char *out, size_t n) {
    size_t o = 0;
    if (n == 0) return;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < n; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        /* UTF-8 Ä Ö Ü (C3 84, C3 96, C3 9C) → ä ö ü (C3 A4, C3 B6, C3 BC) */
        if (c == 0xC3 && (p[1] == 0x84 || p[1] == 0x96 || p[1] == 0x9C) && o + 2 < n) {
            out[o++] = (char)0xC3;
            out[o++] = (char)(p[1] + 0x20);
            p++;
            continue;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

static bool valid_utf8_text(const char *s, size_t max, bool multiline) {
    size_t n = strlen(s);
    if (n > max) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0x7f) return false;
        if (c < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) return false;
    }
    return true; /* jansson already guarantees valid UTF-8 */
}

/* ---- field tables --------------------------------------------------------- */

enum { F_TEXT, F_LINE, F_LIST, F_URL, F_COLOUR, F_EMAIL, F_DEST, F_PLZ, F_ACCOUNT };

typedef struct fld {
    const char *name; /* API name */
    const char *sub;  /* nested member of `name`, or NULL */
    int kind;
} fld_t;

static const char *fld_label(const fld_t *f, char *buf, size_t n) {
    if (f->sub)
        snprintf(buf, n, "%s.%s", f->name, f->sub);
    else
        snprintf(buf, n, "%s", f->name);
    return buf;
}

/* The value of a field in obj: NULL when absent or null. Arrays of strings
 * (F_LIST) are joined into *joined (caller frees). */
static int fld_value(const fld_t *f, json_t *obj, const char **out, char **joined, aw_err_t *err) {
    char label[64];
    *out = NULL;
    *joined = NULL;
    json_t *v = json_object_get(obj, f->name);
    if (v && f->sub) {
        if (json_is_null(v)) return 0;
        if (!json_is_object(v))
            return aw_err_set(err, AW_EINVAL, "field '%s' must be an object", f->name);
        v = json_object_get(v, f->sub);
    }
    if (!v || json_is_null(v)) return 0;
    fld_label(f, label, sizeof label);
    if (f->kind == F_LIST && json_is_array(v)) {
        aw_buf_t b = AW_BUF_INIT;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e)) {
                aw_buf_free(&b);
                return aw_err_set(err, AW_EINVAL, "field '%s' must hold strings", label);
            }
            if (i) aw_buf_puts(&b, "; ");
            aw_buf_puts(&b, json_string_value(e));
        }
        if (!aw_buf_ok(&b)) {
            aw_buf_free(&b);
            return aw_err_set(err, AW_ENOMEM, "out of memory");
        }
        *joined = aw_buf_take(&b, NULL);
        if (!*joined) *joined = strdup("");
        *out = *joined;
    } else if (json_is_string(v)) {
        *out = json_string_value(v);
    } else {
        return aw_err_set(err, AW_EINVAL, "field '%s' must be a string", label);
    }
    const char *s = *out;
    size_t n = strlen(s);
    bool ok = true;
    const char *why = "";
    switch (f->kind) {
    case F_TEXT:
    case F_LIST:
        ok = valid_utf8_text(s, AW_CAT_TEXT_MAX, true);
        why = "text of at most 32 KiB without control characters";
        break;
    case F_LINE:
        ok = valid_utf8_text(s, AW_CAT_NAME_MAX, false);
        why = "one line of at most 512 bytes";
        break;
    case F_URL:
        ok = valid_utf8_text(s, 2048, false) &&
             (strncmp(s, "https://", 8) == 0 || strncmp(s, "http://", 7) == 0) && !strchr(s, ' ');
        why = "an http(s) URL";
        break;
    case F_COLOUR:
        ok = n == 7 && s[0] == '#' && strspn(s + 1, "0123456789abcdefABCDEF") == 6;
        why = "a colour #rrggbb";
        break;
    case F_EMAIL:
        ok = valid_utf8_text(s, 254, false) && strchr(s, '@') && !strchr(s, ' ');
        why = "an e-mail address";
        break;
    case F_DEST:
        ok = aw_cat_valid_dest_id(s);
        why = "a destination id (1-128 of A-Z a-z 0-9 . _ : -)";
        break;
    case F_PLZ:
        ok = aw_cat_valid_plz(s);
        why = "a 5-digit postal code";
        break;
    case F_ACCOUNT:
        ok = valid_utf8_text(s, 128, false);
        why = "one line of at most 128 bytes";
        break;
    }
    if (!ok) {
        free(*joined);
        *joined = NULL;
        return aw_err_set(err, AW_EINVAL, "field '%s' must be %s", label, why);
    }
    return 0;
}

/* Binds fields[0..n) to parameters first.. of s. joined[] collects
 * allocations to free after the step. */
static int bind_fields(aw_sql_t *s, int first, const fld_t *f, size_t n, json_t *obj, char **joined,
                       aw_err_t *err) {
    for (size_t i = 0; i < n; i++) {
        const char *v;
        int rc = fld_value(&f[i], obj, &v, &joined[i], err);
        if (rc != 0) return rc;
        aw_sql_bind_text(s, first + (int)i, v && *v ? v : NULL);
    }
    return 0;
}

static int check_fields(const fld_t *f, size_t n, json_t *obj, aw_err_t *err) {
    for (size_t i = 0; i < n; i++) {
        const char *v;
        char *j;
        int rc = fld_value(&f[i], obj, &v, &j, err);
        free(j);
        if (rc != 0) return rc;
    }
    return 0;
}

static void free_joined(char **joined, size_t n) {
    for (size_t i = 0; i < n; i++) free(joined[i]);
}

static void row_fields(aw_sql_t *s, int first, const fld_t *f, size_t n, json_t *obj) {
    for (size_t i = 0; i < n; i++) {
        const char *v = aw_sql_col_text(s, first + (int)i);
        if (!v) continue;
        if (f[i].sub) {
            json_t *o = json_object_get(obj, f[i].name);
            if (!o) {
                o = json_object();
                json_object_set_new(obj, f[i].name, o);
            }
            json_object_set_new(o, f[i].sub, json_string(v));
        } else {
            json_object_set_new(obj, f[i].name, json_string(v));
        }
    }
}

static const char *str_member(json_t *obj, const char *name) {
    json_t *v = json_object_get(obj, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static size_t clamp_limit(size_t limit) {
    return limit == 0 || limit > AW_CAT_LIST_MAX ? AW_CAT_LIST_MAX : limit;
}

static int64_t count_rows(aw_tx_t *tx, const char *sql, const char *arg, aw_err_t *err) {
    aw_sql_t *s;
    int rc = arg ? aw_sql_query(tx, sql, &s, err, "t", arg) : aw_sql_query(tx, sql, &s, err, "");
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    int64_t n = rc == 1 ? aw_sql_col_int64(s, 0) : rc;
    aw_sql_done(s);
    return n;
}

static int oom(aw_err_t *err) {
    return aw_err_set(err, AW_ENOMEM, "catalog: out of memory");
}

/* ---- audit ---------------------------------------------------------------- */

int aw_cat_audit(aw_tx_t *tx, const char *actor, const char *action, const char *object_type,
                 const char *object_id, json_t *detail, aw_err_t *err) {
    char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (detail && !d) return oom(err);
    char who[129];
    snprintf(who, sizeof who, "%s", actor && *actor ? actor : "unknown");
    int rc = aw_sql_exec(tx,
                         "INSERT INTO catalog_audit (at, actor, action, object_type, object_id,"
                         " detail) VALUES ($1, $2, $3, $4, $5, $6)",
                         NULL, err, "Ittttt", aw_time_now_ms(), who, action, object_type,
                         object_id ? object_id : "", d);
    free(d);
    return rc;
}

int64_t aw_cat_audit_count(aw_tx_t *tx, aw_err_t *err) {
    return count_rows(tx, "SELECT count(*) FROM catalog_audit", NULL, err);
}

int aw_cat_audit_list(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err) {
    *out = NULL;
    int64_t total = count_rows(tx, "SELECT count(*) FROM catalog_audit", NULL, err);
    if (total < 0) return (int)total;
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT id, at, actor, action, object_type, object_id, detail"
                          " FROM catalog_audit ORDER BY id DESC LIMIT $1 OFFSET $2",
                          &s, err, "zz", clamp_limit(limit), offset);
    if (rc != 0) return rc;
    json_t *list = json_array();
    while ((rc = aw_sql_step(s, err)) == 1) {
        char at[40];
        const char *d = aw_sql_col_text(s, 6);
        json_t *det = d ? json_loads(d, JSON_REJECT_DUPLICATES, NULL) : NULL;
        json_array_append_new(
            list,
            json_pack("{sI ss ss ss ss ss so*}", "id", (json_int_t)aw_sql_col_int64(s, 0), "at",
                      aw_time_format_rfc3339_ms(aw_sql_col_int64(s, 1), at, sizeof at), "actor",
                      aw_sql_col_text(s, 2), "action", aw_sql_col_text(s, 3), "objectType",
                      aw_sql_col_text(s, 4), "objectId", aw_sql_col_text(s, 5), "detail", det));
    }
    aw_sql_done(s);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{sI so}", "total", (json_int_t)total, "entries", list);
    return *out ? 0 : oom(err);
}

/* ---- services ------------------------------------------------------------- */

static const fld_t SVC_FIELDS[] = {
    {"name", NULL, F_LINE},
    {"shortText", NULL, F_TEXT},
    {"longText", NULL, F_TEXT},
    {"documents", NULL, F_LIST},
    {"fees", NULL, F_TEXT},
    {"legalBasis", NULL, F_TEXT},
    {"processingTime", NULL, F_TEXT},
    {"keywords", NULL, F_LIST},
    {"onlineService", "schemaId", F_LINE},
    {"onlineService", "schemaVersion", F_LINE},
    {"onlineService", "overlay", F_LINE},
    {"xzufiId", NULL, F_LINE},
};
#define NSVC (sizeof SVC_FIELDS / sizeof *SVC_FIELDS)

#define SVC_COLS                                                                             \
    "leika_key, name, short_text, long_text, documents, fees, legal_basis, processing_time," \
    " keywords, schema_id, schema_version, overlay, xzufi_id, updated_at"

static int service_exists(aw_tx_t *tx, const char *leika, aw_err_t *err) {
    int64_t n = count_rows(tx, "SELECT count(*) FROM services WHERE leika_key = $1", leika, err);
    return n < 0 ? (int)n : n > 0;
}

int aw_cat_service_put(aw_tx_t *tx, json_t *in, const char *actor, bool *created, aw_err_t *err) {
    if (!json_is_object(in)) return aw_err_set(err, AW_EINVAL, "a service must be a JSON object");
    const char *leika = str_member(in, "leikaKey");
    if (!aw_cat_valid_leika(leika))
        return aw_err_set(err, AW_EINVAL,
                          "field 'leikaKey' must be a LeiKa key (99 and 12 digits)");
    const char *name = str_member(in, "name");
    if (!name || !*name) return aw_err_set(err, AW_EINVAL, "field 'name' is required");
    int ex = service_exists(tx, leika, err);
    if (ex < 0) return ex;
    aw_sql_t *s;
    int rc = aw_sql_prepare(tx,
                            "INSERT INTO services (" SVC_COLS ") VALUES ($1, $2, $3, $4, $5, $6,"
                            " $7, $8, $9, $10, $11, $12, $13, $14)"
                            " ON CONFLICT (leika_key) DO UPDATE SET name = excluded.name,"
                            " short_text = excluded.short_text, long_text = excluded.long_text,"
                            " documents = excluded.documents, fees = excluded.fees,"
                            " legal_basis = excluded.legal_basis,"
                            " processing_time = excluded.processing_time,"
                            " keywords = excluded.keywords, schema_id = excluded.schema_id,"
                            " schema_version = excluded.schema_version,"
                            " overlay = excluded.overlay, xzufi_id = excluded.xzufi_id,"
                            " updated_at = excluded.updated_at",
                            &s, err);
    if (rc != 0) return rc;
    char *joined[NSVC] = {0};
    aw_sql_bind_text(s, 1, leika);
    rc = bind_fields(s, 2, SVC_FIELDS, NSVC, in, joined, err);
    aw_sql_bind_int64(s, 2 + (int)NSVC, aw_time_now_ms());
    if (rc == 0) rc = aw_sql_step(s, err);
    free_joined(joined, NSVC);
    aw_sql_done(s);
    if (rc < 0) return rc;
    if (created) *created = !ex;
    if (!actor) return 0;
    return aw_cat_audit(tx, actor, ex ? "update" : "create", "service", leika, in, err);
}

static json_t *service_row(aw_sql_t *s) {
    json_t *o = json_pack("{ss}", "leikaKey", aw_sql_col_text(s, 0));
    row_fields(s, 1, SVC_FIELDS, NSVC, o);
    char at[40];
    json_object_set_new(
        o, "updatedAt",
        json_string(aw_time_format_rfc3339_ms(aw_sql_col_int64(s, 1 + (int)NSVC), at, sizeof at)));
    return o;
}

int aw_cat_service_get(aw_tx_t *tx, const char *leika, json_t **out, aw_err_t *err) {
    *out = NULL;
    if (!aw_cat_valid_leika(leika))
        return aw_err_set(err, AW_EINVAL, "'%.20s' is not a LeiKa key (99 and 12 digits)",
                          leika ? leika : "");
    aw_sql_t *s;
    int rc = aw_sql_query(tx, "SELECT " SVC_COLS " FROM services WHERE leika_key = $1", &s, err,
                          "t", leika);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        *out = service_row(s);
        rc = *out ? 0 : oom(err);
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "no service with LeiKa key %s", leika);
    }
    aw_sql_done(s);
    return rc;
}

int aw_cat_service_list(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err) {
    *out = NULL;
    int64_t total = count_rows(tx, "SELECT count(*) FROM services", NULL, err);
    if (total < 0) return (int)total;
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT " SVC_COLS " FROM services ORDER BY leika_key"
                          " LIMIT $1 OFFSET $2",
                          &s, err, "zz", clamp_limit(limit), offset);
    if (rc != 0) return rc;
    json_t *list = json_array();
    while ((rc = aw_sql_step(s, err)) == 1) json_array_append_new(list, service_row(s));
    aw_sql_done(s);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{sI so}", "total", (json_int_t)total, "services", list);
    return *out ? 0 : oom(err);
}

int aw_cat_service_delete(aw_tx_t *tx, const char *leika, const char *actor, aw_err_t *err) {
    if (!aw_cat_valid_leika(leika))
        return aw_err_set(err, AW_EINVAL, "not a LeiKa key (99 and 12 digits)");
    int64_t changes = 0;
    int rc =
        aw_sql_exec(tx, "DELETE FROM services WHERE leika_key = $1", &changes, err, "t", leika);
    if (rc != 0) return rc;
    if (changes == 0) return aw_err_set(err, AW_ENOTFOUND, "no service with LeiKa key %s", leika);
    return aw_cat_audit(tx, actor, "delete", "service", leika, NULL, err);
}

/* ---- areas ---------------------------------------------------------------- */

static const char *level_for_len(size_t n) {
    switch (n) {
    case 2:
        return "land";
    case 3:
        return "regierungsbezirk";
    case 5:
        return "kreis";
    case 9:
        return "gemeindeverband";
    case 12:
        return "gemeinde";
    }
    return NULL;
}

int aw_cat_area_put(aw_tx_t *tx, json_t *in, const char *actor, aw_err_t *err) {
    if (!json_is_object(in)) return aw_err_set(err, AW_EINVAL, "an area must be a JSON object");
    const char *ars = str_member(in, "id");
    if (!aw_cat_valid_ars(ars))
        return aw_err_set(err, AW_EINVAL, "field 'id' must be an ARS of 2, 3, 5, 9 or 12 digits");
    const char *name = str_member(in, "name");
    if (!name || !*name || !valid_utf8_text(name, AW_CAT_NAME_MAX, false))
        return aw_err_set(err, AW_EINVAL, "field 'name' is required (one line, ≤ 512 bytes)");
    const char *level = str_member(in, "level");
    const char *want = level_for_len(strlen(ars));
    if (!level) level = want;
    if (strcmp(level, want) != 0)
        return aw_err_set(err, AW_EINVAL,
                          "field 'level' is '%.20s' but an ARS of %zu digits is a %s", level,
                          strlen(ars), want);
    const char *type = str_member(in, "type");
    if (type && !valid_utf8_text(type, 128, false))
        return aw_err_set(err, AW_EINVAL, "field 'type' must be one line of ≤ 128 bytes");
    const char *ags = str_member(in, "ags");
    if (ags && *ags && (!aw_cat_valid_ags(ags) || strcmp(level, "gemeinde") != 0))
        return aw_err_set(err, AW_EINVAL, "field 'ags' must be 8 digits, on a gemeinde only");
    if (ags && !*ags) ags = NULL;
    const char *seat = str_member(in, "plzSeat");
    if (seat && *seat && !aw_cat_valid_plz(seat))
        return aw_err_set(err, AW_EINVAL, "field 'plzSeat' must be a 5-digit postal code");
    if (seat && !*seat) seat = NULL;
    json_t *plz = json_object_get(in, "postalCodes");
    if (plz && !json_is_array(plz))
        return aw_err_set(err, AW_EINVAL, "field 'postalCodes' must be an array");
    if (plz && json_array_size(plz) && !ags)
        return aw_err_set(err, AW_EINVAL, "field 'postalCodes' needs an 'ags'");
    size_t i;
    json_t *e;
    json_array_foreach(plz, i, e) {
        if (!aw_cat_valid_plz(json_string_value(e)))
            return aw_err_set(err, AW_EINVAL, "field 'postalCodes[%zu]' must be 5 digits", i);
    }
    char ars12[13], lc[AW_CAT_NAME_MAX * 2 + 1];
    snprintf(ars12, sizeof ars12, "%s000000000000", ars);
    aw_cat_fold(name, lc, sizeof lc);
    int64_t existed = 0;
    if (actor) {
        existed = count_rows(tx, "SELECT count(*) FROM areas WHERE ars = $1", ars, err);
        if (existed < 0) return (int)existed;
    }
    int rc = aw_sql_exec(tx,
                         "INSERT INTO areas (ars, ars12, ags, name, name_lc, level, type,"
                         " plz_seat, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                         " ON CONFLICT (ars) DO UPDATE SET ags = excluded.ags,"
                         " name = excluded.name, name_lc = excluded.name_lc,"
                         " type = excluded.type, plz_seat = excluded.plz_seat,"
                         " updated_at = excluded.updated_at",
                         NULL, err, "ttttttttI", ars, ars12, ags, name, lc, level, type, seat,
                         aw_time_now_ms());
    if (rc != 0) return rc;
    if (plz) {
        rc = aw_sql_exec(tx, "DELETE FROM area_plz WHERE ags = $1", NULL, err, "t", ags);
        json_array_foreach(plz, i, e) {
            if (rc == 0) rc = aw_cat_plz_add(tx, json_string_value(e), ags, err);
        }
        if (rc != 0) return rc;
    }
    if (!actor) return 0;
    return aw_cat_audit(tx, actor, existed ? "update" : "create", "area", ars, in, err);
}

int aw_cat_plz_add(aw_tx_t *tx, const char *plz, const char *ags, aw_err_t *err) {
    if (!aw_cat_valid_plz(plz)) return aw_err_set(err, AW_EINVAL, "postal code must be 5 digits");
    if (!aw_cat_valid_ags(ags)) return aw_err_set(err, AW_EINVAL, "AGS must be 8 digits");
    return aw_sql_exec(tx,
                       "INSERT INTO area_plz (plz, ags) VALUES ($1, $2)"
                       " ON CONFLICT (plz, ags) DO NOTHING",
                       NULL, err, "tt", plz, ags);
}

static json_t *area_row(aw_sql_t *s) {
    /* columns: ars, name, type, level, ags, plz_seat */
    json_t *o = json_pack("{ss ss ss}", "id", aw_sql_col_text(s, 0), "name", aw_sql_col_text(s, 1),
                          "level", aw_sql_col_text(s, 3));
    if (!o) return NULL;
    if (aw_sql_col_text(s, 2)) json_object_set_new(o, "type", json_string(aw_sql_col_text(s, 2)));
    if (aw_sql_col_text(s, 4)) json_object_set_new(o, "ags", json_string(aw_sql_col_text(s, 4)));
    if (aw_sql_col_text(s, 5))
        json_object_set_new(o, "plzSeat", json_string(aw_sql_col_text(s, 5)));
    return o;
}

int aw_cat_area_get(aw_tx_t *tx, const char *ars, json_t **out, aw_err_t *err) {
    *out = NULL;
    if (!aw_cat_valid_ars(ars))
        return aw_err_set(err, AW_EINVAL, "an ARS has 2, 3, 5, 9 or 12 digits");
    aw_sql_t *s;
    int rc =
        aw_sql_query(tx, "SELECT ars, name, type, level, ags, plz_seat FROM areas WHERE ars = $1",
                     &s, err, "t", ars);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    json_t *o = NULL;
    if (rc == 1)
        o = area_row(s);
    else if (rc == 0)
        rc = aw_err_set(err, AW_ENOTFOUND, "no area with ARS %s", ars);
    aw_sql_done(s);
    if (rc < 0) return rc;
    const char *ags = str_member(o, "ags");
    if (ags) {
        json_t *codes = json_array();
        rc = aw_sql_query(tx, "SELECT plz FROM area_plz WHERE ags = $1 ORDER BY plz", &s, err, "t",
                          ags);
        if (rc == 0) {
            while ((rc = aw_sql_step(s, err)) == 1)
                json_array_append_new(codes, json_string(aw_sql_col_text(s, 0)));
            aw_sql_done(s);
        }
        json_object_set_new(o, "postalCodes", codes);
        if (rc < 0) {
            json_decref(o);
            return rc;
        }
    }
    *out = o;
    return 0;
}

int aw_cat_area_resolve(aw_tx_t *tx, aw_cat_area_key_t kind, const char *value, char ars[13],
                        aw_err_t *err) {
    ars[0] = '\0';
    const char *sql;
    const char *what;
    if (kind == AW_CAT_AREA_BY_AGS) {
        if (!aw_cat_valid_ags(value))
            return aw_err_set(err, AW_EINVAL, "ags must be 8 digits (Amtlicher Gemeindeschlüssel)");
        sql = "SELECT ars FROM areas WHERE ags = $1 AND level = 'gemeinde'";
        what = "AGS";
    } else {
        if (!aw_cat_valid_ars(value))
            return aw_err_set(err, AW_EINVAL, "%s must be an ARS of 2, 3, 5, 9 or 12 digits",
                              kind == AW_CAT_AREA_BY_ID ? "areaId" : "ars");
        sql = "SELECT ars FROM areas WHERE ars = $1";
        what = kind == AW_CAT_AREA_BY_ID ? "id" : "ARS";
    }
    aw_sql_t *s;
    int rc = aw_sql_query(tx, sql, &s, err, "t", value);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        snprintf(ars, 13, "%s", aw_sql_col_text(s, 0));
        rc = 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "no area with %s %s in the catalogue", what, value);
    }
    aw_sql_done(s);
    return rc;
}

int aw_cat_area_search(aw_tx_t *tx, const char *expr, size_t offset, size_t limit, json_t **out,
                       aw_err_t *err) {
    *out = NULL;
    size_t n = expr ? strlen(expr) : 0;
    if (n == 0 || n > 100)
        return aw_err_set(err, AW_EINVAL, "areaSearchexpression must be 1-100 bytes");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)expr[i] < 0x20)
            return aw_err_set(err, AW_EINVAL, "areaSearchexpression has control characters");
    limit = clamp_limit(limit);
    const char *count_sql, *sql;
    char pattern[256];
    if (aw_cat_valid_plz(expr)) {
        snprintf(pattern, sizeof pattern, "%s", expr);
        count_sql = "SELECT count(*) FROM areas a JOIN area_plz p ON p.ags = a.ags"
                    " WHERE p.plz = $1 AND a.level = 'gemeinde'";
        sql = "SELECT a.ars, a.name, a.type, a.level, a.ags, a.plz_seat FROM areas a"
              " JOIN area_plz p ON p.ags = a.ags WHERE p.plz = $1 AND a.level = 'gemeinde'"
              " ORDER BY a.name, a.ars LIMIT $2 OFFSET $3";
    } else {
        char folded[220];
        aw_cat_fold(expr, folded, sizeof folded);
        size_t o = 0;
        bool star = false;
        for (const char *p = folded; *p && o + 3 < sizeof pattern; p++) {
            if (*p == '*') {
                pattern[o++] = '%';
                star = true;
            } else if (*p == '%' || *p == '_' || *p == '\\') {
                pattern[o++] = '\\';
                pattern[o++] = *p;
            } else {
                pattern[o++] = *p;
            }
        }
        if (!star) pattern[o++] = '%'; /* a plain word is a name prefix */
        pattern[o] = '\0';
        count_sql = "SELECT count(*) FROM areas WHERE name_lc LIKE $1 ESCAPE '\\'";
        sql = "SELECT ars, name, type, level, ags, plz_seat FROM areas"
              " WHERE name_lc LIKE $1 ESCAPE '\\' ORDER BY name, ars LIMIT $2 OFFSET $3";
    }
    /* The literal text before the first '*' bounds a range on the name
     * index; byte order (SQLite BINARY, PostgreSQL COLLATE "C"). */
    char lo[256] = "", hi[256] = "";
    if (!aw_cat_valid_plz(expr)) {
        size_t o = 0;
        for (const char *p = pattern; *p && *p != '%' && o + 1 < sizeof lo; p++) {
            if (*p == '\\' && p[1]) p++;
            lo[o++] = *p;
        }
        lo[o] = '\0';
        memcpy(hi, lo, o + 1);
        if (o) hi[o - 1] = (char)(hi[o - 1] + 1);
        if (lo[0]) {
            count_sql = aw_sql_pick(tx,
                                    "SELECT count(*) FROM areas WHERE name_lc >= $2"
                                    " AND name_lc < $3 AND name_lc LIKE $1 ESCAPE '\\'",
                                    "SELECT count(*) FROM areas WHERE name_lc COLLATE \"C\" >= $2"
                                    " AND name_lc COLLATE \"C\" < $3"
                                    " AND name_lc LIKE $1 ESCAPE '\\'");
            sql = aw_sql_pick(tx,
                              "SELECT ars, name, type, level, ags, plz_seat FROM areas"
                              " WHERE name_lc >= $2 AND name_lc < $3"
                              " AND name_lc LIKE $1 ESCAPE '\\'"
                              " ORDER BY name, ars LIMIT $4 OFFSET $5",
                              "SELECT ars, name, type, level, ags, plz_seat FROM areas"
                              " WHERE name_lc COLLATE \"C\" >= $2 AND name_lc COLLATE \"C\" < $3"
                              " AND name_lc LIKE $1 ESCAPE '\\'"
                              " ORDER BY name, ars LIMIT $4 OFFSET $5");
        } else {
            count_sql = "SELECT count(*) FROM areas WHERE name_lc LIKE $1 ESCAPE '\\'"
                        " AND $2 = $3";
            sql = "SELECT ars, name, type, level, ags, plz_seat FROM areas"
                  " WHERE name_lc LIKE $1 ESCAPE '\\' AND $2 = $3"
                  " ORDER BY name, ars LIMIT $4 OFFSET $5";
        }
    }
    aw_sql_t *s;
    int64_t total;
    int rc;
    if (aw_cat_valid_plz(expr)) {
        total = count_rows(tx, count_sql, pattern, err);
        if (total < 0) return (int)total;
        rc = aw_sql_query(tx, sql, &s, err, "tzz", pattern, limit, offset);
    } else {
        rc = aw_sql_query(tx, count_sql, &s, err, "ttt", pattern, lo, hi);
        if (rc != 0) return rc;
        rc = aw_sql_step(s, err);
        total = rc == 1 ? aw_sql_col_int64(s, 0) : 0;
        aw_sql_done(s);
        if (rc < 0) return rc;
        rc = aw_sql_query(tx, sql, &s, err, "tttzz", pattern, lo, hi, limit, offset);
    }
    if (rc != 0) return rc;
    json_t *list = json_array();
    while ((rc = aw_sql_step(s, err)) == 1) json_array_append_new(list, area_row(s));
    aw_sql_done(s);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{sI so}", "total", (json_int_t)total, "areas", list);
    return *out ? 0 : oom(err);
}

int64_t aw_cat_area_count(aw_tx_t *tx, aw_err_t *err) {
    return count_rows(tx, "SELECT count(*) FROM areas", NULL, err);
}

/* ---- authorities ---------------------------------------------------------- */

static const fld_t AUTH_FIELDS[] = {
    {"address", "street", F_LINE},   {"address", "postalCode", F_PLZ},
    {"address", "city", F_LINE},     {"contacts", "phone", F_LINE},
    {"contacts", "email", F_EMAIL},  {"contacts", "fax", F_LINE},
    {"contacts", "web", F_URL},      {"openingHours", NULL, F_TEXT},
    {"privacyUrl", NULL, F_URL},     {"imprintUrl", NULL, F_URL},
    {"logoUrl", NULL, F_URL},        {"colour", NULL, F_COLOUR},
    {"destinationId", NULL, F_DEST}, {"paymentAccount", NULL, F_ACCOUNT},
    {"xzufiId", NULL, F_LINE},
};
#define NAUTH (sizeof AUTH_FIELDS / sizeof *AUTH_FIELDS)

#define AUTH_COLS                                                                         \
    "id, slug, name, created_at, updated_at, address_street, address_zip, address_city,"  \
    " phone, email, fax, web, opening_hours, privacy_url, imprint_url, logo_url, colour," \
    " destination_id, payment_account, xzufi_id"

int aw_cat_authority_id(aw_tx_t *tx, const char *ref, char id[AW_UUID_STRLEN + 1], aw_err_t *err) {
    id[0] = '\0';
    if (!ref || !*ref || strlen(ref) > 256)
        return aw_err_set(err, AW_EINVAL, "an authority is named by id, slug or XZuFi id");
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT id FROM tenants WHERE id = $1 OR slug = $1 OR xzufi_id = $1"
                          " ORDER BY CASE WHEN id = $1 THEN 0 WHEN slug = $1 THEN 1 ELSE 2 END"
                          " LIMIT 1",
                          &s, err, "t", ref);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        snprintf(id, AW_UUID_STRLEN + 1, "%s", aw_sql_col_text(s, 0));
        rc = 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "no authority '%.64s'", ref);
    }
    aw_sql_done(s);
    return rc;
}

static json_t *authority_row(aw_sql_t *s) {
    char c[40], u[40];
    json_t *o =
        json_pack("{ss ss ss ss ss}", "id", aw_sql_col_text(s, 0), "slug", aw_sql_col_text(s, 1),
                  "name", aw_sql_col_text(s, 2), "createdAt",
                  aw_time_format_rfc3339_ms(aw_sql_col_int64(s, 3), c, sizeof c), "updatedAt",
                  aw_time_format_rfc3339_ms(aw_sql_col_int64(s, 4), u, sizeof u));
    if (o) row_fields(s, 5, AUTH_FIELDS, NAUTH, o);
    return o;
}

int aw_cat_authority_get(aw_tx_t *tx, const char *id_or_slug, json_t **out, aw_err_t *err) {
    *out = NULL;
    char id[AW_UUID_STRLEN + 1];
    int rc = aw_cat_authority_id(tx, id_or_slug, id, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx, "SELECT " AUTH_COLS " FROM tenants WHERE id = $1", &s, err, "t", id);
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        *out = authority_row(s);
        rc = *out ? 0 : oom(err);
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "no authority '%.64s'", id_or_slug);
    }
    aw_sql_done(s);
    return rc;
}

int aw_cat_authority_put(aw_tx_t *tx, const char *id, json_t *in, const char *actor, json_t **out,
                         aw_err_t *err) {
    if (out) *out = NULL;
    if (!json_is_object(in))
        return aw_err_set(err, AW_EINVAL, "an authority must be a JSON object");
    int rc = check_fields(AUTH_FIELDS, NAUTH, in, err);
    if (rc != 0) return rc;
    aw_tenant_t t = {0};
    bool creating = !id || !*id;
    if (!creating) {
        rc = aw_cat_authority_id(tx, id, t.id, err);
        if (rc != 0) return rc;
    }
    t.slug = (char *)str_member(in, "slug");
    t.name = (char *)str_member(in, "name");
    if (!t.slug) return aw_err_set(err, AW_EINVAL, "field 'slug' is required");
    if (!t.name) return aw_err_set(err, AW_EINVAL, "field 'name' is required");
    if (creating) {
        aw_tenant_t other;
        rc = aw_store_tenant_get_by_slug(tx, t.slug, &other, err);
        if (rc == 0) {
            aw_tenant_clear(&other);
            return aw_err_set(err, AW_ECONFLICT, "authority slug '%s' is already taken", t.slug);
        }
        if (rc != AW_ENOTFOUND) return rc;
        aw_err_clear(err);
    }
    rc = aw_store_tenant_put(tx, &t, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_prepare(tx,
                        "UPDATE tenants SET address_street = $2, address_zip = $3,"
                        " address_city = $4, phone = $5, email = $6, fax = $7, web = $8,"
                        " opening_hours = $9, privacy_url = $10, imprint_url = $11,"
                        " logo_url = $12, colour = $13, destination_id = $14,"
                        " payment_account = $15, xzufi_id = $16 WHERE id = $1",
                        &s, err);
    if (rc != 0) return rc;
    char *joined[NAUTH] = {0};
    aw_sql_bind_text(s, 1, t.id);
    rc = bind_fields(s, 2, AUTH_FIELDS, NAUTH, in, joined, err);
    if (rc == 0) rc = aw_sql_step(s, err);
    free_joined(joined, NAUTH);
    aw_sql_done(s);
    if (rc < 0) return rc;
    json_t *rec = NULL;
    rc = aw_cat_authority_get(tx, t.id, &rec, err);
    if (rc != 0) return rc;
    /* The payment account is a parameter, not a secret, but keep the audit
     * detail to what changed: the stored record. */
    if (actor)
        rc = aw_cat_audit(tx, actor, creating ? "create" : "update", "authority", t.id, rec, err);
    if (rc == 0 && out)
        *out = rec;
    else
        json_decref(rec);
    return rc;
}

int aw_cat_authority_list(aw_tx_t *tx, size_t offset, size_t limit, json_t **out, aw_err_t *err) {
    *out = NULL;
    int64_t total = count_rows(tx, "SELECT count(*) FROM tenants", NULL, err);
    if (total < 0) return (int)total;
    aw_sql_t *s;
    int rc = aw_sql_query(tx, "SELECT " AUTH_COLS " FROM tenants ORDER BY slug LIMIT $1 OFFSET $2",
                          &s, err, "zz", clamp_limit(limit), offset);
    if (rc != 0) return rc;
    json_t *list = json_array();
    while ((rc = aw_sql_step(s, err)) == 1) json_array_append_new(list, authority_row(s));
    aw_sql_done(s);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{sI so}", "total", (json_int_t)total, "authorities", list);
    return *out ? 0 : oom(err);
}

int aw_cat_authority_delete(aw_tx_t *tx, const char *id_or_slug, const char *actor, aw_err_t *err) {
    char id[AW_UUID_STRLEN + 1];
    int rc = aw_cat_authority_id(tx, id_or_slug, id, err);
    if (rc == 0) rc = aw_store_tenant_delete(tx, id, err);
    if (rc == 0) rc = aw_cat_audit(tx, actor, "delete", "authority", id, NULL, err);
    return rc;
}

/* ---- parameters ----------------------------------------------------------- */

static const fld_t PARAM_FIELDS[] = {
    {"name", NULL, F_LINE},           {"shortText", NULL, F_TEXT},
    {"longText", NULL, F_TEXT},       {"fees", NULL, F_TEXT},
    {"processingTime", NULL, F_TEXT}, {"paymentAccount", NULL, F_ACCOUNT},
    {"destinationId", NULL, F_DEST},
};
#define NPARAM (sizeof PARAM_FIELDS / sizeof *PARAM_FIELDS)

int aw_cat_params_put(aw_tx_t *tx, const char *tenant, const char *leika, json_t *in,
                      const char *actor, aw_err_t *err) {
    if (!json_is_object(in)) return aw_err_set(err, AW_EINVAL, "parameters must be a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(in, k, v) {
        bool known = strcmp(k, "authority") == 0 || strcmp(k, "leikaKey") == 0;
        for (size_t i = 0; i < NPARAM && !known; i++) known = strcmp(k, PARAM_FIELDS[i].name) == 0;
        if (!known)
            return aw_err_set(err, AW_EINVAL,
                              "field '%.40s' is not a per-service parameter (name, shortText, "
                              "longText, fees, processingTime, paymentAccount, destinationId)",
                              k);
    }
    int rc = check_fields(PARAM_FIELDS, NPARAM, in, err);
    if (rc != 0) return rc;
    char id[AW_UUID_STRLEN + 1];
    rc = aw_cat_authority_id(tx, tenant, id, err);
    if (rc != 0) return rc;
    if (!aw_cat_valid_leika(leika))
        return aw_err_set(err, AW_EINVAL, "not a LeiKa key (99 and 12 digits)");
    int ex = service_exists(tx, leika, err);
    if (ex < 0) return ex;
    if (!ex) return aw_err_set(err, AW_ENOTFOUND, "no service with LeiKa key %s", leika);
    aw_sql_t *s;
    rc = aw_sql_prepare(tx,
                        "INSERT INTO tenant_service_params (tenant_id, leika_key, name,"
                        " short_text, long_text, fees, processing_time, payment_account,"
                        " destination_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8,"
                        " $9, $10) ON CONFLICT (tenant_id, leika_key) DO UPDATE SET"
                        " name = excluded.name, short_text = excluded.short_text,"
                        " long_text = excluded.long_text, fees = excluded.fees,"
                        " processing_time = excluded.processing_time,"
                        " payment_account = excluded.payment_account,"
                        " destination_id = excluded.destination_id,"
                        " updated_at = excluded.updated_at",
                        &s, err);
    if (rc != 0) return rc;
    char *joined[NPARAM] = {0};
    aw_sql_bind_text(s, 1, id);
    aw_sql_bind_text(s, 2, leika);
    rc = bind_fields(s, 3, PARAM_FIELDS, NPARAM, in, joined, err);
    aw_sql_bind_int64(s, 3 + (int)NPARAM, aw_time_now_ms());
    if (rc == 0) rc = aw_sql_step(s, err);
    free_joined(joined, NPARAM);
    aw_sql_done(s);
    if (rc < 0) return rc;
    char obj[AW_UUID_STRLEN + 20];
    snprintf(obj, sizeof obj, "%s/%s", id, leika);
    return actor ? aw_cat_audit(tx, actor, "update", "parameters", obj, in, err) : 0;
}

int aw_cat_params_get(aw_tx_t *tx, const char *tenant, const char *leika, json_t **out,
                      aw_err_t *err) {
    *out = NULL;
    char id[AW_UUID_STRLEN + 1];
    int rc = aw_cat_authority_id(tx, tenant, id, err);
    if (rc != 0) return rc;
    aw_sql_t *s;
    rc = aw_sql_query(tx,
                      "SELECT name, short_text, long_text, fees, processing_time,"
                      " payment_account, destination_id FROM tenant_service_params"
                      " WHERE tenant_id = $1 AND leika_key = $2",
                      &s, err, "tt", id, leika ? leika : "");
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    if (rc == 1) {
        *out = json_pack("{ss ss}", "authority", id, "leikaKey", leika);
        row_fields(s, 0, PARAM_FIELDS, NPARAM, *out);
        rc = 0;
    } else if (rc == 0) {
        rc = aw_err_set(err, AW_ENOTFOUND, "authority %s has no parameters for service %.20s", id,
                        leika ? leika : "");
    }
    aw_sql_done(s);
    return rc;
}

int aw_cat_params_delete(aw_tx_t *tx, const char *tenant, const char *leika, const char *actor,
                         aw_err_t *err) {
    char id[AW_UUID_STRLEN + 1];
    int rc = aw_cat_authority_id(tx, tenant, id, err);
    if (rc != 0) return rc;
    int64_t changes = 0;
    rc =
        aw_sql_exec(tx, "DELETE FROM tenant_service_params WHERE tenant_id = $1 AND leika_key = $2",
                    &changes, err, "tt", id, leika ? leika : "");
    if (rc != 0) return rc;
    if (changes == 0)
        return aw_err_set(err, AW_ENOTFOUND, "authority %s has no parameters for service %.20s", id,
                          leika ? leika : "");
    char obj[AW_UUID_STRLEN + 20];
    snprintf(obj, sizeof obj, "%s/%s", id, leika);
    return aw_cat_audit(tx, actor, "delete", "parameters", obj, NULL, err);
}

int aw_cat_service_for(aw_tx_t *tx, const char *leika, const char *tenant, json_t **out,
                       aw_err_t *err) {
    *out = NULL;
    json_t *svc;
    int rc = aw_cat_service_get(tx, leika, &svc, err);
    if (rc != 0 || !tenant) {
        *out = svc;
        return rc;
    }
    json_t *auth;
    rc = aw_cat_authority_get(tx, tenant, &auth, err);
    if (rc != 0) {
        json_decref(svc);
        return rc;
    }
    json_object_set_new(svc, "authority",
                        json_pack("{sO sO sO}", "id", json_object_get(auth, "id"), "slug",
                                  json_object_get(auth, "slug"), "name",
                                  json_object_get(auth, "name")));
    /* Defaults of the authority first, then the per-service parameters. */
    json_t *v;
    if ((v = json_object_get(auth, "paymentAccount"))) json_object_set(svc, "paymentAccount", v);
    if ((v = json_object_get(auth, "destinationId"))) json_object_set(svc, "destinationId", v);
    json_decref(auth);
    json_t *p;
    rc = aw_cat_params_get(tx, tenant, leika, &p, err);
    if (rc == AW_ENOTFOUND) {
        aw_err_clear(err);
        *out = svc;
        return 0;
    }
    if (rc != 0) {
        json_decref(svc);
        return rc;
    }
    const char *k;
    json_object_foreach(p, k, v) {
        if (strcmp(k, "authority") != 0 && strcmp(k, "leikaKey") != 0) json_object_set(svc, k, v);
    }
    json_decref(p);
    *out = svc;
    return 0;
}

/* ---- responsibilities ----------------------------------------------------- */

int aw_cat_resp_add(aw_tx_t *tx, const char *leika, const char *ars, const char *authority,
                    const char *destination_id, const char *actor, int64_t *id, aw_err_t *err) {
    if (id) *id = 0;
    if (!aw_cat_valid_leika(leika))
        return aw_err_set(err, AW_EINVAL, "leikaKey '%.20s' is not a LeiKa key",
                          leika ? leika : "");
    if (!aw_cat_valid_ars(ars))
        return aw_err_set(err, AW_EINVAL, "ars '%.20s' must have 2, 3, 5, 9 or 12 digits",
                          ars ? ars : "");
    if (destination_id && *destination_id && !aw_cat_valid_dest_id(destination_id))
        return aw_err_set(err, AW_EINVAL, "destinationId must be 1-128 of A-Z a-z 0-9 . _ : -");
    if (destination_id && !*destination_id) destination_id = NULL;
    int ex = service_exists(tx, leika, err);
    if (ex < 0) return ex;
    if (!ex) return aw_err_set(err, AW_ENOTFOUND, "no service with LeiKa key %s", leika);
    int64_t area = count_rows(tx, "SELECT count(*) FROM areas WHERE ars = $1", ars, err);
    if (area < 0) return (int)area;
    if (!area) return aw_err_set(err, AW_ENOTFOUND, "no area with ARS %s in the catalogue", ars);
    char tid[AW_UUID_STRLEN + 1];
    int rc = aw_cat_authority_id(tx, authority, tid, err);
    if (rc != 0) return rc;
    int64_t dup = 0;
    {
        aw_sql_t *s;
        rc = aw_sql_query(tx,
                          "SELECT count(*) FROM responsibilities WHERE leika_key = $1"
                          " AND ars_prefix = $2 AND tenant_id = $3",
                          &s, err, "ttt", leika, ars, tid);
        if (rc != 0) return rc;
        rc = aw_sql_step(s, err);
        dup = rc == 1 ? aw_sql_col_int64(s, 0) : 0;
        aw_sql_done(s);
        if (rc < 0) return rc;
    }
    if (dup)
        return aw_err_set(err, AW_ECONFLICT, "authority %s is already responsible for %s in %s",
                          authority, leika, ars);
    aw_sql_t *s;
    rc = aw_sql_query(tx,
                      "INSERT INTO responsibilities (leika_key, ars_prefix, tenant_id,"
                      " destination_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                      &s, err, "ttttI", leika, ars, tid, destination_id, aw_time_now_ms());
    if (rc != 0) return rc;
    rc = aw_sql_step(s, err);
    int64_t newid = rc == 1 ? aw_sql_col_int64(s, 0) : 0;
    aw_sql_done(s);
    if (rc < 0) return rc;
    if (id) *id = newid;
    if (!actor) return 0;
    char obj[24];
    snprintf(obj, sizeof obj, "%lld", (long long)newid);
    json_t *d = json_pack("{ss ss ss so*}", "leikaKey", leika, "ars", ars, "authority", tid,
                          "destinationId", destination_id ? json_string(destination_id) : NULL);
    rc = aw_cat_audit(tx, actor, "create", "responsibility", obj, d, err);
    json_decref(d);
    return rc;
}

int aw_cat_resp_delete(aw_tx_t *tx, int64_t id, const char *actor, aw_err_t *err) {
    int64_t changes = 0;
    int rc = aw_sql_exec(tx, "DELETE FROM responsibilities WHERE id = $1", &changes, err, "I", id);
    if (rc != 0) return rc;
    if (!changes) return aw_err_set(err, AW_ENOTFOUND, "no responsibility %lld", (long long)id);
    char obj[24];
    snprintf(obj, sizeof obj, "%lld", (long long)id);
    return aw_cat_audit(tx, actor, "delete", "responsibility", obj, NULL, err);
}

int aw_cat_resp_list(aw_tx_t *tx, const char *leika, size_t offset, size_t limit, json_t **out,
                     aw_err_t *err) {
    *out = NULL;
    int64_t total =
        leika ? count_rows(tx, "SELECT count(*) FROM responsibilities WHERE leika_key = $1", leika,
                           err)
              : count_rows(tx, "SELECT count(*) FROM responsibilities", NULL, err);
    if (total < 0) return (int)total;
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT r.id, r.leika_key, r.ars_prefix, r.tenant_id, t.name,"
                          " r.destination_id FROM responsibilities r"
                          " JOIN tenants t ON t.id = r.tenant_id"
                          " WHERE ($1 = '' OR r.leika_key = $1)"
                          " ORDER BY r.leika_key, r.ars_prefix, r.id LIMIT $2 OFFSET $3",
                          &s, err, "tzz", leika ? leika : "", clamp_limit(limit), offset);
    if (rc != 0) return rc;
    json_t *list = json_array();
    while ((rc = aw_sql_step(s, err)) == 1) {
        json_t *o =
            json_pack("{sI ss ss ss ss}", "id", (json_int_t)aw_sql_col_int64(s, 0), "leikaKey",
                      aw_sql_col_text(s, 1), "ars", aw_sql_col_text(s, 2), "authority",
                      aw_sql_col_text(s, 3), "authorityName", aw_sql_col_text(s, 4));
        if (o && aw_sql_col_text(s, 5))
            json_object_set_new(o, "destinationId", json_string(aw_sql_col_text(s, 5)));
        json_array_append_new(list, o);
    }
    aw_sql_done(s);
    if (rc < 0) {
        json_decref(list);
        return rc;
    }
    *out = json_pack("{sI so}", "total", (json_int_t)total, "responsibilities", list);
    return *out ? 0 : oom(err);
}

/* ---- jurisdiction --------------------------------------------------------- */

int aw_cat_route_find(aw_tx_t *tx, const char *leika, const char *ars, aw_cat_route_t *out,
                      aw_err_t *err) {
    memset(out, 0, sizeof *out);
    if (!aw_cat_valid_leika(leika))
        return aw_err_set(err, AW_EINVAL, "leikaKey must be a LeiKa key (99 and 12 digits)");
    if (!aw_cat_valid_ars(ars))
        return aw_err_set(err, AW_EINVAL, "an ARS has 2, 3, 5, 9 or 12 digits");
    int ex = service_exists(tx, leika, err);
    if (ex < 0) return ex;
    if (!ex) return aw_err_set(err, AW_ENOTFOUND, "no service with LeiKa key %s", leika);
    int64_t area = count_rows(tx, "SELECT count(*) FROM areas WHERE ars = $1", ars, err);
    if (area < 0) return (int)area;
    if (!area) return aw_err_set(err, AW_ENOTFOUND, "no area with ARS %s in the catalogue", ars);
    /* The candidate prefixes: the natural ARS lengths up to the area's. */
    static const size_t LENS[] = {2, 3, 5, 9, 12};
    char p[5][13];
    size_t n = strlen(ars);
    for (size_t i = 0; i < 5; i++) {
        size_t l = LENS[i] <= n ? LENS[i] : n;
        memcpy(p[i], ars, l);
        p[i][l] = '\0';
    }
    aw_sql_t *s;
    int rc = aw_sql_query(tx,
                          "SELECT r.ars_prefix, r.tenant_id, t.slug,"
                          " COALESCE(r.destination_id, p.destination_id, t.destination_id)"
                          " FROM responsibilities r JOIN tenants t ON t.id = r.tenant_id"
                          " LEFT JOIN tenant_service_params p ON p.tenant_id = r.tenant_id"
                          " AND p.leika_key = r.leika_key"
                          " WHERE r.leika_key = $1 AND r.ars_prefix IN ($2, $3, $4, $5, $6)"
                          " ORDER BY length(r.ars_prefix) DESC, t.slug LIMIT 2",
                          &s, err, "tttttt", leika, p[0], p[1], p[2], p[3], p[4]);
    if (rc != 0) return rc;
    char first_slug[64] = "";
    while ((rc = aw_sql_step(s, err)) == 1) {
        const char *prefix = aw_sql_col_text(s, 0);
        if (!out->found) {
            out->found = true;
            snprintf(out->prefix, sizeof out->prefix, "%s", prefix);
            snprintf(out->tenant_id, sizeof out->tenant_id, "%s", aw_sql_col_text(s, 1));
            snprintf(first_slug, sizeof first_slug, "%s", aw_sql_col_text(s, 2));
            const char *d = aw_sql_col_text(s, 3);
            snprintf(out->destination_id, sizeof out->destination_id, "%s", d ? d : "");
        } else if (strcmp(prefix, out->prefix) == 0) {
            rc = aw_err_set(err, AW_ECONFLICT,
                            "ambiguous responsibility for %s in %s: authorities '%s' and '%s'"
                            " both hold ARS prefix %s",
                            leika, ars, first_slug, aw_sql_col_text(s, 2), prefix);
            memset(out, 0, sizeof *out);
            break;
        }
    }
    aw_sql_done(s);
    return rc < 0 ? rc : 0;
}
