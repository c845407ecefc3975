/*
 * pg_agents: this node's agents, as agentd reports them (AGENT_UP,
 * AGENT_MODELS, AGENT_DOWN, and AGENT_STATE: their load and breaker),
 * written to the database.
 *
 * The master keeps its own table of the agents linked here, so that the
 * database can always be made right again without asking agentd: on
 * every (re)connect this node's row is upserted, its agents rows are
 * deleted (rows of a previous run or written before an outage) and the
 * table is written again, all in one transaction: the other nodes, which
 * reload on the NOTIFY of the commit, never see the node without its
 * agents. (The statements of the transaction go out one after another
 * from the queue; nothing else is queued between them. One that fails
 * aborts it, the COMMIT then rolls back, and the next heartbeat finds
 * the rows wrong and writes them again: see pg.c's heartbeat.) Reports that arrive while the
 * database is away only change the table. An agent whose link event was
 * never written gets its 'agent_linked' event when it finally is.
 *
 * When agentd restarts, its agents are gone with it (the new agentd has a
 * new boot nonce, so new ids): the table is cleared and so are the rows.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "master.h"
#include "pg.h"
#include "xmalloc.h"

struct local_agent {
	char *gid, *ns, *name;
	char *instance; /* the tokiame's own id, shared by its links (006) */
	uint64_t linked_at;
	char *models;  /* JSON array of {model, kind, context_length} */
	size_t nmodels;
	int logged;    /* its agent_linked event is written */
};

static struct local_agent *agents;
static size_t nagents;
static time_t started_at;

static const char sql_node_up[] =
    "INSERT INTO nodes (name, internal_url, started_at, heartbeat_at) "
    "VALUES ($1, $2, to_timestamp($3), now()) "
    "ON CONFLICT (name) DO UPDATE SET internal_url = EXCLUDED.internal_url, "
    "started_at = EXCLUDED.started_at, heartbeat_at = now()";

static const char sql_node_event[] =
    "INSERT INTO events (node, kind, detail) VALUES ($1, 'node_started', $2)";

/* This node's agents rows go; those of agents not linked here any more
 * ($2: a JSON array of the ids that are, and are written again next) get
 * their 'agent_unlinked' event ($3 says why: a restart, an outage). */
static const char sql_clear[] =
    "WITH d AS (DELETE FROM agents WHERE node = $1 RETURNING agent_id, namespace, node) "
    "INSERT INTO events (node, namespace, agent_id, kind, detail) "
    "SELECT node, namespace, agent_id, 'agent_unlinked', $3 FROM d "
    "WHERE agent_id NOT IN (SELECT jsonb_array_elements_text($2::jsonb))";

/* The agent (one link of it; $8 the tokiame's instance id), its models
 * and (when $7 is true) its event, in one statement.
 * An agent of a namespace just deleted (agentd has not dropped it yet) is
 * not written, rather than failing: a failure would abort the resync's
 * whole transaction. */
static const char sql_agent_up[] =
    "WITH a AS (INSERT INTO agents (agent_id, namespace, node, name, linked_at, heartbeat_at, "
    "instance) "
    "SELECT $1, $2, $3, $4, to_timestamp($5), now(), $8 "
    "WHERE EXISTS (SELECT 1 FROM namespaces WHERE name = $2) "
    "ON CONFLICT (agent_id) DO UPDATE SET name = EXCLUDED.name, heartbeat_at = now(), "
    "instance = EXCLUDED.instance "
    "RETURNING agent_id), "
    "m AS (INSERT INTO agent_models (agent_id, model, kind, context_length) "
    "SELECT a.agent_id, x.model, x.kind, x.context_length FROM a, "
    "jsonb_to_recordset($6::jsonb) AS x(model text, kind text, context_length integer) "
    "ON CONFLICT (agent_id, model) DO UPDATE SET kind = EXCLUDED.kind, "
    "context_length = EXCLUDED.context_length) "
    "INSERT INTO events (node, namespace, agent_id, kind, detail) "
    "SELECT $3, $2, a.agent_id, 'agent_linked', $4 FROM a WHERE $7::boolean";

static const char sql_agent_models[] =
    "WITH x AS (SELECT * FROM jsonb_to_recordset($2::jsonb) "
    "AS x(model text, kind text, context_length integer)), "
    "d AS (DELETE FROM agent_models WHERE agent_id = $1 "
    "AND model NOT IN (SELECT model FROM x)), "
    "m AS (INSERT INTO agent_models (agent_id, model, kind, context_length) "
    "SELECT a.agent_id, x.model, x.kind, x.context_length FROM agents a, x "
    "WHERE a.agent_id = $1 "
    "ON CONFLICT (agent_id, model) DO UPDATE SET kind = EXCLUDED.kind, "
    "context_length = EXCLUDED.context_length) "
    "INSERT INTO events (node, namespace, agent_id, kind, detail) "
    "SELECT node, namespace, agent_id, 'models_changed', $3 FROM agents WHERE agent_id = $1";

