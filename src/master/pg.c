/*
 * pg: the connection itself (see pg.h for the file map).
 *
 * States: no database (standalone) / waiting to retry / connecting
 * (PQconnectPoll driven by poll()) / ready. In ready, statements go out
 * one at a time from a FIFO: the next is sent when the previous one's
 * last result is in, so replies always match their statement, and the
 * order of agentd's reports is the order of the writes.
 *
 * Failures of the connection (EOF, reset, a query unanswered for
 * PG_QUERY_TIMEOUT_MS) drop the queue: everything it held is rebuilt
 * from the master's state on reconnect (pg_agents_resync and a snapshot
 * reload), so nothing needs replaying. A statement that fails on a live
 * connection (constraint, syntax) is logged and skipped.
 *
 * Reloads are coalesced: a NOTIFY sets a flag; at most one reload of
 * each kind waits in the queue, and one that was already sent when the
 * NOTIFY arrived is followed by another.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/queue.h>
#include <sys/random.h>

#include "log.h"
#include "master.h"
#include "pg.h"
#include "usage.h"
#include "xmalloc.h"

#define PG_MAX_PARAMS 9 /* the key load exchange (pg_keyload.c) */
/* After a reconnect, let the other nodes reconnect before expiring them. */
#define PG_SWEEP_GRACE_MS (PG_BACKOFF_MAX_MS + 2000)

enum pg_state { PG_OFF, PG_WAITING, PG_CONNECTING, PG_READY };

struct pg_op {
	TAILQ_ENTRY(pg_op) entry;
	const char *what;
	const char *sql;
	int nparams;
	char *params[PG_MAX_PARAMS];
	pg_done_fn *done;
	void *arg;
	int reload; /* 1 namespaces, 2 agents, 3 keys: a snapshot load */
};

static struct {
	struct master *m;
	enum pg_state state;
	PGconn *conn;
	PostgresPollingStatusType polling;
	uint64_t retry_at, connect_deadline;
	uint32_t backoff_ms;
	int connected_once;
	int outage_logged;
	uint64_t down_since;

	TAILQ_HEAD(pg_op_q, pg_op) ops;
	struct pg_op *inflight;
	PGresult *last;         /* last result of the statement in flight */
	int failed;             /* the statement in flight failed */
	uint64_t inflight_since;
	int want_write;         /* output not yet flushed */

	int want_ns, want_agents;     /* a NOTIFY asked for a reload */
	int queued_ns, queued_agents; /* reloads queued, not yet sent */
	int want_keys, queued_keys;   /* the same for the API keys */
	uint64_t next_heartbeat, next_sweep, expiry_at, ready_since;
	uint64_t grace_until, grace_extra_ms; /* see pg_live_ttl_ms */

	/* node.name is claimed with a random id drawn at start (see claim) */
	char instance[17];
	enum { NAME_UNCLAIMED, NAME_HELD, NAME_LOST } name;
	int claim_queued, resync_first, ever_held;
	int refusing; /* refused to start: stopping once the event is written */
	int unchecked; /* the schema has no nodes.instance (migration 002) */
	char holder[128]; /* "instance heartbeat_at" of a holder we wait out */
	uint64_t next_rewrite;  /* see on_heartbeat */
} pg = { .state = PG_OFF };

static void claim(struct master *m);
static void queue_reload(int kind);
static int enqueue(int reload, const char *what, const char *sql, int nparams,
    const char *const *params, pg_done_fn *done, void *arg);

