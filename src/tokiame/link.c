/* link: see link.h. */
#include "config.h"

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_priv.h"
#include "backend.h"
#include "hostport.h"
#include "link.h"
#include "load_probe.h"
#include "links.h"
#include "log.h"
#include "pb_arena.h"
#include "task.h"
#include "tokilake.pb-c.h"
#include "xmalloc.h"

#define CONNECT_PATH "/tokilake.v1.AgentLink/Connect"
#define SERVE_PATH "/tokilake.v1.AgentLink/Serve"
#define HB_MIN_MS 100
#define HB_MAX_MS 3600000

static int connect_message(struct grpc_call *call, const uint8_t *msg, size_t len);
static uint32_t ping_interval(const struct link *l);
static void connect_closed(struct grpc_call *call, uint32_t error_code);

static const struct grpc_call_ops connect_ops = {
	.message = connect_message,
	.received = NULL, /* consumed at once: Connect messages are handled on arrival */
	.closed = connect_closed,
};

const char *
link_state_name(enum link_state s)
{
	switch (s) {
	case LINK_BACKOFF: return "backoff";
	case LINK_CONNECTING: return "connecting";
	case LINK_LINKED: return "linked";
	case LINK_REGISTERED: return "registered";
	}
	return "?";
}

static struct link *
link_of(struct grpc_call *call)
{
	return (struct link *)((char *)call - offsetof(struct link, connect));
}

int
link_init(struct link *l, struct agent *ag, const char *server, char *err, size_t errlen)
{
	const struct tm_config *conf = ag->conf;
	size_t n;

	memset(l, 0, sizeof(*l));
	l->ag = ag;
	l->server = server;
	tc_init(&l->tc);
	if (hostport_split(server, l->host, sizeof(l->host), l->port,
	    sizeof(l->port)) == -1 || l->host[0] == '\0') {
		snprintf(err, errlen, "server: expected HOST:PORT, got \"%s\"", server);
		return -1;
	}
	snprintf(l->verify_name, sizeof(l->verify_name), "%s",
	    conf->tls.server_name != NULL ? conf->tls.server_name : l->host);
	if (!conf->tls.plaintext && (l->ssl_ctx = tls_client_ctx(conf, err, errlen)) == NULL)
		return -1;
	if (conf->token == NULL) {
		snprintf(err, errlen, "token: not set");
		return -1;
	}
	n = strlen(conf->token) + sizeof("Bearer ");
	l->bearer = xmalloc(n);
	snprintf(l->bearer, n, "Bearer %s", conf->token);
	backoff_init(&l->bo, conf->reconnect_initial_ms, conf->reconnect_max_ms);
	l->hb_interval_ms = conf->heartbeat_interval_ms ? conf->heartbeat_interval_ms : 10000;
	l->state = LINK_BACKOFF;
	l->next_attempt_ms = 0; /* at once */
	return 0;
}

/* Free the session and the socket; the caller deals with the tasks. */
static void
teardown(struct link *l, int graceful)
{
	if (l->h2_up) {
		h2_free(&l->h2);
		l->h2_up = 0;
	}
	h2_call_free(&l->connect);
	l->connect_open = 0;
	tc_close(&l->tc, graceful);
	l->closing = 0;
	l->draining = 0;
	l->goodbye_sent = 0;
	l->read_more = 0;
}

void
link_free(struct link *l)
{
	teardown(l, 0);
	if (l->ssl_ctx != NULL)
		SSL_CTX_free(l->ssl_ctx);
	l->ssl_ctx = NULL;
	if (l->bearer != NULL) {
		secure_wipe(l->bearer, strlen(l->bearer));
		free(l->bearer);
		l->bearer = NULL;
	}
}

/* The one way down after a failure: log why, drop every task, back off. */
static void
link_down(struct link *l, const char *why)
{
	uint32_t delay;
	uint64_t now = now_ms();

	teardown(l, 0);
	task_abort_link(l, "the link to tokilake was lost");
	if (l->ns_disabled) {
		/* the operator may enable it any moment: come back soon */
		delay = backoff_next(&l->bo);
		if (delay > LINK_NS_DISABLED_RETRY_MS)
			delay = backoff_jitter(LINK_NS_DISABLED_RETRY_MS);
	} else
		delay = l->unauthenticated ? backoff_at_max(&l->bo) : backoff_next(&l->bo);
	snprintf(l->last_error, sizeof(l->last_error), "%s", why);
	l->state = LINK_BACKOFF;
	l->next_attempt_ms = now + delay;
	if (l->ag->stopping)
		log_warnx("link to %s down: %s", l->server, why);
	else
		log_warnx("link to %s down: %s; retrying in %u ms", l->server, why, delay);
}

