/* Tests of src/delivery/cli.c through the binary: `amtsweg destination`,
 * `amtsweg client` and `amtsweg platform-key`, plus the --deadlines option
 * parser. */
#include <stdlib.h>
#include <string.h>

#include "delivery/delivery.h"
#include "test.h"

static char *run(const char *fmt_args) {
    char out[700], cmd[4096];
    snprintf(out, sizeof out, "%s/out.txt", aw_test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>&1", aw_test_bin(), fmt_args, out);
    int rc = aw_test_sh("%s", cmd);
    char *s = aw_test_read_file(out, NULL);
    ASSERT_NOT_NULL(s);
    char *r = malloc(strlen(s) + 16);
    sprintf(r, "%d:%s", rc, s);
    free(s);
    return r;
}

TEST(cli_destination_add_list_status_and_clients) {
    char args[4096], db[700];
    snprintf(db, sizeof db, "%s/c.db", aw_test_tmpdir());
    const char *k = aw_test_srcdir();
    snprintf(args, sizeof args,
             "destination add --db %s --enc-key %s/tests/data/jose/a/enc.public.jwk "
             "--sig-key %s/tests/data/jose/a/sig.public.jwk --service 99123456789012 "
             "--region 09162 --region DE091620000000 --schema urn:x:y@application/xml",
             db, k, k);
    char *o = run(args);
    ASSERT_MSG(strncmp(o, "0:", 2) == 0, "%s", o);
    /* the id is the one line of stdout (log lines go to stderr) */
    char id[64] = "";
    for (char *line = o + 2; line && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strcspn(line, "\n") == 36) snprintf(id, sizeof id, "%.36s", line);
    ASSERT_EQ(strlen(id), 36);
    free(o);
    snprintf(args, sizeof args, "destination list --db %s", db);
    o = run(args);
    ASSERT_CONTAINS(o, id);
    ASSERT_CONTAINS(o, "active");
    ASSERT_CONTAINS(o, "enc=TEST-ONLY-a-enc");
    free(o);
    snprintf(args, sizeof args, "destination status %s inactive --db %s", id, db);
    o = run(args);
    ASSERT_STR(o, "0:");
    free(o);
    snprintf(args, sizeof args, "destination list --db %s", db);
    o = run(args);
    ASSERT_CONTAINS(o, "inactive");
    free(o);
    /* clients: a subscriber needs its destination, the secret is printed once */
    snprintf(args, sizeof args, "client add --kind subscriber --db %s", db);
    o = run(args);
    ASSERT_MSG(strncmp(o, "1:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "at least one destination");
    free(o);
    snprintf(args, sizeof args, "client add --kind subscriber --destination %s --db %s", id, db);
    o = run(args);
    ASSERT_MSG(strncmp(o, "0:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "\"clientSecret\":\"");
    free(o);
    snprintf(args, sizeof args, "client list --db %s", db);
    o = run(args);
    ASSERT_CONTAINS(o, "subscriber");
    ASSERT_NOT_CONTAINS(o, "pbkdf2");
    free(o);
}

TEST(cli_destination_add_refuses_bad_input) {
    char args[4096], db[700];
    snprintf(db, sizeof db, "%s/c.db", aw_test_tmpdir());
    const char *k = aw_test_srcdir();
    /* a signature key as encryption key: the FIT-Connect rule is named */
    snprintf(args, sizeof args,
             "destination add --db %s --enc-key %s/tests/data/jose/a/sig.public.jwk "
             "--sig-key %s/tests/data/jose/a/sig.public.jwk --service 99123456789012 "
             "--region 09",
             db, k, k);
    char *o = run(args);
    ASSERT_MSG(strncmp(o, "1:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "encryptionPublicKey");
    free(o);
    snprintf(args, sizeof args,
             "destination add --db %s --enc-key %s/tests/data/jose/a/enc.public.jwk "
             "--sig-key %s/tests/data/jose/a/sig.public.jwk --service 99123456789012 "
             "--region 0916",
             db, k, k);
    o = run(args);
    ASSERT_MSG(strncmp(o, "1:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "ARS");
    free(o);
    snprintf(args, sizeof args, "destination add --db %s", db);
    o = run(args);
    ASSERT_MSG(strncmp(o, "2:", 2) == 0, "%s", o);
    free(o);
    o = run("destination --help");
    ASSERT_MSG(strncmp(o, "0:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "usage");
    free(o);
    o = run("inbox --server http://127.0.0.1:1");
    ASSERT_MSG(strncmp(o, "2:", 2) == 0, "%s", o);
    free(o);
}

TEST(deadlines_option_parses_four_durations) {
    aw_delivery_config_t c;
    aw_delivery_config_defaults(&c);
    ASSERT_EQ(c.incomplete_ttl_s, 86400);
    ASSERT_EQ(c.unfetched_reject_s, 14 * 86400);
    ASSERT_EQ(c.decided_purge_s, 7 * 86400);
    ASSERT_EQ(c.events_ttl_s, 730 * 86400);
    aw_err_t err;
    ASSERT_EQ(aw_delivery_parse_deadlines(&c, "60,120,180,240", &err), 0);
    ASSERT_EQ(c.incomplete_ttl_s, 60);
    ASSERT_EQ(c.events_ttl_s, 240);
    ASSERT_EQ(aw_delivery_parse_deadlines(&c, "60,120,180", &err), AW_EINVAL);
    ASSERT_CONTAINS(err.msg, "events");
    ASSERT_EQ(aw_delivery_parse_deadlines(&c, "60,120,180,240,300", &err), AW_EINVAL);
    ASSERT_EQ(aw_delivery_parse_deadlines(&c, "60,0,180,240", &err), AW_EINVAL);
    ASSERT_EQ(aw_delivery_parse_deadlines(&c, "60,-1,180,240", &err), AW_EINVAL);
    ASSERT_EQ(aw_delivery_parse_deadlines(&c, "1d,2,3,4", &err), AW_EINVAL);
}

/* `amtsweg platform-key`: rotate makes a new key in the store and retires
 * the one before; list shows which signs; usage errors exit 2. */
TEST_T(cli_platform_key_rotate_and_list, 120) {
    char args[1024], db[700];
    snprintf(db, sizeof db, "%s/pk.db", aw_test_tmpdir());
    char kids[2][64] = {"", ""};
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "platform-key rotate --db %s", db);
        char *o = run(args);
        ASSERT_MSG(strncmp(o, "0:", 2) == 0, "%s", o);
        /* the kid is the one line of stdout that starts with platform- */
        for (char *line = o + 2; line && *line;
             line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
            if (strncmp(line, "platform-", 9) == 0)
                snprintf(kids[i], sizeof kids[i], "%.*s", (int)strcspn(line, "\n"), line);
        free(o);
        ASSERT_EQ(strlen(kids[i]), 45);
    }
    ASSERT(strcmp(kids[0], kids[1]) != 0);
    snprintf(args, sizeof args, "platform-key list --db %s", db);
    char *o = run(args);
    ASSERT_MSG(strncmp(o, "0:", 2) == 0, "%s", o);
    char *first = strstr(o, kids[1]), *second = strstr(o, kids[0]);
    ASSERT_NOT_NULL(first);
    ASSERT_NOT_NULL(second);
    ASSERT(first < second); /* newest first */
    ASSERT_CONTAINS(first, "\tsigns\tstore\n");
    ASSERT_CONTAINS(second, "\tretired 20");
    free(o);
    o = run("platform-key frob");
    ASSERT_MSG(strncmp(o, "2:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "unknown subcommand");
    free(o);
    o = run("platform-key --help");
    ASSERT_MSG(strncmp(o, "0:", 2) == 0, "%s", o);
    ASSERT_CONTAINS(o, "/admin/v1/platform-keys");
    free(o);
}