static void pg_lost(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int
pg_enabled(void)
{
	return pg.state != PG_OFF;
}

int
pg_connected(void)
{
	return pg.state == PG_READY;
}

int
pg_name_state(void)
{
	switch (pg.name) {
	case NAME_HELD:
		return IPC_NAME_HELD;
	case NAME_LOST:
		return IPC_NAME_LOST;
	default:
		return IPC_NAME_UNCLAIMED;
	}
}

/* libpq's messages end with a newline and may hold several lines. */
static const char *
pq_error(void)
{
	static char buf[512];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", pg.conn != NULL ? PQerrorMessage(pg.conn) : "");
	for (char *p = buf; *p != '\0'; p++)
		if (*p == '\n' || *p == '\t')
			*p = ' ';
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	return buf[0] != '\0' ? buf : "unknown error";
}

static void
op_free(struct pg_op *op)
{
	if (op == NULL)
		return;
	for (int i = 0; i < op->nparams; i++)
		free(op->params[i]);
	free(op);
}

static void
queue_clear(void)
{
	struct pg_op *op;

	while ((op = TAILQ_FIRST(&pg.ops)) != NULL) {
		TAILQ_REMOVE(&pg.ops, op, entry);
		op_free(op);
	}
	op_free(pg.inflight);
	pg.inflight = NULL;
	PQclear(pg.last);
	pg.last = NULL;
	pg.queued_ns = pg.queued_agents = 0;
	pg.queued_keys = 0;
	pg.want_write = 0;
}

/* 250 ms doubling to 10 s, each wait +-25% so nodes do not retry in step. */
static void
schedule_retry(void)
{
	uint32_t r = 0, jitter;

	pg.backoff_ms = pg.backoff_ms ? pg.backoff_ms * 2 : PG_BACKOFF_MIN_MS;
	if (pg.backoff_ms > PG_BACKOFF_MAX_MS)
		pg.backoff_ms = PG_BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (uint32_t)master_now_ms() * 2654435761u;
	jitter = pg.backoff_ms / 2;
	pg.retry_at = master_now_ms() + pg.backoff_ms - pg.backoff_ms / 4 + (jitter ? r % jitter : 0);
	pg.state = PG_WAITING;
}

static void
pg_lost(const char *fmt, ...)
{
	char why[600];
	va_list ap;

	uint64_t since = master_now_ms();

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* a statement unanswered (a stall, up to PG_QUERY_TIMEOUT_MS): the
	 * database has been away since it was sent, not since we gave up */
	if (pg.state == PG_READY && pg.inflight != NULL && pg.inflight_since < since)
		since = pg.inflight_since;
	queue_clear();
	pg_usage_lost(); /* its statement in flight was just dropped */
	pg_keyload_lost();
	if (pg.conn != NULL)
		PQfinish(pg.conn);
	pg.conn = NULL;
	if (!pg.outage_logged) {
		if (pg_snapshot_loaded())
			log_warnx("database: %s; serving from the last snapshot and reconnecting",
			    why);
		else
			log_warnx("database: %s; no snapshot yet (never loaded): no namespace "
			    "tokens and no agents of other nodes until it connects; retrying", why);
		pg.outage_logged = 1;
		pg.down_since = since;
	} else
		log_debug("database: %s", why);
	/* the refusal's event is lost with the connection; the log has it */
	if (pg.refusing)
		master_stop(pg.m, STOP_GRACEFUL, EXIT_NAME_TAKEN, "node name in use");
	schedule_retry();
}

static void
start_connect(void)
{
	pg.conn = PQconnectStart(pg.m->conf->database.url);
	if (pg.conn == NULL) {
		pg_lost("cannot allocate a connection");
		return;
	}
	if (PQstatus(pg.conn) == CONNECTION_BAD) {
		pg_lost("cannot connect: %s", pq_error());
		return;
	}
	pg.state = PG_CONNECTING;
	pg.polling = PGRES_POLLING_WRITING;
	pg.connect_deadline = master_now_ms() + PG_CONNECT_TIMEOUT_MS;
}

static void
on_listen(struct master *m, PGresult *res, void *arg)
{
	(void)m;
	(void)arg;
	if (res == NULL)
		pg_lost("LISTEN failed");
}

static void
connected(void)
{
	char gone[32];
	uint64_t now = master_now_ms();

	if (PQsetnonblocking(pg.conn, 1) != 0) {
		pg_lost("cannot make the connection non-blocking: %s", pq_error());
		return;
	}
	pg.state = PG_READY;
	pg.backoff_ms = 0;
	pg.ready_since = now;
	if (pg.outage_logged) {
		fmt_seconds(gone, sizeof(gone), now - pg.down_since);
		log_info("database: connected again after %s; resynchronising", gone);
		pg.grace_extra_ms = now - pg.down_since;
		pg.grace_until = now + pg.m->conf->node.ttl_ms;
	} else
		log_info("database: connected as node %s", pg.m->conf->node.name);
	pg.outage_logged = 0;
	enqueue(0, "LISTEN", "LISTEN tokilake", 0, NULL, on_listen, NULL);
	/* the row may have been taken while we were away: claim it first */
	if (pg.name == NAME_HELD)
		pg.name = NAME_UNCLAIMED;
	/* this node's row and agents are written once the name is ours */
	pg.resync_first = !pg.connected_once;
	pg.claim_queued = 0;
	pg.unchecked = 0; /* migrated meanwhile? */
	claim(pg.m);
	pg.connected_once = 1;
	pg.want_ns = pg.want_agents = 0;
	pg_want_reload(1, 1);
	pg.want_keys = 1;
	queue_reload(3);
	pg.next_heartbeat = now + pg.m->conf->node.heartbeat_interval_ms;
	pg.next_sweep = now + PG_SWEEP_GRACE_MS + pg.m->conf->node.ttl_ms;
}

static void
connect_step(void)
{
	pg.polling = PQconnectPoll(pg.conn);
	if (pg.polling == PGRES_POLLING_FAILED)
		pg_lost("cannot connect: %s", pq_error());
	else if (pg.polling == PGRES_POLLING_OK)
		connected();
}

/* ---- the statement queue ---- */

static void
send_next(void)
{
	struct pg_op *op;

	while (pg.state == PG_READY && pg.inflight == NULL && (op = TAILQ_FIRST(&pg.ops)) != NULL) {
		TAILQ_REMOVE(&pg.ops, op, entry);
		if (op->reload == 1) {
			pg.queued_ns--;
			pg.want_ns = 0;
		} else if (op->reload == 2) {
			pg.queued_agents--;
			pg.want_agents = 0;
		} else if (op->reload == 3) {
			pg.queued_keys--;
			pg.want_keys = 0;
		}
		if (!PQsendQueryParams(pg.conn, op->sql, op->nparams, NULL,
		    (const char *const *)op->params, NULL, NULL, 0)) {
			op_free(op);
			pg_lost("cannot send a statement: %s", pq_error());
			return;
		}
		pg.inflight = op;
		pg.failed = 0;
		pg.inflight_since = master_now_ms();
		pg.want_write = PQflush(pg.conn) == 1;
	}
}

static int
enqueue(int reload, const char *what, const char *sql, int nparams, const char *const *params,
    pg_done_fn *done, void *arg)
{
	struct pg_op *op;

	if (pg.state != PG_READY)
		return 0;
	if (nparams > PG_MAX_PARAMS)
		fatalx("pg_query %s: %d parameters", what, nparams);
	op = xcalloc(1, sizeof(*op));
	op->what = what;
	op->sql = sql;
	op->nparams = nparams;
	for (int i = 0; i < nparams; i++)
		op->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
	op->done = done;
	op->arg = arg;
	op->reload = reload;
	if (reload == 1)
		pg.queued_ns++;
	else if (reload == 2)
		pg.queued_agents++;
	else if (reload == 3)
		pg.queued_keys++;
	TAILQ_INSERT_TAIL(&pg.ops, op, entry);
	send_next();
	return 1;
}

/* Writes about this node wait until its name is claimed; a node whose
 * name was taken by another instance writes nothing more. */
int
pg_query(const char *what, const char *sql, int nparams, const char *const *params,
    pg_done_fn *done, void *arg)
{
	if (pg.name != NAME_HELD)
		return 0;
	return enqueue(0, what, sql, nparams, params, done, arg);
}

int
pg_query_reload(int kind, const char *what, const char *sql, int nparams,
    const char *const *params, pg_done_fn *done, void *arg)
{
	return enqueue(kind, what, sql, nparams, params, done, arg);
}

static void
queue_reload(int kind)
{
	if (pg.state != PG_READY)
		return;
	if (kind == 1 && pg.queued_ns == 0)
		pg_snapshot_load_namespaces();
	else if (kind == 2 && pg.queued_agents == 0)
		pg_snapshot_load_agents();
	else if (kind == 3 && pg.queued_keys == 0)
		pg_keys_load();
}

void
pg_want_reload(int namespaces, int agents)
{
	if (namespaces) {
		pg.want_ns = 1;
		queue_reload(1);
	}
	if (agents) {
		pg.want_agents = 1;
		queue_reload(2);
	}
}

/*
 * The heartbeat age past which a node counts as dead. While the database
 * was away nobody could write a heartbeat, so right after an outage every
 * other node looks dead until it reconnects too (measured: 16 of 82
 * forwarded requests got 503 in that window). For node.ttl after our
 * reconnect the outage's length is added; a node that really died then
 * still leaves within that time.
 */
uint32_t
pg_live_ttl_ms(uint64_t *grace_left_ms)
{
	uint64_t now = master_now_ms(), ttl = pg.m->conf->node.ttl_ms;

	*grace_left_ms = 0;
	if (now < pg.grace_until) {
		*grace_left_ms = pg.grace_until - now;
		ttl += pg.grace_extra_ms;
	}
	return ttl > UINT32_MAX ? UINT32_MAX : (uint32_t)ttl;
}

void
pg_expiry_in(int64_t ms)
{
	uint64_t at = master_now_ms() + (ms > 0 ? (uint64_t)ms : 0) + 20;

	if (pg.expiry_at == 0 || at < pg.expiry_at)
		pg.expiry_at = at;
}

/* The statement in flight is complete: hand its result over, send the next. */
static void
finish_inflight(void)
{
	struct pg_op *op = pg.inflight;
	PGresult *res = pg.failed ? NULL : pg.last;

	pg.inflight = NULL;
	if (op->done != NULL)
		op->done(pg.m, res, op->arg);
	PQclear(pg.last);
	pg.last = NULL;
	/* a NOTIFY that came while this reload ran asks for another */
	if (op->reload == 1 && pg.want_ns)
		queue_reload(1);
	if (op->reload == 2 && pg.want_agents)
		queue_reload(2);
	if (op->reload == 3 && pg.want_keys)
		queue_reload(3);
	op_free(op);
	send_next();
}

static void
read_results(void)
{
	PGnotify *n;
	int any = 0;

	if (!PQconsumeInput(pg.conn)) {
		pg_lost("connection lost: %s", pq_error());
		return;
	}
	while (pg.inflight != NULL && !PQisBusy(pg.conn)) {
		PGresult *res = PQgetResult(pg.conn);
		ExecStatusType st;

		if (res == NULL) {
			finish_inflight();
			if (pg.state != PG_READY)
				return;
			continue;
		}
		st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			char *msg = PQresultErrorMessage(res);
			size_t len = strlen(msg);

			while (len > 0 && msg[len - 1] == '\n')
				len--;
			/* the server going down (class 57P) or the link breaking
			 * is the outage, logged once by pg_lost() */
			if (PQstatus(pg.conn) != CONNECTION_OK ||
			    (state != NULL && strncmp(state, "57P", 3) == 0) ||
			    (st == PGRES_FATAL_ERROR && state == NULL))
				log_debug("database: %s failed: %.*s", pg.inflight->what, (int)len, msg);
			else
				log_warnx("database: %s failed: %.*s", pg.inflight->what, (int)len, msg);
			pg.failed = 1;
		}
		PQclear(pg.last);
		pg.last = res;
	}
	if (PQstatus(pg.conn) == CONNECTION_BAD) {
		pg_lost("connection lost: %s", pq_error());
		return;
	}
	while ((n = PQnotifies(pg.conn)) != NULL) {
		log_debug("database: NOTIFY %s %s", n->relname, n->extra);
		if (strcmp(n->relname, "tokilake") == 0) {
			if (strcmp(n->extra, "namespaces") == 0 ||
			    strcmp(n->extra, "namespace_tokens") == 0)
				pg.want_ns = 1;
			else if (strcmp(n->extra, "agents") == 0 ||
			    strcmp(n->extra, "agent_models") == 0 || strcmp(n->extra, "nodes") == 0)
				pg.want_agents = 1;
			else if (strcmp(n->extra, "api_keys") == 0)
				pg.want_keys = 1;
			else
				pg.want_ns = pg.want_agents = pg.want_keys = 1;
			any = 1;
		}
		PQfreemem(n);
	}
	if (any) {
		pg_want_reload(pg.want_ns, pg.want_agents);
		if (pg.want_keys)
			queue_reload(3);
	}
}

