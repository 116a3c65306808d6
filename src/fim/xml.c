/*
 * xml — safe XML reading and small helpers shared by the FIM parsers.
 *
 * Why a DOCTYPE is refused outright instead of parsed without expansion: FIM
 * messages never carry one, and refusing it before libxml2 sees the entity
 * declarations closes XXE and entity-amplification ("billion laughs") attacks
 * whatever the libxml2 version does with declared entities.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fim/internal.h"

static bool has_doctype(const char *buf, size_t len) {
    static const char pat[] = "<!DOCTYPE";
    const size_t pl = sizeof pat - 1;
    if (len < pl) return false;
    for (size_t i = 0; i + pl <= len; i++) {
        if (buf[i] == '<' && buf[i + 1] == '!' && strncasecmp(buf + i, pat, pl) == 0) return true;
    }
    return false;
}

int aw_fim__xml_read(const char *buf, size_t len, const char *name, xmlDocPtr *out, aw_err_t *err) {
    *out = NULL;
    if (len > AW_FIM_MAX_XML_BYTES)
        return aw_err_set(err, AW_ETOOBIG, "%s: file is %zu bytes, more than the limit of %u", name,
                          len, AW_FIM_MAX_XML_BYTES);
    if (len >= 2 && (((unsigned char)buf[0] == 0xFE && (unsigned char)buf[1] == 0xFF) ||
                     ((unsigned char)buf[0] == 0xFF && (unsigned char)buf[1] == 0xFE) ||
                     buf[0] == 0 || buf[1] == 0))
        return aw_err_set(err, AW_EUNSUPPORTED, "%s: only UTF-8 XML is accepted", name);
    if (has_doctype(buf, len))
        return aw_err_set(err, AW_EINVAL,
                          "%s: document type declarations (<!DOCTYPE>) are not allowed in FIM "
                          "files (entity expansion / external entities refused)",
                          name);
    int lrc = aw_dl_xml_load(err);
    if (lrc < 0) return lrc;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) return aw_err_set(err, AW_ENOMEM, "%s: out of memory", name);
    /* No XML_PARSE_NOENT (no entity substitution), no XML_PARSE_DTDLOAD,
     * no XML_PARSE_HUGE (libxml2 keeps its depth and text-size limits). */
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, "UTF-8", opts);
    if (!doc || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[200] = "not well-formed";
        int line = 0;
        if (e && e->message) {
            snprintf(msg, sizeof msg, "%s", e->message);
            size_t l = strlen(msg);
            while (l && (msg[l - 1] == '\n' || msg[l - 1] == ' ')) msg[--l] = 0;
            line = e->line;
        }
        if (doc) xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctxt);
        return aw_err_set(err, AW_EINVAL, "%s:%d: XML error: %s", name, line, msg);
    }
    xmlFreeParserCtxt(ctxt);
    if (doc->intSubset || doc->extSubset) {
        xmlFreeDoc(doc);
        return aw_err_set(err, AW_EINVAL, "%s: document type declarations are not allowed", name);
    }
    if (!xmlDocGetRootElement(doc)) {
        xmlFreeDoc(doc);
        return aw_err_set(err, AW_EINVAL, "%s: no root element", name);
    }
    *out = doc;
    return 0;
}

int aw_fim__read_file(const char *path, size_t max, char **out, size_t *len, aw_err_t *err) {
    *out = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return aw_err_set(err, AW_ENOTFOUND, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return aw_err_set(err, AW_EINVAL, "%s: is a directory", path);
    }
    size_t cap = 65536, n = 0;
    char *b = malloc(cap + 1);
    if (!b) {
        fclose(f);
        return aw_err_set(err, AW_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) break;
            cap *= 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return aw_err_set(err, AW_ENOMEM, "%s: out of memory", path);
            }
            b = nb;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        if (r == 0) break;
        n += r;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        free(b);
        return aw_err_set(err, AW_EIO, "%s: read error", path);
    }
    if (n > max) {
        free(b);
        return aw_err_set(err, AW_ETOOBIG, "%s: file is larger than the limit of %zu bytes", path,
                          max);
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 0;
}

