/*
 * link_internal: what the files of the agent link share (link_conn.c: the
 * connection and its HTTP/2 session; link_stream.c: gRPC call plumbing;
 * link_connect.c: the Connect call; link_task.c: Serve calls). Not for
 * the rest of agentd, which uses link.h.
 */
#ifndef TL_AGENTD_LINK_INTERNAL_H
#define TL_AGENTD_LINK_INTERNAL_H

#include <nghttp2/nghttp2.h>

#include "buf.h"
#include "grpc_wire.h"
#include "link.h"
#include "tokilake.pb-c.h"

enum link_stream_kind { LS_UNKNOWN, LS_CONNECT, LS_SERVE };

struct link_stream {
	struct link_conn *conn;
	int32_t id;
	enum link_stream_kind kind;
	h2o_linklist_t link; /* in conn->streams */

	/* request headers as they arrive */
	unsigned hdr_count;
	int method_post, ct_grpc, bad_encoding;
	char path[64];
	char ns[64];
	char *bearer;        /* presented token; wiped when freed */
	uint32_t timeout_ms; /* grpc-timeout, 0 = none */

	struct grpc_reader in;
	uint64_t held;        /* bytes received, not yet given back to the windows */
	struct buf out;       /* prefixed messages waiting for the data provider */
	int responded;        /* response HEADERS submitted */
	int deferred;         /* the data provider is waiting for out */
	int finishing;        /* send trailers once out is empty */
	int trailers_sent;
	int status;           /* grpc-status for the trailers */
	char message[256];    /* grpc-message for the trailers */
	int peer_closed;      /* the agent half-closed */
	h2o_linklist_t lazy_link; /* linked: its OK end waits in conn->lazy_finish */

	struct link_task *task; /* Serve: the task this stream carries */
};

struct link_conn {
	h2o_socket_t *sock;
	nghttp2_session *h2;
	char peer[64];
	uint64_t seq;
	h2o_linklist_t link; /* in the server's list */
	h2o_linklist_t stranger_link; /* in the server's unregistered list, oldest first */
	h2o_linklist_t streams;
	unsigned nstreams;

	struct buf wpending;  /* session output not yet handed to the socket */
	struct buf winflight; /* bytes h2o_socket_write is sending */
	int writing;
	int flushing, flush_again; /* mem_send is not reentrant */

	int in_recv;          /* inside nghttp2_session_mem_recv: flush afterwards */
	int failed;           /* teardown scheduled: ignore further events */
	char fail_reason[160];
	int close_after_flush;
	uint64_t linger_since_ms; /* all sent after GOAWAY: wait for the agent to close */

	uint64_t created_ms, last_rx_ms, ping_sent_ms;
	int handshake_done;   /* TLS done (if any) and the HTTP/2 preface read */
	uint64_t handshake_done_ms; /* the register deadline counts from here */
	int ping_outstanding;
	/* RTT (agent_link.rtt_us): the send time (monotonic us) a PING of
	 * ours carries as its opaque data, 0 = none awaiting its ACK */
	uint64_t rtt_ping_us;
	uint64_t rtt_last_us;   /* when the last sample came */
	unsigned resets_in_window;
	uint64_t reset_window_start_ms;
	h2o_timeout_entry_t tick;
	h2o_timeout_entry_t reap; /* teardown runs from here, never mid-callback */
	h2o_timeout_entry_t flush_soon; /* frames go out once, at the loop turn's end */
	h2o_linklist_t lazy_finish;     /* streams whose OK end rides the next write */
	h2o_timeout_entry_t lazy_timer; /* ... or leaves after LINK_LAZY_FINISH_MS */

	struct link_stream *connect; /* the Connect call, once accepted */
	char token_hash[80];         /* hash of the token it presented */
	struct agent_link *agent;    /* after Register */
	h2o_linklist_t tasks;        /* struct link_task, offered or running */
};

/* server-wide state (link_conn.c) */
const struct tl_config *link_conf(void);
const struct link_hooks *link_hooks(void);
uint64_t link_now_ms(void);
h2o_loop_t *link_loop(void);

