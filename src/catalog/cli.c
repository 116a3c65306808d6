/*
 * cli.c — `amtsweg import` (cli.h).
 */
#include "catalog/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/demo.h"
#include "catalog/import.h"
#include "store/store.h"

static void usage(FILE *f) {
    fputs("usage: amtsweg import KIND FILE... [--db PATH|URL] [--actor NAME]\n"
          "       amtsweg import demo [--db PATH|URL] [--data-dir DIR]\n"
          "\n"
          "KIND   municipalities  Destatis-derived TSV (ars, ars_short, ags, name, level, ...)\n"
          "       plz             postal codes TSV (plz, ags, ...)\n"
          "       services        services TSV (leika_key, name, keywords, short, long, ...)\n"
          "       responsibilities CSV or TSV (leika_key, ars, authority[, destination_id])\n"
          "       xzufi           XZuFi 2.2 XML (leistung, organisationseinheit,\n"
          "                       zustaendigkeit, onlinedienst)\n"
          "       authorities     JSON array of authorities (profile + \"services\":\n"
          "                       {leikaKey: EfA parameters}); existing slugs are updated\n"
          "       demo            the demo catalogue, only into an empty catalogue\n"
          "Each file is imported in one transaction: all of it or nothing. Every import\n"
          "is recorded in the audit log with the actor (default cli:$USER).\n"
          "  --db       database (default var/amtsweg.db or AMTSWEG_DB)\n"
          "  --data-dir data directory for `demo` (default ./data or AMTSWEG_DATA_DIR)\n",
          f);
}

int aw_catalog_cli_import(int argc, char **argv) {
    const char *db = getenv("AMTSWEG_DB");
    const char *data_dir = getenv("AMTSWEG_DATA_DIR");
    const char *actor = NULL;
    static const struct option lo[] = {{"db", required_argument, NULL, 'd'},
                                       {"actor", required_argument, NULL, 'a'},
                                       {"data-dir", required_argument, NULL, 'D'},
                                       {"help", no_argument, NULL, 'h'},
                                       {0, 0, 0, 0}};
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 'd':
            db = optarg;
            break;
        case 'a':
            actor = optarg;
            break;
        case 'D':
            data_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *kname = argv[optind++];
    bool demo = strcmp(kname, "demo") == 0;
    aw_cat_import_kind_t kind = demo ? 0 : aw_cat_import_kind(kname);
    if (!demo && !kind) {
        fprintf(stderr, "amtsweg import: unknown kind '%s'\n", kname);
        usage(stderr);
        return 2;
    }
    if (!demo && optind >= argc) {
        fprintf(stderr, "amtsweg import %s: no file given\n", kname);
        return 2;
    }
    char who[128];
    if (!actor) {
        const char *u = getenv("USER");
        snprintf(who, sizeof who, "cli:%s", u && *u ? u : "unknown");
        actor = who;
    }
    aw_err_t err = {0};
    aw_store_t *st = NULL;
    if (aw_store_open(db && *db ? db : "var/amtsweg.db", NULL, &st, &err) ||
        aw_store_migrate(st, NULL, &err)) {
        fprintf(stderr, "amtsweg import: %s\n", err.msg);
        aw_store_close(st);
        return 1;
    }
    int code = 0;
    if (demo) {
        if (aw_catalog_demo_load(st, data_dir && *data_dir ? data_dir : "data", &err) != 0) {
            fprintf(stderr, "amtsweg import: %s\n", err.msg);
            code = 1;
        } else {
            printf("demo catalogue loaded (or already present)\n");
        }
    }
    for (int i = optind; !demo && i < argc && code == 0; i++) {
        char *data = NULL;
        size_t len = 0;
        aw_tx_t *tx = NULL;
        aw_cat_import_stats_t s;
        int rc = aw_cat_read_file(argv[i], &data, &len, &err);
        if (rc == 0) rc = aw_store_begin(st, AW_TX_WRITE | AW_TX_BULK, &tx, &err);
        if (rc == 0) rc = aw_cat_import(tx, kind, data, len, argv[i], actor, &s, &err);
        free(data);
        if (rc == 0) {
            rc = aw_store_commit(tx, &err);
        } else {
            aw_store_rollback(tx);
        }
        if (rc != 0) {
            fprintf(stderr, "amtsweg import: %s\n", err.msg);
            code = 1;
            break;
        }
        printf("%s: %zu rows: %zu areas, %zu postal codes, %zu services, %zu authorities, "
               "%zu responsibilities, %zu online services; %zu unknown elements skipped\n",
               argv[i], s.rows, s.areas, s.postal_codes, s.services, s.authorities,
               s.responsibilities, s.online_services, s.skipped_elements);
    }
    aw_store_close(st);
    return code;
}
