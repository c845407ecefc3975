/* model_pages: see model_pages.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "model_pages.h"
#include "xmalloc.h"

/* id u64 + more u8 + list count u32, and slack for the frame's fields */
#define PAGE_OVERHEAD 64
#define PAGE_BUDGET (IPC_MAX_PAYLOAD - PAGE_OVERHEAD)

struct page {
	struct ipc_model *models;
	size_t n, cap;
	size_t bytes;
	uint64_t id;
	models_emit_fn emit;
	void *arg;
};

/* Encoded size of one model entry: three strings, created, context. */
static size_t
model_size(const struct reg_model *m)
{
	return 4 + strlen(m->ns->name) + 4 + strlen(m->name) + 4 + strlen(m->kind) + 8 + 4;
}

static int
page_emit(struct page *pg, int more)
{
	struct ipc_msg msg;
	struct ipc_encode_lists lists;

	memset(&msg, 0, sizeof(msg));
	memset(&lists, 0, sizeof(lists));
	msg.type = IPC_MODELS_LIST;
	msg.u.models_list.id = pg->id;
	msg.u.models_list.more = (uint8_t)more;
	lists.models = pg->models;
	lists.nmodels = pg->n;
	if (pg->emit(pg->arg, &msg, &lists) == -1)
		return -1;
	pg->n = 0;
	pg->bytes = 0;
	return 0;
}

static int
add_model(const struct reg_model *m, void *arg)
{
	struct page *pg = arg;
	size_t size = model_size(m);
	struct ipc_model *e;

	if (pg->bytes + size > PAGE_BUDGET && pg->n > 0 && page_emit(pg, 1) == -1)
		return -1;
	if (pg->n == pg->cap) {
		pg->cap = pg->cap ? pg->cap * 2 : 64;
		pg->models = xrealloc(pg->models, pg->cap * sizeof(*pg->models));
	}
	e = &pg->models[pg->n++];
	e->ns.base = m->ns->name;
	e->ns.len = strlen(m->ns->name);
	e->name.base = m->name;
	e->name.len = strlen(m->name);
	e->kind.base = m->kind;
	e->kind.len = strlen(m->kind);
	e->created = m->created;
	e->context_length = m->context_length;
	pg->bytes += size;
	return 0;
}

int
models_pages(const struct registry *reg, uint64_t id, models_emit_fn emit, void *arg)
{
	struct page pg;
	int rv;

	memset(&pg, 0, sizeof(pg));
	pg.id = id;
	pg.emit = emit;
	pg.arg = arg;
	rv = registry_foreach_model(reg, add_model, &pg);
	if (rv == 0)
		rv = page_emit(&pg, 0);
	free(pg.models);
	return rv;
}
