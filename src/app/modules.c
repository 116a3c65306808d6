/*
 * modules.c — the one place that knows every module with HTTP routes or
 * background work. Order matters: lower modules first.
 */
#include "app/app.h"

int aw_app_modules_register(aw_app_t *app, aw_err_t *err) {
    (void)app, (void)err;
    return 0;
}

int aw_app_modules_start(aw_app_t *app, aw_err_t *err) {
    (void)app, (void)err;
    return 0;
}

void aw_app_modules_stop(aw_app_t *app) {
    (void)app;
}
