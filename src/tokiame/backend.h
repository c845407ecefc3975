/*
 * backend: the local inference servers of tokiame.yaml, their models and
 * their concurrency slots.
 *
 * A backend's model set is its explicit list followed by what discovery
 * last found (discover.c), without duplicates. The agent publishes the
 * union over all backends; an id served by several backends is published
 * once (with the first backend's name) and a task for it may run on any
 * of them.
 *
 * URLs: a backend's url is an OpenAI base ("http://host:11434/v1") and a
 * task's path is an OpenAI path ("/v1/chat/completions"). When the base
 * ends in "/v1" and the path starts with "/v1/" (or is "/v1"), the path's
 * "/v1" is dropped before joining, so both spellings of a base work:
 *   http://h:11434/v1  + /v1/chat/completions -> http://h:11434/v1/chat/completions
 *   http://h:8000      + /v1/chat/completions -> http://h:8000/v1/chat/completions
 *   http://h/openai/v1 + /v1/models           -> http://h/openai/v1/models
 * A trailing "/" of the base is ignored. Discovery uses the same rule
 * with the path "/v1/models".
 *
 * Kinds are guessed from the id, case-insensitively: "embed" anywhere ->
 * EMBEDDING; "whisper" or "tts" -> AUDIO; anything else -> CHAT.
 */
#ifndef TM_BACKEND_H
#define TM_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "backoff.h"
#include "tm_config.h"
#include "url_cache.h"

struct agent;
struct task;
struct discovery;

enum discover_state { DISC_NONE, DISC_PENDING, DISC_OK, DISC_FAILING };

struct backend {
	const struct tm_backend *conf;
	char *name;
	char **discovered;          /* ids from the last good discovery */
	size_t ndiscovered;
	enum discover_state dstate;
	char derror[256];           /* why discovery fails, while it does */
	uint64_t next_discover_ms;
	struct backoff dretry;      /* soon again while it answers nothing */
	struct discovery *disc;     /* in flight, or NULL */
	uint32_t running;           /* tasks holding a slot */
	TAILQ_HEAD(, task) queue;   /* tasks waiting for a slot */
	uint32_t nqueued;
	struct url_cache urls;       /* parsed URLs for curl */
	struct load_state *probe;    /* its own load (load_probe.c), NULL until asked */
};

void backends_init(struct agent *ag);
void backends_free(struct agent *ag);
const char *backend_name(const struct backend *b);
/* base + path by the rule above; xmalloc'd. */
char *backend_url(const char *base, const char *path);
int backend_has_model(const struct backend *b, const char *id);
int model_kind_guess(const char *id);
const char *model_kind_name(int kind);
/* Recompute the published set; bumps ag->models_gen when it changed. */
void models_rebuild(struct agent *ag);
/* A GET of the backend's own (discovery, load probe), ready for the
 * agent's multi: url, an extra header line (or NULL), the backend's
 * api_key as a bearer, the write callback, owner as CURLOPT_PRIVATE,
 * errbuf, the bounds. *hdrs gets the header list, freed by the caller
 * after the transfer. */
CURL *backend_side_get(const struct backend *b, const char *url, const char *header,
    curl_write_callback on_body, void *body_arg, void *owner, char *errbuf,
    long timeout_ms, long connect_timeout_ms, struct curl_slist **hdrs);

#endif
