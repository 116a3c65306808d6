/*
 * time — wall and monotonic clocks, RFC 3339 formatting and parsing.
 *
 * Wall time is milliseconds since the Unix epoch (int64), always UTC.
 * aw_time_parse_rfc3339 accepts the RFC 3339 grammar (date-time with 'T'
 * or 't', optional fraction, 'Z' or ±hh:mm offset) and validates the
 * calendar (month lengths, leap years); leap seconds (":60") are rejected.
 */
#ifndef AW_BASE_TIME_H
#define AW_BASE_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

int64_t aw_time_now_ms(void);
/* Monotonic clock in microseconds, for durations only. */
int64_t aw_time_mono_us(void);
/* The absolute time ms milliseconds from now on clock clk, for timed waits:
 * CLOCK_MONOTONIC for condition variables created with that clock,
 * CLOCK_REALTIME for pthread_mutex_timedlock and default ones. */
struct timespec aw_time_deadline(clockid_t clk, int64_t ms);

/* "2026-11-28T11:42:08Z" (seconds precision); returns out. n >= 21. */
const char *aw_time_format_rfc3339(int64_t ms, char *out, size_t n);
/* "2026-11-28T11:42:08.123Z"; n >= 25. */
const char *aw_time_format_rfc3339_ms(int64_t ms, char *out, size_t n);
/* Parses into ms since epoch (UTC). Returns 0 or AW_EINVAL. */
int aw_time_parse_rfc3339(const char *s, int64_t *ms);
/* Validates a calendar date "YYYY-MM-DD"; returns days since epoch. */
int aw_time_parse_date(const char *s, int64_t *days);
/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int64_t aw_time_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
