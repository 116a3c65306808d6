/*
 * xzufi.c — the XZuFi 2.2 importer (a subset: leistung,
 * organisationseinheit with zustaendigkeit, onlinedienst, zustaendigkeit).
 *
 * The document is read whole with libxml2 (no network, no entity
 * substitution, no DTD: a DOCTYPE is refused before libxml2 sees it), then
 * applied in dependency order: services, authorities, online services,
 * responsibilities. Elements we do not read are skipped with their subtree
 * and counted, so an operator sees how much of a file was ignored.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/dl_xml.h"
#include "catalog/catalog.h"
#include "catalog/internal.h"

#define XZUFI_NS    "http://xoev.de/schemata/xzufi/2_2_0"
#define MAX_RECORDS 100000

static bool is_el(xmlNodePtr n) {
    return n && n->type == XML_ELEMENT_NODE;
}

static bool in_ns(xmlNodePtr n) {
    return is_el(n) && n->ns && n->ns->href && strcmp((const char *)n->ns->href, XZUFI_NS) == 0;
}

static bool named(xmlNodePtr n, const char *local) {
    return in_ns(n) && strcmp((const char *)n->name, local) == 0;
}

static xmlNodePtr child(xmlNodePtr n, const char *local) {
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (named(c, local)) return c;
    return NULL;
}

/* Trimmed text content (whitespace runs collapsed); caller frees. */
static char *text_of(xmlNodePtr n) {
    if (!n) return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) return strdup("");
    const char *s = (const char *)t;
    char *out = malloc(strlen(s) + 1);
    size_t o = 0;
    bool space = false;
    for (; *s; s++) {
        if (isspace((unsigned char)*s)) {
            space = o > 0;
            continue;
        }
        if (space) out[o++] = ' ';
        space = false;
        out[o++] = *s;
    }
    out[o] = '\0';
    xmlFree(t);
    return out;
}

/* A code value: the text of a <code> child when there is one, else the
 * element's own text. */
static char *code_of(xmlNodePtr n) {
    if (!n) return NULL;
    xmlNodePtr c = child(n, "code");
    if (!c)
        for (xmlNodePtr k = n->children; k; k = k->next)
            if (is_el(k) && strcmp((const char *)k->name, "code") == 0) c = k;
    return text_of(c ? c : n);
}

/* An ARS in a gebietID: the trailing digits ("urn:...:rs:051110000000"). */
static void ars_of(const char *s, char *out, size_t n) {
    size_t l = strlen(s), b = l;
    while (b > 0 && isdigit((unsigned char)s[b - 1])) b--;
    snprintf(out, n, "%.*s", (int)(l - b), s + b);
}

typedef struct ctx {
    aw_tx_t *tx;
    const char *source;
    aw_cat_import_stats_t *st;
    aw_err_t *err;
    /* leistung id → LeiKa key */
    char **lid, **lkey;
    size_t nl, capl;
} ctx_t;

static int fail(ctx_t *c, xmlNodePtr n, int code, const char *what) {
    return aw_err_set(c->err, code, "%s:%d: %s", c->source, n ? (int)xmlGetLineNo(n) : 0, what);
}

static void skip(ctx_t *c, xmlNodePtr n) {
    (void)n;
    c->st->skipped_elements++;
}

static int remember(ctx_t *c, const char *id, const char *key) {
    if (c->nl == c->capl) {
        size_t cap = c->capl ? c->capl * 2 : 32;
        char **a = realloc(c->lid, cap * sizeof *a),
             **b = a ? realloc(c->lkey, cap * sizeof *b) : NULL;
        if (a) c->lid = a;
        if (!a || !b) return aw_err_set(c->err, AW_ENOMEM, "out of memory");
        c->lkey = b;
        c->capl = cap;
    }
    c->lid[c->nl] = strdup(id);
    c->lkey[c->nl] = strdup(key);
    c->nl++;
    return 0;
}

/* A leistungID → LeiKa key: an id of this file, a stored service's XZuFi
 * id, or a LeiKa key itself. */
static int leika_for(ctx_t *c, xmlNodePtr at, const char *ref, char out[15]) {
    for (size_t i = 0; i < c->nl; i++)
        if (strcmp(c->lid[i], ref) == 0) {
            snprintf(out, 15, "%s", c->lkey[i]);
            return 0;
        }
    if (aw_cat_valid_leika(ref)) {
        snprintf(out, 15, "%s", ref);
        return 0;
    }
    char msg[200];
    snprintf(msg, sizeof msg,
             "leistungID '%.64s' names no leistung of this file and is no LeiKa key", ref);
    return fail(c, at, AW_EINVAL, msg);
}