/* ---- the master's loop ---- */

void
pg_init(struct master *m)
{
	uint64_t r;

	pg.m = m;
	TAILQ_INIT(&pg.ops);
	if (m->conf->database.url == NULL) {
		pg.state = PG_OFF;
		return;
	}
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		fatal("getrandom");
	snprintf(pg.instance, sizeof(pg.instance), "%016llx", (unsigned long long)r);
	log_info("PostgreSQL mode: node %s (instance %s), reachable by other nodes at %s",
	    m->conf->node.name, pg.instance, m->conf->node.internal_url);
	start_connect();
}

int
pg_pollfd(struct pollfd *pfd)
{
	int fd;

	if (pg.conn == NULL || (pg.state != PG_CONNECTING && pg.state != PG_READY) ||
	    (fd = PQsocket(pg.conn)) < 0)
		return 0;
	pfd->fd = fd;
	pfd->revents = 0;
	if (pg.state == PG_CONNECTING)
		pfd->events = pg.polling == PGRES_POLLING_READING ? POLLIN : POLLOUT;
	else
		pfd->events = POLLIN | (pg.want_write ? POLLOUT : 0);
	return 1;
}

void
pg_handle_events(short revents)
{
	if (revents == 0 || pg.conn == NULL)
		return;
	if (pg.state == PG_CONNECTING) {
		connect_step();
		return;
	}
	if (pg.state != PG_READY)
		return;
	if (revents & POLLOUT) {
		int r = PQflush(pg.conn);

		if (r == -1) {
			pg_lost("write failed: %s", pq_error());
			return;
		}
		pg.want_write = r == 1;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR))
		read_results();
}

