/*
 * ipc: the codec for the frames described in ipc.h.
 *
 * One table says, for every message type, which members of struct ipc_msg
 * make up its payload and in which order. Decoding, measuring and encoding
 * all walk that table, so each message is described exactly once and the
 * two directions cannot drift apart. The wire width of an integer comes
 * from the C type of its member (_Generic), so the table cannot claim a
 * wrong width either.
 *
 * Decoding allocates nothing: strings and lists in a decoded message are
 * views into the caller's input. Lists are walked completely while
 * decoding, so the *_next() iterators never meet a malformed entry.
 *
 * Reasons for rejected frames are formatted into a per-thread buffer: the
 * string stays valid until the next ipc_decode() call in the same thread,
 * which is enough for "log it and drop the link".
 */
#include "config.h"

#include <assert.h>
#include <endian.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

enum field_kind { F_U8, F_U16, F_U32, F_U64, F_STR, F_HEADERS, F_MODELS, F_NAMESPACES, F_TOKENS,
	F_RAGENTS, F_RMODELS,
	F_KEYS, F_KEY_ALLOW, F_USAGES, F_KEY_LOADS };

/*
 * List entries, described once: the wire width of each member in order
 * (S = a string, else the byte width of an integer). The decoder checks
 * entries against this, the *_next() iterators read them with it, and the
 * encoder writes them with it.
 */
#define S 0
#define ENTRY_MAX_FIELDS 16
struct entry_spec {
	const char *what;
	uint8_t widths[ENTRY_MAX_FIELDS];
	size_t n;
};
static const struct entry_spec spec_header = { "header", { S, S }, 2 };
static const struct entry_spec spec_model = { "model", { S, S, S, 8, 4 }, 5 };
static const struct entry_spec spec_namespace = { "namespace", { S, 1 }, 2 };
static const struct entry_spec spec_token = { "token", { S, S }, 2 };
static const struct entry_spec spec_ragent = { "remote agent", { S, S, S, S, S, 8 }, 6 };
static const struct entry_spec spec_rmodel = { "remote model", { S, S, S, 4 }, 4 };
static const struct entry_spec spec_key = { "key", { S, S, S, 4, 4, 4, 8, 8, 8, 1 }, 10 };
static const struct entry_spec spec_key_allow = { "key pattern", { S, S }, 2 };
static const struct entry_spec spec_usage = { "usage", { S, S, S, S, S, S, 2, 1, 8, 8, 4, 4, 8 },
	13 };
/* Its numbers' bytes, after the six strings (put_usage, ipc_usage_next). */
#define USAGE_NUMS (2 + 1 + 8 + 8 + 4 + 4 + 8)
static const struct entry_spec spec_key_load = { "key load", { S, 8, 8, 8, 8, 8 }, 6 };
#undef S

/* One entry's values in spec order: strings and integers in their own arrays. */
struct entry_vals {
	struct ipc_str s[ENTRY_MAX_FIELDS];
	uint64_t u[ENTRY_MAX_FIELDS];
};

struct field {
	enum field_kind kind;
	size_t off;   /* of the member inside struct ipc_msg */
	size_t limit; /* F_STR: longest allowed string, 0 = the payload bound */
};

#define MEMBER(m) (((struct ipc_msg *)0)->u.m)
#define OFF(m) offsetof(struct ipc_msg, u.m)
/* An integer or string member: its C type picks the wire encoding. */
#define FLD(m)                                                                          \
	{ _Generic(MEMBER(m), uint8_t: F_U8, uint16_t: F_U16, uint32_t: F_U32,           \
	      uint64_t: F_U64, struct ipc_str: F_STR), OFF(m), 0 }
/* Body bytes: bounded by IPC_MAX_CHUNK so every chunk fits one frame. */
#define CHUNK(m) { _Generic(MEMBER(m), struct ipc_str: F_STR), OFF(m), IPC_MAX_CHUNK }
/* A key name: bounded as apikey.h says. */
#define KEYNAME(m) { _Generic(MEMBER(m), struct ipc_str: F_STR), OFF(m), APIKEY_NAME_MAX }
#define HEADERS(m) { _Generic(MEMBER(m), struct ipc_list: F_HEADERS), OFF(m), 0 }
#define MODELS(m) { _Generic(MEMBER(m), struct ipc_list: F_MODELS), OFF(m), 0 }
#define LIST(kind, m) { _Generic(MEMBER(m), struct ipc_list: kind), OFF(m), 0 }

static const struct field f_HELLO[] = { FLD(hello.version), FLD(hello.role), FLD(hello.slot),
	FLD(hello.pid), FLD(hello.generation) };
static const struct field f_HELLO_ACK[] = { FLD(hello_ack.version), FLD(hello_ack.generation) };
static const struct field f_READY[] = { FLD(ready.generation) };
static const struct field f_CONFIG[] = { FLD(config.generation), FLD(config.path),
	FLD(config.yaml) };
