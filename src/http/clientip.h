/*
 * clientip — who the client is when amtsweg runs behind reverse proxies.
 *
 * The operator lists the proxies it trusts (--trusted-proxies, addresses or
 * CIDR blocks, IPv4 and IPv6). For a request whose peer is one of them, the
 * client is found by walking X-Forwarded-For from the right (the entry the
 * nearest proxy appended) to the left, skipping trusted addresses: the first
 * untrusted address is the client. A peer that is not trusted is the client,
 * whatever headers it sends, so nobody can pick their own address to dodge a
 * rate limit. A malformed entry ends the walk at the hop that appended it.
 * Addresses are compared in binary (IPv4-mapped IPv6 as IPv4) and returned
 * in inet_ntop's canonical text.
 */
#ifndef AW_HTTP_CLIENTIP_H
#define AW_HTTP_CLIENTIP_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"

#define AW_CIDR_MAX 64 /* trusted proxy entries */

typedef struct aw_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned bits;
} aw_cidr_t;

typedef struct aw_cidr_list {
    aw_cidr_t v[AW_CIDR_MAX];
    size_t n;
} aw_cidr_list_t;

/* Parses "10.0.0.0/8, 192.168.1.7 ,::1, fd00::/8" (commas and/or spaces).
 * NULL or "" is the empty list. Clear error naming the bad entry. */
int aw_cidr_list_parse(const char *spec, aw_cidr_list_t *out, aw_err_t *err);
/* True when the textual address ip lies in one of the blocks. */
bool aw_cidr_list_match(const aw_cidr_list_t *l, const char *ip);
/* Writes the client address for a request from peer (text) carrying the
 * X-Forwarded-For value xff (NULL when absent; several headers joined with
 * ","). out gets at least 46 bytes. */
void aw_client_ip_resolve(const aw_cidr_list_t *trusted, const char *peer, const char *xff,
                          char *out, size_t cap);

#endif
