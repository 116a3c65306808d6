/*
 * modules.c — the one place that knows every module with HTTP routes or
 * background work. Order matters: lower modules first.
 */
#include "app/app.h"
#include "delivery/delivery.h"

static aw_delivery_t *delivery;
static aw_delivery_config_t delivery_cfg;

int aw_app_modules_register(aw_app_t *app, aw_err_t *err) {
    delivery_cfg = app->cfg->delivery;
    if (!delivery_cfg.public_url) delivery_cfg.public_url = app->cfg->public_url;
    int rc = aw_delivery_new(&delivery_cfg, app->store, &app->operator_auth, &delivery, err);
    if (rc == 0) rc = aw_delivery_register(delivery, app->srv, err);
    return rc;
}

int aw_app_modules_start(aw_app_t *app, aw_err_t *err) {
    (void)app;
    return aw_delivery_start(delivery, err);
}

void aw_app_modules_stop(aw_app_t *app) {
    (void)app;
    aw_delivery_free(delivery);
    delivery = NULL;
}