uint64_t
pg_next_timer(void)
{
	uint64_t t = 0;

#define EARLIER(x) do { if ((x) != 0 && (t == 0 || (x) < t)) t = (x); } while (0)
	switch (pg.state) {
	case PG_WAITING:
		EARLIER(pg.retry_at);
		break;
	case PG_CONNECTING:
		EARLIER(pg.connect_deadline);
		break;
	case PG_READY:
		EARLIER(pg.next_heartbeat);
		EARLIER(pg.next_sweep);
		EARLIER(pg.expiry_at);
		if (pg.inflight != NULL)
			EARLIER(pg.inflight_since + PG_QUERY_TIMEOUT_MS);
		EARLIER(pg_usage_next_timer());
		break;
	default:
		break;
	}
#undef EARLIER
	return t;
}

static void heartbeat(struct master *m);
static void sweep(struct master *m);

void
pg_run_timers(uint64_t now)
{
	switch (pg.state) {
	case PG_WAITING:
		if (now >= pg.retry_at)
			start_connect();
		break;
	case PG_CONNECTING:
		if (now >= pg.connect_deadline)
			pg_lost("connecting timed out");
		break;
	case PG_READY:
		if (pg.inflight != NULL && now >= pg.inflight_since + PG_QUERY_TIMEOUT_MS) {
			pg_lost("%s got no answer in %ds", pg.inflight->what,
			    PG_QUERY_TIMEOUT_MS / 1000);
			break;
		}
		if (now >= pg.next_heartbeat) {
			pg.next_heartbeat = now + pg.m->conf->node.heartbeat_interval_ms;
			heartbeat(pg.m);
		}
		if (pg.state == PG_READY && now >= pg.next_sweep) {
			pg.next_sweep = now + pg.m->conf->node.ttl_ms;
			sweep(pg.m);
		}
		if (pg.state == PG_READY && pg.expiry_at != 0 && now >= pg.expiry_at) {
			pg.expiry_at = 0;
			pg_want_reload(0, 1);
		}
		if (pg.state == PG_READY)
			pg_usage_run(now);
		break;
	default:
		break;
	}
}

