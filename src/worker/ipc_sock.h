/*
 * ipc_sock: IPC frames (ipc.h) over an h2o socket, for the worker's links
 * to the master and to agentd.
 *
 * h2o sockets allow one write in flight at a time. Frames are encoded
 * into a bounded output queue; queued frames are written together in one
 * write at the end of the loop iteration (or when the previous write
 * completes). A send fails with -1 rather than letting the queue grow
 * past its bound: the owner decides what that means (503, drop a link).
 *
 * Incoming frames are decoded in place and handed to on_msg; strings in
 * the message point into the socket's input buffer and are valid only
 * during the call. on_msg may close the ipc_sock. A bad frame from the
 * peer closes the link (the peer is one of our own processes: it is a
 * bug, logged loudly by the owner's on_close).
 */
#ifndef TL_WORKER_IPC_SOCK_H
#define TL_WORKER_IPC_SOCK_H

#include <stddef.h>

#include <h2o.h>

#include "buf.h"
#include "ipc.h"

struct ipc_sock {
	h2o_socket_t *sock;  /* NULL when closed */
	const char *peer;    /* "master", "agentd": for logs */
	struct buf out;      /* frames not yet handed to the socket */
	struct buf inflight; /* bytes of the write in progress */
	int writing;
	h2o_timeout_t *zero; /* the context's zero timeout, to batch writes */
	h2o_timeout_entry_t flush_entry;
	void *data;

	void (*on_msg)(struct ipc_sock *io, const struct ipc_msg *msg);
	/* The link is gone (EOF, I/O error, bad frame); io is already closed. */
	void (*on_close)(struct ipc_sock *io, const char *why);
	/* A write completed: there is room in the queue again. Optional. */
	void (*on_drain)(struct ipc_sock *io);
};

/* The why given to on_close when the peer closed the connection. */
extern const char wk_ipc_sock_eof[];

/* Prepare an ipc_sock once; max_queue bounds the bytes waiting to be written. */
void wk_ipc_sock_init(struct ipc_sock *io, const char *peer, size_t max_queue, h2o_timeout_t *zero);
/* Attach a connected socket and start reading. */
void wk_ipc_sock_attach(struct ipc_sock *io, h2o_socket_t *sock);
/* Queue one frame. 0, or -1 when closed or the queue is full. */
int wk_ipc_sock_send(struct ipc_sock *io, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists);
/* Bytes queued or being written. */
size_t wk_ipc_sock_backlog(const struct ipc_sock *io);
/* Close the socket without calling on_close; queued frames are dropped. */
void wk_ipc_sock_close(struct ipc_sock *io);
/* Close and release the buffers (the ipc_sock can be init'ed again). */
void wk_ipc_sock_free(struct ipc_sock *io);

#endif
