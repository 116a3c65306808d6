#include "base/arena.h"
#include "test.h"

#include <stdint.h>

TEST(alloc_aligned_and_many) {
    aw_arena_t a;
    aw_arena_init(&a, 1024, 0);
    for (int i = 0; i < 10000; i++) {
        void *p = aw_arena_alloc(&a, (size_t)(i % 37) + 1);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    aw_arena_free(&a);
    ASSERT_EQ(a.used, 0);
}

TEST(big_allocation_keeps_head_usable) {
    aw_arena_t a;
    aw_arena_init(&a, 1024, 0);
    char *small = aw_arena_strdup(&a, "x");
    char *big = aw_arena_alloc(&a, 100000);
    ASSERT_NOT_NULL(big);
    memset(big, 1, 100000);
    char *small2 = aw_arena_strdup(&a, "y");
    ASSERT_STR(small, "x");
    ASSERT_STR(small2, "y");
    aw_arena_free(&a);
}

TEST(limit_refuses) {
    aw_arena_t a;
    aw_arena_init(&a, 1024, 4096);
    ASSERT_NOT_NULL(aw_arena_alloc(&a, 4000));
    ASSERT_NULL(aw_arena_alloc(&a, 200));
    aw_arena_free(&a);
}

TEST(printf_and_calloc) {
    aw_arena_t a;
    aw_arena_init(&a, 0, 0);
    ASSERT_STR(aw_arena_printf(&a, "%s=%d", "k", 7), "k=7");
    int *z = aw_arena_calloc(&a, 100, sizeof(int));
    for (int i = 0; i < 100; i++) ASSERT_EQ(z[i], 0);
    ASSERT_NULL(aw_arena_calloc(&a, SIZE_MAX / 2, 4));
    aw_arena_free(&a);
}
