#include "app/app.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/ops.h"
#include "base/log.h"
#include "base/secure.h"
#include "http/clientip.h"

/* One table drives flags, environment variables and help text, so the three
 * can never disagree. */
typedef enum {
    OPT_LISTEN = 1,
    OPT_DB,
    OPT_THREADS,
    OPT_MAXCONN,
    OPT_PERIP,
    OPT_TRUSTED_PROXIES,
    OPT_IDLE,
    OPT_HEADER_TO,
    OPT_REQUEST_TO,
    OPT_MAXBODY,
    OPT_BODY_MEMORY,
    OPT_MAXHEADER,
    OPT_DRAIN,
    OPT_LOGLEVEL,
    OPT_DATADIR,
    OPT_ADMIN_TOKEN_FILE,
    OPT_PUBLIC_URL,
    OPT_VAR_DIR,
    OPT_ATTACHMENT_STORE,
    OPT_PLATFORM_KEY,
    OPT_MAX_DATA,
    OPT_MAX_ATTACHMENT,
    OPT_MAX_ATTACHMENTS,
    OPT_MAX_SUBMISSION,
    OPT_DEADLINES,
    OPT_CALLBACK_LOOPBACK,
    OPT_KEY_ROOTS,
    OPT_SIGN_WORKER,
    OPT_SIGN_THREADS,
    OPT_SIGN_ESCALATE,
    OPT_SIGN_MAX_BACKLOG,
    OPT_TOKEN_RATE,
    OPT_ROUTING_RATE,
    OPT_ASSIST_URL,
    OPT_ASSIST_MODEL
} opt_id_t;

typedef struct {
    opt_id_t id;
    const char *flag;
    const char *env;
    const char *arg;
    const char *help;
} opt_t;