/* connection (link_conn.c) */
void link_conn_flush(struct link_conn *c);
/* A lazy end was queued: make sure it leaves within LINK_LAZY_FINISH_MS. */
void link_conn_hold(struct link_conn *c);
/* Tear the connection down with a reason for the log. Safe anywhere: the
 * teardown itself runs from the event loop right after the current event,
 * so the connection stays valid until the caller returns. */
void link_conn_fail(struct link_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Send GOAWAY and close once everything queued is written. */
void link_conn_close_gracefully(struct link_conn *c);
/* 1 if a line about a connection that never registered may be written
 * now; 0 if it is only counted (a summary follows): strangers must not
 * be able to flood the log. */
int link_stranger_may_log(void);
/* Register succeeded: the connection is no stranger any more (it can no
 * longer be closed to make room for a new one). */
void link_conn_registered(struct link_conn *c);

/* streams (link_stream.c) */
struct link_stream *link_stream_new(struct link_conn *c, int32_t id);
void link_stream_free(struct link_stream *s);
int link_stream_header(struct link_stream *s, const uint8_t *name, size_t namelen,
    const uint8_t *value, size_t valuelen);
/* Request HEADERS complete: route by path (Connect, Serve or error). */
void link_stream_begin(struct link_stream *s);
void link_stream_data(struct link_stream *s, const uint8_t *data, size_t len);
void link_stream_peer_closed(struct link_stream *s);
/* Answer :status 200 with a data provider (messages follow). */
int link_stream_respond(struct link_stream *s);
int link_stream_send(struct link_stream *s, const ProtobufCMessage *msg);
/* The same for a message packed by the caller in pieces (without the gRPC
 * prefix): the pieces are copied once, straight into the stream's output. */
struct iovec;
int link_stream_send_parts(struct link_stream *s, const struct iovec *parts, size_t nparts);
/* Messages were appended to s->out directly: let the data provider run. */
void link_stream_kick(struct link_stream *s);
/* End the call with grpc-status; before any response it is Trailers-Only. */
void link_stream_finish(struct link_stream *s, int status, const char *message);
/*
 * A Serve call that ended well and never answered (a task whose body came
 * inline): its Trailers-Only frame waits for the connection's next write
 * (the next task offer, usually) or LINK_LAZY_FINISH_MS. The agent has
 * nothing left to do with the call, so it needs no wake-up of its own.
 */
#define LINK_LAZY_FINISH_MS 10
void link_stream_finish_lazy(struct link_stream *s);
/* Submit a held end now (link_conn.c, before it writes). */
void link_stream_submit_lazy(struct link_stream *s);
void link_stream_reset(struct link_stream *s, uint32_t error_code);
/* Give n received bytes back to the flow-control windows. */
void link_stream_consume(struct link_stream *s, size_t n);
/* Give back everything still held: the stream's bytes will never be read. */
void link_stream_release(struct link_stream *s);

/* Connect call (link_connect.c) */
void link_connect_begin(struct link_stream *s);
void link_connect_message(struct link_stream *s, const uint8_t *msg, size_t len);
void link_connect_peer_closed(struct link_stream *s);
void link_connect_closed(struct link_stream *s);
void link_agent_free(struct agent_link *a);

/* Serve calls and tasks (link_task.c) */
void link_serve_begin(struct link_stream *s);
void link_serve_message(struct link_stream *s, const uint8_t *msg, size_t len);
void link_serve_peer_closed(struct link_stream *s);
/* The data provider took bytes from s->out: the task may send more. */
void link_serve_out_drained(struct link_stream *s);
void link_serve_stream_closed(struct link_stream *s, uint32_t error_code);
/* agentd exits: drop the module's timeout list (link_server_destroy). */
void link_task_module_shutdown(void);
/* The link is going away: fail every task of c with 502. */
void link_tasks_fail_all(struct link_conn *c, const char *why);

#endif
