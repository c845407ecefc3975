/*
 * link_task: tasks relayed to agents. A task is offered on the agent's
 * Connect call; the agent opens a Serve call and names it in TaskAccept;
 * then the request body flows down and the response flows up on that
 * call, with HTTP/2 flow control per task.
 *
 * Bounds per task: the request body waits in at most LINK_TASK_BODY_MAX
 * bytes here (the producer gets credit as bytes leave); response bytes
 * are acknowledged to the agent (nghttp2_session_consume) only while less
 * than RESP_UNACKED_MAX bytes handed to the consumer are unacknowledged,
 * so a slow client holds back the agent instead of filling our memory.
 *
 * Until its agent accepts it, a task keeps its packed offer (without the
 * task id and deadline, which change per offer) and every body byte the
 * producer sent: that is what lets an unaccepted offer move to another
 * agent (the routing policy in link.h) with nothing lost. Once accepted,
 * the offer is freed and the body flows.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "link_internal.h"
#include "log.h"
#include "pb_arena.h"
#include "task_up_wire.h"
#include "xmalloc.h"

#define RESP_UNACKED_MAX (256 * 1024)
#define BODY_MSG_MAX (64 * 1024)

struct link_task {
	struct link_conn *conn;
	h2o_linklist_t link; /* in conn->tasks */
	uint64_t id;
	struct link_stream *stream; /* after TaskAccept */
	struct link_task_cbs cbs;
	void *ctx;
	struct buf body;     /* request body not yet framed onto the stream */
	int body_last;       /* the producer sent its last piece */
	int body_end_sent;
	int head_seen;
	int pumping, pump_again; /* pump_body re-enters through the session flush */
	uint64_t resp_unacked;  /* response payload given to on_data, not yet consumed */
	uint64_t rx_unconsumed; /* wire bytes received but not given back to the window */
	uint64_t offered_ms;
	uint64_t first_byte_at_ms; /* the first-byte budget ends here */
	h2o_timeout_entry_t accept_timer;
	struct buf offer;      /* packed TaskOffer, no task_id nor deadline_ms */
	int held;              /* not offered yet: waits for its inline body */
	int sent_inline;       /* the last offer carried the body */
	uint64_t body_size;    /* announced */
};

static uint64_t task_seq;
/*
 * h2o 2.2.5 timeout lists have one duration each, and entries expire in
 * the order they were linked. A reload that changes agents.accept_timeout
 * takes effect when the list is empty (no offer waits for its accept):
 * then no order can break. A list is never disposed of while the loop
 * may be running it (only at shutdown).
 */
static h2o_timeout_t accept_list;
static int accept_list_ready;

static void
accept_timer_arm(h2o_timeout_entry_t *e)
{
	uint32_t ms = link_conf()->agents.accept_timeout_ms;

	if (!accept_list_ready) {
		h2o_timeout_init(link_loop(), &accept_list, ms);
		accept_list_ready = 1;
	} else if (accept_list.timeout != ms && h2o_linklist_is_empty(&accept_list._entries))
		accept_list.timeout = ms;
	h2o_timeout_link(link_loop(), &accept_list, e);
}

static int send_offer(struct link_task *t);

/* Take t off its connection (the task itself stays). */
static void
task_detach(struct link_task *t)
{
	struct link_conn *c = t->conn;

	if (c->agent != NULL && c->agent->tasks > 0)
		c->agent->tasks--;
	h2o_linklist_unlink(&t->link);
	/* a leaving agent's link closes when its last task is done */
	if (c->agent != NULL && c->agent->draining && h2o_linklist_is_empty(&c->tasks))
		link_conn_close_gracefully(c);
}

static void
task_free(struct link_task *t)
{
	if (t->stream != NULL)
		t->stream->task = NULL;
	if (h2o_timeout_is_linked(&t->accept_timer))
		h2o_timeout_unlink(&t->accept_timer);
	task_detach(t);
	buf_free(&t->body);
	buf_free(&t->offer);
	free(t);
}

