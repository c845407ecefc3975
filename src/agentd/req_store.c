/*
 * req_store: see req_store.h.
 */
#include "config.h"

#include <string.h>

#include "agentd.h"
#include "req_store.h"
#include "xmalloc.h"

int
req_store_encode(struct buf *out, const struct ipc_msg *msg)
{
	uint32_t nh = msg->u.req_start.headers.count;
	struct ipc_header_in *hin;
	struct ipc_encode_lists lists;
	struct ipc_list_iter it;
	struct ipc_str name, value;
	int rv;

	hin = xcalloc(nh ? nh : 1, sizeof(*hin));
	nh = 0;
	ipc_list_begin(&it, &msg->u.req_start.headers);
	while (ipc_header_next(&it, &name, &value)) {
		hin[nh].name = name.base;
		hin[nh].name_len = name.len;
		hin[nh].value = value.base;
		hin[nh].value_len = value.len;
		nh++;
	}
	memset(&lists, 0, sizeof(lists));
	lists.headers = hin;
	lists.nheaders = nh;
	rv = ipc_encode(out, msg, &lists) != 0 ? -1 : 0;
	free(hin);
	return rv;
}

int
req_store_init(struct req_store *s, const struct ipc_msg *msg)
{
	memset(s, 0, sizeof(*s));
	s->id = msg->u.req_start.id;
	s->reserved = msg->u.req_start.body_len < IPC_BODY_WINDOW ?
	    (size_t)msg->u.req_start.body_len : IPC_BODY_WINDOW;
	buf_init(&s->start, IPC_HEADER_SIZE + IPC_MAX_PAYLOAD);
	buf_init(&s->body, IPC_BODY_WINDOW);
	if (req_store_encode(&s->start, msg) != 0) {
		req_store_free(s);
		return -1;
	}
	return 0;
}

void
req_store_free(struct req_store *s)
{
	buf_free(&s->start);
	buf_free(&s->body);
}

int
req_store_body(struct req_store *s, const struct ipc_msg *msg)
{
	if (buf_append(&s->body, msg->u.req_body.data.base, msg->u.req_body.data.len) != 0)
		return -1;
	if (msg->u.req_body.last)
		s->body_last = 1;
	return 0;
}

int
req_store_start(const struct req_store *s, struct ipc_msg *out, const char **why)
{
	*why = "truncated";
	return ipc_decode(buf_head(&s->start), s->start.len, out, why) > 0 ? 0 : -1;
}

void
req_store_replay_body(const struct req_store *s, struct worker_conn *wc)
{
	struct ipc_msg chunk;
	size_t off = 0;

	/* a request refused just now has its id among the draining ones,
	 * which take these quietly */
	while (!wc->ipc.closed) {
		size_t n = s->body.len - off;

		if (n > IPC_MAX_CHUNK)
			n = IPC_MAX_CHUNK;
		if (n == 0 && !s->body_last)
			break; /* the rest comes from the worker as usual */
		memset(&chunk, 0, sizeof(chunk));
		chunk.type = IPC_REQ_BODY;
		chunk.u.req_body.id = s->id;
		chunk.u.req_body.data.base = (const char *)buf_head(&s->body) + off;
		chunk.u.req_body.data.len = n;
		off += n;
		chunk.u.req_body.last = s->body_last && off == s->body.len;
		agentd_request_body(wc, &chunk);
		if (off == s->body.len)
			break;
	}
}
