/*
 * platform.c — the process-wide platform signing key (platform.h).
 */
#include "jose/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "jose/jws.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static aw_jwk_t *g_key;

static int write_new(const char *path, const aw_jwk_t *k, aw_err_t *err) {
    aw_buf_t b = AW_BUF_INIT;
    int rc = aw_jwk_write(k, true, &b, err);
    if (rc != 0) {
        aw_buf_wipe_free(&b);
        return rc;
    }
    aw_buf_putc(&b, '\n');
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        aw_buf_wipe_free(&b);
        return aw_err_set(err, AW_EIO, "cannot create the platform key %s: %s", path,
                          strerror(errno));
    }
    bool ok = aw_buf_ok(&b) && write(fd, b.data, b.len) == (ssize_t)b.len && fsync(fd) == 0;
    int e = errno;
    close(fd);
    aw_buf_wipe_free(&b);
    if (!ok) {
        unlink(path);
        return aw_err_set(err, AW_EIO, "cannot write the platform key %s: %s", path, strerror(e));
    }
    return 0;
}

static char g_path[4096];

/* Loads or creates the key at g_path; g_mu held. */
static int ensure_locked(aw_err_t *err) {
    if (g_key) return 0;
    if (!g_path[0]) return aw_err_set(err, AW_ESTATE, "platform key not configured");
    aw_jwk_t *k = NULL;
    int rc;
    if (access(g_path, F_OK) == 0) {
        rc = aw_jwk_load_file(g_path, &k, err);
        if (rc != 0) {
            aw_err_prefix(err, "platform key %s", g_path);
            return rc;
        }
        if (!aw_jwk_is_private(k)) {
            aw_jwk_free(k);
            return aw_err_set(err, AW_EINVAL, "platform key %s holds no private key", g_path);
        }
    } else {
        aw_log_info("platform_key.generate", "bits=4096");
        rc = aw_jwk_generate(4096, AW_JWK_SIG, NULL, &k, err);
        if (rc == 0) rc = write_new(g_path, k, err);
        if (rc != 0) {
            aw_jwk_free(k);
            return rc;
        }
    }
    g_key = k;
    aw_log_info("platform_key.ready", "kid=%s", aw_jwk_kid(k) ? aw_jwk_kid(k) : "-");
    return 0;
}

int aw_platform_key_init(const char *path, aw_err_t *err) {
    if (!path || !*path) return aw_err_set(err, AW_EINVAL, "platform key: no file given");
    if (strlen(path) >= sizeof g_path)
        return aw_err_set(err, AW_EINVAL, "platform key: path too long");
    pthread_mutex_lock(&g_mu);
    int rc = 0;
    if (!g_key && !g_path[0]) {
        snprintf(g_path, sizeof g_path, "%s", path);
        /* An existing file is loaded now so a broken one stops the start;
         * a missing one is created on first use (RSA-4096 takes seconds). */
        if (access(g_path, F_OK) == 0) rc = ensure_locked(err);
        if (rc != 0) g_path[0] = '\0';
    }
    pthread_mutex_unlock(&g_mu);
    return rc;
}

const aw_jwk_t *aw_platform_key(void) {
    pthread_mutex_lock(&g_mu);
    aw_err_t err = {0};
    if (!g_key && g_path[0] && ensure_locked(&err) != 0)
        aw_log_error("platform_key.failed", "reason=%s", aw_err_name(err.code));
    const aw_jwk_t *k = g_key;
    pthread_mutex_unlock(&g_mu);
    return k;
}

json_t *aw_platform_jwks(void) {
    const aw_jwk_t *k = aw_platform_key();
    if (!k) return NULL;
    json_t *pub = aw_jwk_to_json(k, false);
    if (!pub) return NULL;
    /* The published half verifies: key_ops of the private file say "sign". */
    json_object_set_new(pub, "key_ops", json_pack("[s]", "verify"));
    return json_pack("{s[o]}", "keys", pub);
}

int aw_platform_sign(const char *typ, const void *payload, size_t len, aw_buf_t *out,
                     aw_err_t *err) {
    const aw_jwk_t *k = aw_platform_key();
    if (!k) return aw_err_set(err, AW_ESTATE, "platform key not loaded");
    return aw_jws_sign(k, typ, payload, len, out, err);
}

void aw_platform_key_free(void) {
    pthread_mutex_lock(&g_mu);
    aw_jwk_free(g_key);
    g_key = NULL;
    g_path[0] = '\0';
    pthread_mutex_unlock(&g_mu);
}
