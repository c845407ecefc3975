/* api: see api.h. */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include <yajl/yajl_gen.h>

#include "agent_priv.h"
#include "api.h"
#include "backend.h"
#include "hostport.h"
#include "load_probe.h"
#include "log.h"
#include "xmalloc.h"

#define API_MAX_RESPONSE (4 * 1024 * 1024)

void
api_init(struct api *api)
{
	api->fd = -1;
	api->polled = -1;
	TAILQ_INIT(&api->conns);
	api->nconns = 0;
}

int
api_open(struct api *api, const char *addr, char *err, size_t errlen)
{
	char host[256], port[8];
	struct addrinfo hints, *res, *ai;
	int rc, fd = -1, one = 1, saved = 0;

	if (hostport_split(addr, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "api_addr: expected HOST:PORT, got \"%s\"", addr);
		return -1;
	}
	/* "localhost" may resolve to ::1 first; the documented default is 127.0.0.1 */
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "api_addr %s: %s", addr, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "api_addr %s: %s", addr, strerror(saved));
		return -1;
	}
	api->fd = fd;
	log_info("local API on http://%s/ (GET /healthz, GET /status)", addr);
	return 0;
}

static void
conn_close(struct api *api, struct api_conn *c)
{
	TAILQ_REMOVE(&api->conns, c, entry);
	api->nconns--;
	close(c->fd);
	buf_free(&c->out);
	free(c);
}

size_t
api_pollfds(struct api *api, struct curl_waitfd *fds, size_t max)
{
	struct api_conn *c;
	size_t n = 0;

	api->polled = -1;
	if (api->fd != -1 && n < max && api->nconns < API_MAX_CONNS) {
		fds[n].fd = api->fd;
		fds[n].events = CURL_WAIT_POLLIN;
		fds[n].revents = 0;
		api->polled = (int)n++;
	}
	TAILQ_FOREACH(c, &api->conns, entry) {
		c->polled = -1;
		if (n >= max)
			continue;
		fds[n].fd = c->fd;
		fds[n].events = c->responding ? CURL_WAIT_POLLOUT : CURL_WAIT_POLLIN;
		fds[n].revents = 0;
		c->polled = (int)n++;
	}
	return n;
}

/* ---- answers ------------------------------------------------------------ */

#define GS(g, s) yajl_gen_string((g), (const unsigned char *)(s), strlen(s))

static void
gen_kv_str(yajl_gen g, const char *k, const char *v)
{
	GS(g, k);
	if (v == NULL)
		yajl_gen_null(g);
	else
		GS(g, v);
}

static void
gen_kv_int(yajl_gen g, const char *k, long long v)
{
	GS(g, k);
	yajl_gen_integer(g, v);
}

static void
gen_kv_bool(yajl_gen g, const char *k, int v)
{
	GS(g, k);
	yajl_gen_bool(g, v);
}

/* A link that may be given tasks now. */
static int
link_serving(const struct link *l)
{
	return l->state == LINK_REGISTERED && !l->draining && !l->closing;
}

/* The furthest state any link reached: what "link" says with several. */
static const struct link *
best_link(const struct agent *ag)
{
	const struct link *best = &ag->links[0];

	for (size_t i = 1; i < ag->nlinks; i++)
		if (link_serving(&ag->links[i]) > link_serving(best) ||
		    (link_serving(&ag->links[i]) == link_serving(best) &&
		    ag->links[i].state > best->state))
			best = &ag->links[i];
	return best;
}

static const char *
health_word(const struct agent *ag)
{
	const struct link *l = best_link(ag);

	if (ag->stopping)
		return "stopping";
	if (l->draining || l->closing)
		return "draining";
	return link_state_name(l->state);
}

/* Healthy while at least one link serves: the others may be away. */
static int
healthy(const struct agent *ag)
{
	return !ag->stopping && link_serving(best_link(ag));
}

static void
gen_health(yajl_gen g, const struct agent *ag)
{
	yajl_gen_map_open(g);
	gen_kv_str(g, "status", healthy(ag) ? "ok" : health_word(ag));
	yajl_gen_map_close(g);
}

static const char *
discovery_word(const struct backend *b)
{
	switch (b->dstate) {
	case DISC_NONE: return "off";
	case DISC_PENDING: return "pending";
	case DISC_OK: return "ok";
	case DISC_FAILING: return "failing";
	}
	return "?";
}

