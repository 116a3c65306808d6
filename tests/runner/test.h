/*
 * test.h — the in-tree test runner (libuv style).
 *
 *   #include "test.h"
 *   TEST(buf_grows) { ... ASSERT_EQ(b.len, 3); }
 *
 * Tests register themselves (a constructor per TEST); the name shown is
 * "<file path below tests/ without .c>/<name>" (unit/base/buf/buf_grows).
 * Each test runs in its own forked process with a time bound, so a crash
 * or a hang fails that test only. A failed ASSERT prints file:line, the
 * expression and both values, and ends the test process.
 * TEST_SKIP("why") ends a test as skipped (e.g. PostgreSQL not installed).
 */
#ifndef AW_TEST_H
#define AW_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*aw_test_fn)(void);

void aw_test_register(const char *file, const char *name, aw_test_fn fn, int timeout_s);
void aw_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
void aw_test_skip(const char *why) __attribute__((noreturn));

#define AW_TEST_TIMEOUT 60

#define TEST_T(name, timeout)                                           \
    static void aw_test_##name(void);                                   \
    __attribute__((constructor)) static void aw_test_reg_##name(void) { \
        aw_test_register(__FILE__, #name, aw_test_##name, timeout);     \
    }                                                                   \
    static void aw_test_##name(void)

#define TEST(name) TEST_T(name, AW_TEST_TIMEOUT)

#define TEST_SKIP(why) aw_test_skip(why)

#define ASSERT(cond)                                                               \
    do {                                                                           \
        if (!(cond)) aw_test_fail(__FILE__, __LINE__, "ASSERT(%s) failed", #cond); \
    } while (0)

#define ASSERT_MSG(cond, ...)                                       \
    do {                                                            \
        if (!(cond)) aw_test_fail(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

#define ASSERT_EQ(a, b)                                                                      \
    do {                                                                                     \
        intmax_t aw_a_ = (intmax_t)(a), aw_b_ = (intmax_t)(b);                               \
        if (aw_a_ != aw_b_)                                                                  \
            aw_test_fail(__FILE__, __LINE__, "ASSERT_EQ(%s, %s) failed: %jd != %jd", #a, #b, \
                         aw_a_, aw_b_);                                                      \
    } while (0)

#define ASSERT_NE(a, b)                                                                            \
    do {                                                                                           \
        intmax_t aw_a_ = (intmax_t)(a), aw_b_ = (intmax_t)(b);                                     \
        if (aw_a_ == aw_b_)                                                                        \
            aw_test_fail(__FILE__, __LINE__, "ASSERT_NE(%s, %s) failed: both %jd", #a, #b, aw_a_); \
    } while (0)

#define AW_ASSERT_CMP(a, op, b)                                                                  \
    do {                                                                                         \
        intmax_t aw_a_ = (intmax_t)(a), aw_b_ = (intmax_t)(b);                                   \
        if (!(aw_a_ op aw_b_))                                                                   \
            aw_test_fail(__FILE__, __LINE__, "ASSERT(%s %s %s) failed: %jd vs %jd", #a, #op, #b, \
                         aw_a_, aw_b_);                                                          \
    } while (0)
#define ASSERT_LT(a, b) AW_ASSERT_CMP(a, <, b)
#define ASSERT_LE(a, b) AW_ASSERT_CMP(a, <=, b)
#define ASSERT_GT(a, b) AW_ASSERT_CMP(a, >, b)
#define ASSERT_GE(a, b) AW_ASSERT_CMP(a, >=, b)

#define ASSERT_DBL_NEAR(a, b, eps)                                                               \
    do {                                                                                         \
        double aw_a_ = (a), aw_b_ = (b);                                                         \
        if (!(aw_a_ - aw_b_ <= (eps) && aw_b_ - aw_a_ <= (eps)))                                 \
            aw_test_fail(__FILE__, __LINE__, "ASSERT_DBL_NEAR(%s, %s) failed: %g vs %g", #a, #b, \
                         aw_a_, aw_b_);                                                          \
    } while (0)

#define ASSERT_STR(a, b)                                                              \
    do {                                                                              \
        const char *aw_a_ = (a), *aw_b_ = (b);                                        \
        if (!aw_a_ || !aw_b_ || strcmp(aw_a_, aw_b_) != 0)                            \
            aw_test_fail(__FILE__, __LINE__,                                          \
                         "ASSERT_STR(%s, %s) failed:\n  left:  \"%s\"\n  "            \
                         "right: \"%s\"",                                             \
                         #a, #b, aw_a_ ? aw_a_ : "(null)", aw_b_ ? aw_b_ : "(null)"); \
    } while (0)

#define ASSERT_CONTAINS(hay, needle)                                      \
    do {                                                                  \
        const char *aw_h_ = (hay), *aw_n_ = (needle);                     \
        if (!aw_h_ || !strstr(aw_h_, aw_n_))                              \
            aw_test_fail(__FILE__, __LINE__,                              \
                         "ASSERT_CONTAINS(%s, %s) failed:\n  haystack: "  \
                         "\"%.2000s\"\n  needle: \"%s\"",                 \
                         #hay, #needle, aw_h_ ? aw_h_ : "(null)", aw_n_); \
    } while (0)

#define ASSERT_NOT_CONTAINS(hay, needle)                                                         \
    do {                                                                                         \
        const char *aw_h_ = (hay), *aw_n_ = (needle);                                            \
        if (aw_h_ && strstr(aw_h_, aw_n_))                                                       \
            aw_test_fail(__FILE__, __LINE__, "ASSERT_NOT_CONTAINS(%s, %s) failed: found \"%s\"", \
                         #hay, #needle, aw_n_);                                                  \
    } while (0)

#define ASSERT_MEM(a, b, n)                                                                \
    do {                                                                                   \
        if (memcmp((a), (b), (n)) != 0)                                                    \
            aw_test_fail(__FILE__, __LINE__, "ASSERT_MEM(%s, %s, %s) failed", #a, #b, #n); \
    } while (0)

#define ASSERT_NULL(p)     ASSERT_MSG((p) == NULL, "ASSERT_NULL(%s) failed", #p)
#define ASSERT_NOT_NULL(p) ASSERT_MSG((p) != NULL, "ASSERT_NOT_NULL(%s) failed", #p)

/* Environment the runner's caller provides (see Makefile `check`). */
const char *aw_test_bin(void);    /* the amtsweg binary under test (ASan build) */
const char *aw_test_srcdir(void); /* repository root */
/* A fresh private directory for this test, removed after a passing run. */
const char *aw_test_tmpdir(void);
/* Runs a shell command; returns its exit status (or -1). Output is passed
 * through to the test's captured output. */
int aw_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a whole file (NUL-terminated, caller frees); NULL if missing. */
char *aw_test_read_file(const char *path, size_t *len);

#endif
