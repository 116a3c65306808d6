/*
 * import.c — the tabular importers (TSV/CSV) and the dispatcher
 * (import.h). XZuFi lives in xzufi.c.
 */
#include "catalog/import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "catalog/catalog.h"
#include "catalog/internal.h"

#define LINE_MAX_BYTES (64 * 1024)
#define MAX_COLS       32

aw_cat_import_kind_t aw_cat_import_kind(const char *name) {
    if (!name) return 0;
    if (strcmp(name, "municipalities") == 0) return AW_CAT_IMPORT_MUNICIPALITIES;
    if (strcmp(name, "plz") == 0) return AW_CAT_IMPORT_PLZ;
    if (strcmp(name, "services") == 0) return AW_CAT_IMPORT_SERVICES;
    if (strcmp(name, "responsibilities") == 0) return AW_CAT_IMPORT_RESPONSIBILITIES;
    if (strcmp(name, "xzufi") == 0) return AW_CAT_IMPORT_XZUFI;
    if (strcmp(name, "authorities") == 0) return AW_CAT_IMPORT_AUTHORITIES;
    return 0;
}

const char *aw_cat_import_kind_name(aw_cat_import_kind_t kind) {
    switch (kind) {
    case AW_CAT_IMPORT_MUNICIPALITIES:
        return "municipalities";
    case AW_CAT_IMPORT_PLZ:
        return "plz";
    case AW_CAT_IMPORT_SERVICES:
        return "services";
    case AW_CAT_IMPORT_RESPONSIBILITIES:
        return "responsibilities";
    case AW_CAT_IMPORT_XZUFI:
        return "xzufi";
    case AW_CAT_IMPORT_AUTHORITIES:
        return "authorities";
    }
    return "unknown";
}

