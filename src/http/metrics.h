/*
 * metrics — lock-free counters and latency histograms, written out in the
 * Prometheus text exposition format (version 0.0.4).
 *
 * Counters and histogram buckets are _Atomic uint64; writers never block
 * and readers see a consistent-enough snapshot for monitoring. Bucket
 * bounds are fixed (seconds): 100 µs … 10 s.
 */
#ifndef AW_HTTP_METRICS_H
#define AW_HTTP_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/buf.h"

#define AW_HIST_NBUCKETS 16

typedef struct aw_hist {
    _Atomic uint64_t bucket[AW_HIST_NBUCKETS + 1]; /* last: +Inf */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_us;
} aw_hist_t;

void aw_hist_observe_us(aw_hist_t *h, uint64_t us);
/* Writes name_bucket{labels,le=...}, name_sum, name_count. `labels` is
 * the inside of the braces without a trailing comma ("route=\"/x\"") or "". */
void aw_hist_write(const aw_hist_t *h, aw_buf_t *out, const char *name, const char *labels);
/* Approximate quantile (0..1) in µs from the buckets (upper bound of the
 * bucket that holds it); 0 when empty. */
uint64_t aw_hist_quantile_us(const aw_hist_t *h, double q);
/* Escapes a label value per the exposition format into out (size n). */
const char *aw_metrics_label(char *out, size_t n, const char *value);

#endif
