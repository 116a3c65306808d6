#include "base/log.h"
#include "base/time.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static _Atomic int g_level = AW_LOG_INFO;
static _Atomic int g_fd = 2;

void aw_log_set_level(aw_log_level_t level) {
    g_level = (int)level;
}

aw_log_level_t aw_log_get_level(void) {
    return (aw_log_level_t)g_level;
}

void aw_log_set_fd(int fd) {
    g_fd = fd;
}

int aw_log_parse_level(const char *s) {
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static const char *level_name(aw_log_level_t l) {
    switch (l) {
    case AW_LOG_DEBUG:
        return "debug";
    case AW_LOG_INFO:
        return "info";
    case AW_LOG_WARN:
        return "warn";
    case AW_LOG_ERROR:
        return "error";
    default:
        return "off";
    }
}

void aw_log(aw_log_level_t level, const char *event, const char *fmt, ...) {
    if ((int)level < g_level || level >= AW_LOG_OFF) return;
    char line[2048];
    char ts[40];
    aw_time_format_rfc3339_ms(aw_time_now_ms(), ts, sizeof ts);
    int n = snprintf(line, sizeof line, "ts=%s level=%s event=%s ", ts, level_name(level), event);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + len, sizeof line - len, fmt, ap);
    va_end(ap);
    if (m > 0) len += (size_t)m < sizeof line - len ? (size_t)m : sizeof line - len - 1;
    while (len > 0 && line[len - 1] == ' ') len--;
    /* A log line is one line: control characters cannot split or forge it. */
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = ' ';
    if (len >= sizeof line - 1) len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(g_fd, line, len);
    (void)w;
}

const char *aw_log_quote(char *out, size_t n, const char *s) {
    if (n < 3) {
        if (n) out[0] = '\0';
        return out;
    }
    size_t o = 0;
    out[o++] = '"';
    for (; s && *s && o + 3 < n; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = '?';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}
