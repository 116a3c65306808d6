#include "jose/cli.h"

#include <sys/stat.h>

#include "helpers.h"

TEST_T(keys_new_writes_fitconnect_keys, 180) {
    const char *dir = aw_test_tmpdir();
    ASSERT_EQ(aw_test_sh("%s keys new --kid amtsweg-test --out %s/k > %s/out.json 2>%s/err.txt",
                         aw_test_bin(), dir, dir, dir),
              0);
    const char *files[] = {"enc.private.jwk", "enc.public.jwk", "sig.private.jwk",
                           "sig.public.jwk"};
    const unsigned modes[] = {0600, 0644, 0600, 0644};
    for (int i = 0; i < 4; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/k/%s", dir, files[i]);
        ASSERT_MSG(stat(path, &st) == 0, "%s missing", path);
        ASSERT_EQ(st.st_mode & 0777, modes[i]);
        aw_err_t err = {0};
        aw_jwk_t *k;
        ASSERT_MSG(aw_jwk_load_file(path, &k, &err) == 0, "%s", err.msg);
        ASSERT_EQ(aw_jwk_is_private(k), i % 2 == 0);
        ASSERT_STR(aw_jwk_kid(k), i < 2 ? "amtsweg-test-enc" : "amtsweg-test-sig");
        ASSERT_MSG(aw_jwk_check_fitconnect(k, i < 2 ? AW_JWK_ENC : AW_JWK_SIG, NULL, &err) == 0,
                   "%s: %s", files[i], err.msg);
        aw_jwk_free(k);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/out.json", dir);
    char *out = aw_test_read_file(path, NULL);
    json_t *set = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
    ASSERT_NOT_NULL(set);
    ASSERT_EQ(json_array_size(json_object_get(set, "keys")), 2);
    ASSERT_NOT_CONTAINS(out, "\"d\"");
    ASSERT_CONTAINS(out, "\"wrapKey\"");
    ASSERT_CONTAINS(out, "\"verify\"");
    json_decref(set);
    free(out);
    /* Never overwrites. */
    snprintf(path, sizeof path, "%s/k/sig.private.jwk", dir);
    char *before = aw_test_read_file(path, NULL);
    ASSERT_EQ(aw_test_sh("%s keys new --kid amtsweg-test --out %s/k 2>%s/err2.txt", aw_test_bin(),
                         dir, dir),
              1);
    char *after = aw_test_read_file(path, NULL);
    ASSERT_STR(before, after);
    free(before), free(after);
    snprintf(path, sizeof path, "%s/err2.txt", dir);
    char *e = aw_test_read_file(path, NULL);
    ASSERT_CONTAINS(e, "refusing to overwrite");
    free(e);
    /* keys check agrees, and names the rules for the wrong purpose. */
    ASSERT_EQ(aw_test_sh("%s keys check --enc %s/k/enc.public.jwk --sig %s/k/sig.public.jwk",
                         aw_test_bin(), dir, dir),
              0);
    ASSERT_EQ(aw_test_sh("%s keys check --sig %s/k/enc.public.jwk 2>%s/err3.txt", aw_test_bin(),
                         dir, dir),
              1);
    snprintf(path, sizeof path, "%s/err3.txt", dir);
    e = aw_test_read_file(path, NULL);
    ASSERT_CONTAINS(e, "alg must be PS512");
    free(e);
}

TEST(keys_usage_errors) {
    const char *dir = aw_test_tmpdir();
    ASSERT_EQ(aw_test_sh("%s keys --help > %s/help.txt", aw_test_bin(), dir), 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/help.txt", dir);
    char *h = aw_test_read_file(path, NULL);
    ASSERT_CONTAINS(h, "amtsweg keys new");
    free(h);
    ASSERT_EQ(aw_test_sh("%s keys new --help >/dev/null", aw_test_bin()), 0);
    ASSERT_EQ(aw_test_sh("%s keys 2>/dev/null", aw_test_bin()), 2);
    ASSERT_EQ(aw_test_sh("%s keys frobnicate 2>/dev/null", aw_test_bin()), 2);
    ASSERT_EQ(aw_test_sh("%s keys new --kid abcdef 2>/dev/null", aw_test_bin()), 2);
    ASSERT_EQ(aw_test_sh("%s keys new --kid 'a b c d' --out %s/x 2>/dev/null", aw_test_bin(), dir),
              2);
    ASSERT_EQ(aw_test_sh("%s keys new --kid abc --out %s/x 2>/dev/null", aw_test_bin(), dir), 2);
    ASSERT_EQ(aw_test_sh("%s keys new --out %s/no/such/dir 2>/dev/null", aw_test_bin(), dir), 1);
    ASSERT_EQ(aw_test_sh("%s keys check 2>/dev/null", aw_test_bin()), 2);
    ASSERT_EQ(aw_test_sh("%s keys check --enc %s/missing.jwk 2>/dev/null", aw_test_bin(), dir), 1);
    ASSERT_EQ(aw_test_sh("%s --help | grep -q 'keys '", aw_test_bin()), 0);
}
