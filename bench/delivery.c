/* bench/delivery — complete submissions per second over HTTP against the
 * real release server (announce + submit of a ~3 KB sealed data set,
 * keep-alive, concurrency 1, 16 and 64), p50/p99 latency of a complete
 * submission and the server's peak RSS, next to the signing bound measured
 * in process: cores × PS512 signatures/s (one thread) ÷ SETs the platform
 * signs per complete submission (create-submission + submit-submission = 2).
 * The SETs are signed after the commit; the rate that counts is complete
 * and signed submissions / (run + drain). The machine's own sign rate is
 * measured in short slices (250 ms) taken in turn with the server's (the server is
 * stopped with SIGSTOP meanwhile): on a shared VM that rate moves by
 * +-15 % within seconds and by 30 % within minutes, so only a rate measured
 * at the same time as the server ran is the server's bound. The one-thread
 * rate at the start and the highest rate seen are printed as well.
 * Prints figures only. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/time.h"
#include "jose/jwe.h"
#include "jose/jwk.h"
#include "jose/jws.h"
#include "store/sql.h"
#include "store/store.h"

#define SETS_PER_SUBMISSION 2
#define RUN_US              4000000 /* AMTSWEG_BENCH_SECONDS overrides (profiling) */
#define ADMIN               "bench-admin-token-0123456789"
#define WINDOW_US           1000000 /* one window of the sign rate before the runs */

static const char *src_root(void) {
    const char *r = getenv("AMTSWEG_SRC");
    return r ? r : ".";
}

static aw_jwk_t *load(const char *set, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/data/jose/%s/%s.jwk", src_root(), set, name);
    aw_err_t err;
    aw_jwk_t *k;
    if (aw_jwk_load_file(path, &k, &err)) {
        fprintf(stderr, "bench/delivery: %s\n", err.msg);
        exit(1);
    }
    return k;
}

/* ---- a minimal keep-alive HTTP/1.1 client ---------------------------------- */

static int port;

static int conn_open(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Sends a request and reads the response; returns the status (or -1) and
 * the body in out (reset first). */
static int http(int fd, const char *method, const char *path, const char *hdrs, const char *body,
                size_t len, aw_buf_t *out) {
    aw_buf_t req = AW_BUF_INIT;
    aw_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: bench\r\n%sContent-Length: %zu\r\n\r\n", method,
                  path, hdrs ? hdrs : "", body ? len : 0);
    if (body) aw_buf_append(&req, body, len);
    size_t off = 0;
    while (off < req.len) {
        ssize_t w = write(fd, req.data + off, req.len - off);
        if (w <= 0) {
            aw_buf_free(&req);
            return -1;
        }
        off += (size_t)w;
    }
    aw_buf_free(&req);
    char buf[65536];
    size_t n = 0;
    aw_buf_reset(out);
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r <= 0) return -1;
        n += (size_t)r;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) continue;
        const char *cl = strcasestr(buf, "\r\nContent-Length:");
        size_t clen = cl ? strtoul(cl + 17, NULL, 10) : 0;
        size_t hl = (size_t)(end + 4 - buf);
        while (n < hl + clen) {
            r = read(fd, buf + n, sizeof buf - 1 - n);
            if (r <= 0) return -1;
            n += (size_t)r;
        }
        aw_buf_append(out, end + 4, clen);
        aw_buf_putc(out, 0);
        return atoi(buf + 9);
    }
}

static char *json_field(const char *body, const char *name) {
    json_t *j = json_loads(body, 0, NULL);
    const char *v = json_string_value(json_object_get(j, name));
    char *s = v ? strdup(v) : NULL;
    json_decref(j);
    return s;
}

/* ---- the load ---------------------------------------------------------------- */

static char *dest, *token, *submit_body;
static size_t submit_len;

static int64_t phase_us[2], phase_n;

typedef struct {
    int64_t *lat;
    size_t n, cap;
    int errors;
    int64_t deadline;
    bool single;
} worker_t;

