/*
 * ctl_url: which database tokilakectl works on, in this order:
 *   1. -d URL;
 *   2. database.url or database.url_file of the configuration file (-c,
 *      or the default one when it exists);
 *   3. $DATABASE_URL;
 *   none of them: standalone mode.
 * The node reads $DATABASE_URL itself when its file names no database
 * (tl_config.c); here the file is parsed without it, so that a standalone
 * configuration next to a DATABASE_URL still loads (PostgreSQL mode makes
 * node.* keys mandatory, which tokilakectl does not need).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "tl_config.h"
#include "xmalloc.h"

/* Parse the file with $DATABASE_URL hidden. NULL after saying why. */
static struct tl_config *
load_without_env(const char *path)
{
	struct tl_config *conf;
	char err[1024], *env;

	env = getenv("DATABASE_URL");
	env = env != NULL ? xstrdup(env) : NULL;
	unsetenv("DATABASE_URL");
	conf = tl_config_load(path, err, sizeof(err));
	if (env != NULL) {
		setenv("DATABASE_URL", env, 1);
		secure_wipe(env, strlen(env));
		free(env);
	}
	if (conf == NULL)
		ctl_err("%s", err);
	return conf;
}

int
ctl_database_url(const char *opt_url, const char *conf_path, int conf_given, char **url)
{
	struct tl_config *conf;
	const char *env = getenv("DATABASE_URL");
	int have_env = env != NULL && env[0] != '\0';

	*url = NULL;
	if (opt_url != NULL) {
		if (opt_url[0] == '\0') {
			ctl_err("-d: empty database URL");
			return CTL_USAGE;
		}
		*url = xstrdup(opt_url);
		return CTL_OK;
	}
	/* the default file is optional; one named by -c is not */
	if (!conf_given && access(conf_path, R_OK) != 0) {
		if (errno != ENOENT && !have_env) {
			ctl_err("cannot read %s: %s (name another file with -c, or the database "
			    "with -d or DATABASE_URL)", conf_path, strerror(errno));
			return CTL_USAGE;
		}
	} else {
		if ((conf = load_without_env(conf_path)) == NULL)
			return CTL_USAGE;
		if (conf->database.url != NULL)
			*url = xstrdup(conf->database.url);
		tl_config_free(conf);
		if (*url != NULL)
			return CTL_OK;
	}
	if (have_env)
		*url = xstrdup(env);
	return CTL_OK;
}
