/*
 * fuzz_config: the two YAML configuration loaders from a buffer,
 * tokilake.yaml (yaml_tree.c + cfg_*.c + tl_config.c) and tokiame.yaml
 * (tm_config.c). Byte 0 picks the file (even: tokilake, odd: tokiame),
 * the rest is the file's text.
 *
 * Checked:
 *  - a refused file has an error that starts with the file's name (the
 *    "FILE:LINE: key: reason" shape), never an empty one;
 *  - an accepted tokilake.yaml reloads onto itself (tl_config_check_reload
 *    of a config against itself says yes);
 *  - printing is a fixed point: the printed configuration (`tokilake -t`),
 *    parsed again, prints the same bytes (secrets are printed masked:
 *    tokiame's "(unset)" and "(set)" compare equal); it may be refused
 *    only because a secret was printed masked;
 *  - the raw tree (ytree_parse) and everything above free cleanly (ASan's
 *    leak check in the libFuzzer build).
 * Inputs naming /dev, /proc or /sys are skipped: a *_file key would read
 * them, and a blocking device is not a decoder bug.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "tl_config.h"
#include "tm_config.h"
#include "yaml_tree.h"

#define PATH "fuzz.yaml"

/* One of the two loaders, seen through the same four calls. */
struct loader {
	void *(*parse)(const char *text, size_t len, char *err, size_t errlen);
	void (*print)(FILE *fp, const void *conf);
	void (*free)(void *conf);
	const char *masked; /* how a secret prints */
};

static void *
tl_parse(const char *text, size_t len, char *err, size_t errlen)
{
	return tl_config_parse(PATH, text, len, err, errlen);
}

static void
tl_print(FILE *fp, const void *conf)
{
	tl_config_print(fp, conf);
}

static void
tl_free(void *conf)
{
	tl_config_free(conf);
}

static void *
tm_parse(const char *text, size_t len, char *err, size_t errlen)
{
	return tm_config_parse(PATH, text, len, err, errlen);
}

static void
tm_print(FILE *fp, const void *conf)
{
	tm_config_print(fp, conf);
}

static void
tm_free(void *conf)
{
	tm_config_free(conf);
}

static const struct loader loaders[2] = {
	{ tl_parse, tl_print, tl_free, "(secret)" },
	{ tm_parse, tm_print, tm_free, "(set)" },
};

/* tokiame prints secrets as (set) or (unset): the second print may say
 * (set) where the first said (unset), so both read as (set) here */
static char *
print(const struct loader *l, const void *conf, size_t *len)
{
	char *out = NULL, *p;
	FILE *f = open_memstream(&out, len);

	l->print(f, conf);
	fclose(f);
	while ((p = strstr(out, "(unset)")) != NULL) {
		memcpy(p, "(set)", 5);
		memmove(p + 5, p + 7, strlen(p + 7) + 1);
		*len -= 2;
	}
	return out;
}

static void
check(const struct loader *l, const char *text, size_t len)
{
	char err[1024] = "", err2[1024];
	void *c = l->parse(text, len, err, sizeof(err)), *c2;
	char *p1, *p2;
	size_t n1, n2;

	if (c == NULL) {
		/* the "FILE:LINE: key: reason" shape */
		REQUIRE(strncmp(err, PATH ":", strlen(PATH) + 1) == 0);
		return;
	}
	if (l == &loaders[0])
		REQUIRE(tl_config_check_reload(c, c, err, sizeof(err)) == 0);
	p1 = print(l, c, &n1);
	if ((c2 = l->parse(p1, n1, err2, sizeof(err2))) != NULL) {
		p2 = print(l, c2, &n2);
		if (n1 != n2 || memcmp(p1, p2, n1) != 0)
			fprintf(stderr, "first print:\n%s\nsecond print:\n%s\n", p1, p2);
		REQUIRE(n1 == n2 && memcmp(p1, p2, n1) == 0);
		free(p2);
		l->free(c2);
	} else {
		if (strstr(p1, l->masked) == NULL)
			fprintf(stderr, "print:\n%s\nrefused: %s\n", p1, err2);
		REQUIRE(strstr(p1, l->masked) != NULL);
	}
	free(p1);
	l->free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t len = size - 1;

	if (size < 1 || size > 65536)
		return 0;
	if (memmem(text, len, "/dev", 4) != NULL || memmem(text, len, "/proc", 5) != NULL ||
	    memmem(text, len, "/sys", 4) != NULL)
		return 0;
	check(&loaders[data[0] & 1], text, len);
	return 0;
}
