/*
 * mreq: one /v1/... request and the engine that answers it.
 *
 * knobs.c fills a struct mreq from the request: digests of the body, the
 * JSON body, and the knobs (stream, chunks, pause, failures) from headers
 * (x-mock-*) or body fields (mock_*); a header wins over a body field,
 * which wins over the command line. An endpoint then describes its answer
 * (status and body, or a stream of events) and reply_run() sends it,
 * applying pauses and injected failures, and records an abort when the
 * client goes away first.
 *
 * Ownership: the struct lives in the request's h2o pool (shared memory
 * with a dispose callback), so it dies with the request; dispose stops
 * the timer and the watch and frees `out` and the JSON tree. `out` holds
 * the body, or the current event of a stream (h2o keeps the bytes until
 * it calls proceed, and the next event is only built after that).
 */
#ifndef TL_MOCK_MREQ_H
#define TL_MOCK_MREQ_H

#include <stdint.h>

#include <h2o.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "jsonw.h"
#include "mock.h"
#include "watch.h"

struct mock_fail {
	int status;  /* answer this status with an OpenAI error; 0 = no */
	int cut;     /* stream: cut after this many events; non-stream: after half the body; -1 = no */
	int hang;    /* never answer */
	int slow_ms; /* wait this long before the response head; -1 = no */
};

enum mreq_kind { MREQ_CHAT, MREQ_COMPLETION };

/* Where usage goes (x-mock-usage): as OpenAI does, as llama.cpp does
 * (in the last content chunk of a stream, asked or not), or nowhere. */
enum mreq_usage { MUSAGE_OPENAI, MUSAGE_LAST, MUSAGE_NONE };

struct mreq;
/* Build event i of a stream into m->out and return it. */
typedef h2o_iovec_t (*mreq_event_fn)(struct mreq *m, unsigned i);

struct mreq {
	h2o_generator_t gen; /* h2o hands it back to proceed/stop */
	h2o_req_t *req;
	struct mock_thread *thr;
	int is_post;
	h2o_iovec_t path;       /* without the query; pool copy */
	h2o_iovec_t request_id; /* X-Request-Id (pool copy); base NULL if none */
	h2o_iovec_t authorization; /* base NULL if none */
	uint64_t body_fnv;
	size_t body_len;
	yajl_val root;       /* the JSON body, or NULL (see json_err) */
	char json_err[160];  /* why root is NULL: "empty body", parse error */

	/* knobs */
	int stream;
	unsigned chunks, pause_ms;
	size_t bytes; /* size of generated binary answers */
	struct mock_fail fail;
	h2o_iovec_t model; /* "model" of a JSON body (pool copy); base NULL if none */
	int include_usage; /* "stream_options":{"include_usage":true} */
	enum mreq_usage usage;
	int has_fixed_id;  /* x-mock-fixed-id: ids and "created" are this, for byte comparisons */
	uint64_t fixed_id;

	/* the answer */
	int status;
	const char *ctype;
	struct buf out;
	h2o_iovec_t body;  /* non-stream answers */
	int has_resp_fnv;
	uint64_t resp_fnv; /* x-mock-response-fnv */
	mreq_event_fn event;
	unsigned nevents;  /* events including the closing one */
	enum mreq_kind kind;
	uint64_t serial, created;

	/* progress */
	unsigned sent;     /* events (or body pieces) handed to h2o */
	unsigned started : 1, writing : 1, finished : 1, gone : 1, aborted : 1, cut_pending : 1;
	h2o_timeout_entry_t timer;
	struct watch watch;
};

/* knobs.c */
struct mreq *mreq_new(h2o_req_t *req, h2o_iovec_t path, int is_post);
/* Digests, JSON body, knobs. -1 when the request is bad: an error answer
 * is then set. */
int mreq_parse(struct mreq *m);
/* yajl_tree frees recursively: a deeper body could exhaust the stack. */
#define MREQ_MAX_JSON_DEPTH 64
int mreq_json_depth_ok(const char *s, size_t n);
/* A string member of a JSON object, or NULL. */
const char *mreq_json_str(yajl_val obj, const char *key);

/* reply.c */
void reply_error(struct mreq *m, int status, const char *type, const char *code,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The answer is the JSON text in w (written into m->out). */
void reply_json(struct mreq *m, int status, struct jw *w);
void reply_stream(struct mreq *m, mreq_event_fn event, unsigned nevents);
/* Send the answer set above (or hang, wait, cut, as the knobs say). */
void reply_run(struct mreq *m);
/* A plain immediate answer, for /healthz and /mock/... */
void reply_now(h2o_req_t *req, int status, const char *ctype, const char *body, size_t len);
const char *reply_reason(int status);

/* The endpoints: each sets the answer (or an error). */
void ep_models(struct mreq *m);
void ep_model(struct mreq *m, h2o_iovec_t id);
void ep_chat(struct mreq *m, enum mreq_kind kind);
void ep_embeddings(struct mreq *m);
void ep_speech(struct mreq *m);
void ep_transcriptions(struct mreq *m);
void ep_echo(struct mreq *m);

#endif