static void
task_error(struct link_task *t, unsigned status, const char *type, const char *code,
    const char *msg)
{
	struct link_task_cbs cbs = t->cbs;
	void *ctx = t->ctx;

	task_free(t);
	cbs.on_error(ctx, status, type, code, msg);
}

static const char *
agent_name(const struct link_conn *c)
{
	return c->agent != NULL ? c->agent->agent_id : c->peer;
}

int
link_agent_usable(struct agent_link *a)
{
	struct link_conn *c = a->conn;

	if (c->failed || c->connect == NULL || a->draining)
		return 0;
	if (a->unresponsive_since_ms != 0) {
		if (c->last_rx_ms <= a->unresponsive_since_ms)
			return 0;
		log_info("agent %s responds again after %llu ms: it takes tasks again",
		    a->agent_id, (unsigned long long)(c->last_rx_ms - a->unresponsive_since_ms));
		a->unresponsive_since_ms = 0;
	}
	return 1;
}

static void
mark_unresponsive(struct link_conn *c, const struct link_task *t)
{
	struct agent_link *a = c->agent;

	if (a == NULL || (a->unresponsive_since_ms != 0 &&
	    c->last_rx_ms <= a->unresponsive_since_ms))
		return; /* already marked, and silent since */
	a->unresponsive_since_ms = link_now_ms();
	log_warnx("agent %s did not accept task %llu within %u ms: marked unresponsive, no new "
	    "tasks until it answers", a->agent_id, (unsigned long long)t->id,
	    (unsigned)accept_list.timeout); /* the deadline it had, after a reload too */
	/* ask for a sign of life: the PING ACK clears the mark */
	if (nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL) == 0)
		link_conn_flush(c);
}

static void
on_accept_timeout(h2o_timeout_entry_t *entry)
{
	struct link_task *t = H2O_STRUCT_FROM_MEMBER(struct link_task, accept_timer, entry);
	struct link_conn *c = t->conn;
	struct agent_link *from = c->agent, *to = NULL;
	uint64_t old_id = t->id;

	if (t->first_byte_at_ms != 0 && link_now_ms() >= t->first_byte_at_ms) {
		log_warnx("agent %s did not accept task %llu within its first-byte budget",
		    agent_name(c), (unsigned long long)t->id);
		task_error(t, 504, "timeout", "agent_timeout",
		    "the agent did not take the request in time");
		return;
	}
	if (c->failed) {
		/* its teardown fails the task in a moment */
		accept_timer_arm(&t->accept_timer);
		return;
	}
	mark_unresponsive(c, t);
	if (from != NULL && t->cbs.on_unaccepted != NULL)
		to = t->cbs.on_unaccepted(t->ctx, from);
	if (to == NULL || to == from || !link_agent_usable(to)) {
		/* nobody else: it stays offered here (policy 3) */
		accept_timer_arm(&t->accept_timer);
		return;
	}
	/* withdraw: a TaskAccept for old_id on c now finds nothing (NOT_FOUND) */
	task_detach(t);
	t->conn = to->conn;
	t->id = ++task_seq;
	h2o_linklist_insert(&to->conn->tasks, &t->link);
	to->tasks++;
	log_debug("task %llu not accepted by agent %s: offered to agent %s as task %llu",
	    (unsigned long long)old_id, from->agent_id, to->agent_id, (unsigned long long)t->id);
	if (send_offer(t) != 0)
		task_error(t, 502, "api_error", "agent_unavailable",
		    "the task could not be offered to an agent");
}

/*
 * The offer's headers as protobuf-c wants them (NUL-terminated strings):
 * one allocation for the structs, the pointers and the strings together,
 * freed by the caller with one free().
 */
static Tokilake__V1__Header **
copy_headers(const struct link_task_header *h, size_t n)
{
	Tokilake__V1__Header *store, **ptrs;
	size_t strbytes = 0;
	char *p;
	void *block;

	for (size_t i = 0; i < n; i++)
		strbytes += h[i].name_len + h[i].value_len + 2;
	block = xmalloc(n * (sizeof(*store) + sizeof(*ptrs)) + strbytes + 1);
	ptrs = block;
	store = (Tokilake__V1__Header *)(ptrs + n);
	p = (char *)(store + n);
	for (size_t i = 0; i < n; i++) {
		tokilake__v1__header__init(&store[i]);
		store[i].name = p;
		memcpy(p, h[i].name, h[i].name_len);
		p += h[i].name_len;
		*p++ = '\0';
		store[i].value = p;
		memcpy(p, h[i].value, h[i].value_len);
		p += h[i].value_len;
		*p++ = '\0';
		ptrs[i] = &store[i];
	}
	return ptrs;
}

