#include "base/uuid.h"
#include "test.h"
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(v4_shape_and_uniqueness) {
    char a[37], b[37];
    ASSERT_EQ(aw_uuid_v4(a), 0);
    ASSERT_EQ(aw_uuid_v4(b), 0);
    ASSERT_EQ(strlen(a), 36);
    ASSERT(aw_uuid_is_v4(a));
    ASSERT(strcmp(a, b) != 0);
    for (int i = 0; i < 1000; i++) {
        ASSERT_EQ(aw_uuid_v4(a), 0);
        ASSERT_MSG(aw_uuid_is_v4(a), "not v4: %s", a);
    }
}

TEST(validation) {
    ASSERT(aw_uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
    ASSERT(!aw_uuid_is_v4("123e4567-e89b-12d3-a456-426614174000"));
    ASSERT(aw_uuid_is_v4("0F8FAD5B-D9CB-469F-A165-70867728950E"));
    ASSERT(!aw_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
    ASSERT(!aw_uuid_valid("0f8fad5bxd9cb-469f-a165-70867728950e"));
    ASSERT(!aw_uuid_valid("0f8fad5b-d9cb-469f-a165-70867728950g"));
    ASSERT(!aw_uuid_valid(NULL));
}

/* Ids come from a per-thread pool of random bytes; a forked child must not
 * repeat what its parent hands out next. */
TEST(fork_child_does_not_repeat_parent_ids) {
    char first[AW_UUID_STRLEN + 1];
    ASSERT_EQ(aw_uuid_v4(first), 0); /* the pool is filled now */
    int pfd[2];
    ASSERT_EQ(pipe(pfd), 0);
    pid_t pid = fork();
    ASSERT(pid >= 0);
    if (pid == 0) {
        char c[AW_UUID_STRLEN + 1];
        aw_uuid_v4(c);
        ssize_t w = write(pfd[1], c, AW_UUID_STRLEN);
        _exit(w == AW_UUID_STRLEN ? 0 : 1);
    }
    close(pfd[1]);
    char child[AW_UUID_STRLEN + 1] = "", parent[AW_UUID_STRLEN + 1];
    ASSERT_EQ(read(pfd[0], child, AW_UUID_STRLEN), AW_UUID_STRLEN);
    close(pfd[0]);
    int st;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_EQ(aw_uuid_v4(parent), 0);
    ASSERT(aw_uuid_is_v4(child));
    ASSERT_MSG(strcmp(child, parent) != 0, "child and parent both made %s", child);
}
