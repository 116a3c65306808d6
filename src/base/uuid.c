#include "base/uuid.h"
#include "base/err.h"

#include <openssl/rand.h>
#include <string.h>

int aw_uuid_v4(char out[AW_UUID_STRLEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) {
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
