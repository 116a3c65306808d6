#include "base/uuid.h"
#include "test.h"

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
