#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int aw_err_set(aw_err_t *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int aw_err_prefix(aw_err_t *err, const char *fmt, ...) {
    if (!err) return 0;
    char prefix[AW_ERR_MSG_MAX];
    char old[AW_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

void aw_err_clear(aw_err_t *err) {
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *aw_err_name(int code) {
    switch (code) {
    case AW_OK:
        return "OK";
    case AW_ENOMEM:
        return "ENOMEM";
    case AW_EINVAL:
        return "EINVAL";
    case AW_ENOTFOUND:
        return "ENOTFOUND";
    case AW_EIO:
        return "EIO";
    case AW_ETOOBIG:
        return "ETOOBIG";
    case AW_ECONFLICT:
        return "ECONFLICT";
    case AW_EUNSUPPORTED:
        return "EUNSUPPORTED";
    case AW_EBUSY:
        return "EBUSY";
    case AW_ESTATE:
        return "ESTATE";
    case AW_ECRYPTO:
        return "ECRYPTO";
    case AW_EPERM:
        return "EPERM";
    case AW_EVERSION:
        return "EVERSION";
    case AW_ETIMEOUT:
        return "ETIMEOUT";
    case AW_EINTERNAL:
        return "EINTERNAL";
    }
    return "EUNKNOWN";
}
