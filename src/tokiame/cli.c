/*
 * cli: see cli.h. Flag values are checked here with the rules the config
 * file uses (cfg_value.h), so that an error names the flag rather than a
 * line of a file the value did not come from; what a running agent needs
 * is checked by tm_config_finish() once file and flags are merged.
 */
#include "config.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_value.h"
#include "cli.h"
#include "xmalloc.h"

enum { OPT_TOKEN_FILE = 256, OPT_VERSION, OPT_NO_TOKEN };

static const struct option long_options[] = {
	{ "addr", required_argument, NULL, 'a' },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "api-addr", required_argument, NULL, 'l' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
	/* not an option: catches "--token SECRET" before getopt_long takes
	 * it for an abbreviation of --token-file */
	{ "token", optional_argument, NULL, OPT_NO_TOKEN },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

void
tm_cli_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tokiame [-tv] [-a host:port ...] [-c file] [-l host:port] [-n namespace]\n"
	    "               [--token-file file]\n"
	    "       tokiame -h | --help | --version\n"
	    "\n"
	    "  -a, --addr HOST:PORT      tokilake agent address to link to (servers:);\n"
	    "                            repeat it to keep a link to several nodes\n"
	    "  -n, --namespace NS        namespace to register (namespace:)\n"
	    "  -l, --api-addr HOST:PORT  local health and status API (default %s)\n"
	    "  -c, --config FILE         config file (default %s)\n"
	    "      --token-file FILE     read the namespace token from FILE\n"
	    "  -t                        check the configuration and exit\n"
	    "  -v                        with -t, print the effective configuration;\n"
	    "                            otherwise log debug messages\n"
	    "  -h, --help                show this help and exit\n"
	    "      --version             show the version and exit\n"
	    "\n"
	    "The token may also come from the environment variable TOKIAME_TOKEN.\n"
	    "Flags override the config file.\n",
	    TM_DEFAULT_API_ADDR, TM_DEFAULT_CONFIG_PATH);
}

enum tm_cli_action
tm_cli_parse(int argc, char *argv[], struct tm_cli *cli)
{
	int ch;

	memset(cli, 0, sizeof(*cli));
	while ((ch = getopt_long(argc, argv, "a:c:hl:n:tv", long_options, NULL)) != -1) {
		switch (ch) {
		case 'a':
			if (cli->nservers == TM_MAX_SERVERS) {
				fprintf(stderr, "tokiame: -a/--addr given more than %d times\n",
				    TM_MAX_SERVERS);
				return TM_CLI_USAGE;
			}
			cli->servers[cli->nservers++] = optarg;
			break;
		case 'c':
			cli->config_path = optarg;
			break;
		case 'h':
			tm_cli_usage(stdout);
			return TM_CLI_EXIT;
		case 'l':
			cli->api_addr = optarg;
			break;
		case 'n':
			cli->namespace = optarg;
			break;
		case 't':
			cli->check_only = 1;
			break;
		case 'v':
			cli->verbose = 1;
			break;
		case OPT_TOKEN_FILE:
			cli->token_file = optarg;
			break;
		case OPT_VERSION:
			printf("tokiame %s\n", PACKAGE_VERSION);
			return TM_CLI_EXIT;
		case OPT_NO_TOKEN:
			/* never echo the argument: it is the secret */
			fprintf(stderr, "tokiame: there is no --token option: ps(1) would show the "
			    "token to every user; use --token-file or TOKIAME_TOKEN\n");
			tm_cli_usage(stderr);
			return TM_CLI_USAGE;
		default:
			/* getopt_long already said what was wrong */
			tm_cli_usage(stderr);
			return TM_CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tokiame: unexpected argument: %s\n", argv[optind]);
		tm_cli_usage(stderr);
		return TM_CLI_USAGE;
	}
	return TM_CLI_RUN;
}

static void
replace(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

int
tm_cli_apply(const struct tm_cli *cli, struct tm_config *conf, char *err, size_t errlen)
{
	const char *why;

	for (size_t i = 0; i < cli->nservers; i++) {
		if ((why = cfg_check_address(cli->servers[i])) != NULL) {
			snprintf(err, errlen, "tokiame: -a/--addr \"%s\": %s", cli->servers[i], why);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(cli->servers[i], cli->servers[j]) == 0) {
				snprintf(err, errlen, "tokiame: -a/--addr \"%s\" is given twice",
				    cli->servers[i]);
				return -1;
			}
	}
	if (cli->nservers > 0) {
		/* the flags name every node: the file's server or servers go */
		free(conf->server);
		conf->server = NULL;
		for (size_t i = 0; i < conf->nservers; i++)
			free(conf->servers[i]);
		free(conf->servers);
		conf->servers = xcalloc(cli->nservers, sizeof(*conf->servers));
		for (size_t i = 0; i < cli->nservers; i++)
			conf->servers[i] = xstrdup(cli->servers[i]);
		conf->nservers = cli->nservers;
	}
	if (cli->namespace != NULL) {
		if (!cfg_namespace_valid(cli->namespace, strlen(cli->namespace))) {
			snprintf(err, errlen,
			    "tokiame: -n/--namespace \"%s\": a namespace name is 1 to %d of a-z 0-9 . _ - "
			    "and starts with a letter or digit", cli->namespace, CFG_NAMESPACE_MAX);
			return -1;
		}
		replace(&conf->namespace, cli->namespace);
	}
	if (cli->api_addr != NULL) {
		if ((why = cfg_check_address(cli->api_addr)) != NULL) {
			snprintf(err, errlen, "tokiame: -l/--api-addr \"%s\": %s", cli->api_addr, why);
			return -1;
		}
		replace(&conf->api_addr, cli->api_addr);
	}
	if (cli->token_file != NULL) {
		if (cli->token_file[0] == '\0') {
			snprintf(err, errlen, "tokiame: --token-file: the file name is empty");
			return -1;
		}
		replace(&conf->token_file, cli->token_file);
		/* the flag beats a token written in the file: forget that one */
		if (conf->token != NULL) {
			secure_wipe(conf->token, strlen(conf->token));
			free(conf->token);
			conf->token = NULL;
		}
	}
	return 0;
}