static const char sql_agent_down[] =
    "WITH d AS (DELETE FROM agents WHERE agent_id = $1 RETURNING agent_id, namespace, node) "
    "INSERT INTO events (node, namespace, agent_id, kind, detail) "
    "SELECT node, namespace, agent_id, 'agent_unlinked', $2 FROM d";

/* The router's view of this node's agents (sql/007_agent_state.sql): $1
 * is agentd's JSON array, one object per agent whose state changed; rows
 * of other nodes are never touched. */
static const char sql_agent_state[] =
    "UPDATE agents a SET in_flight = x.in_flight, capacity = x.capacity, "
    "backend_waiting = x.waiting, rtt_us = x.rtt_us, breaker = x.breaker, state_at = now() "
    "FROM jsonb_to_recordset($1::jsonb) AS x(agent_id text, in_flight integer, "
    "capacity integer, waiting integer, rtt_us integer, breaker text) "
    "WHERE a.agent_id = x.agent_id AND a.node = $2";

/* ---- JSON for the model lists ---- */

static void
json_str(struct buf *b, struct ipc_str s)
{
	char esc[8];

	buf_append(b, "\"", 1);
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.base[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			buf_append(b, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			buf_append(b, esc, 6);
		} else
			buf_append(b, &s.base[i], 1);
	}
	buf_append(b, "\"", 1);
}

static char *
models_json(const struct ipc_list *list, size_t *count)
{
	struct ipc_list_iter it;
	struct ipc_model m;
	struct buf b;
	char num[32];
	char *out;
	size_t n = 0;

	buf_init(&b, 0);
	buf_append(&b, "[", 1);
	ipc_list_begin(&it, list);
	while (ipc_model_next(&it, &m)) {
		if (n++ > 0)
			buf_append(&b, ",", 1);
		buf_append(&b, "{\"model\":", 9);
		json_str(&b, m.name);
		buf_append(&b, ",\"kind\":", 8);
		json_str(&b, m.kind.len ? m.kind : (struct ipc_str){ "chat", 4 });
		snprintf(num, sizeof(num), ",\"context_length\":%d}",
		    m.context_length > INT32_MAX ? INT32_MAX : (int)m.context_length);
		buf_append(&b, num, strlen(num));
	}
	buf_append(&b, "]", 1);
	out = xstrndup((const char *)buf_head(&b), b.len);
	buf_free(&b);
	*count = n;
	return out;
}

/* The ids of the agents linked here, as a JSON array (sql_clear's $2). */
static char *
ids_json(void)
{
	struct buf b;
	char *out;

	buf_init(&b, 0);
	buf_append(&b, "[", 1);
	for (size_t i = 0; i < nagents; i++) {
		if (i > 0)
			buf_append(&b, ",", 1);
		json_str(&b, (struct ipc_str){ agents[i].gid, strlen(agents[i].gid) });
	}
	buf_append(&b, "]", 1);
	out = xstrndup((const char *)buf_head(&b), b.len);
	buf_free(&b);
	return out;
}

static void
clear_rows(struct master *m, const char *what, const char *why)
{
	char *ids = ids_json();
	const char *p[3] = { m->conf->node.name, ids, why };

	pg_query(what, sql_clear, 3, p, NULL, NULL);
	free(ids);
}

/* ---- writes ---- */

static void
on_agent_written(struct master *m, PGresult *res, void *arg)
{
	char *gid = arg;

	(void)m;
	for (size_t i = 0; res != NULL && i < nagents; i++)
		if (strcmp(agents[i].gid, gid) == 0)
			agents[i].logged = 1;
	free(gid);
}

static void
write_agent(struct master *m, const struct local_agent *a)
{
	char linked[32], *gid = xstrdup(a->gid);
	const char *p[8] = { a->gid, a->ns, m->conf->node.name, a->name, linked, a->models,
		a->logged ? "false" : "true", a->instance };

	snprintf(linked, sizeof(linked), "%llu", (unsigned long long)a->linked_at);
	/* not queued (no connection, or the node name is not ours): no callback */
	if (!pg_query("writing an agent", sql_agent_up, 8, p, on_agent_written, gid))
		free(gid);
}

void
pg_agents_resync(struct master *m, int first)
{
	char started[32], detail[128];
	const char *p[3];

	if (started_at == 0)
		started_at = time(NULL);
	snprintf(started, sizeof(started), "%lld", (long long)started_at);
	p[0] = m->conf->node.name;
	p[1] = m->conf->node.internal_url;
	p[2] = started;
	if (!pg_query("starting the resync", "BEGIN", 0, NULL, NULL, NULL))
		return;
	pg_query("writing the node row", sql_node_up, 3, p, NULL, NULL);
	if (first) {
		snprintf(detail, sizeof(detail), "tokilake %s, pid %ld", PACKAGE_VERSION,
		    (long)m->pid);
		p[1] = detail;
		pg_query("writing the node event", sql_node_event, 2, p, NULL, NULL);
	}
	clear_rows(m, "clearing stale agents", first ? "node restarted" :
	    "unlinked while the database was away");
	for (size_t i = 0; i < nagents; i++)
		write_agent(m, &agents[i]);
	pg_query("committing the resync", "COMMIT", 0, NULL, NULL, NULL);
	if (nagents > 0)
		log_info("database: writing the %zu agent%s linked here", nagents,
		    nagents == 1 ? "" : "s");
}

