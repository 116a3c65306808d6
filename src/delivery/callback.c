#include "delivery/callback.h"

#include "base/dl_curl.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hex.h"
#include "base/secure.h"

int aw_callback_sign(const char *secret, int64_t timestamp, const void *body, size_t len,
                     char out[AW_CALLBACK_HMAC_HEX + 1], aw_err_t *err) {
    char ts[32];
    int tn = snprintf(ts, sizeof ts, "%" PRId64 ".", timestamp);
    unsigned char mac[64];
    unsigned int maclen = 0;
    EVP_MAC *m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *c = m ? EVP_MAC_CTX_new(m) : NULL;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA512", 0),
                           OSSL_PARAM_construct_end()};
    size_t outl = 0;
    int ok = c && EVP_MAC_init(c, (const unsigned char *)secret, strlen(secret), params) &&
             EVP_MAC_update(c, (const unsigned char *)ts, (size_t)tn) &&
             EVP_MAC_update(c, body, len) && EVP_MAC_final(c, mac, &outl, sizeof mac);
    EVP_MAC_CTX_free(c);
    EVP_MAC_free(m);
    maclen = (unsigned)outl;
    if (!ok || maclen != 64) return aw_err_set(err, AW_ECRYPTO, "callback: HMAC-SHA512 failed");
    aw_hex_encode(mac, 64, out);
    aw_secure_wipe(mac, sizeof mac);
    return 0;
}

int aw_callback_verify(const char *secret, const char *timestamp_hdr, const char *auth_hdr,
                       const void *body, size_t len, int64_t now_s, aw_err_t *err) {
    if (!timestamp_hdr || !*timestamp_hdr || strlen(timestamp_hdr) > 19)
        return aw_err_set(err, AW_EINVAL, "callback: missing or bad callback-timestamp");
    for (const char *p = timestamp_hdr; *p; p++)
        if (!isdigit((unsigned char)*p))
            return aw_err_set(err, AW_EINVAL, "callback: callback-timestamp is not a number");
    int64_t ts = strtoll(timestamp_hdr, NULL, 10);
    int64_t age = now_s - ts;
    if (age > AW_CALLBACK_MAX_AGE_S || age < -AW_CALLBACK_MAX_AGE_S)
        return aw_err_set(err, AW_EINVAL,
                          "callback: timestamp is %lld s away from now (limit %d s)",
                          (long long)age, AW_CALLBACK_MAX_AGE_S);
    if (!auth_hdr) return aw_err_set(err, AW_ECRYPTO, "callback: missing callback-authentication");
    char want[AW_CALLBACK_HMAC_HEX + 1];
    int rc = aw_callback_sign(secret, ts, body, len, want, err);
    if (rc) return rc;
    char got[AW_CALLBACK_HMAC_HEX + 1];
    size_t n = strlen(auth_hdr);
    bool ok = n == AW_CALLBACK_HMAC_HEX;
    for (size_t i = 0; i < AW_CALLBACK_HMAC_HEX; i++)
        got[i] = ok ? (char)tolower((unsigned char)auth_hdr[i]) : '0';
    got[AW_CALLBACK_HMAC_HEX] = '\0';
    ok = aw_ct_equal(got, AW_CALLBACK_HMAC_HEX, want, AW_CALLBACK_HMAC_HEX) && ok;
    aw_secure_wipe(want, sizeof want);
    if (!ok) return aw_err_set(err, AW_ECRYPTO, "callback: callback-authentication does not match");
    return 0;
}

static bool loopback_host(const char *h, size_t n) {
    if (n == 9 && strncasecmp(h, "localhost", 9) == 0) return true;
    if (n == 5 && strncmp(h, "[::1]", 5) == 0) return true;
    if (n >= 7 && strncmp(h, "127.", 4) == 0) {
        for (size_t i = 0; i < n; i++)
            if (!isdigit((unsigned char)h[i]) && h[i] != '.') return false;
        return true;
    }
    return false;
}

bool aw_callback_url_ok(const char *url, bool allow_loopback) {
    if (!url || strlen(url) < 9 || strlen(url) > 2048) return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) return false;
    if (strncmp(url, "https://", 8) == 0) return url[8] != '/' && url[8] != '\0';
    if (!allow_loopback || strncmp(url, "http://", 7) != 0) return false;
    const char *h = url + 7;
    size_t n = strcspn(h, "/?#");
    const char *colon = h[0] == '[' ? strchr(h, ']') : NULL;
    size_t hl;
    if (colon && (size_t)(colon - h) < n)
        hl = (size_t)(colon - h) + 1;
    else {
        const char *c2 = memchr(h, ':', n);
        hl = c2 ? (size_t)(c2 - h) : n;
    }
    if (memchr(h, '@', n)) return false;
    return loopback_host(h, hl);
}

static size_t discard(char *p, size_t s, size_t n, void *u) {
    (void)p, (void)u;
    return s * n;
}

int aw_callback_post(const char *url, const char *secret, const char *body, size_t len,
                     bool allow_loopback, int64_t timeout_s, aw_err_t *err) {
    if (!aw_callback_url_ok(url, allow_loopback))
        return aw_err_set(err, AW_EINVAL, "callback: URL is not https (or allowed loopback)");
    int64_t ts = (int64_t)time(NULL);
    char mac[AW_CALLBACK_HMAC_HEX + 1];
    int rc = aw_callback_sign(secret, ts, body, len, mac, err);
    if (rc) return rc;
    rc = aw_dl_curl_load(err); /* first callback loads libcurl (base/dl.h) */
    if (rc < 0) return rc;
    CURL *c = curl_easy_init();
    if (!c) return aw_err_set(err, AW_ENOMEM, "callback: curl init failed");
    char h1[200], h2[64];
    snprintf(h1, sizeof h1, "callback-authentication: %s", mac);
    snprintf(h2, sizeof h2, "callback-timestamp: %lld", (long long)ts);
    struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
    hs = curl_slist_append(hs, h1);
    hs = curl_slist_append(hs, h2);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(timeout_s > 0 ? timeout_s : 10));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, allow_loopback ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "amtsweg-callback");
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    aw_secure_wipe(h1, sizeof h1);
    aw_secure_wipe(mac, sizeof mac);
    if (cc != CURLE_OK) return aw_err_set(err, AW_EIO, "callback: %s", curl_easy_strerror(cc));
    if (status < 200 || status > 299)
        return aw_err_set(err, AW_EIO, "callback: receiver answered HTTP %ld", status);
    return 0;
}