static const struct field f_CONFIG_ACK[] = { FLD(config_ack.generation), FLD(config_ack.ok),
	FLD(config_ack.error) };
static const struct field f_SHUTDOWN[] = { FLD(shutdown.mode), FLD(shutdown.timeout_ms) };
static const struct field f_LOG_REOPEN[] = { FLD(log_reopen.unused) };
static const struct field f_MODELS_QUERY[] = { FLD(models_query.id) };
static const struct field f_MODELS_LIST[] = { FLD(models_list.id), FLD(models_list.more),
	MODELS(models_list.models) };
static const struct field f_REQ_START[] = { FLD(req_start.id), FLD(req_start.method),
	FLD(req_start.path), FLD(req_start.ns), FLD(req_start.model), FLD(req_start.request_id),
	HEADERS(req_start.headers), FLD(req_start.body_len), FLD(req_start.deadline_ms),
	FLD(req_start.flags), KEYNAME(req_start.key), FLD(req_start.limits.rpm),
	FLD(req_start.limits.tpm), FLD(req_start.limits.max_in_flight),
	FLD(req_start.limits.tokens_per_day), FLD(req_start.limits.tokens_per_month) };
static const struct field f_REQ_BODY[] = { FLD(req_body.id), FLD(req_body.last),
	CHUNK(req_body.data) };
static const struct field f_RESP_HEAD[] = { FLD(resp_head.id), FLD(resp_head.status),
	HEADERS(resp_head.headers), FLD(resp_head.ratelimit) };
static const struct field f_RESP_DATA[] = { FLD(resp_data.id), CHUNK(resp_data.data) };
static const struct field f_RESP_END[] = { FLD(resp_end.id) };
static const struct field f_RESP_ERROR[] = { FLD(resp_error.id), FLD(resp_error.status),
	FLD(resp_error.type), FLD(resp_error.code), FLD(resp_error.message),
	HEADERS(resp_error.headers), FLD(resp_error.ratelimit) };
static const struct field f_CANCEL[] = { FLD(cancel.id) };
static const struct field f_WINDOW[] = { FLD(window.id), FLD(window.credit) };
static const struct field f_STATUS[] = { FLD(status.served), FLD(status.active) };
static const struct field f_NAMESPACES[] = { FLD(namespaces.more),
	LIST(F_NAMESPACES, namespaces.namespaces), LIST(F_TOKENS, namespaces.tokens) };
static const struct field f_REMOTE_AGENTS[] = { FLD(remote_agents.more),
	LIST(F_RAGENTS, remote_agents.agents), LIST(F_RMODELS, remote_agents.models) };
static const struct field f_AGENT_UP[] = { FLD(agent_up.agent_id), FLD(agent_up.ns),
	FLD(agent_up.name), FLD(agent_up.linked_at), MODELS(agent_up.models),
	FLD(agent_up.instance) };
static const struct field f_AGENT_MODELS[] = { FLD(agent_models.agent_id),
	MODELS(agent_models.models) };
static const struct field f_AGENT_DOWN[] = { FLD(agent_down.agent_id), FLD(agent_down.reason) };
static const struct field f_NODE_STATE[] = { FLD(node_state.database), FLD(node_state.snapshot),
	FLD(node_state.name), FLD(node_state.since) };
static const struct field f_KEYS[] = { FLD(keys.more), FLD(keys.keyed), LIST(F_KEYS, keys.keys),
	LIST(F_KEY_ALLOW, keys.allow) };
static const struct field f_USAGE[] = { LIST(F_USAGES, usage.records) };
static const struct field f_USAGE_BATCH[] = { FLD(usage_batch.dropped),
	LIST(F_USAGES, usage_batch.records) };
static const struct field f_KEY_LOAD[] = { FLD(key_load.unix_ms),
	LIST(F_KEY_LOADS, key_load.loads) };
static const struct field f_KEY_REMOTE[] = { FLD(key_remote.more),
	LIST(F_KEY_LOADS, key_remote.loads) };
static const struct field f_AGENT_STATE[] = { FLD(agent_state.states) };

struct layout {
	const char *name;
	const struct field *fields;
	size_t nfields;
};

/* Every type in IPC_MESSAGES must have an f_NAME table: a missing one does not compile. */
static const struct layout layouts[IPC_TYPE_MAX] = {
#define IPC_LAYOUT(name, val) [IPC_##name] = { #name, f_##name, nitems(f_##name) },
	IPC_MESSAGES(IPC_LAYOUT)
#undef IPC_LAYOUT
};

