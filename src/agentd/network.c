/*
 * network: see network.h.
 *
 * The NAMESPACES snapshot is kept here (enabled namespaces only, as
 * struct tl_namespace entries) and copied into every config agentd uses,
 * so the link code and the request path keep asking the config as in
 * standalone mode. REMOTE_AGENTS frames are collected into owned copies
 * and then diffed against the registry by network-wide id, so an agent
 * that stays keeps its place in the round robin.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "agentd.h"
#include "link.h"
#include "log.h"
#include "network.h"
#include "xmalloc.h"

/* What a frame may carry besides the list entries. */
#define FRAME_SLACK 1024

struct rmodel {
	char *name, *kind;
	uint32_t context_length;
};

struct ragent {
	char *gid, *ns, *node, *url, *name;
	uint64_t linked_at;
	struct rmodel *models;
	size_t nmodels, cap;
};

static struct {
	char nonce[17];
	/* the last complete NAMESPACES snapshot (enabled namespaces) */
	struct tl_namespace *ns;
	size_t nns;
	int have_ns;
	/* the disabled ones of that snapshot: an agent with one of their
	 * tokens is told "namespace disabled", not "invalid token" */
	struct tl_namespace *off;
	size_t noff;
	/* frames of a NAMESPACES snapshot still arriving */
	struct tl_namespace *pend_ns;
	size_t npend_ns;
	/* frames of a REMOTE_AGENTS snapshot still arriving */
	struct ragent *pend_ra;
	size_t npend_ra, cap_ra;
} net;

static char *
dup_str(struct ipc_str s)
{
	return xstrndup(s.base != NULL ? s.base : "", s.len);
}

static void
namespaces_free(struct tl_namespace *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].ntoken_hashes; j++)
			free(v[i].token_hashes[j]);
		free(v[i].token_hashes);
		free(v[i].name);
	}
	free(v);
}

static struct tl_namespace *
namespaces_copy(const struct tl_namespace *v, size_t n)
{
	struct tl_namespace *c = xcalloc(n ? n : 1, sizeof(*c));

	for (size_t i = 0; i < n; i++) {
		c[i].name = xstrdup(v[i].name);
		c[i].line = 0;
		c[i].ntoken_hashes = v[i].ntoken_hashes;
		c[i].token_hashes = xcalloc(v[i].ntoken_hashes ? v[i].ntoken_hashes : 1,
		    sizeof(char *));
		for (size_t j = 0; j < v[i].ntoken_hashes; j++)
			c[i].token_hashes[j] = xstrdup(v[i].token_hashes[j]);
	}
	return c;
}

static void
ragents_free(struct ragent *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < v[i].nmodels; j++) {
			free(v[i].models[j].name);
			free(v[i].models[j].kind);
		}
		free(v[i].models);
		free(v[i].gid);
		free(v[i].ns);
		free(v[i].node);
		free(v[i].url);
		free(v[i].name);
	}
	free(v);
}

void
network_init(struct agentd *ad)
{
	uint8_t r[8];

	(void)ad;
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t t = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
		memcpy(r, &t, sizeof(r));
	}
	snprintf(net.nonce, sizeof(net.nonce), "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
	    r[2], r[3], r[4], r[5], r[6], r[7]);
}

void
network_free(void)
{
	namespaces_free(net.ns, net.nns);
	namespaces_free(net.off, net.noff);
	namespaces_free(net.pend_ns, net.npend_ns);
	ragents_free(net.pend_ra, net.npend_ra);
	memset(&net, 0, sizeof(net));
}

int
network_pg_mode(const struct agentd *ad)
{
	return ad->conf->database.url != NULL;
}

/* ---- namespaces ---- */

static struct tl_namespace *
pend_ns_find(const char *name, size_t len)
{
	for (size_t i = net.npend_ns; i > 0; i--) {
		struct tl_namespace *n = &net.pend_ns[i - 1];

		if (strlen(n->name) == len && memcmp(n->name, name, len) == 0)
			return n;
	}
	return NULL;
}

/* Put the snapshot's namespaces into conf in place of the file's. */
static void
install(struct tl_config *conf)
{
	namespaces_free(conf->namespaces, conf->nnamespaces);
	conf->namespaces = namespaces_copy(net.ns, net.nns);
	conf->nnamespaces = net.nns;
}

void
network_prepare_config(struct agentd *ad, struct tl_config *conf)
{
	(void)ad;
	if (conf->database.url != NULL && net.have_ns)
		install(conf);
}

