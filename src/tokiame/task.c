/* task: see task.h. The backend request itself is in task_http.c. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_priv.h"
#include "backend.h"
#include "link.h"
#include "log.h"
#include "pb_arena.h"
#include "task.h"
#include "xmalloc.h"

#define TASK_BODY_MAX (H2_STREAM_WINDOW + H2_MAX_MESSAGE + 64)
#define TASK_CALL_OUT_MAX (1024 * 1024)   /* hard stop; the logic keeps far below */
#define PATH_MAX_LEN 8192

static int serve_message(struct grpc_call *call, const uint8_t *msg, size_t len);
static void serve_received(struct grpc_call *call, size_t len);
static void serve_closed(struct grpc_call *call, uint32_t error_code);

static const struct grpc_call_ops serve_ops = {
	.message = serve_message,
	.received = serve_received,
	.closed = serve_closed,
};

static struct task *
task_of(struct grpc_call *call)
{
	return (struct task *)((char *)call - offsetof(struct task, call));
}

static const char *
rid(const struct task *t)
{
	return t->request_id != NULL && t->request_id[0] != '\0' ? t->request_id : "-";
}

/* Release the backend slot or the queue place, and the curl transfer. */
static void
stop_backend(struct task *t)
{
	struct agent *ag = t->ag;

	if (t->easy != NULL) {
		curl_multi_remove_handle(ag->multi, t->easy);
		curl_socks_easy_done(&ag->cs, t->easy);
		t->easy = NULL;
	}
	if (t->url_slot != NULL) {
		url_cache_put(t->url_slot);
		t->url_slot = NULL;
	}
	if (t->has_slot) {
		t->be->running--;
		t->has_slot = 0;
		ag->in_flight--;
	}
	if (t->state == TASK_QUEUED) {
		TAILQ_REMOVE(&t->be->queue, t, qentry);
		t->be->nqueued--;
		ag->in_flight--;
		t->state = TASK_NEW;
	}
	t->send_paused = t->recv_paused = 0;
}

static void
task_free(struct task *t)
{
	struct agent *ag = t->ag;

	stop_backend(t);
	TAILQ_REMOVE(&ag->tasks, t, entry);
	ag->ntasks--;
	t->link->ntasks--;
	h2_call_free(&t->call);
	buf_free(&t->body);
	curl_slist_free_all(t->req_headers);
	buf_free(&t->rh);
	free(t->request_id);
	free(t->method);
	free(t->path);
	free(t->model);
	free(t);
}

static void
finish_call(struct task *t)
{
	/* body bytes nobody will read: give their window back, so a server
	 * still sending the body is not left blocked on it */
	buf_reset(&t->body);
	h2_call_consume(&t->call, t->call.unconsumed);
	h2_call_close_send(&t->call);
	t->state = TASK_ENDED;
	t->linger_deadline_ms = now_ms() + TASK_LINGER_MS;
}