/* A forked child must not touch the connection: close its descriptor
 * only (PQfinish would say goodbye on the master's behalf). */
void
pg_close_in_child(struct master *m)
{
	(void)m;
	if (pg.conn != NULL && PQsocket(pg.conn) >= 0)
		close(PQsocket(pg.conn));
}

void
pg_shutdown(void)
{
	queue_clear();
	if (pg.conn != NULL)
		PQfinish(pg.conn);
	pg.conn = NULL;
	pg.state = PG_OFF;
	pg_snapshot_free();
	pg_agents_free();
	pg_keys_free();
	pg_usage_free();
	pg_keyload_free();
}

/* ---- liveness ---- */

/*
 * Claiming node.name. The upsert overwrites the row only when it is ours
 * (same instance) or stale (no heartbeat for node.ttl: a crashed node, or
 * a row from before migration 002); a live row of another instance is
 * left alone. The SELECT sees the row as it was before the upsert, so a
 * refusal or a takeover can say whose it was.
 */
static const char sql_claim[] =
    "WITH c AS (INSERT INTO nodes (name, internal_url, instance, started_at, heartbeat_at) "
    "VALUES ($1, $2, $3, now(), now()) "
    "ON CONFLICT (name) DO UPDATE SET instance = EXCLUDED.instance, "
    "internal_url = EXCLUDED.internal_url, heartbeat_at = now() "
    "WHERE nodes.instance = EXCLUDED.instance OR nodes.heartbeat_at < now() - $4::interval "
    "RETURNING 1) "
    "SELECT (SELECT count(*) FROM c), n.instance, n.internal_url, "
    "to_char(n.started_at, 'YYYY-MM-DD HH24:MI:SSOF'), "
    "floor(extract(epoch FROM now() - n.heartbeat_at))::bigint, "
    "n.instance || ' ' || n.heartbeat_at::text "
    "FROM (SELECT 1) one LEFT JOIN nodes n ON n.name = $1";

