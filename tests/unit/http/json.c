#include "http/json.h"
#include "test.h"

TEST(accepts_valid) {
    aw_err_t err;
    const char *ok = "{\"a\":[1,2,{\"b\":\"ä\"}]}";
    json_t *v = aw_json_parse_strict(ok, strlen(ok), 0, NULL, &err);
    ASSERT_NOT_NULL(v);
    json_decref(v);
    v = aw_json_parse_strict("  42 ", 5, 0, NULL, &err);
    ASSERT_NOT_NULL(v);
    json_decref(v);
}

TEST(rejects_duplicates_with_position) {
    aw_err_t err;
    aw_json_error_t je;
    const char *s = "{\n  \"a\": 1,\n  \"a\": 2\n}";
    ASSERT_NULL(aw_json_parse_strict(s, strlen(s), 0, &je, &err));
    ASSERT_EQ(err.code, AW_EINVAL);
    ASSERT_EQ(je.line, 3);
    ASSERT_CONTAINS(err.msg, "line 3");
    ASSERT_CONTAINS(err.msg, "duplicate");
}

TEST(rejects_bad_utf8_and_nul) {
    aw_err_t err;
    aw_json_error_t je;
    ASSERT_NULL(aw_json_parse_strict("{\"a\":\"\xc3\x28\"}", 11, 0, &je, &err));
    ASSERT_CONTAINS(err.msg, "unable to decode byte 0xc3");
    ASSERT_NULL(aw_json_parse_strict("{\"a\":\"x\\u0000\"}", 15, 0, &je, &err));
    ASSERT_NULL(aw_json_parse_strict("{\"a\":1} x", 9, 0, &je, &err));
    ASSERT_NULL(aw_json_parse_strict("", 0, 0, &je, &err));
}

TEST(depth_bound_checked_before_parsing) {
    aw_err_t err;
    aw_json_error_t je;
    char deep[200001];
    for (int i = 0; i < 100000; i++) deep[i] = '[';
    for (int i = 0; i < 100000; i++) deep[100000 + i] = ']';
    deep[200000] = '\0';
    ASSERT_NULL(aw_json_parse_strict(deep, 200000, 0, &je, &err));
    ASSERT_EQ(err.code, AW_ETOOBIG);
    ASSERT_EQ(je.column, AW_JSON_MAX_DEPTH + 1);
    /* brackets inside strings do not count */
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[\"}";
    json_t *v = aw_json_parse_strict(s, strlen(s), 0, &je, &err);
    ASSERT_NOT_NULL(v);
    json_decref(v);
    /* a string that ends in an escaped backslash ends at its quote: the
     * brackets after it count (line and column of the first one too deep) */
    char t[400];
    int n = snprintf(t, sizeof t, "{\"a\":\"x\\\\\",\n\"b\":");
    for (int i = 0; i < AW_JSON_MAX_DEPTH; i++) t[n++] = '[';
    t[n] = 0;
    ASSERT_NULL(aw_json_parse_strict(t, (size_t)n, 0, &je, &err));
    ASSERT_EQ(err.code, AW_ETOOBIG);
    ASSERT_EQ(je.line, 2);
    ASSERT_EQ(je.column, 4 + AW_JSON_MAX_DEPTH);
    /* an escaped quote after an escaped backslash does not end it */
    const char *u = "[\"\\\\\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]";
    v = aw_json_parse_strict(u, strlen(u), 0, &je, &err);
    ASSERT_MSG(v != NULL, "%s", err.msg);
    json_decref(v);
}