/* Disabled namespaces are collected too (so their tokens find their
 * namespace) and dropped when the snapshot is complete. */
void
network_namespaces(struct agentd *ad, const struct ipc_msg *msg)
{
	struct ipc_list_iter it;
	struct ipc_namespace e;
	struct ipc_token t;
	size_t kept = 0, tokens = 0;

	ipc_list_begin(&it, &msg->u.namespaces.namespaces);
	while (ipc_namespace_next(&it, &e)) {
		struct tl_namespace *n;

		if (pend_ns_find(e.name.base, e.name.len) != NULL)
			continue;
		net.pend_ns = xrealloc(net.pend_ns, (net.npend_ns + 1) * sizeof(*net.pend_ns));
		n = &net.pend_ns[net.npend_ns++];
		memset(n, 0, sizeof(*n));
		n->name = dup_str(e.name);
		n->line = e.disabled ? -1 : 0; /* -1 marks a disabled one until the end */
	}
	ipc_list_begin(&it, &msg->u.namespaces.tokens);
	while (ipc_token_next(&it, &t)) {
		struct tl_namespace *n = pend_ns_find(t.ns.base, t.ns.len);

		if (n == NULL)
			continue;
		n->token_hashes = xrealloc(n->token_hashes,
		    (n->ntoken_hashes + 1) * sizeof(*n->token_hashes));
		n->token_hashes[n->ntoken_hashes++] = dup_str(t.hash);
	}
	if (msg->u.namespaces.more)
		return;

	/* complete: keep the enabled ones */
	for (size_t i = 0; i < net.npend_ns; i++) {
		if (net.pend_ns[i].line == -1)
			continue; /* disabled: freed with the rest below */
		if (kept != i) {
			struct tl_namespace tmp = net.pend_ns[kept];
			net.pend_ns[kept] = net.pend_ns[i];
			net.pend_ns[i] = tmp;
		}
		tokens += net.pend_ns[kept].ntoken_hashes;
		kept++;
	}
	namespaces_free(net.ns, net.nns);
	net.ns = namespaces_copy(net.pend_ns, kept);
	net.nns = kept;
	namespaces_free(net.off, net.noff);
	net.off = namespaces_copy(net.pend_ns + kept, net.npend_ns - kept);
	net.noff = net.npend_ns - kept;
	net.have_ns = 1;
	namespaces_free(net.pend_ns, net.npend_ns);
	net.pend_ns = NULL;
	net.npend_ns = 0;
	log_debug("network: %zu namespaces with %zu tokens from the database", kept, tokens);
	if (!network_pg_mode(ad))
		return;
	/* agents of a namespace that is gone or disabled, or whose token was
	 * revoked, are disconnected now */
	install(ad->conf);
	link_server_reconfigure(ad->conf);
}

const struct tl_namespace *
network_disabled_namespace(const char *name, size_t len)
{
	for (size_t i = 0; i < net.noff; i++)
		if (strlen(net.off[i].name) == len && memcmp(net.off[i].name, name, len) == 0)
			return &net.off[i];
	return NULL;
}

/* ---- remote agents ---- */

static struct ragent *
pend_ra_find(const char *gid, size_t len)
{
	for (size_t i = net.npend_ra; i > 0; i--) {
		struct ragent *a = &net.pend_ra[i - 1];

		if (strlen(a->gid) == len && memcmp(a->gid, gid, len) == 0)
			return a;
	}
	return NULL;
}

static int
cmp_ragent(const void *a, const void *b)
{
	return strcmp(((const struct ragent *)a)->gid, ((const struct ragent *)b)->gid);
}

static int
cmp_reg_gid(const void *a, const void *b)
{
	return strcmp((*(struct reg_agent *const *)a)->gid, (*(struct reg_agent *const *)b)->gid);
}

static void
set_remote_models(struct agentd *ad, struct reg_agent *ra, const struct ragent *a)
{
	struct reg_model_info *info = xcalloc(a->nmodels ? a->nmodels : 1, sizeof(*info));

	for (size_t i = 0; i < a->nmodels; i++) {
		info[i].name = a->models[i].name;
		info[i].kind = a->models[i].kind[0] ? a->models[i].kind : NULL;
		info[i].context_length = a->models[i].context_length;
	}
	if (registry_agent_set_models(&ad->registry, ra, info, a->nmodels, a->linked_at) == -1)
		log_warnx("network: agent %s on node %s: a model name was refused", a->gid,
		    a->node);
	free(info);
}

