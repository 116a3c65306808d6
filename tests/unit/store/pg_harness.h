/*
 * pg_harness — a throwaway PostgreSQL cluster for one test process.
 *
 *   aw_pg_harness_t pg;
 *   const char *url = aw_pg_harness_start_or_skip(&pg); // TEST_SKIP when absent
 *   ... aw_store_open(url, ...) ...
 *   aw_pg_harness_stop(&pg);                            // also runs at exit
 *
 * The cluster lives in <aw_test_tmpdir()>/pg, listens only on a Unix socket
 * in that directory (no TCP port, so parallel tests never collide), trusts
 * local connections, and runs with fsync=off (tests do not pull the plug).
 * As root, the PostgreSQL binaries run as user `postgres` (initdb refuses
 * root) and the test's directory is made traversable for it.
 * Needs /usr/lib/postgresql/<version>/bin/initdb; the newest one is used.
 */
#ifndef AW_TEST_PG_HARNESS_H
#define AW_TEST_PG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct aw_pg_harness {
    char bindir[256];
    char root[512]; /* data in root/data, socket in root */
    int port;
    char url[1024]; /* libpq URI of database "postgres" */
    bool as_postgres;
    bool running;
} aw_pg_harness_t;

/* True when a PostgreSQL server installation is found. */
bool aw_pg_harness_available(void);
/* Creates and starts a cluster below dir. 0 or -1 (reason printed). */
int aw_pg_harness_start(aw_pg_harness_t *h, const char *dir);
/* Starts a cluster in aw_test_tmpdir() and returns its url; TEST_SKIP when
 * PostgreSQL is not installed, test failure when it does not start. The
 * cluster is stopped at process exit if the test does not stop it. */
const char *aw_pg_harness_start_or_skip(aw_pg_harness_t *h);
/* Creates database name (an identifier [a-z0-9_]) and writes its url. */
int aw_pg_harness_create_db(aw_pg_harness_t *h, const char *name, char *url, size_t n);
/* Stops the cluster (immediate shutdown). Safe to call twice. */
void aw_pg_harness_stop(aw_pg_harness_t *h);

#endif
