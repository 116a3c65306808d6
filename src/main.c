/*
 * amtsweg — command line entry point. Subcommands are dispatched here; each
 * lives with its module and has its own --help.
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fputs("usage: amtsweg <command> [options]\n"
          "\n"
          "commands:\n"
          "  serve     run the HTTP server\n"
          "  demo      run the server with the demo catalogue (SQLite under var/)\n"
          "  version   print the version\n"
          "\n"
          "Run `amtsweg <command> --help` for the options of a command.\n",
          f);
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("amtsweg %s\n", AW_VERSION);
        return 0;
    }
    fprintf(stderr, "amtsweg: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