static void *run(void *arg) {
    worker_t *w = arg;
    int fd = conn_open();
    aw_buf_t out = AW_BUF_INIT;
    char hdr[300], ann[400];
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             token);
    int an = snprintf(ann, sizeof ann,
                      "{\"destinationId\":\"%s\",\"announcedAttachments\":[],\"serviceType\":"
                      "{\"name\":\"Hund anmelden\",\"identifier\":"
                      "\"urn:de:fim:leika:leistung:99123456789012\"}}",
                      dest);
    while (fd >= 0 && aw_time_mono_us() < w->deadline) {
        int64_t t0 = aw_time_mono_us();
        int st = http(fd, "POST", "/v1/submissions", hdr, ann, (size_t)an, &out);
        int64_t t1 = aw_time_mono_us();
        char *sid = st == 201 ? json_field(out.data, "submissionId") : NULL;
        if (sid) {
            char path[100];
            snprintf(path, sizeof path, "/v1/submissions/%s", sid);
            st = http(fd, "PUT", path, hdr, submit_body, submit_len, &out);
            free(sid);
        }
        if (st != 202) {
            w->errors++;
            if (st < 0) {
                close(fd);
                fd = conn_open();
            }
            continue;
        }
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 1024;
            w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
        }
        w->lat[w->n++] = aw_time_mono_us() - t0;
        if (w->single) {
            phase_us[0] += t1 - t0;
            phase_us[1] += aw_time_mono_us() - t1;
            phase_n++;
        }
    }
    if (fd >= 0) close(fd);
    aw_buf_free(&out);
    return NULL;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static long rss_peak_kb(pid_t pid) {
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
    FILE *f = fopen(p, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

static pid_t server_pid;

/* CPU seconds (user + system) the server used so far. */
static double server_cpu(void) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)server_pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *q = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (q) sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static char db_path[300];
static double bound; /* complete submissions/s the signing allows */

/* complete and signed submissions/s and the drain's SETs/s per concurrency,
 * for the summary against the highest sign rate measured */
typedef struct {
    int conc;
    double rate, drain;
    double ref;     /* SETs/s the machine signs, in the slices between the server's */
    double ref_all; /* of these: all cores at once */
} result_t;
static result_t results[3];
static int nresults;

/* Events committed but not signed yet (the platform signs after the
 * commit); -1 when the database cannot be read. With any, only whether
 * there are some (the poll while the signers drain must cost them nothing
 * worth counting: a COUNT over 10 000 rows every 50 ms did). */
static int64_t unsigned_events_q(bool count) {
    /* one connection for the whole run: opening one per poll costs the
     * server's signer threads (idle priority) a good part of a core */
    static aw_store_t *st;
    aw_tx_t *tx;
    aw_sql_t *q;
    int64_t n = -1;
    if (!st && aw_store_open(db_path, NULL, &st, NULL)) return -1;
    if (aw_store_begin(st, AW_TX_READ, &tx, NULL) == 0) {
        if (aw_sql_query(tx,
                         count ? "SELECT COUNT(*) FROM delivery_events WHERE token = ''"
                               : "SELECT EXISTS (SELECT 1 FROM delivery_events WHERE token = '')",
                         &q, NULL, "") == 0) {
            if (aw_sql_step(q, NULL) == 1) n = aw_sql_col_int64(q, 0);
            aw_sql_done(q);
        }
        aw_store_rollback(tx);
    }
    return n;
}

static int64_t unsigned_events(void) {
    return unsigned_events_q(true);
}

static bool any_unsigned(void) {
    return unsigned_events_q(false) > 0;
}

/* CPU seconds this process (the load generator) used so far. */
static double client_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A value from the server's /metrics (-1 when missing). */
static double metric(const char *series) {
    int fd = conn_open();
    aw_buf_t out = AW_BUF_INIT;
    double v = -1;
    if (fd >= 0 && http(fd, "GET", "/metrics", NULL, NULL, 0, &out) == 200) {
        size_t n = strlen(series);
        for (const char *p = out.data; p && *p;) {
            if (strncmp(p, series, n) == 0 && p[n] == ' ') v = atof(p + n + 1);
            p = strchr(p, '\n');
            if (p) p++;
        }
    }
    if (fd >= 0) close(fd);
    aw_buf_free(&out);
    return v;
}

static double sign_rate(aw_jwk_t *k, int threads, int windows, int64_t span_us);
/* the slices of the drain and of the machine's rate taken in turn
 * (AMTSWEG_BENCH_SLICE_MS) */
static int64_t slice_us = 250000;
static aw_jwk_t *ref_key; /* the platform's signature key, for the reference slices */

/* Lets the stopped server go on (SIGCONT) or stops it (SIGSTOP) and waits
 * until it has; false when the server is gone. */
static bool server_pause(bool stop) {
    int st;
    if (kill(server_pid, stop ? SIGSTOP : SIGCONT) != 0) return false;
    return waitpid(server_pid, &st, stop ? WUNTRACED : WCONTINUED) == server_pid;
}

static void measure(int conc) {
    double esc0 = metric("amtsweg_delivery_sign_escalations_total");
    double starved0 = metric("amtsweg_delivery_signer_starved_seconds_total");
    double wt0 = metric("amtsweg_store_write_transactions_total"),
           wc0 = metric("amtsweg_store_write_commits_total");
    pthread_t th[64];
    worker_t ws[64];
    memset(ws, 0, sizeof ws);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* The machine's sign rate in slices of 250 ms: one thread and all cores right
     * before the run, then one of them in turn after each slice of the
     * drain, with the server stopped meanwhile. On a shared VM the rate
     * moves by +-15 % within seconds and by more within minutes; slices
     * taken in turn with the server's see the same machine as the server.
     * The bound is the higher of cores x the one-thread rate (the issue's
     * formula) and the rate of all cores at once. */
    double one_sum = sign_rate(ref_key, 1, 1, slice_us),
           all_sum = sign_rate(ref_key, (int)cores, 1, slice_us);
    int one_n = 1, all_n = 1;
    double cpu0 = server_cpu(), ccpu0 = client_cpu();
    const char *secs_env = getenv("AMTSWEG_BENCH_SECONDS");
    int64_t run_us = secs_env && atoi(secs_env) > 0 ? (int64_t)atoi(secs_env) * 1000000 : RUN_US;
    int64_t start = aw_time_mono_us();
    for (int i = 0; i < conc; i++) {
        ws[i].deadline = start + run_us;
        ws[i].single = conc == 1;
        pthread_create(&th[i], NULL, run, &ws[i]);
    }
    size_t total = 0;
    int errors = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(th[i], NULL);
        total += ws[i].n;
        errors += ws[i].errors;
    }
    double secs = (double)(aw_time_mono_us() - start) / 1e6;
    int64_t *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < conc; i++) {
        memcpy(all + k, ws[i].lat, ws[i].n * sizeof *all);
        k += ws[i].n;
        free(ws[i].lat);
    }
    qsort(all, total, sizeof *all, cmp64);
    double p50 = total ? (double)all[total / 2] / 1000 : 0;
    double p99 = total ? (double)all[(total * 99) / 100] / 1000 : 0;
    double cpu = server_cpu() - cpu0, ccpu = client_cpu() - ccpu0;
    printf("concurrency %2d: %7.1f complete submissions/s  p50 %6.1f ms  p99 %6.1f ms  (%zu ok, "
           "%d errors; CPU per submission: server %.2f ms, bench client %.2f ms)\n",
           conc, (double)total / secs, p50, p99, total, errors,
           total ? cpu * 1000 / (double)total : 0, total ? ccpu * 1000 / (double)total : 0);
    double wt = metric("amtsweg_store_write_transactions_total") - wt0,
           wc = metric("amtsweg_store_write_commits_total") - wc0;
    printf("               signer escalations during the run: %.0f; write transactions per "
           "SQLite commit %.2f, SQLite commits per submission %.2f\n",
           metric("amtsweg_delivery_sign_escalations_total") - esc0, wc > 0 ? wt / wc : 0,
           total ? wc / (double)total : 0);
    /* Replies come after the commit of the unsigned event; the SETs are
     * signed by the worker afterwards. Wait for that backlog: the rate that
     * counts is submissions / (run + drain). */
    const char *xa = getenv("AMTSWEG_BENCH_SERVER_ARGS");
    if (xa && strstr(xa, "--delivery-sign-worker 0")) { /* nobody signs: the request path alone */
        free(all);
        return;
    }
    int64_t backlog = unsigned_events();
    double starved1 = metric("amtsweg_delivery_signer_starved_seconds_total");
    double dcpu0 = server_cpu();
    /* polls every 20 ms on one connection (the signers must not share the
     * cores with the load generator); after each slice of the drain the
     * server is stopped for a slice of the machine's own sign rate, and only
     * the time the server may have run counts: from before the SIGCONT to
     * after it has stopped (the bench thread may wait for a core at either
     * end, so this errs against the server, never for it) */
    int64_t ran = 0, s0 = aw_time_mono_us();
    while (ran < 300000000) {
        bool more;
        while ((more = any_unsigned()) && aw_time_mono_us() - s0 < slice_us) usleep(20000);
        if (!more) {
            ran += aw_time_mono_us() - s0;
            break;
        }
        if (!server_pause(true)) {
            fprintf(stderr, "bench/delivery: the server could not be stopped (gone?)\n");
            exit(1);
        }
        ran += aw_time_mono_us() - s0;
        if (one_n <= all_n)
            one_sum += sign_rate(ref_key, 1, 1, slice_us), one_n++;
        else
            all_sum += sign_rate(ref_key, (int)cores, 1, slice_us), all_n++;
        s0 = aw_time_mono_us();
        if (!server_pause(false)) {
            fprintf(stderr, "bench/delivery: the server did not go on after SIGSTOP\n");
            exit(1);
        }
    }
    double dcpu = server_cpu() - dcpu0; /* a stopped server uses none */
    double r_one = one_sum / one_n, r_all = all_sum / all_n;
    double drain = (double)ran / 1e6;
    double ref = (double)cores * r_one > r_all ? (double)cores * r_one : r_all;
    double signed_rate = (double)total / (secs + drain);
    printf("               unsigned events at the end %lld, signed %.2f s later: "
           "%.1f complete and signed submissions/s = %.0f %% of the bound\n",
           (long long)backlog, drain, signed_rate, bound > 0 ? 100 * signed_rate / bound : 0);
    printf("               machine in slices between the server's: 1 thread %.1f /s (%d "
           "slices) x %ld cores = %.1f, %ld threads at once %.1f /s (%d); bound %.0f complete "
           "submissions/s, this run %.0f %% of it\n",
           r_one, one_n, cores, (double)cores * r_one, cores, r_all, all_n,
           ref / SETS_PER_SUBMISSION, 100 * signed_rate / (ref / SETS_PER_SUBMISSION));
    /* what the drain alone reached: the signers' share of the bound's sign
     * rate with nothing else to do (the rest of the gap is the run) */
    double drain_sets = drain > 0 && backlog > 0 ? (double)backlog / drain : 0;
    if (drain_sets > 0)
        printf("               drain: %.1f SETs/s = %.0f %% of %ld cores x the sign rate, %.0f %% "
               "of the machine's rate in the slices; server CPU %.0f %% of %ld cores\n",
               drain_sets, bound > 0 ? 100 * drain_sets / (bound * SETS_PER_SUBMISSION) : 0, cores,
               100 * drain_sets / ref, drain > 0 ? 100 * dcpu / (drain * (double)cores) : 0, cores);
    /* signing threads that waited for the committer's claims while events
     * were left (thread-seconds; the database slower than the signing) */
    printf("               signers starved for claimed events: %.3f s in the run, %.3f s in the "
           "drain (thread-seconds)\n",
           starved1 - starved0, metric("amtsweg_delivery_signer_starved_seconds_total") - starved1);
    if (nresults < 3)
        results[nresults++] = (result_t){
            .conc = conc, .rate = signed_rate, .drain = drain_sets, .ref = ref, .ref_all = r_all};
    if (conc == 1 && phase_n)
        printf("               mean announce %.1f ms, mean submit %.1f ms\n",
               (double)phase_us[0] / (double)phase_n / 1000,
               (double)phase_us[1] / (double)phase_n / 1000);
    fflush(stdout);
    free(all);
}

