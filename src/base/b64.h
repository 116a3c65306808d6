/*
 * b64 — base64url without padding (RFC 4648 §5, as JOSE uses it) and
 * standard base64 with padding (x5c certificates, HTTP Basic).
 *
 * Decoders are strict: they reject characters outside the alphabet,
 * whitespace, wrong padding and non-zero trailing bits, so one value has
 * exactly one encoding (no malleability in signed tokens).
 * Output buffers: encode needs aw_b64_enclen(n)+1 bytes; decode needs
 * aw_b64_declen(n) bytes at most.
 */
#ifndef AW_BASE_B64_H
#define AW_BASE_B64_H

#include <stddef.h>

size_t aw_b64url_enclen(size_t n);
size_t aw_b64_enclen(size_t n);
size_t aw_b64_declen(size_t n);

/* Writes a NUL-terminated string to out; returns its length. */
size_t aw_b64url_encode(const void *in, size_t n, char *out);
size_t aw_b64_encode(const void *in, size_t n, char *out);
/* Returns 0 and the decoded length in *outlen, or AW_EINVAL. */
int aw_b64url_decode(const char *in, size_t n, unsigned char *out, size_t *outlen);
int aw_b64_decode(const char *in, size_t n, unsigned char *out, size_t *outlen);

#endif
