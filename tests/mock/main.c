/*
 * tl-mock-openai: command line and start-up (see mock.h for the design,
 * usage() for the options). Prints "listening on HOST:PORT" on stdout
 * once the socket accepts connections; exits 0 on SIGTERM or SIGINT, 2
 * on a bad command line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fnv.h"
#include "log.h"
#include "mock.h"
#include "state.h"
#include "xmalloc.h"

struct mock_opts mopts = { .models = "mock", .chunks = 8, .threads = 1 };
volatile sig_atomic_t mock_quit;

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: " MOCK_PROGNAME " -l HOST:PORT [-m MODEL,...] [--chunks N] [--pause-ms MS]\n"
	    "           [--abort-log FILE] [--threads N] [--strict-models] [-v]\n"
	    "       " MOCK_PROGNAME " --fnv [FILE]   print \"<fnv1a64 hex> <length>\" of FILE or stdin\n");
}

static int
parse_uint(const char *opt, const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v > max) {
		fprintf(stderr, "%s: %s: want a number from 0 to %u, not \"%s\"\n", MOCK_PROGNAME, opt,
		    max, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* --fnv: the digest tests compare with x-mock-body-fnv and friends. */
static int
print_fnv(const char *path)
{
	unsigned char chunk[65536];
	uint64_t h = FNV1A64_INIT;
	unsigned long long len = 0;
	char hex[17];
	ssize_t n;
	int fd = 0;

	if (path != NULL && strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "%s: %s: %s\n", MOCK_PROGNAME, path, strerror(errno));
		return 1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: read: %s\n", MOCK_PROGNAME, strerror(errno));
			return 1;
		}
		h = fnv1a64_update(h, chunk, (size_t)n);
		len += (unsigned long long)n;
	}
	fnv_hex(h, hex);
	printf("%s %llu\n", hex, len);
	return 0;
}

static void
on_signal(int sig)
{
	mock_quit = 1;
}

int
main(int argc, char **argv)
{
	enum { OPT_CHUNKS = 256, OPT_PAUSE, OPT_ABORT_LOG, OPT_THREADS, OPT_STRICT, OPT_FNV };
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "models", required_argument, NULL, 'm' },
		{ "chunks", required_argument, NULL, OPT_CHUNKS },
		{ "pause-ms", required_argument, NULL, OPT_PAUSE },
		{ "abort-log", required_argument, NULL, OPT_ABORT_LOG },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "strict-models", no_argument, NULL, OPT_STRICT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "fnv", no_argument, NULL, OPT_FNV },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct mock_thread *threads; /* static: reachable at exit */
	h2o_globalconf_t *gc;
	struct sigaction sa;
	sigset_t all, old;
	char shown[80];
	int c, fd, fnv_mode = 0;

	while ((c = getopt_long(argc, argv, "l:m:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			mopts.listen = optarg;
			break;
		case 'm':
			mopts.models = optarg;
			break;
		case OPT_CHUNKS:
			if (parse_uint("--chunks", optarg, MOCK_MAX_CHUNKS, &mopts.chunks) == -1)
				return 2;
			break;
		case OPT_PAUSE:
			if (parse_uint("--pause-ms", optarg, MOCK_MAX_PAUSE_MS, &mopts.pause_ms) == -1)
				return 2;
			break;
		case OPT_ABORT_LOG:
			mopts.abort_log = optarg;
			break;
		case OPT_THREADS:
			if (parse_uint("--threads", optarg, 64, &mopts.threads) == -1 || mopts.threads == 0) {
				fprintf(stderr, "%s: --threads: 1 to 64\n", MOCK_PROGNAME);
				return 2;
			}
			break;
		case OPT_STRICT:
			mopts.strict_models = 1;
			break;
		case 'v':
			mopts.verbose = 1;
			break;
		case OPT_FNV:
			fnv_mode = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (fnv_mode) {
		if (argc - optind > 1) {
			usage(stderr);
			return 2;
		}
		return print_fnv(optind < argc ? argv[optind] : NULL);
	}
	if (optind != argc || mopts.listen == NULL) {
		usage(stderr);
		return 2;
	}

	log_init(MOCK_PROGNAME, mopts.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, 0, NULL);
	log_set_role("mock");
	signal(SIGPIPE, SIG_IGN);
	if (state_init(mopts.models, mopts.abort_log) == -1)
		return 2;
	if ((fd = mock_listen(mopts.listen, shown, sizeof(shown))) == -1)
		return 2;

	gc = mock_server_config();
	threads = xcalloc(mopts.threads, sizeof(*threads));
	for (unsigned i = 0; i < mopts.threads; i++) {
		threads[i].id = i;
		threads[i].listen_fd = fd;
		threads[i].gc = gc;
	}
	/* only the main thread takes the stop signals; the others inherit
	 * the mask (faults like SIGSEGV stay unblocked for the sanitizers) */
	sigemptyset(&all);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGINT);
	sigaddset(&all, SIGHUP);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < mopts.threads; i++) {
		pthread_t tid;

		if ((errno = pthread_create(&tid, NULL, mock_thread_main, &threads[i])) != 0)
			fatal("pthread_create");
		pthread_detach(tid);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	printf("listening on %s\n", shown);
	fflush(stdout);
	mock_thread_main(&threads[0]);
	/* exit() with the other loops still running: nothing to flush */
	exit(0);
}
