/* links: see links.h. */
#include "config.h"

#include <stdlib.h>

#include "agent_priv.h"
#include "link.h"
#include "links.h"
#include "xmalloc.h"

int
links_init(struct agent *ag, char *err, size_t errlen)
{
	ag->links = xcalloc(ag->conf->nservers, sizeof(*ag->links));
	for (size_t i = 0; i < ag->conf->nservers; i++) {
		/* counted first: links_free frees what link_init set up */
		ag->nlinks++;
		if (link_init(&ag->links[i], ag, ag->conf->servers[i], err, errlen) == -1)
			return -1;
	}
	return 0;
}

void
links_free(struct agent *ag)
{
	for (size_t i = 0; i < ag->nlinks; i++)
		link_free(&ag->links[i]);
	free(ag->links);
	ag->links = NULL;
	ag->nlinks = 0;
}

uint64_t
links_tick(struct agent *ag, uint64_t now)
{
	uint64_t next = UINT64_MAX, t;

	for (size_t i = 0; i < ag->nlinks; i++) {
		if ((t = link_tick(&ag->links[i], now)) < next)
			next = t;
		link_flush(&ag->links[i]);
	}
	return next;
}

void
links_flush(struct agent *ag)
{
	for (size_t i = 0; i < ag->nlinks; i++)
		link_flush(&ag->links[i]);
}

size_t
links_pollfds(struct agent *ag, struct curl_waitfd *fds, size_t *idx, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < ag->nlinks && n < max; i++)
		if (link_pollfd(&ag->links[i], &fds[n]))
			idx[n++] = i;
	return n;
}

void
links_io(struct agent *ag, const struct curl_waitfd *fds, const size_t *idx, size_t n)
{
	/* read_more is only set while the session is up, so with an fd */
	for (size_t k = 0; k < n; k++) {
		struct link *l = &ag->links[idx[k]];
		if (fds[k].revents != 0 || l->read_more)
			link_io(l, fds[k].revents);
	}
}

int
links_read_more(const struct agent *ag)
{
	for (size_t i = 0; i < ag->nlinks; i++)
		if (ag->links[i].read_more)
			return 1;
	return 0;
}

uint32_t
links_registered(const struct agent *ag)
{
	uint32_t n = 0;

	for (size_t i = 0; i < ag->nlinks; i++)
		if (ag->links[i].state == LINK_REGISTERED)
			n++;
	return n;
}

void
links_goodbye(struct agent *ag, const char *reason)
{
	for (size_t i = 0; i < ag->nlinks; i++)
		link_goodbye(&ag->links[i], reason);
}

int
links_close(struct agent *ag, const char *why)
{
	int all = 1;

	for (size_t i = 0; i < ag->nlinks; i++) {
		link_close(&ag->links[i], why);
		if (!link_is_closed(&ag->links[i]))
			all = 0;
	}
	return all;
}

void
links_abort(struct agent *ag)
{
	for (size_t i = 0; i < ag->nlinks; i++)
		link_abort(&ag->links[i]);
}