static const struct entry_spec *
spec_of(enum field_kind kind)
{
	switch (kind) {
	case F_HEADERS:
		return &spec_header;
	case F_MODELS:
		return &spec_model;
	case F_NAMESPACES:
		return &spec_namespace;
	case F_TOKENS:
		return &spec_token;
	case F_RAGENTS:
		return &spec_ragent;
	case F_RMODELS:
		return &spec_rmodel;
	case F_KEYS:
		return &spec_key;
	case F_KEY_ALLOW:
		return &spec_key_allow;
	case F_USAGES:
		return &spec_usage;
	case F_KEY_LOADS:
		return &spec_key_load;
	default:
		return NULL;
	}
}

/* Smallest encoded entry (every string empty): rejects absurd counts early. */
static size_t
entry_min(const struct entry_spec *spec)
{
	size_t n = 0;

	for (size_t i = 0; i < spec->n; i++)
		n += spec->widths[i] == 0 ? 4 : spec->widths[i];
	return n;
}

static const struct layout *
layout_of(unsigned type)
{
	if (type >= IPC_TYPE_MAX || layouts[type].name == NULL)
		return NULL;
	return &layouts[type];
}

const char *
ipc_type_name(unsigned type)
{
	const struct layout *l = layout_of(type);

	return l != NULL ? l->name : "?";
}

int
ipc_str_eq(struct ipc_str s, const char *c)
{
	size_t n = strlen(c);

	return s.len == n && (n == 0 || memcmp(s.base, c, n) == 0);
}

static size_t
width_of(enum field_kind kind)
{
	switch (kind) {
	case F_U8:
		return 1;
	case F_U16:
		return 2;
	case F_U32:
		return 4;
	default:
		return 8;
	}
}

/* Every message walks these a few dozen times: the fixed widths get a
 * load or store and a byte swap instead of a loop. */
