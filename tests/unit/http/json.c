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

/* The decoder accepts what jansson's json_loadb accepts (strict flags) and
 * builds equal values; tests/fuzz/http_json.c does this on any input, these
 * are the corners worth keeping in every run. */
TEST(same_as_jansson_on_the_corners) {
    static const char *const cases[] = {"{}",
                                        "[]",
                                        "\"\"",
                                        "0",
                                        "-0",
                                        "-0.0",
                                        "1e5",
                                        "1E+5",
                                        "1e-5",
                                        "0.5",
                                        "12.25e-3",
                                        "9223372036854775807",
                                        "-9223372036854775808",
                                        "9223372036854775808",
                                        "-9223372036854775809",
                                        "1e308",
                                        "1e309",
                                        "-1e309",
                                        "1e-400",
                                        "01",
                                        "1.",
                                        ".5",
                                        "+1",
                                        "-",
                                        "1e",
                                        "1e+",
                                        "--1",
                                        "true",
                                        "false",
                                        "null",
                                        "tru",
                                        "nul",
                                        "truex",
                                        "[true1]",
                                        "[1,]",
                                        "[,1]",
                                        "{\"a\":1,}",
                                        "{,}",
                                        "{\"a\" 1}",
                                        "{\"a\":}",
                                        "{1:2}",
                                        "{\"a\":1,\"a\":2}",
                                        "{\"a\":1,\"\\u0061\":2}",
                                        "{\"a\":{\"a\":1}}",
                                        "\"\\u00e4\\u20ac\"",
                                        "\"\\ud83d\\ude00\"",
                                        "\"\\ud83d\"",
                                        "\"\\ude00\"",
                                        "\"\\ud83dx\"",
                                        "\"\\ud83d\\u0041\"",
                                        "\"\\u0000\"",
                                        "\"\\uZZZZ\"",
                                        "\"\\u12\"",
                                        "\"\\x\"",
                                        "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"",
                                        "\"a\tb\"",
                                        "\"a\x7f\"",
                                        "\"\xc3\xa4\"",
                                        "\"\xc3\"",
                                        "\"\xc0\x80\"",
                                        "\"\xe0\x80\x80\"",
                                        "\"\xed\xa0\x80\"",
                                        "\"\xf4\x90\x80\x80\"",
                                        "\"\xf0\x9f\x98\x80\"",
                                        "\"\xff\"",
                                        "\"abc",
                                        "[1 2]",
                                        " [ 1 , 2 ] ",
                                        "\t\r\n1\n",
                                        "[1]x",
                                        "[1] [2]",
                                        "\xef\xbb\xbf[]",
                                        "{\"\":[]}",
                                        "[[[[[[[[[[]]]]]]]]]]",
                                        "{\"a\":\"x\\\\\"}",
                                        "\"\\\\\\\"\"",
                                        "[-]",
                                        "[0x1]",
                                        "[Infinity]",
                                        "[NaN]",
                                        "'a'",
                                        "[\"a\",]"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *c = cases[i];
        aw_err_t err = {0};
        json_t *v = aw_json_parse_strict(c, strlen(c), 0, NULL, &err);
        json_error_t e;
        json_t *ref = json_loadb(c, strlen(c), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        ASSERT_MSG((v != NULL) == (ref != NULL), "case %zu '%s': ours %s, jansson %s", i, c,
                   v ? "accepts" : err.msg, ref ? "accepts" : e.text);
        if (v) ASSERT_MSG(json_equal(v, ref), "case %zu '%s': values differ", i, c);
        json_decref(v);
        json_decref(ref);
    }
}

/* A 10 MB string (a sealed data set at the limit) is checked and copied
 * once; escapes inside long strings are decoded. */
TEST(long_strings) {
    size_t n = 10u * 1000 * 1000;
    char *s = malloc(n + 40);
    int k = snprintf(s, 40, "{\"encryptedData\":\"");
    for (size_t i = 0; i < n; i++)
        s[k + i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_."[i % 55];
    memcpy(s + k + n, "\"}", 3);
    aw_err_t err;
    json_t *v = aw_json_parse_strict(s, strlen(s), 0, NULL, &err);
    ASSERT_MSG(v != NULL, "%s", err.msg);
    ASSERT_EQ(json_string_length(json_object_get(v, "encryptedData")), n);
    json_decref(v);
    s[k + n / 2] = '\\';
    s[k + n / 2 + 1] = 'n';
    v = aw_json_parse_strict(s, strlen(s), 0, NULL, &err);
    ASSERT_MSG(v != NULL, "%s", err.msg);
    ASSERT_EQ(json_string_length(json_object_get(v, "encryptedData")), n - 1);
    ASSERT_EQ(json_string_value(json_object_get(v, "encryptedData"))[n / 2], '\n');
    json_decref(v);
    free(s);
}
