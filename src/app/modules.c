/*
 * modules.c — the one place that knows every module with HTTP routes or
 * background work. Order matters: lower modules first.
 */
#include "app/app.h"

#include <stdio.h>
#include <string.h>

#include "catalog/api.h"

static aw_catalog_t *g_catalog;

/* The platform key sits next to a SQLite database unless configured. */
static const char *platform_key_path(const aw_app_config_t *c) {
    static char path[4096];
    if (c->platform_key_file) return c->platform_key_file;
    const char *db = c->db ? c->db : "var/amtsweg.db";
    if (strncmp(db, "postgres", 8) == 0) return "var/platform-sig.private.jwk";
    if (strncmp(db, "sqlite:", 7) == 0) db += 7;
    while (db[0] == '/' && db[1] == '/') db++;
    const char *slash = strrchr(db, '/');
    if (!slash) return "platform-sig.private.jwk";
    snprintf(path, sizeof path, "%.*s/platform-sig.private.jwk", (int)(slash - db), db);
    return path;
}

int aw_app_modules_register(aw_app_t *app, aw_err_t *err) {
    const aw_app_config_t *c = app->cfg;
    aw_catalog_config_t cc = {
        .public_url = c->public_url,
        .platform_key_file = platform_key_path(c),
        .serve_jwks = true,
        .rate_limit = c->routing_rate_limit,
        .rate_window_s = 60,
        .data_dir = c->data_dir,
        .demo = c->demo,
        .assist_url = c->assist_url,
        .assist_model = c->assist_model,
    };
    return aw_catalog_register(&cc, app->srv, app->store, &app->operator_auth, &g_catalog, err);
}

int aw_app_modules_start(aw_app_t *app, aw_err_t *err) {
    (void)app;
    return aw_catalog_start(g_catalog, err);
}

void aw_app_modules_stop(aw_app_t *app) {
    (void)app;
    aw_catalog_free(g_catalog);
    g_catalog = NULL;
}