static uint64_t
be_load(const uint8_t *p, size_t width)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v = 0;

	switch (width) {
	case 2:
		memcpy(&v16, p, 2);
		return be16toh(v16);
	case 4:
		memcpy(&v32, p, 4);
		return be32toh(v32);
	case 8:
		memcpy(&v, p, 8);
		return be64toh(v);
	}
	for (size_t i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

static void
be_store(uint8_t *p, size_t width, uint64_t v)
{
	uint16_t v16;
	uint32_t v32;

	switch (width) {
	case 2:
		v16 = htobe16((uint16_t)v);
		memcpy(p, &v16, 2);
		return;
	case 4:
		v32 = htobe32((uint32_t)v);
		memcpy(p, &v32, 4);
		return;
	case 8:
		v = htobe64(v);
		memcpy(p, &v, 8);
		return;
	}
	for (size_t i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

/* ---- decoding ---- */

/* The unread part of a payload. Every get_* fails instead of reading past end. */
struct reader {
	const uint8_t *p, *end;
};

static int
get_uint(struct reader *r, size_t width, uint64_t *v)
{
	if ((size_t)(r->end - r->p) < width)
		return -1;
	*v = be_load(r->p, width);
	r->p += width;
	return 0;
}

static int
get_str(struct reader *r, struct ipc_str *s)
{
	uint64_t len;

	if (get_uint(r, 4, &len) == -1 || (uint64_t)(r->end - r->p) < len)
		return -1;
	s->base = (const char *)r->p;
	s->len = (size_t)len;
	r->p += len;
	return 0;
}

static int
get_entry(struct reader *r, const struct entry_spec *spec, struct entry_vals *v)
{
	size_t ns = 0, nu = 0;

	for (size_t i = 0; i < spec->n; i++) {
		int rc = spec->widths[i] == 0 ? get_str(r, &v->s[ns++])
		                              : get_uint(r, spec->widths[i], &v->u[nu++]);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* Past one entry, its bounds checked but its values not read: the
 * decoder's check of a list (the *_next iterators read them). */
static int
skip_entry(struct reader *r, const struct entry_spec *spec)
{
	for (size_t i = 0; i < spec->n; i++) {
		size_t n = spec->widths[i];

		if (n == 0) {
			if ((size_t)(r->end - r->p) < 4)
				return -1;
			n = (size_t)be_load(r->p, 4);
			r->p += 4;
		}
		if ((size_t)(r->end - r->p) < n)
			return -1;
		r->p += n;
	}
	return 0;
}

static _Thread_local char reason[160];

static const char *
because(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
because(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return reason;
}

/* A list: u32 count, then count entries, every one of them checked now. */
static const char *
get_list(struct reader *r, enum field_kind kind, struct ipc_list *list, const char *tname)
{
	const struct entry_spec *spec = spec_of(kind);
	const char *what = spec->what;
	size_t min = entry_min(spec);
	uint64_t count;

	if (get_uint(r, 4, &count) == -1)
		return because("truncated %s payload", tname);
	if (count > (size_t)(r->end - r->p) / min)
		return because("%s list count %llu does not match the bytes of %s", what,
		    (unsigned long long)count, tname);
	list->base = r->p;
	for (uint64_t i = 0; i < count; i++) {
		if (skip_entry(r, spec) == -1)
			return because("%s list entry %llu of %llu runs past the end of %s", what,
			    (unsigned long long)i + 1, (unsigned long long)count, tname);
	}
	list->count = (uint32_t)count;
	list->len = (size_t)(r->p - list->base);
	return NULL;
}

/* Decode one field into its member of msg; NULL or why not. */
static const char *
get_field(struct reader *r, const struct field *f, struct ipc_msg *msg, const char *tname)
{
	void *member = (char *)msg + f->off;
	struct ipc_str *s = member;
	uint64_t v;

	switch (f->kind) {
	case F_U8:
	case F_U16:
	case F_U32:
	case F_U64:
		if (get_uint(r, width_of(f->kind), &v) == -1)
			return because("truncated %s payload", tname);
		if (f->kind == F_U8)
			*(uint8_t *)member = (uint8_t)v;
		else if (f->kind == F_U16)
			*(uint16_t *)member = (uint16_t)v;
		else if (f->kind == F_U32)
			*(uint32_t *)member = (uint32_t)v;
		else
			*(uint64_t *)member = v;
		return NULL;
	case F_STR:
		if (get_str(r, s) == -1)
			return because("truncated %s payload", tname);
		if (f->limit != 0 && s->len > f->limit)
			return because("%s %s too large (%zu > %zu)", tname,
			    f->limit == IPC_MAX_CHUNK ? "chunk" : "string", s->len, (size_t)f->limit);
		return NULL;
	case F_HEADERS:
	case F_MODELS:
	case F_NAMESPACES:
	case F_TOKENS:
	case F_RAGENTS:
	case F_RMODELS:
	case F_KEYS:
	case F_KEY_ALLOW:
	case F_USAGES:
	case F_KEY_LOADS:
		return get_list(r, f->kind, member, tname);
	}
	return because("bad field table for %s", tname);
}

ssize_t
ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg, const char **why)
{
	const struct layout *lay;
	const char *dummy, *err;
	struct reader r;
	uint64_t plen;
	unsigned type, flags;

	if (why == NULL)
		why = &dummy;
	if (len < IPC_HEADER_SIZE)
		return 0;
	plen = be_load(buf, 4);
	type = (unsigned)be_load(buf + 4, 2);
	flags = (unsigned)be_load(buf + 6, 2);
	if ((lay = layout_of(type)) == NULL) {
		*why = because("unknown message type %u", type);
		return -1;
	}
	if (flags != 0) {
		*why = because("non-zero flags 0x%04x on %s", flags, lay->name);
		return -1;
	}
	/* decided on the header alone: never wait for bytes we would refuse */
	if (plen > IPC_MAX_PAYLOAD) {
		*why = because("payload too large (%llu > %d) for %s", (unsigned long long)plen,
		    IPC_MAX_PAYLOAD, lay->name);
		return -1;
	}
	if (len - IPC_HEADER_SIZE < plen)
		return 0;

	memset(msg, 0, sizeof(*msg));
	msg->type = (enum ipc_type)type;
	r.p = buf + IPC_HEADER_SIZE;
	r.end = r.p + plen;
	for (size_t i = 0; i < lay->nfields; i++) {
		if ((err = get_field(&r, &lay->fields[i], msg, lay->name)) != NULL) {
			*why = err;
			return -1;
		}
	}
	if (r.p != r.end) {
		*why = because("trailing bytes after %s (%zu)", lay->name, (size_t)(r.end - r.p));
		return -1;
	}
	return (ssize_t)(IPC_HEADER_SIZE + plen);
}

void
ipc_list_begin(struct ipc_list_iter *it, const struct ipc_list *list)
{
	it->p = list->base;
	it->end = list->len != 0 ? list->base + list->len : list->base; /* base may be NULL */
	it->left = list->count;
}

static int
entry_next(struct ipc_list_iter *it, const struct entry_spec *spec, struct entry_vals *v)
{
	struct reader r = { it->p, it->end };

	/* cannot fail on a decoded list; the check only guards hand-made ones */
	if (it->left == 0 || get_entry(&r, spec, v) == -1)
		return 0;
	it->p = r.p;
	it->left--;
	return 1;
}

/* Headers are read on every request: two strings, not the generic walk. */
int
ipc_header_next(struct ipc_list_iter *it, struct ipc_str *name, struct ipc_str *value)
{
	struct reader r = { it->p, it->end };

	/* cannot fail on a decoded list; the check only guards hand-made ones */
	if (it->left == 0 || get_str(&r, name) == -1 || get_str(&r, value) == -1)
		return 0;
	it->p = r.p;
	it->left--;
	return 1;
}

int
ipc_model_next(struct ipc_list_iter *it, struct ipc_model *model)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_model, &v))
		return 0;
	model->ns = v.s[0];
	model->name = v.s[1];
	model->kind = v.s[2];
	model->created = v.u[0];
	model->context_length = (uint32_t)v.u[1];
	return 1;
}

int
ipc_namespace_next(struct ipc_list_iter *it, struct ipc_namespace *ns)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_namespace, &v))
		return 0;
	ns->name = v.s[0];
	ns->disabled = (uint8_t)v.u[0];
	return 1;
}

