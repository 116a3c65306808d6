#include "base/log.h"
#include "test.h"

#include <fcntl.h>
#include <unistd.h>

TEST(one_line_key_value_no_control_chars) {
    char path[512];
    snprintf(path, sizeof path, "%s/log", aw_test_tmpdir());
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    ASSERT(fd >= 0);
    aw_log_set_fd(fd);
    aw_log_set_level(AW_LOG_INFO);
    char q[64];
    aw_log_info("test.event", "k=1 v=%s", aw_log_quote(q, sizeof q, "a \"b\"\nforged=1"));
    aw_log_debug("test.hidden", "x=1");
    close(fd);
    size_t n;
    char *s = aw_test_read_file(path, &n);
    ASSERT_NOT_NULL(s);
    ASSERT_CONTAINS(s, "level=info event=test.event k=1 v=\"a \\\"b\\\"?forged=1\"\n");
    ASSERT_NOT_CONTAINS(s, "test.hidden");
    ASSERT_EQ(strchr(s, '\n') - s, (long)n - 1); /* exactly one line */
    ASSERT_EQ(aw_log_parse_level("warn"), AW_LOG_WARN);
    ASSERT_EQ(aw_log_parse_level("loud"), -1);
    free(s);
}
