/* master_link: see master_link.h. */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "apikey.h"
#include "auth.h"
#include "ipc_sock.h"
#include "log.h"
#include "master_link.h"
#include "oai_error.h"
#include "worker.h"
#include "xmalloc.h"

/* Only small control frames go this way. */
#define QUEUE_MAX (256 * 1024)

static struct {
	struct ipc_sock io;
	int started;
	uint64_t last_served;
	uint32_t last_active;
	int status_sent;
	struct apikey_table *keys_next; /* KEYS frames so far, until more = 0 */
	struct wk_node_state state;
} M;

static void
send_msg(const struct ipc_msg *msg)
{
	if (wk_ipc_sock_send(&M.io, msg, NULL) != 0 && M.io.sock != NULL)
		log_warnx("master link queue full: %s dropped", ipc_type_name(msg->type));
}

/* s as a C string in out[size]: -1 if it does not fit or holds a NUL. */
static int
str_in(struct ipc_str s, char *out, size_t size)
{
	if (s.len >= size || (s.len > 0 && memchr(s.base, '\0', s.len) != NULL))
		return -1;
	ipc_str_copy(out, size, s);
	return 0;
}

/* One key of a KEYS frame with its patterns (the next entries of *ai
 * that name it) into the table being collected. A key that does not
 * make sense is skipped with a log line: the others still count. */
static void
add_key(const struct ipc_key *e, struct ipc_list_iter *ai, struct ipc_key_allow *a, int *have_a)
{
	char name[APIKEY_NAME_MAX + 1], owner[APIKEY_OWNER_MAX + 1], err[256];
	char *allow[APIKEY_PATTERNS_MAX];
	struct apikey k;
	int bad = 0;

	memset(&k, 0, sizeof(k));
	if (str_in(e->name, name, sizeof(name)) == -1) {
		snprintf(name, sizeof(name), "?");
		bad = 1;
	}
	if (str_in(e->owner, owner, sizeof(owner)) == -1 ||
	    str_in(e->hash, k.hash, sizeof(k.hash)) == -1)
		bad = 1;
	for (; *have_a && a->key.len == e->name.len &&
	    memcmp(a->key.base, e->name.base, a->key.len) == 0;
	    *have_a = ipc_key_allow_next(ai, a)) {
		char pat[APIKEY_PATTERN_MAX + 1];

		if (k.nallow == APIKEY_PATTERNS_MAX || str_in(a->pattern, pat, sizeof(pat)) == -1)
			bad = 1;
		else
			allow[k.nallow++] = xstrdup(pat);
	}
	k.name = name;
	k.owner = owner;
	k.allow = allow;
	k.limits.rpm = e->rpm;
	k.limits.tpm = e->tpm;
	k.limits.max_in_flight = e->max_in_flight;
	k.limits.tokens_per_day = e->tokens_per_day;
	k.limits.tokens_per_month = e->tokens_per_month;
	k.expires_at = e->expires_at > INT64_MAX ? INT64_MAX : (int64_t)e->expires_at;
	k.disabled = e->disabled != 0;
	if (bad)
		log_warnx("KEYS from the master: key %s is malformed; skipped", name);
	else if (apikey_table_add(M.keys_next, &k, err, sizeof(err)) == -1)
		log_warnx("KEYS from the master: %s; skipped", err);
	for (size_t i = 0; i < k.nallow; i++)
		free(allow[i]);
}

/* KEYS: the database's keys, a full replace once the last frame is in. */
static void
on_keys(const struct ipc_msg *msg)
{
	struct ipc_list_iter ki, ai;
	struct ipc_key e;
	struct ipc_key_allow a;
	int have_a;

	if (M.keys_next == NULL)
		M.keys_next = apikey_table_new();
	ipc_list_begin(&ki, &msg->u.keys.keys);
	ipc_list_begin(&ai, &msg->u.keys.allow);
	have_a = ipc_key_allow_next(&ai, &a);
	while (ipc_key_next(&ki, &e))
		add_key(&e, &ai, &a, &have_a);
	if (have_a)
		log_warnx("KEYS from the master: allow patterns without their key; ignored");
	if (msg->u.keys.more)
		return;
	wk_auth_set_keyed(msg->u.keys.keyed != 0);
	wk_auth_set_keys(M.keys_next);
	M.keys_next = NULL;
}