/* LeiKa Textmodul codes → service fields (docs/catalog.md). */
static const char *textmodul_field(const char *code) {
    static const struct {
        const char *code, *field;
    } M[] = {
        {"01", "name"},       {"02", "name2"},     {"03", "longText"},
        {"04", "documents"},  {"06", "fees"},      {"08", "processingTime"},
        {"12", "legalBasis"}, {"14", "shortText"}, {"18", "shortText"},
    };
    for (size_t i = 0; i < sizeof M / sizeof *M; i++)
        if (strcmp(M[i].code, code) == 0) return M[i].field;
    return NULL;
}

static void set_str(json_t *o, const char *k, char *v) {
    if (v && *v) json_object_set_new(o, k, json_string(v));
    free(v);
}

static int do_leistung(ctx_t *c, xmlNodePtr n) {
    char *id = NULL, *key = NULL;
    json_t *s = json_object();
    aw_buf_t kw = AW_BUF_INIT;
    int rc = 0;
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!is_el(k)) continue;
        if (named(k, "id")) {
            free(id);
            id = text_of(k);
        } else if (named(k, "referenzLeiKa")) {
            free(key);
            key = code_of(k);
        } else if (named(k, "bezeichnung")) {
            if (!json_object_get(s, "name")) set_str(s, "name", text_of(k));
        } else if (named(k, "modulText")) {
            xmlNodePtr tm = child(k, "leikaTextmodul");
            if (!tm) tm = child(k, "textmodul");
            char *code = code_of(tm);
            const char *field = code ? textmodul_field(code) : NULL;
            free(code);
            if (!field) {
                skip(c, k);
                continue;
            }
            xmlNodePtr inh = NULL;
            for (xmlNodePtr i = k->children; i; i = i->next) {
                if (!named(i, "inhalt")) continue;
                xmlChar *lang = xmlGetProp(i, (const xmlChar *)"languageCode");
                bool de = !lang || strncmp((const char *)lang, "de", 2) == 0;
                xmlFree(lang);
                if (de && !inh) inh = i;
            }
            if (inh) set_str(s, field, text_of(inh));
        } else if (named(k, "modulBegriffImKontext")) {
            for (xmlNodePtr b = k->children; b; b = b->next) {
                if (!is_el(b)) continue;
                xmlNodePtr w = named(b, "begriff") ? b : child(b, "begriff");
                if (!w) {
                    skip(c, b);
                    continue;
                }
                char *t = text_of(w);
                if (t && *t) {
                    if (kw.len) aw_buf_puts(&kw, "; ");
                    aw_buf_puts(&kw, t);
                }
                free(t);
            }
        } else {
            skip(c, k);
        }
    }
    if (!id || !*id) {
        rc = fail(c, n, AW_EINVAL, "leistung without <id>");
        goto out;
    }
    if (!key || !aw_cat_valid_leika(key)) {
        rc = fail(c, n, AW_EINVAL, "leistung without a valid <referenzLeiKa> (99 and 12 digits)");
        goto out;
    }
    json_t *n2 = json_object_get(s, "name2");
    if (!json_object_get(s, "name") && n2) json_object_set(s, "name", n2);
    json_object_del(s, "name2");
    if (!json_object_get(s, "name")) {
        rc = fail(c, n, AW_EINVAL, "leistung without a name (modulText 01 or <bezeichnung>)");
        goto out;
    }
    json_object_set_new(s, "leikaKey", json_string(key));
    json_object_set_new(s, "xzufiId", json_string(id));
    if (kw.len && aw_buf_ok(&kw)) json_object_set_new(s, "keywords", json_string(kw.data));
    /* Keep an online service set earlier (by another import). */
    json_t *old = NULL;
    if (aw_cat_service_get(c->tx, key, &old, c->err) == 0) {
        json_t *os = json_object_get(old, "onlineService");
        if (os) json_object_set(s, "onlineService", os);
        json_decref(old);
    }
    aw_err_clear(c->err);
    rc = aw_cat_service_put(c->tx, s, NULL, NULL, c->err);
    if (rc != 0) {
        aw_err_prefix(c->err, "%s:%d", c->source, (int)xmlGetLineNo(n));
        goto out;
    }
    c->st->services++;
    rc = remember(c, id, key);
out:
    free(id);
    free(key);
    json_decref(s);
    aw_buf_free(&kw);
    return rc;
}

