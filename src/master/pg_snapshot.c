/*
 * pg_snapshot: what the network looks like, loaded from the database and
 * pushed to agentd.
 *
 * Two loads, each one statement: the namespaces with their live token
 * hashes (disabled ones flagged), and the agents (with models) of the
 * OTHER nodes whose heartbeat is younger than node.ttl. The results are
 * kept as they came (PGresult) and sent to agentd as NAMESPACES and
 * REMOTE_AGENTS, split over as many frames as they need; a restarted
 * agentd gets them again on its HELLO. While the database is away the
 * last results stay: agentd keeps serving from them.
 *
 * Node expiry needs no NOTIFY: the agents load also says when the first
 * listed node's heartbeat will pass the TTL, and a reload is scheduled
 * for that moment (pg_expiry_in), so a dead node's agents leave within
 * the TTL of its last heartbeat.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "master.h"
#include "pg.h"
#include "xmalloc.h"

/* Room in a frame for the fixed fields around the lists. */
#define PAGE_BUDGET (IPC_MAX_PAYLOAD - 256)

static PGresult *ns_res;     /* name, disabled, token_hash */
static PGresult *agents_res; /* see sql_agents */

static const char sql_namespaces[] =
    "SELECT n.name, (n.disabled_at IS NOT NULL)::int, t.token_hash "
    "FROM namespaces n LEFT JOIN namespace_tokens t "
    "ON t.namespace = n.name AND t.revoked_at IS NULL "
    "ORDER BY n.name, t.token_hash";

static const char sql_agents[] =
    "SELECT a.agent_id, a.namespace, a.node, nd.internal_url, a.name, "
    "extract(epoch FROM a.linked_at)::bigint, m.model, m.kind, m.context_length, "
    "(extract(epoch FROM (nd.heartbeat_at + $2::interval - now())) * 1000)::bigint "
    "FROM agents a JOIN nodes nd ON nd.name = a.node "
    "JOIN namespaces ns ON ns.name = a.namespace AND ns.disabled_at IS NULL "
    "LEFT JOIN agent_models m ON m.agent_id = a.agent_id "
    "WHERE a.node <> $1 AND nd.heartbeat_at > now() - $2::interval "
    "ORDER BY a.agent_id, m.model";

static struct ipc_str
cell(const PGresult *res, int row, int col)
{
	const char *v = PQgetvalue(res, row, col);

	return (struct ipc_str){ v, strlen(v) };
}

static int
str_same(struct ipc_str a, struct ipc_str b)
{
	return a.len == b.len && memcmp(a.base, b.base, a.len) == 0;
}

/* ---- NAMESPACES ---- */

static void
push_namespaces(struct child *agentd)
{
	int rows = PQntuples(ns_res);
	struct ipc_namespace *nss = xcalloc((size_t)rows + 1, sizeof(*nss));
	struct ipc_token *toks = xcalloc((size_t)rows + 1, sizeof(*toks));
	struct ipc_encode_lists lists;
	struct ipc_msg msg;
	size_t bytes = 0, nn = 0, nt = 0;
	struct ipc_str prev = { NULL, 0 };

	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_NAMESPACES;
	for (int r = 0; r <= rows; r++) {
		struct ipc_namespace ns;
		struct ipc_token tok;
		size_t need = 0;
		int new_ns = 0, has_tok = 0;

		if (r < rows) {
			ns.name = cell(ns_res, r, 0);
			ns.disabled = strcmp(PQgetvalue(ns_res, r, 1), "0") != 0;
			new_ns = prev.base == NULL || !str_same(prev, ns.name);
			has_tok = !PQgetisnull(ns_res, r, 2);
			tok.ns = ns.name;
			tok.hash = has_tok ? cell(ns_res, r, 2) : (struct ipc_str){ NULL, 0 };
			need = (new_ns ? ipc_namespace_size(&ns) : 0) +
			    (has_tok ? ipc_token_size(&tok) : 0);
		}
		/* a full page goes out; a namespace's tokens may follow in the
		 * next one (agentd collects frames until more = 0) */
		if (r == rows || bytes + need > PAGE_BUDGET) {
			memset(&lists, 0, sizeof(lists));
			lists.namespaces = nss;
			lists.nnamespaces = nn;
			lists.tokens = toks;
			lists.ntokens = nt;
			msg.u.namespaces.more = r < rows;
			if (child_ipc_send_lists(agentd, &msg, &lists) == -1)
				break;
			bytes = nn = nt = 0;
			if (r == rows)
				break;
			new_ns = 1; /* restate the namespace in the new page */
			need = ipc_namespace_size(&ns) + (has_tok ? ipc_token_size(&tok) : 0);
		}
		if (new_ns)
			nss[nn++] = ns;
		if (has_tok)
			toks[nt++] = tok;
		bytes += need;
		prev = ns.name;
	}
	free(nss);
	free(toks);
}

