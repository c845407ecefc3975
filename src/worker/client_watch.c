/* client_watch: see client_watch.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <h2o.h>

#include "client_watch.h"
#include "log.h"
#include "worker.h"
#include "xmalloc.h"

struct client_watch {
	h2o_linklist_t link;  /* in `polled` when falling back to sweeps */
	h2o_timeout_entry_t delay; /* armed only when the request outlives this */
	int fd;               /* the connection's descriptor (h2o's) */
	h2o_socket_t *dup;    /* our duplicate, polled for readability */
	void (*on_gone)(void *data);
	void *data;
};

static h2o_linklist_t polled = { &polled, &polled };

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
close_dup(struct client_watch *w)
{
	if (w->dup != NULL) {
		w->dup->data = NULL;
		h2o_socket_close(w->dup); /* closes only our duplicate */
		w->dup = NULL;
	}
}

static void
gone(struct client_watch *w)
{
	void (*cb)(void *) = w->on_gone;
	void *data = w->data;

	wk_client_watch_stop(w);
	cb(data);
}

static void
on_readable(h2o_socket_t *sock, const char *err)
{
	struct client_watch *w = sock->data;

	if (w == NULL)
		return;
	if (err != NULL || hung_up(w->fd)) {
		gone(w);
		return;
	}
	/* bytes but no hang-up: stop polling the descriptor, check at sweeps */
	close_dup(w);
	h2o_linklist_insert(&polled, &w->link);
}

/* Duplicate the descriptor and poll it: 4 to 5 system calls, which is
 * why it waits until the request has lasted a little (see delay). A
 * client gone meanwhile makes the duplicate readable at once, and the
 * loop reports it: never from inside our caller. */
static void
arm(struct client_watch *w)
{
	int dfd;

	if (h2o_timeout_is_linked(&w->delay))
		h2o_timeout_unlink(&w->delay);
	if (w->dup != NULL || h2o_linklist_is_linked(&w->link))
		return;
	if ((dfd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		/* out of descriptors: the sweep still notices, only later */
		log_debug("client watch: dup: %s", strerror(errno));
		h2o_linklist_insert(&polled, &w->link);
		return;
	}
	/* DONT_READ: we are told about readability and never consume a byte */
	w->dup = h2o_evloop_socket_create(wk.loop, dfd, H2O_SOCKET_FLAG_DONT_READ);
	w->dup->data = w;
	h2o_socket_read_start(w->dup, on_readable);
}

static void
on_delay(h2o_timeout_entry_t *entry)
{
	arm(H2O_STRUCT_FROM_MEMBER(struct client_watch, delay, entry));
}

struct client_watch *
wk_client_watch_start(h2o_req_t *req, void (*on_gone)(void *data), void *data)
{
	struct client_watch *w;
	h2o_socket_t *sock;

	if (req->version >= 0x200 || req->conn->callbacks->get_socket == NULL ||
	    (sock = req->conn->callbacks->get_socket(req->conn)) == NULL)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->fd = h2o_socket_get_fd(sock);
	w->on_gone = on_gone;
	w->data = data;
	w->delay.cb = on_delay;
	h2o_timeout_link(wk.loop, &wk.watch_delay, &w->delay);
	return w;
}

void
wk_client_watch_now(struct client_watch *w)
{
	if (w != NULL)
		arm(w);
}

void
wk_client_watch_stop(struct client_watch *w)
{
	if (w == NULL)
		return;
	close_dup(w);
	if (h2o_timeout_is_linked(&w->delay))
		h2o_timeout_unlink(&w->delay);
	if (h2o_linklist_is_linked(&w->link))
		h2o_linklist_unlink(&w->link);
	free(w);
}

void
wk_client_watch_sweep(void)
{
	h2o_linklist_t *n = polled.next;

	while (n != &polled) {
		struct client_watch *w = H2O_STRUCT_FROM_MEMBER(struct client_watch, link, n);

		if (hung_up(w->fd)) {
			gone(w);
			n = polled.next; /* the callback may have stopped other watches */
		} else
			n = n->next;
	}
}
