/*
 * err — error codes and an error record a user can act on.
 *
 * Every fallible function in amtsweg returns int: 0 on success or a negative
 * AW_E* code, and fills an optional aw_err_t with a one-line message that
 * names the thing that went wrong ("schema S00000094: element F60000227:
 * unknown data type 'foo'"). The record is a fixed-size value so it can live
 * on the stack and never allocates.
 */
#ifndef AW_BASE_ERR_H
#define AW_BASE_ERR_H

#include <stddef.h>

enum {
    AW_OK = 0,
    AW_ENOMEM = -1,       /* allocation failed */
    AW_EINVAL = -2,       /* bad input from a caller or a user */
    AW_ENOTFOUND = -3,    /* the named thing does not exist */
    AW_EIO = -4,          /* file system, socket or database I/O failed */
    AW_ETOOBIG = -5,      /* a size, depth or count bound was exceeded */
    AW_ECONFLICT = -6,    /* exists already / concurrent change */
    AW_EUNSUPPORTED = -7, /* a version, algorithm or feature we refuse */
    AW_EBUSY = -8,        /* resource busy or locked; retry later */
    AW_ESTATE = -9,       /* operation not allowed in the current state */
    AW_ECRYPTO = -10,     /* signature, MAC, decryption or key failure */
    AW_EPERM = -11,       /* not allowed for this principal */
    AW_EVERSION = -12,    /* data written by a newer version */
    AW_ETIMEOUT = -13,    /* a deadline passed */
    AW_EINTERNAL = -14,   /* a bug: an invariant did not hold */
};

#define AW_ERR_MSG_MAX 512

typedef struct aw_err {
    int code;
    char msg[AW_ERR_MSG_MAX];
} aw_err_t;

/* Sets err (if not NULL) to code and the formatted message; returns code so
 * callers can write `return aw_err_set(err, AW_EINVAL, "...")`. */
int aw_err_set(aw_err_t *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (for context while unwinding). */
int aw_err_prefix(aw_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void aw_err_clear(aw_err_t *err);

/* Short stable name of a code ("EINVAL"); never NULL. */
const char *aw_err_name(int code);

#endif
