/*
 * test_log: the shape of a log line (time to the millisecond, program,
 * pid, role, level, message), truncation of a message longer than a line,
 * the errno suffix, and buffered mode holding lines until log_flush().
 */
#include "config.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "check.h"

static char path[64];

/* the whole file, NUL-terminated; the caller frees it */
static char *
slurp(size_t *len)
{
	FILE *f = fopen(path, "r");
	char *s = calloc(1, 65536);
	*len = f != NULL ? fread(s, 1, 65535, f) : 0;
	if (f != NULL)
		fclose(f);
	return s;
}

static int
matches(const char *s, const char *re)
{
	regex_t r;
	int ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE) != 0)
		return 0;
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

int
main(void)
{
	char *s, *big, pat[256];
	size_t len, n_lines = 0;
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_log.XXXXXX");
	if ((fd = mkstemp(path)) == -1)
		return 99;
	close(fd);

	log_init("tlprog", LOG_LEVEL_INFO, 0, path);
	log_set_role("worker 3");
	log_info("hello %d %s", 42, "world");
	log_debug("not shown at info");
	errno = ENOENT;
	log_warn("open %s", "x");
	s = slurp(&len);
	snprintf(pat, sizeof(pat),
	    "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} tlprog\\[%d\\] "
	    "worker 3 info: hello 42 world$", (int)getpid());
	CHECK(matches(s, pat));
	CHECK(matches(s, "warn: open x: No such file or directory$"));
	CHECK(strstr(s, "not shown") == NULL);
	free(s);

	/* longer than a line: cut, still one line with its newline */
	big = malloc(5000);
	memset(big, 'a', 4999);
	big[4999] = '\0';
	truncate(path, 0);
	errno = EACCES;
	log_warn("%s", big);
	log_info("after");
	s = slurp(&len);
	for (size_t i = 0; i < len; i++)
		n_lines += s[i] == '\n';
	CHECK(n_lines == 2);
	CHECK(len > 2000 && len < 2400);
	CHECK(matches(s, "a{1000}$"));
	CHECK(matches(s, "info: after$"));
	free(s);
	free(big);

	/* buffered: info waits for log_flush, a warning takes it along */
	truncate(path, 0);
	log_set_buffered(1);
	log_info("held one");
	s = slurp(&len);
	CHECK(len == 0);
	free(s);
	log_flush();
	s = slurp(&len);
	CHECK(matches(s, "info: held one$"));
	free(s);
	log_info("held two");
	log_warnx("warned");
	s = slurp(&len);
	CHECK(matches(s, "info: held two$") && matches(s, "warn: warned$"));
	CHECK(strstr(s, "held two") < strstr(s, "warned"));
	free(s);

	unlink(path);
	if (failures > 0) {
		fprintf(stderr, "test_log: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_log: ok\n");
	return 0;
}
