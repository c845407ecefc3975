/*
 * registry: see registry.h.
 *
 * Lists are plain sorted TAILQs with linear search: a node links tens of
 * namespaces with a few agents and tens of models each; lookups happen
 * once per request, next to a JSON parse and a network round trip.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "xmalloc.h"

static int
name_ok(const char *s, size_t max)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > max)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* strcmp for a counted string against a C string. */
static int
cmp_n(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

void
registry_init(struct registry *reg)
{
	memset(reg, 0, sizeof(*reg));
	TAILQ_INIT(&reg->namespaces);
	reg->next_agent_id = 1;
}

struct reg_namespace *
registry_namespace(const struct registry *reg, const char *name, size_t len)
{
	struct reg_namespace *ns;

	TAILQ_FOREACH(ns, &reg->namespaces, entry) {
		int c = cmp_n(name, len, ns->name);

		if (c == 0)
			return ns;
		if (c < 0)
			break;
	}
	return NULL;
}

static struct reg_model *
ns_model(const struct reg_namespace *ns, const char *name, size_t len)
{
	struct reg_model *m;

	TAILQ_FOREACH(m, &ns->models, entry) {
		int c = cmp_n(name, len, m->name);

		if (c == 0)
			return m;
		if (c < 0)
			break;
	}
	return NULL;
}

struct reg_model *
registry_model(const struct registry *reg, const char *ns, size_t nslen, const char *model,
    size_t modellen)
{
	struct reg_namespace *n = registry_namespace(reg, ns, nslen);

	return n == NULL ? NULL : ns_model(n, model, modellen);
}

static struct reg_namespace *
ns_get(struct registry *reg, const char *name)
{
	struct reg_namespace *ns, *at;

	TAILQ_FOREACH(at, &reg->namespaces, entry) {
		int c = strcmp(name, at->name);

		if (c == 0)
			return at;
		if (c < 0)
			break;
	}
	ns = xcalloc(1, sizeof(*ns));
	ns->name = xstrdup(name);
	TAILQ_INIT(&ns->agents);
	TAILQ_INIT(&ns->models);
	if (at != NULL)
		TAILQ_INSERT_BEFORE(at, ns, entry);
	else
		TAILQ_INSERT_TAIL(&reg->namespaces, ns, entry);
	reg->nnamespaces++;
	return ns;
}

static void
ns_free_if_empty(struct registry *reg, struct reg_namespace *ns)
{
	if (ns->nagents != 0)
		return;
	/* no agent, so no model holds a reference */
	TAILQ_REMOVE(&reg->namespaces, ns, entry);
	reg->nnamespaces--;
	free(ns->name);
	free(ns);
}

/* Take a reference on a namespace model, creating it if new. */
static struct reg_model *
model_ref(struct registry *reg, struct reg_namespace *ns, const struct reg_model_info *info,
    uint64_t now)
{
	struct reg_model *m, *at;

	TAILQ_FOREACH(at, &ns->models, entry) {
		int c = strcmp(info->name, at->name);

		if (c == 0) {
			at->refs++;
			return at;
		}
		if (c < 0)
			break;
	}
	m = xcalloc(1, sizeof(*m));
	m->ns = ns;
	m->name = xstrdup(info->name);
	m->kind = xstrdup(info->kind ? info->kind : "chat");
	m->created = now;
	m->context_length = info->context_length;
	m->refs = 1;
	if (at != NULL)
		TAILQ_INSERT_BEFORE(at, m, entry);
	else
		TAILQ_INSERT_TAIL(&ns->models, m, entry);
	ns->nmodels++;
	reg->nmodels++;
	return m;
}

static void
model_unref(struct registry *reg, struct reg_model *m)
{
	struct reg_namespace *ns = m->ns;

	if (--m->refs > 0)
		return;
	free(m->local);
	free(m->remote);
	TAILQ_REMOVE(&ns->models, m, entry);
	ns->nmodels--;
	reg->nmodels--;
	free(m->name);
	free(m->kind);
	free(m);
}

struct reg_agent *
registry_agent_add(struct registry *reg, const char *ns, const char *name, void *link)
{
	struct reg_agent *a;

	if (!name_ok(ns, REG_MAX_NAME) || !name_ok(name, REG_MAX_NAME))
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->ns = ns_get(reg, ns);
	a->id = reg->next_agent_id++;
	a->name = xstrdup(name);
	a->link = link;
	TAILQ_INSERT_TAIL(&a->ns->agents, a, entry);
	a->ns->nagents++;
	reg->nagents++;
	return a;
}

/* The router's per-model lists: an agent is in the list of each model it
 * publishes, local or remote. */
static void
replica_add(struct reg_model *m, struct reg_agent *a)
{
	struct reg_agent ***list = a->node == NULL ? &m->local : &m->remote;
	size_t *n = a->node == NULL ? &m->nlocal : &m->nremote;
	size_t *cap = a->node == NULL ? &m->local_cap : &m->remote_cap;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 4;
		*list = xrealloc(*list, *cap * sizeof(**list));
	}
	(*list)[(*n)++] = a;
}

