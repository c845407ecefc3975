/*
 * child_ipc: frames over the socketpair between the master and one child.
 *
 * Input collects partial frames in a buffer bounded by the largest legal
 * frame; ipc_decode() says when a frame is complete. Output is a queue
 * bounded by CHILD_IPC_OUT_MAX, written whenever poll() says the socket
 * takes more. A bad frame from a child is our own bug: it is logged with
 * the decoder's reason and the channel reports failure (the caller kills
 * the child, which is then respawned).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

void
child_ipc_init(struct child_ipc *ipc, int fd)
{
	ipc->fd = fd;
	buf_init(&ipc->in, IPC_HEADER_SIZE + IPC_MAX_PAYLOAD);
	buf_init(&ipc->out, CHILD_IPC_OUT_MAX);
}

void
child_ipc_close(struct child_ipc *ipc)
{
	if (ipc->fd != -1)
		close(ipc->fd);
	ipc->fd = -1;
	buf_free(&ipc->in);
	buf_free(&ipc->out);
}

int
child_ipc_flush(struct child *c)
{
	struct child_ipc *ipc = &c->ipc;

	while (ipc->fd != -1 && ipc->out.len > 0) {
		ssize_t n = write(ipc->fd, buf_head(&ipc->out), ipc->out.len);

		if (n > 0) {
			buf_consume(&ipc->out, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		/* EPIPE: the child is gone or going; SIGCHLD tells the rest */
		log_debug("%s (pid %ld): write: %s", c->name, (long)c->pid, strerror(errno));
		buf_reset(&ipc->out);
		return -1;
	}
	return 0;
}

/* Queue one message and try to write it at once. -1 if it cannot be
 * queued (channel closed or queue full). */
int
child_ipc_send(struct child *c, const struct ipc_msg *msg)
{
	return child_ipc_send_lists(c, msg, NULL);
}

int
child_ipc_send_lists(struct child *c, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	if (c->ipc.fd == -1)
		return -1;
	if (ipc_encode(&c->ipc.out, msg, lists) == -1) {
		log_warnx("%s (pid %ld): IPC queue full, cannot send %s", c->name, (long)c->pid,
		    ipc_type_name(msg->type));
		return -1;
	}
	child_ipc_flush(c);
	return 0;
}

int
child_ipc_read(struct master *m, struct child *c)
{
	struct child_ipc *ipc = &c->ipc;

	for (;;) {
		uint8_t *p = buf_reserve(&ipc->in, 65536);
		size_t room = 65536;
		ssize_t n;

		if (p == NULL) {
			/* only what fits in the bound; a full frame always does */
			room = ipc->in.max - ipc->in.len;
			if (room == 0 || (p = buf_reserve(&ipc->in, room)) == NULL) {
				log_warnx("%s (pid %ld): IPC input over its bound", c->name,
				    (long)c->pid);
				return -1;
			}
		}
		n = read(ipc->fd, p, room);
		if (n == 0)
			return -1;
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_debug("%s (pid %ld): read: %s", c->name, (long)c->pid, strerror(errno));
			return -1;
		}
		buf_commit(&ipc->in, (size_t)n);

		for (;;) {
			struct ipc_msg msg;
			const char *why = NULL;
			ssize_t len = ipc_decode(buf_head(&ipc->in), ipc->in.len, &msg, &why);

			if (len == 0)
				break;
			if (len < 0) {
				log_warnx("%s (pid %ld) sent a malformed IPC frame (%s): "
				    "this is a bug; killing it", c->name, (long)c->pid,
				    why ? why : "?");
				child_kill(c, "malformed IPC frame");
				return -1;
			}
			master_status_message(m, c, &msg);
			/* the handler may have closed the channel (protocol error) */
			if (ipc->fd == -1)
				return -1;
			buf_consume(&ipc->in, (size_t)len);
		}
		if ((size_t)n < room)
			break;
	}
	return 0;
}
