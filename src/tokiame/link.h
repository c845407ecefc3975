/*
 * link: the agent's side of the AgentLink service: connect, authenticate,
 * register, heartbeat, notice a dead server, reconnect.
 *
 *   backoff --(timer)--> connecting --(TLS + HTTP/2 up, Connect opened,
 *   Register sent)--> linked --(Registered)--> registered
 *   any state --(failure)--> backoff
 *
 * Timing (all from the config unless said otherwise):
 *  - retries: reconnect.initial doubling to reconnect.max, minus up to 20%
 *    jitter (backoff.h); an UNAUTHENTICATED answer waits the maximum at
 *    once, since retrying sooner cannot fix a token. PERMISSION_DENIED
 *    "namespace disabled" (a valid token of a disabled namespace) keeps
 *    the normal back-off but at most LINK_NS_DISABLED_RETRY_MS, so the
 *    agent is back within seconds of the namespace being enabled again.
 *  - setup: TCP, TLS and Registered must all happen within
 *    LINK_SETUP_TIMEOUT_MS of the attempt's start.
 *  - heartbeats every heartbeat_interval; Registered.heartbeat_interval_ms
 *    overrides it when non-zero.
 *  - liveness: a PING every min(heartbeat interval, 5 s); no ACK within
 *    max(2 x heartbeat interval, 2 s) drops the link. tm_config has no key
 *    for these: they follow the heartbeat interval.
 *
 * The Connect call lives as long as the link: when it ends, for whatever
 * reason, the link is torn down and every task it carried with it (the
 * server fails them on its side at the same moment). An agent keeps one
 * link per configured server (links.c); each has its own state, back-off
 * and tasks, and a Drain or GOAWAY on one touches none of the others.
 */
#ifndef TM_LINK_H
#define TM_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "backoff.h"
#include "link_h2.h"
#include "link_tls.h"

#define LINK_SETUP_TIMEOUT_MS 15000
#define LINK_NS_DISABLED_RETRY_MS 5000
#define LINK_PING_MAX_INTERVAL_MS 5000
#define LINK_PING_MIN_TIMEOUT_MS 2000
#define LINK_CLOSE_TIMEOUT_MS 1000     /* to flush GOAWAY on a clean close */
#define LINK_CONNECT_OUT_MAX (1024 * 1024)

enum link_state { LINK_BACKOFF, LINK_CONNECTING, LINK_LINKED, LINK_REGISTERED };

struct agent;

struct link {
	struct agent *ag;
	const char *server;          /* "host:port", one of conf->servers */
	enum link_state state;
	SSL_CTX *ssl_ctx;            /* NULL for h2c */
	char host[256];
	char port[8];
	char verify_name[256];
	char *bearer;                /* "Bearer <token>": secret, wiped on free */

	struct tls_conn tc;
	struct h2session h2;
	int h2_up;
	struct grpc_call connect;
	int connect_open;

	struct backoff bo;
	uint64_t next_attempt_ms;
	uint64_t setup_deadline_ms;
	uint64_t next_heartbeat_ms;
	uint64_t next_ping_ms;
	uint32_t hb_interval_ms;
	uint64_t models_gen_sent;

	int draining;                /* Drain or GOAWAY: finish tasks, then relink */
	int closing;                 /* our GOAWAY is out, waiting for it to flush */
	uint64_t close_deadline_ms;
	int goodbye_sent;
	int read_more;               /* h2_read stopped on its budget */
	int unauthenticated;         /* the last attempt was refused for the token */
	int ns_disabled;             /* ... because its namespace is disabled */

	uint32_t ntasks;             /* tasks offered on this link, still open */
	uint32_t reconnects;         /* times registered again after a loss */
	uint32_t attempts;
	int ever_registered;
	char last_error[512];
	char server_agent_id[128];
	char node[128];
};

/* Parse the server address and set up TLS. -1 with err (a config error).
 * server (one of conf->servers) must outlive the link. */
int link_init(struct link *l, struct agent *ag, const char *server, char *err, size_t errlen);
void link_free(struct link *l);

/* Timers: start attempts, heartbeats, PINGs, timeouts. Returns the next
 * time it wants to run (UINT64_MAX for none). */
uint64_t link_tick(struct link *l, uint64_t now);
/* The socket to poll, if any: 1 with fd filled. */
int link_pollfd(struct link *l, struct curl_waitfd *fd);
void link_io(struct link *l, short revents);
/* Write what the session has to say (after tasks queued messages). */
void link_flush(struct link *l);

/* Tasks may be offered and Serve calls opened. */
int link_usable(const struct link *l);
/* Open a Serve call on the link. -1 if it cannot be opened. */
int link_open_serve(struct link *l, struct grpc_call *call);

/* SIGTERM: tell the server we are going (Goodbye). */
void link_goodbye(struct link *l, const char *reason);
/* Close cleanly: half-close Connect, GOAWAY, flush for a bounded time.
 * link_is_closed() tells when it is done. */
void link_close(struct link *l, const char *why);
int link_is_closed(const struct link *l);
/* Tear down at once (fast exit). */
void link_abort(struct link *l);

const char *link_state_name(enum link_state s);

#endif
