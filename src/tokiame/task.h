/*
 * task: one request offered by the server, run against a local backend.
 *
 * An offer on Connect becomes a Serve call (TaskAccept first) and a
 * libcurl request to the backend that publishes the offer's model:
 *
 *   server --TaskDown body--> task->body --read callback--> backend
 *   backend --header/write callbacks--> ResponseHead, chunk... --> server
 *   curl done: TaskEnd (or TaskError 502 naming the backend), half-close
 *   server RST_STREAM: the curl transfer is removed at once, so the
 *   backend sees its connection close
 *
 * Back-pressure and bounds, per task:
 *  - request body: the stream's HTTP/2 window (H2_STREAM_WINDOW, 256 KiB)
 *    is only given back as the backend reads the body, so task->body
 *    holds at most one window plus one message (<= 4 MiB, the message
 *    limit; agentd sends far smaller ones); a backend that reads slowly
 *    stops the server. With nothing buffered the read callback pauses
 *    the upload (CURL_READFUNC_PAUSE) until body bytes arrive.
 *  - response: backend bytes become chunk messages in the call's output
 *    buffer; at TASK_OUT_HIGH (64 KiB) the write callback pauses the
 *    transfer (CURL_WRITEFUNC_PAUSE), so curl stops reading the backend
 *    socket, and the loop resumes it when nghttp2 has sent the buffer
 *    below TASK_OUT_LOW, i.e. when the server's window let it go. At most
 *    64 KiB + one curl write (16 KiB) + the response head (<= 64 KiB of
 *    headers) per task.
 *
 * Concurrency: a backend runs at most its `concurrency` tasks. An offer
 * over that waits in the backend's queue (at most `concurrency` waiting,
 * for at most TASK_QUEUE_WAIT_MS or the offer's deadline, whichever is
 * shorter), then gets TaskError 503 "backend_busy"; an offer that finds
 * the queue full gets the 503 at once. The queue absorbs bursts that the
 * server could not see yet in our heartbeats.
 *
 * The offer's body_size is taken as exact: it is the Content-Length sent
 * to the backend, and a body that turns out longer or shorter fails the
 * task (502 "bad_request_body").
 *
 * Headers to the backend: the offer's, minus pseudo-headers, hop-by-hop
 * headers (Connection, Keep-Alive, Proxy-*, TE, Trailer,
 * Transfer-Encoding, Upgrade), Host, Content-Length, Expect and the
 * client's credentials (Authorization, Api-Key, X-Api-Key, Cookie); plus
 * Authorization: Bearer <backend api_key> when one is configured and
 * X-Request-Id when the offer's headers lack it. Answers pass through
 * unchanged (status, headers minus hop-by-hop ones, body bytes); a 4xx or
 * 5xx of the backend is an answer like any other, not a TaskError.
 */
#ifndef TM_TASK_H
#define TM_TASK_H

#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "agent_priv.h"
#include "buf.h"
#include "link_h2.h"
#include "tokilake.pb-c.h"

/* A task whose body came inline opens its Serve call when it has an
 * answer to send, or after this long: a fast backend's whole answer then
 * reaches the server in one write with the accept (one wake-up less on
 * both sides). A task cancelled meanwhile learns it when it opens. */
#define TASK_OPEN_DELAY_MS 2
#define TASK_OUT_HIGH (64 * 1024)
#define TASK_OUT_LOW (32 * 1024)
#define TASK_QUEUE_WAIT_MS 5000
/*
 * TaskOffer.deadline_ms is the gateway's first-byte budget: at its end the
 * gateway answers the client (504 first_byte_timeout) and cancels the
 * task. tokiame's own bound is a backstop for a cancel that never comes,
 * so it runs this much later and never races the gateway's answer.
 */
#define TASK_DEADLINE_SLACK_MS 1000
#define TASK_LINGER_MS 10000       /* after our half-close, for the server's status */
#define TASK_CONNECT_TIMEOUT_MS 10000
#define TASK_MAX_TASKS 10000       /* a server offering more is broken */

enum task_state {
	TASK_NEW,      /* Serve opened, not yet placed */
	TASK_QUEUED,   /* waiting for a backend slot */
	TASK_RUNNING,  /* the backend request is in flight */
	TASK_ENDED,    /* TaskEnd or TaskError queued; waiting for the call to close */
};

struct backend;

#define RH_MAX_BYTES (64 * 1024)  /* response headers kept for ResponseHead */

struct task {
	struct curl_owner owner;      /* first: CURLOPT_PRIVATE points here */
	TAILQ_ENTRY(task) entry;      /* agent->tasks */
	TAILQ_ENTRY(task) qentry;     /* backend->queue */
	struct agent *ag;
	struct link *link;            /* the link that offered it: answers go there */
	struct grpc_call call;
	enum task_state state;

	uint64_t id;
	char *request_id;
	char *method;
	char *path;
	char *model;
	struct curl_slist *req_headers;
	int has_request_id_header;
	struct backend *be;
	int has_slot;

	uint64_t body_size;
	uint64_t body_received;
	int body_end;
	int body_inline;          /* the body came whole in the offer (POSTFIELDS) */
	int serve_open;           /* the Serve call is submitted (see TASK_OPEN_DELAY_MS) */
	uint64_t open_deadline_ms;
	struct buf body;

	CURL *easy;
	struct url_slot *url_slot;  /* held while easy may read it */
	int send_paused;
	int recv_paused;
	uint64_t started_ms;
	uint64_t queue_deadline_ms;
	uint64_t ttfb_deadline_ms;    /* 0 = none */
	uint64_t linger_deadline_ms;

	unsigned status;              /* of the backend's answer */
	struct buf rh;                /* response headers: "name\0value\0" each */
	size_t nrh;
	int head_sent;
	uint64_t resp_bytes;
	char local_error[256];        /* why a callback aborted the transfer */
	char errbuf[CURL_ERROR_SIZE];
	unsigned final_status;        /* for the log line */
};

/* An offer arrived on the Connect call of link l. */
void task_offer(struct agent *ag, struct link *l, const Tokilake__V1__TaskOffer *offer);
/* Deadlines, resuming paused transfers, starting queued tasks. Returns
 * the next deadline. */
uint64_t task_tick(struct agent *ag, uint64_t now);
/* 1 if a paused transfer could resume now (poll without waiting). */
int task_want_run(const struct agent *ag);
/* curl finished the task's request. */
void task_curl_done(struct task *t, CURLcode rc);
/* Reset every task's call and stop its backend request (shutdown timeout). */
void task_cancel_all(struct agent *ag, const char *why);
/* Link l is gone: drop its tasks without touching its session (the
 * tasks of the other links go on). */
void task_abort_link(struct link *l, const char *why);

/* Between task.c and task_http.c. */
void task_build_request_headers(struct task *t, const Tokilake__V1__TaskOffer *o);
int task_method_ok(const char *m);
/* Take a slot on t->be and start the backend request. */
void task_start_backend(struct task *t);

#endif
