/*
 * agent_listener: where the agent links plug into agentd.
 *
 * The master opened the gRPC listener (agents.listen) before forking and
 * passes it in ctx->agent_fd; link_conn.c accepts on it. This file turns
 * the link's hooks into registry changes: an agent is routable from its
 * Register until its link dies, and the models it publishes are exactly
 * what the registry lists.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "agentd.h"
#include "link.h"
#include "log.h"
#include "network.h"
#include "tokilake.pb-c.h"
#include "xmalloc.h"

static const char *
kind_name(int kind)
{
	switch (kind) {
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_COMPLETION: return "completion";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_EMBEDDING: return "embedding";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_AUDIO: return "audio";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_OTHER: return "other";
	default: return "chat";
	}
}

/* created: the time the agent linked for its first list, so that every
 * node of a network shows the same created time for its models. */
static void
publish_models(struct agentd *ad, struct agent_link *agent, uint64_t created)
{
	struct reg_agent *ra = agent->registry_data;
	struct reg_model_info *info = xcalloc(agent->nmodels ? agent->nmodels : 1, sizeof(*info));

	for (size_t i = 0; i < agent->nmodels; i++) {
		info[i].name = agent->models[i].id;
		info[i].kind = kind_name(agent->models[i].kind);
		info[i].context_length = agent->models[i].context_length;
	}
	if (registry_agent_set_models(&ad->registry, ra, info, agent->nmodels, created) != 0)
		log_warnx("agent %s: a model name was refused; keeping its previous list",
		    agent->agent_id);
	free(info);
}

static void
on_agent_up(struct agent_link *agent, void *data)
{
	struct agentd *ad = data;
	struct reg_agent *ra;

	ra = registry_agent_add(&ad->registry, agent->ns, agent->agent_id, agent);
	if (ra == NULL) {
		log_warnx("agent %s: refused by the registry (bad name)", agent->agent_id);
		return;
	}
	agent->registry_data = ra;
	publish_models(ad, agent, agent->linked_at);
	network_agent_up(ad, agent, ra);
}

static void
on_agent_models(struct agent_link *agent, void *data)
{
	if (agent->registry_data == NULL)
		return;
	publish_models(data, agent, (uint64_t)time(NULL));
	network_agent_models(data, agent->registry_data);
}

static void
on_agent_down(struct agent_link *agent, const char *reason, void *data)
{
	struct agentd *ad = data;

	if (agent->registry_data != NULL) {
		network_agent_down(ad, agent->registry_data, reason);
		registry_agent_remove(&ad->registry, agent->registry_data);
	}
	agent->registry_data = NULL;
}

int
agent_listener_start(struct agentd *ad, int fd)
{
	struct link_hooks hooks = { on_agent_up, on_agent_models, on_agent_down, ad };

	return link_server_start(ad->loop, fd, ad->conf, &hooks);
}

void
agent_listener_stop(struct agentd *ad)
{
	(void)ad;
	link_server_stop_accepting();
}
