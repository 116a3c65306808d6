/*
 * ops — the operator endpoints and the process-wide resources they report
 * on: GET /health (the process is alive), GET /ready (the database answers),
 * GET /metrics (Prometheus text: HTTP requests by route and status, latency
 * histograms, connections, outbox depth and dead letters, memory).
 * aw_ops_t owns the store for the lifetime of the server.
 */
#ifndef AW_APP_OPS_H
#define AW_APP_OPS_H

#include "app/app.h"
#include "base/err.h"
#include "http/http.h"

typedef struct aw_ops aw_ops_t;

int aw_ops_open(const aw_app_config_t *c, aw_ops_t **out, aw_err_t *err);
int aw_ops_register(aw_ops_t *ops, aw_http_server_t *srv, aw_err_t *err);
void aw_ops_set_server(aw_ops_t *ops, aw_http_server_t *srv);
const char *aw_ops_engine(const aw_ops_t *ops);
/* The shared store (owned by ops). */
struct aw_store *aw_ops_store(aw_ops_t *ops);
void aw_ops_close(aw_ops_t *ops);

#endif
