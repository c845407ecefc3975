/* agentd_link: see agentd_link.h. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <h2o.h>

#include "agentd_link.h"
#include "ipc_sock.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

/* Bound of the output queue, and the mark below which bodies are pumped. */
#define QUEUE_MAX (8 * 1024 * 1024)
#define PUMP_MARK (1024 * 1024)
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 1000

static struct {
	struct ipc_sock io;
	int started;
	int up;                     /* HELLO_ACK received */
	h2o_socket_t *connecting;   /* connect in progress */
	unsigned backoff_ms;
	unsigned ticks_left;        /* 100 ms ticks before the next attempt */
	h2o_timeout_entry_t retry_entry;
	h2o_timeout_entry_t hello_entry;
	int quiet;                  /* failures already reported for this outage */

	/* requests waiting for the link (arrival order) and their clock */
	h2o_linklist_t waiters;
	size_t nwaiters;
	h2o_timeout_entry_t wait_entry; /* ticks every 100 ms while any waits */

	struct agentd_pending **buckets;
	size_t nbuckets, count;
	uint64_t next_id;
	h2o_linklist_t pump;
} L;

static void try_connect(void);
static void pump(void);
static void wake_waiters(void);

/* ---- pending table ---- */

static size_t
bucket_of(uint64_t id, size_t n)
{
	/* ids are sequential: a multiplicative hash spreads them well */
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (n - 1);
}

static void
table_grow(void)
{
	size_t n = L.nbuckets ? L.nbuckets * 2 : 64;
	struct agentd_pending **nb = xcalloc(n, sizeof(*nb));

	for (size_t i = 0; i < L.nbuckets; i++) {
		struct agentd_pending *p = L.buckets[i], *next;

		for (; p != NULL; p = next) {
			size_t b = bucket_of(p->id, n);

			next = p->hnext;
			p->hnext = nb[b];
			nb[b] = p;
		}
	}
	free(L.buckets);
	L.buckets = nb;
	L.nbuckets = n;
}

static struct agentd_pending *
table_find(uint64_t id)
{
	struct agentd_pending *p;

	if (L.nbuckets == 0)
		return NULL;
	for (p = L.buckets[bucket_of(id, L.nbuckets)]; p != NULL; p = p->hnext)
		if (p->id == id)
			return p;
	return NULL;
}

void
wk_agentd_link_register(struct agentd_pending *p)
{
	size_t b;

	if (L.count + 1 > L.nbuckets)
		table_grow();
	p->id = ++L.next_id;
	b = bucket_of(p->id, L.nbuckets);
	p->hnext = L.buckets[b];
	L.buckets[b] = p;
	L.count++;
}

void
wk_agentd_link_unregister(struct agentd_pending *p)
{
	struct agentd_pending **pp;

	if (p->id == 0)
		return;
	for (pp = &L.buckets[bucket_of(p->id, L.nbuckets)]; *pp != NULL; pp = &(*pp)->hnext) {
		if (*pp == p) {
			*pp = p->hnext;
			L.count--;
			break;
		}
	}
	if (h2o_linklist_is_linked(&p->pump_link))
		h2o_linklist_unlink(&p->pump_link);
	p->hnext = NULL;
	p->id = 0;
}

size_t
wk_agentd_link_npending(void)
{
	return L.count;
}

/* Take every entry out of the table and tell each that the link died. */
static void
fail_all(void)
{
	struct agentd_pending *list = NULL, *p, *next;

	for (size_t i = 0; i < L.nbuckets; i++) {
		for (p = L.buckets[i]; p != NULL; p = next) {
			next = p->hnext;
			if (h2o_linklist_is_linked(&p->pump_link))
				h2o_linklist_unlink(&p->pump_link);
			p->id = 0;
			p->hnext = list;
			list = p;
		}
		L.buckets[i] = NULL;
	}
	L.count = 0;
	for (p = list; p != NULL; p = next) {
		next = p->hnext;
		p->hnext = NULL;
		p->on_down(p);
	}
}

/* ---- requests waiting for the link ---- */

static struct agentd_waiter *
waiter_pop(void)
{
	struct agentd_waiter *w = H2O_STRUCT_FROM_MEMBER(struct agentd_waiter, link, L.waiters.next);

	wk_agentd_link_unwait(w);
	return w;
}

/* The FIFO is in arrival order and every waiter has the same bound: the
 * expired ones are at its head. all: every one (the worker stops). */
