/*
 * ctl_network: what the nodes report, read only: agents [NAMESPACE],
 * models [NAMESPACE], nodes.
 *
 * The masters write these tables (agents linked on their node, their
 * models, their node's heartbeat); a node silent for longer than its
 * node.ttl is dead even while its rows are still there, hence the SILENT
 * column (seconds since the last heartbeat). INSTANCE is the random id
 * of the running node that holds the name (migration 002). LOAD (tasks
 * in flight from its node / capacity, 0 = unknown), QUEUE (its backends'
 * own), RTT_MS and BREAKER are what its node's router sees (migration
 * 007, written on change at most every 2 s).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const char sql_agents[] =
    "SELECT a.agent_id AS agent, a.namespace, a.node, a.name,"
    "  date_trunc('second', a.linked_at) AS linked,"
    "  date_trunc('second', a.heartbeat_at) AS heartbeat,"
    "  (SELECT count(*) FROM agent_models m WHERE m.agent_id = a.agent_id) AS models,"
    "  a.in_flight || '/' || a.capacity AS load, a.backend_waiting AS queue,"
    "  round(a.rtt_us / 1000.0, 1) AS rtt_ms, a.breaker"
    " FROM agents a WHERE $1::text IS NULL OR a.namespace = $1"
    " ORDER BY a.namespace, a.node, a.agent_id";

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
	return listing(ctl, argc, argv, sql_agents, 1);
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
