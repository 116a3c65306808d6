/*
 * log — one line per event, key=value, to stderr (or a file descriptor).
 *
 *   ts=2026-11-28T11:42:08.123Z level=info event=http.request method=GET ...
 *
 * The caller formats the key=value part; the logger adds ts, level and
 * event, replaces control characters so a line can never be split, and
 * writes each line with a single write(2) so threads do not interleave.
 * Values that may contain spaces or quotes go through aw_log_quote.
 * Never pass the content of a submission, a form field, a search query, a
 * token or a key to the logger: log ids, sizes and outcomes only.
 */
#ifndef AW_BASE_LOG_H
#define AW_BASE_LOG_H

#include <stddef.h>

typedef enum {
    AW_LOG_DEBUG = 0,
    AW_LOG_INFO = 1,
    AW_LOG_WARN = 2,
    AW_LOG_ERROR = 3,
    AW_LOG_OFF = 4,
} aw_log_level_t;

void aw_log_set_level(aw_log_level_t level);
aw_log_level_t aw_log_get_level(void);
void aw_log_set_fd(int fd);
/* "debug", "info", "warn", "error", "off" → level; -1 when unknown. */
int aw_log_parse_level(const char *s);

void aw_log(aw_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes `s` as a quoted log value into out (size n); returns out. */
const char *aw_log_quote(char *out, size_t n, const char *s);

#define aw_log_debug(ev, ...) aw_log(AW_LOG_DEBUG, ev, __VA_ARGS__)
#define aw_log_info(ev, ...)  aw_log(AW_LOG_INFO, ev, __VA_ARGS__)
#define aw_log_warn(ev, ...)  aw_log(AW_LOG_WARN, ev, __VA_ARGS__)
#define aw_log_error(ev, ...) aw_log(AW_LOG_ERROR, ev, __VA_ARGS__)

#endif
