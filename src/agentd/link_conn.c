/*
 * link_conn: accepting agent connections and driving one nghttp2 server
 * session per connection over an h2o socket (h2o does the TLS).
 *
 * Output: nghttp2_session_mem_send bytes are copied into wpending; one
 * h2o_socket_write is in flight at a time (winflight), and we stop pulling
 * from nghttp2 above WRITE_HIGH_WATER, so a slow agent back-pressures the
 * session instead of growing a buffer. Input: sock->input goes straight
 * into nghttp2_session_mem_recv. Teardown is always deferred to a
 * zero-delay timer: nghttp2 sessions cannot be deleted from their own
 * callbacks, and no caller has to wonder whether its pointer survived.
 *
 * Stages of a connection, and what exists in each: accepted (socket; TLS
 * handshake running in TLS mode: no session yet), session (nghttp2 server
 * session: created after the handshake, or at once in h2c mode),
 * preface (the agent's HTTP/2 preface and first SETTINGS read:
 * handshake_done), registered (c->agent). Every timer and callback checks
 * the stage it needs: a stranger can hold a connection at any of them.
 * Until handshake_done only agents.handshake_timeout applies (no PING
 * without a session). What is logged about a connection that never
 * registered (its close, a refused token) goes through one log_burst
 * (link_stranger_may_log): anyone can open such connections by the
 * thousand, and the log must not grow with them. For the same reason a
 * full listener (agents.max_agents) makes room by closing its OLDEST
 * unregistered connection rather than refusing the new one: strangers
 * holding every slot would otherwise keep agents out; a real agent
 * registers within milliseconds of its accept and is never the oldest.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "link_internal.h"
#include "log.h"
#include "tokilake.pb-c.h"
#include "log_burst.h"
#include "xmalloc.h"

#define WRITE_HIGH_WATER (256 * 1024)
#define TICK_MS 500
#define REGISTER_TIMEOUT_MS 10000
#define RESET_WINDOW_MS 1000
#define MAX_RESETS_PER_WINDOW 200
#define STREAM_WINDOW (1024 * 1024)
#define CONN_WINDOW (16 * 1024 * 1024)
/* lines about unregistered connections: a few a second, then one summary */
#define STRANGER_LOG_PER_WINDOW 10
#define STRANGER_LOG_WINDOW_MS 1000

static struct {
	h2o_loop_t *loop;
	h2o_socket_t *listener;
	SSL_CTX *ssl_ctx;
	const struct tl_config *conf;
	struct link_hooks hooks;
	h2o_linklist_t conns;
	h2o_linklist_t strangers; /* connections that have not registered, oldest first */
	size_t nconns;
	uint64_t seq;
	h2o_timeout_t tick;
	h2o_timeout_t reap;
	h2o_timeout_t turn_end; /* zero delay: after this turn's I/O */
	h2o_timeout_t lazy;     /* LINK_LAZY_FINISH_MS */
	h2o_timeout_t stranger_log; /* STRANGER_LOG_WINDOW_MS: the summary */
	h2o_timeout_entry_t stranger_summary;
	struct log_burst stranger;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
} srv;

static const h2o_iovec_t alpn_h2[] = { { "h2", 2 }, { NULL, 0 } };

const struct tl_config *
link_conf(void)
{
	return srv.conf;
}

const struct link_hooks *
link_hooks(void)
{
	return &srv.hooks;
}

h2o_loop_t *
link_loop(void)
{
	return srv.loop;
}

uint64_t
link_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t
link_server_count(void)
{
	return srv.nconns;
}

static void conn_teardown(struct link_conn *c);

void
link_conn_fail(struct link_conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = 1;
	va_start(ap, fmt);
	vsnprintf(c->fail_reason, sizeof(c->fail_reason), fmt, ap);
	va_end(ap);
	if (c->sock != NULL)
		h2o_socket_read_stop(c->sock);
	if (h2o_timeout_is_linked(&c->tick))
		h2o_timeout_unlink(&c->tick);
	if (h2o_timeout_is_linked(&c->flush_soon))
		h2o_timeout_unlink(&c->flush_soon);
	if (h2o_timeout_is_linked(&c->lazy_timer))
		h2o_timeout_unlink(&c->lazy_timer);
	h2o_timeout_link(srv.loop, &srv.reap, &c->reap);
}

