/*
 * app — the composition root: reads the configuration (flags, then
 * environment), opens the store, registers every module's routes on the
 * HTTP server, runs until SIGTERM/SIGINT and then drains.
 *
 * Nothing below this module knows about command lines or signals; the
 * subcommands `serve` and `demo` are thin wrappers around aw_app_run.
 */
#ifndef AW_APP_APP_H
#define AW_APP_APP_H

#include <stdbool.h>

#include "base/err.h"
#include "delivery/delivery.h"
#include "http/auth.h"
#include "http/http.h"

struct aw_store;

typedef struct aw_app_config {
    aw_http_config_t http;
    const char *db;       /* path or URL for aw_store_open */
    const char *data_dir; /* demo data, schemas (default: ./data or PREFIX/share) */
    bool demo;            /* load the demo catalogue */
    const char *log_level;
    const char *admin_token_file;  /* or AMTSWEG_ADMIN_TOKEN in the environment */
    const char *public_url;        /* external base URL, e.g. https://amtsweg.example */
    aw_delivery_config_t delivery; /* FIT-Connect delivery (src/delivery) */
    /* catalogue (src/catalog) */
    unsigned routing_rate_limit; /* routing API requests per minute and client; 0: off */
    const char *assist_url;      /* optional OpenAI-compatible endpoint for the finder */
    const char *assist_model;
} aw_app_config_t;

/* What modules get when they register: the shared resources of a running
 * server. Modules keep pointers; all of it outlives them. */
typedef struct aw_app {
    const aw_app_config_t *cfg;
    aw_http_server_t *srv;
    struct aw_store *store;
    aw_auth_t operator_auth;
} aw_app_t;

/* src/app/modules.c: registers every module's routes (before the server
 * starts), starts background work after it started, stops it before the
 * store closes. One call per module; keep them in dependency order. */
int aw_app_modules_register(aw_app_t *app, aw_err_t *err);
int aw_app_modules_start(aw_app_t *app, aw_err_t *err);
void aw_app_modules_stop(aw_app_t *app);

/* Fills defaults, then applies AMTSWEG_* environment variables. */
int aw_app_config_init(aw_app_config_t *c, aw_err_t *err);
/* "127.0.0.1:8080", "[::1]:8080", ":8080" → host/port in c->http. */
int aw_app_parse_listen(aw_app_config_t *c, const char *listen, aw_err_t *err);

/* Runs the server until a stop signal; returns a process exit code. */
int aw_app_run(const aw_app_config_t *c);

/* CLI entry points (argv[0] is the subcommand). */
int aw_app_cli_serve(int argc, char **argv);
int aw_app_cli_demo(int argc, char **argv);
int aw_app_cli_routes(int argc, char **argv);

#endif
