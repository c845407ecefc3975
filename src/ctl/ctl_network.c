/*
 * ctl_network: what the nodes report, read only: agents [NAMESPACE],
 * models [NAMESPACE], nodes.
 *
 * The masters write these tables (agents linked on their node, their
 * models, their node's heartbeat); a node silent for longer than its
 * node.ttl is dead even while its rows are still there, hence the SILENT
 * column (seconds since the last heartbeat). INSTANCE is the random id
 * of the running node that holds the name (migration 002). An agent is
 * one tokiame, whatever the number of nodes it links to (migration 006).
 * LOAD (tasks in flight from its nodes / capacity, 0 = unknown), QUEUE
 * (its backends' own), RTT_MS and BREAKER (one per link, in the order of
 * NODES) are what its nodes' routers see (migration 007, written on
 * change at most every 2 s).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* One row per agent: the links of one tokiame (the same instance, 006)
 * are grouped, with how many there are and the nodes they go to (words,
 * or a JSON array with --json). A row without an instance (an older
 * agent) is its own agent, named by its link id. Its load: the tasks its
 * nodes have open on it over the capacity it declared (the whole
 * agent's, the same on every link); its backends' queue as one link last
 * reported it; each link's round trip and breaker (per node). */
#define AGENT_COLUMNS(per_link)                                                          \
	"WITH l AS (SELECT a.*, coalesce(nullif(a.instance, ''), a.agent_id) AS inst,"     \
	"  round(a.rtt_us / 1000.0, 1) AS rtt_ms"                                          \
	"  FROM agents a WHERE $1::text IS NULL OR a.namespace = $1)"                      \
	" SELECT l.inst AS agent, l.namespace, count(*) AS links,"                          \
	"  " per_link("node") " AS nodes,"                                                  \
	"  min(l.name) AS name,"                                                             \
	"  date_trunc('second', min(l.linked_at)) AS linked,"                                \
	"  date_trunc('second', max(l.heartbeat_at)) AS heartbeat,"                          \
	"  (SELECT count(DISTINCT m.model) FROM agent_models m JOIN l k USING (agent_id)"   \
	"   WHERE k.inst = l.inst AND k.namespace = l.namespace) AS models,"                 \
	"  sum(l.in_flight) || '/' || max(l.capacity) AS load,"                              \
	"  max(l.backend_waiting) AS queue,"                                                 \
	"  " per_link("rtt_ms") " AS rtt_ms, " per_link("breaker") " AS breaker"            \
	" FROM l GROUP BY l.namespace, l.inst ORDER BY l.namespace, l.inst"
/* per link, in the order of the nodes: words, or a JSON array */
#define PER_LINK_TEXT(col) "string_agg(l." col "::text, ' ' ORDER BY l.node)"
#define PER_LINK_JSON(col) "array_agg(l." col " ORDER BY l.node)"
static const char sql_agents_text[] = AGENT_COLUMNS(PER_LINK_TEXT);
static const char sql_agents_json[] = AGENT_COLUMNS(PER_LINK_JSON);

static const char sql_models[] =
    "SELECT a.namespace || ':' || m.model AS model, m.kind, m.context_length AS context,"
    "  a.node, m.agent_id AS agent"
    " FROM agent_models m JOIN agents a USING (agent_id)"
    " WHERE $1::text IS NULL OR a.namespace = $1"
    " ORDER BY a.namespace, m.model, a.node, m.agent_id";

static const char sql_nodes[] =
    "SELECT n.name, n.instance, n.internal_url AS url,"
    "  date_trunc('second', n.started_at) AS started,"
    "  date_trunc('second', n.heartbeat_at) AS heartbeat,"
    "  greatest(0, floor(extract(epoch FROM now() - n.heartbeat_at)))::bigint AS silent,"
    "  (SELECT count(*) FROM agents a WHERE a.node = n.name) AS agents"
    " FROM nodes n ORDER BY n.name";

/* One read-only listing, with an optional NAMESPACE filter. */
static int
listing(struct ctl *ctl, int argc, char **argv, const char *sql, int filter)
{
	const char *params[] = { NULL };
	char synopsis[64];

	if (argc > (filter ? 2 : 1)) {
		snprintf(synopsis, sizeof(synopsis), "%s%s", argv[0], filter ? " [NAMESPACE]" : "");
		return ctl_usage(synopsis);
	}
	if (argc == 2) {
		if (ctl_check_namespace(argv[1]) != CTL_OK)
			return CTL_USAGE;
		params[0] = argv[1];
	}
	if (ctl->url == NULL)
		return ctl_needs_database(argv[0], "in standalone mode ask the node: "
		    "curl http://HOST:PORT/v1/models");
	if (ctl_db_open(ctl) != CTL_OK)
		return CTL_FAIL;
	return ctl_print_query(ctl, argv[0], sql, filter ? 1 : 0, params);
}

int
ctl_agents(struct ctl *ctl, int argc, char **argv)
{
	return listing(ctl, argc, argv, ctl->json ? sql_agents_json : sql_agents_text, 1);
}

int
ctl_models(struct ctl *ctl, int argc, char **argv)
{
	return listing(ctl, argc, argv, sql_models, 1);
}

int
ctl_nodes(struct ctl *ctl, int argc, char **argv)
{
	return listing(ctl, argc, argv, sql_nodes, 0);
}
