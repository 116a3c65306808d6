/*
 * modules.c — the one place that knows every module with HTTP routes or
 * background work. Order matters: lower modules first.
 */
#include "app/app.h"
#include "catalog/api.h"
#include "delivery/delivery.h"
#include "delivery/platform.h"

static aw_delivery_t *delivery;
static aw_delivery_config_t delivery_cfg;
static aw_catalog_t *catalog;

/* The catalogue signs routes with the platform key the delivery owns. */
static int platform_sign(void *ctx, const char *typ, const void *payload, size_t len, aw_buf_t *out,
                         aw_err_t *err) {
    return aw_delivery_platform_sign(ctx, typ, payload, len, out, err);
}

int aw_app_modules_register(aw_app_t *app, aw_err_t *err) {
    const aw_app_config_t *c = app->cfg;
    delivery_cfg = c->delivery;
    if (!delivery_cfg.public_url) delivery_cfg.public_url = c->public_url;
    int rc = aw_delivery_new(&delivery_cfg, app->store, &app->operator_auth, &delivery, err);
    if (rc == 0) rc = aw_delivery_register(delivery, app->srv, err);
    if (rc == 0) {
        aw_catalog_config_t cc = {
            .public_url = c->public_url,
            .sign = platform_sign,
            .sign_ctx = delivery,
            .rate_limit = c->routing_rate_limit,
            .rate_window_s = 60,
            .data_dir = c->data_dir,
            .demo = c->demo,
            .assist_url = c->assist_url,
            .assist_model = c->assist_model,
        };
        rc = aw_catalog_register(&cc, app->srv, app->store, &app->operator_auth, &catalog, err);
    }
    return rc;
}

int aw_app_modules_start(aw_app_t *app, aw_err_t *err) {
    (void)app;
    int rc = aw_delivery_start(delivery, err);
    if (rc == 0) rc = aw_catalog_start(catalog, err);
    return rc;
}

void aw_app_modules_stop(aw_app_t *app) {
    (void)app;
    aw_catalog_free(catalog);
    catalog = NULL;
    aw_delivery_free(delivery);
    delivery = NULL;
}
