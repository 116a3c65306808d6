/*
 * fixture — runs one test body against every engine:
 *
 *   STORE_TEST(name) { ... f->st ... }
 *
 * defines sqlite_name (a database file in the test's tmpdir) and pg_name (a
 * throwaway cluster from pg_harness; skipped without PostgreSQL). The store
 * is open and migrated when the body starts and closed after it.
 */
#ifndef AW_TEST_STORE_FIXTURE_H
#define AW_TEST_STORE_FIXTURE_H

#include "pg_harness.h"
#include "store/store.h"
#include "test.h"

typedef struct store_fixture {
    char url[1024];
    aw_store_t *st;
    aw_store_opts_t opts;
    aw_pg_harness_t pg;
    bool is_pg;
} store_fixture_t;

/* Sets f->url for the engine (starting PostgreSQL when asked). */
void fx_init(store_fixture_t *f, bool pg);
/* Opens f->url with f->opts and migrates; asserts success. */
void fx_open(store_fixture_t *f);
void fx_close(store_fixture_t *f);
void fx_end(store_fixture_t *f);

#define STORE_TEST_T(name, timeout)                    \
    static void store_body_##name(store_fixture_t *f); \
    TEST_T(sqlite_##name, timeout) {                   \
        store_fixture_t f;                             \
        fx_init(&f, false);                            \
        store_body_##name(&f);                         \
        fx_end(&f);                                    \
    }                                                  \
    TEST_T(pg_##name, timeout) {                       \
        store_fixture_t f;                             \
        fx_init(&f, true);                             \
        store_body_##name(&f);                         \
        fx_end(&f);                                    \
    }                                                  \
    static void store_body_##name(store_fixture_t *f)

#define STORE_TEST(name) STORE_TEST_T(name, AW_TEST_TIMEOUT)

/* ASSERT that an aw_* call returned 0, printing the error message if not. */
#define ASSERT_OK(call, errp)                                                                 \
    do {                                                                                      \
        int aw_rc_ = (call);                                                                  \
        if (aw_rc_ != 0)                                                                      \
            aw_test_fail(__FILE__, __LINE__, "%s failed: %s: %s", #call, aw_err_name(aw_rc_), \
                         (errp)->msg);                                                        \
    } while (0)

#endif