bool aw_fim__is(xmlNodePtr n, const char *local) {
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, local) == 0;
}

xmlNodePtr aw_fim__child(xmlNodePtr n, const char *local) {
    if (!n) return NULL;
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (aw_fim__is(c, local)) return c;
    return NULL;
}

char *aw_fim__text(aw_arena_t *a, xmlNodePtr n) {
    if (!n) return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    if (!t) return aw_arena_strdup(a, "");
    const char *s = (const char *)t;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1])) l--;
    while (l && isspace((unsigned char)*s)) s++, l--;
    char *r = aw_arena_strndup(a, s, l);
    xmlFree(t);
    return r;
}

size_t aw_fim__utf8_len(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    return c;
}

static int days_in_month(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return d[m - 1];
}

static bool digits(const char *s, int n) {
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int num(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* Same grammar as ajv-formats "date" (full mode). */
static bool date_prefix(const char *s) {
    if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
        return false;
    int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
    return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

bool aw_fim__is_date(const char *s) {
    return strlen(s) == 10 && date_prefix(s);
}

/* hh:mm or hh:mm:ss (local time of day, as forms enter it). */
bool aw_fim__is_time(const char *s) {
    size_t l = strlen(s);
    if (l != 5 && l != 8) return false;
    if (!digits(s, 2) || s[2] != ':' || !digits(s + 3, 2)) return false;
    if (num(s, 2) > 23 || num(s + 3, 2) > 59) return false;
    if (l == 8 && (s[5] != ':' || !digits(s + 6, 2) || num(s + 6, 2) > 59)) return false;
    return true;
}

/* RFC 3339 date-time with offset, as ajv-formats "date-time" (without the
 * leap-second case). */
bool aw_fim__is_datetime(const char *s) {
    size_t l = strlen(s);
    if (l < 20 || !date_prefix(s)) return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
    const char *t = s + 11;
    if (!digits(t, 2) || t[2] != ':' || !digits(t + 3, 2) || t[5] != ':' || !digits(t + 6, 2))
        return false;
    if (num(t, 2) > 23 || num(t + 3, 2) > 59 || num(t + 6, 2) > 59) return false;
    t += 8;
    if (*t == '.') {
        t++;
        if (!(*t >= '0' && *t <= '9')) return false;
        while (*t >= '0' && *t <= '9') t++;
    }
    if (*t == 'Z' || *t == 'z') return t[1] == 0;
    if (*t != '+' && *t != '-') return false;
    t++;
    if (!digits(t, 2) || num(t, 2) > 23) return false;
    t += 2;
    if (*t == ':') t++;
    if (!digits(t, 2) || num(t, 2) > 59) return false;
    return t[2] == 0;
}

bool aw_fim__parse_num(const char *s, double *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || end == s || isspace((unsigned char)*s)) return false;
    *out = v;
    return true;
}

bool aw_fim__parse_uint(const char *s, uint32_t *out) {
    if (!s || !*s) return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX - 1) return false;
    }
    *out = (uint32_t)v;
    return true;
}

const char *aw_fim__norm_id(const char *id, char out[32]) {
    size_t l = id ? strlen(id) : 0;
    if (l == 9 && isupper((unsigned char)id[0]) && digits(id + 1, 8)) {
        memcpy(out, id, 3);
        memcpy(out + 3, "000", 3);
        memcpy(out + 6, id + 3, 6);
        out[12] = 0;
        return out;
    }
    if (l >= 32) l = 31;
    if (l) memcpy(out, id, l);
    out[l] = 0;
    return out;
}

bool aw_fim__id_eq(const char *a, const char *b) {
    if (!a || !b) return false;
    if (strcmp(a, b) == 0) return true;
    char x[32], y[32];
    return strcmp(aw_fim__norm_id(a, x), aw_fim__norm_id(b, y)) == 0;
}