static const opt_t OPTS[] = {
    {OPT_LISTEN, "listen", "AMTSWEG_LISTEN", "ADDR:PORT",
     "address to listen on (default 127.0.0.1:8080; port 0 picks a free one)"},
    {OPT_DB, "db", "AMTSWEG_DB", "PATH|URL",
     "database: a SQLite file (default var/amtsweg.db) or postgres://..."},
    {OPT_THREADS, "threads", "AMTSWEG_THREADS", "N", "worker threads (default: CPU count)"},
    {OPT_MAXCONN, "max-connections", "AMTSWEG_MAX_CONNECTIONS", "N",
     "open connections before new requests get 503 (default 1000; lowered, with a warning, "
     "when the open-file limit cannot hold them)"},
    {OPT_PERIP, "max-connections-per-ip", "AMTSWEG_MAX_CONNECTIONS_PER_IP", "N",
     "open connections per peer address, trusted proxies excepted (default 0 = unlimited)"},
    {OPT_TRUSTED_PROXIES, "trusted-proxies", "AMTSWEG_TRUSTED_PROXIES", "LIST",
     "reverse proxies (addresses, CIDR blocks; comma-separated) whose X-Forwarded-For names the "
     "client for rate limits (default: none)"},
    {OPT_IDLE, "idle-timeout", "AMTSWEG_IDLE_TIMEOUT", "SECONDS",
     "close connections idle this long (default 30)"},
    {OPT_HEADER_TO, "header-timeout", "AMTSWEG_HEADER_TIMEOUT", "SECONDS",
     "close connections whose request headers take longer (default 30)"},
    {OPT_REQUEST_TO, "request-timeout", "AMTSWEG_REQUEST_TIMEOUT", "SECONDS",
     "abort requests whose body takes longer (default 300)"},
    {OPT_MAXBODY, "max-body", "AMTSWEG_MAX_BODY", "BYTES",
     "default request body limit (default 1048576)"},
    {OPT_BODY_MEMORY, "max-body-memory", "AMTSWEG_MAX_BODY_MEMORY", "BYTES",
     "request bodies held in memory at once, all connections together; beyond: 503 "
     "(default 268435456)"},
    {OPT_MAXHEADER, "max-header", "AMTSWEG_MAX_HEADER", "BYTES",
     "request header limit (default 16384)"},
    {OPT_DRAIN, "drain-timeout", "AMTSWEG_DRAIN_TIMEOUT", "SECONDS",
     "on SIGTERM, wait this long for in-flight requests (default 30)"},
    {OPT_LOGLEVEL, "log-level", "AMTSWEG_LOG_LEVEL", "LEVEL",
     "debug, info, warn, error or off (default info)"},
    {OPT_DATADIR, "data-dir", "AMTSWEG_DATA_DIR", "DIR",
     "directory with demo data and schemas (default ./data, else the installed copy)"},
    {OPT_ADMIN_TOKEN_FILE, "admin-token-file", "AMTSWEG_ADMIN_TOKEN_FILE", "FILE",
     "file holding the operator token for admin APIs (or AMTSWEG_ADMIN_TOKEN)"},
    {OPT_PUBLIC_URL, "public-url", "AMTSWEG_PUBLIC_URL", "URL",
     "external base URL (default http://LISTEN)"},
    {OPT_VAR_DIR, "var-dir", "AMTSWEG_VAR_DIR", "DIR",
     "state directory: encrypted attachments under DIR/attachments (file store; default var)"},
    {OPT_ATTACHMENT_STORE, "attachment-store", "AMTSWEG_ATTACHMENT_STORE", "file|database",
     "where encrypted attachments go (default: database on PostgreSQL, so that nodes share them; "
     "file on SQLite)"},
    {OPT_PLATFORM_KEY, "platform-key", "AMTSWEG_PLATFORM_KEY", "FILE",
     "PS512 private JWK (mode 0600) signing the event log (default: generated, in the database)"},
    {OPT_MAX_DATA, "max-data", "AMTSWEG_MAX_DATA", "BYTES",
     "encryptedData limit of a submission (default 10000000)"},
    {OPT_MAX_ATTACHMENT, "max-attachment", "AMTSWEG_MAX_ATTACHMENT", "BYTES",
     "limit of one encrypted attachment (default 500000000)"},
    {OPT_MAX_ATTACHMENTS, "max-attachments", "AMTSWEG_MAX_ATTACHMENTS", "N",
     "attachments per submission (default 100)"},
    {OPT_MAX_SUBMISSION, "max-submission", "AMTSWEG_MAX_SUBMISSION", "BYTES",
     "limit of a whole submission (default 2000000000)"},
    {OPT_DEADLINES, "deadlines", "AMTSWEG_DEADLINES", "S,S,S,S",
     "seconds: incomplete purge, undecided reject, decided purge, events kept "
     "(default 86400,1209600,604800,63072000)"},
    {OPT_CALLBACK_LOOPBACK, "callback-allow-loopback", "AMTSWEG_CALLBACK_ALLOW_LOOPBACK", "0|1",
     "allow http:// callbacks to loopback addresses (tests only; default 0)"},
    {OPT_KEY_ROOTS, "key-roots", "AMTSWEG_KEY_ROOTS", "FILE",
     "PEM file of trusted root certificates: destination keys must carry an x5c chain that "
     "verifies against them (default: none, x5c optional)"},
    {OPT_SIGN_WORKER, "delivery-sign-worker", "AMTSWEG_DELIVERY_SIGN_WORKER", "0|1",
     "sign event SETs on the background worker (default 1; 0: only when the log is read)"},
    {OPT_SIGN_THREADS, "delivery-sign-threads", "AMTSWEG_DELIVERY_SIGN_THREADS", "N",
     "signer threads at idle priority (SCHED_IDLE; default 0 = cores)"},
    {OPT_SIGN_ESCALATE, "delivery-sign-escalate", "AMTSWEG_DELIVERY_SIGN_ESCALATE", "N",
     "unsigned events above which signing also runs at normal priority until half are left "
     "(default 30000, 0 = never)"},
    {OPT_SIGN_MAX_BACKLOG, "delivery-sign-max-backlog", "AMTSWEG_DELIVERY_SIGN_MAX_BACKLOG", "N",
     "unsigned events at which announce and submit answer 503 with Retry-After "
     "(default 100000, 0 = no limit)"},
    {OPT_TOKEN_RATE, "token-rate-limit", "AMTSWEG_TOKEN_RATE_LIMIT", "N",
     "POST /token requests per minute and client address (default 30, 0 = off)"},
    {OPT_ROUTING_RATE, "routing-rate-limit", "AMTSWEG_ROUTING_RATE_LIMIT", "N",
     "routing API requests per minute and client (default 600, 0 = off)"},
    {OPT_ASSIST_URL, "assist-url", "AMTSWEG_ASSIST_URL", "URL",
     "OpenAI-compatible base URL for AI-assisted search (default off)"},
    {OPT_ASSIST_MODEL, "assist-model", "AMTSWEG_ASSIST_MODEL", "NAME",
     "model name for AI-assisted search"},
};
#define NOPTS (sizeof OPTS / sizeof *OPTS)

