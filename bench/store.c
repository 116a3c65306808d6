/*
 * store bench — figures for the storage layer (never pass/fail):
 *   durable commits/s (one small write per transaction, fsync each),
 *   outbox enqueue rate (100 per transaction), claim+complete rate,
 *   read transactions/s from 4 threads.
 * SQLite on a file in $TMPDIR (or /tmp); PostgreSQL too when
 * AMTSWEG_BENCH_PG_URL is set. Each figure runs for about one second.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/time.h"
#include "store/outbox.h"
#include "store/store.h"

#define RUN_US 1000000

static void die(const char *what, const aw_err_t *err) {
    fprintf(stderr, "store bench: %s: %s\n", what, err->msg);
    exit(1);
}

static void bench_commits(aw_store_t *st) {
    aw_err_t err = {0};
    int64_t t0 = aw_time_mono_us(), n = 0;
    char key[32];
    while (aw_time_mono_us() - t0 < RUN_US) {
        aw_tx_t *tx;
        snprintf(key, sizeof key, "k%lld", (long long)(n % 1000));
        if (aw_store_begin(st, AW_TX_WRITE, &tx, &err) != 0) die("begin", &err);
        if (aw_store_setting_put(tx, "bench", key, "value", &err) != 0) die("put", &err);
        if (aw_store_commit(tx, &err) != 0) die("commit", &err);
        n++;
    }
    double s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  durable commits:          %8.0f /s\n", (double)n / s);
}

static void bench_outbox(aw_store_t *st) {
    aw_err_t err = {0};
    int64_t t0 = aw_time_mono_us(), n = 0;
    while (aw_time_mono_us() - t0 < RUN_US) {
        aw_tx_t *tx;
        if (aw_store_begin(st, AW_TX_WRITE, &tx, &err) != 0) die("begin", &err);
        for (int i = 0; i < 100; i++)
            if (aw_store_outbox_enqueue(tx, "bench", "{\"submission\":\"x\"}", 0, NULL, &err))
                die("enqueue", &err);
        if (aw_store_commit(tx, &err) != 0) die("commit", &err);
        n += 100;
    }
    double s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  outbox enqueue (100/tx):  %8.0f jobs/s\n", (double)n / s);
    t0 = aw_time_mono_us();
    int64_t done = 0;
    while (aw_time_mono_us() - t0 < RUN_US) {
        aw_outbox_job_t *jobs;
        size_t k;
        if (aw_store_outbox_claim(st, "bench", aw_time_now_ms(), 100, 60000, &jobs, &k, &err))
            die("claim", &err);
        if (k == 0) break;
        for (size_t i = 0; i < k; i++)
            if (aw_store_outbox_complete(st, jobs[i].id, &err) != 0) die("complete", &err);
        aw_outbox_jobs_free(jobs, k);
        done += (int64_t)k;
    }
    s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  outbox claim+complete:    %8.0f jobs/s (claim 100, complete each)\n",
           (double)done / s);
}

typedef struct {
    aw_store_t *st;
    int64_t n;
} reader_t;

static void *reader(void *p) {
    reader_t *r = p;
    aw_err_t err = {0};
    int64_t t0 = aw_time_mono_us();
    while (aw_time_mono_us() - t0 < RUN_US) {
        aw_tx_t *tx;
        char *v = NULL;
        if (aw_store_begin(r->st, AW_TX_READ, &tx, &err) != 0) die("begin", &err);
        if (aw_store_setting_get(tx, "bench", "k1", &v, &err) != 0) die("get", &err);
        free(v);
        aw_store_rollback(tx);
        r->n++;
    }
    return NULL;
}

static void bench_reads(aw_store_t *st) {
    pthread_t th[4];
    reader_t r[4];
    int64_t t0 = aw_time_mono_us();
    for (int i = 0; i < 4; i++) {
        r[i] = (reader_t){st, 0};
        pthread_create(&th[i], NULL, reader, &r[i]);
    }
    int64_t n = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        n += r[i].n;
    }
    double s = (double)(aw_time_mono_us() - t0) / 1e6;
    printf("  read transactions (4 thr): %7.0f /s\n", (double)n / s);
}

static void run(const char *label, const char *url) {
    aw_err_t err = {0};
    aw_store_t *st;
    if (aw_store_open(url, NULL, &st, &err) != 0) die("open", &err);
    if (aw_store_migrate(st, NULL, &err) != 0) die("migrate", &err);
    printf("%s\n", label);
    bench_commits(st);
    bench_outbox(st);
    bench_reads(st);
    aw_store_close(st);
}

int main(void) {
    aw_log_set_level(AW_LOG_WARN);
    const char *tmp = getenv("TMPDIR");
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/amtsweg-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench.db", dir);
    run("sqlite (WAL, synchronous=NORMAL + group fdatasync before commit returns):", path);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    const char *pg = getenv("AMTSWEG_BENCH_PG_URL");
    if (pg && *pg)
        run("postgres:", pg);
    else
        printf("postgres: set AMTSWEG_BENCH_PG_URL to include it\n");
    return 0;
}