static void
replica_remove(struct reg_model *m, struct reg_agent *a)
{
	struct reg_agent **list = a->node == NULL ? m->local : m->remote;
	size_t *n = a->node == NULL ? &m->nlocal : &m->nremote;

	for (size_t i = 0; i < *n; i++)
		if (list[i] == a) {
			list[i] = list[--*n];
			return;
		}
}

static void
agent_drop_models(struct registry *reg, struct reg_agent *a)
{
	for (size_t i = 0; i < a->nmodels; i++)
		replica_remove(a->models[i], a);
	for (size_t i = 0; i < a->nmodels; i++)
		model_unref(reg, a->models[i]);
	free(a->models);
	a->models = NULL;
	a->nmodels = 0;
}

void
registry_agent_remove(struct registry *reg, struct reg_agent *a)
{
	struct reg_namespace *ns = a->ns;

	agent_drop_models(reg, a);
	TAILQ_REMOVE(&ns->agents, a, entry);
	ns->nagents--;
	reg->nagents--;
	if (a->node != NULL)
		reg->nremote--;
	free(a->name);
	free(a->gid);
	free(a->node);
	free(a->node_url);
	free(a);
	ns_free_if_empty(reg, ns);
}

void
registry_agent_set_gid(struct reg_agent *a, const char *gid)
{
	free(a->gid);
	a->gid = gid != NULL ? xstrdup(gid) : NULL;
}

struct reg_agent *
registry_remote_add(struct registry *reg, const char *ns, const char *name, const char *gid,
    const char *node, const char *node_url)
{
	struct reg_agent *a;

	if (!name_ok(gid, REG_MAX_NAME * 2) || !name_ok(node, REG_MAX_NAME) ||
	    !name_ok(node_url, REG_MAX_NAME))
		return NULL;
	if ((a = registry_agent_add(reg, ns, name, NULL)) == NULL)
		return NULL;
	a->gid = xstrdup(gid);
	a->node = xstrdup(node);
	a->node_url = xstrdup(node_url);
	reg->nremote++;
	return a;
}

struct reg_agent *
registry_agent_by_gid(const struct registry *reg, const char *gid)
{
	const struct reg_namespace *ns;
	struct reg_agent *a;

	TAILQ_FOREACH(ns, &reg->namespaces, entry)
		TAILQ_FOREACH(a, &ns->agents, entry)
			if (a->gid != NULL && strcmp(a->gid, gid) == 0)
				return a;
	return NULL;
}

static int
cmp_model_ptr(const void *a, const void *b)
{
	const struct reg_model *x = *(const struct reg_model *const *)a;
	const struct reg_model *y = *(const struct reg_model *const *)b;

	return strcmp(x->name, y->name);
}

int
registry_agent_set_models(struct registry *reg, struct reg_agent *a,
    const struct reg_model_info *models, size_t n, uint64_t now)
{
	struct reg_model **list;
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (!name_ok(models[i].name, REG_MAX_NAME) ||
		    (models[i].kind != NULL && !name_ok(models[i].kind, REG_MAX_KIND)))
			return -1;

	/* new references first, so a model kept across the update keeps its
	 * created time and its place */
	list = xcalloc(n ? n : 1, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		int dup = 0;

		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(models[i].name, models[j].name) == 0;
		if (!dup)
			list[count++] = model_ref(reg, a->ns, &models[i], now);
	}
	agent_drop_models(reg, a);
	qsort(list, count, sizeof(*list), cmp_model_ptr);
	a->models = list;
	a->nmodels = count;
	for (size_t i = 0; i < count; i++)
		replica_add(list[i], a);
	if (count != 0 && reg->models_published != NULL)
		reg->models_published(reg->hook_data);
	return 0;
}

int
registry_agent_has_model(const struct reg_agent *a, const char *model, size_t len)
{
	size_t lo = 0, hi = a->nmodels;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_n(model, len, a->models[mid]->name);

		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

int
registry_foreach_model(const struct registry *reg,
    int (*fn)(const struct reg_model *model, void *arg), void *arg)
{
	const struct reg_namespace *ns;
	const struct reg_model *m;
	int rv;

	TAILQ_FOREACH(ns, &reg->namespaces, entry)
		TAILQ_FOREACH(m, &ns->models, entry)
			if ((rv = fn(m, arg)) != 0)
				return rv;
	return 0;
}

void
registry_clear(struct registry *reg)
{
	struct reg_namespace *ns;

	while ((ns = TAILQ_FIRST(&reg->namespaces)) != NULL) {
		struct reg_agent *a;

		while ((a = TAILQ_FIRST(&ns->agents)) != NULL) {
			/* the last agent frees the namespace */
			int last = ns->nagents == 1;

			registry_agent_remove(reg, a);
			if (last)
				break;
		}
	}
}
