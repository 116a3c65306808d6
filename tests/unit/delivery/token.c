/* Tests of src/delivery/token.c: the form parser of POST /token. */
#include <string.h>

#include "delivery/internal.h"
#include "test.h"

static int get(const char *body, const char *name, char *out) {
    return dl_form_get(body, strlen(body), name, out, 64);
}

TEST(form_fields_are_found_and_decoded) {
    char v[64];
    const char *b = "grant_type=client_credentials&client_id=abc&client_secret=a%2Bb+c%3D";
    ASSERT_EQ(get(b, "grant_type", v), 1);
    ASSERT_STR(v, "client_credentials");
    ASSERT_EQ(get(b, "client_id", v), 1);
    ASSERT_STR(v, "abc");
    ASSERT_EQ(get(b, "client_secret", v), 1);
    ASSERT_STR(v, "a+b c=");
    ASSERT_EQ(get(b, "scope", v), 0);
    ASSERT_EQ(get(b, "client", v), 0); /* prefixes do not match */
    ASSERT_EQ(get("a=&b", "a", v), 1);
    ASSERT_STR(v, "");
    ASSERT_EQ(get("b", "b", v), 1); /* a name without '=' has an empty value */
}

TEST(form_rejects_malformed_and_repeated) {
    char v[64];
    ASSERT_EQ(get("a=1&a=2", "a", v), -1); /* repeated: which one would win? */
    ASSERT_EQ(get("a=%4", "a", v), -1);    /* truncated escape */
    ASSERT_EQ(get("a=%", "a", v), -1);
    ASSERT_EQ(get("a=%zz", "a", v), -1);   /* not hex */
    ASSERT_EQ(get("a=x%00y", "a", v), -1); /* NUL */
    char longv[200] = "a=";
    memset(longv + 2, 'x', 150);
    longv[152] = 0;
    ASSERT_EQ(get(longv, "a", v), -1); /* longer than the buffer */
    /* length bound: bytes after len are not read */
    ASSERT_EQ(dl_form_get("a=12345", 4, "a", v, sizeof v), 1);
    ASSERT_STR(v, "12");
}
