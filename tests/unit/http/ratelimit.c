/* Tests of src/catalog/ratelimit.c. */
#include "http/ratelimit.h"
#include "test.h"

TEST(window_counts_and_resets) {
    aw_ratelimit_t rl;
    ASSERT_EQ(aw_ratelimit_init(&rl, 3, 60), 0);
    aw_rl_result_t r;
    for (int i = 0; i < 3; i++) {
        r = aw_ratelimit_take(&rl, "10.0.0.1", 1000);
        ASSERT(r.allowed);
        ASSERT_EQ(r.remaining, (unsigned)(2 - i));
        ASSERT_EQ(r.limit, 3);
    }
    r = aw_ratelimit_take(&rl, "10.0.0.1", 30000);
    ASSERT(!r.allowed);
    ASSERT_EQ(r.remaining, 0);
    ASSERT_EQ(r.reset_s, 31);
    /* another client is independent */
    ASSERT(aw_ratelimit_take(&rl, "10.0.0.2", 30000).allowed);
    /* a new window */
    r = aw_ratelimit_take(&rl, "10.0.0.1", 61000);
    ASSERT(r.allowed);
    ASSERT_EQ(r.remaining, 2);
    aw_ratelimit_free(&rl);
}

TEST(unlimited_and_many_keys_bounded) {
    aw_ratelimit_t rl;
    ASSERT_EQ(aw_ratelimit_init(&rl, 0, 60), 0);
    ASSERT(aw_ratelimit_take(&rl, "x", 0).allowed);
    aw_ratelimit_free(&rl);
    ASSERT_EQ(aw_ratelimit_init(&rl, 1, 60), 0);
    char k[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "10.%d.%d.1", i / 256, i % 256);
        ASSERT(aw_ratelimit_take(&rl, k, 0).allowed);
    }
    aw_ratelimit_free(&rl);
}
