/* libFuzzer: route matching and percent-decoding of request paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

static aw_router_t *g_router;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_router) {
        g_router = aw_router_new();
        aw_router_add(g_router, "GET", "/health");
        aw_router_add(g_router, "POST", "/v1/submissions");
        aw_router_add(g_router, "GET", "/v1/submissions/{submissionId}");
        aw_router_add(g_router, "PUT", "/v1/submissions/{submissionId}/attachments/{attachmentId}");
        aw_router_add(g_router, "GET", "/v1/submissions/stats");
        aw_router_add(g_router, "GET", "/");
    }
    if (size == 0 || size > 4096) return 0;
    char *path = malloc(size + 1);
    memcpy(path, data, size);
    path[size] = '\0';
    char *scratch = malloc(strlen(path) + 1);
    aw_route_match_t m;
    const char *method = (data[0] & 1) ? "GET" : "PUT";
    aw_router_match(g_router, method, path, scratch, &m);
    if (m.route >= 0)
        for (size_t i = 0; i < m.nparams; i++) (void)strlen(m.values[i]);
    free(scratch);
    free(path);
    return 0;
}