static void
on_reap(h2o_timeout_entry_t *entry)
{
	conn_teardown(H2O_STRUCT_FROM_MEMBER(struct link_conn, reap, entry));
}

void
link_conn_close_gracefully(struct link_conn *c)
{
	if (c->close_after_flush || c->failed)
		return;
	if (c->h2 == NULL) {
		/* nothing to say goodbye with before the session exists */
		link_conn_fail(c, "closed");
		return;
	}
	nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
	    nghttp2_session_get_last_proc_stream_id(c->h2), NGHTTP2_NO_ERROR, NULL, 0);
	c->close_after_flush = 1;
	link_conn_flush(c);
}

static void flush_now(struct link_conn *c);
static void on_lazy_timer(h2o_timeout_entry_t *entry);
static void rtt_ack(struct link_conn *c, const uint8_t *opaque);

static void
on_flush_soon(h2o_timeout_entry_t *entry)
{
	flush_now(H2O_STRUCT_FROM_MEMBER(struct link_conn, flush_soon, entry));
}

/*
 * Everything a loop turn queued on the session (task offers for several
 * requests, stream answers, window updates) leaves in one write at the
 * turn's end, instead of one write per event and the rest a turn later.
 */
void
link_conn_flush(struct link_conn *c)
{
	if (c->failed || c->sock == NULL || h2o_timeout_is_linked(&c->flush_soon))
		return;
	h2o_timeout_link(srv.loop, &srv.turn_end, &c->flush_soon);
}

static void
on_write_done(h2o_socket_t *sock, const char *err)
{
	struct link_conn *c = sock->data;

	c->writing = 0;
	if (c->failed)
		return;
	/* idle links keep no buffers: 10,000 agents are mostly idle */
	buf_free(&c->winflight);
	if (err != NULL) {
		link_conn_fail(c, "write failed: %s", err);
		return;
	}
	flush_now(c);
}

static void
submit_lazy(struct link_conn *c)
{
	while (!h2o_linklist_is_empty(&c->lazy_finish))
		link_stream_submit_lazy(H2O_STRUCT_FROM_MEMBER(struct link_stream, lazy_link,
		    c->lazy_finish.next));
	if (h2o_timeout_is_linked(&c->lazy_timer))
		h2o_timeout_unlink(&c->lazy_timer);
}

static void
on_lazy_timer(h2o_timeout_entry_t *entry)
{
	struct link_conn *c = H2O_STRUCT_FROM_MEMBER(struct link_conn, lazy_timer, entry);

	if (c->failed)
		return;
	submit_lazy(c);
	flush_now(c);
}

void
link_conn_hold(struct link_conn *c)
{
	if (!c->failed && !h2o_timeout_is_linked(&c->lazy_timer))
		h2o_timeout_link(srv.loop, &srv.lazy, &c->lazy_timer);
}

