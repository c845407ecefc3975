/*
 * api: the local health and status API (-l, api_addr), a tiny HTTP/1.1
 * server inside the agent's loop.
 *
 *   GET /healthz  200 {"status":"ok"} while the link is registered (and
 *                 not draining or stopping), else 503 {"status":"<why>"}
 *   GET /status   200, JSON: link state, server, namespace, agent id,
 *                 models, backends, tasks, reconnects, last error
 *   other paths 404, other methods 405 (HEAD is GET without a body);
 *   errors are OpenAI-shaped JSON.
 *
 * One request per connection, answered and closed. Bounds: 32
 * connections, an 8 KiB request head, 5 s to send it. There is no
 * authentication: the default address is loopback ("localhost" binds
 * 127.0.0.1).
 */
#ifndef TM_API_H
#define TM_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "buf.h"

#define API_MAX_CONNS 32
#define API_MAX_REQUEST 8192
#define API_TIMEOUT_MS 5000

struct agent;

struct api_conn {
	TAILQ_ENTRY(api_conn) entry;
	int fd;
	char in[API_MAX_REQUEST];
	size_t inlen;
	struct buf out;
	int responding;
	uint64_t deadline_ms;
	int polled;                 /* index in the poll array, -1 if none */
};

struct api {
	int fd;                     /* listener, -1 when closed */
	int polled;
	TAILQ_HEAD(, api_conn) conns;
	unsigned nconns;
};

void api_init(struct api *api);
/* Bind and listen. -1 with err. */
int api_open(struct api *api, const char *addr, char *err, size_t errlen);
/* Fill poll entries from fds[0]; returns how many. */
size_t api_pollfds(struct api *api, struct curl_waitfd *fds, size_t max);
/* Handle the poll results of the entries api_pollfds filled. */
void api_io(struct agent *ag, const struct curl_waitfd *fds);
/* Timeouts; returns the next deadline. */
uint64_t api_tick(struct api *api, uint64_t now);
void api_close(struct api *api);

#endif
