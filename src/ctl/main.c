/*
 * tokilakectl: command line and dispatch.
 *
 *   tokilakectl [-c file] [-d url] [--json] COMMAND [ARGS...]
 *
 * Options may come anywhere on the line (getopt permutes), so
 * `tokilakectl token new lab --label gpu-1` works. The database is
 * looked up once here (ctl_url.c) and opened by the first command that
 * needs it.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "log.h"
#include "tl_config.h"
#include "xmalloc.h"

static const struct command {
	const char *name;
	int (*run)(struct ctl *, int, char **);
} commands[] = {
	{ "namespace", ctl_namespace },
	{ "token", ctl_token },
	{ "agents", ctl_agents },
	{ "models", ctl_models },
	{ "nodes", ctl_nodes },
	{ "db", ctl_db },
	{ "key", ctl_key },
	{ "usage", ctl_usage_cmd },
	{ NULL, NULL },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: tokilakectl [-c file] [-d url] [--json] command [args]\n"
	    "       tokilakectl -h | -V | --version\n"
	    "commands:\n"
	    "  namespace add NAME | namespace list | namespace disable NAME\n"
	    "  namespace enable NAME\n"
	    "  token new NAMESPACE [--label LABEL] | token list [NAMESPACE]\n"
	    "  token revoke ID | HASH-PREFIX\n"
	    "  key new NAME [KEY-OPTIONS] | key list | key show NAME\n"
	    "  key set NAME KEY-OPTIONS | key revoke NAME | key disable NAME | key enable NAME\n"
	    "  agents [NAMESPACE] | models [NAMESPACE] | nodes\n"
	    "  db migrate [--dir DIR]\n"
	    "  usage [--key K] [--namespace NS] [--model M] [--since T] [--until T]\n"
	    "        [--by key|namespace|model|hour|day] [--file USAGE-LOG]\n"
	    "options:\n"
	    "  -c file    tokilake configuration (default %s)\n"
	    "  -d url     PostgreSQL URL (default: database.url of the configuration,\n"
	    "             else $DATABASE_URL; none = standalone mode)\n"
	    "  --json     print lists, new tokens and keys as JSON\n"
	    "key options:\n"
	    "  --owner O  --allow PATTERN (repeat it)  --rpm N  --tpm N  --max-in-flight N\n"
	    "  --tokens-per-day N  --tokens-per-month N  --expires DATE|TIME|Nd|never\n"
	    "  -h         this help\n"
	    "  -V         print the version\n",
	    TL_DEFAULT_CONFIG_PATH);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "database", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "label", required_argument, NULL, 'l' },
		{ "dir", required_argument, NULL, 'D' },
		/* usage */
		{ "key", required_argument, NULL, 'K' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "model", required_argument, NULL, 'M' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "by", required_argument, NULL, 'B' },
		{ "file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		CTL_KEY_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl;
	const struct command *cmd;
	const char *conf_path = TL_DEFAULT_CONFIG_PATH, *opt_url = NULL;
	int ch, conf_given = 0, rc;

	memset(&ctl, 0, sizeof(ctl));
	log_init("tokilakectl", LOG_LEVEL_WARN, 0, NULL);
	opterr = 0; /* one line of our own instead of getopt's, then the usage */
	while ((ch = getopt_long(argc, argv, ":c:d:hV", longopts, NULL)) != -1) {
		if (ch >= CTL_OPT_OWNER && ch <= CTL_OPT_KEY_LAST) {
			ctl_key_option(&ctl, ch, optarg);
			continue;
		}
		switch (ch) {
		case 'c':
			conf_path = optarg;
			conf_given = 1;
			break;
		case 'd':
			opt_url = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		case 'l':
			ctl.label = optarg;
			break;
		case 'D':
			ctl.sql_dir = optarg;
			break;
		case 'K': case 'N': case 'M': case 'S': case 'U': case 'B': case 'F':
			*(ch == 'K' ? &ctl.usage.key : ch == 'N' ? &ctl.usage.ns :
			    ch == 'M' ? &ctl.usage.model : ch == 'S' ? &ctl.usage.since :
			    ch == 'U' ? &ctl.usage.until : ch == 'B' ? &ctl.usage.by :
			    &ctl.usage.file) = optarg;
			ctl.usage_opts = 1;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("tokilakectl %s\n", PACKAGE_VERSION);
			return CTL_OK;
		case ':':
			ctl_err("option %s needs an argument (tokilakectl -h shows the usage)",
			    argv[optind - 1]);
			return CTL_USAGE;
		default:
			if (optopt != 0)
				ctl_err("unknown option -%c (tokilakectl -h shows the usage; put -- "
				    "before an argument that starts with -)", optopt);
			else
				ctl_err("unknown option %s (tokilakectl -h shows the usage)",
				    argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[0]) == 0)
			break;
	if (cmd->name == NULL) {
		ctl_err("unknown command \"%s\" (tokilakectl -h lists them)", argv[0]);
		return CTL_USAGE;
	}
	/* options that belong to one command only */
	if (ctl.label != NULL && !(cmd->run == ctl_token && argc > 1 && strcmp(argv[1], "new") == 0)) {
		ctl_err("--label only goes with \"token new\"");
		return CTL_USAGE;
	}
	if (ctl.key.given && cmd->run != ctl_key) {
		ctl_err("--owner, --allow, the limits and --expires only go with \"key new\" "
		    "and \"key set\"");
		return CTL_USAGE;
	}
	if (ctl.sql_dir != NULL && cmd->run != ctl_db) {
		ctl_err("--dir only goes with \"db migrate\"");
		return CTL_USAGE;
	}
	if (ctl.usage_opts && cmd->run != ctl_usage_cmd) {
		ctl_err("--key, --namespace, --model, --since, --until, --by and --file only go "
		    "with \"usage\"");
		return CTL_USAGE;
	}
	ctl.conf_path = conf_path;
	if (ctl_database_url(opt_url, conf_path, conf_given, &ctl.url) != CTL_OK)
		return CTL_USAGE;
	rc = cmd->run(&ctl, argc, argv);
	ctl_db_close(&ctl);
	if (ctl.url != NULL) {
		secure_wipe(ctl.url, strlen(ctl.url));
		free(ctl.url);
	}
	return rc;
}
