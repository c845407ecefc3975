/* agent_load: see agent_load.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_load.h"
#include "link.h"
#include "log.h"
#include "xmalloc.h"

struct load_entry {
	char *id;
	size_t len;
	struct model_load l;
};

struct agent_load {
	struct load_entry *e;  /* sorted by (id bytes, length) */
	size_t n;
};

static int
cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
cmp_entry(const void *x, const void *y)
{
	const struct load_entry *a = x, *b = y;

	return cmp_bytes(a->id, a->len, b->id, b->len);
}

static const struct load_entry *
find(const struct agent_load *t, const char *id, size_t len)
{
	size_t lo = 0, hi;

	if (t == NULL)
		return NULL;
	hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_bytes(id, len, t->e[mid].id, t->e[mid].len);

		if (c == 0)
			return &t->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct model_load *
agent_load_model(const struct agent_link *a, const char *model, size_t len)
{
	const struct load_entry *e = find(a->load, model, len);

	return e != NULL ? &e->l : NULL;
}

size_t
agent_load_count(const struct agent_link *a)
{
	return a->load != NULL ? a->load->n : 0;
}

void
agent_load_free(struct agent_load *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].id);
	free(t->e);
	free(t);
}

static int
same_load(const struct model_load *x, const struct model_load *y)
{
	return x->in_flight == y->in_flight && x->capacity == y->capacity &&
	    x->backend_known == y->backend_known && (!x->backend_known ||
	    (x->waiting == y->waiting && x->running == y->running &&
	    x->kv_permille == y->kv_permille));
}

static void
log_change(const struct agent_link *a, const struct load_entry *e)
{
	char w[16] = "-", r[16] = "-", k[16] = "-";

	if (e->l.backend_known) {
		snprintf(w, sizeof(w), "%u", e->l.waiting);
		snprintf(r, sizeof(r), "%u", e->l.running);
		snprintf(k, sizeof(k), "%u", e->l.kv_permille);
	}
	log_debug("load agent %s model %s: in_flight %u/%u waiting %s running %s kv %s",
	    a->agent_id, e->id, e->l.in_flight, e->l.capacity, w, r, k);
}

void
agent_load_update(struct agent_link *a, Tokilake__V1__ModelLoad *const *m, size_t n,
    int64_t now_ms)
{
	struct agent_load *old = a->load, *t;
	uint8_t *keep;
	size_t k = 0;

	a->load = NULL;
	if (n == 0 || a->nmodels == 0) {
		agent_load_free(old);
		return;
	}
	/* never more entries than the agent publishes models */
	if (n > a->nmodels)
		n = a->nmodels;
	t = xcalloc(1, sizeof(*t));
	t->e = xcalloc(n, sizeof(*t->e));
	for (size_t i = 0; i < n; i++) {
		const Tokilake__V1__ModelLoad *ml = m[i];
		struct load_entry *e = &t->e[k];

		if (ml == NULL || ml->id == NULL || ml->id[0] == '\0')
			continue;
		e->id = ml->id; /* borrowed until kept below */
		e->len = strlen(ml->id);
		e->l.in_flight = ml->in_flight;
		e->l.capacity = ml->capacity;
		e->l.backend_known = ml->backend_known ? 1 : 0;
		if (e->l.backend_known) {
			e->l.waiting = ml->waiting;
			e->l.running = ml->running;
			e->l.kv_permille = ml->kv_permille > 1000 ? 1000 : ml->kv_permille;
		}
		e->l.at_ms = now_ms;
		k++;
	}
	t->n = k;
	qsort(t->e, t->n, sizeof(*t->e), cmp_entry);
	/* keep the ids the agent publishes, once each (the first of equal
	 * ids after sorting: a duplicate is the agent's bug, either will do) */
	keep = xcalloc(t->n ? t->n : 1, 1);
	for (size_t i = 0; i < a->nmodels; i++) {
		const struct load_entry *e = find(t, a->models[i].id, strlen(a->models[i].id));
		if (e != NULL) {
			size_t at = (size_t)(e - t->e);
			while (at > 0 && cmp_entry(&t->e[at - 1], e) == 0)
				at--;
			keep[at] = 1;
		}
	}
	k = 0;
	for (size_t i = 0; i < t->n; i++)
		if (keep[i]) {
			t->e[k] = t->e[i];
			t->e[k].id = xstrdup(t->e[i].id);
			k++;
		}
	free(keep);
	t->n = k;
	a->load = t;
	for (size_t i = 0; i < t->n; i++) {
		const struct load_entry *o = find(old, t->e[i].id, t->e[i].len);
		if (o == NULL || !same_load(&o->l, &t->e[i].l))
			log_change(a, &t->e[i]);
	}
	agent_load_free(old);
}
