/*
 * cli: tokiame's command line.
 *
 * tm_cli_parse() only reads argv; nothing is applied until the config
 * file is loaded, so that flags override the file whatever their order.
 * There is deliberately no flag that takes the token itself: ps(1) would
 * show it to every user of the host. The token comes from the config
 * file, --token-file or TOKIAME_TOKEN.
 */
#ifndef TM_CLI_H
#define TM_CLI_H

#include <stdio.h>

#include "tm_config.h"

#define TM_EXIT_USAGE 2  /* bad command line: same status as a config error */
#define TM_EXIT_CONFIG 2 /* matches EXIT_CONFIG of tokilake's children */

/* Pointers into argv, NULL when the flag was not given. */
struct tm_cli {
	const char *config_path; /* -c; NULL = TM_DEFAULT_CONFIG_PATH, may be absent */
	const char *servers[TM_MAX_SERVERS]; /* -a, repeatable: one link each */
	size_t nservers;
	const char *namespace;   /* -n */
	const char *api_addr;    /* -l */
	const char *token_file;  /* --token-file */
	int check_only;          /* -t */
	int verbose;             /* -v */
};

enum tm_cli_action {
	TM_CLI_RUN,   /* go on: load the config */
	TM_CLI_EXIT,  /* -h or --version answered: exit 0 */
	TM_CLI_USAGE, /* bad command line, usage printed on stderr: exit 2 */
};

enum tm_cli_action tm_cli_parse(int argc, char *argv[], struct tm_cli *cli);
void tm_cli_usage(FILE *fp);

/* Copy the flags that were given into conf, over what the file said.
 * -1 with err if a flag's value is malformed. */
int tm_cli_apply(const struct tm_cli *cli, struct tm_config *conf, char *err, size_t errlen);

#endif