static void
flush_now(struct link_conn *c)
{
	if (h2o_timeout_is_linked(&c->flush_soon))
		h2o_timeout_unlink(&c->flush_soon);
	/* inside mem_recv, on_read flushes once it returns */
	if (c->failed || c->sock == NULL || c->h2 == NULL || c->in_recv)
		return;
	/* held ends ride along when something else is written anyway */
	if (!h2o_linklist_is_empty(&c->lazy_finish) && nghttp2_session_want_write(c->h2))
		submit_lazy(c);
	if (c->flushing) {
		c->flush_again = 1;
		return;
	}
	c->flushing = 1;
	do {
		c->flush_again = 0;
		while (c->wpending.len < WRITE_HIGH_WATER) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(c->h2, &data);
			if (n < 0) {
				c->flushing = 0;
				link_conn_fail(c, "HTTP/2 send error: %s", nghttp2_strerror((int)n));
				return;
			}
			if (n == 0)
				break;
			/* copy before the next mem_send call invalidates data */
			buf_append(&c->wpending, data, (size_t)n);
		}
	} while (c->flush_again && !c->failed);
	c->flushing = 0;
	if (c->failed || c->writing)
		return;
	if (c->wpending.len > 0) {
		struct buf tmp = c->winflight;
		h2o_iovec_t v;

		c->winflight = c->wpending;
		c->wpending = tmp;
		buf_reset(&c->wpending);
		v = h2o_iovec_init(buf_head(&c->winflight), c->winflight.len);
		c->writing = 1;
		h2o_socket_write(c->sock, &v, 1, on_write_done);
		return;
	}
	if (c->close_after_flush ||
	    (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))) {
		/* let the agent read our last frames and close first */
		if (c->linger_since_ms == 0)
			c->linger_since_ms = link_now_ms();
	}
}

static void
on_read(h2o_socket_t *sock, const char *err)
{
	struct link_conn *c = sock->data;
	ssize_t n;

	if (c->failed)
		return;
	if (err != NULL) {
		link_conn_fail(c, "connection %s", strcmp(err, h2o_socket_error_closed) == 0 ?
		    "closed by the agent" : err);
		return;
	}
	c->last_rx_ms = link_now_ms();
	c->in_recv = 1;
	n = nghttp2_session_mem_recv(c->h2, (const uint8_t *)sock->input->bytes, sock->input->size);
	c->in_recv = 0;
	if (c->failed)
		return;
	if (n < 0) {
		link_conn_fail(c, "HTTP/2 protocol error: %s", nghttp2_strerror((int)n));
		return;
	}
	h2o_buffer_consume(&sock->input, sock->input->size);
	link_conn_flush(c);
}

/* nghttp2 callbacks */

static struct link_stream *
stream_of(nghttp2_session *h2, int32_t id)
{
	return nghttp2_session_get_stream_user_data(h2, id);
}

static int
on_begin_headers(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	struct link_conn *c = user;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	nghttp2_session_set_stream_user_data(h2, frame->hd.stream_id,
	    link_stream_new(c, frame->hd.stream_id));
	return 0;
}

static int
on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	struct link_stream *s = stream_of(h2, frame->hd.stream_id);

	if (s == NULL || frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0; /* trailers from a client carry nothing we use */
	if (link_stream_header(s, name, namelen, value, valuelen) != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
	return 0;
}

static int
on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *user)
{
	struct link_conn *c = user;
	struct link_stream *s;

	/* nghttp2 checked the magic and takes SETTINGS as the first frame */
	if (!c->handshake_done) {
		c->handshake_done = 1;
		c->handshake_done_ms = link_now_ms();
	}
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		if ((s = stream_of(h2, frame->hd.stream_id)) == NULL)
			return 0;
		if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
			link_stream_begin(s);
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
			link_stream_peer_closed(s);
		break;
	case NGHTTP2_DATA:
		if ((s = stream_of(h2, frame->hd.stream_id)) != NULL &&
		    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
			link_stream_peer_closed(s);
		break;
	case NGHTTP2_PING:
		if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
			c->ping_outstanding = 0;
			rtt_ack(c, frame->ping.opaque_data);
		}
		break;
	case NGHTTP2_RST_STREAM: {
		uint64_t now = link_now_ms();
		if (now - c->reset_window_start_ms > RESET_WINDOW_MS) {
			c->reset_window_start_ms = now;
			c->resets_in_window = 0;
		}
		if (++c->resets_in_window > MAX_RESETS_PER_WINDOW)
			link_conn_fail(c, "stream reset flood (%u resets in %d ms)",
			    c->resets_in_window, RESET_WINDOW_MS);
		break;
	}
	case NGHTTP2_GOAWAY:
		if (c->agent != NULL)
			log_info("agent %s (%s) sent GOAWAY", c->agent->agent_id, c->peer);
		break;
	}
	return 0;
}

