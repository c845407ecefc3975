/*
 * tokiame: the agent that links a private network's inference servers
 * to a tokilake node.
 *
 * main() only assembles the configuration: defaults, then the config
 * file, then the flags, then tm_config_finish() (token, required keys).
 * With -t it stops there and reports; otherwise it sets up logging and
 * hands over to tokiame_run() (agent.c).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "agent.h"
#include "cli.h"
#include "log.h"
#include "xmalloc.h"
#include "tm_config.h"

/* the token is the namespace's key: whoever reads the file can be its agent */
#define LOOSE_TOKEN_FMT "%s is readable or writable by group or others (mode %04o): " \
	"anyone who reads it can link as this namespace; chmod 600 it"

/*
 * The default file may be absent: flags and TOKIAME_TOKEN are enough to
 * run. A file named with -c must exist.
 */
static struct tm_config *
load_config(const struct tm_cli *cli, char *err, size_t errlen)
{
	struct stat st;

	if (cli->config_path != NULL)
		return tm_config_load(cli->config_path, err, errlen);
	if (stat(TM_DEFAULT_CONFIG_PATH, &st) == -1 && errno == ENOENT)
		return tm_config_new();
	return tm_config_load(TM_DEFAULT_CONFIG_PATH, err, errlen);
}

int
main(int argc, char *argv[])
{
	struct tm_cli cli;
	struct tm_config *conf;
	char err[1024];
	int level, status;

	malloc_tune();
	switch (tm_cli_parse(argc, argv, &cli)) {
	case TM_CLI_RUN:
		break;
	case TM_CLI_EXIT:
		return fflush(stdout) == 0 ? 0 : 1;
	case TM_CLI_USAGE:
		return TM_EXIT_USAGE;
	}

	if ((conf = load_config(&cli, err, sizeof(err))) == NULL) {
		/* err already names the file and line */
		fprintf(stderr, "%s\n", err);
		return TM_EXIT_CONFIG;
	}
	if (tm_cli_apply(&cli, conf, err, sizeof(err)) == -1 ||
	    tm_config_finish(conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		tm_config_free(conf);
		return TM_EXIT_CONFIG;
	}

	if (cli.check_only) {
		if (conf->token_file_loose_mode != 0)
			fprintf(stderr, "tokiame: warning: " LOOSE_TOKEN_FMT "\n", conf->token_file,
			    conf->token_file_loose_mode);
		/* the effective config on stdout, the verdict on stderr */
		if (cli.verbose)
			tm_config_print(stdout, conf);
		fprintf(stderr, "%s: configuration OK\n",
		    conf->path != NULL ? conf->path : "(no config file)");
		tm_config_free(conf);
		return fflush(stdout) == 0 ? 0 : 1;
	}

	level = cli.verbose ? LOG_LEVEL_DEBUG : conf->log.level;
	conf->log.level = level;
	log_init("tokiame", (enum log_level)level, conf->log.use_syslog, conf->log.file);
	if (conf->token_file_loose_mode != 0)
		log_warnx(LOOSE_TOKEN_FMT, conf->token_file, conf->token_file_loose_mode);
	status = tokiame_run(conf);
	tm_config_free(conf);
	return status;
}