static void
start_attempt(struct link *l, uint64_t now)
{
	const struct tm_config *conf = l->ag->conf;
	char err[512];

	l->attempts++;
	l->unauthenticated = 0;
	l->ns_disabled = 0;
	l->state = LINK_CONNECTING;
	l->setup_deadline_ms = now + LINK_SETUP_TIMEOUT_MS;
	if (conf->tls.plaintext)
		log_warnx("linking to %s over h2c WITHOUT TLS (tls.plaintext): the token and "
		    "all traffic travel in clear", l->server);
	else if (conf->tls.insecure_skip_verify)
		log_warnx("linking to %s with TLS verification DISABLED "
		    "(tls.insecure_skip_verify): the server is not authenticated and the token "
		    "goes to whoever answers", l->server);
	else
		log_info("linking to %s (verifying the certificate for \"%s\")", l->server,
		    l->verify_name);
	if (tc_start(&l->tc, l->host, l->port, l->ssl_ctx, l->verify_name,
	    conf->tls.insecure_skip_verify, err, sizeof(err)) == -1)
		link_down(l, err);
}

static void
fill_models(struct agent *ag, Tokilake__V1__Model *store, Tokilake__V1__Model **ptrs)
{
	for (size_t i = 0; i < ag->nmodels; i++) {
		tokilake__v1__model__init(&store[i]);
		store[i].id = ag->models[i].id;
		store[i].kind = (Tokilake__V1__ModelKind)ag->models[i].kind;
		store[i].backend = (char *)backend_name(ag->models[i].be);
		ptrs[i] = &store[i];
	}
}

/* Queue one AgentMessage on Connect. -1 fails the link. */
static int
send_agent_message(struct link *l, Tokilake__V1__AgentMessage *m)
{
	if (h2_call_send(&l->connect, &m->base) == -1) {
		h2_fail(&l->h2, "the server does not read the Connect call (over %d bytes queued)",
		    LINK_CONNECT_OUT_MAX);
		return -1;
	}
	return 0;
}

static int
send_register(struct link *l)
{
	struct agent *ag = l->ag;
	Tokilake__V1__AgentMessage m = TOKILAKE__V1__AGENT_MESSAGE__INIT;
	Tokilake__V1__Register reg = TOKILAKE__V1__REGISTER__INIT;
	Tokilake__V1__Model *store = xcalloc(ag->nmodels, sizeof(*store));
	Tokilake__V1__Model **ptrs = xcalloc(ag->nmodels, sizeof(*ptrs));
	int rc;

	fill_models(ag, store, ptrs);
	reg.namespace_ = ag->conf->namespace;
	reg.agent_id = ag->agent_id;
	reg.version = PACKAGE_VERSION;
	reg.n_models = ag->nmodels;
	reg.models = ptrs;
	reg.capacity = ag->capacity;
	reg.inline_body = 1; /* task.c takes TaskOffer.body */
	reg.links = (uint32_t)ag->nlinks;
	m.msg_case = TOKILAKE__V1__AGENT_MESSAGE__MSG_REGISTER;
	m.register_ = &reg;
	rc = send_agent_message(l, &m);
	l->models_gen_sent = ag->models_gen;
	free(ptrs);
	free(store);
	return rc;
}

static void
send_models(struct link *l)
{
	struct agent *ag = l->ag;
	Tokilake__V1__AgentMessage m = TOKILAKE__V1__AGENT_MESSAGE__INIT;
	Tokilake__V1__ModelUpdate up = TOKILAKE__V1__MODEL_UPDATE__INIT;
	Tokilake__V1__Model *store = xcalloc(ag->nmodels, sizeof(*store));
	Tokilake__V1__Model **ptrs = xcalloc(ag->nmodels, sizeof(*ptrs));

	fill_models(ag, store, ptrs);
	up.n_models = ag->nmodels;
	up.models = ptrs;
	m.msg_case = TOKILAKE__V1__AGENT_MESSAGE__MSG_MODELS;
	m.models = &up;
	if (send_agent_message(l, &m) == 0)
		log_info("published %zu model%s", ag->nmodels, ag->nmodels == 1 ? "" : "s");
	l->models_gen_sent = ag->models_gen;
	free(ptrs);
	free(store);
}

