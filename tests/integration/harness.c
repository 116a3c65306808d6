#include "harness.h"
#include "test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int pidfd_open_(pid_t pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

void aw_tc_start(aw_tc_server_t *s, const char *const *args, const char *const *env) {
    const char *argv[64];
    size_t n = 0;
    argv[n++] = aw_test_bin();
    for (size_t i = 0; args && args[i] && n < 60; i++) argv[n++] = args[i];
    argv[n] = NULL;
    aw_tc_start_argv(s, argv, env);
}

void aw_tc_start_argv(aw_tc_server_t *s, const char *const *args, const char *const *env) {
    const char *argv[72];
    size_t n = 0;
    bool has_listen = false;
    for (size_t i = 0; args[i] && n < 68; i++) {
        if (strcmp(args[i], "--listen") == 0) has_listen = true;
        argv[n++] = args[i];
    }
    if (!has_listen) {
        argv[n++] = "--listen";
        argv[n++] = "127.0.0.1:0";
    }
    argv[n] = NULL;
    int pfd[2];
    ASSERT(pipe(pfd) == 0);
    fflush(NULL);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        for (size_t i = 0; env && env[i]; i++) putenv((char *)env[i]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pfd[1]);
    s->pid = pid;
    s->pidfd = pidfd_open_(pid);
    s->port = 0;
    char line[512];
    size_t len = 0;
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    while (len < sizeof line - 1) {
        int r = poll(&p, 1, AW_TC_WAIT_S * 1000);
        ASSERT_MSG(r > 0, "server did not print its listening line within %d s", AW_TC_WAIT_S);
        ssize_t k = read(pfd[0], line + len, 1);
        ASSERT_MSG(k == 1, "server exited before listening (see its stderr above)");
        if (line[len] == '\n') break;
        len++;
    }
    line[len] = '\0';
    const char *colon = strrchr(line, ':');
    ASSERT_MSG(strstr(line, "listening on") && colon, "unexpected first line: %s", line);
    s->port = atoi(colon + 1);
    ASSERT(s->port > 0);
    /* keep stdout of the server flowing into a pipe nobody reads? No: the
     * server prints one line only; close our end. */
    close(pfd[0]);
}

int aw_tc_signal(aw_tc_server_t *s, int sig) {
    return kill(s->pid, sig);
}