static int
on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id, const uint8_t *data,
    size_t len, void *user)
{
	struct link_stream *s = stream_of(h2, stream_id);

	if (s == NULL) {
		nghttp2_session_consume(h2, stream_id, len);
		return 0;
	}
	link_stream_data(s, data, len);
	return 0;
}

static int
on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code, void *user)
{
	struct link_stream *s = stream_of(h2, stream_id);

	if (s == NULL)
		return 0;
	nghttp2_session_set_stream_user_data(h2, stream_id, NULL);
	if (s->kind == LS_CONNECT) {
		link_connect_closed(s);
	} else if (s->kind == LS_SERVE)
		link_serve_stream_closed(s, error_code);
	link_stream_free(s);
	return 0;
}

static int
on_invalid_frame(nghttp2_session *h2, const nghttp2_frame *frame, int lib_error, void *user)
{
	struct link_conn *c = user;
	log_debug("agent link %s: invalid frame type %u: %s", c->peer, frame->hd.type,
	    nghttp2_strerror(lib_error));
	return 0;
}

static void
init_callbacks(void)
{
	nghttp2_session_callbacks_new(&srv.cbs);
	nghttp2_session_callbacks_set_on_begin_headers_callback(srv.cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(srv.cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(srv.cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(srv.cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(srv.cbs, on_stream_close);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(srv.cbs, on_invalid_frame);

	nghttp2_option_new(&srv.opt);
	/* per-task back-pressure: we consume only what was passed on */
	nghttp2_option_set_no_auto_window_update(srv.opt, 1);
	/* a peer must not make us queue unbounded SETTINGS/PING acks */
	nghttp2_option_set_max_outbound_ack(srv.opt, 1000);
}

/*
 * Round-trip time. Our PINGs carry their send time (monotonic us) as
 * opaque data, kept on the connection too: an ACK echoing exactly that
 * value is a sample (an agent can only delay it, not forge a shorter
 * one), smoothed as TCP does (7/8 old + 1/8 new). A busy link is never
 * silent, so besides the liveness PING one goes every ping_interval
 * while no timed PING awaits its ACK; one unanswered for as long is
 * given up (liveness is the other PING's job).
 */
static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
ping_timed(struct link_conn *c)
{
	uint64_t t = now_us();
	uint8_t opaque[8];

	for (int i = 0; i < 8; i++)
		opaque[i] = (uint8_t)(t >> (56 - 8 * i));
	if (nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, opaque) == 0)
		c->rtt_ping_us = t;
}

static int
rtt_due(struct link_conn *c, uint32_t interval_ms)
{
	uint64_t t = now_us();

	if (c->rtt_ping_us == 0)
		return t - c->rtt_last_us >= (uint64_t)interval_ms * 1000;
	if (t - c->rtt_ping_us >= (uint64_t)interval_ms * 1000)
		c->rtt_ping_us = 0; /* unanswered: next tick tries again */
	return 0;
}

static void
rtt_ack(struct link_conn *c, const uint8_t *opaque)
{
	uint64_t sent = 0, t, sample;

	for (int i = 0; i < 8; i++)
		sent = sent << 8 | opaque[i];
	if (c->rtt_ping_us == 0 || sent != c->rtt_ping_us)
		return; /* not the timed PING we wait for */
	t = now_us();
	c->rtt_ping_us = 0;
	c->rtt_last_us = t;
	sample = t - sent;
	if (c->agent == NULL)
		return;
	/* answered after a stall longer than a ping interval, or while the
	 * agent is marked unresponsive (it was stopped, its loop hung): that
	 * is the agent's silence, which link.h handles (unresponsive mark,
	 * ping timeout), not the link's round trip; taken in, it would keep
	 * the pick (route.c) away from the agent long after it answers */
	if (sample > (uint64_t)srv.conf->agents.ping_interval_ms * 1000 ||
	    c->agent->unresponsive_since_ms != 0)
		return;
	if (c->agent->rtt_us == 0) {
		c->agent->rtt_us = sample ? (uint32_t)sample : 1;
		log_debug("agent %s: link round trip %u us (first PING)", c->agent->agent_id,
		    c->agent->rtt_us);
	} else {
		uint64_t s = ((uint64_t)c->agent->rtt_us * 7 + sample) / 8;
		c->agent->rtt_us = s ? (uint32_t)s : 1;
	}
}

/* connection lifecycle */

static void
on_tick(h2o_timeout_entry_t *entry)
{
	struct link_conn *c = H2O_STRUCT_FROM_MEMBER(struct link_conn, tick, entry);
	const struct tl_config *conf = srv.conf;
	uint64_t now = link_now_ms(), silent = now - c->last_rx_ms;

	if (c->linger_since_ms != 0 && now - c->linger_since_ms >= 1000) {
		link_conn_fail(c, "%s", c->close_after_flush ? "closed" : "session finished");
		return;
	}
	if (!c->handshake_done) {
		/* no session yet in TLS mode: nothing to PING, only a deadline */
		if (now - c->created_ms >= conf->agents.handshake_timeout_ms) {
			link_conn_fail(c, "no %s within %u ms (agents.handshake_timeout)",
			    c->h2 == NULL ? "TLS handshake" : "HTTP/2 preface",
			    conf->agents.handshake_timeout_ms);
			return;
		}
		h2o_timeout_link(srv.loop, &srv.tick, &c->tick);
		return;
	}

	if (c->agent == NULL && now - c->handshake_done_ms >= REGISTER_TIMEOUT_MS) {
		link_conn_fail(c, "did not register within %d s", REGISTER_TIMEOUT_MS / 1000);
		return;
	}
	/* one tick early rather than late: the timeout is a promise to the operator */
	if (silent + TICK_MS >= conf->agents.ping_timeout_ms) {
		link_conn_fail(c, "silent for %llu ms (ping timeout %u ms)",
		    (unsigned long long)silent, conf->agents.ping_timeout_ms);
		return;
	}
	if (c->ping_outstanding && now - c->ping_sent_ms >= conf->agents.ping_timeout_ms) {
		link_conn_fail(c, "no PING ACK within %u ms", conf->agents.ping_timeout_ms);
		return;
	}
	if (!c->ping_outstanding && silent >= conf->agents.ping_interval_ms) {
		ping_timed(c);
		c->ping_outstanding = 1;
		c->ping_sent_ms = now;
		link_conn_flush(c);
		if (c->failed)
			return;
	} else if (c->agent != NULL && rtt_due(c, conf->agents.ping_interval_ms)) {
		/* a busy link is never silent: measure its RTT anyway */
		ping_timed(c);
		link_conn_flush(c);
		if (c->failed)
			return;
	}
	h2o_timeout_link(srv.loop, &srv.tick, &c->tick);
}

static void
conn_teardown(struct link_conn *c)
{
	const char *reason = c->fail_reason[0] ? c->fail_reason : "closed";

	if (c->agent != NULL)
		log_info("agent %s of namespace %s (%s) unlinked: %s", c->agent->agent_id,
		    c->agent->ns, c->peer, reason);
	else if (link_stranger_may_log())
		log_info("agent link %s closed before %s: %s", c->peer,
		    c->handshake_done ? "registering" : "its handshake", reason);
	link_tasks_fail_all(c, reason);
	if (c->agent != NULL) {
		if (srv.hooks.agent_down != NULL)
			srv.hooks.agent_down(c->agent, reason, srv.hooks.data);
		link_agent_free(c->agent);
		c->agent = NULL;
	}
	/* nghttp2_session_del does not call on_stream_close: free them here */
	while (!h2o_linklist_is_empty(&c->streams)) {
		struct link_stream *s =
		    H2O_STRUCT_FROM_MEMBER(struct link_stream, link, c->streams.next);
		link_stream_free(s);
	}
	if (c->h2 != NULL)
		nghttp2_session_del(c->h2);
	if (h2o_timeout_is_linked(&c->tick))
		h2o_timeout_unlink(&c->tick);
	if (h2o_timeout_is_linked(&c->reap))
		h2o_timeout_unlink(&c->reap);
	if (h2o_timeout_is_linked(&c->flush_soon))
		h2o_timeout_unlink(&c->flush_soon);
	if (h2o_timeout_is_linked(&c->lazy_timer))
		h2o_timeout_unlink(&c->lazy_timer);
	if (h2o_linklist_is_linked(&c->stranger_link))
		h2o_linklist_unlink(&c->stranger_link);
	if (c->sock != NULL)
		h2o_socket_close(c->sock);
	buf_free(&c->wpending);
	buf_free(&c->winflight);
	h2o_linklist_unlink(&c->link);
	srv.nconns--;
	free(c);
}

static void
on_stranger_summary(h2o_timeout_entry_t *entry)
{
	unsigned long n = log_burst_take(&srv.stranger, link_now_ms());

	(void)entry;
	if (n > 0)
		log_info("%lu more lines about agent connections that never registered not "
		    "logged one by one (closed before their handshake or Register, or refused)", n);
	if (srv.stranger.suppressed > 0)
		h2o_timeout_link(srv.loop, &srv.stranger_log, &srv.stranger_summary);
}

void
link_conn_registered(struct link_conn *c)
{
	if (h2o_linklist_is_linked(&c->stranger_link))
		h2o_linklist_unlink(&c->stranger_link);
}

/* The oldest unregistered connection still alive, other than c; NULL if none. */
static struct link_conn *
oldest_stranger(struct link_conn *c)
{
	for (h2o_linklist_t *n = srv.strangers.next; n != &srv.strangers; n = n->next) {
		struct link_conn *o = H2O_STRUCT_FROM_MEMBER(struct link_conn, stranger_link, n);

		/* the failed ones leave at the end of this loop turn */
		if (o != c && !o->failed)
			return o;
	}
	return NULL;
}

int
link_stranger_may_log(void)
{
	if (log_burst_allow(&srv.stranger, link_now_ms()))
		return 1;
	if (!h2o_timeout_is_linked(&srv.stranger_summary))
		h2o_timeout_link(srv.loop, &srv.stranger_log, &srv.stranger_summary);
	return 0;
}

static void
session_start(struct link_conn *c)
{
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, srv.conf->agents.max_streams_per_agent + 1 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 16384 },
	};

	if (nghttp2_session_server_new2(&c->h2, srv.cbs, c, srv.opt) != 0) {
		link_conn_fail(c, "cannot create an HTTP/2 session");
		return;
	}
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
	nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	h2o_socket_read_start(c->sock, on_read);
	link_conn_flush(c);
	/* bytes that arrived with the TLS handshake are already in input */
	if (!c->failed && c->sock->input->size > 0)
		on_read(c->sock, NULL);
}

static void
on_handshake(h2o_socket_t *sock, const char *err)
{
	struct link_conn *c = sock->data;
	h2o_iovec_t proto;

	/* the connection failed meanwhile (close_all, reload): teardown is due */
	if (c->failed)
		return;
	if (err != NULL) {
		link_conn_fail(c, "TLS handshake failed: %s", err);
		return;
	}
	proto = h2o_socket_ssl_get_selected_protocol(sock);
	if (!h2o_memis(proto.base, proto.len, H2O_STRLIT("h2"))) {
		link_conn_fail(c, "the client did not negotiate ALPN h2");
		return;
	}
	session_start(c);
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	h2o_socket_t *sock;
	int burst = 64; /* accept in bursts so one listener cannot starve the loop */

	if (err != NULL)
		return;
	while (burst-- > 0 && (sock = h2o_evloop_socket_accept(listener)) != NULL) {
		struct link_conn *c = xcalloc(1, sizeof(*c));
		struct sockaddr_storage ss;
		socklen_t sl;
		char host[NI_MAXHOST];
		size_t hl;

		c->sock = sock;
		sock->data = c;
		c->seq = ++srv.seq;
		c->created_ms = c->last_rx_ms = link_now_ms();
		h2o_linklist_init_anchor(&c->streams);
		h2o_linklist_init_anchor(&c->tasks);
		h2o_linklist_init_anchor(&c->lazy_finish);
		c->lazy_timer.cb = on_lazy_timer;
		buf_init(&c->wpending, 0);
		buf_init(&c->winflight, 0);
		sl = h2o_socket_getpeername(sock, (struct sockaddr *)&ss);
		hl = sl ? h2o_socket_getnumerichost((struct sockaddr *)&ss, sl, host) : SIZE_MAX;
		if (hl == SIZE_MAX)
			snprintf(c->peer, sizeof(c->peer), "unknown");
		else
			snprintf(c->peer, sizeof(c->peer), "%.*s:%d", (int)hl, host,
			    h2o_socket_getport((struct sockaddr *)&ss));
		h2o_linklist_insert(&srv.conns, &c->link);
		h2o_linklist_insert(&srv.strangers, &c->stranger_link);
		srv.nconns++;
		c->tick.cb = on_tick;
		c->reap.cb = on_reap;
		c->flush_soon.cb = on_flush_soon;
		h2o_timeout_link(srv.loop, &srv.tick, &c->tick);

		if (srv.nconns > srv.conf->agents.max_agents) {
			struct link_conn *old = oldest_stranger(c);

			if (old == NULL) {
				link_conn_fail(c, "refused: %zu links, agents.max_agents is %u",
				    srv.nconns - 1, srv.conf->agents.max_agents);
				continue;
			}
			link_conn_fail(old, "closed to make room for a new connection: "
			    "agents.max_agents (%u) reached and it had not registered",
			    srv.conf->agents.max_agents);
		}
		if (srv.ssl_ctx != NULL)
			h2o_socket_ssl_handshake(sock, srv.ssl_ctx, NULL, on_handshake);
		else
			session_start(c);
	}
}

static SSL_CTX *
load_tls(const struct tl_config *conf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->agents.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, conf->agents.tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		char e[256];
		ERR_error_string_n(ERR_get_error(), e, sizeof(e));
		log_warnx("%s: agents.tls: cannot load %s / %s: %s", conf->path, conf->agents.tls_cert,
		    conf->agents.tls_key, e);
		SSL_CTX_free(ctx);
		return NULL;
	}
	h2o_ssl_register_alpn_protocols(ctx, alpn_h2);
	return ctx;
}