int
ipc_token_next(struct ipc_list_iter *it, struct ipc_token *token)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_token, &v))
		return 0;
	token->ns = v.s[0];
	token->hash = v.s[1];
	return 1;
}

int
ipc_remote_agent_next(struct ipc_list_iter *it, struct ipc_remote_agent *a)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_ragent, &v))
		return 0;
	a->agent_id = v.s[0];
	a->ns = v.s[1];
	a->node = v.s[2];
	a->node_url = v.s[3];
	a->name = v.s[4];
	a->linked_at = v.u[0];
	return 1;
}

int
ipc_remote_model_next(struct ipc_list_iter *it, struct ipc_remote_model *m)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_rmodel, &v))
		return 0;
	m->agent_id = v.s[0];
	m->name = v.s[1];
	m->kind = v.s[2];
	m->context_length = (uint32_t)v.u[0];
	return 1;
}

int
ipc_key_next(struct ipc_list_iter *it, struct ipc_key *k)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_key, &v))
		return 0;
	k->name = v.s[0];
	k->owner = v.s[1];
	k->hash = v.s[2];
	k->rpm = (uint32_t)v.u[0];
	k->tpm = (uint32_t)v.u[1];
	k->max_in_flight = (uint32_t)v.u[2];
	k->tokens_per_day = v.u[3];
	k->tokens_per_month = v.u[4];
	k->expires_at = v.u[5];
	k->disabled = (uint8_t)v.u[6];
	return 1;
}

int
ipc_key_allow_next(struct ipc_list_iter *it, struct ipc_key_allow *a)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_key_allow, &v))
		return 0;
	a->key = v.s[0];
	a->pattern = v.s[1];
	return 1;
}

/* Read on every request by agentd and the master: the members at once,
 * not the generic walk (spec_usage's order). */
int
ipc_usage_next(struct ipc_list_iter *it, struct ipc_usage *u)
{
	struct reader r = { it->p, it->end };
	struct ipc_str *s[6] = { &u->key, &u->ns, &u->model, &u->node, &u->request_id, &u->end };
	const uint8_t *p;

	if (it->left == 0)
		return 0;
	for (size_t i = 0; i < 6; i++)
		if (get_str(&r, s[i]) == -1)
			return 0;
	/* cannot fail on a decoded list; the check only guards hand-made ones */
	if ((size_t)(r.end - r.p) < USAGE_NUMS)
		return 0;
	p = r.p;
	u->status = (uint16_t)be_load(p, 2);
	u->flags = p[2];
	u->prompt_tokens = be_load(p + 3, 8);
	u->completion_tokens = be_load(p + 11, 8);
	u->ttfb_ms = (uint32_t)be_load(p + 19, 4);
	u->duration_ms = (uint32_t)be_load(p + 23, 4);
	u->unix_ms = be_load(p + 27, 8);
	it->p = p + USAGE_NUMS;
	it->left--;
	return 1;
}

int
ipc_key_load_next(struct ipc_list_iter *it, struct ipc_key_load *k)
{
	struct entry_vals v;

	if (!entry_next(it, &spec_key_load, &v))
		return 0;
	k->key = v.s[0];
	k->requests = v.u[0];
	k->tokens = v.u[1];
	k->in_flight = v.u[2];
	k->tokens_day = v.u[3];
	k->tokens_month = v.u[4];
	return 1;
}