struct link_task *
link_task_offer(struct agent_link *agent, const struct link_task_req *req,
    const struct link_task_cbs *cbs, void *ctx)
{
	struct link_conn *c = agent->conn;
	Tokilake__V1__TaskOffer offer = TOKILAKE__V1__TASK_OFFER__INIT;
	Tokilake__V1__Header **hptrs;
	struct link_task *t;
	uint32_t budget = link_conf()->http.first_byte_timeout_ms;
	uint8_t *p;

	if (c->failed || c->connect == NULL || agent->draining)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->conn = c;
	t->id = ++task_seq;
	t->cbs = *cbs;
	t->ctx = ctx;
	buf_init(&t->body, LINK_TASK_BODY_MAX);
	t->offered_ms = link_now_ms();
	if (req->deadline_ms != 0 && req->deadline_ms < budget)
		budget = req->deadline_ms;
	t->first_byte_at_ms = t->offered_ms + budget;
	t->body_size = req->body_size;

	/* packed once, while the strings are ours to read; task_id and
	 * deadline_ms go in front of it per offer (send_offer) */
	hptrs = copy_headers(req->headers, req->nheaders);
	offer.request_id = (char *)req->request_id;
	offer.method = (char *)req->method;
	offer.path = (char *)req->path;
	offer.model = (char *)req->model;
	offer.headers = hptrs;
	offer.n_headers = req->nheaders;
	offer.body_size = req->body_size;
	p = buf_reserve(&t->offer, protobuf_c_message_get_packed_size(&offer.base));
	buf_commit(&t->offer, protobuf_c_message_pack(&offer.base, p));
	free(hptrs);

	h2o_linklist_insert(&c->tasks, &t->link);
	agent->tasks++;
	t->accept_timer.cb = on_accept_timeout;
	if (agent->inline_body && req->body_size > 0 && req->body_size <= LINK_INLINE_BODY_MAX) {
		/* offered with its body once that is complete (link_task_body) */
		t->held = 1;
		return t;
	}
	if (send_offer(t) != 0) {
		task_detach(t);
		buf_free(&t->body);
		buf_free(&t->offer);
		free(t);
		return NULL;
	}
	return t;
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * ServerMessage{offer = task_id (field 1) + deadline_ms (field 7) + the
 * packed rest + [body_inline (field 9) + body (field 10)]}. Protobuf reads
 * fields in any order and fields appended to a packed message as part of
 * it, so the offer packed at link_task_offer() time serves every offer of
 * the task. The body goes inline when the agent takes it that way and it
 * is complete; else it follows on the Serve call after TaskAccept.
 */
static int
send_offer(struct link_task *t)
{
	struct link_conn *c = t->conn;
	uint8_t pre[2 + 10 + 10], tail[1 + 1 + 1 + 10], head[1 + 10];
	size_t npre = 0, ntail = 0, nhead = 0, offer_len, blen = t->body.len;
	uint64_t now = link_now_ms();
	int inl = c->agent != NULL && c->agent->inline_body && t->body_last &&
	    t->body_size > 0 && blen == t->body_size && blen <= LINK_INLINE_BODY_MAX;

	pre[npre++] = 1 << 3 | 0;   /* task_id: varint */
	npre += put_varint(pre + npre, t->id);
	if (t->first_byte_at_ms > now) {
		pre[npre++] = 7 << 3 | 0; /* deadline_ms: what is left of the budget */
		npre += put_varint(pre + npre, t->first_byte_at_ms - now);
	}
	if (inl) {
		tail[ntail++] = 9 << 3 | 0;  /* body_inline: varint */
		tail[ntail++] = 1;
		tail[ntail++] = 10 << 3 | 2; /* body: length-delimited */
		ntail += put_varint(tail + ntail, blen);
	}
	offer_len = npre + t->offer.len + ntail + (inl ? blen : 0);
	head[nhead++] = 2 << 3 | 2;  /* ServerMessage.offer */
	nhead += put_varint(head + nhead, offer_len);
	{
		struct iovec parts[5];
		size_t n = 0;

		/* empty pieces left out: their base may be NULL */
		parts[n++] = (struct iovec){ head, nhead };
		parts[n++] = (struct iovec){ pre, npre };
		if (t->offer.len > 0)
			parts[n++] = (struct iovec){ buf_head(&t->offer), t->offer.len };
		if (inl) {
			parts[n++] = (struct iovec){ tail, ntail };
			if (blen > 0)
				parts[n++] = (struct iovec){ buf_head(&t->body), blen };
		}
		if (c->connect == NULL || link_stream_send_parts(c->connect, parts, n) != 0)
			return -1;
	}
	t->held = 0;
	t->sent_inline = inl;
	t->offered_ms = now;
	accept_timer_arm(&t->accept_timer);
	return 0;
}

/*
 * Frame buffered body bytes onto the Serve stream while it has room.
 * Sending flushes the session, whose data provider may call back here
 * (link_serve_out_drained): such a call only asks for another round, so
 * the same bytes are never framed twice.
 */
static void
pump_body(struct link_task *t)
{
	struct link_stream *s;
	size_t sent = 0;

	if (t->pumping) {
		t->pump_again = 1;
		return;
	}
	t->pumping = 1;
	do {
		t->pump_again = 0;
		s = t->stream;
		if (s == NULL || s->trailers_sent || s->finishing)
			break;
		while (t->body.len > 0 && s->out.len < LINK_TASK_BODY_MAX) {
			Tokilake__V1__TaskDown down = TOKILAKE__V1__TASK_DOWN__INIT;
			size_t n = t->body.len < BODY_MSG_MAX ? t->body.len : BODY_MSG_MAX;

			down.msg_case = TOKILAKE__V1__TASK_DOWN__MSG_BODY;
			down.body.data = buf_head(&t->body);
			down.body.len = n;
			if (grpc_append_message(&s->out, &down.base) != 0)
				break;
			buf_consume(&t->body, n);
			sent += n;
		}
		if (t->body.len == 0 && t->body_last && !t->body_end_sent) {
			Tokilake__V1__TaskDown down = TOKILAKE__V1__TASK_DOWN__INIT;
			Tokilake__V1__BodyEnd end = TOKILAKE__V1__BODY_END__INIT;

			down.msg_case = TOKILAKE__V1__TASK_DOWN__MSG_BODY_END;
			down.body_end = &end;
			if (grpc_append_message(&s->out, &down.base) == 0)
				t->body_end_sent = 1;
		}
		/* one wake-up for everything framed this round; nothing framed
		 * (an inline body) answers nothing yet: the call may still end
		 * as one Trailers-Only frame */
		if (s->out.len > 0)
			link_stream_kick(s);
	} while (t->pump_again);
	t->pumping = 0;
	/* last: the callback may end the task (its worker went away) */
	if (sent > 0 && t->cbs.on_body_sent != NULL)
		t->cbs.on_body_sent(t->ctx, sent);
}

int
link_task_body(struct link_task *t, const uint8_t *data, size_t len, int last)
{
	if (t->body_last)
		return -1;
	if (t->held && t->body.len + len > t->body_size)
		return -1;
	if (buf_append(&t->body, data, len) != 0)
		return -1;
	t->body_last = last;
	if (t->held) {
		if (!last)
			return 0;
		if (t->body.len != t->body_size || send_offer(t) != 0) {
			task_error(t, 502, "api_error", "agent_unavailable",
			    "the task could not be offered to the agent");
			return 0;
		}
		return 0;
	}
	pump_body(t);
	return 0;
}

static void
give_back_window(struct link_task *t)
{
	struct link_stream *s = t->stream;

	if (s == NULL || t->rx_unconsumed == 0 || t->resp_unacked >= RESP_UNACKED_MAX)
		return;
	link_stream_consume(s, t->rx_unconsumed);
	t->rx_unconsumed = 0;
	link_conn_flush(s->conn);
}

void
link_task_consumed(struct link_task *t, size_t n)
{
	t->resp_unacked = n > t->resp_unacked ? 0 : t->resp_unacked - n;
	give_back_window(t);
}

void
link_task_cancel(struct link_task *t)
{
	struct link_stream *s = t->stream;

	if (s != NULL) {
		/* detach first: the reset closes the stream, and its close must
		 * not report an error for a task its owner already gave up */
		s->task = NULL;
		t->stream = NULL;
		/* bytes we will never read still count against the connection window */
		link_stream_release(s);
		/* the agent turns this into closing its backend request */
		link_stream_reset(s, NGHTTP2_CANCEL);
	}
	task_free(t);
}

void
link_tasks_fail_all(struct link_conn *c, const char *why)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "the agent link was lost: %s", why);
	while (!h2o_linklist_is_empty(&c->tasks)) {
		struct link_task *t = H2O_STRUCT_FROM_MEMBER(struct link_task, link, c->tasks.next);
		task_error(t, 502, "api_error", "agent_lost", msg);
	}
}

