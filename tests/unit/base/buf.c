#include "base/buf.h"
#include "test.h"

TEST(append_grows_and_terminates) {
    aw_buf_t b = AW_BUF_INIT;
    for (int i = 0; i < 1000; i++) aw_buf_puts(&b, "ab");
    ASSERT_EQ(b.len, 2000);
    ASSERT_EQ(b.data[2000], '\0');
    ASSERT(aw_buf_ok(&b));
    aw_buf_free(&b);
}

TEST(printf_long_and_short) {
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_printf(&b, "%d-%s", 42, "x");
    ASSERT_STR(b.data, "42-x");
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[999] = '\0';
    aw_buf_printf(&b, "%s", big);
    ASSERT_EQ(b.len, 4 + 999);
    aw_buf_free(&b);
}

TEST(max_bound_is_sticky) {
    aw_buf_t b = AW_BUF_INIT;
    b.max = 10;
    aw_buf_puts(&b, "0123456789");
    ASSERT(aw_buf_ok(&b));
    aw_buf_puts(&b, "x");
    ASSERT(!aw_buf_ok(&b));
    aw_buf_puts(&b, "y");
    ASSERT_EQ(b.len, 10);
    aw_buf_free(&b);
}

TEST(json_escaping) {
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_json_str(&b, "a\"b\\c\n\x01z", 8);
    ASSERT_STR(b.data, "a\\\"b\\\\c\\n\\u0001z");
    aw_buf_free(&b);
}

TEST(take_and_reset) {
    aw_buf_t b = AW_BUF_INIT;
    aw_buf_puts(&b, "hello");
    size_t n;
    char *s = aw_buf_take(&b, &n);
    ASSERT_EQ(n, 5);
    ASSERT_STR(s, "hello");
    ASSERT_NULL(b.data);
    free(s);
    aw_buf_puts(&b, "x");
    aw_buf_reset(&b);
    ASSERT_EQ(b.len, 0);
    ASSERT_STR(b.data, "");
    aw_buf_wipe_free(&b);
}