static void
send_heartbeat(struct link *l)
{
	struct agent *ag = l->ag;
	Tokilake__V1__AgentMessage m = TOKILAKE__V1__AGENT_MESSAGE__INIT;
	Tokilake__V1__Heartbeat hb = TOKILAKE__V1__HEARTBEAT__INIT;
	/* per model load (load_probe.h), freed once packed */
	Tokilake__V1__ModelLoad *store = xcalloc(ag->nmodels ? ag->nmodels : 1, sizeof(*store));
	Tokilake__V1__ModelLoad **ptrs = xcalloc(ag->nmodels ? ag->nmodels : 1, sizeof(*ptrs));

	load_probe_fill(ag, store, ptrs, now_ms());
	hb.in_flight = ag->in_flight;
	hb.capacity = ag->capacity;
	hb.links = links_registered(ag);
	hb.n_models = ag->nmodels;
	hb.models = ptrs;
	m.msg_case = TOKILAKE__V1__AGENT_MESSAGE__MSG_HEARTBEAT;
	m.heartbeat = &hb;
	send_agent_message(l, &m);
	free(ptrs);
	free(store);
}

/* TCP and TLS are up: start HTTP/2 and the Connect call. */
static void
established(struct link *l, uint64_t now)
{
	struct agent *ag = l->ag;
	char err[256];
	int rv;
	nghttp2_nv meta[] = {
		{ (uint8_t *)"authorization", (uint8_t *)l->bearer, 13, strlen(l->bearer),
		    NGHTTP2_NV_FLAG_NO_INDEX }, /* keep the secret out of HPACK tables */
		{ (uint8_t *)"tokilake-namespace", (uint8_t *)ag->conf->namespace, 18,
		    strlen(ag->conf->namespace), NGHTTP2_NV_FLAG_NONE },
	};

	if (h2_init(&l->h2, &l->tc, ag->conf->tls.plaintext ? "http" : "https", l->server,
	    err, sizeof(err)) == -1) {
		link_down(l, err);
		return;
	}
	l->h2_up = 1;
	h2_call_init(&l->connect, &connect_ops, LINK_CONNECT_OUT_MAX);
	if ((rv = h2_call_start(&l->h2, &l->connect, CONNECT_PATH, meta, 2)) != 0) {
		snprintf(err, sizeof(err), "cannot open the Connect call: %s", nghttp2_strerror(rv));
		link_down(l, err);
		return;
	}
	l->connect_open = 1;
	if (send_register(l) == -1) {
		link_down(l, l->h2.why);
		return;
	}
	l->state = LINK_LINKED;
	l->hb_interval_ms = ag->conf->heartbeat_interval_ms ? ag->conf->heartbeat_interval_ms : 10000;
	l->h2.ping_outstanding = 0;
	l->next_ping_ms = now + ping_interval(l);
	log_info("linked to %s (%s %s, ALPN h2); registering namespace \"%s\" as %s",
	    l->server, l->tc.peer, tc_describe(&l->tc), ag->conf->namespace, ag->agent_id);
}

static void
on_registered(struct link *l, const Tokilake__V1__Registered *r)
{
	uint32_t hb;

	if (l->state != LINK_LINKED) {
		log_debug("link: a second Registered, ignored");
		return;
	}
	hb = r->heartbeat_interval_ms ? r->heartbeat_interval_ms : l->ag->conf->heartbeat_interval_ms;
	if (hb < HB_MIN_MS)
		hb = HB_MIN_MS;
	if (hb > HB_MAX_MS)
		hb = HB_MAX_MS;
	l->hb_interval_ms = hb;
	snprintf(l->server_agent_id, sizeof(l->server_agent_id), "%s", r->agent_id);
	snprintf(l->node, sizeof(l->node), "%s", r->node);
	l->state = LINK_REGISTERED;
	l->next_heartbeat_ms = now_ms() + hb;
	if (!l->h2.ping_outstanding)
		l->next_ping_ms = now_ms() + ping_interval(l);
	backoff_reset(&l->bo);
	if (l->ever_registered)
		l->reconnects++;
	l->ever_registered = 1;
	log_info("registered on node \"%s\" as \"%s\" with %zu model%s, capacity %u "
	    "(heartbeat every %u ms)", l->node, l->server_agent_id, l->ag->nmodels,
	    l->ag->nmodels == 1 ? "" : "s", l->ag->capacity, hb);
}