/* Serve calls */

void
link_serve_begin(struct link_stream *s)
{
	if (s->conn->agent == NULL) {
		link_stream_finish(s, GRPC_UNAUTHENTICATED, "Serve needs a registered Connect call");
		return;
	}
	/* no HEADERS yet: the first body message sends them, and a task whose
	 * body came inline ends as one Trailers-Only frame (a frame, a write
	 * and an agent wake-up less per request) */
}

static struct link_task *
find_unbound(struct link_conn *c, uint64_t id)
{
	for (h2o_linklist_t *n = c->tasks.next; n != &c->tasks; n = n->next) {
		struct link_task *t = H2O_STRUCT_FROM_MEMBER(struct link_task, link, n);
		if (t->id == id)
			return t->stream == NULL && !t->held ? t : NULL;
	}
	return NULL;
}

static void
task_up(struct link_task *t, Tokilake__V1__TaskUp *m, size_t wire)
{
	struct link_stream *s = t->stream;

	switch (m->msg_case) {
	case TOKILAKE__V1__TASK_UP__MSG_HEAD: {
		struct link_task_header h[64];
		size_t n = 0;

		if (t->head_seen || m->head->status < 100 || m->head->status > 999) {
			link_stream_finish(s, GRPC_INVALID_ARGUMENT, "bad or repeated ResponseHead");
			task_error(t, 502, "api_error", "agent_error", "the agent sent a bad response");
			return;
		}
		for (size_t i = 0; i < m->head->n_headers && n < 64; i++) {
			h[n].name = m->head->headers[i]->name;
			h[n].name_len = strlen(h[n].name);
			h[n].value = m->head->headers[i]->value;
			h[n].value_len = strlen(h[n].value);
			n++;
		}
		t->head_seen = 1;
		link_stream_consume(s, wire);
		t->cbs.on_head(t->ctx, m->head->status, h, n);
		break;
	}
	case TOKILAKE__V1__TASK_UP__MSG_CHUNK:
		if (!t->head_seen) {
			link_stream_finish(s, GRPC_INVALID_ARGUMENT, "chunk before ResponseHead");
			task_error(t, 502, "api_error", "agent_error", "the agent sent a bad response");
			return;
		}
		/* the framing bytes are ours to give back now; the payload when consumed */
		link_stream_consume(s, wire - m->chunk.len);
		t->rx_unconsumed += m->chunk.len;
		t->resp_unacked += m->chunk.len;
		if (m->chunk.len > 0)
			t->cbs.on_data(t->ctx, m->chunk.data, m->chunk.len);
		break;
	case TOKILAKE__V1__TASK_UP__MSG_END: {
		struct link_task_cbs cbs = t->cbs;
		void *ctx = t->ctx;

		link_stream_consume(s, wire);
		if (!t->head_seen) {
			link_stream_finish(s, GRPC_INVALID_ARGUMENT, "TaskEnd before ResponseHead");
			task_error(t, 502, "api_error", "agent_error", "the agent sent a bad response");
			return;
		}
		link_stream_finish_lazy(s);
		task_free(t);
		cbs.on_end(ctx);
		break;
	}
	case TOKILAKE__V1__TASK_UP__MSG_ERROR: {
		Tokilake__V1__TaskError *e = m->error;
		unsigned status = e->status >= 400 && e->status <= 599 ? e->status : 502;

		link_stream_consume(s, wire);
		link_stream_finish_lazy(s);
		task_error(t, status, e->type[0] ? e->type : "api_error",
		    e->code[0] ? e->code : "backend_error",
		    e->message[0] ? e->message : "the backend failed");
		break;
	}
	default:
		link_stream_finish(s, GRPC_INVALID_ARGUMENT, "unexpected TaskUp message");
		task_error(t, 502, "api_error", "agent_error", "the agent sent a bad response");
		break;
	}
}

