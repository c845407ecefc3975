/* ctl_util: messages and checks every tokilakectl command shares. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfg_value.h"
#include "ctl.h"

void
ctl_err(const char *fmt, ...)
{
	va_list ap;

	fputs("tokilakectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
ctl_usage(const char *synopsis)
{
	fprintf(stderr, "usage: tokilakectl %s\n", synopsis);
	return CTL_USAGE;
}

int
ctl_needs_database(const char *command, const char *hint)
{
	ctl_err("%s needs a database, and none is configured (standalone mode: no -d, no "
	    "database.url in the configuration, no DATABASE_URL)%s%s",
	    command, hint != NULL ? "; " : "", hint != NULL ? hint : "");
	return CTL_USAGE;
}

int
ctl_check_namespace(const char *name)
{
	if (cfg_namespace_valid(name, strlen(name)))
		return CTL_OK;
	/* the name may hold anything: show it only when it is printable */
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			ctl_err("bad namespace name: %s", CFG_NAMESPACE_RULE);
			return CTL_USAGE;
		}
	ctl_err("bad namespace name \"%s\": %s", name, CFG_NAMESPACE_RULE);
	return CTL_USAGE;
}
