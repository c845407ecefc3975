/* backend: see backend.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_priv.h"
#include "backend.h"
#include "discover.h"
#include "log.h"
#include "task.h"
#include "tokilake.pb-c.h"
#include "xmalloc.h"

void
backends_init(struct agent *ag)
{
	const struct tm_config *conf = ag->conf;

	ag->nbackends = conf->nbackends;
	ag->backends = xcalloc(conf->nbackends, sizeof(*ag->backends));
	ag->capacity = 0;
	for (size_t i = 0; i < conf->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		b->conf = &conf->backends[i];
		b->name = xstrdup(b->conf->name != NULL ? b->conf->name : b->conf->url);
		b->dstate = b->conf->discover ? DISC_PENDING : DISC_NONE;
		backoff_init(&b->dretry, DISCOVER_RETRY_INITIAL_MS, b->conf->discover_interval_ms
		    ? b->conf->discover_interval_ms : DISCOVER_DEFAULT_INTERVAL_MS);
		TAILQ_INIT(&b->queue);
		ag->capacity += b->conf->concurrency;
	}
	models_rebuild(ag);
}

static void
free_models(struct agent *ag)
{
	for (size_t i = 0; i < ag->nmodels; i++)
		free(ag->models[i].id);
	free(ag->models);
	ag->models = NULL;
	ag->nmodels = 0;
}

void
backends_free(struct agent *ag)
{
	for (size_t i = 0; i < ag->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		for (size_t j = 0; j < b->ndiscovered; j++)
			free(b->discovered[j]);
		free(b->discovered);
		free(b->name);
		url_cache_free(&b->urls);
	}
	free(ag->backends);
	ag->backends = NULL;
	ag->nbackends = 0;
	free_models(ag);
}

const char *
backend_name(const struct backend *b)
{
	return b != NULL ? b->name : "";
}

char *
backend_url(const char *base, const char *path)
{
	size_t bl = strlen(base);
	char *out;

	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	if (bl >= 3 && memcmp(base + bl - 3, "/v1", 3) == 0 && strncmp(path, "/v1", 3) == 0 &&
	    (path[3] == '/' || path[3] == '\0' || path[3] == '?'))
		path += 3;
	out = xmalloc(bl + strlen(path) + 1);
	memcpy(out, base, bl);
	strcpy(out + bl, path);
	return out;
}

int
backend_has_model(const struct backend *b, const char *id)
{
	for (size_t i = 0; i < b->conf->nmodels; i++)
		if (strcmp(b->conf->models[i], id) == 0)
			return 1;
	for (size_t i = 0; i < b->ndiscovered; i++)
		if (strcmp(b->discovered[i], id) == 0)
			return 1;
	return 0;
}

int
model_kind_guess(const char *id)
{
	if (strcasestr(id, "embed") != NULL)
		return TOKILAKE__V1__MODEL_KIND__MODEL_KIND_EMBEDDING;
	if (strcasestr(id, "whisper") != NULL || strcasestr(id, "tts") != NULL)
		return TOKILAKE__V1__MODEL_KIND__MODEL_KIND_AUDIO;
	return TOKILAKE__V1__MODEL_KIND__MODEL_KIND_CHAT;
}

const char *
model_kind_name(int kind)
{
	switch (kind) {
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_CHAT: return "chat";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_COMPLETION: return "completion";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_EMBEDDING: return "embedding";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_AUDIO: return "audio";
	case TOKILAKE__V1__MODEL_KIND__MODEL_KIND_OTHER: return "other";
	default: return "unspecified";
	}
}

static int
in_set(const struct pub_model *m, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].id, id) == 0)
			return 1;
	return 0;
}

static void
add(struct pub_model **m, size_t *n, size_t *cap, const char *id, struct backend *b)
{
	if (in_set(*m, *n, id))
		return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*m = xrealloc(*m, *cap * sizeof(**m));
	}
	(*m)[*n].id = xstrdup(id);
	(*m)[*n].kind = model_kind_guess(id);
	(*m)[*n].be = b;
	(*n)++;
}

void
models_rebuild(struct agent *ag)
{
	struct pub_model *m = NULL;
	size_t n = 0, cap = 0;
	int same;

	for (size_t i = 0; i < ag->nbackends; i++) {
		struct backend *b = &ag->backends[i];
		for (size_t j = 0; j < b->conf->nmodels; j++)
			add(&m, &n, &cap, b->conf->models[j], b);
		for (size_t j = 0; j < b->ndiscovered; j++)
			add(&m, &n, &cap, b->discovered[j], b);
	}
	same = n == ag->nmodels;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(m[i].id, ag->models[i].id) == 0 && m[i].be == ag->models[i].be;
	if (same) {
		for (size_t i = 0; i < n; i++)
			free(m[i].id);
		free(m);
		return;
	}
	free_models(ag);
	ag->models = m;
	ag->nmodels = n;
	ag->models_gen++;
}

CURL *
backend_side_get(const struct backend *b, const char *url, const char *header,
    curl_write_callback on_body, void *body_arg, void *owner, char *errbuf,
    long timeout_ms, long connect_timeout_ms, struct curl_slist **hdrs)
{
	CURL *easy;

	if ((easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	*hdrs = header != NULL ? curl_slist_append(NULL, header) : NULL;
	if (b->conf->api_key != NULL && b->conf->api_key[0] != '\0') {
		size_t len = strlen(b->conf->api_key) + 32;
		char *h = xmalloc(len);
		snprintf(h, len, "Authorization: Bearer %s", b->conf->api_key);
		*hdrs = curl_slist_append(*hdrs, h);
		secure_wipe(h, len);
		free(h);
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, body_arg);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, owner);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	return easy;
}
