/*
 * dl_stemmer — libstemmer.so.0d (Snowball stemmer libstemmer), loaded on first use; see base/dl.h.
 *
 * Include this instead of the library's headers. Every function amtsweg
 * uses is redirected to a pointer filled by aw_dl_stemmer_load(); call that at
 * the entry point of a feature before the first library call. Users:
 * src/catalog/tokenizer.c.
 * A function not listed below fails to link in the amtsweg binary:
 * add it to AW_DL_STEMMER_FUNCS.
 */
#ifndef AW_BASE_DL_STEMMER_H
#define AW_BASE_DL_STEMMER_H

#include <libstemmer.h>

#include "base/dl.h"

#define AW_DL_STEMMER_FUNCS(X) \
    X(sb_stemmer_delete)       \
    X(sb_stemmer_length)       \
    X(sb_stemmer_new)          \
    X(sb_stemmer_stem)

AW_DL_DECLARE(stemmer, AW_DL_STEMMER_FUNCS)

#ifndef AW_DL_IMPL
#define sb_stemmer_delete (*aw_dl_stemmer_fn.sb_stemmer_delete)
#define sb_stemmer_length (*aw_dl_stemmer_fn.sb_stemmer_length)
#define sb_stemmer_new    (*aw_dl_stemmer_fn.sb_stemmer_new)
#define sb_stemmer_stem   (*aw_dl_stemmer_fn.sb_stemmer_stem)
#endif

#endif
