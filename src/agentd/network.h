/*
 * network: agentd's side of a network of nodes (PostgreSQL mode).
 *
 * Only the master talks to PostgreSQL. It sends agentd full snapshots:
 *   NAMESPACES     the namespaces and token hashes of the network; they
 *                  REPLACE the namespaces of the config file. Agents whose
 *                  namespace is gone or disabled, or whose token hash is no
 *                  longer listed, are disconnected at once.
 *   REMOTE_AGENTS  the agents linked to other live nodes, with their
 *                  models; they join the registry as remote agents.
 * and agentd reports its own agents: AGENT_UP, AGENT_MODELS, AGENT_DOWN,
 * each with the agent's network-wide id "<node>/<boot nonce hex>/<id>"
 * (the nonce is new at every agentd start, so ids of a previous agentd
 * never collide with the current ones).
 *
 * Snapshots may span several frames (more = 1): they are collected and
 * applied whole when the last one arrives. In standalone mode nothing
 * here sends or expects anything.
 */
#ifndef TL_AGENTD_NETWORK_H
#define TL_AGENTD_NETWORK_H

#include "ipc.h"
#include "tl_config.h"

struct agentd;
struct agent_link;
struct reg_agent;

void network_init(struct agentd *ad);
void network_free(void);
int network_pg_mode(const struct agentd *ad);

/* From the master. */
void network_namespaces(struct agentd *ad, const struct ipc_msg *msg);
void network_remote_agents(struct agentd *ad, const struct ipc_msg *msg);
/* A reloaded config: in PostgreSQL mode its namespaces are replaced by the
 * last NAMESPACES snapshot before it is used. */
void network_prepare_config(struct agentd *ad, struct tl_config *conf);
/* A namespace of the last snapshot that is disabled (with its token
 * hashes), or NULL: none in standalone mode. */
const struct tl_namespace *network_disabled_namespace(const char *name, size_t len);

/* From the link hooks (agent_listener.c): tell the master. */
void network_agent_up(struct agentd *ad, struct agent_link *link, struct reg_agent *ra);
void network_agent_models(struct agentd *ad, struct reg_agent *ra);
void network_agent_down(struct agentd *ad, struct reg_agent *ra, const char *reason);

#endif
