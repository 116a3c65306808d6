/* The release binary under valgrind memcheck: start, answer requests of
 * every operator kind and error path, drain on SIGTERM — no invalid access,
 * no uninitialised use, no definite leak. */
#include "harness.h"
#include "test.h"

#include <unistd.h>

TEST_T(release_binary_is_valgrind_clean, 300) {
    if (aw_test_sh("command -v valgrind >/dev/null") != 0) TEST_SKIP("valgrind not installed");
    const char *bin = getenv("AMTSWEG_RELEASE_BIN");
    if (!bin || access(bin, X_OK) != 0) TEST_SKIP("AMTSWEG_RELEASE_BIN not built");
    char db[600], log[600], logopt[700];
    snprintf(db, sizeof db, "%s/vg.db", aw_test_tmpdir());
    snprintf(log, sizeof log, "%s/valgrind.log", aw_test_tmpdir());
    snprintf(logopt, sizeof logopt, "--log-file=%s", log);
    const char *argv[] = {"valgrind",
                          "--quiet",
                          "--error-exitcode=99",
                          "--leak-check=full",
                          "--errors-for-leak-kinds=definite",
                          "--show-leak-kinds=definite",
                          logopt,
                          bin,
                          "serve",
                          "--db",
                          db,
                          "--threads",
                          "2",
                          NULL};
    aw_tc_server_t s;
    aw_tc_start_argv(&s, argv, NULL);
    const char *paths[] = {"/health", "/ready", "/metrics", "/nope", "/health/x"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        aw_tc_resp_t r;
        aw_tc_request(s.port, "GET", paths[i], NULL, NULL, 0, &r);
        ASSERT(r.status == 200 || r.status == 404);
        aw_tc_resp_free(&r);
    }
    aw_tc_resp_t r;
    aw_tc_request(s.port, "POST", "/health", "Content-Type: application/json\r\n", "{\"a\":1}", 7,
                  &r);
    ASSERT_EQ(r.status, 405);
    aw_tc_resp_free(&r);
    int rc = aw_tc_stop(&s);
    char *vg = aw_test_read_file(log, NULL);
    ASSERT_MSG(rc == 0, "exit status %d; valgrind says:\n%s", rc, vg ? vg : "");
    free(vg);
}