/*
 * A refusal, a takeover or a loss of node.name leaves an event, written
 * whether or not the name is ours (enqueue, not pg_query): the name, both
 * instance ids and both internal_urls, for the operator who wonders
 * where a node went.
 */
static const char sql_name_event[] =
    "INSERT INTO events (node, kind, detail) VALUES ($1, $2, $3)";

static int
name_event(struct master *m, const char *kind, const char *inst, const char *url,
    const char *what, pg_done_fn *done)
{
	char detail[600];
	const char *p[3] = { m->conf->node.name, kind, detail };

	snprintf(detail, sizeof(detail), "instance %s at %s %s instance %s at %s", pg.instance,
	    m->conf->node.internal_url, what, inst[0] != '\0' ? inst : "(none)", url);
	return enqueue(0, "writing a node name event", sql_name_event, 3, p, done, NULL);
}

/* the refusal is in events (or failed there, logged): now stop */
static void
on_refusal_written(struct master *m, PGresult *res, void *arg)
{
	(void)res;
	(void)arg;
	master_stop(m, STOP_GRACEFUL, EXIT_NAME_TAKEN, "node name in use");
}

static void
on_claim(struct master *m, PGresult *res, void *arg)
{
	const char *name = m->conf->node.name;
	const char *inst, *url, *since, *silent;
	int was = pg.name;

	(void)arg;
	pg.claim_queued = 0;
	if (res == NULL || PQntuples(res) != 1 || PQnfields(res) != 6) {
		/* schema without migration 002: keep the old behaviour, loudly */
		log_warnx("database: cannot claim node name %s (run tokilakectl db migrate?); "
		    "writing the row unchecked", name);
		pg.name = NAME_HELD;
		pg.ever_held = 1;
		pg.unchecked = 1;
		pg_agents_resync(m, pg.resync_first);
		pg.resync_first = 0;
		return;
	}
	inst = PQgetvalue(res, 0, 1);
	url = PQgetvalue(res, 0, 2);
	since = PQgetvalue(res, 0, 3);
	silent = PQgetvalue(res, 0, 4);
	if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
		char why[512];

		if (pg.name == NAME_LOST)
			return; /* said so already; try again at the next heartbeat */
		snprintf(why, sizeof(why), "node name %s is held by another running node "
		    "(instance %s at %s, started %s, last heartbeat %ss ago); give this node "
		    "its own node.name", name, inst, url, since, silent);
		if (!pg.ever_held && pg.holder[0] == '\0') {
			/* this node's own previous run, killed, looks the same
			 * as a live twin until it misses a heartbeat: look again
			 * at the next heartbeat tick */
			snprintf(pg.holder, sizeof(pg.holder), "%s", PQgetvalue(res, 0, 5));
			log_warnx("database: node name %s is held by instance %s at %s "
			    "(last heartbeat %ss ago); waiting: a node that writes no "
			    "heartbeat for node.ttl has crashed and its name is taken over",
			    name, inst, url, silent);
			return;
		}
		if (!pg.ever_held && strcmp(pg.holder, PQgetvalue(res, 0, 5)) == 0)
			return; /* still silent: its row goes stale after node.ttl */
		if (!pg.ever_held) {
			log_warnx("ERROR: database: %s; refusing to start", why);
			pg.refusing = 1;
			if (!name_event(m, "node_name_refused", inst, url,
			    "refused to start: the name is held by", on_refusal_written))
				master_stop(m, STOP_GRACEFUL, EXIT_NAME_TAKEN, "node name in use");
		} else {
			log_warnx("ERROR: database: %s; this node stops claiming the name: "
			    "no more heartbeats or agents written (its agents are served "
			    "here only)", why);
			name_event(m, "node_name_lost", inst, url,
			    "stops claiming the name, now held by", NULL);
		}
		pg.name = NAME_LOST;
		return;
	}
	if (PQgetisnull(res, 0, 1))
		log_debug("database: node name %s claimed (instance %s)", name, pg.instance);
	else if (strcmp(inst, pg.instance) != 0) {
		log_warnx("database: node name %s taken over from instance %s at %s "
		    "(silent %ss, past node.ttl)", name, inst[0] ? inst : "(none)", url, silent);
		name_event(m, "node_name_taken_over", inst, url,
		    "took the name over (silent past node.ttl) from", NULL);
	}
	if (was == NAME_LOST)
		log_warnx("database: node name %s is this node's again (instance %s)", name,
		    pg.instance);
	pg.name = NAME_HELD;
	pg.ever_held = 1;
	if (was != NAME_HELD || PQgetisnull(res, 0, 1) || strcmp(inst, pg.instance) != 0) {
		pg_agents_resync(m, pg.resync_first);
		pg.resync_first = 0;
	}
}

