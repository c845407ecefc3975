/* discover: see discover.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "backend.h"
#include "buf.h"
#include "discover.h"
#include "discover_parse.h"
#include "log.h"
#include "xmalloc.h"

#define DISCOVER_MAX_BODY (4 * 1024 * 1024)
#define DISCOVER_TIMEOUT_MS 10000
#define DISCOVER_CONNECT_TIMEOUT_MS 3000

struct discovery {
	struct curl_owner owner;    /* first: CURLOPT_PRIVATE points here */
	struct agent *ag;
	struct backend *b;
	CURL *easy;
	struct curl_slist *hdrs;
	struct buf body;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
	struct discovery *d = ud;

	if (buf_append(&d->body, p, size * n) == -1) {
		snprintf(d->errbuf, sizeof(d->errbuf), "the model list is larger than %d bytes",
		    DISCOVER_MAX_BODY);
		return 0; /* abort the transfer */
	}
	return size * n;
}

static void
start(struct agent *ag, struct backend *b)
{
	struct discovery *d = xcalloc(1, sizeof(*d));
	char *url = backend_url(b->conf->url, "/v1/models");

	d->owner.kind = OWNER_DISCOVERY;
	d->ag = ag;
	d->b = b;
	buf_init(&d->body, DISCOVER_MAX_BODY);
	d->easy = backend_side_get(b, url, "Accept: application/json", on_body, d, &d->owner,
	    d->errbuf, DISCOVER_TIMEOUT_MS, DISCOVER_CONNECT_TIMEOUT_MS, &d->hdrs);
	free(url);
	if (curl_multi_add_handle(ag->multi, d->easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
	b->disc = d;
}

static void
finish(struct discovery *d)
{
	curl_multi_remove_handle(d->ag->multi, d->easy);
	curl_easy_cleanup(d->easy);
	curl_slist_free_all(d->hdrs);
	buf_free(&d->body);
	d->b->disc = NULL;
	free(d);
}

/* The ids of an OpenAI model list, sorted and unique. -1 with why. */
static int
parse_list(struct discovery *d, char ***ids, size_t *nids, char *why, size_t whylen)
{
	if (buf_append(&d->body, "", 1) == -1) {
		snprintf(why, whylen, "the model list is too large");
		return -1;
	}
	return discover_parse_models((const char *)buf_head(&d->body), d->body.len - 1, ids, nids,
	    why, whylen);
}

static int
same_list(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

void
discover_done(struct discovery *d, CURLcode rc)
{
	struct agent *ag = d->ag;
	struct backend *b = d->b;
	uint32_t interval = b->dretry.max_ms;
	uint32_t delay;
	char why[256];
	char **ids = NULL;
	size_t nids = 0;
	long status = 0;

	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "GET models: %.200s", d->errbuf[0] ? d->errbuf
		    : curl_easy_strerror(rc));
	else if (status != 200)
		snprintf(why, sizeof(why), "GET models: HTTP status %ld", status);
	else if (parse_list(d, &ids, &nids, why, sizeof(why)) == 0)
		why[0] = '\0';

	if (why[0] != '\0') {
		if (b->dstate != DISC_FAILING)
			log_warnx("backend %s: model discovery fails: %s; keeping the last known "
			    "list (%zu model%s) and retrying in %u ms, backing off to every %u ms",
			    b->name, why, b->ndiscovered, b->ndiscovered == 1 ? "" : "s",
			    DISCOVER_RETRY_INITIAL_MS, interval);
		snprintf(b->derror, sizeof(b->derror), "%s", why);
		b->dstate = DISC_FAILING;
	} else {
		int changed = !same_list(ids, nids, b->discovered, b->ndiscovered);
		if (b->dstate == DISC_FAILING)
			log_info("backend %s: model discovery works again: %zu model%s", b->name,
			    nids, nids == 1 ? "" : "s");
		else if (b->dstate == DISC_PENDING || changed)
			log_info("backend %s: discovered %zu model%s", b->name, nids,
			    nids == 1 ? "" : "s");
		for (size_t i = 0; i < b->ndiscovered; i++)
			free(b->discovered[i]);
		free(b->discovered);
		b->discovered = ids;
		b->ndiscovered = nids;
		b->derror[0] = '\0';
		b->dstate = DISC_OK;
		if (changed)
			models_rebuild(ag);
	}
	/* Nothing known yet (down, or up with an empty list): ask again soon. */
	if (why[0] != '\0' || b->ndiscovered == 0)
		delay = backoff_next(&b->dretry);
	else {
		backoff_reset(&b->dretry);
		delay = interval;
	}
	b->next_discover_ms = now_ms() + delay;
	finish(d);
}

uint64_t
discover_tick(struct agent *ag, uint64_t now)
{
	uint64_t next = UINT64_MAX;
	int pending = 0;

	for (size_t i = 0; i < ag->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		if (!b->conf->discover)
			continue;
		if (b->dstate == DISC_PENDING)
			pending = 1;
		if (b->disc != NULL || ag->stopping)
			continue;
		if (now >= b->next_discover_ms)
			start(ag, b);
		else if (b->next_discover_ms < next)
			next = b->next_discover_ms;
	}
	if (!ag->first_discovery_done) {
		if (!pending || now >= ag->start_ms + DISCOVER_FIRST_WAIT_MS)
			ag->first_discovery_done = 1;
		else if (ag->start_ms + DISCOVER_FIRST_WAIT_MS < next)
			next = ag->start_ms + DISCOVER_FIRST_WAIT_MS;
	}
	return next;
}

void
discover_cancel_all(struct agent *ag)
{
	for (size_t i = 0; i < ag->nbackends; i++)
		if (ag->backends[i].disc != NULL)
			finish(ag->backends[i].disc);
}
