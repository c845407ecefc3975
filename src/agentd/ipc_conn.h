/*
 * ipc_conn: IPC frames over one h2o socket (agentd's link to the master
 * and each worker connection).
 *
 * Input: frames are decoded straight from the socket's input buffer and
 * handed to on_msg one by one; decoded strings point into that buffer and
 * are valid only during the call. A bad frame is our own bug: it is logged
 * loudly with the decoder's reason and the connection is closed.
 *
 * Output: frames queue in a bounded buffer and are written at the end of
 * the loop turn (a zero-delay timer), so that everything one event
 * produced for a peer (a response head, its data and its end) leaves in
 * one write, not one write per frame. h2o allows one write in flight;
 * frames queued meanwhile go out together in the next write. When
 * the queue is full, ipc_conn_send() fails and the caller decides (a peer
 * that does not read is closed, never buffered without limit).
 *
 * Closing: on_close runs exactly once, after which the owner may free the
 * struct. If the connection is closed from inside on_msg, on_close runs
 * when on_msg has returned.
 */
#ifndef TL_IPC_CONN_H
#define TL_IPC_CONN_H

#include <h2o.h>

#include "buf.h"
#include "ipc.h"

struct ipc_conn;
typedef void (*ipc_conn_msg_cb)(struct ipc_conn *conn, const struct ipc_msg *msg);
typedef void (*ipc_conn_close_cb)(struct ipc_conn *conn, const char *why);

struct ipc_conn {
	h2o_socket_t *sock;
	struct buf queue;    /* frames waiting for the write in flight */
	struct buf inflight; /* bytes h2o is writing now */
	int writing;
	int closing;         /* close once the output is written */
	int closed;
	int in_read;         /* > 0: a close waits for the end of the read or pin */
	h2o_timeout_entry_t flush_soon; /* linked while frames wait for the turn's end */
	char why[160];
	char name[48];       /* "worker 2 (pid 123)", "master": for logs */
	ipc_conn_msg_cb on_msg;
	ipc_conn_close_cb on_close;
	void *data;
};

/* The loop whose turns end with the queued writes; dispose before the
 * loop is destroyed (every conn closed). Without init, writes go out at
 * once. */
void ipc_conns_init(h2o_loop_t *loop);
void ipc_conns_dispose(void);
/* Wrap an fd (the conn owns it from now on) and start reading. */
void ipc_conn_open(struct ipc_conn *conn, h2o_loop_t *loop, int fd, const char *name,
    size_t out_max, ipc_conn_msg_cb on_msg, ipc_conn_close_cb on_close, void *data);
/* Same for a socket h2o already made (accepted connections). */
void ipc_conn_wrap(struct ipc_conn *conn, h2o_socket_t *sock, const char *name, size_t out_max,
    ipc_conn_msg_cb on_msg, ipc_conn_close_cb on_close, void *data);
/* Queue one frame. -1 if closed or the queue is full (nothing queued). */
int ipc_conn_send(struct ipc_conn *conn, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists);
void ipc_conn_close(struct ipc_conn *conn, const char *why);
/* Stop reading; close when everything queued is written. */
void ipc_conn_close_after_flush(struct ipc_conn *conn, const char *why);
/*
 * Messages dispatched outside a read (agentd replaying a held request):
 * between pin and unpin a close only marks the conn closed, as during a
 * read, so it stays valid. unpin runs on_close if it closed meanwhile
 * (the conn may be freed then) and returns -1; else 0.
 */
void ipc_conn_pin(struct ipc_conn *conn);
int ipc_conn_unpin(struct ipc_conn *conn);
static inline int ipc_conn_flushed(const struct ipc_conn *conn)
{
	return !conn->writing && conn->queue.len == 0;
}

#endif
