#include "http/metrics.h"

#include <stdio.h>

static const uint64_t BOUNDS_US[AW_HIST_NBUCKETS] = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

void aw_hist_observe_us(aw_hist_t *h, uint64_t us) {
    int i = 0;
    while (i < AW_HIST_NBUCKETS && us > BOUNDS_US[i]) i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

void aw_hist_write(const aw_hist_t *h, aw_buf_t *out, const char *name, const char *labels) {
    uint64_t cum = 0;
    const char *sep = labels && *labels ? "," : "";
    labels = labels ? labels : "";
    for (int i = 0; i <= AW_HIST_NBUCKETS; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        if (i < AW_HIST_NBUCKETS)
            aw_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                          (double)BOUNDS_US[i] / 1e6, (unsigned long long)cum);
        else
            aw_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                          (unsigned long long)cum);
    }
    const char *open = *labels ? "{" : "", *close = *labels ? "}" : "";
    aw_buf_printf(out, "%s_sum%s%s%s %.6f\n", name, open, labels, close,
                  (double)atomic_load(&h->sum_us) / 1e6);
    aw_buf_printf(out, "%s_count%s%s%s %llu\n", name, open, labels, close,
                  (unsigned long long)atomic_load(&h->count));
}

uint64_t aw_hist_quantile_us(const aw_hist_t *h, double q) {
    uint64_t total = atomic_load(&h->count);
    if (total == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)total + 0.5), cum = 0;
    if (rank == 0) rank = 1;
    for (int i = 0; i <= AW_HIST_NBUCKETS; i++) {
        cum += atomic_load(&h->bucket[i]);
        if (cum >= rank) return i < AW_HIST_NBUCKETS ? BOUNDS_US[i] : UINT64_MAX;
    }
    return UINT64_MAX;
}

const char *aw_metrics_label(char *out, size_t n, const char *v) {
    size_t o = 0;
    for (; v && *v && o + 3 < n; v++) {
        if (*v == '\\' || *v == '"') {
            out[o++] = '\\';
            out[o++] = *v;
        } else if (*v == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *v;
        }
    }
    if (n) out[o < n ? o : n - 1] = '\0';
    return out;
}
