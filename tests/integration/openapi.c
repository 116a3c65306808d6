/* docs/openapi.yaml and the server agree: every route the binary registers
 * (`amtsweg routes`) is documented with its method, and every documented
 * operation is served. */
#include "test.h"

#include <ctype.h>

typedef struct {
    char method[8];
    char path[256];
} op_t;

static size_t load_routes(op_t *ops, size_t max) {
    char out[600], db[600];
    snprintf(out, sizeof out, "%s/routes.txt", aw_test_tmpdir());
    snprintf(db, sizeof db, "%s/r.db", aw_test_tmpdir());
    ASSERT_EQ(aw_test_sh("'%s' routes --db '%s' >'%s'", aw_test_bin(), db, out), 0);
    char *s = aw_test_read_file(out, NULL);
    ASSERT_NOT_NULL(s);
    size_t n = 0;
    for (char *line = strtok(s, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        ASSERT_EQ(sscanf(line, "%7s %255s", ops[n].method, ops[n].path), 2);
        n++;
    }
    free(s);
    return n;
}

/* A deliberately small reader for the `paths:` block: path keys at two
 * spaces, operation keys at four. */
static size_t load_documented(op_t *ops, size_t max) {
    char path[600];
    snprintf(path, sizeof path, "%s/docs/openapi.yaml", aw_test_srcdir());
    char *s = aw_test_read_file(path, NULL);
    ASSERT_MSG(s != NULL, "%s missing", path);
    size_t n = 0;
    bool in_paths = false;
    char cur[256] = "";
    for (char *line = strtok(s, "\n"); line && n < max; line = strtok(NULL, "\n")) {
        if (strncmp(line, "paths:", 6) == 0) {
            in_paths = true;
            continue;
        }
        if (!in_paths) continue;
        if (line[0] != ' ' && line[0] != '#') break; /* next top-level key */
        if (line[0] == ' ' && line[1] == ' ' && line[2] == '/') {
            snprintf(cur, sizeof cur, "%s", line + 2);
            char *colon = strrchr(cur, ':');
            if (colon) *colon = '\0';
            if (cur[0] == '"' || cur[0] == '\'') {
                memmove(cur, cur + 1, strlen(cur));
                cur[strlen(cur) - 1] = '\0';
            }
            continue;
        }
        static const char *methods[] = {"get", "put", "post", "delete", "patch"};
        if (strncmp(line, "    ", 4) == 0 && line[4] != ' ') {
            for (size_t m = 0; m < 5; m++) {
                size_t l = strlen(methods[m]);
                if (strncmp(line + 4, methods[m], l) == 0 && line[4 + l] == ':') {
                    for (size_t k = 0; k <= l; k++)
                        ops[n].method[k] = (char)toupper((unsigned char)methods[m][k]);
                    snprintf(ops[n].path, sizeof ops[n].path, "%s", cur);
                    n++;
                }
            }
        }
    }
    free(s);
    return n;
}

static bool has(const op_t *ops, size_t n, const op_t *o) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(ops[i].method, o->method) == 0 && strcmp(ops[i].path, o->path) == 0) return true;
    return false;
}

TEST(every_route_is_documented_and_every_operation_served) {
    static op_t served[512], documented[512];
    size_t ns = load_routes(served, 512), nd = load_documented(documented, 512);
    ASSERT_GT(ns, 10);
    ASSERT_GT(nd, 10);
    int missing = 0;
    for (size_t i = 0; i < ns; i++)
        if (!has(documented, nd, &served[i])) {
            printf("not in docs/openapi.yaml: %s %s\n", served[i].method, served[i].path);
            missing++;
        }
    for (size_t i = 0; i < nd; i++)
        if (!has(served, ns, &documented[i])) {
            printf("documented but not served: %s %s\n", documented[i].method, documented[i].path);
            missing++;
        }
    ASSERT_EQ(missing, 0);
}

TEST(openapi_document_is_valid_openapi_3_1) {
    if (aw_test_sh("command -v node >/dev/null") != 0) TEST_SKIP("node not installed");
    ASSERT_EQ(aw_test_sh("cd '%s/tests/node' && node openapi-validate.mjs ../../docs/openapi.yaml",
                         aw_test_srcdir()),
              0);
}