static void
claim(struct master *m)
{
	char ttl[48];
	const char *p[4] = { m->conf->node.name, m->conf->node.internal_url, pg.instance, ttl };

	if (pg.claim_queued)
		return;
	snprintf(ttl, sizeof(ttl), "%u milliseconds", m->conf->node.ttl_ms);
	pg.claim_queued = enqueue(0, "claiming the node name", sql_claim, 4, p, on_claim, NULL);
}

/*
 * A heartbeat also heals liveness. Heartbeats are not announced, so a node
 * that the others expired (its heartbeat stalled past their TTL: a slow
 * link, a paused relay) would stay gone for them once its heartbeats
 * resume. Two checks, in the same statement:
 *  - our previous heartbeat was older than the stale bound (2 intervals,
 *    at most the TTL): the others may have dropped us; announce 'agents'
 *    so they load our agents again;
 *  - the database holds another number of our agents than we wrote
 *    (a sweep deleted them, or tokilakectl): write them all again.
 * Statements go out in order, so every write of an agent reported before
 * this heartbeat is done when it runs: the count it compares with is the
 * number of agents we held when it was queued (arg).
 */
static const char sql_heartbeat[] =
    "WITH o AS (SELECT name FROM nodes WHERE name = $1 AND instance = $2 "
    "AND heartbeat_at < now() - $3::interval), "
    "w AS (SELECT pg_notify('tokilake', 'agents') FROM o), "
    "n AS (UPDATE nodes SET heartbeat_at = now() WHERE name = $1 AND instance = $2 "
    "RETURNING name), "
    "a AS (UPDATE agents SET heartbeat_at = now() WHERE node = $1 "
    "AND EXISTS (SELECT 1 FROM n) RETURNING agent_id) "
    "SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM a), (SELECT count(*) FROM w)";

/* the same without the instance, until the schema is migrated */
static const char sql_heartbeat_unchecked[] =
    "WITH o AS (SELECT name FROM nodes WHERE name = $1 AND heartbeat_at < now() - $2::interval), "
    "w AS (SELECT pg_notify('tokilake', 'agents') FROM o), "
    "n AS (UPDATE nodes SET heartbeat_at = now() WHERE name = $1 RETURNING name), "
    "a AS (UPDATE agents SET heartbeat_at = now() WHERE node = $1 RETURNING agent_id) "
    "SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM a), (SELECT count(*) FROM w)";