static struct local_agent *
find(struct ipc_str gid)
{
	for (size_t i = 0; i < nagents; i++)
		if (ipc_str_eq(gid, agents[i].gid))
			return &agents[i];
	return NULL;
}

static void
agent_free(struct local_agent *a)
{
	free(a->gid);
	free(a->ns);
	free(a->name);
	free(a->instance);
	free(a->models);
}

void
pg_agents_clear(void)
{
	for (size_t i = 0; i < nagents; i++)
		agent_free(&agents[i]);
	nagents = 0;
}

size_t
pg_agents_count(void)
{
	return nagents;
}

void
pg_agents_free(void)
{
	pg_agents_clear();
	free(agents);
	agents = NULL;
}

/* agentd (re)started: none of the agents we knew is linked any more. */
void
pg_agentd_started(struct master *m, struct child *c)
{
	(void)c;
	if (!pg_enabled())
		return;
	if (nagents > 0)
		log_info("database: agentd restarted; forgetting %zu agent%s", nagents,
		    nagents == 1 ? "" : "s");
	pg_agents_clear();
	clear_rows(m, "clearing agents of the previous agentd", "agentd restarted");
	pg_snapshot_push(m);
}

static void
agent_up(struct master *m, const struct ipc_msg *msg)
{
	struct local_agent *a = find(msg->u.agent_up.agent_id);

	if (a == NULL) {
		agents = xrealloc(agents, (nagents + 1) * sizeof(*agents));
		a = &agents[nagents++];
	} else
		agent_free(a);
	memset(a, 0, sizeof(*a));
	a->gid = xstrndup(msg->u.agent_up.agent_id.base, msg->u.agent_up.agent_id.len);
	a->ns = xstrndup(msg->u.agent_up.ns.base, msg->u.agent_up.ns.len);
	a->name = xstrndup(msg->u.agent_up.name.base, msg->u.agent_up.name.len);
	a->instance = xstrndup(msg->u.agent_up.instance.base, msg->u.agent_up.instance.len);
	a->linked_at = msg->u.agent_up.linked_at;
	a->models = models_json(&msg->u.agent_up.models, &a->nmodels);
	write_agent(m, a);
}

static void
agent_models(struct master *m, const struct ipc_msg *msg)
{
	struct local_agent *a = find(msg->u.agent_models.agent_id);
	char detail[64];
	const char *p[3];

	(void)m;
	if (a == NULL) {
		log_debug("database: models of unknown agent %.*s ignored",
		    (int)msg->u.agent_models.agent_id.len, msg->u.agent_models.agent_id.base);
		return;
	}
	free(a->models);
	a->models = models_json(&msg->u.agent_models.models, &a->nmodels);
	snprintf(detail, sizeof(detail), "%zu model%s", a->nmodels, a->nmodels == 1 ? "" : "s");
	p[0] = a->gid;
	p[1] = a->models;
	p[2] = detail;
	pg_query("writing an agent's models", sql_agent_models, 3, p, NULL, NULL);
}

static void
agent_down(struct master *m, const struct ipc_msg *msg)
{
	struct local_agent *a = find(msg->u.agent_down.agent_id);
	char reason[256];
	const char *p[2];

	(void)m;
	if (a == NULL)
		return;
	snprintf(reason, sizeof(reason), "%.*s", (int)msg->u.agent_down.reason.len,
	    msg->u.agent_down.reason.base);
	p[0] = a->gid;
	p[1] = reason;
	pg_query("removing an agent", sql_agent_down, 2, p, NULL, NULL);
	agent_free(a);
	*a = agents[--nagents];
}

/* A report lost while the database is away is not kept: the next change
 * writes the agent's row again (the columns are for operators, nobody
 * routes by them). */
static void
agent_state(struct master *m, const struct ipc_msg *msg)
{
	char *json = xstrndup(msg->u.agent_state.states.base, msg->u.agent_state.states.len);
	const char *p[2] = { json, m->conf->node.name };

	pg_query("writing agents' state", sql_agent_state, 2, p, NULL, NULL);
	free(json);
}

void
pg_child_message(struct master *m, struct child *c, const struct ipc_msg *msg)
{
	(void)c;
	if (!pg_enabled())
		return; /* standalone: agentd does not send these */
	switch (msg->type) {
	case IPC_AGENT_UP:
		agent_up(m, msg);
		break;
	case IPC_AGENT_MODELS:
		agent_models(m, msg);
		break;
	case IPC_AGENT_DOWN:
		agent_down(m, msg);
		break;
	case IPC_AGENT_STATE:
		agent_state(m, msg);
		break;
	default:
		break;
	}
}
