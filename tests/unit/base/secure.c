#include "base/secure.h"
#include "test.h"

TEST(ct_equal) {
    ASSERT(aw_ct_equal("abc", 3, "abc", 3));
    ASSERT(!aw_ct_equal("abc", 3, "abd", 3));
    ASSERT(!aw_ct_equal("abc", 3, "abcd", 4));
    ASSERT(aw_ct_streq("token", "token"));
    ASSERT(!aw_ct_streq("token", NULL));
    char s[] = "secret";
    aw_secure_wipe(s, sizeof s);
    for (size_t i = 0; i < sizeof s; i++) ASSERT_EQ(s[i], 0);
}
