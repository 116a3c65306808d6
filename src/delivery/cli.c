/*
 * cli — `amtsweg destination ...` and `amtsweg client ...`: operator
 * commands working directly on the store (the same validation as the admin
 * API).
 *
 *   amtsweg destination add [--db URL] (--file DEST.json |
 *       --enc-key F --sig-key F --service LEIKA --region ARS... [--schema URI[@MIME]]...
 *       [--callback-url URL --callback-secret S] [--status inactive] [--id UUID])
 *   amtsweg destination list [--db URL]
 *   amtsweg destination status ID active|inactive [--db URL]
 *   amtsweg client add --kind sender|subscriber [--name N] [--destination ID]... [--db URL]
 *   amtsweg client list [--db URL]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/secure.h"
#include "base/time.h"
#include <time.h>
#include "delivery/internal.h"

static const char *default_db(void) {
    const char *e = getenv("AMTSWEG_DB");
    return e && *e ? e : "var/amtsweg.db";
}

static int open_store(const char *db, aw_store_t **st) {
    aw_err_t err;
    if (aw_store_open(db, NULL, st, &err) || aw_store_migrate(*st, NULL, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static json_t *load_json_file(const char *path) {
    json_error_t je;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!j) fprintf(stderr, "amtsweg: %s: line %d: %s\n", path, je.line, je.text);
    return j;
}

static int with_tx(aw_store_t *st, int mode, aw_tx_t **tx) {
    aw_err_t err;
    if (aw_store_begin(st, mode, tx, &err)) {
        fprintf(stderr, "amtsweg: %s\n", err.msg);
        return 1;
    }
    return 0;
}

static void usage_dest(FILE *f) {
    fputs("usage:\n"
          "  amtsweg destination add [--db URL] --file DEST.json\n"
          "  amtsweg destination add [--db URL] --enc-key F --sig-key F --service LEIKA\n"
          "        --region ARS [--region ARS]... [--schema URI[@MIME]]... [--id UUID]\n"
          "        [--callback-url URL --callback-secret S] [--status active|inactive]\n"
          "        [--allow-loopback-callback] [--key-roots PEM]\n"
          "  amtsweg destination list [--db URL]\n"
          "  amtsweg destination status ID active|inactive [--db URL]\n\n"
          "DEST.json is the admin API's destination document (docs/delivery.md).\n"
          "--enc-key/--sig-key are public JWK files (amtsweg keys new writes them).\n"
          "--key-roots (or AMTSWEG_KEY_ROOTS): PEM file of trusted root certificates; the keys\n"
          "must then carry an x5c chain that verifies against them (as the server's option).\n",
          f);
}

int aw_delivery_cli_destination(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_dest(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    const char *db = default_db(), *file = NULL, *enc = NULL, *sig = NULL, *svc = NULL,
               *cb_url = NULL, *cb_secret = NULL, *status = NULL, *id = NULL;
    const char *key_roots = getenv("AMTSWEG_KEY_ROOTS");
    bool loopback = false;
    json_t *regions = json_array(), *schemas = json_array();
    static const struct option lo[] = {{"db", required_argument, 0, 'd'},
                                       {"file", required_argument, 0, 'f'},
                                       {"enc-key", required_argument, 0, 'e'},
                                       {"sig-key", required_argument, 0, 's'},
                                       {"service", required_argument, 0, 'S'},
                                       {"region", required_argument, 0, 'r'},
                                       {"schema", required_argument, 0, 'c'},
                                       {"callback-url", required_argument, 0, 'u'},
                                       {"callback-secret", required_argument, 0, 'k'},
                                       {"status", required_argument, 0, 't'},
                                       {"id", required_argument, 0, 'i'},
                                       {"allow-loopback-callback", no_argument, 0, 'L'},
                                       {"key-roots", required_argument, 0, 'R'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    optind = 2;
    opterr = 0;
    int ch, code = 2;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd':
            db = optarg;
            break;
        case 'f':
            file = optarg;
            break;
        case 'e':
            enc = optarg;
            break;
        case 's':
            sig = optarg;
            break;
        case 'S':
            svc = optarg;
            break;
        case 'r':
            json_array_append_new(regions, json_string(optarg));
            break;
        case 'c': {
            char *at = strrchr(optarg, '@');
            json_array_append_new(schemas, json_pack("{s:s%,s:s}", "schemaUri", optarg,
                                                     at ? (size_t)(at - optarg) : strlen(optarg),
                                                     "mimeType", at ? at + 1 : "application/json"));
            break;
        }
        case 'u':
            cb_url = optarg;
            break;
        case 'k':
            cb_secret = optarg;
            break;
        case 't':
            status = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'L':
            loopback = true;
            break;
        case 'R':
            key_roots = optarg;
            break;
        case 'h':
            usage_dest(stdout);
            code = 0;
            goto out;
        default:
            fprintf(stderr, "amtsweg destination: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage_dest(stderr);
            goto out;
        }
    }
    aw_store_t *st = NULL;
    aw_tx_t *tx;
    aw_err_t err;
    if (strcmp(sub, "add") == 0) {
        json_t *doc = NULL;
        if (file) {
            doc = load_json_file(file);
        } else {
            if (!enc || !sig || !svc || json_array_size(regions) == 0) {
                fprintf(stderr, "amtsweg destination add: --file, or --enc-key, --sig-key, "
                                "--service and --region are required\n");
                goto out;
            }
            json_t *ek = load_json_file(enc), *sk = load_json_file(sig);
            if (json_array_size(schemas) == 0)
                json_array_append_new(schemas,
                                      json_pack("{s:s,s:s}", "schemaUri", "urn:amtsweg:schema:any",
                                                "mimeType", "application/json"));
            if (ek && sk)
                doc = json_pack("{s:o,s:o,s:[{s:s,s:O,s:O}]}", "encryptionPublicKey", ek,
                                "signingPublicKey", sk, "services", "identifier", svc, "regions",
                                regions, "submissionSchemas", schemas);
            else {
                json_decref(ek);
                json_decref(sk);
            }
            if (doc && cb_url)
                json_object_set_new(doc, "callback",
                                    json_pack("{s:s,s:s?}", "url", cb_url, "secret", cb_secret));
        }
        if (!doc) {
            code = 1;
            goto out;
        }
        if (status) json_object_set_new(doc, "status", json_string(status));
        if (id) json_object_set_new(doc, "destinationId", json_string(id));
        char did[AW_UUID_STRLEN + 1] = "";
        code = 1;
        if (open_store(db, &st) == 0 && with_tx(st, AW_TX_WRITE, &tx) == 0) {
            if (dl_dest_put(tx, doc, did, loopback, key_roots, &err)) {
                aw_store_rollback(tx);
                fprintf(stderr, "amtsweg destination add: %s\n", err.msg);
            } else if (aw_store_commit(tx, &err)) {
                fprintf(stderr, "amtsweg destination add: %s\n", err.msg);
            } else {
                printf("%s\n", did);
                code = 0;
            }
        }
        json_decref(doc);
    } else if (strcmp(sub, "list") == 0) {
        code = 1;
        if (open_store(db, &st) == 0 && with_tx(st, AW_TX_READ, &tx) == 0) {
            aw_sql_t *q;
            if (aw_sql_query(tx,
                             "SELECT id, status, enc_kid, sig_kid, COALESCE(callback_url, '-')"
                             " FROM delivery_destinations ORDER BY created_at, id",
                             &q, &err, "") == 0) {
                while (aw_sql_step(q, &err) == 1)
                    printf("%s\t%s\tenc=%s\tsig=%s\tcallback=%s\n", aw_sql_col_text(q, 0),
                           aw_sql_col_text(q, 1), aw_sql_col_text(q, 2), aw_sql_col_text(q, 3),
                           aw_sql_col_text(q, 4));
                aw_sql_done(q);
                code = 0;
            }
            aw_store_rollback(tx);
        }
    } else if (strcmp(sub, "status") == 0) {
        if (optind + 2 != argc ||
            (strcmp(argv[optind + 1], "active") && strcmp(argv[optind + 1], "inactive"))) {
            fprintf(stderr, "amtsweg destination status: ID active|inactive expected\n");
            goto out;
        }
        code = 1;
        if (open_store(db, &st) == 0 && with_tx(st, AW_TX_WRITE, &tx) == 0) {
            int64_t n = 0;
            if (aw_sql_exec(tx,
                            "UPDATE delivery_destinations SET status = $1, updated_at = $2"
                            " WHERE id = $3",
                            &n, &err, "tIt", argv[optind + 1], aw_time_now_ms(), argv[optind])) {
                aw_store_rollback(tx);
                fprintf(stderr, "amtsweg destination status: %s\n", err.msg);
            } else if (aw_store_commit(tx, &err))
                fprintf(stderr, "amtsweg destination status: %s\n", err.msg);
            else if (n == 0)
                fprintf(stderr, "amtsweg destination status: no destination %s\n", argv[optind]);
            else
                code = 0;
        }
    } else {
        fprintf(stderr, "amtsweg destination: unknown subcommand '%s'\n", sub);
        usage_dest(stderr);
    }
    if (st) aw_store_close(st);
out:
    json_decref(regions);
    json_decref(schemas);
    return code;
}

static void usage_client(FILE *f) {
    fputs(
        "usage:\n"
        "  amtsweg client add --kind sender|subscriber [--name NAME] [--destination ID]...\n"
        "        [--db URL]\n"
        "  amtsweg client list [--db URL]\n\n"
        "`add` prints {\"clientId\", \"clientSecret\"} once; only a hash of the secret is kept.\n",
        f);
}

int aw_delivery_cli_client(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_client(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *db = default_db(), *kind = NULL, *name = "";
    json_t *dests = json_array();
    static const struct option lo[] = {
        {"db", required_argument, 0, 'd'},   {"kind", required_argument, 0, 'k'},
        {"name", required_argument, 0, 'n'}, {"destination", required_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    optind = 2;
    opterr = 0;
    int ch, code = 2;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd':
            db = optarg;
            break;
        case 'k':
            kind = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'D':
            json_array_append_new(dests, json_string(optarg));
            break;
        case 'h':
            usage_client(stdout);
            code = 0;
            goto out;
        default:
            fprintf(stderr, "amtsweg client: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage_client(stderr);
            goto out;
        }
    }
    aw_store_t *st = NULL;
    aw_tx_t *tx;
    aw_err_t err;
    if (strcmp(sub, "add") == 0) {
        code = 1;
        if (open_store(db, &st) == 0 && with_tx(st, AW_TX_WRITE, &tx) == 0) {
            char id[AW_UUID_STRLEN + 1], secret[64];
            if (dl_client_create(tx, kind, name, dests, id, secret, sizeof secret, &err)) {
                aw_store_rollback(tx);
                fprintf(stderr, "amtsweg client add: %s\n", err.msg);
            } else if (aw_store_commit(tx, &err)) {
                fprintf(stderr, "amtsweg client add: %s\n", err.msg);
            } else {
                printf("{\"clientId\":\"%s\",\"clientSecret\":\"%s\",\"kind\":\"%s\"}\n", id,
                       secret, kind);
                code = 0;
            }
            aw_secure_wipe(secret, sizeof secret);
        }
    } else if (strcmp(sub, "list") == 0) {
        code = 1;
        if (open_store(db, &st) == 0 && with_tx(st, AW_TX_READ, &tx) == 0) {
            aw_sql_t *q;
            if (aw_sql_query(tx,
                             "SELECT id, kind, name FROM delivery_clients ORDER BY created_at, id",
                             &q, &err, "") == 0) {
                while (aw_sql_step(q, &err) == 1)
                    printf("%s\t%s\t%s\n", aw_sql_col_text(q, 0), aw_sql_col_text(q, 1),
                           aw_sql_col_text(q, 2));
                aw_sql_done(q);
                code = 0;
            }
            aw_store_rollback(tx);
        }
    } else {
        fprintf(stderr, "amtsweg client: unknown subcommand '%s'\n", sub);
        usage_client(stderr);
    }
    if (st) aw_store_close(st);
out:
    json_decref(dests);
    return code;
}

static void usage_platform_key(FILE *f) {
    fputs("usage:\n"
          "  amtsweg platform-key list [--db URL]\n"
          "  amtsweg platform-key rotate [--db URL]\n\n"
          "The platform's PS512 key signs every event SET; kept in the database unless the\n"
          "server runs with --platform-key FILE. `list` prints kid, created, state (signs,\n"
          "published, retired <time>) and source (store or file), newest first. `rotate`\n"
          "makes a new RSA-4096 key that signs from then on (servers take it up within 30 s)\n"
          "and retires the ones before it: their private part is wiped, their public part\n"
          "stays in /.well-known/jwks.json until the purge drops it with the last events\n"
          "they may have signed. A key file is rotated by replacing the file instead.\n"
          "The same through HTTP: GET/POST /admin/v1/platform-keys (operator token).\n",
          f);
}

static void print_time(int64_t ms) {
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, stdout);
}

int aw_delivery_cli_platform_key(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_platform_key(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1], *db = default_db();
    static const struct option lo[] = {
        {"db", required_argument, 0, 'd'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 2;
    opterr = 0;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd':
            db = optarg;
            break;
        case 'h':
            usage_platform_key(stdout);
            return 0;
        default:
            fprintf(stderr, "amtsweg platform-key: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage_platform_key(stderr);
            return 2;
        }
    }
    bool rotate = strcmp(sub, "rotate") == 0;
    if (!rotate && strcmp(sub, "list") != 0) {
        fprintf(stderr, "amtsweg platform-key: unknown subcommand '%s'\n", sub);
        usage_platform_key(stderr);
        return 2;
    }
    aw_store_t *st = NULL;
    if (open_store(db, &st)) return 1;
    aw_err_t err;
    int code = 1;
    if (rotate) {
        char kid[64];
        if (dl_platform_key_create(st, true, kid, &err))
            fprintf(stderr, "amtsweg platform-key rotate: %s\n", err.msg);
        else {
            printf("%s\n", kid);
            code = 0;
        }
    } else {
        json_t *keys;
        if (dl_platform_keys_list(st, NULL, &keys, &err)) {
            fprintf(stderr, "amtsweg platform-key list: %s\n", err.msg);
        } else {
            /* the newest key kept in the store signs (unless a server runs
             * with a key file) */
            bool signer_seen = false;
            size_t i;
            json_t *k;
            json_array_foreach(keys, i, k) {
                bool store = strcmp(json_string_value(json_object_get(k, "source")), "store") == 0;
                bool retired = json_is_true(json_object_get(k, "retired"));
                printf("%s\t", json_string_value(json_object_get(k, "kid")));
                print_time(json_integer_value(json_object_get(k, "createdAt")));
                if (retired) {
                    fputs("\tretired ", stdout);
                    print_time(json_integer_value(json_object_get(k, "retiredAt")));
                } else if (store && !signer_seen) {
                    fputs("\tsigns", stdout);
                    signer_seen = true;
                } else {
                    fputs("\tpublished", stdout);
                }
                printf("\t%s\n", store ? "store" : "file");
            }
            json_decref(keys);
            code = 0;
        }
    }
    aw_store_close(st);
    return code;
}
