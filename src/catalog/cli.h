/*
 * cli — `amtsweg import`: loads catalogue files into the database
 * (municipalities, plz, services, responsibilities, xzufi, demo), in one
 * transaction per file, with an audit row naming the actor.
 */
#ifndef AW_CATALOG_CLI_H
#define AW_CATALOG_CLI_H

/* argv[0] is "import". Exit codes: 0 ok, 1 import failed, 2 usage. */
int aw_catalog_cli_import(int argc, char **argv);

#endif