int aw_app_parse_listen(aw_app_config_t *c, const char *listen, aw_err_t *err) {
    static _Thread_local char host[64];
    const char *colon;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':') goto bad;
        size_t n = (size_t)(end - listen - 1);
        if (n == 0 || n >= sizeof host) goto bad;
        memcpy(host, listen + 1, n);
        host[n] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon) goto bad;
        size_t n = (size_t)(colon - listen);
        if (n >= sizeof host) goto bad;
        memcpy(host, listen, n);
        host[n] = '\0';
        if (n == 0) snprintf(host, sizeof host, "0.0.0.0");
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535) goto bad;
    c->http.host = host;
    c->http.port = (uint16_t)port;
    return 0;
bad:
    return aw_err_set(err, AW_EINVAL,
                      "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)",
                      listen);
}

static int parse_uint(const char *name, const char *v, unsigned long long max,
                      unsigned long long *out, aw_err_t *err) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || end == v || v[0] == '-' || x > max)
        return aw_err_set(err, AW_EINVAL, "%s: '%s' is not a number between 0 and %llu", name, v,
                          max);
    *out = x;
    return 0;
}

static int apply(aw_app_config_t *c, const opt_t *o, const char *v, const char *origin,
                 aw_err_t *err) {
    unsigned long long x = 0;
    int rc = 0;
    char name[80];
    snprintf(name, sizeof name, "%s%s", origin, strcmp(origin, "--") == 0 ? o->flag : o->env);
    switch (o->id) {
    case OPT_LISTEN:
        return aw_app_parse_listen(c, v, err);
    case OPT_DB:
        c->db = v;
        return 0;
    case OPT_DATADIR:
        c->data_dir = v;
        return 0;
    case OPT_ADMIN_TOKEN_FILE:
        c->admin_token_file = v;
        return 0;
    case OPT_PUBLIC_URL:
        c->public_url = v;
        return 0;
    case OPT_ASSIST_URL:
        c->assist_url = v;
        return 0;
    case OPT_ASSIST_MODEL:
        c->assist_model = v;
        return 0;
    case OPT_ROUTING_RATE:
        rc = parse_uint(name, v, 1000000, &x, err);
        c->routing_rate_limit = (unsigned)x;
        break;
    case OPT_VAR_DIR:
        c->delivery.var_dir = v;
        return 0;
    case OPT_ATTACHMENT_STORE:
        if (strcmp(v, "file") != 0 && strcmp(v, "database") != 0)
            return aw_err_set(err, AW_EINVAL, "%s: 'file' or 'database', not '%s'", name, v);
        c->delivery.attachment_store = v;
        return 0;
    case OPT_PLATFORM_KEY:
        c->delivery.platform_key_file = v;
        return 0;
    case OPT_KEY_ROOTS:
        c->delivery.key_roots = *v ? v : NULL;
        return 0;
    case OPT_DEADLINES:
        return aw_delivery_parse_deadlines(&c->delivery, v, err);
    case OPT_MAX_DATA:
        rc = parse_uint(name, v, 1ULL << 34, &x, err);
        c->delivery.max_data_bytes = (size_t)x;
        break;
    case OPT_MAX_ATTACHMENT:
        rc = parse_uint(name, v, 1ULL << 40, &x, err);
        c->delivery.max_attachment_bytes = x;
        break;
    case OPT_MAX_ATTACHMENTS:
        rc = parse_uint(name, v, 100000, &x, err);
        c->delivery.max_attachments = (unsigned)x;
        break;
    case OPT_MAX_SUBMISSION:
        rc = parse_uint(name, v, 1ULL << 44, &x, err);
        c->delivery.max_submission_bytes = x;
        break;
    case OPT_CALLBACK_LOOPBACK:
        rc = parse_uint(name, v, 1, &x, err);
        c->delivery.callback_allow_loopback = x == 1;
        break;
    case OPT_SIGN_WORKER:
        rc = parse_uint(name, v, 1, &x, err);
        c->delivery.sign_worker = x == 1;
        break;
    case OPT_SIGN_THREADS:
        rc = parse_uint(name, v, 8, &x, err);
        c->delivery.sign_threads = (unsigned)x;
        break;
    case OPT_SIGN_ESCALATE:
        rc = parse_uint(name, v, 1ULL << 40, &x, err);
        c->delivery.sign_escalate = (int64_t)x;
        break;
    case OPT_SIGN_MAX_BACKLOG:
        rc = parse_uint(name, v, 1ULL << 40, &x, err);
        c->delivery.sign_max_backlog = (int64_t)x;
        break;
    case OPT_TOKEN_RATE:
        rc = parse_uint(name, v, 1000000, &x, err);
        c->delivery.token_rate_limit = (unsigned)x;
        break;
    case OPT_LOGLEVEL:
        if (aw_log_parse_level(v) < 0)
            return aw_err_set(err, AW_EINVAL,
                              "%s: '%s' is not one of debug, info, warn, error, off", name, v);
        c->log_level = v;
        return 0;
    case OPT_THREADS:
        rc = parse_uint(name, v, 256, &x, err);
        c->http.threads = (unsigned)x;
        break;
    case OPT_MAXCONN:
        rc = parse_uint(name, v, 100000, &x, err);
        c->http.conn_limit = (unsigned)x;
        break;
    case OPT_PERIP:
        rc = parse_uint(name, v, 100000, &x, err);
        c->http.per_ip_limit = (unsigned)x;
        break;
    case OPT_TRUSTED_PROXIES: {
        aw_cidr_list_t l;
        rc = aw_cidr_list_parse(v, &l, err);
        if (rc < 0) {
            aw_err_prefix(err, "%s", name);
            return rc;
        }
        c->http.trusted_proxies = v;
        return 0;
    }
    case OPT_IDLE:
        rc = parse_uint(name, v, 86400, &x, err);
        c->http.idle_timeout_s = (unsigned)x;
        break;
    case OPT_HEADER_TO:
        rc = parse_uint(name, v, 86400, &x, err);
        c->http.header_timeout_s = (unsigned)x;
        break;
    case OPT_REQUEST_TO:
        rc = parse_uint(name, v, 86400, &x, err);
        c->http.request_timeout_s = (unsigned)x;
        break;
    case OPT_DRAIN:
        rc = parse_uint(name, v, 3600, &x, err);
        c->http.drain_timeout_s = (unsigned)x;
        break;
    case OPT_MAXBODY:
        rc = parse_uint(name, v, 1ULL << 40, &x, err);
        c->http.max_body_bytes = (size_t)x;
        break;
    case OPT_BODY_MEMORY:
        rc = parse_uint(name, v, 1ULL << 40, &x, err);
        c->http.max_body_memory = (size_t)x;
        if (!rc && x < 1024 * 1024)
            rc = aw_err_set(err, AW_EINVAL, "%s: at least 1048576 bytes", name);
        break;
    case OPT_MAXHEADER:
        rc = parse_uint(name, v, 1 << 20, &x, err);
        c->http.max_header_bytes = (size_t)x;
        if (!rc && x < 1024) rc = aw_err_set(err, AW_EINVAL, "%s: at least 1024 bytes", name);
        break;
    }
    return rc;
}