static void
on_namespaces(struct master *m, PGresult *res, void *arg)
{
	struct child *agentd;

	(void)arg;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 3)
		return;
	/* the caller clears res: keep a copy of our own */
	PQclear(ns_res);
	ns_res = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
	log_debug("database: snapshot of namespaces (%d rows)", PQntuples(ns_res));
	if ((agentd = child_agentd(m)) != NULL && agentd->hello)
		push_namespaces(agentd);
}

void
pg_snapshot_load_namespaces(void)
{
	pg_query_reload(1, "loading namespaces", sql_namespaces, 0, NULL, on_namespaces, NULL);
}

/* ---- REMOTE_AGENTS ---- */

static void
push_agents(struct child *agentd)
{
	int rows = PQntuples(agents_res);
	struct ipc_remote_agent *ags = xcalloc((size_t)rows + 1, sizeof(*ags));
	struct ipc_remote_model *mods = xcalloc((size_t)rows + 1, sizeof(*mods));
	struct ipc_encode_lists lists;
	struct ipc_msg msg;
	size_t bytes = 0, na = 0, nm = 0;
	struct ipc_str prev = { NULL, 0 };

	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_REMOTE_AGENTS;
	for (int r = 0; r <= rows; r++) {
		struct ipc_remote_agent a;
		struct ipc_remote_model mo;
		size_t need = 0;
		int new_agent = 0, has_model = 0;

		if (r < rows) {
			a.agent_id = cell(agents_res, r, 0);
			a.ns = cell(agents_res, r, 1);
			a.node = cell(agents_res, r, 2);
			a.node_url = cell(agents_res, r, 3);
			a.name = cell(agents_res, r, 4);
			a.linked_at = strtoull(PQgetvalue(agents_res, r, 5), NULL, 10);
			new_agent = prev.base == NULL || !str_same(prev, a.agent_id);
			has_model = !PQgetisnull(agents_res, r, 6);
			mo.agent_id = a.agent_id;
			mo.name = cell(agents_res, r, 6);
			mo.kind = cell(agents_res, r, 7);
			mo.context_length = (uint32_t)strtoul(PQgetvalue(agents_res, r, 8), NULL, 10);
			need = (new_agent ? ipc_remote_agent_size(&a) : 0) +
			    (has_model ? ipc_remote_model_size(&mo) : 0);
		}
		if (r == rows || bytes + need > PAGE_BUDGET) {
			memset(&lists, 0, sizeof(lists));
			lists.ragents = ags;
			lists.nragents = na;
			lists.rmodels = mods;
			lists.nrmodels = nm;
			msg.u.remote_agents.more = r < rows;
			if (child_ipc_send_lists(agentd, &msg, &lists) == -1)
				break;
			bytes = na = nm = 0;
			if (r == rows)
				break;
			new_agent = 0; /* agentd already has it; its models follow */
			need = ipc_remote_agent_size(&a) + (has_model ? ipc_remote_model_size(&mo) : 0);
			if (prev.base == NULL || !str_same(prev, a.agent_id))
				new_agent = 1;
		}
		if (new_agent)
			ags[na++] = a;
		if (has_model)
			mods[nm++] = mo;
		bytes += need;
		prev = a.agent_id;
	}
	free(ags);
	free(mods);
}

static void
on_agents(struct master *m, PGresult *res, void *arg)
{
	struct child *agentd;
	int64_t first = -1;

	(void)arg;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 10)
		return;
	PQclear(agents_res);
	agents_res = PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES);
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t ms = strtoll(PQgetvalue(res, r, 9), NULL, 10);

		if (first == -1 || ms < first)
			first = ms;
	}
	if (first != -1)
		pg_expiry_in(first);
	log_debug("database: snapshot of remote agents (%d rows)", PQntuples(agents_res));
	if ((agentd = child_agentd(m)) != NULL && agentd->hello)
		push_agents(agentd);
}

void
pg_snapshot_load_agents(void)
{
	struct master *m = master_get();
	char ttl[48];
	const char *p[2] = { m->conf->node.name, ttl };
	uint64_t grace_left;

	snprintf(ttl, sizeof(ttl), "%u milliseconds", pg_live_ttl_ms(&grace_left));
	if (grace_left > 0) /* load again with the plain TTL when the grace ends */
		pg_expiry_in((int64_t)grace_left);
	pg_query_reload(2, "loading remote agents", sql_agents, 2, p, on_agents, NULL);
}

void
pg_snapshot_push(struct master *m)
{
	struct child *agentd = child_agentd(m);

	if (agentd == NULL || agentd->ipc.fd == -1)
		return;
	if (ns_res != NULL)
		push_namespaces(agentd);
	if (agents_res != NULL)
		push_agents(agentd);
}

int
pg_snapshot_loaded(void)
{
	return ns_res != NULL;
}

void
pg_snapshot_free(void)
{
	PQclear(ns_res);
	PQclear(agents_res);
	ns_res = agents_res = NULL;
}