/* The values of entry i of the caller's array for a list kind. */
static void
entry_from_lists(enum field_kind kind, const struct ipc_encode_lists *l, size_t i,
    struct entry_vals *v)
{
	switch (kind) {
	case F_HEADERS:
		v->s[0] = (struct ipc_str){ l->headers[i].name, l->headers[i].name_len };
		v->s[1] = (struct ipc_str){ l->headers[i].value, l->headers[i].value_len };
		break;
	case F_MODELS:
		v->s[0] = l->models[i].ns;
		v->s[1] = l->models[i].name;
		v->s[2] = l->models[i].kind;
		v->u[0] = l->models[i].created;
		v->u[1] = l->models[i].context_length;
		break;
	case F_NAMESPACES:
		v->s[0] = l->namespaces[i].name;
		v->u[0] = l->namespaces[i].disabled;
		break;
	case F_TOKENS:
		v->s[0] = l->tokens[i].ns;
		v->s[1] = l->tokens[i].hash;
		break;
	case F_RAGENTS:
		v->s[0] = l->ragents[i].agent_id;
		v->s[1] = l->ragents[i].ns;
		v->s[2] = l->ragents[i].node;
		v->s[3] = l->ragents[i].node_url;
		v->s[4] = l->ragents[i].name;
		v->u[0] = l->ragents[i].linked_at;
		break;
	case F_RMODELS:
		v->s[0] = l->rmodels[i].agent_id;
		v->s[1] = l->rmodels[i].name;
		v->s[2] = l->rmodels[i].kind;
		v->u[0] = l->rmodels[i].context_length;
		break;
	case F_KEYS:
		v->s[0] = l->keys[i].name;
		v->s[1] = l->keys[i].owner;
		v->s[2] = l->keys[i].hash;
		v->u[0] = l->keys[i].rpm;
		v->u[1] = l->keys[i].tpm;
		v->u[2] = l->keys[i].max_in_flight;
		v->u[3] = l->keys[i].tokens_per_day;
		v->u[4] = l->keys[i].tokens_per_month;
		v->u[5] = l->keys[i].expires_at;
		v->u[6] = l->keys[i].disabled;
		break;
	case F_KEY_ALLOW:
		v->s[0] = l->key_allow[i].key;
		v->s[1] = l->key_allow[i].pattern;
		break;
	case F_USAGES:
		v->s[0] = l->usages[i].key;
		v->s[1] = l->usages[i].ns;
		v->s[2] = l->usages[i].model;
		v->s[3] = l->usages[i].node;
		v->s[4] = l->usages[i].request_id;
		v->s[5] = l->usages[i].end;
		v->u[0] = l->usages[i].status;
		v->u[1] = l->usages[i].flags;
		v->u[2] = l->usages[i].prompt_tokens;
		v->u[3] = l->usages[i].completion_tokens;
		v->u[4] = l->usages[i].ttfb_ms;
		v->u[5] = l->usages[i].duration_ms;
		v->u[6] = l->usages[i].unix_ms;
		break;
	case F_KEY_LOADS:
		v->s[0] = l->key_loads[i].key;
		v->u[0] = l->key_loads[i].requests;
		v->u[1] = l->key_loads[i].tokens;
		v->u[2] = l->key_loads[i].in_flight;
		v->u[3] = l->key_loads[i].tokens_day;
		v->u[4] = l->key_loads[i].tokens_month;
		break;
	default:
		break;
	}
}

static size_t
entry_size(const struct entry_spec *spec, const struct entry_vals *v)
{
	size_t n = 0, ns = 0;

	for (size_t i = 0; i < spec->n; i++)
		n += spec->widths[i] == 0 ? 4 + v->s[ns++].len : spec->widths[i];
	return n;
}

size_t
ipc_model_size(const struct ipc_model *m)
{
	struct ipc_encode_lists l = { .models = m, .nmodels = 1 };
	struct entry_vals v;

	entry_from_lists(F_MODELS, &l, 0, &v);
	return entry_size(&spec_model, &v);
}

size_t
ipc_namespace_size(const struct ipc_namespace *ns)
{
	return 4 + ns->name.len + 1;
}

size_t
ipc_token_size(const struct ipc_token *t)
{
	return 4 + t->ns.len + 4 + t->hash.len;
}

size_t
ipc_remote_agent_size(const struct ipc_remote_agent *a)
{
	return 5 * 4 + a->agent_id.len + a->ns.len + a->node.len + a->node_url.len + a->name.len +
	    8;
}

size_t
ipc_remote_model_size(const struct ipc_remote_model *m)
{
	return 3 * 4 + m->agent_id.len + m->name.len + m->kind.len + 4;
}

size_t
ipc_key_size(const struct ipc_key *k)
{
	return 3 * 4 + k->name.len + k->owner.len + k->hash.len + 3 * 4 + 3 * 8 + 1;
}

size_t
ipc_key_allow_size(const struct ipc_key_allow *a)
{
	return 2 * 4 + a->key.len + a->pattern.len;
}

size_t
ipc_usage_size(const struct ipc_usage *u)
{
	struct ipc_encode_lists l = { .usages = u, .nusages = 1 };
	struct entry_vals v;

	entry_from_lists(F_USAGES, &l, 0, &v);
	return entry_size(&spec_usage, &v);
}

size_t
ipc_key_load_size(const struct ipc_key_load *k)
{
	return 4 + k->key.len + 5 * 8;
}

/* ---- encoding ---- */

/*
 * Where encoded payload bytes go. The same walk runs twice: first with
 * p == NULL to measure and validate, then into the reserved space. size
 * never exceeds IPC_MAX_PAYLOAD, so no sum below can overflow. The
 * message's strings must not point into the output buf: reserving space
 * may move it.
 */
struct writer {
	uint8_t *p; /* NULL: only measure */
	size_t size;
	int bad;
};

