/* curl_socks: see curl_socks.h. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "agent_priv.h"
#include "curl_socks.h"
#include "log.h"
#include "xmalloc.h"

static ssize_t
find(const struct curl_socks *cs, curl_socket_t fd)
{
	for (size_t i = 0; i < cs->n; i++)
		if (cs->v[i].fd == fd)
			return (ssize_t)i;
	return -1;
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct curl_socks *cs = userp;
	ssize_t i = find(cs, fd);

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		if (i >= 0)
			cs->v[i] = cs->v[--cs->n];
		return 0;
	}
	if (i < 0) {
		if (cs->n == cs->cap) {
			cs->cap = cs->cap ? cs->cap * 2 : 16;
			cs->v = xrealloc(cs->v, cs->cap * sizeof(*cs->v));
		}
		i = (ssize_t)cs->n++;
		cs->v[i].fd = fd;
	}
	cs->v[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) |
	    ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

static int
on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct curl_socks *cs = userp;

	(void)multi;
	cs->deadline_ms = timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
	return 0;
}

void
curl_socks_init(struct curl_socks *cs, CURLM *multi)
{
	memset(cs, 0, sizeof(*cs));
	cs->multi = multi;
	cs->deadline_ms = UINT64_MAX;
	curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, cs);
	curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(multi, CURLMOPT_TIMERDATA, cs);
}

void
curl_socks_free(struct curl_socks *cs)
{
	while (cs->nspare > 0)
		curl_easy_cleanup(cs->spare[--cs->nspare]);
	free(cs->v);
	cs->v = NULL;
	cs->n = cs->cap = 0;
}

size_t
curl_socks_pollfds(const struct curl_socks *cs, struct pollfd *out)
{
	for (size_t i = 0; i < cs->n; i++) {
		out[i].fd = cs->v[i].fd;
		out[i].events = cs->v[i].events;
		out[i].revents = 0;
	}
	return cs->n;
}

uint64_t
curl_socks_deadline(const struct curl_socks *cs)
{
	return cs->deadline_ms;
}

static void
run(struct curl_socks *cs, curl_socket_t fd, int mask)
{
	int running;
	CURLMcode mc = curl_multi_socket_action(cs->multi, fd, mask, &running);

	if (mc != CURLM_OK)
		log_warnx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
}

void
curl_socks_kick(struct curl_socks *cs)
{
	cs->deadline_ms = UINT64_MAX;
	run(cs, CURL_SOCKET_TIMEOUT, 0);
}

void
curl_socks_dispatch(struct curl_socks *cs, const struct pollfd *pfds, size_t n, uint64_t now)
{
	/* pfds is our copy from before poll(): curl may add or drop sockets
	 * while we call it, which is fine for entries already taken */
	for (size_t i = 0; i < n; i++) {
		int mask = 0;

		if (pfds[i].revents == 0)
			continue;
		if (pfds[i].revents & (POLLIN | POLLHUP))
			mask |= CURL_CSELECT_IN;
		if (pfds[i].revents & POLLOUT)
			mask |= CURL_CSELECT_OUT;
		if (pfds[i].revents & (POLLERR | POLLNVAL))
			mask |= CURL_CSELECT_ERR;
		run(cs, pfds[i].fd, mask);
	}
	if (cs->deadline_ms <= now)
		curl_socks_kick(cs);
}

CURL *
curl_socks_easy(struct curl_socks *cs)
{
	CURL *easy;

	if (cs->nspare > 0)
		return cs->spare[--cs->nspare];
	if ((easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	return easy;
}

void
curl_socks_easy_done(struct curl_socks *cs, CURL *easy)
{
	if (cs->nspare == CURL_SOCKS_SPARE_EASY) {
		curl_easy_cleanup(easy);
		return;
	}
	curl_easy_reset(easy);
	cs->spare[cs->nspare++] = easy;
}
