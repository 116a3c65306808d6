/* Loader of the demo catalogue TSV (format in finder.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/finder.h"

enum { COLS = 9, MAX_BYTES = 4 << 20 };

void aw_finder_catalog_free(aw_finder_catalog_t *cat) {
    if (!cat) return;
    if (cat->extra)
        for (size_t i = 0; i < cat->n; i++) free(cat->extra[i]);
    free(cat->extra);
    free(cat->docs);
    free(cat->data);
    free(cat->documents);
    free(cat->fees);
    free(cat->legal_basis);
    free(cat->processing_time);
    memset(cat, 0, sizeof *cat);
}

int aw_finder_catalog_load(const char *path, aw_finder_catalog_t *cat, aw_err_t *err) {
    memset(cat, 0, sizeof *cat);
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return aw_err_set(err, e == ENOENT ? AW_ENOTFOUND : AW_EIO, "catalogue %s: %s", path,
                          strerror(e));
    }
    char *data = malloc(MAX_BYTES + 1);
    if (!data) {
        fclose(f);
        return aw_err_set(err, AW_ENOMEM, "catalogue: out of memory");
    }
    size_t len = fread(data, 1, MAX_BYTES + 1, f);
    int rd = ferror(f);
    fclose(f);
    if (rd) {
        free(data);
        return aw_err_set(err, AW_EIO, "catalogue %s: read error", path);
    }
    if (len > MAX_BYTES) {
        free(data);
        return aw_err_set(err, AW_ETOOBIG, "catalogue %s: larger than %d bytes", path, MAX_BYTES);
    }
    data[len] = 0;
    if (memchr(data, 0, len)) {
        free(data);
        return aw_err_set(err, AW_EINVAL, "catalogue %s: contains a NUL byte", path);
    }
    cat->data = data;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++) lines += data[i] == '\n';
    size_t cap = lines + 1;
    if (cap > AW_FINDER_DOCS_MAX + 1) cap = AW_FINDER_DOCS_MAX + 1;
    cat->docs = calloc(cap, sizeof *cat->docs);
    cat->extra = calloc(cap, sizeof *cat->extra);
    cat->documents = calloc(cap, sizeof(char *));
    cat->fees = calloc(cap, sizeof(char *));
    cat->legal_basis = calloc(cap, sizeof(char *));
    cat->processing_time = calloc(cap, sizeof(char *));
    if (!cat->docs || !cat->extra || !cat->documents || !cat->fees || !cat->legal_basis ||
        !cat->processing_time) {
        aw_finder_catalog_free(cat);
        return aw_err_set(err, AW_ENOMEM, "catalogue: out of memory");
    }
    char *p = data;
    size_t line = 0;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line++;
        char *end = p + strlen(p);
        if (end > p && end[-1] == '\r') *--end = 0;
        if (line > 1 && *p) {
            if (cat->n >= AW_FINDER_DOCS_MAX) {
                aw_finder_catalog_free(cat);
                return aw_err_set(err, AW_ETOOBIG, "catalogue %s: more than %d services", path,
                                  AW_FINDER_DOCS_MAX);
            }
            char *col[COLS];
            size_t nc = 0;
            char *s = p;
            for (;;) {
                char *tab = strchr(s, '\t');
                if (nc < COLS) col[nc] = s;
                nc++;
                if (!tab) break;
                *tab = 0;
                s = tab + 1;
            }
            if (nc != COLS) {
                aw_finder_catalog_free(cat);
                return aw_err_set(err, AW_EINVAL, "catalogue %s line %zu: %zu columns, expected %d",
                                  path, line, nc, COLS);
            }
            size_t i = cat->n;
            aw_finder_doc_t *d = &cat->docs[i];
            d->leika = col[0];
            d->name = col[1];
            d->keywords = col[2];
            d->short_text = col[3];
            d->long_text = col[4];
            cat->documents[i] = col[5];
            cat->fees[i] = col[6];
            cat->legal_basis[i] = col[7];
            cat->processing_time[i] = col[8];
            size_t el = strlen(col[5]) + strlen(col[6]) + strlen(col[7]) + strlen(col[8]) + 8;
            cat->extra[i] = malloc(el);
            if (!cat->extra[i]) {
                aw_finder_catalog_free(cat);
                return aw_err_set(err, AW_ENOMEM, "catalogue: out of memory");
            }
            snprintf(cat->extra[i], el, "%s. %s. %s. %s", col[5], col[6], col[7], col[8]);
            d->extra = cat->extra[i];
            if (strlen(d->leika) != 14 || strncmp(d->leika, "99", 2) != 0 ||
                strspn(d->leika, "0123456789") != 14) {
                cat->n++;
                aw_finder_catalog_free(cat);
                return aw_err_set(err, AW_EINVAL, "catalogue %s line %zu: bad LeiKa key", path,
                                  line);
            }
            cat->n++;
        }
        if (!nl) break;
        p = nl + 1;
    }
    if (cat->n == 0) {
        aw_finder_catalog_free(cat);
        return aw_err_set(err, AW_EINVAL, "catalogue %s: no services", path);
    }
    return 0;
}
