/*
 * uuid — random (version 4) UUIDs from OpenSSL's CSPRNG, and validation.
 * Text form is lowercase, 36 characters: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx.
 */
#ifndef AW_BASE_UUID_H
#define AW_BASE_UUID_H

#include <stdbool.h>

#define AW_UUID_STRLEN 36

/* Writes 37 bytes (with NUL) to out. Returns 0 or AW_ECRYPTO when the
 * random generator fails (then out holds an empty string). */
int aw_uuid_v4(char out[AW_UUID_STRLEN + 1]);
/* Any RFC 4122 UUID in canonical text form (either case). */
bool aw_uuid_valid(const char *s);
/* Canonical and version 4 with the RFC 4122 variant. */
bool aw_uuid_is_v4(const char *s);

#endif