/* Make the registry's remote agents exactly the snapshot's. */
static void
apply_remote(struct agentd *ad)
{
	struct reg_agent **old = NULL, *ra;
	struct reg_namespace *ns;
	size_t nold = 0, added = 0, removed = 0;

	if (net.npend_ra > 1)
		qsort(net.pend_ra, net.npend_ra, sizeof(*net.pend_ra), cmp_ragent);
	TAILQ_FOREACH(ns, &ad->registry.namespaces, entry)
		TAILQ_FOREACH(ra, &ns->agents, entry)
			if (registry_agent_is_remote(ra)) {
				old = xrealloc(old, (nold + 1) * sizeof(*old));
				old[nold++] = ra;
			}
	/* gone, or moved to another namespace or node: remove */
	for (size_t i = 0; i < nold; i++) {
		struct ragent key = { .gid = old[i]->gid };
		struct ragent *a = net.npend_ra == 0 ? NULL : bsearch(&key, net.pend_ra,
		    net.npend_ra, sizeof(*net.pend_ra), cmp_ragent);

		if (a != NULL && strcmp(a->ns, old[i]->ns->name) == 0 &&
		    strcmp(a->node, old[i]->node) == 0 && strcmp(a->url, old[i]->node_url) == 0)
			continue;
		registry_agent_remove(&ad->registry, old[i]);
		old[i] = NULL;
		removed++;
	}
	{
		size_t n = 0;

		for (size_t i = 0; i < nold; i++)
			if (old[i] != NULL)
				old[n++] = old[i];
		nold = n;
	}
	if (nold > 1)
		qsort(old, nold, sizeof(*old), cmp_reg_gid);
	for (size_t i = 0; i < net.npend_ra; i++) {
		struct ragent *a = &net.pend_ra[i];
		struct reg_agent key_agent = { .gid = a->gid }, *key = &key_agent, **found;

		found = nold == 0 ? NULL : bsearch(&key, old, nold, sizeof(*old), cmp_reg_gid);
		if (found != NULL)
			ra = *found;
		else if ((ra = registry_remote_add(&ad->registry, a->ns, a->name[0] ? a->name : a->gid,
		    a->gid, a->node, a->url)) == NULL) {
			log_warnx("network: agent %s on node %s refused (bad name)", a->gid, a->node);
			continue;
		} else
			added++;
		set_remote_models(ad, ra, a);
	}
	free(old);
	if (added || removed)
		log_info("network: %zu remote agent%s (%zu linked, %zu gone)",
		    ad->registry.nremote, ad->registry.nremote == 1 ? "" : "s", added, removed);
}

void
network_remote_agents(struct agentd *ad, const struct ipc_msg *msg)
{
	struct ipc_list_iter it;
	struct ipc_remote_agent e;
	struct ipc_remote_model m;
	struct ragent *last = NULL;

	ipc_list_begin(&it, &msg->u.remote_agents.agents);
	while (ipc_remote_agent_next(&it, &e)) {
		struct ragent *a;

		if (pend_ra_find(e.agent_id.base, e.agent_id.len) != NULL)
			continue;
		if (net.npend_ra == net.cap_ra) {
			net.cap_ra = net.cap_ra ? net.cap_ra * 2 : 16;
			net.pend_ra = xrealloc(net.pend_ra, net.cap_ra * sizeof(*net.pend_ra));
		}
		a = &net.pend_ra[net.npend_ra++];
		memset(a, 0, sizeof(*a));
		a->gid = dup_str(e.agent_id);
		a->ns = dup_str(e.ns);
		a->node = dup_str(e.node);
		a->url = dup_str(e.node_url);
		a->name = dup_str(e.name);
		a->linked_at = e.linked_at;
	}
	ipc_list_begin(&it, &msg->u.remote_agents.models);
	while (ipc_remote_model_next(&it, &m)) {
		struct rmodel *rm;

		/* models come grouped by agent: the last one found usually matches */
		if (last == NULL || strlen(last->gid) != m.agent_id.len ||
		    memcmp(last->gid, m.agent_id.base, m.agent_id.len) != 0)
			last = pend_ra_find(m.agent_id.base, m.agent_id.len);
		if (last == NULL)
			continue;
		if (last->nmodels == last->cap) {
			last->cap = last->cap ? last->cap * 2 : 8;
			last->models = xrealloc(last->models, last->cap * sizeof(*last->models));
		}
		rm = &last->models[last->nmodels++];
		rm->name = dup_str(m.name);
		rm->kind = dup_str(m.kind);
		rm->context_length = m.context_length;
	}
	if (msg->u.remote_agents.more)
		return;
	if (network_pg_mode(ad))
		apply_remote(ad);
	ragents_free(net.pend_ra, net.npend_ra);
	net.pend_ra = NULL;
	net.npend_ra = net.cap_ra = 0;
}

