#include "base/time.h"
#include "base/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t aw_time_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec aw_time_deadline(clockid_t clk, int64_t ms) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    if (ms < 0) ms = 0;
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int64_t aw_time_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t aw_time_days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void split(int64_t ms, int64_t *y, unsigned *mo, unsigned *d, int *h, int *mi, int *s,
                  int *frac) {
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    *frac = (int)(ms - secs * 1000);
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    civil_from_days(days, y, mo, d);
    *h = (int)(rem / 3600);
    *mi = (int)(rem / 60 % 60);
    *s = (int)(rem % 60);
}

const char *aw_time_format_rfc3339(int64_t ms, char *out, size_t n) {
    int64_t y;
    unsigned mo, d;
    int h, mi, s, frac;
    split(ms, &y, &mo, &d, &h, &mi, &s, &frac);
    snprintf(out, n, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, mo, d, h, mi, s);
    return out;
}

const char *aw_time_format_rfc3339_ms(int64_t ms, char *out, size_t n) {
    int64_t y;
    unsigned mo, d;
    int h, mi, s, frac;
    split(ms, &y, &mo, &d, &h, &mi, &s, &frac);
    snprintf(out, n, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, mo, d, h, mi, s, frac);
    return out;
}

static int digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m) {
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static int parse_date(const char *s, int *y, int *m, int *d) {
    if (digits(s, 4, y) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' || digits(s + 8, 2, d))
        return AW_EINVAL;
    if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m)) return AW_EINVAL;
    return 0;
}

int aw_time_parse_date(const char *s, int64_t *days) {
    int y, m, d;
    if (strlen(s) != 10 || parse_date(s, &y, &m, &d)) return AW_EINVAL;
    if (days) *days = aw_time_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int aw_time_parse_rfc3339(const char *s, int64_t *ms) {
    int y, mo, d, h, mi, sec, frac = 0;
    size_t len = strlen(s);
    if (len < 20 || parse_date(s, &y, &mo, &d)) return AW_EINVAL;
    if (s[10] != 'T' && s[10] != 't') return AW_EINVAL;
    if (digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &sec))
        return AW_EINVAL;
    if (h > 23 || mi > 59 || sec > 59) return AW_EINVAL;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        int nd = 0;
        while (*p >= '0' && *p <= '9') {
            if (nd < 3) frac = frac * 10 + (*p - '0');
            nd++;
            p++;
        }
        if (nd == 0) return AW_EINVAL;
        for (int i = nd; i < 3; i++) frac *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om)) return AW_EINVAL;
        if (oh > 23 || om > 59) return AW_EINVAL;
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return AW_EINVAL;
    }
    if (*p) return AW_EINVAL;
    int64_t days = aw_time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    if (ms) *ms = secs * 1000 + frac;
    return 0;
}
