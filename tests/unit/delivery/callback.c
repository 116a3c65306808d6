/* Tests of src/delivery/callback.c: HMAC-SHA512 callback signatures, the
 * receiver's verification (constant-time compare, 300 s window), URL rules. */
#include <ctype.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "base/hex.h"
#include "delivery/callback.h"
#include "test.h"

static const char *SECRET = "insecure_unsafe_qHScgrg_kP-R31jHUwp3GkVkGJolvBchz65b74Lzue0";
static const char *BODY = "{\"type\":\"https://schema.fitko.de/fit-connect/submission-api/"
                          "callbacks/new-submissions\",\"submissions\":[]}";

TEST(callback_sign_is_hmac_sha512_over_timestamp_dot_body) {
    char got[AW_CALLBACK_HMAC_HEX + 1];
    aw_err_t err;
    ASSERT_EQ(aw_callback_sign(SECRET, 1672527599, BODY, strlen(BODY), got, &err), 0);
    /* independent computation with OpenSSL's one-shot HMAC */
    char msg[512];
    snprintf(msg, sizeof msg, "1672527599.%s", BODY);
    unsigned char mac[64];
    unsigned int n = 0;
    HMAC(EVP_sha512(), SECRET, (int)strlen(SECRET), (const unsigned char *)msg, strlen(msg), mac,
         &n);
    char want[129];
    aw_hex_encode(mac, 64, want);
    ASSERT_EQ(n, 64);
    ASSERT_STR(got, want);
}

TEST(callback_verify_accepts_fresh_and_refuses_old) {
    char mac[AW_CALLBACK_HMAC_HEX + 1];
    aw_err_t err;
    int64_t ts = 1700000000;
    ASSERT_EQ(aw_callback_sign(SECRET, ts, BODY, strlen(BODY), mac, &err), 0);
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts + 10, &err), 0);
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts + 300, &err), 0);
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts + 301, &err),
              AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "300");
    /* far in the future is as bad as far in the past */
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts - 301, &err),
              AW_EINVAL);
    /* upper-case hex is the same MAC */
    for (char *p = mac; *p; p++) *p = (char)toupper((unsigned char)*p);
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts, &err), 0);
}

TEST(callback_verify_refuses_tampering) {
    char mac[AW_CALLBACK_HMAC_HEX + 1];
    aw_err_t err;
    int64_t ts = 1700000000;
    ASSERT_EQ(aw_callback_sign(SECRET, ts, BODY, strlen(BODY), mac, &err), 0);
    /* body, timestamp, secret, MAC: any change is refused */
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY) - 1, ts, &err),
              AW_ECRYPTO);
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000001", mac, BODY, strlen(BODY), ts, &err),
              AW_ECRYPTO);
    ASSERT_EQ(aw_callback_verify("other-secret", "1700000000", mac, BODY, strlen(BODY), ts, &err),
              AW_ECRYPTO);
    mac[5] = mac[5] == '0' ? '1' : '0';
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts, &err),
              AW_ECRYPTO);
    /* truncated MAC, missing headers, non-numeric timestamp */
    mac[100] = 0;
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", mac, BODY, strlen(BODY), ts, &err),
              AW_ECRYPTO);
    ASSERT_EQ(aw_callback_verify(SECRET, "1700000000", NULL, BODY, strlen(BODY), ts, &err),
              AW_ECRYPTO);
    ASSERT_EQ(aw_callback_verify(SECRET, NULL, mac, BODY, strlen(BODY), ts, &err), AW_EINVAL);
    ASSERT_EQ(aw_callback_verify(SECRET, "17e8", mac, BODY, strlen(BODY), ts, &err), AW_EINVAL);
    ASSERT_EQ(aw_callback_verify(SECRET, "-1700000000", mac, BODY, strlen(BODY), ts, &err),
              AW_EINVAL);
}

TEST(callback_url_rules) {
    ASSERT(aw_callback_url_ok("https://fachverfahren.example.org/callbacks/fit-connect", false));
    ASSERT(!aw_callback_url_ok("http://fachverfahren.example.org/cb", false));
    ASSERT(!aw_callback_url_ok("http://fachverfahren.example.org/cb", true));
    ASSERT(!aw_callback_url_ok("http://127.0.0.1:8080/cb", false));
    ASSERT(aw_callback_url_ok("http://127.0.0.1:8080/cb", true));
    ASSERT(aw_callback_url_ok("http://localhost/cb", true));
    ASSERT(aw_callback_url_ok("http://[::1]:80/cb", true));
    ASSERT(!aw_callback_url_ok("http://127.0.0.1@evil.example/cb", true));
    ASSERT(!aw_callback_url_ok("http://localhost.evil.example/cb", true));
    ASSERT(!aw_callback_url_ok("ftp://127.0.0.1/cb", true));
    ASSERT(!aw_callback_url_ok("https:///nohost", false));
    ASSERT(!aw_callback_url_ok("https://a b/", false));
    ASSERT(!aw_callback_url_ok(NULL, true));
}
