/*
 * link_connect: the Connect call, one per agent connection: authenticate
 * on the request headers, take Register, model updates, heartbeats and
 * Goodbye, and answer Registered. The agent's identity is its connection:
 * Serve calls are trusted because Connect on the same connection was.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent_load.h"
#include "link_internal.h"
#include "link_refused.h"
#include "log.h"
#include "network.h"
#include "pb_arena.h"
#include "token.h"
#include "xmalloc.h"

#define MAX_MODELS 4096
#define MAX_NAME LINK_MODEL_ID_MAX

static void
agent_models_free(struct link_model *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].id);
		free(m[i].backend);
	}
	free(m);
}

void
link_agent_free(struct agent_link *a)
{
	if (a == NULL)
		return;
	free(a->ns);
	free(a->agent_id);
	free(a->instance);
	free(a->version);
	agent_models_free(a->models, a->nmodels);
	agent_load_free(a->load);
	free(a);
}

/* Bad input from an agent ends its link, never more. */
static void
reject(struct link_stream *s, int status, const char *why)
{
	struct link_conn *c = s->conn;

	if (c->agent != NULL || link_stranger_may_log())
		log_warnx("agent link %s%s%s: %s", c->peer, c->agent ? " agent " : "",
		    c->agent ? c->agent->agent_id : "", why);
	link_stream_finish(s, status, why);
	link_conn_close_gracefully(c);
}

void
link_connect_begin(struct link_stream *s)
{
	struct link_conn *c = s->conn;
	const struct tl_namespace *ns;
	const struct tl_namespace *off;
	const char *why = NULL;

	if (c->connect != NULL) {
		reject(s, GRPC_FAILED_PRECONDITION, "a second Connect call on one connection");
		return;
	}
	ns = s->ns[0] ? tl_config_namespace(link_conf(), s->ns, strlen(s->ns)) : NULL;
	if (s->ns[0] == '\0')
		why = "missing tokilake-namespace metadata";
	else if (s->bearer == NULL)
		why = "missing bearer token";
	else if (ns == NULL && (off = network_disabled_namespace(s->ns, strlen(s->ns))) != NULL &&
	    token_verify(s->bearer, strlen(s->bearer), off->token_hashes, off->ntoken_hashes)) {
		/* a valid token: its agent may say why and retry until the
		 * namespace is enabled again (only a holder learns it) */
		if (link_stranger_may_log())
			log_warnx("agent link %s: namespace \"%s\" is disabled: refused", c->peer,
			    s->ns);
		link_stream_finish(s, GRPC_PERMISSION_DENIED, "namespace disabled");
		link_conn_close_gracefully(c);
		return;
	} else if (ns == NULL || !token_verify(s->bearer, strlen(s->bearer), ns->token_hashes,
	    ns->ntoken_hashes))
		why = "invalid token for this namespace";
	if (why != NULL) {
		/* the token itself is never logged; anyone may try, so bounded */
		if (link_stranger_may_log())
			log_warnx("agent link %s: authentication failed for namespace \"%s\": %s",
			    c->peer, s->ns, why);
		link_stream_finish(s, GRPC_UNAUTHENTICATED, why);
		link_conn_close_gracefully(c);
		return;
	}
	token_hash(s->bearer, strlen(s->bearer), c->token_hash);
	secure_wipe(s->bearer, strlen(s->bearer));
	free(s->bearer);
	s->bearer = NULL;
	c->connect = s;
	link_stream_respond(s);
}

/* The models the server takes; the others go to *refused (link_refused.h). */
static int
copy_models(struct link_stream *s, Tokilake__V1__Model **in, size_t n, struct link_model **out,
    struct link_refused *refused)
{
	struct link_model *m;
	const char *why;
	size_t k = 0;

	if (n > MAX_MODELS) {
		reject(s, GRPC_INVALID_ARGUMENT, "too many models");
		return -1;
	}
	m = xcalloc(n ? n : 1, sizeof(*m));
	for (size_t i = 0; i < n; i++) {
		if ((why = link_model_refusal(in[i])) != NULL) {
			link_refused_add(refused, (uint32_t)i, in[i]->id, why);
			continue;
		}
		m[k].id = xstrdup(in[i]->id);
		m[k].kind = in[i]->kind;
		m[k].context_length = in[i]->context_length;
		m[k].backend = xstrdup(in[i]->backend ? in[i]->backend : "");
		k++;
	}
	*out = m;
	return (int)k;
}