int aw_app_config_init(aw_app_config_t *c, aw_err_t *err) {
    memset(c, 0, sizeof *c);
    aw_http_config_defaults(&c->http);
    aw_delivery_config_defaults(&c->delivery);
    c->db = "var/amtsweg.db";
    /* ./data in a source tree; the installed copy otherwise. */
    struct stat sb;
    c->data_dir = stat("data/demo", &sb) == 0 ? "data" : AW_DATADIR;
    c->log_level = "info";
    c->routing_rate_limit = 600;
    for (size_t i = 0; i < NOPTS; i++) {
        const char *v = getenv(OPTS[i].env);
        if (v && *v) {
            int rc = apply(c, &OPTS[i], v, "", err);
            if (rc) return rc;
        }
    }
    return 0;
}

static void print_help(FILE *f, const char *cmd, const char *what) {
    fprintf(f,
            "usage: amtsweg %s [options]\n\n%s\n\noptions (each also as environment variable):\n",
            cmd, what);
    for (size_t i = 0; i < NOPTS; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s %s", OPTS[i].flag, OPTS[i].arg);
        fprintf(f, "  %-34s %s\n  %-34s [%s]\n", left, OPTS[i].help, "", OPTS[i].env);
    }
    fprintf(f, "  %-34s %s\n", "-h, --help", "show this help");
    fputs("\nSIGTERM or SIGINT stop accepting connections, finish in-flight requests and\n"
          "exit 0.\n",
          f);
}

