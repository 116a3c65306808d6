/*
 * dl — optional shared libraries, loaded on first use.
 *
 * libpq (PostgreSQL), libcurl (callbacks, inbox, assist), libxml2 (FIM and
 * XZuFi import) and libstemmer (finder) are not linked into the amtsweg
 * binary. Linked libraries are mapped and relocated at start-up whether a
 * process uses them or not; these four with their own dependencies (Kerberos,
 * LDAP, ICU, libstdc++, ...) cost ≈ 4 MB of resident memory in every idle
 * `amtsweg serve`, most of which serves features a given deployment may never
 * touch (a SQLite deployment never needs libpq). They are opened with
 * dlopen(3) by exact soname – the ABI the headers were compiled against – the
 * first time a feature needs them (systemd does the same for its optional
 * libraries).
 *
 * Callers include the library's shim header (dl_pq.h, dl_curl.h, dl_xml.h,
 * dl_stemmer.h) instead of, or after, the library's own headers: the shim
 * includes them and then redirects every function amtsweg uses to a pointer
 * that the matching aw_dl_*_load() fills. Code calls the library as before
 * (PQexec(...), xmlFree(p)); the entry points of each feature call the load
 * function first and pass its error on. Loading is thread-safe and happens
 * once; a failure is remembered and reported the same way on every later
 * call ("PostgreSQL client library libpq.so.5: cannot be loaded (...); install the
 * Debian package libpq5"). Libraries stay loaded until the process exits.
 */
#ifndef AW_BASE_DL_H
#define AW_BASE_DL_H

#include <stddef.h>

#include "base/err.h"

typedef struct aw_dl_sym {
    const char *name;
    void *slot; /* address of the function pointer (or data pointer) to fill */
} aw_dl_sym_t;

typedef struct aw_dl_lib {
    const char *soname;  /* e.g. "libpq.so.5" */
    const char *what;    /* e.g. "PostgreSQL client library" */
    const char *package; /* Debian package that ships soname */
    const aw_dl_sym_t *syms;
    size_t nsyms;
    int (*init)(aw_err_t *err); /* optional, runs once after all symbols resolved */
    /* state, owned by aw_dl_load */
    int state; /* 0 not tried, 1 loaded, negative: AW_E* of the failure */
    char errmsg[AW_ERR_MSG_MAX];
} aw_dl_lib_t;

/* Opens lib and resolves its symbols once; 0 when usable. Thread-safe; after
 * the first call the answer is one atomic load. */
int aw_dl_load(aw_dl_lib_t *lib, aw_err_t *err);

/* 1 when lib has been loaded in this process (for tests and diagnostics). */
int aw_dl_loaded(const aw_dl_lib_t *lib);

/* For the shim headers: declares the pointer table aw_dl_<k>_fn (one member
 * per function in FUNCS, typed with __typeof__ of the library's own
 * prototype, plus the extra members given), aw_dl_<k>_lib and
 * aw_dl_<k>_load(). */
#define AW_DL_FIELD_(f) __typeof__(f) *f;
#define AW_DL_DECLARE(k, FUNCS, ...)                    \
    typedef struct aw_dl_##k##_fn {                     \
        FUNCS(AW_DL_FIELD_)                             \
        __VA_ARGS__                                     \
    } aw_dl_##k##_fn_t;                                 \
    extern aw_dl_##k##_fn_t aw_dl_##k##_fn;             \
    extern aw_dl_lib_t aw_dl_##k##_lib;                 \
    static inline int aw_dl_##k##_load(aw_err_t *err) { \
        return aw_dl_load(&aw_dl_##k##_lib, err);       \
    }

#endif