static void
on_msg(struct ipc_sock *io, const struct ipc_msg *msg)
{
	switch (msg->type) {
	case IPC_SHUTDOWN:
		if (msg->u.shutdown.mode == IPC_SHUTDOWN_FAST)
			wk_stop_now("fast shutdown requested by the master");
		else
			wk_begin_drain(msg->u.shutdown.timeout_ms, "graceful shutdown requested by the master");
		break;
	case IPC_LOG_REOPEN:
		log_reopen();
		log_info("log file reopened");
		break;
	case IPC_NODE_STATE:
		M.state.known = 1;
		M.state.database = msg->u.node_state.database;
		M.state.snapshot = msg->u.node_state.snapshot;
		M.state.name = msg->u.node_state.name;
		M.state.since = msg->u.node_state.since;
		break;
	case IPC_KEYS:
		on_keys(msg);
		break;
	default:
		/* CONFIG is for agentd; anything else is a master bug */
		log_warnx("master sent an unexpected %s to a worker: ignored", ipc_type_name(msg->type));
		break;
	}
}

static void
on_close(struct ipc_sock *io, const char *why)
{
	if (why == wk_ipc_sock_eof) {
		wk_begin_drain(0, "the master is gone");
		return;
	}
	/* a bad frame or an I/O error on a socketpair: our own bug */
	log_warnx("master link failed: %s; stopping", why);
	wk_begin_drain(0, "the master link failed");
}

void
wk_master_start(void)
{
	struct ipc_msg m;

	wk_ipc_sock_init(&M.io, "master", QUEUE_MAX, &wk.ctx.zero_timeout);
	M.io.on_msg = on_msg;
	M.io.on_close = on_close;
	wk_ipc_sock_attach(&M.io, h2o_evloop_socket_create(wk.loop, wk.cctx->master_fd, 0));
	M.started = 1;
	/* PostgreSQL mode: the keys are the database's, pushed by the master
	 * after HELLO; until then a request that needs one gets 503 */
	if (wk.conf->database.url != NULL)
		wk_auth_keys_pending(1);

	memset(&m, 0, sizeof(m));
	m.type = IPC_HELLO;
	m.u.hello.version = IPC_VERSION;
	m.u.hello.role = IPC_ROLE_WORKER;
	m.u.hello.slot = wk.cctx->slot;
	m.u.hello.pid = (uint32_t)getpid();
	m.u.hello.generation = wk.cctx->generation;
	send_msg(&m);
}

void
wk_master_ready(void)
{
	struct ipc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = IPC_READY;
	m.u.ready.generation = wk.cctx->generation;
	send_msg(&m);
}

void
wk_master_status(void)
{
	struct ipc_msg m;

	if (M.status_sent && M.last_served == wk.served && M.last_active == wk.active)
		return;
	memset(&m, 0, sizeof(m));
	m.type = IPC_STATUS;
	m.u.status.served = wk.served;
	m.u.status.active = wk.active;
	send_msg(&m);
	M.last_served = wk.served;
	M.last_active = wk.active;
	M.status_sent = 1;
}

void
wk_master_stop(void)
{
	if (!M.started)
		return;
	M.started = 0;
	wk_ipc_sock_free(&M.io);
	apikey_table_free(M.keys_next);
	M.keys_next = NULL;
}

const struct wk_node_state *
wk_master_node_state(void)
{
	return &M.state;
}

/*
 * A node in PostgreSQL mode that never loaded a snapshot has no namespace
 * tokens and no other node's agents: nothing it says about models is
 * true. A node whose name another instance holds is unknown to the
 * network. One serving from an old snapshot while reconnecting can serve.
 */
static const char *
no_snapshot(void)
{
	/* PostgreSQL mode, before the master's first NODE_STATE: a worker
	 * just started knows nothing yet, and must not say "ok" */
	if (!M.state.known)
		return wk.conf->database.url != NULL ?
		    "starting: the node's database state is not known yet" : NULL;
	if (M.state.database == IPC_DB_STANDALONE || M.state.snapshot)
		return NULL;
	return M.state.database == IPC_DB_CONNECTED ?
	    "no database snapshot yet: loading it from PostgreSQL" :
	    "no database snapshot yet: cannot reach PostgreSQL";
}

const char *
wk_node_unavailable(void)
{
	if (M.state.known && M.state.database != IPC_DB_STANDALONE &&
	    M.state.name == IPC_NAME_LOST)
		return "node.name held by another instance";
	return no_snapshot();
}

int
wk_node_refuse_models(h2o_req_t *req)
{
	const char *why = no_snapshot();

	if (why == NULL)
		return 0;
	wk_oai_send_error(req, 503, "service_unavailable", NULL, "node_unavailable",
	    "this node cannot serve models yet (%s); retry, or use another node", why);
	return 1;
}