static void
expire_waiters(int all)
{
	uint64_t now = h2o_now(wk.loop), bound = wk.conf->http.agentd_wait_ms;
	size_t n = 0;

	while (!h2o_linklist_is_empty(&L.waiters)) {
		struct agentd_waiter *w =
		    H2O_STRUCT_FROM_MEMBER(struct agentd_waiter, link, L.waiters.next);

		if (!all && now - w->since_ms < bound)
			break;
		(void)waiter_pop();
		w->on_expired(w);
		n++;
	}
	if (n != 0)
		log_warnx("agentd link still down after %" PRIu64 " ms: %zu waiting request(s) "
		    "answered 503", bound, n);
}

static void
on_wait_tick(h2o_timeout_entry_t *entry)
{
	expire_waiters(0);
	if (L.nwaiters != 0)
		h2o_timeout_link(wk.loop, &wk.ctx.hundred_ms_timeout, &L.wait_entry);
}

/* The link is up: send what waited, oldest first, while it stays up. */
static void
wake_waiters(void)
{
	while (L.up && !h2o_linklist_is_empty(&L.waiters)) {
		struct agentd_waiter *w = waiter_pop();

		w->on_up(w);
	}
}

int
wk_agentd_link_wait(struct agentd_waiter *w)
{
	if (!L.started || L.nwaiters >= AGENTD_WAIT_MAX || wk.conf->http.agentd_wait_ms == 0 ||
	    wk.state == WORKER_STOPPED)
		return -1;
	w->since_ms = h2o_now(wk.loop);
	h2o_linklist_insert(&L.waiters, &w->link);
	if (L.nwaiters++ == 0)
		h2o_timeout_link(wk.loop, &wk.ctx.hundred_ms_timeout, &L.wait_entry);
	return 0;
}

void
wk_agentd_link_unwait(struct agentd_waiter *w)
{
	if (!h2o_linklist_is_linked(&w->link))
		return;
	h2o_linklist_unlink(&w->link);
	L.nwaiters--;
	if (L.nwaiters == 0 && h2o_timeout_is_linked(&L.wait_entry))
		h2o_timeout_unlink(&L.wait_entry);
}

/* ---- connection ---- */

static void
schedule_retry(void)
{
	if (!L.started)
		return;
	L.ticks_left = L.backoff_ms / BACKOFF_FIRST_MS;
	h2o_timeout_unlink(&L.retry_entry);
	h2o_timeout_link(wk.loop, &wk.ctx.hundred_ms_timeout, &L.retry_entry);
	L.backoff_ms *= 2;
	if (L.backoff_ms > BACKOFF_MAX_MS)
		L.backoff_ms = BACKOFF_MAX_MS;
}

static void
link_down(const char *why)
{
	int was_up = L.up;
	size_t n = L.count;

	L.up = 0;
	wk_ipc_sock_close(&L.io);
	h2o_timeout_unlink(&L.hello_entry);
	if (wk.state == WORKER_STOPPED)
		log_debug("agentd link closed: %s", why);
	else if (was_up) {
		log_warnx("agentd link lost: %s; failing %zu pending request(s), reconnecting", why, n);
		L.quiet = 0;
	} else if (!L.quiet) {
		log_warnx("agentd link not ready: %s; retrying", why);
		L.quiet = 1;
	} else
		log_debug("agentd link not ready: %s", why);
	fail_all();
	schedule_retry();
}

static void
on_retry(h2o_timeout_entry_t *entry)
{
	if (L.ticks_left > 1) {
		L.ticks_left--;
		h2o_timeout_link(wk.loop, &wk.ctx.hundred_ms_timeout, &L.retry_entry);
		return;
	}
	try_connect();
}

static void
on_hello_timeout(h2o_timeout_entry_t *entry)
{
	link_down("no HELLO_ACK from agentd within 5 s");
}

static void
on_io_close(struct ipc_sock *io, const char *why)
{
	link_down(why);
}

static uint64_t
msg_id(const struct ipc_msg *msg, int *ok)
{
	*ok = 1;
	switch (msg->type) {
	case IPC_MODELS_LIST:
		return msg->u.models_list.id;
	case IPC_RESP_HEAD:
		return msg->u.resp_head.id;
	case IPC_RESP_DATA:
		return msg->u.resp_data.id;
	case IPC_RESP_END:
		return msg->u.resp_end.id;
	case IPC_RESP_ERROR:
		return msg->u.resp_error.id;
	case IPC_WINDOW:
		return msg->u.window.id;
	default:
		*ok = 0;
		return 0;
	}
}