int
link_server_start(h2o_loop_t *loop, int listen_fd, const struct tl_config *conf,
    const struct link_hooks *hooks)
{
	srv.loop = loop;
	srv.conf = conf;
	srv.hooks = *hooks;
	h2o_linklist_init_anchor(&srv.conns);
	h2o_linklist_init_anchor(&srv.strangers);
	h2o_timeout_init(loop, &srv.tick, TICK_MS);
	h2o_timeout_init(loop, &srv.reap, 0);
	h2o_timeout_init(loop, &srv.turn_end, 0);
	h2o_timeout_init(loop, &srv.lazy, LINK_LAZY_FINISH_MS);
	h2o_timeout_init(loop, &srv.stranger_log, STRANGER_LOG_WINDOW_MS);
	srv.stranger_summary.cb = on_stranger_summary;
	srv.stranger = (struct log_burst)LOG_BURST_INIT(STRANGER_LOG_PER_WINDOW,
	    STRANGER_LOG_WINDOW_MS);
	init_callbacks();
	if (!conf->agents.plaintext && (srv.ssl_ctx = load_tls(conf)) == NULL)
		return -1;
	srv.listener = h2o_evloop_socket_create(loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
	h2o_socket_read_start(srv.listener, on_accept);
	log_info("agent listener on %s (%s)", conf->agents.listen,
	    conf->agents.plaintext ? "h2c, plaintext" : "TLS, ALPN h2");
	return 0;
}

void
link_server_reconfigure(const struct tl_config *conf)
{
	h2o_linklist_t *n;

	srv.conf = conf;
	for (n = srv.conns.next; n != &srv.conns;) {
		struct link_conn *c = H2O_STRUCT_FROM_MEMBER(struct link_conn, link, n);
		n = n->next;
		const struct tl_namespace *ns;
		int still_valid = 0;

		if (c->agent == NULL)
			continue;
		ns = tl_config_namespace(conf, c->agent->ns, strlen(c->agent->ns));
		for (size_t i = 0; ns != NULL && i < ns->ntoken_hashes; i++)
			if (strcmp(ns->token_hashes[i], c->token_hash) == 0)
				still_valid = 1;
		if (ns == NULL)
			link_conn_fail(c, "namespace %s was removed or disabled", c->agent->ns);
		else if (!still_valid)
			link_conn_fail(c, "its token for namespace %s was revoked", c->agent->ns);
	}
}

void
link_server_stop_accepting(void)
{
	if (srv.listener != NULL) {
		h2o_socket_read_stop(srv.listener);
		h2o_socket_close(srv.listener);
		srv.listener = NULL;
	}
}

/* Control.Drain on the agent's Connect call; it is offered nothing more
 * here. Its tasks go on. */
static void
drain_agent(struct link_conn *c, const char *reason)
{
	Tokilake__V1__ServerMessage out = TOKILAKE__V1__SERVER_MESSAGE__INIT;
	Tokilake__V1__Control ctl = TOKILAKE__V1__CONTROL__INIT;
	Tokilake__V1__Drain d = TOKILAKE__V1__DRAIN__INIT;

	if (c->failed || c->agent == NULL || c->connect == NULL)
		return;
	c->agent->draining = 1;
	d.reason = (char *)reason;
	ctl.msg_case = TOKILAKE__V1__CONTROL__MSG_DRAIN;
	ctl.drain = &d;
	out.msg_case = TOKILAKE__V1__SERVER_MESSAGE__MSG_CONTROL;
	out.control = &ctl;
	if (link_stream_send(c->connect, &out.base) == -1)
		return; /* its Connect output is full: the stop closes it anyway */
	link_conn_flush(c);
}

size_t
link_server_drain_all(const char *reason)
{
	size_t n = 0;

	for (h2o_linklist_t *l = srv.conns.next; l != &srv.conns; l = l->next) {
		struct link_conn *c = H2O_STRUCT_FROM_MEMBER(struct link_conn, link, l);
		if (c->agent != NULL && !c->failed) {
			drain_agent(c, reason);
			n++;
		}
	}
	return n;
}

void
link_server_close_all(const char *reason)
{
	link_server_stop_accepting();
	for (h2o_linklist_t *n = srv.conns.next; n != &srv.conns; n = n->next)
		link_conn_fail(H2O_STRUCT_FROM_MEMBER(struct link_conn, link, n), "%s", reason);
}

void
link_server_destroy(void)
{
	link_server_stop_accepting();
	while (!h2o_linklist_is_empty(&srv.conns)) {
		struct link_conn *c = H2O_STRUCT_FROM_MEMBER(struct link_conn, link, srv.conns.next);
		if (!c->failed) {
			c->failed = 1;
			snprintf(c->fail_reason, sizeof(c->fail_reason), "agentd exiting");
		}
		conn_teardown(c);
	}
	h2o_timeout_dispose(srv.loop, &srv.tick);
	h2o_timeout_dispose(srv.loop, &srv.reap);
	h2o_timeout_dispose(srv.loop, &srv.turn_end);
	h2o_timeout_dispose(srv.loop, &srv.lazy);
	if (h2o_timeout_is_linked(&srv.stranger_summary))
		h2o_timeout_unlink(&srv.stranger_summary);
	h2o_timeout_dispose(srv.loop, &srv.stranger_log);
	link_task_module_shutdown();
}
