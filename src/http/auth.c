#include "http/auth.h"

#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "base/secure.h"

static int sha256(const char *s, size_t n, unsigned char out[32]) {
    unsigned int len = 0;
    return EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : -1;
}

int aw_auth_init(aw_auth_t *a, const char *token, aw_err_t *err) {
    memset(a, 0, sizeof *a);
    if (!token || !*token) return 0; /* admin APIs stay closed */
    if (strlen(token) < 16)
        return aw_err_set(err, AW_EINVAL, "the operator token must have at least 16 characters");
    if (sha256(token, strlen(token), a->digest) != 0)
        return aw_err_set(err, AW_ECRYPTO, "SHA-256 failed");
    a->configured = true;
    return 0;
}

const char *aw_auth_bearer(const aw_http_req_t *req) {
    const char *h = aw_http_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ') h++;
    return *h ? h : NULL;
}

bool aw_auth_operator(const aw_auth_t *a, const aw_http_req_t *req, aw_http_resp_t *resp) {
    const char *tok = aw_auth_bearer(req);
    unsigned char d[32];
    bool ok = a && a->configured && tok && strlen(tok) <= 512 && sha256(tok, strlen(tok), d) == 0 &&
              aw_ct_equal(d, 32, a->digest, 32);
    if (ok) return true;
    aw_http_resp_header(resp, "WWW-Authenticate", "Bearer realm=\"amtsweg-admin\"");
    aw_http_resp_problem(resp, 401, "unauthorized", "Unauthorized",
                         tok ? "the operator token is not valid"
                             : "this endpoint needs an operator token (Authorization: Bearer)");
    return false;
}