/* A slug from a name: folded, runs of other characters → '-'. */
static void slugify(const char *name, char *out, size_t n) {
    char f[512];
    aw_cat_fold(name, f, sizeof f);
    size_t o = 0;
    bool dash = false;
    for (const unsigned char *p = (const unsigned char *)f; *p && o + 2 < n && o < 50; p++) {
        char ch = 0;
        if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            ch = (char)*p;
        else if (*p == 0xC3 && p[1]) {
            static const char *from = "\xA4\xB6\xBC\x9F"; /* ä ö ü ß */
            const char *hit = strchr(from, p[1]);
            if (hit) {
                const char *rep[] = {"ae", "oe", "ue", "ss"};
                const char *r = rep[hit - from];
                if (dash && o) out[o++] = '-';
                dash = false;
                out[o++] = r[0];
                out[o++] = r[1];
                p++;
                continue;
            }
        }
        if (ch) {
            if (dash && o) out[o++] = '-';
            dash = false;
            out[o++] = ch;
        } else {
            dash = true;
        }
    }
    out[o] = '\0';
    if (o == 0) snprintf(out, n, "authority");
}

static int do_zustaendigkeit(ctx_t *c, xmlNodePtr n, const char *oe_ref) {
    char *lref = text_of(child(n, "leistungID"));
    char *oe = oe_ref ? strdup(oe_ref) : text_of(child(n, "organisationseinheitID"));
    char *geb = code_of(child(n, "gebietID"));
    int rc = 0;
    for (xmlNodePtr k = n->children; k; k = k->next)
        if (is_el(k) && !named(k, "leistungID") && !named(k, "organisationseinheitID") &&
            !named(k, "gebietID"))
            skip(c, k);
    char key[15], ars[13];
    if (!lref || !*lref) {
        rc = fail(c, n, AW_EINVAL, "zustaendigkeit without <leistungID>");
    } else if (!oe || !*oe) {
        rc = fail(c, n, AW_EINVAL, "zustaendigkeit without <organisationseinheitID>");
    } else if (!geb || !*geb) {
        rc = fail(c, n, AW_EINVAL, "zustaendigkeit without <gebietID>");
    } else if ((rc = leika_for(c, n, lref, key)) == 0) {
        ars_of(geb, ars, sizeof ars);
        rc = aw_cat_resp_add(c->tx, key, ars, oe, NULL, NULL, NULL, c->err);
        if (rc == AW_ECONFLICT) {
            /* the same responsibility again (re-import): not an error */
            rc = 0;
            aw_err_clear(c->err);
        } else if (rc != 0) {
            aw_err_prefix(c->err, "%s:%d", c->source, (int)xmlGetLineNo(n));
        } else {
            c->st->responsibilities++;
        }
    }
    free(lref);
    free(oe);
    free(geb);
    return rc;
}

