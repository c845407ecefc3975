/*
 * forward_internal: what the two files of the forward client share.
 * forward_peer.c owns the connections to other nodes (socket, TLS, the
 * nghttp2 client session, PINGs, idle close, teardown); forward.c owns
 * the requests carried on them (one stream each). Not for the rest of
 * agentd, which uses forward.h.
 */
#ifndef TL_AGENTD_FORWARD_INTERNAL_H
#define TL_AGENTD_FORWARD_INTERNAL_H

#include <stdint.h>

#include <h2o.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "buf.h"

/* Response bytes handed to the worker and not yet credited back: above
 * this, B's stream window is not reopened (as in link_task.c). */
#define FWD_RESP_UNACKED_MAX (256 * 1024)

struct fwd_peer {
	h2o_linklist_t link;  /* in the peer list while it takes new streams */
	int listed;
	char *url;            /* the node's internal_url */
	char *node;           /* its name, for logs */
	char host[256];
	char authority[300];  /* host:port for :authority */
	uint16_t port;
	int tls;
	SSL_CTX *ssl_ctx;     /* https:// only: verifies the peer's name */

	h2o_socket_t *sock;
	nghttp2_session *h2;
	int connected;        /* socket (and TLS) up: output may be written */
	int ever_connected;   /* the peer spoke HTTP/2 (its SETTINGS came) */
	uint64_t tcp_up_ms;   /* TCP connected: the handshake deadline runs from here */
	uint32_t handshake_ms; /* node.handshake_timeout: TLS and the peer's SETTINGS */
	struct buf wpending;  /* session output not yet handed to the socket */
	struct buf winflight; /* bytes h2o_socket_write is sending */
	int writing;
	int flushing, flush_again;
	int in_recv;
	int paying;           /* inside fwd_pay_credits */
	int failed;
	char fail_reason[160];
	int goaway;           /* the peer said GOAWAY: no new streams here */

	h2o_linklist_t streams; /* struct fwd_stream */
	unsigned nstreams;
	h2o_linklist_t credit;  /* streams owing WINDOW credit to their worker */

	uint64_t created_ms, last_rx_ms, idle_since_ms, ping_sent_ms;
	int ping_outstanding;
	uint32_t ping_every_ms;
	h2o_timeout_entry_t tick;
	h2o_timeout_entry_t reap; /* teardown runs from here, never mid-callback */
	h2o_timeout_entry_t kick; /* a flush from the loop (fwd_peer_kick) */
};

/* forward_peer.c */
uint64_t fwd_now_ms(void);
h2o_loop_t *fwd_loop(void);
/* The connection for this URL, made (and connecting) when needed. NULL
 * with why set if the URL is unusable. idle_timeout_ms: our own
 * http.idle_timeout, a hint for how often to PING; handshake_ms:
 * node.handshake_timeout, for a new connection. */
struct fwd_peer *fwd_peer_get(h2o_loop_t *loop, const char *node, const char *url,
    uint32_t idle_timeout_ms, uint32_t handshake_ms, char *why, size_t whylen);
void fwd_peer_flush(struct fwd_peer *p);
/* Flush from the event loop, right after the current event. */
void fwd_peer_kick(struct fwd_peer *p);
/* Tear the connection down (deferred to the loop; safe anywhere). */
void fwd_peer_fail(struct fwd_peer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fwd_peer_stream_added(struct fwd_peer *p);
void fwd_peer_stream_removed(struct fwd_peer *p);
void fwd_peers_shutdown(void);

/* forward.c: what the session's callbacks report */
int fwd_on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
    size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user);
int fwd_on_frame_recv_stream(struct fwd_peer *p, const nghttp2_frame *frame);
int fwd_on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id,
    const uint8_t *data, size_t len, void *user);
int fwd_on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code,
    void *user);
int fwd_on_frame_not_send(nghttp2_session *h2, const nghttp2_frame *frame, int lib_error,
    void *user);
/* The connection is going away: fail every stream on it. */
void fwd_streams_fail_all(struct fwd_peer *p, int reached);
/* Send the WINDOW credit the streams of p owe their workers. */
void fwd_pay_credits(struct fwd_peer *p);

#endif