/* ---- reports to the master ---- */

/* The agent's routable models, as many as fit one frame. */
static struct ipc_model *
models_of(const struct reg_agent *ra, uint64_t created, size_t budget, size_t *n)
{
	struct ipc_model *v = xcalloc(ra->nmodels ? ra->nmodels : 1, sizeof(*v));
	size_t used = 0, i;

	for (i = 0; i < ra->nmodels; i++) {
		const struct reg_model *m = ra->models[i];

		v[i].ns = (struct ipc_str){ ra->ns->name, strlen(ra->ns->name) };
		v[i].name = (struct ipc_str){ m->name, strlen(m->name) };
		v[i].kind = (struct ipc_str){ m->kind, strlen(m->kind) };
		v[i].created = created;
		v[i].context_length = m->context_length;
		if (used + ipc_model_size(&v[i]) > budget) {
			log_warnx("agent %s: %zu models do not fit one report; the database lists "
			    "the first %zu", ra->name, ra->nmodels, i);
			break;
		}
		used += ipc_model_size(&v[i]);
	}
	*n = i;
	return v;
}

void
network_agent_up(struct agentd *ad, struct agent_link *link, struct reg_agent *ra)
{
	struct ipc_encode_lists lists;
	struct ipc_msg msg;
	char gid[REG_MAX_NAME + 64], name[REG_MAX_NAME + 80];

	snprintf(gid, sizeof(gid), "%s/%s/%llu", ad->conf->node.name, net.nonce,
	    (unsigned long long)ra->id);
	registry_agent_set_gid(ra, gid);
	if (!network_pg_mode(ad) || !ad->master_open)
		return;
	snprintf(name, sizeof(name), "%s (%s)", link->agent_id, link->peer);
	memset(&msg, 0, sizeof(msg));
	memset(&lists, 0, sizeof(lists));
	msg.type = IPC_AGENT_UP;
	msg.u.agent_up.agent_id = (struct ipc_str){ gid, strlen(gid) };
	msg.u.agent_up.ns = (struct ipc_str){ ra->ns->name, strlen(ra->ns->name) };
	msg.u.agent_up.name = (struct ipc_str){ name, strlen(name) };
	msg.u.agent_up.linked_at = link->linked_at;
	msg.u.agent_up.instance = (struct ipc_str){ link->instance, strlen(link->instance) };
	lists.models = models_of(ra, link->linked_at,
	    IPC_MAX_PAYLOAD - FRAME_SLACK - strlen(gid) - strlen(name) - strlen(link->instance) -
	    REG_MAX_NAME, &lists.nmodels);
	if (ipc_conn_send(&ad->master, &msg, &lists) == -1)
		log_warnx("agent %s: cannot report it to the master (queue full)", gid);
	free((void *)lists.models);
}

void
network_agent_models(struct agentd *ad, struct reg_agent *ra)
{
	struct ipc_encode_lists lists;
	struct ipc_msg msg;

	if (!network_pg_mode(ad) || ra->gid == NULL || !ad->master_open)
		return;
	memset(&msg, 0, sizeof(msg));
	memset(&lists, 0, sizeof(lists));
	msg.type = IPC_AGENT_MODELS;
	msg.u.agent_models.agent_id = (struct ipc_str){ ra->gid, strlen(ra->gid) };
	lists.models = models_of(ra, 0, IPC_MAX_PAYLOAD - FRAME_SLACK - strlen(ra->gid),
	    &lists.nmodels);
	if (ipc_conn_send(&ad->master, &msg, &lists) == -1)
		log_warnx("agent %s: cannot report its models to the master (queue full)", ra->gid);
	free((void *)lists.models);
}

void
network_agent_down(struct agentd *ad, struct reg_agent *ra, const char *reason)
{
	struct ipc_msg msg;

	if (!network_pg_mode(ad) || ra->gid == NULL || !ad->master_open)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_AGENT_DOWN;
	msg.u.agent_down.agent_id = (struct ipc_str){ ra->gid, strlen(ra->gid) };
	msg.u.agent_down.reason = (struct ipc_str){ reason, strlen(reason) };
	if (ipc_conn_send(&ad->master, &msg, NULL) == -1)
		log_warnx("agent %s: cannot report its departure to the master", ra->gid);
}
