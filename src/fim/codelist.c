/*
 * codelist — OASIS genericode 1.0 code lists.
 *
 * Matching is by local name: FIM files use the gc: prefix, the XÖV quality
 * list (Meldungen.xml) puts the same elements in no namespace.
 */
#include <stdlib.h>
#include <string.h>

#include "fim/internal.h"

typedef struct {
    const char *id;
    bool required;
} column_t;

int aw_fim_genericode_parse(const char *xml, size_t len, const char *name, aw_arena_t *arena,
                            aw_fim_codelist_t **out, aw_err_t *err) {
    return aw_fim__genericode_parse_cols(xml, len, name, arena, NULL, NULL, NULL, out, err);
}

int aw_fim__genericode_parse_cols(const char *xml, size_t len, const char *name, aw_arena_t *arena,
                                  const char *want_key, const char *want_name,
                                  const char *want_help, aw_fim_codelist_t **out, aw_err_t *err) {
    *out = NULL;
    xmlDocPtr doc;
    int rc = aw_fim__xml_read(xml, len, name, &doc, err);
    if (rc) return rc;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!aw_fim__is(root, "CodeList")) {
        rc = aw_err_set(err, AW_EINVAL, "%s: not a genericode code list (root <%s>)", name,
                        (const char *)root->name);
        xmlFreeDoc(doc);
        return rc;
    }
    aw_fim_codelist_t *cl = aw_arena_calloc(arena, 1, sizeof *cl);
    if (!cl) goto oom;
    xmlNodePtr ident = aw_fim__child(root, "Identification");
    if (!ident) {
        xmlFreeDoc(doc);
        return aw_err_set(err, AW_EINVAL, "%s: genericode without <Identification>", name);
    }
    cl->name = aw_fim__text(arena, aw_fim__child(ident, "ShortName"));
    if (!cl->name) cl->name = "";
    cl->version = aw_fim__text(arena, aw_fim__child(ident, "Version"));
    cl->canonical_uri = aw_fim__text(arena, aw_fim__child(ident, "CanonicalUri"));
    cl->canonical_version_uri = aw_fim__text(arena, aw_fim__child(ident, "CanonicalVersionUri"));
    if (!cl->canonical_uri || !*cl->canonical_uri) {
        xmlFreeDoc(doc);
        return aw_err_set(err, AW_EINVAL, "%s: genericode without CanonicalUri", name);
    }

    /* columns and keys */
    column_t cols[64];
    size_t ncols = 0;
    const char *key_col = NULL, *name_col = NULL, *first_key_col = NULL;
    const char *key_ids[64], *key_refs[64];
    size_t nkeys = 0;
    xmlNodePtr cs = aw_fim__child(root, "ColumnSet");
    for (xmlNodePtr c = cs ? cs->children : NULL; c; c = c->next) {
        if (aw_fim__is(c, "Column") && ncols < 64) {
            xmlChar *id = xmlGetProp(c, (const xmlChar *)"Id");
            xmlChar *use = xmlGetProp(c, (const xmlChar *)"Use");
            cols[ncols].id = aw_arena_strdup(arena, id ? (const char *)id : "");
            cols[ncols].required = use && strcmp((const char *)use, "required") == 0;
            ncols++;
            xmlFree(id);
            xmlFree(use);
        } else if (aw_fim__is(c, "Key")) {
            xmlChar *kid = xmlGetProp(c, (const xmlChar *)"Id");
            xmlNodePtr ref = aw_fim__child(c, "ColumnRef");
            xmlChar *r = ref ? xmlGetProp(ref, (const xmlChar *)"Ref") : NULL;
            if (r) {
                const char *rs = aw_arena_strdup(arena, (const char *)r);
                if (!first_key_col) first_key_col = rs;
                if (kid && strcmp((const char *)kid, "codeKey") == 0) key_col = rs;
                if (kid && strcmp((const char *)kid, "codenameKey") == 0) name_col = rs;
                if (kid && nkeys < 64) {
                    key_ids[nkeys] = aw_arena_strdup(arena, (const char *)kid);
                    key_refs[nkeys++] = rs;
                }
            }
            xmlFree(kid);
            xmlFree(r);
        }
    }
    if (!key_col) key_col = first_key_col;
    if (!key_col && ncols) key_col = cols[0].id;
    if (!key_col) {
        xmlFreeDoc(doc);
        return aw_err_set(err, AW_EINVAL, "%s: code list %s has no columns", name,
                          cl->canonical_uri);
    }
    /* XDF3 fields may name the columns (codeKey/nameKey/helpKey): a key id or a column id */
    const char *help_col = NULL;
    const char *wants[3] = {want_key, want_name, want_help};
    const char **cols_out[3] = {&key_col, &name_col, &help_col};
    for (int w = 0; w < 3; w++) {
        if (!wants[w]) continue;
        const char *found = NULL;
        for (size_t i = 0; i < nkeys && !found; i++)
            if (strcmp(key_ids[i], wants[w]) == 0) found = key_refs[i];
        for (size_t i = 0; i < ncols && !found; i++)
            if (strcmp(cols[i].id, wants[w]) == 0) found = cols[i].id;
        if (!found) {
            rc = aw_err_set(err, AW_EINVAL, "%s: code list %s has no key or column '%s'", name,
                            cl->canonical_uri, wants[w]);
            xmlFreeDoc(doc);
            return rc;
        }
        *cols_out[w] = found;
    }
    if (!name_col)
        for (size_t i = 0; i < ncols; i++)
            if (strcmp(cols[i].id, key_col) != 0) {
                name_col = cols[i].id;
                break;
            }

    xmlNodePtr scl = aw_fim__child(root, "SimpleCodeList");
    size_t nrows = 0;
    for (xmlNodePtr r = scl ? scl->children : NULL; r; r = r->next)
        if (aw_fim__is(r, "Row")) nrows++;
    cl->codes = aw_arena_calloc(arena, nrows ? nrows : 1, sizeof *cl->codes);
    if (!cl->codes) goto oom;
    for (xmlNodePtr r = scl ? scl->children : NULL; r; r = r->next) {
        if (!aw_fim__is(r, "Row")) continue;
        aw_fim_code_t *code = &cl->codes[cl->ncodes];
        code->label = "";
        size_t col_i = 0;
        for (xmlNodePtr v = r->children; v; v = v->next) {
            if (!aw_fim__is(v, "Value")) continue;
            xmlChar *ref = xmlGetProp(v, (const xmlChar *)"ColumnRef");
            /* without ColumnRef, values follow the column order */
            const char *col = ref ? (const char *)ref : (col_i < ncols ? cols[col_i].id : "");
            char *t = aw_fim__text(arena, aw_fim__child(v, "SimpleValue"));
            if (t && strcmp(col, key_col) == 0)
                code->code = t;
            else if (t && name_col && strcmp(col, name_col) == 0)
                code->label = t;
            if (t && *t && help_col && strcmp(col, help_col) == 0) code->help = t;
            xmlFree(ref);
            col_i++;
        }
        if (!code->code) {
            xmlFreeDoc(doc);
            return aw_err_set(err, AW_EINVAL, "%s: code list %s: row %zu has no value for key %s",
                              name, cl->canonical_uri, cl->ncodes + 1, key_col);
        }
        cl->ncodes++;
    }
    xmlFreeDoc(doc);
    *out = cl;
    return 0;
oom:
    xmlFreeDoc(doc);
    return aw_err_set(err, AW_ENOMEM, "%s: out of memory", name);
}