static int do_organisationseinheit(ctx_t *c, xmlNodePtr n, xmlNodePtr **zust, size_t *nz,
                                   size_t *capz, char ***zoe) {
    char *id = text_of(child(n, "id"));
    json_t *a = json_object(), *addr = json_object(), *con = json_object();
    int rc = 0;
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!is_el(k) || named(k, "id")) continue;
        if (named(k, "name")) {
            xmlNodePtr inner = child(k, "name");
            set_str(a, "name", text_of(inner ? inner : k));
        } else if (named(k, "anschrift")) {
            char *str = text_of(child(k, "strasse")), *nr = text_of(child(k, "hausnummer"));
            if (str && *str) {
                char line[600];
                snprintf(line, sizeof line, "%s%s%s", str, nr && *nr ? " " : "", nr ? nr : "");
                json_object_set_new(addr, "street", json_string(line));
            }
            free(str);
            free(nr);
            set_str(addr, "postalCode", text_of(child(k, "postleitzahl")));
            set_str(addr, "city", text_of(child(k, "ort")));
        } else if (named(k, "kommunikation")) {
            char *kanal = code_of(child(k, "kanal"));
            char *v = text_of(child(k, "kennung"));
            if (v && *v) {
                const char *slot = strchr(v, '@')                      ? "email"
                                   : strncmp(v, "http", 4) == 0        ? "web"
                                   : kanal && strcasestr(kanal, "fax") ? "fax"
                                                                       : "phone";
                if (!json_object_get(con, slot)) json_object_set_new(con, slot, json_string(v));
            }
            free(kanal);
            free(v);
        } else if (named(k, "internetadresse")) {
            char *v = text_of(k);
            if (v && *v && !json_object_get(con, "web"))
                json_object_set_new(con, "web", json_string(v));
            free(v);
        } else if (named(k, "oeffnungszeiten")) {
            set_str(a, "openingHours", text_of(k));
        } else if (named(k, "zustaendigkeit")) {
            if (*nz == *capz) {
                size_t cap = *capz ? *capz * 2 : 16;
                xmlNodePtr *z = realloc(*zust, cap * sizeof *z);
                char **o = z ? realloc(*zoe, cap * sizeof *o) : NULL;
                if (z) *zust = z;
                if (!z || !o) {
                    rc = aw_err_set(c->err, AW_ENOMEM, "out of memory");
                    goto out;
                }
                *zoe = o;
                *capz = cap;
            }
            (*zust)[*nz] = k;
            (*zoe)[*nz] = strdup(id ? id : "");
            (*nz)++;
        } else {
            skip(c, k);
        }
    }
    if (!id || !*id) {
        rc = fail(c, n, AW_EINVAL, "organisationseinheit without <id>");
        goto out;
    }
    if (!json_object_get(a, "name")) {
        rc = fail(c, n, AW_EINVAL, "organisationseinheit without <name>");
        goto out;
    }
    if (json_object_size(addr)) json_object_set(a, "address", addr);
    if (json_object_size(con)) json_object_set(a, "contacts", con);
    json_object_set_new(a, "xzufiId", json_string(id));
    char tid[AW_UUID_STRLEN + 1] = "";
    json_t *old = NULL;
    if (aw_cat_authority_id(c->tx, id, tid, c->err) == 0 &&
        aw_cat_authority_get(c->tx, tid, &old, c->err) == 0) {
        json_object_set(a, "slug", json_object_get(old, "slug"));
        /* keep what XZuFi does not carry (branding, URLs, destination) */
        const char *keep[] = {"privacyUrl", "imprintUrl",    "logoUrl",
                              "colour",     "destinationId", "paymentAccount"};
        for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
            json_t *v = json_object_get(old, keep[i]);
            if (v) json_object_set(a, keep[i], v);
        }
        json_decref(old);
    } else {
        tid[0] = '\0';
        char slug[64];
        slugify(json_string_value(json_object_get(a, "name")), slug, sizeof slug);
        char probe[AW_UUID_STRLEN + 1];
        if (aw_cat_authority_id(c->tx, slug, probe, c->err) == 0) {
            char alt[64], sid[40];
            slugify(id, sid, sizeof sid);
            snprintf(alt, sizeof alt, "%.40s-%.20s", slug, sid);
            snprintf(slug, sizeof slug, "%s", alt);
        }
        json_object_set_new(a, "slug", json_string(slug));
    }
    aw_err_clear(c->err);
    rc = aw_cat_authority_put(c->tx, tid[0] ? tid : NULL, a, NULL, NULL, c->err);
    if (rc != 0)
        aw_err_prefix(c->err, "%s:%d", c->source, (int)xmlGetLineNo(n));
    else
        c->st->authorities++;
out:
    free(id);
    json_decref(a);
    json_decref(addr);
    json_decref(con);
    return rc;
}

static int do_onlinedienst(ctx_t *c, xmlNodePtr n) {
    json_t *os = json_object();
    int rc = 0;
    char keys[64][15];
    size_t nk = 0;
    for (xmlNodePtr k = n->children; k; k = k->next) {
        if (!is_el(k)) continue;
        if (named(k, "id") || named(k, "bezeichnung") || named(k, "link")) continue;
        if (named(k, "leistungID")) {
            char *ref = text_of(k);
            if (nk < 64 && ref) rc = leika_for(c, k, ref, keys[nk++]);
            free(ref);
            if (rc != 0) goto out;
        } else if (named(k, "parameter")) {
            char *pn = text_of(child(k, "parameterName")), *pv = text_of(child(k, "parameterWert"));
            if (pn && pv && *pv &&
                (strcmp(pn, "schemaId") == 0 || strcmp(pn, "schemaVersion") == 0 ||
                 strcmp(pn, "overlay") == 0))
                json_object_set_new(os, pn, json_string(pv));
            else
                skip(c, k);
            free(pn);
            free(pv);
        } else {
            skip(c, k);
        }
    }
    if (nk == 0) {
        rc = fail(c, n, AW_EINVAL, "onlinedienst without <leistungID>");
        goto out;
    }
    if (!json_object_get(os, "schemaId")) {
        rc = fail(c, n, AW_EINVAL, "onlinedienst without a parameter 'schemaId'");
        goto out;
    }
    for (size_t i = 0; i < nk && rc == 0; i++) {
        json_t *svc = NULL;
        rc = aw_cat_service_get(c->tx, keys[i], &svc, c->err);
        if (rc == 0) {
            json_object_set(svc, "onlineService", os);
            rc = aw_cat_service_put(c->tx, svc, NULL, NULL, c->err);
            json_decref(svc);
        }
        if (rc != 0) aw_err_prefix(c->err, "%s:%d", c->source, (int)xmlGetLineNo(n));
    }
    if (rc == 0) c->st->online_services++;
out:
    json_decref(os);
    return rc;
}

