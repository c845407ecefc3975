/*
 * registry: what agentd knows about the agents linked to this node, in
 * memory: namespace -> agents -> models.
 *
 * A namespace exists while at least one of its agents is linked. Each
 * agent publishes a full model list (registry_agent_set_models replaces
 * it). A namespace's model list is the union of its agents' lists: a
 * model served by two agents of one namespace is listed once, and stays
 * listed until the last agent publishing it leaves. Namespaces and models
 * are kept sorted by name, so listings are stable.
 *
 * Remote agents (PostgreSQL mode) are agents linked to OTHER nodes of the
 * network, as the master's snapshot lists them: they sit in the same
 * namespaces and share the models' lists (so /v1/models shows the whole
 * network), with node and node_url set and link == NULL. Requests for them
 * must be forwarded to their node. The router prefers local agents.
 *
 * Ownership: the registry owns its strings (copied in). agent->link is
 * the link code's object, opaque here and never freed by the registry.
 * Names longer than REG_MAX_NAME, empty names, or names with control
 * characters are refused (-1 / NULL): they come from untrusted agents.
 */
#ifndef TL_REGISTRY_H
#define TL_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "breaker.h"

#define REG_MAX_NAME 256 /* namespace, agent and model names */
#define REG_MAX_KIND 32

struct reg_namespace;

/* One model of a namespace, shared by the agents that publish it. */
struct reg_model {
	TAILQ_ENTRY(reg_model) entry;
	struct reg_namespace *ns;
	char *name;
	char *kind;              /* "chat", "completion", "embedding", "audio", "other" */
	uint64_t created;        /* unix time it was first published in this namespace */
	uint32_t context_length; /* 0 = unknown */
	unsigned refs;           /* agents publishing it */
	/* the agents publishing it, for the router (route.c): local ones and
	 * remote ones apart, in no order; kept as agents come, go and
	 * republish, so a pick never walks the namespace */
	struct reg_agent **local, **remote;
	size_t nlocal, nremote, local_cap, remote_cap;
};

struct reg_agent {
	TAILQ_ENTRY(reg_agent) entry;
	struct reg_namespace *ns;
	uint64_t id;             /* unique in this agentd, never reused */
	char *name;              /* for logs: the agent's name or peer address */
	struct reg_model **models; /* sorted by name */
	size_t nmodels;
	uint64_t picked;         /* router: last time it got a task (sequence) */
	struct breaker breaker;  /* router: taken out of rotation while failing */
	/* what the master was last told of it (route_state.c) */
	struct {
		uint32_t in_flight, capacity, waiting, rtt_us;
		uint8_t breaker, valid;
	} shown;
	void *link;              /* the link code's object; NULL for a remote agent */
	char *gid;               /* network-wide id "<node>/<boot nonce>/<id>"; NULL standalone */
	char *node;              /* remote: the node it is linked to; NULL = local */
	char *node_url;          /* remote: that node's internal_url; NULL = local */
};

struct reg_namespace {
	TAILQ_ENTRY(reg_namespace) entry;
	char *name;
	TAILQ_HEAD(, reg_agent) agents;
	size_t nagents;
	TAILQ_HEAD(, reg_model) models;
	size_t nmodels;
};

struct registry {
	TAILQ_HEAD(, reg_namespace) namespaces;
	size_t nnamespaces;
	size_t nagents;          /* local and remote */
	size_t nremote;
	size_t nmodels;          /* sum over namespaces */
	uint64_t next_agent_id;
	uint64_t pick_seq;
	/* router: 0 when a local agent should get no new task now (draining,
	 * unresponsive); NULL = every agent is usable */
	int (*usable)(struct reg_agent *agent);
	/* an agent (local or remote) now publishes models: requests held
	 * for a namespace's agents may be routable (NULL = nobody cares).
	 * Called with the registry consistent; it must not change it. */
	void (*models_published)(void *data);
	void *hook_data;
};

/* What an agent publishes for one model (registry copies it). */
struct reg_model_info {
	const char *name;
	const char *kind;        /* NULL = "chat" */
	uint32_t context_length;
};

void registry_init(struct registry *reg);
/* Remove everything (agents' link objects are not touched). */
void registry_clear(struct registry *reg);

/* Link an agent in namespace ns. NULL if a name is not acceptable. */
struct reg_agent *registry_agent_add(struct registry *reg, const char *ns, const char *name,
    void *link);
void registry_agent_remove(struct registry *reg, struct reg_agent *agent);
/* Give a local agent its network-wide id (replaces any previous one). */
void registry_agent_set_gid(struct reg_agent *agent, const char *gid);
/* Add an agent linked to another node (link == NULL). NULL if a name is
 * not acceptable. */
struct reg_agent *registry_remote_add(struct registry *reg, const char *ns, const char *name,
    const char *gid, const char *node, const char *node_url);
/* The agent with this network-wide id, local or remote; NULL if none. */
struct reg_agent *registry_agent_by_gid(const struct registry *reg, const char *gid);
static inline int
registry_agent_is_remote(const struct reg_agent *agent)
{
	return agent->node != NULL;
}
/* Replace the agent's model list; duplicates in the input count once.
 * -1 (and no change) if an entry is not acceptable. now = unix time. */
int registry_agent_set_models(struct registry *reg, struct reg_agent *agent,
    const struct reg_model_info *models, size_t n, uint64_t now);
int registry_agent_has_model(const struct reg_agent *agent, const char *model, size_t len);

struct reg_namespace *registry_namespace(const struct registry *reg, const char *name, size_t len);
struct reg_model *registry_model(const struct registry *reg, const char *ns, size_t nslen,
    const char *model, size_t modellen);

/* Call fn for every model, namespaces and models in name order; stops
 * and returns fn's value when fn returns non-zero. */
int registry_foreach_model(const struct registry *reg,
    int (*fn)(const struct reg_model *model, void *arg), void *arg);

/* The choice of a replica among a model's agents is route.c's (it reads
 * reg_model.local/remote and the usable hook). */

#endif
