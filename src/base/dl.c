#include "base/dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One lock for all libraries: loading happens a handful of times per process. */
static pthread_mutex_t dl_mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 3, 4))) static int fail(aw_dl_lib_t *lib, int code, const char *fmt,
                                                      ...) {
    int n = snprintf(lib->errmsg, sizeof lib->errmsg, "%s %s: ", lib->what, lib->soname);
    if (n < 0 || (size_t)n >= sizeof lib->errmsg) n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lib->errmsg + n, sizeof lib->errmsg - (size_t)n, fmt, ap);
    va_end(ap);
    __atomic_store_n(&lib->state, code, __ATOMIC_RELEASE);
    return code;
}

static int load_locked(aw_dl_lib_t *lib) {
    /* RTLD_LOCAL keeps the library's symbols out of the global namespace;
     * RTLD_NOW surfaces a broken install here, not in the middle of a call. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return fail(lib, AW_EUNSUPPORTED, "cannot be loaded (%s); install the Debian package %s",
                    why ? why : "not found", lib->package);
    }
    for (size_t i = 0; i < lib->nsyms; i++) {
        dlerror();
        void *p = dlsym(h, lib->syms[i].name);
        if (!p) {
            dlclose(h);
            return fail(lib, AW_EUNSUPPORTED, "has no symbol %s (version too old?)",
                        lib->syms[i].name);
        }
        /* POSIX guarantees a function address survives the trip through
         * void *; memcpy keeps the compiler's aliasing rules out of it. */
        memcpy(lib->syms[i].slot, &p, sizeof p);
    }
    if (lib->init) {
        aw_err_t e = {0};
        int rc = lib->init(&e);
        if (rc < 0) return fail(lib, rc, "initialisation failed: %s", e.msg);
    }
    __atomic_store_n(&lib->state, 1, __ATOMIC_RELEASE);
    return 0;
}

int aw_dl_load(aw_dl_lib_t *lib, aw_err_t *err) {
    int st = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);
    if (st == 0) {
        pthread_mutex_lock(&dl_mu);
        if (lib->state == 0) load_locked(lib);
        st = lib->state;
        pthread_mutex_unlock(&dl_mu);
    }
    if (st == 1) return 0;
    return aw_err_set(err, st, "%s", lib->errmsg);
}

int aw_dl_loaded(const aw_dl_lib_t *lib) {
    return __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE) == 1;
}