int aw_tc_wait_exit(aw_tc_server_t *s) {
    int status;
    if (s->pidfd >= 0) {
        struct pollfd p = {.fd = s->pidfd, .events = POLLIN};
        if (poll(&p, 1, AW_TC_WAIT_S * 1000) <= 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            close(s->pidfd);
            s->pidfd = -1;
            return -1;
        }
        close(s->pidfd);
        s->pidfd = -1;
    }
    if (waitpid(s->pid, &status, 0) != s->pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int aw_tc_stop(aw_tc_server_t *s) {
    kill(s->pid, SIGTERM);
    return aw_tc_wait_exit(s);
}

int aw_tc_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_MSG(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to port %d: %s", port,
               strerror(errno));
    struct timeval tv = {.tv_sec = AW_TC_WAIT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void aw_tc_send(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        ASSERT_MSG(n > 0, "send: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
}

int aw_tc_send_filler(int fd, size_t total, size_t *sent) {
    static char chunk[256 * 1024];
    memset(chunk, 'x', sizeof chunk);
    *sent = 0;
    while (*sent < total) {
        size_t n = total - *sent < sizeof chunk ? total - *sent : sizeof chunk;
        ssize_t w = send(fd, chunk, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        *sent += (size_t)w;
    }
    return 0;
}

void aw_tc_sendf(int fd, const char *fmt, ...) {
    char buf[65536];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ASSERT(n >= 0 && (size_t)n < sizeof buf);
    aw_tc_send(fd, buf, (size_t)n);
}

/* Buffered reader per fd (tests use few fds at a time). */
typedef struct {
    int fd;
    char buf[1 << 16];
    size_t len, pos;
} rd_t;

static rd_t g_rd[8];

static rd_t *reader(int fd) {
    for (int i = 0; i < 8; i++)
        if (g_rd[i].fd == fd && (g_rd[i].len || g_rd[i].pos)) return &g_rd[i];
    for (int i = 0; i < 8; i++)
        if (g_rd[i].len == g_rd[i].pos) {
            g_rd[i].fd = fd;
            g_rd[i].len = g_rd[i].pos = 0;
            return &g_rd[i];
        }
    return &g_rd[0];
}

static int fill(rd_t *r) {
    if (r->pos > 0 && r->pos == r->len) r->pos = r->len = 0;
    if (r->len == sizeof r->buf) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    ssize_t n;
    do n = recv(r->fd, r->buf + r->len, sizeof r->buf - r->len, 0);
    while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    r->len += (size_t)n;
    return 0;
}

static int getline_(rd_t *r, char *out, size_t cap) {
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl) {
            size_t n = (size_t)(nl - (r->buf + r->pos)) + 1;
            if (n >= cap) return -1;
            memcpy(out, r->buf + r->pos, n);
            out[n] = '\0';
            r->pos += n;
            return 0;
        }
        if (fill(r) < 0) return -1;
    }
}

static int getbytes(rd_t *r, char *out, size_t n) {
    while (r->len - r->pos < n) {
        size_t have = r->len - r->pos;
        memcpy(out, r->buf + r->pos, have);
        out += have;
        n -= have;
        r->pos = r->len;
        if (fill(r) < 0) return -1;
    }
    memcpy(out, r->buf + r->pos, n);
    r->pos += n;
    return 0;
}

int aw_tc_read(int fd, aw_tc_resp_t *resp) {
    memset(resp, 0, sizeof *resp);
    rd_t *r = reader(fd);
    r->fd = fd;
    char line[70000];
    if (getline_(r, line, sizeof line) < 0) return -1;
    if (sscanf(line, "HTTP/1.%*d %d", &resp->status) != 1) return -1;
    size_t hcap = 1 << 16, hlen = 0;
    resp->headers = calloc(1, hcap);
    long clen = -1;
    bool chunked = false;
    for (;;) {
        if (getline_(r, line, sizeof line) < 0) return -1;
        if (strcmp(line, "\r\n") == 0 || strcmp(line, "\n") == 0) break;
        size_t l = strlen(line);
        if (hlen + l < hcap) {
            memcpy(resp->headers + hlen, line, l + 1);
            hlen += l;
        }
        if (strncasecmp(line, "Content-Length:", 15) == 0) clen = atol(line + 15);
        if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked"))
            chunked = true;
    }
    if (chunked) {
        size_t cap = 4096, len = 0;
        resp->body = malloc(cap);
        for (;;) {
            if (getline_(r, line, sizeof line) < 0) return -1;
            long n = strtol(line, NULL, 16);
            if (n == 0) {
                getline_(r, line, sizeof line);
                break;
            }
            while (len + (size_t)n + 1 > cap) cap *= 2;
            resp->body = realloc(resp->body, cap);
            if (getbytes(r, resp->body + len, (size_t)n) < 0) return -1;
            len += (size_t)n;
            getline_(r, line, sizeof line);
        }
        resp->body[len] = '\0';
        resp->body_len = len;
    } else {
        if (clen < 0) clen = 0;
        resp->body = malloc((size_t)clen + 1);
        if (getbytes(r, resp->body, (size_t)clen) < 0) return -1;
        resp->body[clen] = '\0';
        resp->body_len = (size_t)clen;
    }
    return 0;
}

bool aw_tc_wait_closed(int fd) {
    char buf[4096];
    for (int i = 0; i < 1000; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, AW_TC_WAIT_S * 1000);
        if (r <= 0) return false;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
    return false;
}

void aw_tc_request(int port, const char *method, const char *path, const char *extra_headers,
                   const char *body, size_t body_len, aw_tc_resp_t *r) {
    int fd = aw_tc_connect(port);
    aw_tc_sendf(fd, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method, path,
                extra_headers ? extra_headers : "");
    if (body) aw_tc_sendf(fd, "Content-Length: %zu\r\n", body_len);
    aw_tc_send(fd, "\r\n", 2);
    if (body && body_len) aw_tc_send(fd, body, body_len);
    ASSERT_MSG(aw_tc_read(fd, r) == 0, "no complete response to %s %s", method, path);
    close(fd);
}

const char *aw_tc_header(const aw_tc_resp_t *r, const char *name) {
    static char val[4096];
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        if (!eol) eol = p + strlen(p);
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            size_t n = (size_t)(eol - v);
            if (n >= sizeof val) n = sizeof val - 1;
            memcpy(val, v, n);
            val[n] = '\0';
            return val;
        }
        p = *eol ? eol + 2 : eol;
    }
    return NULL;
}

void aw_tc_resp_free(aw_tc_resp_t *r) {
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

double aw_tc_metric(const char *body, const char *series) {
    size_t n = strlen(series);
    for (const char *p = body; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') return atof(p + n + 1);
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}