static void
on_io_msg(struct ipc_sock *io, const struct ipc_msg *msg)
{
	struct agentd_pending *p;
	uint64_t id;
	int ok;

	if (!L.up) {
		if (msg->type != IPC_HELLO_ACK) {
			log_warnx("agentd sent %s before HELLO_ACK: dropping the link",
			    ipc_type_name(msg->type));
			link_down("protocol error");
			return;
		}
		if (msg->u.hello_ack.version != IPC_VERSION) {
			log_warnx("agentd speaks IPC version %" PRIu32 ", we speak %d: dropping the link",
			    msg->u.hello_ack.version, IPC_VERSION);
			link_down("version mismatch");
			return;
		}
		h2o_timeout_unlink(&L.hello_entry);
		L.up = 1;
		L.quiet = 0;
		L.backoff_ms = BACKOFF_FIRST_MS;
		log_info("agentd link up%s", L.nwaiters != 0 ? "; sending the requests that waited" : "");
		wake_waiters();
		return;
	}
	id = msg_id(msg, &ok);
	if (!ok) {
		log_warnx("agentd sent an unexpected %s: dropping the link", ipc_type_name(msg->type));
		link_down("protocol error");
		return;
	}
	if ((p = table_find(id)) == NULL) {
		/* cancelled or timed out on our side: the answer is late */
		log_debug("agentd: %s for id %" PRIu64 " which is no longer pending",
		    ipc_type_name(msg->type), id);
		return;
	}
	if (msg->type == IPC_WINDOW) {
		/* credit for more of this request's body */
		p->body_credit += msg->u.window.credit;
		if (p->body_off < p->body_len + p->body2_len &&
		    !h2o_linklist_is_linked(&p->pump_link)) {
			h2o_linklist_insert(&L.pump, &p->pump_link);
			pump();
		}
		return;
	}
	p->on_msg(p, msg);
}

static void
on_drain(struct ipc_sock *io)
{
	pump();
}

static void
on_connected(h2o_socket_t *sock, const char *err)
{
	struct ipc_msg hello;

	L.connecting = NULL;
	if (err != NULL) {
		h2o_socket_close(sock);
		link_down(err);
		return;
	}
	wk_ipc_sock_attach(&L.io, sock);
	memset(&hello, 0, sizeof(hello));
	hello.type = IPC_HELLO;
	hello.u.hello.version = IPC_VERSION;
	hello.u.hello.role = IPC_ROLE_WORKER;
	hello.u.hello.slot = wk.cctx->slot;
	hello.u.hello.pid = (uint32_t)getpid();
	hello.u.hello.generation = wk.cctx->generation;
	if (wk_ipc_sock_send(&L.io, &hello, NULL) != 0) {
		link_down("cannot queue HELLO");
		return;
	}
	h2o_timeout_link(wk.loop, &wk.five_sec, &L.hello_entry);
}

static void
try_connect(void)
{
	struct sockaddr_un sun;
	const char *path = wk.cctx->agentd_path;

	if (!L.started || L.connecting != NULL || L.io.sock != NULL)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sun.sun_path)) {
		/* the master checked this; nothing to retry */
		log_warnx("agentd socket path %s is unusable", path ? path : "(none)");
		return;
	}
	memcpy(sun.sun_path, path, strlen(path));
	L.connecting = h2o_socket_connect(wk.loop, (struct sockaddr *)&sun, sizeof(sun), on_connected);
	if (L.connecting == NULL) {
		char why[256];

		snprintf(why, sizeof(why), "connect %s: %s", path, strerror(errno));
		link_down(why);
	}
}

void
wk_agentd_link_start(void)
{
	wk_ipc_sock_init(&L.io, "agentd", QUEUE_MAX, &wk.ctx.zero_timeout);
	L.io.on_msg = on_io_msg;
	L.io.on_close = on_io_close;
	L.io.on_drain = on_drain;
	L.retry_entry.cb = on_retry;
	L.hello_entry.cb = on_hello_timeout;
	L.wait_entry.cb = on_wait_tick;
	h2o_linklist_init_anchor(&L.waiters);
	L.backoff_ms = BACKOFF_FIRST_MS;
	h2o_linklist_init_anchor(&L.pump);
	L.started = 1;
	try_connect();
}

void
wk_agentd_link_stop(void)
{
	if (!L.started)
		return;
	L.started = 0;
	h2o_timeout_unlink(&L.retry_entry);
	h2o_timeout_unlink(&L.hello_entry);
	if (L.connecting != NULL) {
		h2o_socket_close(L.connecting);
		L.connecting = NULL;
	}
	L.up = 0;
	expire_waiters(1);
	fail_all();
	wk_ipc_sock_free(&L.io);
	free(L.buckets);
	L.buckets = NULL;
	L.nbuckets = 0;
}

int
wk_agentd_link_is_up(void)
{
	return L.up;
}

int
wk_agentd_link_send(const struct ipc_msg *msg, const struct ipc_encode_lists *lists)
{
	if (!L.up)
		return -1;
	return wk_ipc_sock_send(&L.io, msg, lists);
}

