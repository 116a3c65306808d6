/*
 * cli — `amtsweg keys`: create and check FIT-Connect keys (JWK files).
 *
 *   amtsweg keys new --kid ID --out DIR
 *   amtsweg keys check --enc|--sig FILE
 */
#ifndef AW_JOSE_CLI_H
#define AW_JOSE_CLI_H

/* argv[0] is "keys". Returns the process exit status (0, 1 error, 2 usage). */
int aw_jose_cli_keys(int argc, char **argv);

#endif
