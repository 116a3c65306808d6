#include "pg_harness.h"

#include <glob.h>
#include <stdarg.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static bool find_bindir(char *out, size_t n) {
    glob_t g;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0) return false;
    /* Pick the newest major version (numeric compare of the directory). */
    const char *best = NULL;
    long best_v = -1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *p = g.gl_pathv[i] + strlen("/usr/lib/postgresql/");
        long v = strtol(p, NULL, 10);
        char pg_ctl[512];
        snprintf(pg_ctl, sizeof pg_ctl, "%.*s/pg_ctl", (int)(strlen(g.gl_pathv[i]) - 7),
                 g.gl_pathv[i]);
        if (v > best_v && access(g.gl_pathv[i], X_OK) == 0 && access(pg_ctl, X_OK) == 0) {
            best_v = v;
            best = g.gl_pathv[i];
        }
    }
    bool ok = best != NULL;
    if (ok) snprintf(out, n, "%.*s", (int)(strlen(best) - strlen("/initdb")), best);
    globfree(&g);
    return ok;
}

bool aw_pg_harness_available(void) {
    char dir[256];
    if (!find_bindir(dir, sizeof dir)) return false;
    if (geteuid() == 0 && !getpwnam("postgres")) return false;
    return true;
}

/* Runs a PostgreSQL binary (as user postgres when we are root). */
static int run_pg(const aw_pg_harness_t *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int run_pg(const aw_pg_harness_t *h, const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (h->as_postgres) return aw_test_sh("cd / && runuser -u postgres -- %s", cmd);
    return aw_test_sh("%s", cmd);
}

static aw_pg_harness_t *g_atexit_h;

static void stop_at_exit(void) {
    if (g_atexit_h) aw_pg_harness_stop(g_atexit_h);
}

/* initdb costs about a second of CPU; one run of the test binary does it
 * once into a template next to the per-test directories (under a lock, so
 * parallel tests wait for the first) and each test copies the template. */
static int init_data_dir(aw_pg_harness_t *h, const char *dir) {
    char runroot[512];
    snprintf(runroot, sizeof runroot, "%s", dir);
    char *slash = strrchr(runroot, '/');
    if (slash && slash != runroot) *slash = '\0';
    char tmpl[600], lockpath[620];
    snprintf(tmpl, sizeof tmpl, "%s/pg-template", runroot);
    snprintf(lockpath, sizeof lockpath, "%s/pg-template.lock", runroot);
    int lock = open(lockpath, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        perror("pg_harness: template lock");
        if (lock >= 0) close(lock);
        return -1;
    }
    struct stat sb;
    int rc = 0;
    char done[640];
    snprintf(done, sizeof done, "%s/complete", tmpl);
    if (stat(done, &sb) != 0) {
        aw_test_sh("rm -rf '%s'", tmpl);
        if (mkdir(tmpl, 0700) != 0) rc = -1;
        if (!rc && h->as_postgres) {
            struct passwd *pw = getpwnam("postgres");
            if (!pw || chown(tmpl, pw->pw_uid, pw->pw_gid) != 0) rc = -1;
        }
        if (!rc && run_pg(h,
                          "%s/initdb -D %s/data -A trust -U postgres -N --no-locale -E UTF8 "
                          ">%s/initdb.log 2>&1",
                          h->bindir, tmpl, tmpl) != 0) {
            fprintf(stderr, "pg_harness: initdb failed, see %s/initdb.log\n", tmpl);
            aw_test_sh("cat %s/initdb.log >&2", tmpl);
            rc = -1;
        }
        if (!rc && aw_test_sh("touch '%s'", done) != 0) rc = -1;
    }
    if (!rc && run_pg(h, "cp -a %s/data %s/data", tmpl, h->root) != 0) {
        fprintf(stderr, "pg_harness: copying the template cluster failed\n");
        rc = -1;
    }
    flock(lock, LOCK_UN);
    close(lock);
    return rc;
}

int aw_pg_harness_start(aw_pg_harness_t *h, const char *dir) {
    memset(h, 0, sizeof *h);
    if (!find_bindir(h->bindir, sizeof h->bindir)) {
        fprintf(stderr, "pg_harness: no /usr/lib/postgresql/*/bin/initdb\n");
        return -1;
    }
    h->as_postgres = geteuid() == 0;
    snprintf(h->root, sizeof h->root, "%s/pg", dir);
    if (mkdir(h->root, 0700) != 0) {
        perror("pg_harness: mkdir");
        return -1;
    }
    if (h->as_postgres) {
        struct passwd *pw = getpwnam("postgres");
        if (!pw || chown(h->root, pw->pw_uid, pw->pw_gid) != 0) {
            fprintf(stderr, "pg_harness: cannot hand %s to user postgres\n", h->root);
            return -1;
        }
        /* postgres must traverse the test directory and its parent (both
         * private 0700 directories made by the test runner). */
        char parent[512];
        snprintf(parent, sizeof parent, "%s", dir);
        for (int i = 0; i < 2; i++) {
            struct stat sb;
            if (stat(parent, &sb) == 0 && sb.st_uid == 0 && strncmp(parent, "/tmp/", 5) == 0)
                chmod(parent, (sb.st_mode & 07777) | 0011);
            char *slash = strrchr(parent, '/');
            if (!slash || slash == parent) break;
            *slash = '\0';
        }
    }
    h->port = 20000 + (int)(getpid() % 20000);
    if (init_data_dir(h, dir) != 0) return -1;
    if (run_pg(h,
               "%s/pg_ctl -D %s/data -w -t 60 -l %s/server.log -o \"-p %d -k %s "
               "-c listen_addresses='' -c fsync=off -c max_connections=60\" start >/dev/null",
               h->bindir, h->root, h->root, h->port, h->root) != 0) {
        fprintf(stderr, "pg_harness: pg_ctl start failed\n");
        aw_test_sh("cat %s/server.log >&2", h->root);
        return -1;
    }
    h->running = true;
    snprintf(h->url, sizeof h->url, "postgresql:///postgres?host=%s&port=%d&user=postgres", h->root,
             h->port);
    return 0;
}

const char *aw_pg_harness_start_or_skip(aw_pg_harness_t *h) {
    if (!aw_pg_harness_available()) TEST_SKIP("PostgreSQL is not installed");
    if (aw_pg_harness_start(h, aw_test_tmpdir()) != 0)
        aw_test_fail(__FILE__, __LINE__, "could not start a PostgreSQL cluster");
    g_atexit_h = h;
    static bool registered;
    if (!registered) {
        atexit(stop_at_exit);
        registered = true;
    }
    return h->url;
}

int aw_pg_harness_create_db(aw_pg_harness_t *h, const char *name, char *url, size_t n) {
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return -1;
    PGconn *c = PQconnectdb(h->url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_harness: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
    if (rc != 0) fprintf(stderr, "pg_harness: %s", PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
    if (rc == 0)
        snprintf(url, n, "postgresql:///%s?host=%s&port=%d&user=postgres", name, h->root, h->port);
    return rc;
}

void aw_pg_harness_stop(aw_pg_harness_t *h) {
    if (!h || !h->running) return;
    h->running = false;
    run_pg(h, "%s/pg_ctl -D %s/data -m immediate -w -t 30 stop >/dev/null 2>&1", h->bindir,
           h->root);
    if (g_atexit_h == h) g_atexit_h = NULL;
}