static bool has_doctype(const char *buf, size_t len) {
    for (size_t i = 0; i + 9 <= len; i++)
        if (buf[i] == '<' && buf[i + 1] == '!' && strncasecmp(buf + i, "<!DOCTYPE", 9) == 0)
            return true;
    return false;
}

int aw_cat__import_xzufi(aw_tx_t *tx, const char *data, size_t len, const char *source,
                         aw_cat_import_stats_t *st, aw_err_t *err) {
    if (len > INT32_MAX) return aw_err_set(err, AW_ETOOBIG, "%s: too large", source);
    if (has_doctype(data, len))
        return aw_err_set(err, AW_EINVAL,
                          "%s: document type declarations (<!DOCTYPE>) are not allowed", source);
    int lrc = aw_dl_xml_load(err);
    if (lrc < 0) return lrc;
    xmlParserCtxtPtr px = xmlNewParserCtxt();
    if (!px) return aw_err_set(err, AW_ENOMEM, "out of memory");
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc = xmlCtxtReadMemory(px, data, (int)len, NULL, "UTF-8", opts);
    if (!doc || !px->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(px);
        char msg[200] = "not well-formed";
        int line = 0;
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            size_t l = strlen(msg);
            while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' ')) msg[--l] = 0;
            line = e->line;
        }
        if (doc) xmlFreeDoc(doc);
        xmlFreeParserCtxt(px);
        return aw_err_set(err, AW_EINVAL, "%s:%d: XML error: %s", source, line, msg);
    }
    xmlFreeParserCtxt(px);
    int rc = 0;
    ctx_t c = {.tx = tx, .source = source, .st = st, .err = err};
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr *zust = NULL;
    char **zoe = NULL;
    size_t nz = 0, capz = 0;
    if (doc->intSubset || !root) {
        rc = aw_err_set(err, AW_EINVAL, "%s: no root element or a DTD", source);
        goto out;
    }
    if (!in_ns(root)) {
        rc = aw_err_set(err, AW_EINVAL,
                        "%s:%d: root element <%s> is not in the XZuFi 2.2 namespace " XZUFI_NS,
                        source, (int)xmlGetLineNo(root), (const char *)root->name);
        goto out;
    }
    /* Records are children of the root; pass 1: leistungen (others refer
     * to them), pass 2: organisationseinheiten, pass 3: onlinedienste and
     * stand-alone zustaendigkeiten, then the nested zustaendigkeiten. */
    for (int pass = 1; pass <= 3 && rc == 0; pass++) {
        for (xmlNodePtr n = root->children; n && rc == 0; n = n->next) {
            if (!is_el(n)) continue;
            if (pass == 1 && ++st->rows > MAX_RECORDS) {
                rc = aw_err_set(err, AW_ETOOBIG, "%s: more than %d records", source, MAX_RECORDS);
                break;
            }
            if (named(n, "leistung")) {
                if (pass == 1) rc = do_leistung(&c, n);
            } else if (named(n, "organisationseinheit")) {
                if (pass == 2) rc = do_organisationseinheit(&c, n, &zust, &nz, &capz, &zoe);
            } else if (named(n, "onlinedienst")) {
                if (pass == 3) rc = do_onlinedienst(&c, n);
            } else if (named(n, "zustaendigkeit")) {
                if (pass == 3) rc = do_zustaendigkeit(&c, n, NULL);
            } else if (pass == 1) {
                skip(&c, n);
            }
        }
    }
    for (size_t i = 0; i < nz && rc == 0; i++) rc = do_zustaendigkeit(&c, zust[i], zoe[i]);
out:
    for (size_t i = 0; i < nz; i++) free(zoe[i]);
    free(zoe);
    free(zust);
    for (size_t i = 0; i < c.nl; i++) {
        free(c.lid[i]);
        free(c.lkey[i]);
    }
    free(c.lid);
    free(c.lkey);
    xmlFreeDoc(doc);
    return rc;
}
