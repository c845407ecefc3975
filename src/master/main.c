/*
 * tokilake: command line.
 *
 *   tokilake [-c FILE]            run the node (master, workers, agentd)
 *   tokilake [-c FILE] -n [-v]    check the config (and -v: print it)
 *   tokilake -V | --version
 *   tokilake COMMAND ...          subcommands (see `commands` below)
 *
 * Exit status: 0 success, 1 could not run (usage, port in use, ...),
 * 2 the configuration is wrong (EXIT_CONFIG).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "log.h"
#include "master.h"
#include "tl_config.h"
#include "xmalloc.h"

/*
 * Subcommands: the first argument when it is not an option, e.g.
 * `tokilake token new NS`. Each gets argc/argv from its own name.
 */
static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "token", token_command },
	{ "key", key_command },
	{ NULL, NULL },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: tokilake [-c file] [-n [-v]] [-h] [-V | --version]\n"
	    "       tokilake token new NAMESPACE | token hash < token-file\n"
	    "       tokilake key new NAME\n"
	    "  -c file    configuration file (default %s)\n"
	    "  -n         check the configuration and exit\n"
	    "  -v         with -n: also print the effective configuration\n"
	    "  -h         this help\n"
	    "  -V         print the version\n",
	    TL_DEFAULT_CONFIG_PATH);
}

/* -n: parse, check, and load the TLS files, like a start would. */
static int
check_config(const char *path, int verbose)
{
	struct tl_config *conf;
	char err[1024];

	if ((conf = tl_config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_CONFIG;
	}
	if (tls_check_config(conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		tl_config_free(conf);
		return EXIT_CONFIG;
	}
	if (verbose) {
		/* stdout stays pure YAML, so its output can be fed back to -n */
		tl_config_print(stdout, conf);
		fflush(stdout);
		fprintf(stderr, "%s: configuration OK\n", path);
	} else
		printf("%s: configuration OK\n", path);
	tl_config_free(conf);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = TL_DEFAULT_CONFIG_PATH;
	int ch, check = 0, verbose = 0;

	malloc_tune(); /* inherited by the workers and agentd */
	if (argc > 1 && argv[1][0] != '-') {
		for (const struct command *cmd = commands; cmd->name != NULL; cmd++)
			if (strcmp(cmd->name, argv[1]) == 0)
				return cmd->run(argc - 1, argv + 1);
		fprintf(stderr, "tokilake: unknown command \"%s\"\n", argv[1]);
		usage(stderr);
		return EXIT_RUNTIME;
	}
	while ((ch = getopt_long(argc, argv, "c:nvhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tokilake %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_RUNTIME;
		}
	}
	if (optind != argc || (verbose && !check)) {
		usage(stderr);
		return EXIT_RUNTIME;
	}
	if (check)
		return check_config(path, verbose);
	path = xstrdup(path); /* proctitle reuses the memory of argv */
	proctitle_init(argc, argv);
	return master_run(path);
}
