#include "base/b64.h"
#include "test.h"

/* RFC 4648 §10 vectors */
TEST(rfc4648_vectors) {
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[32];
        unsigned char dec[32];
        size_t n;
        aw_b64_encode(in[i], strlen(in[i]), out);
        ASSERT_STR(out, std[i]);
        aw_b64url_encode(in[i], strlen(in[i]), out);
        ASSERT_STR(out, url[i]);
        ASSERT_EQ(aw_b64url_enclen(strlen(in[i])), strlen(url[i]));
        ASSERT_EQ(aw_b64url_decode(url[i], strlen(url[i]), dec, &n), 0);
        ASSERT_EQ(n, strlen(in[i]));
        ASSERT_MEM(dec, in[i], n);
        ASSERT_EQ(aw_b64_decode(std[i], strlen(std[i]), dec, &n), 0);
        ASSERT_EQ(n, strlen(in[i]));
    }
}

TEST(url_alphabet_and_strictness) {
    unsigned char raw[] = {0xfb, 0xff, 0xbf};
    char out[8];
    aw_b64url_encode(raw, 3, out);
    ASSERT_STR(out, "-_-_");
    unsigned char dec[16];
    size_t n;
    ASSERT_EQ(aw_b64url_decode("Zg==", 4, dec, &n), -2); /* padding refused */
    ASSERT_EQ(aw_b64url_decode("Z", 1, dec, &n), -2);    /* impossible length */
    ASSERT_EQ(aw_b64url_decode("Zh", 2, dec, &n), -2);   /* non-zero trailing bits */
    ASSERT_EQ(aw_b64url_decode("Zm+v", 4, dec, &n), -2); /* std alphabet */
    ASSERT_EQ(aw_b64url_decode("Zm 9", 4, dec, &n), -2); /* whitespace */
    ASSERT_EQ(aw_b64_decode("Zm9v\n", 5, dec, &n), -2);
}
