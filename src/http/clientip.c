#include "http/clientip.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Parses text into family + 4/16 bytes; IPv4-mapped IPv6 becomes IPv4 so a
 * dual-stack listener and an IPv4 rule agree. */
static bool parse_ip(const char *s, size_t len, int *family, unsigned char addr[16]) {
    char t[INET6_ADDRSTRLEN + 1];
    if (len == 0 || len >= sizeof t) return false;
    memcpy(t, s, len);
    t[len] = '\0';
    if (inet_pton(AF_INET, t, addr) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, t, addr) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(addr, mapped, 12) == 0) {
            memmove(addr, addr + 12, 4);
            *family = AF_INET;
        } else {
            *family = AF_INET6;
        }
        return true;
    }
    return false;
}

int aw_cidr_list_parse(const char *spec, aw_cidr_list_t *out, aw_err_t *err) {
    out->n = 0;
    const char *p = spec ? spec : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ',' && !isspace((unsigned char)*e)) e++;
        size_t len = (size_t)(e - p);
        const char *slash = memchr(p, '/', len);
        size_t alen = slash ? (size_t)(slash - p) : len;
        aw_cidr_t c = {0};
        if (out->n == AW_CIDR_MAX)
            return aw_err_set(err, AW_ETOOBIG, "more than %d entries", AW_CIDR_MAX);
        if (!parse_ip(p, alen, &c.family, c.addr))
            return aw_err_set(err, AW_EINVAL, "'%.*s' is not an IP address or CIDR block", (int)len,
                              p);
        unsigned maxbits = c.family == AF_INET ? 32 : 128;
        c.bits = maxbits;
        if (slash) {
            char *end;
            const char *b = slash + 1;
            long v = (b < e && isdigit((unsigned char)*b)) ? strtol(b, &end, 10) : -1;
            if (v < 0 || end != e || (unsigned long)v > maxbits)
                return aw_err_set(err, AW_EINVAL, "'%.*s' has a bad prefix length (0..%u)",
                                  (int)len, p, maxbits);
            c.bits = (unsigned)v;
        }
        out->v[out->n++] = c;
        p = e;
    }
    return 0;
}

static bool in_block(const aw_cidr_t *c, int family, const unsigned char *a) {
    if (c->family != family) return false;
    unsigned full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, a, full) != 0) return false;
    if (!rest) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (a[full] & mask);
}

static bool match_bin(const aw_cidr_list_t *l, int family, const unsigned char *a) {
    for (size_t i = 0; i < l->n; i++)
        if (in_block(&l->v[i], family, a)) return true;
    return false;
}

bool aw_cidr_list_match(const aw_cidr_list_t *l, const char *ip) {
    int family;
    unsigned char a[16];
    return ip && parse_ip(ip, strlen(ip), &family, a) && match_bin(l, family, a);
}

static void format_ip(int family, const unsigned char *a, char *out, size_t cap) {
    if (!inet_ntop(family, a, out, (socklen_t)cap)) snprintf(out, cap, "%s", "");
}

void aw_client_ip_resolve(const aw_cidr_list_t *trusted, const char *peer, const char *xff,
                          char *out, size_t cap) {
    int family;
    unsigned char a[16];
    if (!peer || !parse_ip(peer, strlen(peer), &family, a)) {
        snprintf(out, cap, "%s", peer ? peer : "");
        return;
    }
    format_ip(family, a, out, cap); /* the peer, canonical */
    if (!xff || !trusted->n || !match_bin(trusted, family, a)) return;
    /* Walk the list from the right; every trusted hop vouches for the
     * entry to its left. */
    const char *end = xff + strlen(xff);
    while (end > xff) {
        const char *start = end;
        while (start > xff && start[-1] != ',') start--;
        const char *s = start, *e = end;
        while (s < e && isspace((unsigned char)*s)) s++;
        while (e > s && isspace((unsigned char)e[-1])) e--;
        if (!parse_ip(s, (size_t)(e - s), &family, a)) return; /* keep the last good hop */
        format_ip(family, a, out, cap);
        if (!match_bin(trusted, family, a)) return; /* the first untrusted: the client */
        end = start > xff ? start - 1 : xff;
    }
}
