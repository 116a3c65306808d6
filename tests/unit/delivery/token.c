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

TEST(client_secret_hash_and_check) {
    const char *secret = "Zm9vYmFyYmF6cXV1eC0wMTIzNDU2Nzg5YWJjZGVmZ2hp";
    char h[200];
    aw_err_t err = {0};
    ASSERT_EQ(dl_secret_hash(secret, h, sizeof h, &err), 0);
    ASSERT_EQ(strncmp(h, "sha256$", 7), 0);
    ASSERT_EQ(strlen(h), 7 + 64);
    ASSERT(dl_secret_check(secret, h));
    ASSERT(!dl_secret_check("Zm9vYmFyYmF6cXV1eC0wMTIzNDU2Nzg5YWJjZGVmZ2hq", h));
    ASSERT(!dl_secret_check(secret, "sha256$abc"));
    ASSERT(!dl_secret_check(secret, NULL));
    ASSERT(!dl_secret_check(secret, "md5$0123"));
    ASSERT_EQ(dl_secret_hash("short", h, sizeof h, &err), AW_EINVAL);
    /* hashes written by earlier versions (PBKDF2-SHA256) still verify;
     * reference value from Python's hashlib.pbkdf2_hmac */
    const char *legacy = "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$"
                         "67966854b4064c467f509c37872c57afba24ba833be9ac2efb89773b460d3d1a";
    ASSERT(dl_secret_check("legacy-secret-0123456789abcdefghijkl", legacy));
    ASSERT(!dl_secret_check("legacy-secret-0123456789abcdefghijkm", legacy));
}
