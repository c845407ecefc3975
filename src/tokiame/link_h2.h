/*
 * link_h2: gRPC calls over one client HTTP/2 session (nghttp2), on a
 * tls_conn we own. Not specific to our service: a call is a path, some
 * metadata, framed messages each way and a status at the end.
 *
 * The session is driven with nghttp2_session_mem_recv/mem_send: h2_read()
 * feeds it what the socket has, h2_flush() moves its output to the
 * socket through a bounded buffer (mem_send is only asked for more while
 * that buffer is under H2_OUT_HIGH).
 *
 * Flow control is ours (nghttp2_option_set_no_auto_window_update): the
 * connection window is given back as soon as DATA arrives, so one slow
 * stream never blocks the others; a stream's window is given back when
 * its owner has passed the data on (h2_call_consume), which is how a
 * backend that reads a request body slowly slows the server down. Calls
 * whose owner passes no `received` op have theirs given back at once.
 *
 * Ownership: the owner embeds struct grpc_call and keeps it alive until
 * ops->closed() (called from inside h2_read/h2_flush) or until it frees
 * the whole session with h2_free(), which calls nothing. Callbacks never
 * free the session: a fatal problem is recorded with h2_fail() and the
 * caller of h2_read/h2_flush sees -1 and tears the link down.
 */
#ifndef TM_LINK_H2_H
#define TM_LINK_H2_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>
#include <protobuf-c/protobuf-c.h>

#include "buf.h"
#include "grpc_wire.h"
#include "link_tls.h"

#define H2_MAX_MESSAGE (4u * 1024 * 1024)   /* largest message we accept */
#define H2_STREAM_WINDOW (256 * 1024)       /* per-stream receive window */
#define H2_CONN_WINDOW (16 * 1024 * 1024)   /* connection receive window */
#define H2_OUT_HIGH (64 * 1024)             /* socket output buffer target */
#define H2_MAX_HEADERS 64                   /* header fields per block we accept */

struct grpc_call;

struct grpc_call_ops {
	/* One whole message; -1 fails the link (after h2_fail with why). */
	int (*message)(struct grpc_call *call, const uint8_t *msg, size_t len);
	/* len DATA bytes of this stream were received and dispatched; the
	 * owner calls h2_call_consume when it has passed them on. NULL =
	 * consume at once. */
	void (*received)(struct grpc_call *call, size_t len);
	/* The stream is gone. error_code: 0 or the HTTP/2 code of a reset.
	 * call->grpc_status is the status of the trailers, -1 if none came. */
	void (*closed)(struct grpc_call *call, uint32_t error_code);
};

struct h2session;

struct grpc_call {
	const struct grpc_call_ops *ops;
	struct h2session *h2;
	int32_t stream_id;        /* 0 before start and after close */
	struct grpc_reader in;    /* inbound messages, bounded by H2_MAX_MESSAGE */
	struct buf out;           /* framed outbound messages not yet in DATA frames */
	int out_eof;              /* half-close once out is drained */
	int deferred;             /* the data source is waiting for out */
	int http_status;
	int got_head;
	int ctype_ok;             /* content-type: application/grpc[+proto] */
	int grpc_status;          /* -1 until trailers */
	char grpc_message[256];
	size_t unconsumed;        /* DATA bytes not yet given back to the window */
	uint8_t nheaders;         /* fields in the current header block */
};

struct h2session {
	nghttp2_session *ng;
	struct tls_conn *tc;      /* not owned */
	struct buf out;           /* serialised frames not yet written */
	const char *scheme;       /* "https" or "http" */
	const char *authority;
	int failed;
	char why[512];
	char ngerr[256];          /* nghttp2's last complaint, for the log */
	int goaway_received;
	int ping_outstanding;
	uint64_t ping_sent_ms;
};

/* out_max bounds each call's outbound buffer. */
void h2_call_init(struct grpc_call *call, const struct grpc_call_ops *ops, size_t out_max);
/* Free buffers; the stream must be closed or the session gone. */
void h2_call_free(struct grpc_call *call);

/* Create the client session and queue SETTINGS. -1 with err. */
int h2_init(struct h2session *h2, struct tls_conn *tc, const char *scheme,
    const char *authority, char *err, size_t errlen);
/* Delete the session; no op is called. */
void h2_free(struct h2session *h2);
/* Record why the link must go down (the first reason wins). */
void h2_fail(struct h2session *h2, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open a call (POST path) with extra metadata. The first messages may be
 * queued with h2_call_send before or after. -1 with h2->why set. */
int h2_call_start(struct h2session *h2, struct grpc_call *call, const char *path,
    const nghttp2_nv *meta, size_t nmeta);
/* Queue one message. -1 if the call's output bound is hit. */
int h2_call_send(struct grpc_call *call, const ProtobufCMessage *msg);
/* Half-close after what is queued. */
void h2_call_close_send(struct grpc_call *call);
/* Reset the stream (CANCEL); ops->closed follows from h2_flush. */
void h2_call_cancel(struct grpc_call *call);
/* Give n received bytes back to the stream window. */
void h2_call_consume(struct grpc_call *call, size_t n);
/* Wake the data source after out was filled (h2_call_send does it). */
void h2_call_wake(struct grpc_call *call);

/* Read what the socket has and process it. -1: the link is dead (why). */
int h2_read(struct h2session *h2);
/* Serialise and write. -1: the link is dead (why). */
int h2_flush(struct h2session *h2);
/* Something waits for the socket to become writable. */
int h2_want_write(const struct h2session *h2);
/* Neither side has anything more to say (after GOAWAY both ways). */
int h2_finished(const struct h2session *h2);
/* Send a PING (one outstanding at a time). */
void h2_ping(struct h2session *h2, uint64_t now_ms);
/* GOAWAY(NO_ERROR): we open no more streams. */
void h2_goaway(struct h2session *h2);

#endif
