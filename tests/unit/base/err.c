#include "base/err.h"
#include "test.h"

TEST(set_returns_code_and_formats) {
    aw_err_t e;
    ASSERT_EQ(aw_err_set(&e, AW_EINVAL, "field %s", "F1"), AW_EINVAL);
    ASSERT_EQ(e.code, AW_EINVAL);
    ASSERT_STR(e.msg, "field F1");
    aw_err_prefix(&e, "schema %d", 7);
    ASSERT_STR(e.msg, "schema 7: field F1");
    ASSERT_EQ(aw_err_set(NULL, AW_EIO, "x"), AW_EIO);
    ASSERT_STR(aw_err_name(AW_ETOOBIG), "ETOOBIG");
    ASSERT_STR(aw_err_name(-999), "EUNKNOWN");
    aw_err_clear(&e);
    ASSERT_EQ(e.code, 0);
}
