/*
 * agent: tokiame's one loop.
 *
 * The loop is one poll() over our own descriptors (the signal self-pipe,
 * the link sockets, the local API) and curl's sockets, which curl_socks.c
 * mirrors for curl_multi_socket_action(). The set is small (a few links, at
 * most 32 API connections, transfers bounded by the backends'
 * concurrency), so poll() is enough; socket_action rather than
 * curl_multi_poll + curl_multi_perform because curl then knows which way
 * each socket is ready and does not poll it again (measured: about three
 * fewer system calls per task).
 *
 * Each turn: timers (discovery, link, tasks, API), flush the link, poll,
 * then signals, link input, API, curl progress and finished transfers.
 * See agent_priv.h for what callbacks may do inside that turn.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "agent.h"
#include "agent_priv.h"
#include "api.h"
#include "backend.h"
#include "discover.h"
#include "hostport.h"
#include "link.h"
#include "load_probe.h"
#include "links.h"
#include "log.h"
#include "task.h"
#include "xmalloc.h"

#define LOOP_MAX_WAIT_MS 1000
#define NFDS (2 + TM_MAX_SERVERS + API_MAX_CONNS)

static int sig_fds[2] = { -1, -1 };

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;

	if (write(sig_fds[1], &c, 1) < 0) {
		/* the pipe is full: that signal is already pending */
	}
	errno = saved;
}

static int
setup_signals(void)
{
	struct sigaction sa;
	static const int sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGHUP };

	if (pipe2(sig_fds, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

static void
restore_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	close(sig_fds[0]);
	close(sig_fds[1]);
	sig_fds[0] = sig_fds[1] = -1;
}

/* "<hostname>-<6 hex>": stable for this run, so a relink is recognisably
 * the same agent, distinct from replicas on the same host. */
static void
make_agent_id(char *out, size_t len)
{
	char host[64];
	unsigned char r[3] = { 0, 0, 0 };

	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		snprintf(host, sizeof(host), "tokiame");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	if (RAND_bytes(r, sizeof(r)) != 1) {
		unsigned v = (unsigned)getpid() ^ (unsigned)time(NULL);
		r[0] = (unsigned char)v;
		r[1] = (unsigned char)(v >> 8);
		r[2] = (unsigned char)(v >> 16);
	}
	snprintf(out, len, "%s-%02x%02x%02x", host, r[0], r[1], r[2]);
}

/* Returns 1 to leave the loop at once (SIGINT, SIGQUIT). */
static int
handle_signals(struct agent *ag)
{
	unsigned char sigs[16];
	ssize_t n;
	int fast = 0;

	while ((n = read(sig_fds[0], sigs, sizeof(sigs))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			switch (sigs[i]) {
			case SIGTERM:
				if (ag->stopping)
					break;
				ag->stopping = 1;
				ag->stop_deadline_ms = now_ms() + ag->conf->shutdown_timeout_ms;
				log_info("SIGTERM: saying Goodbye on %zu link%s, taking no new tasks; "
				    "waiting up to %u ms for %u task%s in flight", ag->nlinks,
				    ag->nlinks == 1 ? "" : "s", ag->conf->shutdown_timeout_ms, ag->ntasks,
				    ag->ntasks == 1 ? "" : "s");
				links_goodbye(ag, "tokiame is stopping");
				break;
			case SIGINT:
			case SIGQUIT:
				log_info("%s: stopping now", sigs[i] == SIGINT ? "SIGINT" : "SIGQUIT");
				fast = 1;
				break;
			case SIGUSR1:
				log_reopen();
				log_info("SIGUSR1: log file reopened");
				break;
			case SIGHUP:
				log_info("SIGHUP ignored: restart tokiame to apply a new configuration");
				break;
			}
		}
	}
	return fast;
}

/* Hand finished transfers to their owners. */
static void
curl_done(struct agent *ag)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(ag->multi, &left)) != NULL) {
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		struct curl_owner *owner = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg dies with the handle: copy first */
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&owner);
		if (owner == NULL)
			continue;
		if (owner->kind == OWNER_TASK)
			task_curl_done((struct task *)owner, rc);
		else if (owner->kind == OWNER_LOAD_PROBE)
			load_probe_done((struct load_state *)owner, rc);
		else
			discover_done((struct discovery *)owner, rc);
	}
}

static short
to_poll(short curl_events)
{
	return (short)(((curl_events & CURL_WAIT_POLLIN) ? POLLIN : 0) |
	    ((curl_events & CURL_WAIT_POLLPRI) ? POLLPRI : 0) |
	    ((curl_events & CURL_WAIT_POLLOUT) ? POLLOUT : 0));
}

