/*
 * runner.c — runs the registered tests, each in its own process, up to -j
 * at a time, and prints one line per test and the summary line
 * "N passed, N failed" last. Output of a test is captured in a temporary
 * file and shown only when it fails (or with -v).
 *
 *   amtsweg-tests [-j N] [-v] [-l] [FILTER...]
 *
 * A test is selected when its name contains any FILTER (all when none).
 * Exit status: 0 when nothing failed and at least one test ran, else 1.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char name[256];
    aw_test_fn fn;
    int timeout_s;
    /* run state */
    pid_t pid;
    int out_fd;
    char out_path[256];
    char tmpdir[256];
    struct timespec start;
    int status; /* 0 pass, 1 fail, 2 skip */
} test_t;

static test_t *g_tests;
static size_t g_ntests, g_captests;
static test_t *g_current;

#define SKIP_EXIT 77

void aw_test_register(const char *file, const char *name, aw_test_fn fn, int timeout_s) {
    if (g_ntests == g_captests) {
        g_captests = g_captests ? g_captests * 2 : 256;
        g_tests = realloc(g_tests, g_captests * sizeof *g_tests);
        if (!g_tests) abort();
    }
    test_t *t = &g_tests[g_ntests++];
    memset(t, 0, sizeof *t);
    /* tests/unit/base/buf.c + grows -> unit/base/buf/grows */
    const char *p = strstr(file, "tests/");
    p = p ? p + 6 : file;
    size_t n = strlen(p);
    if (n > 2 && strcmp(p + n - 2, ".c") == 0) n -= 2;
    snprintf(t->name, sizeof t->name, "%.*s/%s", (int)n, p, name);
    t->fn = fn;
    t->timeout_s = timeout_s;
}

void aw_test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(NULL);
    exit(1);
}

void aw_test_skip(const char *why) {
    fprintf(stderr, "SKIP: %s\n", why);
    fflush(NULL);
    exit(SKIP_EXIT);
}

const char *aw_test_bin(void) {
    const char *b = getenv("AMTSWEG_BIN");
    return b ? b : "build/asan/amtsweg";
}

const char *aw_test_srcdir(void) {
    const char *s = getenv("AMTSWEG_SRC");
    return s ? s : ".";
}

const char *aw_test_tmpdir(void) {
    return g_current ? g_current->tmpdir : "/tmp";
}

int aw_test_sh(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    fflush(NULL);
    int st = system(cmd);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

char *aw_test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static bool selected(const char *name, int nfilters, char **filters) {
    if (nfilters == 0) return true;
    for (int i = 0; i < nfilters; i++)
        if (strstr(name, filters[i])) return true;
    return false;
}

static double elapsed_ms(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

static void start_test(test_t *t, const char *root) {
    snprintf(t->out_path, sizeof t->out_path, "%s/out.XXXXXX", root);
    t->out_fd = mkstemp(t->out_path);
    snprintf(t->tmpdir, sizeof t->tmpdir, "%s/t.XXXXXX", root);
    if (t->out_fd < 0 || !mkdtemp(t->tmpdir)) {
        perror("runner: temp files");
        exit(2);
    }
    clock_gettime(CLOCK_MONOTONIC, &t->start);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("runner: fork");
        exit(2);
    }
    if (pid == 0) {
        setpgid(0, 0); /* own process group: a timeout kills its children too */
        dup2(t->out_fd, 1);
        dup2(t->out_fd, 2);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        g_current = t;
        setenv("AW_TEST_TMPDIR", t->tmpdir, 1);
        alarm((unsigned)t->timeout_s);
        t->fn();
        fflush(NULL);
        exit(0);
    }
    setpgid(pid, pid);
    t->pid = pid;
}

static void show_output(test_t *t) {
    lseek(t->out_fd, 0, SEEK_SET);
    char buf[8192];
    ssize_t n;
    size_t total = 0;
    while ((n = read(t->out_fd, buf, sizeof buf)) > 0 && total < (1u << 20)) {
        fwrite(buf, 1, (size_t)n, stdout);
        total += (size_t)n;
    }
}

static void finish_test(test_t *t, int wstatus, bool verbose) {
    double ms = elapsed_ms(&t->start);
    /* Kill whatever the test left running in its group (servers it started). */
    kill(-t->pid, SIGKILL);
    const char *verdict;
    if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
        t->status = 0;
        verdict = "ok  ";
    } else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == SKIP_EXIT) {
        t->status = 2;
        verdict = "skip";
    } else {
        t->status = 1;
        verdict = "FAIL";
    }
    printf("%s %s (%.0f ms)", verdict, t->name, ms);
    if (WIFSIGNALED(wstatus))
        printf(" — killed by signal %d%s", WTERMSIG(wstatus),
               WTERMSIG(wstatus) == SIGALRM ? " (timeout)" : "");
    putchar('\n');
    if (t->status == 1 || verbose) show_output(t);
    if (t->status == 2 && !verbose) {
        /* one line of reason for skips */
        lseek(t->out_fd, 0, SEEK_SET);
        char buf[512];
        ssize_t n = read(t->out_fd, buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            char *s = strstr(buf, "SKIP: ");
            if (s) {
                char *nl = strchr(s, '\n');
                if (nl) *nl = '\0';
                printf("     %s\n", s);
            }
        }
    }
    fflush(stdout);
    close(t->out_fd);
    unlink(t->out_path);
    if (t->status != 1) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->tmpdir);
        if (system(cmd) != 0) { /* best effort */
        }
    } else {
        printf("     (test files kept in %s)\n", t->tmpdir);
    }
}

