/* ipc_sock: see ipc_sock.h. */
#include "config.h"

#include <string.h>

#include <h2o.h>

#include "ipc_sock.h"
#include "log.h"

const char wk_ipc_sock_eof[] = "connection closed by peer";

static void start_write(struct ipc_sock *io);

static void
on_flush(h2o_timeout_entry_t *entry)
{
	struct ipc_sock *io = H2O_STRUCT_FROM_MEMBER(struct ipc_sock, flush_entry, entry);

	start_write(io);
}

void
wk_ipc_sock_init(struct ipc_sock *io, const char *peer, size_t max_queue, h2o_timeout_t *zero)
{
	memset(io, 0, sizeof(*io));
	io->peer = peer;
	/* both halves carry the bound: they are swapped on every write */
	buf_init(&io->out, max_queue);
	buf_init(&io->inflight, max_queue);
	io->zero = zero;
	io->flush_entry.cb = on_flush;
}

/* Close and tell the owner why. */
static void
fail(struct ipc_sock *io, const char *why)
{
	wk_ipc_sock_close(io);
	if (io->on_close != NULL)
		io->on_close(io, why);
}

static void
on_written(h2o_socket_t *sock, const char *err)
{
	struct ipc_sock *io = sock->data;

	io->writing = 0;
	if (err != NULL) {
		fail(io, err);
		return;
	}
	buf_reset(&io->inflight);
	if (io->out.len != 0)
		start_write(io);
	if (io->on_drain != NULL && io->sock != NULL)
		io->on_drain(io);
}

static void
start_write(struct ipc_sock *io)
{
	struct buf tmp;
	h2o_iovec_t vec;

	h2o_timeout_unlink(&io->flush_entry);
	if (io->sock == NULL || io->writing || io->out.len == 0)
		return;
	/* the queue becomes the write in flight; new frames go to the other half */
	tmp = io->inflight;
	io->inflight = io->out;
	io->out = tmp;
	vec = h2o_iovec_init(buf_head(&io->inflight), io->inflight.len);
	io->writing = 1;
	h2o_socket_write(io->sock, &vec, 1, on_written);
}

int
wk_ipc_sock_send(struct ipc_sock *io, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	if (io->sock == NULL)
		return -1;
	if (ipc_encode(&io->out, msg, lists) != 0)
		return -1;
	if (!io->writing && !h2o_timeout_is_linked(&io->flush_entry))
		h2o_timeout_link(h2o_socket_get_loop(io->sock), io->zero, &io->flush_entry);
	return 0;
}

size_t
wk_ipc_sock_backlog(const struct ipc_sock *io)
{
	return io->out.len + io->inflight.len;
}

static void
on_read(h2o_socket_t *sock, const char *err)
{
	struct ipc_sock *io = sock->data;

	if (err != NULL) {
		fail(io, err == h2o_socket_error_closed ? wk_ipc_sock_eof : err);
		return;
	}
	/* a callback may close io (or even re-attach it): stop at once then */
	while (io->sock == sock && sock->input->size != 0) {
		struct ipc_msg msg;
		const char *why = NULL;
		ssize_t n = ipc_decode((const uint8_t *)sock->input->bytes, sock->input->size, &msg, &why);

		if (n == 0)
			return;
		if (n < 0) {
			fail(io, why != NULL ? why : "bad frame");
			return;
		}
		if (io->on_msg != NULL)
			io->on_msg(io, &msg);
		if (io->sock != sock)
			return;
		h2o_buffer_consume(&sock->input, (size_t)n);
	}
}

void
wk_ipc_sock_attach(struct ipc_sock *io, h2o_socket_t *sock)
{
	io->sock = sock;
	io->writing = 0;
	buf_reset(&io->out);
	buf_reset(&io->inflight);
	sock->data = io;
	h2o_socket_read_start(sock, on_read);
}

void
wk_ipc_sock_close(struct ipc_sock *io)
{
	h2o_timeout_unlink(&io->flush_entry);
	if (io->sock != NULL) {
		io->sock->data = NULL;
		h2o_socket_close(io->sock);
		io->sock = NULL;
	}
	io->writing = 0;
	buf_reset(&io->out);
	buf_reset(&io->inflight);
}

void
wk_ipc_sock_free(struct ipc_sock *io)
{
	wk_ipc_sock_close(io);
	buf_free(&io->out);
	buf_free(&io->inflight);
}