/* Answer the task with an error (unless it already ended) and stop it. */
static void
task_fail(struct task *t, unsigned status, const char *type, const char *code, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

static void
task_fail(struct task *t, unsigned status, const char *type, const char *code, const char *fmt,
    ...)
{
	Tokilake__V1__TaskUp up = TOKILAKE__V1__TASK_UP__INIT;
	Tokilake__V1__TaskError e = TOKILAKE__V1__TASK_ERROR__INIT;
	char msg[512];
	va_list ap;

	if (t->state == TASK_ENDED)
		return;
	stop_backend(t);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e.status = status;
	e.type = (char *)type;
	e.code = (char *)code;
	e.message = msg;
	up.msg_case = TOKILAKE__V1__TASK_UP__MSG_ERROR;
	up.error = &e;
	if (h2_call_send(&t->call, &up.base) == -1)
		h2_call_cancel(&t->call); /* no room even for the error: reset */
	t->final_status = status;
	log_warnx("task %llu [%s] %s %s model \"%s\": %u %s: %s", (unsigned long long)t->id, rid(t),
	    t->method, t->path, t->model, status, code, msg);
	finish_call(t);
}

static void
task_end(struct task *t)
{
	Tokilake__V1__TaskUp up = TOKILAKE__V1__TASK_UP__INIT;
	Tokilake__V1__TaskEnd e = TOKILAKE__V1__TASK_END__INIT;

	up.msg_case = TOKILAKE__V1__TASK_UP__MSG_END;
	up.end = &e;
	if (h2_call_send(&t->call, &up.base) == -1) {
		h2_call_cancel(&t->call);
		return;
	}
	t->final_status = t->status;
	log_info("task %llu [%s] %s %s model \"%s\" on %s: %u, %llu bytes in %llu ms",
	    (unsigned long long)t->id, rid(t), t->method, t->path, t->model, backend_name(t->be),
	    t->status, (unsigned long long)t->resp_bytes,
	    (unsigned long long)(now_ms() - t->started_ms));
	finish_call(t);
}

static int
send_accept(struct task *t)
{
	Tokilake__V1__TaskUp up = TOKILAKE__V1__TASK_UP__INIT;
	Tokilake__V1__TaskAccept a = TOKILAKE__V1__TASK_ACCEPT__INIT;

	a.task_id = t->id;
	up.msg_case = TOKILAKE__V1__TASK_UP__MSG_ACCEPT;
	up.accept = &a;
	return h2_call_send(&t->call, &up.base);
}


static uint32_t
limit(const struct backend *b)
{
	return b->conf->concurrency ? b->conf->concurrency : 1;
}

/* Choose a backend with a free slot, else a queue with room. */
static void
place(struct task *t, uint32_t deadline_ms)
{
	struct agent *ag = t->ag;
	struct backend *best = NULL, *bestq = NULL;
	int found = 0;
	uint32_t wait;

	for (size_t i = 0; i < ag->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		if (!backend_has_model(b, t->model))
			continue;
		found = 1;
		/* least loaded relative to its limit */
		if (b->running < limit(b) && (best == NULL ||
		    (uint64_t)b->running * limit(best) < (uint64_t)best->running * limit(b)))
			best = b;
		if (b->nqueued < limit(b) && (bestq == NULL || b->nqueued < bestq->nqueued))
			bestq = b;
	}
	if (!found) {
		task_fail(t, 404, "invalid_request_error", "model_not_found",
		    "the model \"%s\" is not served by agent %s", t->model, ag->agent_id);
		return;
	}
	if (best != NULL) {
		t->be = best;
		task_start_backend(t);
		return;
	}
	if (bestq == NULL) {
		task_fail(t, 503, "api_error", "backend_busy",
		    "every backend serving \"%s\" is at its concurrency limit", t->model);
		return;
	}
	t->be = bestq;
	wait = TASK_QUEUE_WAIT_MS;
	if (deadline_ms != 0 && deadline_ms + TASK_DEADLINE_SLACK_MS < wait)
		wait = deadline_ms + TASK_DEADLINE_SLACK_MS;
	t->queue_deadline_ms = now_ms() + wait;
	t->state = TASK_QUEUED;
	TAILQ_INSERT_TAIL(&bestq->queue, t, qentry);
	bestq->nqueued++;
	ag->in_flight++;
	log_debug("task %llu [%s] waits for a slot on backend %s", (unsigned long long)t->id,
	    rid(t), bestq->name);
}

static int
path_ok(const char *p)
{
	if (p[0] != '/' || strlen(p) > PATH_MAX_LEN)
		return 0;
	for (; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			return 0;
	return 1;
}

void
task_offer(struct agent *ag, struct link *l, const Tokilake__V1__TaskOffer *o)
{
	struct task *t;

	if (ag->ntasks >= TASK_MAX_TASKS) {
		/* no stream to answer on would be reasonable either */
		log_warnx("task %llu offered while %u tasks are open: ignored",
		    (unsigned long long)o->task_id, ag->ntasks);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->owner.kind = OWNER_TASK;
	t->ag = ag;
	t->link = l;
	t->id = o->task_id;
	t->request_id = xstrndup(o->request_id, 128);
	t->method = xstrndup(o->method, 32);
	t->path = xstrdup(o->path);
	t->model = xstrndup(o->model, 1024);
	t->body_size = o->body_size;
	t->started_ms = now_ms();
	t->state = TASK_NEW;
	buf_init(&t->body, TASK_BODY_MAX);
	buf_init(&t->rh, RH_MAX_BYTES);
	h2_call_init(&t->call, &serve_ops, TASK_CALL_OUT_MAX);
	if (o->body_inline && link_usable(l)) {
		/* opened by task_tick, with the answer or after the delay */
		t->open_deadline_ms = t->started_ms + TASK_OPEN_DELAY_MS;
	} else if (link_open_serve(l, &t->call) == -1) {
		log_warnx("task %llu offered while the link is closing: no Serve call to answer on",
		    (unsigned long long)o->task_id);
		h2_call_free(&t->call);
		buf_free(&t->body);
		free(t->request_id);
		free(t->method);
		free(t->path);
		free(t->model);
		free(t);
		return;
	} else
		t->serve_open = 1;
	TAILQ_INSERT_TAIL(&ag->tasks, t, entry);
	ag->ntasks++;
	l->ntasks++;
	send_accept(t);
	if (o->body_inline) {
		/* the whole body came with the offer: nothing follows on Serve */
		t->body_received = o->body.len;
		t->body_end = 1;
		t->body_inline = 1;
		if (o->body.len != t->body_size) {
			task_fail(t, 502, "api_error", "bad_request_body",
			    "the offer carries %zu body bytes, %llu were announced", o->body.len,
			    (unsigned long long)t->body_size);
			return;
		}
		if (buf_append(&t->body, o->body.data, o->body.len) == -1) {
			task_fail(t, 502, "api_error", "bad_request_body",
			    "the inline body is larger than %d bytes", TASK_BODY_MAX);
			return;
		}
	}
	if (o->deadline_ms != 0)
		t->ttfb_deadline_ms = t->started_ms + o->deadline_ms + TASK_DEADLINE_SLACK_MS;
	log_debug("task %llu [%s] offered: %s %s model \"%s\", %llu body bytes",
	    (unsigned long long)t->id, rid(t), t->method, t->path, t->model,
	    (unsigned long long)t->body_size);

	/* a draining link takes nothing new; the agent's other links may */
	if (ag->stopping || l->draining || !link_usable(l)) {
		task_fail(t, 503, "api_error", "agent_stopping",
		    ag->stopping ? "agent %s is stopping and takes no new tasks" :
		    "agent %s takes no new tasks on its link to this node (draining)", ag->agent_id);
		return;
	}
	if (!task_method_ok(t->method) || !path_ok(t->path)) {
		task_fail(t, 400, "invalid_request_error", "bad_request",
		    "the offer has a bad method or path");
		return;
	}
	task_build_request_headers(t, o);
	place(t, o->deadline_ms);
}

/* ---- the Serve call ----------------------------------------------------- */

static int
serve_message(struct grpc_call *call, const uint8_t *msg, size_t len)
{
	struct pb_arena arena; /* the message's pieces, freed with this frame */
	struct task *t = task_of(call);
	Tokilake__V1__TaskDown *m;
	int rc = 0;

	if ((m = tokilake__v1__task_down__unpack(pb_arena_init(&arena), len, msg)) == NULL) {
		h2_fail(call->h2, "task %llu: the server sent a message that is not a TaskDown",
		    (unsigned long long)t->id);
		return -1;
	}
	switch (m->msg_case) {
	case TOKILAKE__V1__TASK_DOWN__MSG_BODY:
		if (t->body_end || t->body_inline) {
			h2_fail(call->h2, "task %llu: body bytes after BodyEnd",
			    (unsigned long long)t->id);
			rc = -1;
			break;
		}
		t->body_received += m->body.len;
		if (t->state == TASK_ENDED)
			break; /* nobody reads it any more; serve_received gives the window back */
		if (t->body_received > t->body_size) {
			task_fail(t, 502, "api_error", "bad_request_body",
			    "the request body is longer than the %llu bytes announced",
			    (unsigned long long)t->body_size);
			break;
		}
		if (buf_append(&t->body, m->body.data, m->body.len) == -1) {
			h2_fail(call->h2, "task %llu: the server ignores flow control",
			    (unsigned long long)t->id);
			rc = -1;
		}
		break;
	case TOKILAKE__V1__TASK_DOWN__MSG_BODY_END:
		if (t->body_inline) {
			h2_fail(call->h2, "task %llu: BodyEnd after an inline body",
			    (unsigned long long)t->id);
			rc = -1;
			break;
		}
		t->body_end = 1;
		if (t->state != TASK_ENDED && t->body_received != t->body_size)
			task_fail(t, 502, "api_error", "bad_request_body",
			    "the request body has %llu bytes, %llu were announced",
			    (unsigned long long)t->body_received, (unsigned long long)t->body_size);
		break;
	default:
		log_debug("task %llu: unknown message, ignored", (unsigned long long)t->id);
		break;
	}
	tokilake__v1__task_down__free_unpacked(m, &arena.alloc);
	return rc;
}

static void
serve_received(struct grpc_call *call, size_t len)
{
	struct task *t = task_of(call);

	/* keep unconsumed what the backend has not read yet (task->body);
	 * framing and partial messages go back at once, so a message larger
	 * than the window cannot deadlock */
	if (t->state == TASK_ENDED)
		h2_call_consume(call, call->unconsumed);
	else if (call->unconsumed > t->body.len)
		h2_call_consume(call, call->unconsumed - t->body.len);
}

static void
serve_closed(struct grpc_call *call, uint32_t error_code)
{
	struct task *t = task_of(call);

	if (t->state != TASK_ENDED) {
		if (call->grpc_status == GRPC_NOT_FOUND)
			/* not accepted in time (we were stopped or slow): the server
			 * gave it to another agent; ours is a duplicate */
			log_info("task %llu [%s]: the server withdrew the offer (%s)%s",
			    (unsigned long long)t->id, rid(t), call->grpc_message,
			    t->state == TASK_RUNNING ? ": closing the backend request" : "");
		else if (call->grpc_status >= 0)
			log_info("task %llu [%s] ended by the server (%s%s%s)%s",
			    (unsigned long long)t->id, rid(t), grpc_status_name(call->grpc_status),
			    call->grpc_message[0] ? ": " : "", call->grpc_message,
			    t->state == TASK_RUNNING ? ": closing the backend request" : "");
		else if (error_code == NGHTTP2_CANCEL || error_code == NGHTTP2_NO_ERROR)
			log_info("task %llu [%s] cancelled by the server%s",
			    (unsigned long long)t->id, rid(t),
			    t->state == TASK_RUNNING ? ": closing the backend request" : "");
		else
			log_warnx("task %llu [%s] reset by the server (%s)%s",
			    (unsigned long long)t->id, rid(t), nghttp2_http2_strerror(error_code),
			    t->state == TASK_RUNNING ? ": closing the backend request" : "");
	} else if (call->grpc_status == GRPC_NOT_FOUND)
		/* cancelled by its client before the Serve call opened (see
		 * TASK_OPEN_DELAY_MS), or withdrawn because we accepted too
		 * late: the answer had nobody left to go to */
		log_info("task %llu [%s]: the server dropped or withdrew it before it was accepted",
		    (unsigned long long)t->id, rid(t));
	else if (call->grpc_status > 0)
		log_warnx("task %llu [%s]: the server ended the Serve call with %s%s%s",
		    (unsigned long long)t->id, rid(t), grpc_status_name(call->grpc_status),
		    call->grpc_message[0] ? ": " : "", call->grpc_message);
	task_free(t); /* removes the curl transfer at once: the backend sees a close */
}

/* ---- the loop's side ---------------------------------------------------- */

void
task_curl_done(struct task *t, CURLcode rc)
{
	const char *why;

	if (rc == CURLE_OK && t->head_sent) {
		stop_backend(t);
		task_end(t);
		return;
	}
	if (rc == CURLE_OK)
		why = "the backend sent no answer";
	else if (t->local_error[0] != '\0')
		why = t->local_error;
	else if (t->errbuf[0] != '\0')
		why = t->errbuf;
	else
		why = curl_easy_strerror(rc);
	/* nothing reached the backend: agentd may retry on another replica */
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
		task_fail(t, 502, "api_error", "backend_unreachable", "backend %s: %s",
		    backend_name(t->be), why);
	else
		task_fail(t, 502, "api_error", "backend_unavailable", "backend %s: %s",
		    backend_name(t->be), why);
}

static void
set_pause(struct task *t)
{
	int mask = (t->recv_paused ? CURLPAUSE_RECV : 0) | (t->send_paused ? CURLPAUSE_SEND : 0);

	/* may call the write callback at once with what curl held back */
	curl_easy_pause(t->easy, mask);
}

uint64_t
task_tick(struct agent *ag, uint64_t now)
{
	struct task *t;
	uint64_t next = UINT64_MAX;

	TAILQ_FOREACH(t, &ag->tasks, entry) {
		if (!t->serve_open) {
			/* something beyond the accept to say, or waited long enough */
			if (now >= t->open_deadline_ms || t->head_sent || t->state != TASK_RUNNING ||
			    t->call.out_eof) {
				if (link_open_serve(t->link, &t->call) == 0)
					t->serve_open = 1;
				/* else the link is going: task_abort_link follows */
			} else if (t->open_deadline_ms < next)
				next = t->open_deadline_ms;
		}
		switch (t->state) {
		case TASK_RUNNING:
			if (t->ttfb_deadline_ms != 0 && !t->head_sent && now >= t->ttfb_deadline_ms) {
				task_fail(t, 504, "api_error", "backend_timeout",
				    "backend %s sent no answer within %llu ms", backend_name(t->be),
				    (unsigned long long)(t->ttfb_deadline_ms - t->started_ms));
				break;
			}
			if (t->ttfb_deadline_ms != 0 && !t->head_sent && t->ttfb_deadline_ms < next)
				next = t->ttfb_deadline_ms;
			if (t->send_paused && (t->body.len > 0 || t->body_end)) {
				t->send_paused = 0;
				set_pause(t);
			}
			if (t->recv_paused && t->call.out.len < TASK_OUT_LOW && t->easy != NULL) {
				t->recv_paused = 0;
				set_pause(t);
			}
			break;
		case TASK_QUEUED:
			if (now >= t->queue_deadline_ms) {
				task_fail(t, 503, "api_error", "backend_busy",
				    "backend %s stayed at its concurrency limit for %llu ms",
				    backend_name(t->be),
				    (unsigned long long)(t->queue_deadline_ms - t->started_ms));
				break;
			}
			if (t->queue_deadline_ms < next)
				next = t->queue_deadline_ms;
			break;
		case TASK_ENDED:
			if (now >= t->linger_deadline_ms) {
				log_debug("task %llu: no status from the server, resetting",
				    (unsigned long long)t->id);
				h2_call_cancel(&t->call);
				t->linger_deadline_ms = UINT64_MAX;
			} else if (t->linger_deadline_ms < next)
				next = t->linger_deadline_ms;
			break;
		default:
			break;
		}
	}
	/* slots freed since the last tick go to waiting tasks, in order */
	for (size_t i = 0; i < ag->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		while (b->running < limit(b) && (t = TAILQ_FIRST(&b->queue)) != NULL) {
			TAILQ_REMOVE(&b->queue, t, qentry);
			b->nqueued--;
			ag->in_flight--;
			task_start_backend(t);
		}
	}
	return next;
}

int
task_want_run(const struct agent *ag)
{
	const struct task *t;

	TAILQ_FOREACH(t, &ag->tasks, entry)
		if (t->state == TASK_RUNNING && ((t->recv_paused && t->call.out.len < TASK_OUT_LOW) ||
		    (t->send_paused && (t->body.len > 0 || t->body_end))))
			return 1;
	return 0;
}

void
task_cancel_all(struct agent *ag, const char *why)
{
	struct task *t;
	unsigned n = 0;

	TAILQ_FOREACH(t, &ag->tasks, entry) {
		if (t->state != TASK_ENDED)
			n++;
		stop_backend(t);
		h2_call_cancel(&t->call);
		t->state = TASK_ENDED;
		t->linger_deadline_ms = UINT64_MAX;
	}
	if (n > 0)
		log_warnx("%u task%s cut: %s", n, n == 1 ? "" : "s", why);
}

void
task_abort_link(struct link *l, const char *why)
{
	struct task *t, *next;
	unsigned n = 0;

	for (t = TAILQ_FIRST(&l->ag->tasks); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->link != l)
			continue;
		if (t->state != TASK_ENDED)
			n++;
		task_free(t);
	}
	if (n > 0)
		log_warnx("%u task%s dropped: %s", n, n == 1 ? "" : "s", why);
}