static void
on_heartbeat(struct master *m, PGresult *res, void *arg)
{
	size_t held = (size_t)(uintptr_t)arg, rows;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) != 3)
		return;
	if (strcmp(PQgetvalue(res, 0, 2), "0") != 0)
		log_warnx("database: the last heartbeat of node %s was written more than "
		    "%ums ago; the other nodes may have expired it: announcing it alive",
		    m->conf->node.name, pg_heartbeat_stale_ms(m));
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		/* our row is gone (tokilakectl, a sweep) or another instance has it */
		log_warnx("database: the row of node %s is gone or not ours; claiming it again",
		    m->conf->node.name);
		claim(m);
		return;
	}
	rows = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	/* at most once a TTL: an agent whose row cannot be written (its
	 * namespace deleted a moment ago) must not make every heartbeat
	 * rewrite them all */
	if (rows != held && master_now_ms() >= pg.next_rewrite) {
		pg.next_rewrite = master_now_ms() + m->conf->node.ttl_ms;
		log_warnx("database: %zu agent row%s of node %s where %zu %s linked here "
		    "(expired by another node?); writing them again", rows,
		    rows == 1 ? "" : "s", m->conf->node.name, held, held == 1 ? "is" : "are");
		pg_agents_resync(m, 0);
	}
}

/* Twice the heartbeat interval, at most node.ttl: a gap this long is no
 * ordinary jitter. */
uint32_t
pg_heartbeat_stale_ms(const struct master *m)
{
	uint64_t t = 2 * (uint64_t)m->conf->node.heartbeat_interval_ms;

	return t < m->conf->node.ttl_ms ? (uint32_t)t : m->conf->node.ttl_ms;
}

static void
heartbeat(struct master *m)
{
	char stale[48];
	const char *p[3] = { m->conf->node.name, pg.instance, stale };
	const char *pu[2] = { m->conf->node.name, stale };
	void *held = (void *)(uintptr_t)pg_agents_count();

	/* a node that lost its name only looks whether it became free */
	if (pg.name != NAME_HELD) {
		claim(m);
		return;
	}
	snprintf(stale, sizeof(stale), "%u milliseconds", pg_heartbeat_stale_ms(m));
	if (pg.unchecked)
		pg_query("heartbeat", sql_heartbeat_unchecked, 2, pu, on_heartbeat, held);
	else
		pg_query("heartbeat", sql_heartbeat, 3, p, on_heartbeat, held);
}

/* Nodes silent past the TTL lose their agents rows. Each expiry says so
 * once in events: 'node_expired' for the node (with or without agents;
 * not again while it stays silent: an event newer than its last
 * heartbeat is there) and 'agent_unlinked' for each agent it drops. Any
 * node may do it; doing it twice changes nothing (two sweeps at the very
 * same moment may both write the node's event). */
static const char sql_sweep[] =
    "WITH dead AS (SELECT n.name FROM nodes n WHERE n.heartbeat_at < now() - $1::interval "
    "AND n.name <> $2 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.node = n.name "
    "AND e.kind = 'node_expired' AND e.at >= n.heartbeat_at)), "
    "d AS (DELETE FROM agents WHERE node IN (SELECT name FROM dead) "
    "RETURNING agent_id, namespace, node), "
    "u AS (INSERT INTO events (node, namespace, agent_id, kind, detail) "
    "SELECT node, namespace, agent_id, 'agent_unlinked', 'node ' || node || ' expired' FROM d) "
    "INSERT INTO events (node, kind, detail) "
    "SELECT name, 'node_expired', 'no heartbeat for ' || $1 FROM dead";

static void
sweep(struct master *m)
{
	char ttl[48];
	const char *p[2] = { ttl, m->conf->node.name };

	snprintf(ttl, sizeof(ttl), "%u milliseconds", m->conf->node.ttl_ms);
	pg_query("expiring silent nodes", sql_sweep, 2, p, NULL, NULL);
}
