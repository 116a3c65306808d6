/*
 * hex — lowercase hexadecimal encoding (hashes, HMACs) and strict decoding.
 */
#ifndef AW_BASE_HEX_H
#define AW_BASE_HEX_H

#include <stddef.h>

/* Writes 2n hex digits and a NUL to out (size >= 2n+1); returns out. */
char *aw_hex_encode(const void *in, size_t n, char *out);
/* Decodes exactly 2*outcap digits or fewer; returns 0 and *outlen, or
 * AW_EINVAL for odd length, non-hex digits or too little room. */
int aw_hex_decode(const char *in, size_t n, unsigned char *out, size_t outcap, size_t *outlen);
/* The value of the four hex digits (either case) at p, as in a JSON \uXXXX
 * escape: 0 and *out, or -1 if one is not a hex digit. The caller makes
 * sure that four bytes are there. */
int aw_hex4(const char *p, unsigned *out);

#endif