static int parse_cli(aw_app_config_t *c, int argc, char **argv, const char *what) {
    struct option lo[NOPTS + 2];
    for (size_t i = 0; i < NOPTS; i++) {
        lo[i].name = OPTS[i].flag;
        lo[i].has_arg = required_argument;
        lo[i].flag = NULL;
        lo[i].val = 1000 + (int)i;
    }
    lo[NOPTS] = (struct option){"help", no_argument, NULL, 'h'};
    lo[NOPTS + 1] = (struct option){0, 0, 0, 0};
    aw_err_t err;
    if (aw_app_config_init(c, &err)) {
        fprintf(stderr, "amtsweg %s: %s\n", argv[0], err.msg);
        return 2;
    }
    optind = 1;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (ch == 'h') {
            print_help(stdout, argv[0], what);
            return -1;
        }
        if (ch >= 1000 && ch < 1000 + (int)NOPTS) {
            if (apply(c, &OPTS[ch - 1000], optarg, "--", &err)) {
                fprintf(stderr, "amtsweg %s: %s\n", argv[0], err.msg);
                return 2;
            }
            continue;
        }
        fprintf(stderr, "amtsweg %s: unknown or incomplete option '%s'\n", argv[0],
                argv[optind - 1]);
        print_help(stderr, argv[0], what);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "amtsweg %s: unexpected argument '%s'\n", argv[0], argv[optind]);
        return 2;
    }
    return 0;
}

/* The operator token comes from AMTSWEG_ADMIN_TOKEN or a file (never a
 * flag: flags are visible in ps). Both copies are wiped after hashing. */
static int load_operator_token(const aw_app_config_t *c, aw_auth_t *auth, aw_err_t *err) {
    char buf[1024];
    buf[0] = '\0';
    const char *env = getenv("AMTSWEG_ADMIN_TOKEN");
    if (c->admin_token_file) {
        FILE *f = fopen(c->admin_token_file, "r");
        if (!f)
            return aw_err_set(err, AW_EIO, "cannot read the operator token file %s: %s",
                              c->admin_token_file, strerror(errno));
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
            buf[--n] = '\0';
    } else if (env) {
        snprintf(buf, sizeof buf, "%s", env);
    }
    int rc = aw_auth_init(auth, buf, err);
    aw_secure_wipe(buf, sizeof buf);
    if (env) aw_secure_wipe((char *)env, strlen(env));
    return rc;
}

