#include "base/uuid.h"
#include "base/err.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/* Random bytes for ids are drawn from OpenSSL's generator 512 at a time per
 * thread: one RAND_bytes call per UUID showed in profiles of the
 * submission path (it takes the DRBG's lock and checks the pid each time).
 * A child process must not hand out its parent's bytes: fork empties the
 * forking thread's pool (the only thread the child has). */
#define POOL 512
static _Thread_local unsigned char pool[POOL];
static _Thread_local size_t pool_left;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_forget(void) {
    pool_left = 0;
}

static void atfork_register(void) {
    pthread_atfork(NULL, NULL, pool_forget);
}

static int random16(unsigned char b[16]) {
    if (pool_left < 16) {
        pthread_once(&atfork_once, atfork_register);
        if (RAND_bytes(pool, POOL) != 1) return -1;
        pool_left = POOL;
    }
    memcpy(b, pool + POOL - pool_left, 16);
    memset(pool + POOL - pool_left, 0, 16);
    pool_left -= 16;
    return 0;
}

int aw_uuid_v4(char out[AW_UUID_STRLEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (random16(b) != 0) {
        out[0] = '\0';
        return AW_ECRYPTO;
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

static bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool aw_uuid_valid(const char *s) {
    if (!s || strlen(s) != AW_UUID_STRLEN) return false;
    for (int i = 0; i < AW_UUID_STRLEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return false;
        } else if (!is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

bool aw_uuid_is_v4(const char *s) {
    if (!aw_uuid_valid(s)) return false;
    char v = s[19];
    return s[14] == '4' && (v == '8' || v == '9' || v == 'a' || v == 'b' || v == 'A' || v == 'B');
}
