/* watch: see watch.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"

/* 1 if the peer hung up or the connection failed. */
static int
hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };

	if (poll(&p, 1, 0) <= 0)
		return 0;
	return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static void
close_dup(struct watch *w)
{
	if (w->dup != NULL) {
		w->dup->data = NULL;
		h2o_socket_close(w->dup); /* closes our duplicate only */
		w->dup = NULL;
	}
}

static void
gone(struct watch *w)
{
	void (*cb)(struct watch *) = w->gone;

	watch_stop(w);
	cb(w); /* may end the request and free w: touch nothing after */
}

static void
on_poll(h2o_timeout_entry_t *entry)
{
	struct watch *w = H2O_STRUCT_FROM_MEMBER(struct watch, poll, entry);

	if (hung_up(w->fd))
		gone(w);
	else
		h2o_timeout_link(w->loop, w->every, &w->poll);
}

static void
on_readable(h2o_socket_t *sock, const char *err)
{
	struct watch *w = sock->data;

	if (w == NULL)
		return;
	if (err != NULL || hung_up(w->fd)) {
		gone(w);
		return;
	}
	/* bytes but no hang-up (a pipelined request): level-triggered polling
	 * would spin, so fall back to timed checks */
	close_dup(w);
	w->poll.cb = on_poll;
	h2o_timeout_link(w->loop, w->every, &w->poll);
}

int
watch_conn_fd(h2o_req_t *req)
{
	h2o_socket_t *sock;

	if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
	    (sock = req->conn->callbacks->get_socket(req->conn)) == NULL)
		return -1;
	return h2o_socket_get_fd(sock);
}

int
watch_start(struct watch *w, h2o_req_t *req, h2o_evloop_t *loop, h2o_timeout_t *every,
    void (*gone_cb)(struct watch *w))
{
	int fd, dfd;

	if (w->fd != -1)
		return 0;
	if ((fd = watch_conn_fd(req)) == -1)
		return -1;
	w->loop = loop;
	w->every = every;
	w->gone = gone_cb;
	w->fd = fd;
	if ((dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		/* out of descriptors: timed checks still notice, a bit later */
		log_debug("watch: dup: %s", strerror(errno));
		w->poll.cb = on_poll;
		h2o_timeout_link(loop, every, &w->poll);
		return 0;
	}
	w->dup = h2o_evloop_socket_create(loop, dfd, H2O_SOCKET_FLAG_DONT_READ);
	w->dup->data = w;
	h2o_socket_read_start(w->dup, on_readable);
	return 0;
}

void
watch_stop(struct watch *w)
{
	if (w->fd == -1)
		return;
	close_dup(w);
	if (h2o_timeout_is_linked(&w->poll))
		h2o_timeout_unlink(&w->poll);
	w->fd = -1;
}