/* "load": the backend's own figures as the probe last read them (issue 15) */
static void
gen_load(yajl_gen g, const struct backend *b)
{
	struct load_view v;

	load_probe_view(b, now_ms(), &v);
	GS(g, "load");
	yajl_gen_map_open(g);
	gen_kv_str(g, "from", v.from);
	gen_kv_str(g, "kind", v.kind);
	gen_kv_bool(g, "known", v.known);
	if (v.known) {
		gen_kv_int(g, "waiting", v.waiting);
		gen_kv_int(g, "running", v.running);
		gen_kv_int(g, "kv_permille", v.kv_permille);
	}
	yajl_gen_map_close(g);
}

static void
gen_link(yajl_gen g, const struct link *l)
{
	yajl_gen_map_open(g);
	gen_kv_str(g, "server", l->server);
	gen_kv_str(g, "state", link_state_name(l->state));
	gen_kv_bool(g, "draining", l->draining || l->closing);
	gen_kv_str(g, "node", l->state == LINK_REGISTERED ? l->node : NULL);
	gen_kv_int(g, "tasks", l->ntasks);
	gen_kv_int(g, "reconnects", l->reconnects);
	gen_kv_int(g, "link_attempts", l->attempts);
	gen_kv_str(g, "last_error", l->last_error[0] ? l->last_error : NULL);
	yajl_gen_map_close(g);
}

/* The top-level link fields describe the best link (the only one with a
 * single server, as before); "links" lists each. */
static void
gen_status(yajl_gen g, const struct agent *ag)
{
	const struct link *l = best_link(ag);
	long long reconnects = 0, attempts = 0;
	const char *last_error = NULL;

	for (size_t i = 0; i < ag->nlinks; i++) {
		reconnects += ag->links[i].reconnects;
		attempts += ag->links[i].attempts;
		if (ag->links[i].last_error[0] != '\0' && (last_error == NULL || &ag->links[i] == l))
			last_error = ag->links[i].last_error;
	}
	yajl_gen_map_open(g);
	gen_kv_str(g, "link", link_state_name(l->state));
	gen_kv_bool(g, "healthy", healthy(ag));
	gen_kv_bool(g, "draining", l->draining || l->closing);
	gen_kv_bool(g, "stopping", ag->stopping);
	gen_kv_str(g, "server", l->server);
	gen_kv_str(g, "namespace", ag->conf->namespace);
	gen_kv_str(g, "agent_id", ag->agent_id);
	gen_kv_str(g, "node", l->state == LINK_REGISTERED ? l->node : NULL);
	gen_kv_str(g, "version", PACKAGE_VERSION);
	GS(g, "links");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < ag->nlinks; i++)
		gen_link(g, &ag->links[i]);
	yajl_gen_array_close(g);
	GS(g, "models");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < ag->nmodels; i++) {
		yajl_gen_map_open(g);
		gen_kv_str(g, "id", ag->models[i].id);
		gen_kv_str(g, "kind", model_kind_name(ag->models[i].kind));
		gen_kv_str(g, "backend", backend_name(ag->models[i].be));
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	GS(g, "backends");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < ag->nbackends; i++) {
		const struct backend *b = &ag->backends[i];
		yajl_gen_map_open(g);
		gen_kv_str(g, "name", b->name);
		gen_kv_int(g, "concurrency", b->conf->concurrency);
		gen_kv_int(g, "running", b->running);
		gen_kv_int(g, "queued", b->nqueued);
		gen_kv_str(g, "discovery", discovery_word(b));
		gen_kv_str(g, "discovery_error", b->dstate == DISC_FAILING ? b->derror : NULL);
		gen_load(g, b);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	gen_kv_int(g, "in_flight", ag->in_flight);
	gen_kv_int(g, "capacity", ag->capacity);
	gen_kv_int(g, "tasks", ag->ntasks);
	gen_kv_int(g, "reconnects", reconnects);
	gen_kv_int(g, "link_attempts", attempts);
	gen_kv_str(g, "last_error", last_error);
	yajl_gen_map_close(g);
}

static void
gen_error(yajl_gen g, const char *message, const char *type, const char *code)
{
	yajl_gen_map_open(g);
	GS(g, "error");
	yajl_gen_map_open(g);
	gen_kv_str(g, "message", message);
	gen_kv_str(g, "type", type);
	gen_kv_str(g, "param", NULL);
	gen_kv_str(g, "code", code);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
}

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static void
respond(struct api_conn *c, int status, yajl_gen g, int head_only)
{
	const unsigned char *body;
	size_t len;
	char hdr[256];
	int n;

	yajl_gen_get_buf(g, &body, &len);
	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n%s\r\n",
	    status, reason(status), len + 1, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	buf_init(&c->out, API_MAX_RESPONSE);
	if (buf_append(&c->out, hdr, (size_t)n) == -1 ||
	    (!head_only && (buf_append(&c->out, body, len) == -1 ||
	    buf_append(&c->out, "\n", 1) == -1)))
		buf_reset(&c->out); /* cannot happen below the bound; close without an answer */
	c->responding = 1;
	yajl_gen_free(g);
}

