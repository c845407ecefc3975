/* ipc_conn: see ipc_conn.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ipc_conn.h"
#include "log.h"

static void on_read(h2o_socket_t *sock, const char *err);
static void flush(struct ipc_conn *conn);

static h2o_timeout_t turn_end; /* zero delay: runs after this turn's I/O */
static h2o_loop_t *turn_loop;

void
ipc_conns_init(h2o_loop_t *loop)
{
	h2o_timeout_init(loop, &turn_end, 0);
	turn_loop = loop;
}

void
ipc_conns_dispose(void)
{
	if (turn_loop == NULL)
		return;
	/* a conn left half-closed must not keep the timer busy */
	while (!h2o_linklist_is_empty(&turn_end._entries))
		h2o_timeout_unlink(H2O_STRUCT_FROM_MEMBER(h2o_timeout_entry_t, _link,
		    turn_end._entries.next));
	h2o_timeout_dispose(turn_loop, &turn_end);
	turn_loop = NULL;
}

static void
on_turn_end(h2o_timeout_entry_t *entry)
{
	flush(H2O_STRUCT_FROM_MEMBER(struct ipc_conn, flush_soon, entry));
}

void
ipc_conn_wrap(struct ipc_conn *conn, h2o_socket_t *sock, const char *name, size_t out_max,
    ipc_conn_msg_cb on_msg, ipc_conn_close_cb on_close, void *data)
{
	memset(conn, 0, sizeof(*conn));
	conn->sock = sock;
	sock->data = conn;
	buf_init(&conn->queue, out_max);
	buf_init(&conn->inflight, 0); /* only ever holds what queue held */
	snprintf(conn->name, sizeof(conn->name), "%s", name);
	conn->on_msg = on_msg;
	conn->on_close = on_close;
	conn->data = data;
	conn->flush_soon.cb = on_turn_end;
	h2o_socket_read_start(sock, on_read);
}

void
ipc_conn_open(struct ipc_conn *conn, h2o_loop_t *loop, int fd, const char *name, size_t out_max,
    ipc_conn_msg_cb on_msg, ipc_conn_close_cb on_close, void *data)
{
	h2o_socket_t *sock = h2o_evloop_socket_create(loop, fd, 0);

	ipc_conn_wrap(conn, sock, name, out_max, on_msg, on_close, data);
}

static void
on_write(h2o_socket_t *sock, const char *err)
{
	struct ipc_conn *conn = sock->data;

	conn->writing = 0;
	buf_reset(&conn->inflight);
	if (err != NULL) {
		ipc_conn_close(conn, err);
		return;
	}
	flush(conn);
	if (conn->closing && ipc_conn_flushed(conn))
		ipc_conn_close(conn, conn->why);
}

static void
flush(struct ipc_conn *conn)
{
	struct buf tmp;
	h2o_iovec_t vec;

	if (h2o_timeout_is_linked(&conn->flush_soon))
		h2o_timeout_unlink(&conn->flush_soon);
	if (conn->closed || conn->writing || conn->queue.len == 0)
		return;
	/* swap: the queue becomes the write in flight, and an empty buffer
	 * takes new frames (the bound moves with the queue role) */
	tmp = conn->inflight;
	conn->inflight = conn->queue;
	conn->queue = tmp;
	conn->queue.max = conn->inflight.max;
	conn->inflight.max = 0;
	vec = h2o_iovec_init(buf_head(&conn->inflight), conn->inflight.len);
	conn->writing = 1;
	h2o_socket_write(conn->sock, &vec, 1, on_write);
}

int
ipc_conn_send(struct ipc_conn *conn, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	if (conn->closed || conn->closing)
		return -1;
	if (ipc_encode(&conn->queue, msg, lists) == -1)
		return -1;
	if (turn_loop == NULL)
		flush(conn);
	else if (!conn->writing && !h2o_timeout_is_linked(&conn->flush_soon))
		h2o_timeout_link(turn_loop, &turn_end, &conn->flush_soon);
	return 0;
}

void
ipc_conn_close(struct ipc_conn *conn, const char *why)
{
	if (conn->closed)
		return;
	conn->closed = 1;
	if (h2o_timeout_is_linked(&conn->flush_soon))
		h2o_timeout_unlink(&conn->flush_soon);
	if (why != conn->why)
		snprintf(conn->why, sizeof(conn->why), "%s", why);
	/* h2o drops a write still in flight; its buffer is ours to free */
	h2o_socket_close(conn->sock);
	conn->sock = NULL;
	buf_free(&conn->queue);
	buf_free(&conn->inflight);
	if (!conn->in_read)
		conn->on_close(conn, conn->why);
}

void
ipc_conn_close_after_flush(struct ipc_conn *conn, const char *why)
{
	if (conn->closed || conn->closing)
		return;
	snprintf(conn->why, sizeof(conn->why), "%s", why);
	conn->closing = 1;
	h2o_socket_read_stop(conn->sock);
	if (ipc_conn_flushed(conn))
		ipc_conn_close(conn, conn->why);
}

void
ipc_conn_pin(struct ipc_conn *conn)
{
	conn->in_read++;
}

int
ipc_conn_unpin(struct ipc_conn *conn)
{
	if (--conn->in_read > 0 || !conn->closed)
		return 0;
	conn->on_close(conn, conn->why);
	return -1;
}

static void
on_read(h2o_socket_t *sock, const char *err)
{
	struct ipc_conn *conn = sock->data;

	if (err != NULL) {
		ipc_conn_close(conn, err == h2o_socket_error_closed ? "closed by peer" : err);
		return;
	}
	conn->in_read++;
	while (!conn->closed && !conn->closing) {
		struct ipc_msg msg;
		const char *why = NULL;
		ssize_t n = ipc_decode((const uint8_t *)sock->input->bytes, sock->input->size, &msg,
		    &why);
		char reason[160];

		if (n == 0)
			break;
		if (n < 0) {
			snprintf(reason, sizeof(reason), "malformed IPC frame (%s)",
			    why ? why : "?");
			log_warnx("%s sent a %s: this is a bug; closing the connection", conn->name,
			    reason);
			ipc_conn_close(conn, reason);
			break;
		}
		conn->on_msg(conn, &msg);
		if (conn->closed)
			break;
		h2o_buffer_consume(&sock->input, (size_t)n);
	}
	ipc_conn_unpin(conn);
}
