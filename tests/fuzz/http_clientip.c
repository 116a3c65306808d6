/* Fuzz target: the trusted-proxy list parser and the X-Forwarded-For walk
 * (http/clientip.h). Input: "<trusted list>\n<peer>\n<X-Forwarded-For>". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/clientip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 8192) return 0;
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char *peer = strchr(s, '\n');
    char *xff = NULL;
    if (peer) {
        *peer++ = '\0';
        xff = strchr(peer, '\n');
        if (xff) *xff++ = '\0';
    }
    aw_cidr_list_t l;
    aw_err_t err;
    if (aw_cidr_list_parse(s, &l, &err) == 0 && peer) {
        char out[64];
        aw_client_ip_resolve(&l, peer, xff, out, sizeof out);
        if (strlen(out) >= sizeof out) abort();
        (void)aw_cidr_list_match(&l, out);
    }
    free(s);
    return 0;
}