static void
put_bytes(struct writer *w, const void *src, size_t n)
{
	if (w->bad)
		return;
	if (n > IPC_MAX_PAYLOAD - w->size || (src == NULL && n != 0)) {
		w->bad = 1;
		return;
	}
	if (w->p != NULL && n != 0) {
		memcpy(w->p, src, n);
		w->p += n;
	}
	w->size += n;
}

static void
put_uint(struct writer *w, size_t width, uint64_t v)
{
	if (w->bad)
		return;
	if (width > IPC_MAX_PAYLOAD - w->size) {
		w->bad = 1;
		return;
	}
	if (w->p != NULL) {
		be_store(w->p, width, v);
		w->p += width;
	}
	w->size += width;
}

static void
put_str(struct writer *w, const void *base, size_t len, size_t limit)
{
	if (len > IPC_MAX_PAYLOAD || (limit != 0 && len > limit)) {
		w->bad = 1;
		return;
	}
	put_uint(w, 4, len);
	put_bytes(w, base, len);
}

static void
put_count(struct writer *w, size_t n)
{
	if (n > UINT32_MAX) {
		w->bad = 1;
		return;
	}
	put_uint(w, 4, n);
}

static void
put_entry(struct writer *w, const struct entry_spec *spec, const struct entry_vals *v)
{
	size_t ns = 0, nu = 0;

	for (size_t f = 0; f < spec->n; f++) {
		if (spec->widths[f] == 0) {
			put_str(w, v->s[ns].base, v->s[ns].len, 0);
			ns++;
		} else
			put_uint(w, spec->widths[f], v->u[nu++]);
	}
}

/* A header entry: put_str of its name and of its value, checked and
 * written at once (the bounds as put_str's: w->size + n stays within
 * IPC_MAX_PAYLOAD, so nothing here overflows). */
static void
put_header(struct writer *w, const struct ipc_header_in *h)
{
	size_t n;

	if (h->name_len > IPC_MAX_PAYLOAD || h->value_len > IPC_MAX_PAYLOAD ||
	    (h->name == NULL && h->name_len != 0) || (h->value == NULL && h->value_len != 0) ||
	    (n = 8 + h->name_len + h->value_len) > IPC_MAX_PAYLOAD - w->size) {
		w->bad = 1;
		return;
	}
	if (w->p != NULL) {
		be_store(w->p, 4, h->name_len);
		if (h->name_len != 0)
			memcpy(w->p + 4, h->name, h->name_len);
		be_store(w->p + 4 + h->name_len, 4, h->value_len);
		if (h->value_len != 0)
			memcpy(w->p + 8 + h->name_len, h->value, h->value_len);
		w->p += n;
	}
	w->size += n;
}

/* A string of an entry written at p: its length, its bytes. */
static uint8_t *
store_str(uint8_t *p, struct ipc_str s)
{
	be_store(p, 4, s.len);
	if (s.len != 0)
		memcpy(p + 4, s.base, s.len);
	return p + 4 + s.len;
}

/* A usage entry, as spec_usage says, checked as put_entry would (strings
 * within IPC_MAX_PAYLOAD, no NULL with a length) and written at once. */
static void
put_usage(struct writer *w, const struct ipc_usage *u)
{
	const struct ipc_str *s[6] = { &u->key, &u->ns, &u->model, &u->node, &u->request_id,
		&u->end };
	size_t n = 6 * 4 + USAGE_NUMS;
	uint8_t *p;

	for (size_t i = 0; i < 6; i++) {
		if (s[i]->len > IPC_MAX_PAYLOAD || (s[i]->base == NULL && s[i]->len != 0)) {
			w->bad = 1;
			return;
		}
		n += s[i]->len;
	}
	if (n > IPC_MAX_PAYLOAD - w->size) {
		w->bad = 1;
		return;
	}
	if ((p = w->p) != NULL) {
		for (size_t i = 0; i < 6; i++)
			p = store_str(p, *s[i]);
		be_store(p, 2, u->status);
		p[2] = u->flags;
		be_store(p + 3, 8, u->prompt_tokens);
		be_store(p + 11, 8, u->completion_tokens);
		be_store(p + 19, 4, u->ttfb_ms);
		be_store(p + 23, 4, u->duration_ms);
		be_store(p + 27, 8, u->unix_ms);
		w->p = p + USAGE_NUMS;
	}
	w->size += n;
}

/*
 * A list field. With lists the entries come from the caller's arrays; with
 * lists == NULL the message's own ipc_list is copied as it is, so a decoded
 * message can be forwarded unchanged (a zeroed ipc_list is an empty list).
 */