int aw_app_run(const aw_app_config_t *c) {
    aw_log_set_level((aw_log_level_t)aw_log_parse_level(c->log_level));
    /* Signals are taken synchronously by this thread; block them before any
     * other thread exists so they inherit the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    aw_err_t err;
    aw_app_t app = {.cfg = c};
    aw_ops_t *ops = NULL;
    int code = 1;
    bool registered = false, started = false;
    if (load_operator_token(c, &app.operator_auth, &err) || aw_ops_open(c, &ops, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        aw_log_error("server.start", "outcome=failed");
        return 1;
    }
    app.store = aw_ops_store(ops);
    if (aw_http_server_new(&c->http, &app.srv, &err) || aw_ops_register(ops, app.srv, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        goto out;
    }
    registered = true; /* modules may have allocated even when registering failed */
    if (aw_app_modules_register(&app, &err) || aw_http_server_start(app.srv, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        goto out;
    }
    aw_ops_set_server(ops, app.srv);
    if (aw_app_modules_start(&app, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        aw_http_server_stop(app.srv);
        goto out;
    }
    started = true;
    printf("amtsweg: listening on http://%s%s%s:%u/\n", strchr(c->http.host, ':') ? "[" : "",
           c->http.host, strchr(c->http.host, ':') ? "]" : "", aw_http_server_port(app.srv));
    fflush(stdout);
    aw_log_info("server.start", "host=%s port=%u db_engine=%s operator_token=%s", c->http.host,
                aw_http_server_port(app.srv), aw_ops_engine(ops),
                app.operator_auth.configured ? "set" : "unset");
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    aw_log_info("server.stopping", "signal=%s inflight=%u", sig == SIGTERM ? "TERM" : "INT",
                aw_http_server_inflight(app.srv));
    int left = aw_http_server_stop(app.srv);
    aw_log_info("server.stopped", "unfinished=%d", left);
    code = 0;
out:
    (void)started;
    if (registered) aw_app_modules_stop(&app);
    aw_http_server_free(app.srv);
    aw_ops_close(ops);
    return code;
}

int aw_app_cli_serve(int argc, char **argv) {
    aw_app_config_t c;
    int rc = parse_cli(&c, argc, argv,
                       "Runs the amtsweg HTTP server: citizen portal, FIT-Connect-compatible\n"
                       "submission and routing APIs, admin API, /health, /ready, /metrics.");
    if (rc) return rc < 0 ? 0 : rc;
    return aw_app_run(&c);
}

int aw_app_cli_demo(int argc, char **argv) {
    aw_app_config_t c;
    int rc = parse_cli(&c, argc, argv,
                       "Runs the server like `serve` with the demo catalogue, tenants and\n"
                       "schemas from the data directory loaded into the database.");
    if (rc) return rc < 0 ? 0 : rc;
    c.demo = true;
    return aw_app_run(&c);
}

int aw_app_cli_routes(int argc, char **argv) {
    aw_app_config_t c;
    int rc = parse_cli(&c, argc, argv,
                       "Prints every HTTP route this build serves (METHOD TEMPLATE), as `serve`\n"
                       "with the same options would register them, and exits.");
    if (rc) return rc < 0 ? 0 : rc;
    aw_log_set_level(AW_LOG_WARN);
    aw_err_t err;
    aw_app_t app = {.cfg = &c};
    aw_ops_t *ops = NULL;
    int code = 1;
    if (aw_ops_open(&c, &ops, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        return 1;
    }
    app.store = aw_ops_store(ops);
    if (aw_http_server_new(&c.http, &app.srv, &err) == 0) {
        if (aw_ops_register(ops, app.srv, &err) || aw_app_modules_register(&app, &err)) {
            fprintf(stderr, "amtsweg: %s\n", err.msg);
        } else {
            const char *method, *path;
            for (size_t i = 0; aw_http_server_route_at(app.srv, i, &method, &path); i++)
                printf("%s %s\n", method, path);
            code = 0;
        }
        aw_app_modules_stop(&app);
    }
    aw_http_server_free(app.srv);
    aw_ops_close(ops);
    return code;
}