static void
handle_request(struct agent *ag, struct api_conn *c, int complete)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	char *sp1, *sp2, *q;
	int head;

	if (g == NULL)
		fatalx("yajl_gen_alloc: out of memory");
	if (!complete) {
		gen_error(g, "request head too large", "invalid_request_error", "bad_request");
		respond(c, 431, g, 0);
		return;
	}
	c->in[c->inlen < sizeof(c->in) ? c->inlen : sizeof(c->in) - 1] = '\0';
	c->in[strcspn(c->in, "\r\n")] = '\0';
	if ((sp1 = strchr(c->in, ' ')) == NULL || (sp2 = strchr(sp1 + 1, ' ')) == NULL ||
	    strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		gen_error(g, "malformed request line", "invalid_request_error", "bad_request");
		respond(c, 400, g, 0);
		return;
	}
	*sp1 = *sp2 = '\0';
	if ((q = strchr(sp1 + 1, '?')) != NULL)
		*q = '\0';
	head = strcmp(c->in, "HEAD") == 0;
	if (!head && strcmp(c->in, "GET") != 0) {
		gen_error(g, "only GET and HEAD are allowed", "invalid_request_error",
		    "method_not_allowed");
		respond(c, 405, g, 0);
	} else if (strcmp(sp1 + 1, "/healthz") == 0) {
		gen_health(g, ag);
		respond(c, healthy(ag) ? 200 : 503, g, head);
	} else if (strcmp(sp1 + 1, "/status") == 0) {
		gen_status(g, ag);
		respond(c, 200, g, head);
	} else {
		gen_error(g, "no such endpoint: try /healthz or /status", "invalid_request_error",
		    "not_found");
		respond(c, 404, g, head);
	}
}

static int
head_complete(const struct api_conn *c)
{
	for (size_t i = 0; i + 1 < c->inlen; i++) {
		if (c->in[i] == '\n' && c->in[i + 1] == '\n')
			return 1;
		if (i + 3 < c->inlen && memcmp(c->in + i, "\r\n\r\n", 4) == 0)
			return 1;
	}
	return 0;
}

static void
accept_conns(struct api *api)
{
	while (api->nconns < API_MAX_CONNS) {
		int fd = accept4(api->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct api_conn *c;
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("local API: accept");
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		c->polled = -1;
		c->deadline_ms = now_ms() + API_TIMEOUT_MS;
		TAILQ_INSERT_TAIL(&api->conns, c, entry);
		api->nconns++;
	}
}

static void
conn_io(struct agent *ag, struct api_conn *c, short revents)
{
	struct api *api = &ag->api;
	ssize_t n;

	if (!c->responding) {
		if ((revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) == 0)
			return;
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_close(api, c);
			return;
		}
		if (n < 0)
			return;
		c->inlen += (size_t)n;
		if (head_complete(c))
			handle_request(ag, c, 1);
		else if (c->inlen >= sizeof(c->in) - 1)
			handle_request(ag, c, 0);
		else
			return;
	}
	while (c->out.len > 0) {
		n = send(c->fd, buf_head(&c->out), c->out.len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		buf_consume(&c->out, (size_t)n);
	}
	conn_close(api, c);
}

void
api_io(struct agent *ag, const struct curl_waitfd *fds)
{
	struct api *api = &ag->api;
	struct api_conn *c, *next;

	for (c = TAILQ_FIRST(&api->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->polled >= 0 && fds[c->polled].revents != 0)
			conn_io(ag, c, fds[c->polled].revents);
	}
	if (api->polled >= 0 && fds[api->polled].revents != 0)
		accept_conns(api);
}

uint64_t
api_tick(struct api *api, uint64_t now)
{
	struct api_conn *c, *next;
	uint64_t t = UINT64_MAX;

	for (c = TAILQ_FIRST(&api->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (now >= c->deadline_ms)
			conn_close(api, c);
		else if (c->deadline_ms < t)
			t = c->deadline_ms;
	}
	return t;
}

void
api_close(struct api *api)
{
	while (!TAILQ_EMPTY(&api->conns))
		conn_close(api, TAILQ_FIRST(&api->conns));
	if (api->fd != -1)
		close(api->fd);
	api->fd = -1;
}
