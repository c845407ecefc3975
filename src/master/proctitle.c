/*
 * proctitle: name each process in ps(1) by its role, like
 * "tokilake: worker 2 -c /etc/tokilake/tokilake.yaml", by writing over
 * the memory of the original argv strings (Linux shows that area as
 * /proc/PID/cmdline). The title never grows past the original arguments,
 * so nothing else is overwritten; a long title is cut. Anything that
 * must outlive this (the config path) is copied before the first call.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "master.h"

static char *area;
static size_t area_len; /* bytes usable, the final NUL included */

void
proctitle_init(int argc, char **argv)
{
	char *end;

	if (argc < 1 || argv[0] == NULL)
		return;
	end = argv[0] + strlen(argv[0]);
	/* only arguments laid out one after the other belong to the area */
	for (int i = 1; i < argc && argv[i] == end + 1; i++)
		end = argv[i] + strlen(argv[i]);
	area = argv[0];
	area_len = (size_t)(end - area) + 1;
}

/* "tokilake: ROLE -c PATH", or "tokilake: ROLE" when the path does not
 * fit (a cut path would look like another file). */
void
proctitle_set(const char *role, const char *config_path)
{
	int n;

	if (area == NULL || area_len < 2)
		return;
	n = snprintf(area, area_len, "tokilake: %s -c %s", role, config_path);
	if (n < 0 || (size_t)n >= area_len)
		n = snprintf(area, area_len, "tokilake: %s", role);
	if (n >= 0 && (size_t)n < area_len)
		memset(area + n, '\0', area_len - (size_t)n);
}