static void
on_register(struct link_stream *s, Tokilake__V1__Register *r)
{
	struct link_conn *c = s->conn;
	Tokilake__V1__ServerMessage out = TOKILAKE__V1__SERVER_MESSAGE__INIT;
	Tokilake__V1__Registered reg = TOKILAKE__V1__REGISTERED__INIT;
	struct agent_link *a;
	struct link_model *models;
	struct link_refused refused = { 0 };
	char node[256], id[MAX_NAME + 32];
	int n;

	if (c->agent != NULL) {
		reject(s, GRPC_FAILED_PRECONDITION, "registered twice");
		return;
	}
	if (r->namespace_ == NULL || strcmp(r->namespace_, s->ns) != 0) {
		reject(s, GRPC_INVALID_ARGUMENT, "Register names another namespace than the metadata");
		return;
	}
	if (strlen(r->agent_id) > MAX_NAME || strlen(r->version) > MAX_NAME) {
		reject(s, GRPC_INVALID_ARGUMENT, "agent_id or version too long");
		return;
	}
	if ((n = copy_models(s, r->models, r->n_models, &models, &refused)) < 0)
		return;
	a = xcalloc(1, sizeof(*a));
	a->ns = xstrdup(s->ns);
	snprintf(id, sizeof(id), "%s#%llu", r->agent_id[0] ? r->agent_id : "agent",
	    (unsigned long long)c->seq);
	a->agent_id = xstrdup(id);
	a->instance = xstrdup(r->agent_id);
	a->links = r->links;
	a->version = xstrdup(r->version);
	a->models = models;
	a->nmodels = (size_t)n;
	a->capacity = r->capacity;
	a->inline_body = r->inline_body;
	a->linked_at = (uint64_t)time(NULL);
	a->conn = c;
	snprintf(a->peer, sizeof(a->peer), "%s", c->peer);
	c->agent = a;
	link_conn_registered(c);

	/* the name tokilakectl and the other nodes know this node by
	 * (node.name, the host name unless set) */
	if (link_conf()->node.name != NULL)
		snprintf(node, sizeof(node), "%s", link_conf()->node.name);
	else if (gethostname(node, sizeof(node)) != 0)
		snprintf(node, sizeof(node), "tokilake");
	node[sizeof(node) - 1] = '\0';
	reg.agent_id = a->agent_id;
	reg.node = node;
	reg.heartbeat_interval_ms = link_conf()->agents.ping_interval_ms;
	out.msg_case = TOKILAKE__V1__SERVER_MESSAGE__MSG_REGISTERED;
	out.registered = &reg;
	link_stream_send(s, &out.base);
	log_info("agent %s of namespace %s linked from %s (tokiame %s, %zu models, capacity %u%s)",
	    a->agent_id, a->ns, c->peer, a->version[0] ? a->version : "?", a->nmodels,
	    a->capacity, a->links > 1 ? ", shared by its links to several nodes" : "");
	link_refused_send(s, &refused, a->agent_id); /* after Registered */
	if (link_hooks()->agent_up != NULL)
		link_hooks()->agent_up(a, link_hooks()->data);
}

static void
on_models(struct link_stream *s, Tokilake__V1__ModelUpdate *u)
{
	struct agent_link *a = s->conn->agent;
	struct link_model *models;
	struct link_refused refused = { 0 };
	int n;

	if ((n = copy_models(s, u->models, u->n_models, &models, &refused)) < 0)
		return;
	link_refused_send(s, &refused, a->agent_id);
	agent_models_free(a->models, a->nmodels);
	a->models = models;
	a->nmodels = (size_t)n;
	log_info("agent %s of namespace %s now publishes %zu models", a->agent_id, a->ns,
	    a->nmodels);
	if (link_hooks()->agent_models != NULL)
		link_hooks()->agent_models(a, link_hooks()->data);
}

void
link_connect_message(struct link_stream *s, const uint8_t *msg, size_t len)
{
	struct pb_arena arena; /* the message's pieces, freed with this frame */
	struct link_conn *c = s->conn;
	Tokilake__V1__AgentMessage *m;

	m = tokilake__v1__agent_message__unpack(pb_arena_init(&arena), len, msg);
	if (m == NULL) {
		reject(s, GRPC_INVALID_ARGUMENT, "undecodable AgentMessage");
		return;
	}
	if (c->agent == NULL && m->msg_case != TOKILAKE__V1__AGENT_MESSAGE__MSG_REGISTER) {
		reject(s, GRPC_FAILED_PRECONDITION, "Register must be the first message");
		goto out;
	}
	switch (m->msg_case) {
	case TOKILAKE__V1__AGENT_MESSAGE__MSG_REGISTER:
		on_register(s, m->register_);
		break;
	case TOKILAKE__V1__AGENT_MESSAGE__MSG_MODELS:
		on_models(s, m->models);
		break;
	case TOKILAKE__V1__AGENT_MESSAGE__MSG_HEARTBEAT:
		c->agent->in_flight = m->heartbeat->in_flight;
		c->agent->capacity = m->heartbeat->capacity;
		agent_load_update(c->agent, m->heartbeat->models, m->heartbeat->n_models,
		    (int64_t)link_now_ms());
		c->agent->links = m->heartbeat->links;
		break;
	case TOKILAKE__V1__AGENT_MESSAGE__MSG_GOODBYE:
		c->agent->draining = 1;
		log_info("agent %s of namespace %s is leaving: %s", c->agent->agent_id, c->agent->ns,
		    m->goodbye->reason[0] ? m->goodbye->reason : "no reason given");
		break;
	default:
		reject(s, GRPC_INVALID_ARGUMENT, "empty AgentMessage");
		break;
	}
out:
	tokilake__v1__agent_message__free_unpacked(m, &arena.alloc);
}

/* The agent half-closed Connect: it is leaving. Running tasks may finish. */
void
link_connect_peer_closed(struct link_stream *s)
{
	if (s->conn->agent != NULL)
		s->conn->agent->draining = 1;
	link_stream_finish(s, GRPC_OK, NULL);
	if (h2o_linklist_is_empty(&s->conn->tasks))
		link_conn_close_gracefully(s->conn);
}

/* The Connect stream is gone (reset or finished): so is the link. */
void
link_connect_closed(struct link_stream *s)
{
	link_conn_fail(s->conn, "Connect call ended");
}