int aw_cat_read_file(const char *path, char **out, size_t *len, aw_err_t *err) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return aw_err_set(err, AW_ENOTFOUND, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return aw_err_set(err, AW_EINVAL, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > AW_CAT_IMPORT_MAX) {
        fclose(f);
        return aw_err_set(err, AW_ETOOBIG, "%s: larger than %u bytes", path, AW_CAT_IMPORT_MAX);
    }
    char *b = malloc((size_t)st.st_size + 1);
    if (!b) {
        fclose(f);
        return aw_err_set(err, AW_ENOMEM, "%s: out of memory", path);
    }
    size_t n = fread(b, 1, (size_t)st.st_size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(b);
        return aw_err_set(err, AW_EIO, "%s: read error", path);
    }
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

/* ---- a small TSV/CSV reader --------------------------------------------- */

typedef struct table {
    const char *data, *end, *p;
    char sep;
    size_t line; /* of the row just read */
    char *cols[MAX_COLS];
    size_t ncols;
    char *hdr[MAX_COLS];
    size_t nhdr;
    char buf[LINE_MAX_BYTES + 1];
    char hbuf[4096];
} table_t;

/* Splits the next physical line into fields (CSV quoting with "" escapes
 * when sep is ',' or ';'). Returns 1 with a row, 0 at the end, < 0 on error. */
static int table_next(table_t *t, const char *source, aw_err_t *err) {
    for (;;) {
        if (t->p >= t->end) return 0;
        t->line++;
        const char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
        const char *le = nl ? nl : t->end;
        size_t n = (size_t)(le - t->p);
        if (n && le[-1] == '\r') n--;
        if (n > LINE_MAX_BYTES)
            return aw_err_set(err, AW_ETOOBIG, "%s:%zu: line longer than %d bytes", source, t->line,
                              LINE_MAX_BYTES);
        const char *s = t->p;
        t->p = nl ? nl + 1 : t->end;
        if (n == 0) continue; /* blank lines */
        if (memchr(s, '\0', n))
            return aw_err_set(err, AW_EINVAL, "%s:%zu: NUL byte", source, t->line);
        t->ncols = 0;
        size_t o = 0, i = 0;
        bool csv = t->sep != '\t';
        while (i <= n) {
            if (t->ncols == MAX_COLS)
                return aw_err_set(err, AW_EINVAL, "%s:%zu: more than %d columns", source, t->line,
                                  MAX_COLS);
            t->cols[t->ncols++] = t->buf + o;
            if (csv && i < n && s[i] == '"') {
                i++;
                for (;;) {
                    if (i >= n)
                        return aw_err_set(err, AW_EINVAL, "%s:%zu: unterminated quoted field",
                                          source, t->line);
                    if (s[i] == '"') {
                        if (i + 1 < n && s[i + 1] == '"') {
                            t->buf[o++] = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    t->buf[o++] = s[i++];
                }
                if (i < n && s[i] != t->sep)
                    return aw_err_set(err, AW_EINVAL, "%s:%zu: text after a closing quote", source,
                                      t->line);
            } else {
                while (i < n && s[i] != t->sep) t->buf[o++] = s[i++];
            }
            t->buf[o++] = '\0';
            i++; /* past the separator (or the end) */
        }
        /* trim spaces around fields */
        for (size_t c = 0; c < t->ncols; c++) {
            char *f = t->cols[c];
            while (*f == ' ') f++;
            size_t l = strlen(f);
            while (l && f[l - 1] == ' ') f[--l] = '\0';
            t->cols[c] = f;
        }
        return 1;
    }
}

static int table_open(table_t *t, const char *data, size_t len, bool sniff, const char *source,
                      aw_err_t *err) {
    memset(t, 0, sizeof *t);
    t->data = t->p = data;
    t->end = data + len;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) t->p += 3; /* BOM */
    t->sep = '\t';
    if (sniff) {
        const char *nl = memchr(t->p, '\n', (size_t)(t->end - t->p));
        size_t n = nl ? (size_t)(nl - t->p) : (size_t)(t->end - t->p);
        size_t tabs = 0, commas = 0, semis = 0;
        for (size_t i = 0; i < n; i++) {
            tabs += t->p[i] == '\t';
            commas += t->p[i] == ',';
            semis += t->p[i] == ';';
        }
        t->sep = tabs ? '\t' : semis > commas ? ';' : ',';
    }
    int rc = table_next(t, source, err);
    if (rc < 0) return rc;
    if (rc == 0)
        return aw_err_set(err, AW_EINVAL, "%s: empty file (a header line is needed)", source);
    size_t o = 0;
    for (size_t c = 0; c < t->ncols; c++) {
        size_t l = strlen(t->cols[c]);
        if (o + l + 1 > sizeof t->hbuf)
            return aw_err_set(err, AW_EINVAL, "%s:1: header too long", source);
        memcpy(t->hbuf + o, t->cols[c], l + 1);
        t->hdr[c] = t->hbuf + o;
        o += l + 1;
    }
    t->nhdr = t->ncols;
    return 0;
}

/* Column index of the first of the names present (NULL-terminated), -1. */
static int col_of(const table_t *t, const char *const *names) {
    for (const char *const *n = names; *n; n++)
        for (size_t c = 0; c < t->nhdr; c++)
            if (strcasecmp(t->hdr[c], *n) == 0) return (int)c;
    return -1;
}

static const char *cell(const table_t *t, int c) {
    return c >= 0 && (size_t)c < t->ncols ? t->cols[c] : "";
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

static int need_col(const table_t *t, const char *const *names, const char *source, int *out,
                    aw_err_t *err) {
    *out = col_of(t, names);
    if (*out < 0)
        return aw_err_set(err, AW_EINVAL, "%s:1: header lacks a '%s' column", source, names[0]);
    return 0;
}

/* ---- municipalities -------------------------------------------------------- */

static int import_municipalities(aw_tx_t *tx, table_t *t, const char *source,
                                 aw_cat_import_stats_t *st, aw_err_t *err) {
    int c_ars, c_name, c_level;
    int rc;
    if ((rc = need_col(t, NAMES("ars_short", "ars"), source, &c_ars, err)) ||
        (rc = need_col(t, NAMES("name"), source, &c_name, err)) ||
        (rc = need_col(t, NAMES("level"), source, &c_level, err)))
        return rc;
    int c_ags = col_of(t, NAMES("ags")), c_type = col_of(t, NAMES("type"));
    int c_plz = col_of(t, NAMES("plz_verwaltungssitz", "plz"));
    while ((rc = table_next(t, source, err)) == 1) {
        st->rows++;
        json_t *a = json_pack("{ss ss ss}", "id", cell(t, c_ars), "name", cell(t, c_name), "level",
                              cell(t, c_level));
        if (!a) return aw_err_set(err, AW_EINVAL, "%s:%zu: invalid UTF-8", source, t->line);
        if (*cell(t, c_type)) json_object_set_new(a, "type", json_string(cell(t, c_type)));
        if (*cell(t, c_ags)) json_object_set_new(a, "ags", json_string(cell(t, c_ags)));
        if (*cell(t, c_plz)) json_object_set_new(a, "plzSeat", json_string(cell(t, c_plz)));
        rc = aw_cat_area_put(tx, a, NULL, err);
        json_decref(a);
        if (rc != 0) {
            aw_err_prefix(err, "%s:%zu", source, t->line);
            return rc;
        }
        st->areas++;
    }
    return rc;
}

static int import_plz(aw_tx_t *tx, table_t *t, const char *source, aw_cat_import_stats_t *st,
                      aw_err_t *err) {
    int c_plz, c_ags, rc;
    if ((rc = need_col(t, NAMES("plz", "postal_code"), source, &c_plz, err)) ||
        (rc = need_col(t, NAMES("ags"), source, &c_ags, err)))
        return rc;
    while ((rc = table_next(t, source, err)) == 1) {
        st->rows++;
        rc = aw_cat_plz_add(tx, cell(t, c_plz), cell(t, c_ags), err);
        if (rc != 0) {
            aw_err_prefix(err, "%s:%zu", source, t->line);
            return rc;
        }
        st->postal_codes++;
    }
    return rc;
}

static int import_services(aw_tx_t *tx, table_t *t, const char *source, aw_cat_import_stats_t *st,
                           aw_err_t *err) {
    int c_key, c_name, rc;
    if ((rc = need_col(t, NAMES("leika_key", "leikaKey", "leika"), source, &c_key, err)) ||
        (rc = need_col(t, NAMES("name", "name_de"), source, &c_name, err)))
        return rc;
    static const struct {
        const char *col, *field;
    } MAP[] = {
        {"keywords", "keywords"},
        {"short", "shortText"},
        {"long", "longText"},
        {"documents", "documents"},
        {"fees", "fees"},
        {"legal_basis", "legalBasis"},
        {"processing_time", "processingTime"},
    };
    int cm[sizeof MAP / sizeof *MAP];
    for (size_t i = 0; i < sizeof MAP / sizeof *MAP; i++) cm[i] = col_of(t, NAMES(MAP[i].col));
    int c_sid = col_of(t, NAMES("schema_id")), c_sver = col_of(t, NAMES("schema_version")),
        c_ovl = col_of(t, NAMES("overlay"));
    while ((rc = table_next(t, source, err)) == 1) {
        st->rows++;
        json_t *s = json_pack("{ss ss}", "leikaKey", cell(t, c_key), "name", cell(t, c_name));
        if (!s) return aw_err_set(err, AW_EINVAL, "%s:%zu: invalid UTF-8", source, t->line);
        for (size_t i = 0; i < sizeof MAP / sizeof *MAP; i++)
            if (*cell(t, cm[i])) json_object_set_new(s, MAP[i].field, json_string(cell(t, cm[i])));
        if (*cell(t, c_sid)) {
            json_t *os = json_pack("{ss}", "schemaId", cell(t, c_sid));
            if (*cell(t, c_sver))
                json_object_set_new(os, "schemaVersion", json_string(cell(t, c_sver)));
            if (*cell(t, c_ovl)) json_object_set_new(os, "overlay", json_string(cell(t, c_ovl)));
            json_object_set_new(s, "onlineService", os);
        }
        rc = aw_cat_service_put(tx, s, NULL, NULL, err);
        json_decref(s);
        if (rc != 0) {
            aw_err_prefix(err, "%s:%zu", source, t->line);
            return rc;
        }
        st->services++;
    }
    return rc;
}

static int import_responsibilities(aw_tx_t *tx, table_t *t, const char *source,
                                   aw_cat_import_stats_t *st, aw_err_t *err) {
    int c_key, c_ars, c_auth, rc;
    if ((rc = need_col(t, NAMES("leika_key", "leikaKey", "leika"), source, &c_key, err)) ||
        (rc = need_col(t, NAMES("ars", "ars_prefix"), source, &c_ars, err)) ||
        (rc = need_col(t, NAMES("authority", "tenant", "authority_slug"), source, &c_auth, err)))
        return rc;
    int c_dest = col_of(t, NAMES("destination_id", "destinationId", "destination"));
    while ((rc = table_next(t, source, err)) == 1) {
        st->rows++;
        rc = aw_cat_resp_add(tx, cell(t, c_key), cell(t, c_ars), cell(t, c_auth), cell(t, c_dest),
                             NULL, NULL, err);
        if (rc != 0) {
            aw_err_prefix(err, "%s:%zu", source, t->line);
            return rc;
        }
        st->responsibilities++;
    }
    return rc;
}

/* authorities: [{slug, name, ..., "services": {leika: {params}}}] */
static int import_authorities(aw_tx_t *tx, const char *data, size_t len, const char *source,
                              aw_cat_import_stats_t *st, aw_err_t *err) {
    json_error_t je;
    json_t *list = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!list) return aw_err_set(err, AW_EINVAL, "%s:%d: %s", source, je.line, je.text);
    if (!json_is_array(list)) {
        json_decref(list);
        return aw_err_set(err, AW_EINVAL, "%s: must be a JSON array of authorities", source);
    }
    size_t i;
    json_t *a;
    int rc = 0;
    json_array_foreach(list, i, a) {
        st->rows++;
        if (!json_is_object(a)) {
            rc = aw_err_set(err, AW_EINVAL, "%s: authority %zu is not an object", source, i + 1);
            break;
        }
        json_t *params = json_incref(json_object_get(a, "services"));
        json_object_del(a, "services");
        const char *slug = json_string_value(json_object_get(a, "slug"));
        char id[AW_UUID_STRLEN + 1] = "";
        if (slug && aw_cat_authority_id(tx, slug, id, err) != 0) id[0] = '\0';
        aw_err_clear(err);
        json_t *rec = NULL;
        rc = aw_cat_authority_put(tx, id[0] ? id : NULL, a, NULL, &rec, err);
        if (rc == 0) st->authorities++;
        const char *leika;
        json_t *p;
        if (rc == 0 && params) {
            const char *tid = json_string_value(json_object_get(rec, "id"));
            json_object_foreach(params, leika, p) {
                rc = aw_cat_params_put(tx, tid, leika, p, NULL, err);
                if (rc != 0) break;
            }
        }
        json_decref(params);
        json_decref(rec);
        if (rc != 0) {
            aw_err_prefix(err, "%s: authority %zu", source, i + 1);
            break;
        }
    }
    json_decref(list);
    return rc;
}

int aw_cat_import(aw_tx_t *tx, aw_cat_import_kind_t kind, const char *data, size_t len,
                  const char *source, const char *actor, aw_cat_import_stats_t *stats,
                  aw_err_t *err) {
    aw_cat_import_stats_t local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    if (!source) source = "input";
    if (len > AW_CAT_IMPORT_MAX)
        return aw_err_set(err, AW_ETOOBIG, "%s: larger than %u bytes", source, AW_CAT_IMPORT_MAX);
    int rc;
    if (kind == AW_CAT_IMPORT_XZUFI) {
        rc = aw_cat__import_xzufi(tx, data, len, source, stats, err);
    } else if (kind == AW_CAT_IMPORT_AUTHORITIES) {
        rc = import_authorities(tx, data, len, source, stats, err);
    } else {
        table_t *t = malloc(sizeof *t);
        if (!t) return aw_err_set(err, AW_ENOMEM, "out of memory");
        rc = table_open(t, data, len, kind == AW_CAT_IMPORT_RESPONSIBILITIES, source, err);
        if (rc == 0) {
            switch (kind) {
            case AW_CAT_IMPORT_MUNICIPALITIES:
                rc = import_municipalities(tx, t, source, stats, err);
                break;
            case AW_CAT_IMPORT_PLZ:
                rc = import_plz(tx, t, source, stats, err);
                break;
            case AW_CAT_IMPORT_SERVICES:
                rc = import_services(tx, t, source, stats, err);
                break;
            case AW_CAT_IMPORT_RESPONSIBILITIES:
                rc = import_responsibilities(tx, t, source, stats, err);
                break;
            default:
                rc = aw_err_set(err, AW_EINVAL, "unknown import kind");
            }
        }
        free(t);
    }
    if (rc != 0) return rc;
    json_t *d = aw_cat__stats_json(stats);
    json_object_set_new(d, "source", json_string(source));
    rc = aw_cat_audit(tx, actor ? actor : "import", "import", aw_cat_import_kind_name(kind), source,
                      d, err);
    json_decref(d);
    return rc;
}

json_t *aw_cat__stats_json(const aw_cat_import_stats_t *s) {
    return json_pack("{sI sI sI sI sI sI sI sI}", "rows", (json_int_t)s->rows, "areas",
                     (json_int_t)s->areas, "postalCodes", (json_int_t)s->postal_codes, "services",
                     (json_int_t)s->services, "authorities", (json_int_t)s->authorities,
                     "responsibilities", (json_int_t)s->responsibilities, "onlineServices",
                     (json_int_t)s->online_services, "skippedElements",
                     (json_int_t)s->skipped_elements);
}
