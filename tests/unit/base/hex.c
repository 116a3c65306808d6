#include "base/hex.h"
#include "test.h"

TEST(roundtrip_and_errors) {
    unsigned char in[] = {0x00, 0x7f, 0xff, 0xa5};
    char out[9];
    ASSERT_STR(aw_hex_encode(in, 4, out), "007fffa5");
    unsigned char dec[4];
    size_t n;
    ASSERT_EQ(aw_hex_decode("007FffA5", 8, dec, sizeof dec, &n), 0);
    ASSERT_EQ(n, 4);
    ASSERT_MEM(dec, in, 4);
    ASSERT_EQ(aw_hex_decode("abc", 3, dec, sizeof dec, &n), -2);
    ASSERT_EQ(aw_hex_decode("zz", 2, dec, sizeof dec, &n), -2);
    ASSERT_EQ(aw_hex_decode("0011223344", 10, dec, sizeof dec, &n), -2);
}

TEST(four_digits_of_an_escape) {
    unsigned v = 7;
    ASSERT_EQ(aw_hex4("00e9", &v), 0);
    ASSERT_EQ(v, 0xe9u);
    ASSERT_EQ(aw_hex4("FfFf", &v), 0);
    ASSERT_EQ(v, 0xffffu);
    ASSERT_EQ(aw_hex4("D83dx", &v), 0); /* only four are read */
    ASSERT_EQ(v, 0xd83du);
    v = 7;
    ASSERT_EQ(aw_hex4("12g4", &v), -1);
    ASSERT_EQ(aw_hex4("-123", &v), -1);
    ASSERT_EQ(aw_hex4("12\xc3\xa9", &v), -1);
    ASSERT_EQ(v, 7u); /* untouched on error */
}