/* What the server did not take of our last model list (the rest is
 * listed): the operator has a name to fix in a backend. The id comes
 * escaped and cut by the server; we print it quoted and bounded. */
static void
log_models_refused(const Tokilake__V1__ModelsRefused *mr)
{
	for (size_t i = 0; i < mr->n_models; i++)
		log_warnx("the server refused model #%u \"%.100s\": %.100s",
		    mr->models[i]->index, mr->models[i]->id, mr->models[i]->reason);
	if (mr->total > mr->n_models)
		log_warnx("the server refused %u models in all (%zu shown)", mr->total,
		    mr->n_models);
}
static int
connect_message(struct grpc_call *call, const uint8_t *msg, size_t len)
{
	struct pb_arena arena; /* the message's pieces, freed with this frame */
	struct link *l = link_of(call);
	Tokilake__V1__ServerMessage *m;
	int rc = 0;

	m = tokilake__v1__server_message__unpack(pb_arena_init(&arena), len, msg);
	if (m == NULL) {
		h2_fail(&l->h2, "the server sent a message that is not a ServerMessage");
		return -1;
	}
	switch (m->msg_case) {
	case TOKILAKE__V1__SERVER_MESSAGE__MSG_REGISTERED:
		on_registered(l, m->registered);
		break;
	case TOKILAKE__V1__SERVER_MESSAGE__MSG_OFFER:
		if (l->state != LINK_REGISTERED) {
			h2_fail(&l->h2, "the server offered a task before Registered");
			rc = -1;
			break;
		}
		task_offer(l->ag, l, m->offer);
		break;
	case TOKILAKE__V1__SERVER_MESSAGE__MSG_CONTROL:
		if (m->control->msg_case == TOKILAKE__V1__CONTROL__MSG_DRAIN) {
			log_info("node %s asks this agent to drain%s%s: finishing %u task%s on "
			    "this link, then relinking%s", l->server,
			    m->control->drain->reason[0] ? ": " : "", m->control->drain->reason,
			    l->ntasks, l->ntasks == 1 ? "" : "s",
			    l->ag->nlinks > 1 ? " (the other links keep serving)" : "");
			l->draining = 1;
		} else if (m->control->msg_case == TOKILAKE__V1__CONTROL__MSG_MODELS_REFUSED)
			log_models_refused(m->control->models_refused);
		else
			log_debug("link: unknown control message, ignored");
		break;
	default:
		/* a newer server: unknown messages are skipped, not fatal */
		log_debug("link: unknown server message, ignored");
		break;
	}
	tokilake__v1__server_message__free_unpacked(m, &arena.alloc);
	return rc;
}

static void
connect_closed(struct grpc_call *call, uint32_t error_code)
{
	struct link *l = link_of(call);
	const char *gm = call->grpc_message;

	l->connect_open = 0;
	if (l->closing)
		return;
	if (call->grpc_status == GRPC_PERMISSION_DENIED &&
	    strcmp(gm, "namespace disabled") == 0) {
		l->ns_disabled = 1;
		h2_fail(&l->h2, "namespace \"%s\" is disabled on the server (the token is "
		    "valid: trying at least every %u s until it is enabled again)",
		    l->ag->conf->namespace, LINK_NS_DISABLED_RETRY_MS / 1000);
	} else if (call->grpc_status == GRPC_UNAUTHENTICATED) {
		l->unauthenticated = 1;
		h2_fail(&l->h2, "the server rejected the token for namespace \"%s\" "
		    "(UNAUTHENTICATED%s%s)", l->ag->conf->namespace, gm[0] ? ": " : "", gm);
	} else if (call->grpc_status >= 0)
		h2_fail(&l->h2, "the server ended the Connect call: %s%s%s",
		    grpc_status_name(call->grpc_status), gm[0] ? ": " : "", gm);
	else
		h2_fail(&l->h2, "the Connect call was reset (%s)",
		    nghttp2_http2_strerror(error_code));
}

