/*
 * amtsweg — command line entry point. Each subcommand lives with its module
 * (`int aw_<module>_cli_<cmd>(int argc, char **argv)`, argv[0] is the
 * subcommand name) and prints its own help for --help.
 */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "catalog/cli.h"
#include "delivery/delivery.h"
#include "fim/fim.h"
#include "jose/cli.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command_t;

static int cmd_version(int argc, char **argv) {
    (void)argc, (void)argv;
    printf("amtsweg %s\n", AW_VERSION);
    return 0;
}

/* One line per subcommand; keep the order of `amtsweg --help`. */
static const command_t COMMANDS[] = {
    {"serve", aw_app_cli_serve, "run the HTTP server"},
    {"demo", aw_app_cli_demo, "run the server with the demo data (SQLite under var/)"},
    {"routes", aw_app_cli_routes, "list the HTTP routes this build serves"},
    {"version", cmd_version, "print the version"},
    {"schema", aw_fim_cli_schema, "read, check, show, export and validate FIM schemas"},
    {"keys", aw_jose_cli_keys, "create encryption and signature keys (JWK)"},
    {"import", aw_catalog_cli_import, "import catalogue data (areas, services, XZuFi, ...)"},
    {"destination", aw_delivery_cli_destination, "add, list and (de)activate destinations"},
    {"client", aw_delivery_cli_client, "create OAuth clients (senders, subscribers)"},
    {"platform-key", aw_delivery_cli_platform_key, "list and rotate the platform's SET key"},
    {"inbox", aw_delivery_cli_inbox, "receive, decrypt and accept submissions (authority)"},
};

static void usage(FILE *f) {
    fputs("usage: amtsweg <command> [options]\n\ncommands:\n", f);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fputs("\nRun `amtsweg <command> --help` for the options of a command.\n", f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "amtsweg: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
