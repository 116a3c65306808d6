/*
 * dl_curl — libcurl.so.4 (HTTP client library libcurl), loaded on first use; see base/dl.h.
 *
 * Include this instead of the library's headers. Every function amtsweg
 * uses is redirected to a pointer filled by aw_dl_curl_load(); call that at
 * the entry point of a feature before the first library call. Users:
 * src/delivery/callback.c, src/delivery/inbox.c, src/catalog/assist.c.
 * A function not listed below fails to link in the amtsweg binary:
 * add it to AW_DL_CURL_FUNCS.
 */
#ifndef AW_BASE_DL_CURL_H
#define AW_BASE_DL_CURL_H

#include <curl/curl.h>

#include "base/dl.h"

#define AW_DL_CURL_FUNCS(X) \
    X(curl_easy_cleanup)    \
    X(curl_easy_escape)     \
    X(curl_easy_getinfo)    \
    X(curl_easy_init)       \
    X(curl_easy_perform)    \
    X(curl_easy_setopt)     \
    X(curl_easy_strerror)   \
    X(curl_free)            \
    X(curl_global_init)     \
    X(curl_slist_append)    \
    X(curl_slist_free_all)

AW_DL_DECLARE(curl, AW_DL_CURL_FUNCS)

#ifndef AW_DL_IMPL
/* curl_easy_setopt and curl_easy_getinfo are not redirected: curl.h wraps
 * them in type-checking macros (typecheck-gcc.h: a value of the wrong type
 * for an option is an error in `make curl-typecheck`, part of `make
 * check`), which end in a call of the function itself. dl_libs.c defines
 * both functions; they pass the one value on to the library's, read from
 * the arguments by the option's type as libcurl does. */
#define curl_easy_cleanup   (*aw_dl_curl_fn.curl_easy_cleanup)
#define curl_easy_escape    (*aw_dl_curl_fn.curl_easy_escape)
#define curl_easy_init      (*aw_dl_curl_fn.curl_easy_init)
#define curl_easy_perform   (*aw_dl_curl_fn.curl_easy_perform)
#define curl_easy_strerror  (*aw_dl_curl_fn.curl_easy_strerror)
#define curl_free           (*aw_dl_curl_fn.curl_free)
#define curl_global_init    (*aw_dl_curl_fn.curl_global_init)
#define curl_slist_append   (*aw_dl_curl_fn.curl_slist_append)
#define curl_slist_free_all (*aw_dl_curl_fn.curl_slist_free_all)
#endif

#endif
