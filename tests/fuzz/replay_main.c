/*
 * replay_main: the plain driver of every fuzz target but fuzz_ipc, for
 * `make check` (gcc, optionally with the sanitizers), no libFuzzer needed.
 *
 *   fuzz_X FILE|DIR...   run each file (every regular file of a DIR) once,
 *                        e.g. to replay a crash libFuzzer saved;
 *   fuzz_X               replay the committed seed corpus,
 *                        $top_srcdir/tests/fuzz/corpus/X (X is the program
 *                        name without "fuzz_"), then a deterministic
 *                        mutation loop over it: FUZZ_MUTATIONS inputs
 *                        (default 20000), stopped early after
 *                        FUZZ_SECONDS (default 4) so a slow build stays fast.
 *
 * An input that breaks an invariant is saved as ./fuzz-crash.bin.
 * An empty or missing corpus is a failure: a target that sees no input
 * proves nothing. Any broken invariant aborts inside the target.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz.h"

#define REPLAY_MAX_INPUT (8 * 1024 * 1024)
#define MAX_SEEDS 256

struct input {
	uint8_t *p;
	size_t len;
};

static struct input seeds[MAX_SEEDS];
static const uint8_t *current;  /* the input being run, for on_abort */
static size_t current_len;
static size_t nseeds;
static const char *prog = "fuzz";

static int
read_input(const char *path, struct input *in)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	in->p = malloc(REPLAY_MAX_INPUT);
	if (in->p == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(in->p, 1, REPLAY_MAX_INPUT, f);
	fclose(f);
	if (n == REPLAY_MAX_INPUT) {
		fprintf(stderr, "%s: %s: larger than %d bytes\n", prog, path, REPLAY_MAX_INPUT);
		free(in->p);
		return -1;
	}
	in->len = n;
	return 0;
}

/* A broken invariant aborts: keep the input that did it, to replay. */
static void
on_abort(int sig)
{
	int fd = open("fuzz-crash.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd != -1) {
		if (write(fd, current, current_len) == -1) {
			/* nothing more to do in a signal handler */
		}
		close(fd);
		(void)!write(2, "input saved as fuzz-crash.bin\n", 31);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
run_one(const uint8_t *p, size_t len)
{
	current = p;
	current_len = len;
	LLVMFuzzerTestOneInput(p, len);
}

/* Run one file; keep it as a seed if keep. */
static int
run_file(const char *path, int keep)
{
	struct input in;
	uint8_t *copy;

	if (read_input(path, &in) == -1)
		return -1;
	/* an exact-size copy, so a read past the end is seen by ASan */
	copy = malloc(in.len ? in.len : 1);
	memcpy(copy, in.p, in.len);
	run_one(copy, in.len);
	free(copy);
	if (keep && nseeds < MAX_SEEDS)
		seeds[nseeds++] = in;
	else
		free(in.p);
	return 0;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (the same run everywhere). */
static int
run_dir(const char *dir, int keep, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		free(names[i]);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		if (run_file(path, keep) == -1)
			rc = -1;
		else
			(*count)++;
	}
	free(names);
	return rc;
}

/* ---- the mutation loop: xorshift64*, fixed seed ---- */

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(void)
{
	return fuzz_rnd(&rng);
}

static size_t
below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* A few edits of the kinds that break decoders: bits, edge bytes, cuts,
 * insertions, copies of a slice, a splice with another seed. */
static size_t
mutate(uint8_t *p, size_t len, size_t cap)
{
	static const uint8_t edge[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, '"', '\\', ':', '\r',
		'\n', '-', '{', '[', '0', '%' };

	for (size_t k = 1 + below(4); k > 0; k--) {
		size_t at = below(len + 1), n;

		switch (below(8)) {
		case 0:
			if (len > 0)
				p[below(len)] ^= (uint8_t)(1u << below(8));
			break;
		case 1:
			if (len > 0)
				p[below(len)] = edge[below(sizeof(edge))];
			break;
		case 2:
			if (len > 0)
				p[below(len)] = (uint8_t)rnd();
			break;
		case 3: /* cut the end */
			len = at;
			break;
		case 4: /* insert one byte */
			if (len < cap) {
				memmove(p + at + 1, p + at, len - at);
				p[at] = edge[below(sizeof(edge))];
				len++;
			}
			break;
		case 5: /* delete a slice */
			if (at < len) {
				n = below(len - at + 1);
				memmove(p + at, p + at + n, len - at - n);
				len -= n;
			}
			break;
		case 6: /* repeat a slice */
			if (len > 0 && at < len) {
				n = 1 + below(len - at < 64 ? len - at : 64);
				if (len + n <= cap) {
					memmove(p + at + n, p + at, len - at);
					len += n;
				}
			}
			break;
		default: { /* splice another seed in */
			const struct input *o = &seeds[below(nseeds)];
			size_t from = below(o->len + 1);

			n = below(o->len - from + 1);
			if (at + n > cap)
				n = cap - at;
			memcpy(p + at, o->p + from, n);
			if (at + n > len)
				len = at + n;
			break;
		}
		}
	}
	return len;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long
mutation_loop(unsigned long iterations, double seconds)
{
	double start = now_s();
	size_t cap = 64 * 1024;
	unsigned long it;

	for (it = 0; it < iterations; it++) {
		const struct input *s = &seeds[below(nseeds)];
		size_t len = s->len < cap ? s->len : cap;
		uint8_t *work = malloc(cap), *exact;

		memcpy(work, s->p, len);
		len = mutate(work, len, cap);
		exact = malloc(len ? len : 1);
		memcpy(exact, work, len);
		free(work);
		run_one(exact, len);
		free(exact);
		if ((it & 63) == 63 && now_s() - start > seconds)
			break;
	}
	return it;
}

static unsigned long
env_num(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? strtoul(v, NULL, 10) : dflt;
}

int
main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/'), *top = getenv("top_srcdir");
	char dir[4096];
	size_t count = 0;
	unsigned long done;
	double t0 = now_s();

	signal(SIGABRT, on_abort);
	base = base != NULL ? base + 1 : argv[0];
	prog = base;
	if (argc > 1) {
		int rc = 0;

		for (int i = 1; i < argc; i++) {
			struct stat st;

			if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
				rc |= run_dir(argv[i], 0, &count) == -1;
			else if (run_file(argv[i], 0) == -1)
				rc = 1;
			else
				count++;
		}
		printf("%s: %zu inputs, no invariant broken\n", prog, count);
		return rc;
	}
	if (strncmp(base, "fuzz_", 5) == 0)
		base += 5;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top != NULL ? top : ".", base);
	if (run_dir(dir, 1, &count) == -1 || count == 0) {
		fprintf(stderr, "%s: no seed corpus in %s\n", prog, dir);
		return 1;
	}
	done = mutation_loop(env_num("FUZZ_MUTATIONS", 20000), (double)env_num("FUZZ_SECONDS", 4));
	printf("%s: %zu seeds of %s and %lu mutations in %.1f s, no invariant broken\n", prog,
	    count, dir, done, now_s() - t0);
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].p);
	return 0;
}