static void
put_list(struct writer *w, enum field_kind kind, const struct ipc_list *raw,
    const struct ipc_encode_lists *lists)
{
	if (lists == NULL) {
		put_uint(w, 4, raw->count);
		put_bytes(w, raw->base, raw->len);
		return;
	}
	const struct entry_spec *spec = spec_of(kind);
	const void *array;
	size_t count;

	switch (kind) {
	case F_HEADERS:
		array = lists->headers, count = lists->nheaders;
		break;
	case F_MODELS:
		array = lists->models, count = lists->nmodels;
		break;
	case F_NAMESPACES:
		array = lists->namespaces, count = lists->nnamespaces;
		break;
	case F_TOKENS:
		array = lists->tokens, count = lists->ntokens;
		break;
	case F_RAGENTS:
		array = lists->ragents, count = lists->nragents;
		break;
	case F_RMODELS:
		array = lists->rmodels, count = lists->nrmodels;
		break;
	case F_KEYS:
		array = lists->keys, count = lists->nkeys;
		break;
	case F_KEY_ALLOW:
		array = lists->key_allow, count = lists->nkey_allow;
		break;
	case F_USAGES:
		array = lists->usages, count = lists->nusages;
		break;
	case F_KEY_LOADS:
		array = lists->key_loads, count = lists->nkey_loads;
		break;
	default:
		w->bad = 1;
		return;
	}
	if (array == NULL && count != 0) {
		w->bad = 1;
		return;
	}
	put_count(w, count);
	if (kind == F_USAGES) {
		/* one per request (the worker's USAGE), a frame of them per
		 * batch: thirteen members written at once */
		for (size_t i = 0; i < count && !w->bad; i++)
			put_usage(w, &lists->usages[i]);
		return;
	}
	if (kind == F_HEADERS) {
		/* in most frames (RESP_HEAD, REQ_START; six more with a key's
		 * limits): two strings an entry, without the generic walk */
		for (size_t i = 0; i < count && !w->bad; i++)
			put_header(w, &lists->headers[i]);
		return;
	}
	for (size_t i = 0; i < count && !w->bad; i++) {
		struct entry_vals v;

		entry_from_lists(kind, lists, i, &v);
		put_entry(w, spec, &v);
	}
}

static void
put_fields(struct writer *w, const struct layout *lay, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	for (size_t i = 0; i < lay->nfields && !w->bad; i++) {
		const struct field *f = &lay->fields[i];
		const void *member = (const char *)msg + f->off;
		const struct ipc_str *s = member;

		switch (f->kind) {
		case F_U8:
			put_uint(w, 1, *(const uint8_t *)member);
			break;
		case F_U16:
			put_uint(w, 2, *(const uint16_t *)member);
			break;
		case F_U32:
			put_uint(w, 4, *(const uint32_t *)member);
			break;
		case F_U64:
			put_uint(w, 8, *(const uint64_t *)member);
			break;
		case F_STR:
			put_str(w, s->base, s->len, f->limit);
			break;
		case F_HEADERS:
		case F_MODELS:
		case F_NAMESPACES:
		case F_TOKENS:
		case F_RAGENTS:
		case F_RMODELS:
		case F_KEYS:
		case F_KEY_ALLOW:
		case F_USAGES:
		case F_KEY_LOADS:
			put_list(w, f->kind, member, lists);
			break;
		}
	}
}

int
ipc_encode(struct buf *out, const struct ipc_msg *msg, const struct ipc_encode_lists *lists)
{
	const struct layout *lay = layout_of(msg->type);
	struct writer w = { NULL, 0, 0 };
	uint8_t *frame;
	size_t size;

	if (lay == NULL)
		return -1;
	put_fields(&w, lay, msg, lists);
	if (w.bad)
		return -1;
	size = w.size;
	if ((frame = buf_reserve(out, IPC_HEADER_SIZE + size)) == NULL)
		return -1;
	be_store(frame, 4, size);
	be_store(frame + 4, 2, (uint64_t)msg->type);
	be_store(frame + 6, 2, 0);
	w = (struct writer){ frame + IPC_HEADER_SIZE, 0, 0 };
	put_fields(&w, lay, msg, lists);
	/* the same walk over the same input: anything else is a bug here */
	assert(!w.bad && w.size == size);
	buf_commit(out, IPC_HEADER_SIZE + size);
	return 0;
}

int
ipc_usage_encode(struct buf *out, const struct ipc_usage *u)
{
	struct writer w = { NULL, 0, 0 };
	uint8_t *p;

	put_usage(&w, u);
	if (w.bad || (p = buf_reserve(out, w.size)) == NULL)
		return -1;
	w = (struct writer){ p, 0, 0 };
	put_usage(&w, u);
	buf_commit(out, w.size);
	return 0;
}

size_t
ipc_str_copy(char *dst, size_t size, struct ipc_str s)
{
	const char *nul;
	size_t n = s.len < size - 1 ? s.len : size - 1;

	if (n > 0 && (nul = memchr(s.base, '\0', n)) != NULL)
		n = (size_t)(nul - s.base);
	if (n > 0)
		memcpy(dst, s.base, n);
	dst[n] = '\0';
	return n;
}
