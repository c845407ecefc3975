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
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ipc.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

enum field_kind { F_U8, F_U16, F_U32, F_U64, F_STR, F_HEADERS, F_MODELS };

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
#define HEADERS(m) { _Generic(MEMBER(m), struct ipc_list: F_HEADERS), OFF(m), 0 }
#define MODELS(m) { _Generic(MEMBER(m), struct ipc_list: F_MODELS), OFF(m), 0 }

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
	FLD(req_start.flags) };
static const struct field f_REQ_BODY[] = { FLD(req_body.id), FLD(req_body.last),
	CHUNK(req_body.data) };
static const struct field f_RESP_HEAD[] = { FLD(resp_head.id), FLD(resp_head.status),
	HEADERS(resp_head.headers) };
static const struct field f_RESP_DATA[] = { FLD(resp_data.id), CHUNK(resp_data.data) };
static const struct field f_RESP_END[] = { FLD(resp_end.id) };
static const struct field f_RESP_ERROR[] = { FLD(resp_error.id), FLD(resp_error.status),
	FLD(resp_error.type), FLD(resp_error.code), FLD(resp_error.message) };
static const struct field f_CANCEL[] = { FLD(cancel.id) };
static const struct field f_WINDOW[] = { FLD(window.id), FLD(window.credit) };
static const struct field f_STATUS[] = { FLD(status.served), FLD(status.active) };

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

/* Smallest encoded list entries: a header is two empty strings, a model
 * three empty strings, a u64 and a u32. Used to reject absurd counts early. */
#define HEADER_ENTRY_MIN (4 + 4)
#define MODEL_ENTRY_MIN (4 + 4 + 4 + 8 + 4)

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

static uint64_t
be_load(const uint8_t *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

static void
be_store(uint8_t *p, size_t width, uint64_t v)
{
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
get_header(struct reader *r, struct ipc_str *name, struct ipc_str *value)
{
	if (get_str(r, name) == -1 || get_str(r, value) == -1)
		return -1;
	return 0;
}

static int
get_model(struct reader *r, struct ipc_model *m)
{
	uint64_t created, context_length;

	if (get_str(r, &m->ns) == -1 || get_str(r, &m->name) == -1 ||
	    get_str(r, &m->kind) == -1 || get_uint(r, 8, &created) == -1 ||
	    get_uint(r, 4, &context_length) == -1)
		return -1;
	m->created = created;
	m->context_length = (uint32_t)context_length;
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
	const char *what = kind == F_HEADERS ? "header" : "model";
	size_t min = kind == F_HEADERS ? HEADER_ENTRY_MIN : MODEL_ENTRY_MIN;
	uint64_t count;

	if (get_uint(r, 4, &count) == -1)
		return because("truncated %s payload", tname);
	if (count > (size_t)(r->end - r->p) / min)
		return because("%s list count %llu does not match the bytes of %s", what,
		    (unsigned long long)count, tname);
	list->base = r->p;
	for (uint64_t i = 0; i < count; i++) {
		struct ipc_str name, value;
		struct ipc_model model;
		int rc = kind == F_HEADERS ? get_header(r, &name, &value) : get_model(r, &model);

		if (rc == -1)
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
			return because("%s chunk too large (%zu > %zu)", tname, s->len,
			    (size_t)f->limit);
		return NULL;
	case F_HEADERS:
	case F_MODELS:
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

int
ipc_header_next(struct ipc_list_iter *it, struct ipc_str *name, struct ipc_str *value)
{
	struct reader r = { it->p, it->end };

	/* cannot fail on a decoded list; the check only guards hand-made ones */
	if (it->left == 0 || get_header(&r, name, value) == -1)
		return 0;
	it->p = r.p;
	it->left--;
	return 1;
}

int
ipc_model_next(struct ipc_list_iter *it, struct ipc_model *model)
{
	struct reader r = { it->p, it->end };

	if (it->left == 0 || get_model(&r, model) == -1)
		return 0;
	it->p = r.p;
	it->left--;
	return 1;
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
	uint8_t b[8];

	be_store(b, width, v);
	put_bytes(w, b, width);
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
	if (kind == F_HEADERS) {
		if (lists->headers == NULL && lists->nheaders != 0) {
			w->bad = 1;
			return;
		}
		put_count(w, lists->nheaders);
		for (size_t i = 0; i < lists->nheaders && !w->bad; i++) {
			const struct ipc_header_in *h = &lists->headers[i];

			put_str(w, h->name, h->name_len, 0);
			put_str(w, h->value, h->value_len, 0);
		}
		return;
	}
	if (lists->models == NULL && lists->nmodels != 0) {
		w->bad = 1;
		return;
	}
	put_count(w, lists->nmodels);
	for (size_t i = 0; i < lists->nmodels && !w->bad; i++) {
		const struct ipc_model *m = &lists->models[i];

		put_str(w, m->ns.base, m->ns.len, 0);
		put_str(w, m->name.base, m->name.len, 0);
		put_str(w, m->kind.base, m->kind.len, 0);
		put_uint(w, 8, m->created);
		put_uint(w, 4, m->context_length);
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