/* ---- usage records ---- */

static uint64_t usage_dropped;
static int usage_drop_logged;

int
wk_usage_send(const struct ipc_usage *u)
{
	struct ipc_encode_lists lists;
	struct ipc_usage rec = *u;
	struct ipc_msg msg;
	struct timespec ts;

	if (rec.node.len == 0 && wk.conf != NULL && wk.conf->node.name != NULL)
		rec.node = (struct ipc_str){ wk.conf->node.name, strlen(wk.conf->node.name) };
	if (rec.unix_ms == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		rec.unix_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&lists, 0, sizeof(lists));
	msg.type = IPC_USAGE;
	lists.usages = &rec;
	lists.nusages = 1;
	if (wk_agentd_link_send(&msg, &lists) == -1) {
		usage_dropped++;
		if (!usage_drop_logged)
			log_warnx("usage of request %.*s not recorded: agentd %s (%llu so far)",
			    (int)(rec.request_id.len < 64 ? rec.request_id.len : 64),
			    rec.request_id.base ? rec.request_id.base : "",
			    L.up ? "is not reading" : "is not connected",
			    (unsigned long long)usage_dropped);
		usage_drop_logged = 1;
		return -1;
	}
	usage_drop_logged = 0;
	return 0;
}

uint64_t
wk_usage_dropped(void)
{
	return usage_dropped;
}

/* ---- request bodies ---- */

static void
pump(void)
{
	while (L.up && !h2o_linklist_is_empty(&L.pump) && wk_ipc_sock_backlog(&L.io) < PUMP_MARK) {
		struct agentd_pending *p =
		    H2O_STRUCT_FROM_MEMBER(struct agentd_pending, pump_link, L.pump.next);
		size_t total = p->body_len + p->body2_len;
		size_t left = total - p->body_off;
		/* a chunk never spans the two segments */
		size_t seg_left = p->body_off < p->body_len ? p->body_len - p->body_off : left;
		const uint8_t *from = p->body_off < p->body_len || p->body2 == NULL ?
		    p->body + p->body_off : p->body2 + (p->body_off - p->body_len);
		size_t n = seg_left < IPC_MAX_CHUNK ? seg_left : IPC_MAX_CHUNK;
		struct ipc_msg m;

		if (n > p->body_credit)
			n = p->body_credit;
		if (n == 0 && left != 0) {
			/* out of credit: parked until agentd's WINDOW */
			h2o_linklist_unlink(&p->pump_link);
			continue;
		}

		memset(&m, 0, sizeof(m));
		m.type = IPC_REQ_BODY;
		m.u.req_body.id = p->id;
		m.u.req_body.last = n == left;
		m.u.req_body.data.base = (const char *)from;
		m.u.req_body.data.len = n;
		if (wk_ipc_sock_send(&L.io, &m, NULL) != 0)
			return; /* queue full: on_drain pumps again */
		p->body_off += n;
		p->body_credit -= n;
		h2o_linklist_unlink(&p->pump_link);
		if (n != left)
			h2o_linklist_insert(&L.pump, &p->pump_link); /* to the back: round robin */
	}
}

void
wk_agentd_link_send_body(struct agentd_pending *p, const void *body, size_t len)
{
	if (p->id == 0)
		return;
	wk_agentd_link_send_body2(p, body, len, NULL, 0);
}

void
wk_agentd_link_send_body2(struct agentd_pending *p, const void *a, size_t alen, const void *b,
    size_t blen)
{
	if (p->id == 0)
		return;
	p->body = a;
	p->body_len = alen;
	p->body2 = b;
	p->body2_len = blen;
	p->body_off = 0;
	p->body_credit = IPC_BODY_WINDOW;
	if (!h2o_linklist_is_linked(&p->pump_link))
		h2o_linklist_insert(&L.pump, &p->pump_link);
	pump();
}

void
wk_agentd_link_cancel(struct agentd_pending *p)
{
	if (p->id == 0)
		return;
	if (L.up) {
		struct ipc_msg m;

		memset(&m, 0, sizeof(m));
		m.type = IPC_CANCEL;
		m.u.cancel.id = p->id;
		if (wk_ipc_sock_send(&L.io, &m, NULL) != 0)
			log_warnx("agentd queue full: CANCEL for id %" PRIu64 " dropped", p->id);
	}
	wk_agentd_link_unregister(p);
}

void
wk_agentd_link_window(struct agentd_pending *p, uint32_t credit)
{
	struct ipc_msg m;

	if (p->id == 0 || !L.up || credit == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = IPC_WINDOW;
	m.u.window.id = p->id;
	m.u.window.credit = credit;
	(void)wk_ipc_sock_send(&L.io, &m, NULL);
}
