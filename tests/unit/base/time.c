#include "base/err.h"
#include "base/time.h"
#include "test.h"

TEST(format_known_instants) {
    char out[40];
    ASSERT_STR(aw_time_format_rfc3339(0, out, sizeof out), "1970-01-01T00:00:00Z");
    ASSERT_STR(aw_time_format_rfc3339_ms(1795866128123LL, out, sizeof out),
               "2026-11-28T11:42:08.123Z");
    ASSERT_STR(aw_time_format_rfc3339(951782400000LL, out, sizeof out), "2000-02-29T00:00:00Z");
    ASSERT_STR(aw_time_format_rfc3339(-1000, out, sizeof out), "1969-12-31T23:59:59Z");
}

TEST(parse_roundtrip_and_offsets) {
    int64_t ms;
    ASSERT_EQ(aw_time_parse_rfc3339("2026-11-28T11:42:08.123Z", &ms), 0);
    ASSERT_EQ(ms, 1795866128123LL);
    ASSERT_EQ(aw_time_parse_rfc3339("2026-11-28T12:42:08.123+01:00", &ms), 0);
    ASSERT_EQ(ms, 1795866128123LL);
    ASSERT_EQ(aw_time_parse_rfc3339("2026-11-28t11:42:08z", &ms), 0);
    ASSERT_EQ(ms, 1795866128000LL);
}

TEST(parse_rejects) {
    const char *bad[] = {"2026-02-29T00:00:00Z",
                         "2026-13-01T00:00:00Z",
                         "2026-11-28 11:42:08Z",
                         "2026-11-28T24:00:00Z",
                         "2026-11-28T11:42:60Z",
                         "2026-11-28T11:42:08",
                         "2026-11-28T11:42:08.Z",
                         "2026-11-28T11:42:08Zx",
                         "",
                         "2026-11-28"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ASSERT_MSG(aw_time_parse_rfc3339(bad[i], NULL) == AW_EINVAL, "accepted %s", bad[i]);
}

TEST(dates) {
    int64_t d;
    ASSERT_EQ(aw_time_parse_date("1970-01-01", &d), 0);
    ASSERT_EQ(d, 0);
    ASSERT_EQ(aw_time_parse_date("2024-02-29", &d), 0);
    ASSERT_EQ(aw_time_parse_date("2023-02-29", &d), AW_EINVAL);
    ASSERT_EQ(aw_time_parse_date("1900-02-29", &d), AW_EINVAL);
    ASSERT_EQ(aw_time_parse_date("2000-02-29", &d), 0);
    ASSERT_EQ(aw_time_parse_date("2024-04-31", &d), AW_EINVAL);
    ASSERT_EQ(aw_time_parse_date("2024-4-30", &d), AW_EINVAL);
    ASSERT(aw_time_mono_us() > 0);
}

TEST(deadline_adds_milliseconds_with_carry) {
    struct timespec now, d;
    clock_gettime(CLOCK_MONOTONIC, &now);
    d = aw_time_deadline(CLOCK_MONOTONIC, 2999);
    ASSERT(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    int64_t diff_ms = (int64_t)(d.tv_sec - now.tv_sec) * 1000 + (d.tv_nsec - now.tv_nsec) / 1000000;
    ASSERT(diff_ms >= 2999);
    ASSERT(diff_ms < 2999 + 60000);            /* same clock, not a wall-clock offset */
    d = aw_time_deadline(CLOCK_MONOTONIC, -5); /* negative: now */
    ASSERT(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
}