int
link_usable(const struct link *l)
{
	return l->state == LINK_REGISTERED && l->h2_up && !l->closing && !l->h2.goaway_received;
}

int
link_open_serve(struct link *l, struct grpc_call *call)
{
	int rv;

	if (!l->h2_up || l->closing)
		return -1;
	if ((rv = h2_call_start(&l->h2, call, SERVE_PATH, NULL, 0)) != 0) {
		log_warnx("cannot open a Serve call: %s", nghttp2_strerror(rv));
		return -1;
	}
	return 0;
}

static uint32_t
ping_interval(const struct link *l)
{
	return l->hb_interval_ms < LINK_PING_MAX_INTERVAL_MS ? l->hb_interval_ms
	    : LINK_PING_MAX_INTERVAL_MS;
}

static uint32_t
ping_timeout(const struct link *l)
{
	uint32_t t = l->hb_interval_ms * 2;
	return t < LINK_PING_MIN_TIMEOUT_MS ? LINK_PING_MIN_TIMEOUT_MS : t;
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Finish a clean close once the GOAWAY is out (or we waited enough). */
static void
close_done(struct link *l, int flushed)
{
	struct agent *ag = l->ag;

	if (!flushed)
		log_debug("link: closing without flushing everything");
	teardown(l, 1);
	task_abort_link(l, "the link was closed");
	l->state = LINK_BACKOFF;
	if (ag->stopping) {
		l->next_attempt_ms = UINT64_MAX;
		log_info("link to %s closed", l->server);
	} else {
		uint32_t d;
		backoff_reset(&l->bo);
		d = backoff_next(&l->bo);
		l->next_attempt_ms = now_ms() + d;
		log_info("link to %s closed after draining; relinking in %u ms", l->server, d);
	}
}

uint64_t
link_tick(struct link *l, uint64_t now)
{
	struct agent *ag = l->ag;
	uint64_t next = UINT64_MAX;
	char why[128];

	if (l->closing) {
		if (!l->h2_up || h2_finished(&l->h2) || now >= l->close_deadline_ms)
			close_done(l, !l->h2_up || h2_finished(&l->h2));
		else
			return l->close_deadline_ms;
	}
	switch (l->state) {
	case LINK_BACKOFF:
		if (ag->stopping || l->next_attempt_ms == UINT64_MAX)
			return UINT64_MAX;
		if (now < l->next_attempt_ms)
			return l->next_attempt_ms;
		if (!ag->first_discovery_done)
			return now + 50; /* the first Register should carry the discovered models */
		start_attempt(l, now);
		return now;
	case LINK_CONNECTING:
	case LINK_LINKED:
		if (now >= l->setup_deadline_ms) {
			snprintf(why, sizeof(why), "not registered within %d ms (%s)",
			    LINK_SETUP_TIMEOUT_MS, l->state == LINK_CONNECTING
			    ? "connecting or TLS handshake" : "no Registered answer");
			link_down(l, why);
			return now;
		}
		next = l->setup_deadline_ms;
		break;
	case LINK_REGISTERED:
		if (now >= l->next_heartbeat_ms) {
			send_heartbeat(l);
			l->next_heartbeat_ms = now + l->hb_interval_ms;
		}
		next = l->next_heartbeat_ms;
		if (l->models_gen_sent != ag->models_gen)
			send_models(l);
		if (l->draining && l->ntasks == 0 && !l->closing) {
			link_close(l, "drained");
			return now;
		}
		break;
	}
	if (l->h2_up && !l->closing) {
		if (l->h2.goaway_received && !l->draining) {
			/* no new Serve calls are possible: finish, then relink */
			l->draining = 1;
			log_info("draining the link to %s after the server's GOAWAY (%u task%s open)",
			    l->server, l->ntasks, l->ntasks == 1 ? "" : "s");
		}
		if (l->h2.ping_outstanding) {
			if (now - l->h2.ping_sent_ms >= ping_timeout(l)) {
				snprintf(why, sizeof(why), "no answer to PING within %u ms",
				    ping_timeout(l));
				link_down(l, why);
				return now;
			}
			next = min64(next, l->h2.ping_sent_ms + ping_timeout(l));
		} else if (now >= l->next_ping_ms) {
			h2_ping(&l->h2, now);
			l->next_ping_ms = now + ping_interval(l);
			next = min64(next, now + ping_timeout(l));
		} else
			next = min64(next, l->next_ping_ms);
		if (l->h2.failed)
			link_down(l, l->h2.why);
	}
	return next;
}

int
link_pollfd(struct link *l, struct curl_waitfd *fd)
{
	short ev;

	if (l->tc.state == TC_CLOSED || l->tc.fd == -1)
		return 0;
	ev = tc_events(&l->tc, l->h2_up && h2_want_write(&l->h2));
	fd->fd = l->tc.fd;
	fd->events = (ev & POLLIN ? CURL_WAIT_POLLIN : 0) | (ev & POLLOUT ? CURL_WAIT_POLLOUT : 0);
	fd->revents = 0;
	return 1;
}

void
link_io(struct link *l, short revents)
{
	char err[512];
	int r;

	l->read_more = 0;
	if (l->tc.state == TC_CONNECTING || l->tc.state == TC_HANDSHAKE) {
		short ev = (revents & CURL_WAIT_POLLIN ? POLLIN : 0) |
		    (revents & CURL_WAIT_POLLOUT ? POLLOUT : 0) |
		    (revents & CURL_WAIT_POLLPRI ? POLLERR : 0);
		if (ev == 0)
			return;
		r = tc_progress(&l->tc, ev, err, sizeof(err));
		if (r == -1)
			link_down(l, err);
		else if (r == 1)
			established(l, now_ms());
		return;
	}
	if (!l->h2_up)
		return;
	r = h2_read(&l->h2);
	if (r == -1) {
		if (l->closing)
			close_done(l, 1);
		else
			link_down(l, l->h2.why);
		return;
	}
	l->read_more = r == 1;
	link_flush(l);
	if (l->h2_up && h2_finished(&l->h2)) {
		char why[300];
		if (l->closing) {
			close_done(l, 1);
			return;
		}
		if (l->h2.ngerr[0] != '\0')
			snprintf(why, sizeof(why), "HTTP/2 error: %s", l->h2.ngerr);
		else
			snprintf(why, sizeof(why), "the server closed the link%s",
			    l->h2.goaway_received ? " (GOAWAY)" : "");
		link_down(l, why);
	}
}

void
link_flush(struct link *l)
{
	if (!l->h2_up)
		return;
	if (h2_flush(&l->h2) == -1) {
		if (l->closing)
			close_done(l, 0);
		else
			link_down(l, l->h2.why);
	}
}

void
link_goodbye(struct link *l, const char *reason)
{
	Tokilake__V1__AgentMessage m = TOKILAKE__V1__AGENT_MESSAGE__INIT;
	Tokilake__V1__Goodbye g = TOKILAKE__V1__GOODBYE__INIT;

	if (l->state != LINK_REGISTERED || l->goodbye_sent || !l->connect_open)
		return;
	g.reason = (char *)reason;
	m.msg_case = TOKILAKE__V1__AGENT_MESSAGE__MSG_GOODBYE;
	m.goodbye = &g;
	if (send_agent_message(l, &m) == 0)
		l->goodbye_sent = 1;
}

void
link_close(struct link *l, const char *why)
{
	if (!l->h2_up) {
		teardown(l, 0);
		task_abort_link(l, why);
		l->state = LINK_BACKOFF;
		if (l->ag->stopping)
			l->next_attempt_ms = UINT64_MAX;
		return;
	}
	if (l->closing)
		return;
	log_debug("link: closing (%s)", why);
	if (l->connect_open)
		h2_call_close_send(&l->connect);
	h2_goaway(&l->h2);
	l->closing = 1;
	l->close_deadline_ms = now_ms() + LINK_CLOSE_TIMEOUT_MS;
}

int
link_is_closed(const struct link *l)
{
	return !l->h2_up && l->tc.state == TC_CLOSED;
}

void
link_abort(struct link *l)
{
	teardown(l, 0);
	task_abort_link(l, "tokiame is stopping");
	l->state = LINK_BACKOFF;
	l->next_attempt_ms = UINT64_MAX;
}