int main(int argc, char **argv) {
    int jobs = 1;
    bool verbose = false, list = false;
    char **filters = calloc((size_t)argc, sizeof *filters);
    int nfilters = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-j") == 0 && i + 1 < argc) {
            jobs = atoi(argv[++i]);
            if (jobs < 1) jobs = 1;
        } else if (strcmp(argv[i], "-v") == 0) {
            verbose = true;
        } else if (strcmp(argv[i], "-l") == 0) {
            list = true;
        } else if (argv[i][0] != '\0') {
            filters[nfilters++] = argv[i];
        }
    }
    /* stable order: by name */
    for (size_t i = 1; i < g_ntests; i++)
        for (size_t j = i; j > 0 && strcmp(g_tests[j - 1].name, g_tests[j].name) > 0; j--) {
            test_t tmp = g_tests[j];
            g_tests[j] = g_tests[j - 1];
            g_tests[j - 1] = tmp;
        }
    for (size_t i = 1; i < g_ntests; i++)
        if (strcmp(g_tests[i - 1].name, g_tests[i].name) == 0) {
            fprintf(stderr, "runner: duplicate test name %s\n", g_tests[i].name);
            return 2;
        }
    if (list) {
        for (size_t i = 0; i < g_ntests; i++)
            if (selected(g_tests[i].name, nfilters, filters)) puts(g_tests[i].name);
        free(filters);
        free(g_tests);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    char root[] = "/tmp/amtsweg-tests.XXXXXX";
    if (!mkdtemp(root)) {
        perror("runner: mkdtemp");
        return 2;
    }
    size_t next = 0, running = 0;
    int passed = 0, failed = 0, skipped = 0, ran = 0;
    test_t **slots = calloc((size_t)jobs, sizeof *slots);
    for (;;) {
        while (running < (size_t)jobs && next < g_ntests) {
            test_t *t = &g_tests[next++];
            if (!selected(t->name, nfilters, filters)) continue;
            for (int s = 0; s < jobs; s++)
                if (!slots[s]) {
                    slots[s] = t;
                    break;
                }
            start_test(t, root);
            running++;
        }
        if (running == 0) break;
        int wstatus;
        pid_t pid = waitpid(-1, &wstatus, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int s = 0; s < jobs; s++) {
            if (slots[s] && slots[s]->pid == pid) {
                finish_test(slots[s], wstatus, verbose);
                if (slots[s]->status == 0)
                    passed++;
                else if (slots[s]->status == 1)
                    failed++;
                else
                    skipped++;
                ran++;
                slots[s] = NULL;
                running--;
                break;
            }
        }
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (failed == 0 && system(cmd) != 0) { /* best effort */
    }
    free(slots);
    free(filters);
    free(g_tests);
    if (skipped) printf("%d skipped\n", skipped);
    if (ran == 0) {
        printf("no test matched\n");
        failed = failed ? failed : 1;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