void
link_serve_message(struct link_stream *s, const uint8_t *msg, size_t len)
{
	struct pb_arena arena; /* the message's pieces, freed with this frame */
	struct link_conn *c = s->conn;
	Tokilake__V1__TaskUp *m, peeked;
	Tokilake__V1__TaskEnd end;
	size_t wire = len + GRPC_PREFIX_SIZE;

	if (s->task != NULL && task_up_peek(msg, len, &peeked, &end)) {
		task_up(s->task, &peeked, wire);
		return;
	}
	m = tokilake__v1__task_up__unpack(pb_arena_init(&arena), len, msg);
	if (m == NULL) {
		link_stream_consume(s, wire);
		log_warnx("agent %s: undecodable TaskUp on stream %d", c->agent->agent_id, s->id);
		link_stream_finish(s, GRPC_INVALID_ARGUMENT, "undecodable TaskUp");
		if (s->task != NULL)
			task_error(s->task, 502, "api_error", "agent_error",
			    "the agent sent a bad response");
		return;
	}
	if (s->task == NULL) {
		struct link_task *t;

		link_stream_consume(s, wire);
		if (m->msg_case != TOKILAKE__V1__TASK_UP__MSG_ACCEPT) {
			link_stream_finish(s, GRPC_INVALID_ARGUMENT, "TaskAccept must come first");
		} else if ((t = find_unbound(c, m->accept->task_id)) == NULL) {
			/* cancelled meanwhile, withdrawn (not accepted in time) or
			 * never offered: the agent just drops it */
			link_stream_finish(s, GRPC_NOT_FOUND,
			    "no such task (withdrawn or cancelled)");
		} else {
			t->stream = s;
			s->task = t;
			h2o_timeout_unlink(&t->accept_timer);
			buf_free(&t->offer); /* it stays here now */
			if (t->sent_inline) {
				buf_free(&t->body);
				t->body_end_sent = 1;
			}
			pump_body(t);
		}
	} else
		task_up(s->task, m, wire);
	tokilake__v1__task_up__free_unpacked(m, &arena.alloc);
}

void
link_serve_out_drained(struct link_stream *s)
{
	if (s->task != NULL)
		pump_body(s->task);
}

void
link_serve_peer_closed(struct link_stream *s)
{
	if (s->task != NULL)
		task_error(s->task, 502, "api_error", "agent_error",
		    "the agent ended the task without an answer");
	link_stream_finish(s, GRPC_OK, NULL);
}

void
link_serve_stream_closed(struct link_stream *s, uint32_t error_code)
{
	struct link_task *t = s->task;

	if (t == NULL)
		return;
	s->task = NULL;
	t->stream = NULL;
	task_error(t, 502, "api_error", "agent_error",
	    error_code == NGHTTP2_NO_ERROR ? "the agent closed the task without an answer" :
	    "the agent reset the task");
}

void
link_task_module_shutdown(void)
{
	if (accept_list_ready) {
		h2o_timeout_dispose(link_loop(), &accept_list);
		accept_list_ready = 0;
	}
}
