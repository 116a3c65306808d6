/* The tables behind dl_pq.h, dl_curl.h, dl_xml.h and dl_stemmer.h. */
#define AW_DL_IMPL 1

#include "base/dl_curl.h"
#include "base/dl_pq.h"
#include "base/dl_stemmer.h"
#include "base/dl_xml.h"

#include <stdarg.h>

/* One table entry per function: its name and the member of the pointer table
 * (CUR, defined per library below) that dlsym's answer goes into. */
#define SYM_(f) {#f, &CUR.f},
#define LIB(k, so, what_, pkg, init_)                                  \
    {                                                                  \
        .soname = so, .what = what_, .package = pkg, .syms = k##_syms, \
        .nsyms = sizeof k##_syms / sizeof k##_syms[0], .init = init_   \
    }

#define CUR aw_dl_pq_fn
aw_dl_pq_fn_t CUR;
static const aw_dl_sym_t pq_syms[] = {AW_DL_PQ_FUNCS(SYM_)};
#undef CUR

#define CUR aw_dl_curl_fn
aw_dl_curl_fn_t CUR;
static const aw_dl_sym_t curl_syms[] = {AW_DL_CURL_FUNCS(SYM_)};
#undef CUR

/* The two variadic curl functions, defined here so that curl.h's
 * type-checking macros stay in force at every call (see dl_curl.h). Every
 * option takes one value whose type its number range says (curl.h,
 * CURLOPTTYPE_*); every info item one pointer. The parentheses keep the
 * macros from expanding. */
CURLcode(curl_easy_setopt)(CURL *c, CURLoption opt, ...) {
    CURLcode (*set)(CURL *, CURLoption, ...) = aw_dl_curl_fn.curl_easy_setopt;
    va_list ap;
    va_start(ap, opt);
    CURLcode rc;
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = set(c, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_FUNCTIONPOINT || opt >= CURLOPTTYPE_BLOB)
        rc = set(c, opt, va_arg(ap, void *));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = set(c, opt, va_arg(ap, void (*)(void)));
    else
        rc = set(c, opt, va_arg(ap, curl_off_t));
    va_end(ap);
    return rc;
}

CURLcode(curl_easy_getinfo)(CURL *c, CURLINFO info, ...) {
    CURLcode (*get)(CURL *, CURLINFO, ...) = aw_dl_curl_fn.curl_easy_getinfo;
    va_list ap;
    va_start(ap, info);
    CURLcode rc = get(c, info, va_arg(ap, void *));
    va_end(ap);
    return rc;
}

#define CUR aw_dl_xml_fn
aw_dl_xml_fn_t CUR;
static const aw_dl_sym_t xml_syms[] = {AW_DL_XML_FUNCS(SYM_) SYM_(xmlFree)};
#undef CUR

#define CUR aw_dl_stemmer_fn
aw_dl_stemmer_fn_t CUR;
static const aw_dl_sym_t stemmer_syms[] = {AW_DL_STEMMER_FUNCS(SYM_)};
#undef CUR

static int xml_init(aw_err_t *err) {
    (void)err;
    aw_dl_xml_fn.xmlInitParser();
    return 0;
}

static int curl_init(aw_err_t *err) {
    CURLcode rc = aw_dl_curl_fn.curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return aw_err_set(err, AW_EINTERNAL, "curl_global_init: %s",
                          aw_dl_curl_fn.curl_easy_strerror(rc));
    return 0;
}

aw_dl_lib_t aw_dl_pq_lib = LIB(pq, "libpq.so.5", "PostgreSQL client library", "libpq5", NULL);
aw_dl_lib_t aw_dl_curl_lib =
    LIB(curl, "libcurl.so.4", "HTTP client library", "libcurl4", curl_init);
aw_dl_lib_t aw_dl_xml_lib = LIB(xml, "libxml2.so.2", "XML parser", "libxml2", xml_init);
aw_dl_lib_t aw_dl_stemmer_lib =
    LIB(stemmer, "libstemmer.so.0d", "Snowball stemmer", "libstemmer0d", NULL);