typedef struct {
    aw_jwk_t *k;
    int64_t span_us;
    double rate;
} sign_arg_t;

static void *sign_loop(void *arg) {
    sign_arg_t *a = arg;
    aw_buf_t b = AW_BUF_INIT;
    int64_t t0 = aw_time_mono_us();
    int n = 0;
    while (aw_time_mono_us() - t0 < a->span_us) {
        aw_buf_reset(&b);
        aw_jws_sign(a->k, "secevent+jwt", "{\"x\":1}", 7, &b, NULL);
        n++;
    }
    a->rate = n / ((double)(aw_time_mono_us() - t0) / 1e6);
    aw_buf_free(&b);
    return NULL;
}

/* PS512 signatures/s of `threads` threads signing at once (their sum), the
 * best of `windows` windows of span_us: other load on a shared VM only ever lowers
 * the figure, and a low bound would flatter the percentages. */
static double sign_rate(aw_jwk_t *k, int threads, int windows, int64_t span_us) {
    pthread_t th[64];
    sign_arg_t a[64];
    if (threads > 64) threads = 64;
    double best = 0;
    for (int w = 0; w < windows; w++) {
        double sum = 0;
        for (int i = 0; i < threads; i++) {
            a[i] = (sign_arg_t){.k = k, .span_us = span_us};
            if (i > 0) pthread_create(&th[i], NULL, sign_loop, &a[i]);
        }
        sign_loop(&a[0]);
        for (int i = 0; i < threads; i++) {
            if (i > 0) pthread_join(th[i], NULL);
            sum += a[i].rate;
        }
        if (sum > best) best = sum;
    }
    return best;
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *bin = getenv("AMTSWEG_BIN");
    if (!bin) {
        fprintf(stderr, "bench/delivery: AMTSWEG_BIN not set (run through make bench)\n");
        return 1;
    }
    aw_jwk_t *psig = load("b", "sig.private"), *enc = load("a", "enc.public");
    ref_key = psig;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* The bound: cores x the one-thread rate. Also measured: all cores
     * signing at once, what a server that did nothing but sign would reach
     * on this machine (cores that share a host's resources each sign
     * slower than one alone). */
    const char *sl = getenv("AMTSWEG_BENCH_SLICE_MS");
    if (sl && atoi(sl) >= 50) slice_us = (int64_t)atoi(sl) * 1000;
    double rate = sign_rate(psig, 1, 3, WINDOW_US), all = sign_rate(psig, (int)cores, 3, WINDOW_US);
    bound = (double)cores * rate / SETS_PER_SUBMISSION;
    printf("PS512 sign, RSA-4096, 1 thread        %8.1f /s\n", rate);
    printf("PS512 sign, RSA-4096, %ld threads       %8.1f /s (%.1f per core)\n", cores, all,
           all / (double)cores);
    printf("bound: %ld cores x %.1f / %d SETs = %.0f complete submissions/s (all cores signing at "
           "once: %.0f)\n",
           cores, rate, SETS_PER_SUBMISSION, bound, all / SETS_PER_SUBMISSION);

    /* the server, on a temporary database with the TEST-ONLY platform key */
    char dir[] = "/tmp/amtsweg-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char db[300], var[300], pk[300], cmd[1200];
    snprintf(db, sizeof db, "%s/db", dir);
    snprintf(db_path, sizeof db_path, "%s", db);
    snprintf(var, sizeof var, "%s/var", dir);
    snprintf(pk, sizeof pk, "%s/pk.jwk", dir);
    snprintf(cmd, sizeof cmd, "cp %s/tests/data/jose/b/sig.private.jwk %s && chmod 600 %s",
             src_root(), pk, pk);
    if (system(cmd) != 0) return 1;
    /* more HTTP threads than cores: a thread waiting for the durable commit
     * (fsync) leaves its core to another that signs */
    char threads[16];
    const char *te = getenv("AMTSWEG_BENCH_THREADS");
    snprintf(threads, sizeof threads, "%ld", te ? atol(te) : 4 * cores);
    int pfd[2];
    if (pipe(pfd) != 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        setenv("AMTSWEG_ADMIN_TOKEN", ADMIN, 1);
        /* AMTSWEG_BENCH_SERVER_ARGS: extra flags, e.g. "--delivery-sign-worker 0" */
        char *av[40] = {(char *)bin,
                        "serve",
                        "--listen",
                        "127.0.0.1:0",
                        "--db",
                        db,
                        "--var-dir",
                        var,
                        "--platform-key",
                        pk,
                        "--log-level",
                        "warn",
                        "--max-connections",
                        "2000",
                        "--threads",
                        threads};
        int ac = 16;
        const char *xa = getenv("AMTSWEG_BENCH_SERVER_ARGS");
        char *xs = xa ? strdup(xa) : NULL, *save = NULL;
        for (char *t = xs ? strtok_r(xs, " ", &save) : NULL; t && ac < 39;
             t = strtok_r(NULL, " ", &save))
            av[ac++] = t;
        av[ac] = NULL;
        execv(bin, av);
        _exit(127);
    }
    close(pfd[1]);
    server_pid = pid;
    FILE *so = fdopen(pfd[0], "r");
    char line[512];
    while (fgets(line, sizeof line, so)) {
        char *p = strstr(line, "listening on http://127.0.0.1:");
        if (p) {
            port = atoi(p + strlen("listening on http://127.0.0.1:"));
            break;
        }
    }
    if (!port) {
        fprintf(stderr, "bench/delivery: the server did not start\n");
        return 1;
    }
    /* destination, sender, token */
    int fd = conn_open();
    aw_buf_t out = AW_BUF_INIT, body = AW_BUF_INIT;
    char *ej = NULL, *sj = NULL;
    {
        char p[4096];
        size_t n;
        snprintf(p, sizeof p, "%s/tests/data/jose/a/enc.public.jwk", src_root());
        FILE *f = fopen(p, "r");
        ej = calloc(1, 8192);
        n = fread(ej, 1, 8191, f);
        ej[n] = 0;
        fclose(f);
        snprintf(p, sizeof p, "%s/tests/data/jose/a/sig.public.jwk", src_root());
        f = fopen(p, "r");
        sj = calloc(1, 8192);
        n = fread(sj, 1, 8191, f);
        sj[n] = 0;
        fclose(f);
    }
    aw_buf_printf(&body,
                  "{\"encryptionPublicKey\":%s,\"signingPublicKey\":%s,\"services\":[{"
                  "\"identifier\":\"99123456789012\",\"regions\":[\"09\"],\"submissionSchemas\":"
                  "[{\"schemaUri\":\"urn:x:y\",\"mimeType\":\"application/json\"}]}]}",
                  ej, sj);
    const char *admin = "Authorization: Bearer " ADMIN "\r\nContent-Type: application/json\r\n";
    int st = http(fd, "POST", "/admin/v1/destinations", admin, body.data, body.len, &out);
    dest = st == 201 ? json_field(out.data, "destinationId") : NULL;
    st = http(fd, "POST", "/admin/v1/clients", admin, "{\"kind\":\"sender\"}", 17, &out);
    char *cid = json_field(out.data, "clientId"), *csec = json_field(out.data, "clientSecret");
    aw_buf_reset(&body);
    aw_buf_printf(&body, "grant_type=client_credentials&client_id=%s&client_secret=%s", cid, csec);
    st = http(fd, "POST", "/token", "Content-Type: application/x-www-form-urlencoded\r\n",
              body.data, body.len, &out);
    token = json_field(out.data, "access_token");
    close(fd);
    if (!dest || !token) {
        fprintf(stderr, "bench/delivery: setup failed (HTTP %d)\n", st);
        kill(pid, SIGTERM);
        return 1;
    }
    /* a ~3 KB data set and its metadata, sealed once (the sender's work) */
    char data[3072];
    memset(data, 'x', sizeof data);
    memcpy(data, "{\"d\":\"", 6);
    memcpy(data + sizeof data - 3, "\"}", 3);
    aw_buf_t ed = AW_BUF_INIT, em = AW_BUF_INIT;
    aw_err_t err;
    const char *meta = "{\"contentStructure\":{\"attachments\":[]}}";
    aw_jwe_seal(enc, data, strlen(data), AW_JWE_CTY_JSON, &ed, NULL, &err);
    aw_jwe_seal(enc, meta, strlen(meta), AW_JWE_CTY_JSON, &em, NULL, &err);
    aw_buf_reset(&body);
    aw_buf_printf(&body, "{\"encryptedMetadata\":\"%s\",\"encryptedData\":\"%s\"}", em.data,
                  ed.data);
    submit_body = body.data;
    submit_len = body.len;
    printf("data set %zu bytes plaintext, %zu bytes sealed; server --threads %s\n", strlen(data),
           ed.len, threads);
    /* AMTSWEG_BENCH_CONC=16: one concurrency only (for profiling) */
    int concs[] = {1, 16, 64}, nc = 3;
    const char *only = getenv("AMTSWEG_BENCH_CONC");
    if (only && atoi(only) > 0 && atoi(only) <= 64) concs[0] = atoi(only), nc = 1;
    for (int i = 0; i < nc; i++) {
        measure(concs[i]);
        /* the sign rate again after each drain (the server is idle now):
         * on a shared VM the first figure may have been taken in a slow
         * moment, and the summary uses the highest */
        double r = sign_rate(psig, 1, 1, WINDOW_US), ra = sign_rate(psig, (int)cores, 1, WINDOW_US);
        printf("               PS512 sign rate now %.1f /s, %ld threads %.1f /s\n", r, cores, ra);
        if (r > rate) rate = r;
        if (ra > all) all = ra;
    }
    long kb = rss_peak_kb(pid);
    printf("server peak RSS %.1f MiB\n", kb / 1024.0);
    if (nresults) {
        double hb = (double)cores * rate / SETS_PER_SUBMISSION, ab = all / SETS_PER_SUBMISSION;
        printf("summary against the highest sign rates measured in this run (1 thread %.1f /s: "
               "bound %.0f complete submissions/s; %ld threads at once %.1f /s: %.0f):\n",
               rate, hb, cores, all, ab);
        for (int i = 0; i < nresults; i++)
            printf("  concurrency %2d: %6.1f complete and signed submissions/s = %3.0f %% of the "
                   "bound, %3.0f %% of all cores signing (drain alone %3.0f %% / %3.0f %%)\n",
                   results[i].conc, results[i].rate, 100 * results[i].rate / hb,
                   100 * results[i].rate / ab, 100 * results[i].drain / (hb * SETS_PER_SUBMISSION),
                   100 * results[i].drain / all);
        printf("against the machine's rate in slices taken in turn with the server's (the "
               "higher of cores x 1 thread and all cores at once; the figure the target is read "
               "against):\n");
        for (int i = 0; i < nresults; i++)
            printf("  concurrency %2d: %6.1f complete and signed submissions/s = %3.0f %% of %.0f "
                   "(drain alone %3.0f %%); against all cores at once %3.0f %% of %.0f (drain "
                   "alone %3.0f %%)\n",
                   results[i].conc, results[i].rate,
                   100 * results[i].rate / (results[i].ref / SETS_PER_SUBMISSION),
                   results[i].ref / SETS_PER_SUBMISSION, 100 * results[i].drain / results[i].ref,
                   100 * results[i].rate / (results[i].ref_all / SETS_PER_SUBMISSION),
                   results[i].ref_all / SETS_PER_SUBMISSION,
                   100 * results[i].drain / results[i].ref_all);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench/delivery: could not remove %s\n", dir);
    aw_buf_free(&out);
    aw_buf_free(&ed);
    aw_buf_free(&em);
    aw_jwk_free(psig);
    aw_jwk_free(enc);
    return 0;
}