static short
from_poll(short revents)
{
	/* hang-ups and errors read as readable: the owner's read finds out */
	return (short)(((revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) ? CURL_WAIT_POLLIN : 0) |
	    ((revents & POLLPRI) ? CURL_WAIT_POLLPRI : 0) |
	    ((revents & POLLOUT) ? CURL_WAIT_POLLOUT : 0));
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Graceful stop: wait for the tasks, cut them at the deadline, close the
 * links. Returns 1 when everything is closed. */
static int
stop_progress(struct agent *ag, uint64_t now, uint64_t *next)
{
	static int cut;

	if (ag->ntasks > 0 && now < ag->stop_deadline_ms) {
		*next = min64(*next, ag->stop_deadline_ms);
		return 0;
	}
	if (ag->ntasks > 0 && !cut) {
		task_cancel_all(ag, "shutdown_timeout reached");
		cut = 1;
	}
	*next = min64(*next, now + 10);
	return links_close(ag, "stopping");
}

static void
loop(struct agent *ag)
{
	struct curl_waitfd fds[NFDS];
	struct pollfd *pfds = NULL;
	size_t pcap = 0;

	for (;;) {
		uint64_t now = now_ms(), next = UINT64_MAX;
		size_t n = 0, ncurl, nlinkfds, link_of[TM_MAX_SERVERS], api_idx;
		int timeout;

		next = min64(next, discover_tick(ag, now));
		next = min64(next, load_probe_tick(ag, now));
		next = min64(next, links_tick(ag, now));
		next = min64(next, task_tick(ag, now));
		links_flush(ag);
		next = min64(next, api_tick(&ag->api, now));
		next = min64(next, curl_socks_deadline(&ag->cs));
		if (ag->stopping && stop_progress(ag, now, &next)) {
			links_flush(ag);
			break;
		}

		fds[n].fd = sig_fds[0];
		fds[n].events = CURL_WAIT_POLLIN;
		fds[n].revents = 0;
		n++;
		nlinkfds = links_pollfds(ag, fds + n, link_of, TM_MAX_SERVERS);
		n += nlinkfds;
		api_idx = n;
		n += api_pollfds(&ag->api, fds + n, NFDS - n);

		if (pcap < n + ag->cs.n) {
			pcap = n + ag->cs.n + 16;
			pfds = xrealloc(pfds, pcap * sizeof(*pfds));
		}
		for (size_t i = 0; i < n; i++) {
			pfds[i].fd = fds[i].fd;
			pfds[i].events = to_poll(fds[i].events);
			pfds[i].revents = 0;
		}
		ncurl = curl_socks_pollfds(&ag->cs, pfds + n);

		now = now_ms();
		if (links_read_more(ag) || task_want_run(ag) || next <= now)
			timeout = 0;
		else
			timeout = (int)min64(next - now, LOOP_MAX_WAIT_MS);
		log_flush(); /* the lines of this turn, in one write */
		if (poll(pfds, (nfds_t)(n + ncurl), timeout) == -1) {
			if (errno != EINTR) {
				/* not a peer's doing: say so, and do not spin */
				log_warn("poll");
				usleep(10000);
			}
			continue;
		}
		for (size_t i = 0; i < n; i++)
			fds[i].revents = from_poll(pfds[i].revents);

		if (fds[0].revents != 0 && handle_signals(ag))
			break;
		links_io(ag, fds + 1, link_of, nlinkfds);
		api_io(ag, fds + api_idx);
		curl_socks_dispatch(&ag->cs, pfds + n, ncurl, now_ms());
		curl_done(ag);
	}
	free(pfds);
}

int
tokiame_run(struct tm_config *conf)
{
	struct agent *ag;
	char err[512], host[256], port[8], servers[512];
	const char *api_addr = conf->api_addr != NULL ? conf->api_addr : TM_DEFAULT_API_ADDR;
	int status = 0;

	if (hostport_split(api_addr, host, sizeof(host), port, sizeof(port)) == -1) {
		log_warnx("api_addr: expected HOST:PORT, got \"%s\"", api_addr);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("cannot initialise libcurl");
		return 1;
	}
	ag = calloc(1, sizeof(*ag));
	if (ag == NULL)
		fatal("calloc");
	ag->conf = conf;
	ag->start_ms = now_ms();
	make_agent_id(ag->agent_id, sizeof(ag->agent_id));
	TAILQ_INIT(&ag->tasks);
	api_init(&ag->api);
	backends_init(ag);
	if (links_init(ag, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		status = 2;
		goto out;
	}
	if (api_open(&ag->api, api_addr, err, sizeof(err)) == -1) {
		log_warnx("local API: %s", err);
		status = 1;
		goto out;
	}
	if ((ag->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	/* the keep-alive pool: one idle connection per slot, no more, plus
	 * one per backend for discovery and one for its load probe */
	curl_multi_setopt(ag->multi, CURLMOPT_MAXCONNECTS,
	    (long)(ag->capacity + 2 * ag->nbackends));
	curl_socks_init(&ag->cs, ag->multi);
	if (setup_signals() == -1) {
		log_warn("signal pipe");
		status = 1;
		goto out;
	}
	servers[0] = '\0';
	for (size_t i = 0, len = 0; i < conf->nservers && len < sizeof(servers); i++) {
		int w = snprintf(servers + len, sizeof(servers) - len, "%s%s", i ? ", " : "",
		    conf->servers[i]);
		if (w > 0)
			len += (size_t)w;
	}
	log_info("tokiame %s: agent %s for namespace \"%s\", %s %s, %zu backend%s, "
	    "capacity %u, %zu model%s configured", PACKAGE_VERSION, ag->agent_id,
	    conf->namespace, conf->nservers == 1 ? "server" : "servers", servers,
	    ag->nbackends, ag->nbackends == 1 ? "" : "s",
	    ag->capacity, ag->nmodels, ag->nmodels == 1 ? "" : "s");
	log_set_buffered(1);
	loop(ag);
	log_set_buffered(0);
	restore_signals();
	log_info("tokiame stopped");
out:
	links_abort(ag);
	if (ag->multi != NULL)
		discover_cancel_all(ag);
	if (ag->multi != NULL)
		load_probe_free(ag);
	api_close(&ag->api);
	links_free(ag);
	backends_free(ag);
	if (ag->multi != NULL)
		curl_multi_cleanup(ag->multi);
	curl_socks_free(&ag->cs);
	free(ag);
	curl_global_cleanup();
	return status;
}
