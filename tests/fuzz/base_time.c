/* Fuzz target: RFC 3339 date-times and calendar dates (aw_time_parse_rfc3339,
 * aw_time_parse_date), which read values of FIM forms and FIT-Connect
 * documents. Invariants: nothing is read past the terminating NUL; a
 * date-time that parses to an instant in the years 1970-9999 formats back
 * (UTC, milliseconds) to a text that parses to the same instant; a date that
 * parses is a date-time at midnight UTC of that day. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/time.h"

#define YEAR_10000_MS 253402300800000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1); /* exact size: ASan sees any read past the NUL */
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    int64_t ms, ms2, days;
    if (aw_time_parse_rfc3339(s, &ms) == 0 && ms >= 0 && ms < YEAR_10000_MS) {
        char out[40];
        aw_time_format_rfc3339_ms(ms, out, sizeof out);
        if (aw_time_parse_rfc3339(out, &ms2) != 0 || ms2 != ms) __builtin_trap();
    }
    if (aw_time_parse_date(s, &days) == 0) {
        char dt[40];
        snprintf(dt, sizeof dt, "%sT00:00:00Z", s);
        if (aw_time_parse_rfc3339(dt, &ms) != 0 || ms != days * 86400000) __builtin_trap();
    }
    free(s);
    return 0;
}
