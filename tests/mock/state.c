/* state: see state.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"
#include "xmalloc.h"

struct abort_rec {
	uint64_t at_ms;
	unsigned events;
	char request_id[MOCK_MAX_ID_LEN + 1]; /* "" when the request had none */
	char path[MOCK_MAX_PATH_LEN + 1];
};

struct path_count {
	char path[MOCK_MAX_PATH_LEN + 1];
	uint64_t n;
};

static struct {
	pthread_mutex_t mu;
	char *models[MOCK_MAX_MODELS];
	size_t nmodels;
	uint64_t models_created; /* unix seconds of the last change */
	struct path_count paths[MOCK_MAX_PATHS];
	size_t npaths;
	uint64_t other, total;
	struct abort_rec aborts[MOCK_MAX_ABORTS]; /* ring, oldest at first_abort */
	size_t first_abort, naborts;
	uint64_t dropped;
	int log_fd;
	uint64_t serial;
} st = { .mu = PTHREAD_MUTEX_INITIALIZER, .log_fd = -1 };

/* Printable, no spaces (the log line is space-separated), bounded. */
static void
copy_token(char *dst, size_t dstlen, const char *s, size_t len)
{
	size_t i;

	if (len > dstlen - 1)
		len = dstlen - 1;
	for (i = 0; i < len; i++)
		dst[i] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '_';
	dst[i] = '\0';
}

static int
set_models_locked(char **list, size_t n)
{
	for (size_t i = 0; i < st.nmodels; i++)
		free(st.models[i]);
	for (size_t i = 0; i < n; i++)
		st.models[i] = list[i];
	st.nmodels = n;
	st.models_created = (uint64_t)time(NULL);
	return 0;
}

int
state_init(const char *models_csv, const char *abort_log)
{
	char *list[MOCK_MAX_MODELS];
	size_t n = 0;
	const char *p = models_csv, *comma;

	while (*p != '\0') {
		size_t len;

		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || len > MOCK_MAX_MODEL_LEN || n == MOCK_MAX_MODELS) {
			fprintf(stderr, "%s: -m: empty, too long (> %d) or too many (> %d) model names\n",
			    "tl-mock-openai", MOCK_MAX_MODEL_LEN, MOCK_MAX_MODELS);
			while (n > 0)
				free(list[--n]);
			return -1;
		}
		list[n++] = xstrndup(p, len);
		p += len;
		if (*p == ',')
			p++;
	}
	set_models_locked(list, n);
	if (abort_log != NULL) {
		st.log_fd = open(abort_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (st.log_fd == -1) {
			fprintf(stderr, "tl-mock-openai: --abort-log %s: %s\n", abort_log, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static void
model_json_locked(struct jw *w, const char *id)
{
	jw_raw(w, "{\"id\":");
	jw_cstr(w, id);
	jw_raw(w, ",\"object\":\"model\",\"created\":");
	jw_u64(w, st.models_created);
	jw_raw(w, ",\"owned_by\":\"mock\"}");
}

void
state_models_json(struct jw *w)
{
	pthread_mutex_lock(&st.mu);
	jw_raw(w, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < st.nmodels; i++) {
		if (i > 0)
			jw_raw(w, ",");
		model_json_locked(w, st.models[i]);
	}
	jw_raw(w, "]}");
	pthread_mutex_unlock(&st.mu);
}

void
state_models_each(void (*fn)(const char *id, void *arg), void *arg)
{
	pthread_mutex_lock(&st.mu);
	for (size_t i = 0; i < st.nmodels; i++)
		fn(st.models[i], arg);
	pthread_mutex_unlock(&st.mu);
}

static ssize_t
find_model_locked(const char *id, size_t len)
{
	for (size_t i = 0; i < st.nmodels; i++)
		if (strlen(st.models[i]) == len && memcmp(st.models[i], id, len) == 0)
			return (ssize_t)i;
	return -1;
}

int
state_model_json(struct jw *w, const char *id, size_t len)
{
	ssize_t i;

	pthread_mutex_lock(&st.mu);
	if ((i = find_model_locked(id, len)) != -1)
		model_json_locked(w, st.models[i]);
	pthread_mutex_unlock(&st.mu);
	return i == -1 ? -1 : 0;
}

int
state_model_known(const char *id, size_t len)
{
	ssize_t i;

	pthread_mutex_lock(&st.mu);
	i = find_model_locked(id, len);
	pthread_mutex_unlock(&st.mu);
	return i != -1;
}

int
state_models_set(yajl_val v, char *err, size_t errlen)
{
	char *list[MOCK_MAX_MODELS];
	size_t n, i;

	if (!YAJL_IS_ARRAY(v)) {
		snprintf(err, errlen, "\"models\" must be an array of strings");
		return -1;
	}
	n = v->u.array.len;
	if (n > MOCK_MAX_MODELS) {
		snprintf(err, errlen, "at most %d models", MOCK_MAX_MODELS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const char *s = YAJL_GET_STRING(v->u.array.values[i]);

		if (s == NULL || s[0] == '\0' || strlen(s) > MOCK_MAX_MODEL_LEN) {
			snprintf(err, errlen, "models[%zu]: not a string of 1 to %d bytes", i,
			    MOCK_MAX_MODEL_LEN);
			return -1;
		}
	}
	for (i = 0; i < n; i++)
		list[i] = xstrdup(YAJL_GET_STRING(v->u.array.values[i]));
	pthread_mutex_lock(&st.mu);
	set_models_locked(list, n);
	pthread_mutex_unlock(&st.mu);
	return 0;
}

void
state_count(const char *path, size_t len)
{
	size_t i;

	if (len > MOCK_MAX_PATH_LEN)
		len = MOCK_MAX_PATH_LEN;
	pthread_mutex_lock(&st.mu);
	st.total++;
	for (i = 0; i < st.npaths; i++)
		if (strncmp(st.paths[i].path, path, len) == 0 && st.paths[i].path[len] == '\0')
			break;
	if (i < st.npaths)
		st.paths[i].n++;
	else if (st.npaths < MOCK_MAX_PATHS) {
		memcpy(st.paths[i].path, path, len);
		st.paths[i].path[len] = '\0';
		st.paths[i].n = 1;
		st.npaths++;
	} else
		st.other++;
	pthread_mutex_unlock(&st.mu);
}

void
state_counts_json(struct jw *w)
{
	pthread_mutex_lock(&st.mu);
	jw_raw(w, "{\"total\":");
	jw_u64(w, st.total);
	jw_raw(w, ",\"paths\":{");
	for (size_t i = 0; i < st.npaths; i++) {
		if (i > 0)
			jw_raw(w, ",");
		jw_cstr(w, st.paths[i].path);
		jw_raw(w, ":");
		jw_u64(w, st.paths[i].n);
	}
	if (st.other > 0) {
		jw_raw(w, st.npaths > 0 ? ",\"(other)\":" : "\"(other)\":");
		jw_u64(w, st.other);
	}
	jw_raw(w, "}}");
	pthread_mutex_unlock(&st.mu);
}

void
state_abort(uint64_t at_ms, const char *request_id, size_t idlen, const char *path,
    size_t pathlen, unsigned events_sent)
{
	struct abort_rec *r;
	char line[64 + MOCK_MAX_ID_LEN + MOCK_MAX_PATH_LEN];
	int n;

	pthread_mutex_lock(&st.mu);
	if (st.naborts == MOCK_MAX_ABORTS) {
		st.first_abort = (st.first_abort + 1) % MOCK_MAX_ABORTS;
		st.naborts--;
		st.dropped++;
	}
	r = &st.aborts[(st.first_abort + st.naborts++) % MOCK_MAX_ABORTS];
	r->at_ms = at_ms;
	r->events = events_sent;
	copy_token(r->request_id, sizeof(r->request_id), request_id != NULL ? request_id : "",
	    request_id != NULL ? idlen : 0);
	copy_token(r->path, sizeof(r->path), path, pathlen);
	if (st.log_fd != -1) {
		n = snprintf(line, sizeof(line), "%llu %s %s %u\n", (unsigned long long)at_ms,
		    r->request_id[0] != '\0' ? r->request_id : "-", r->path, events_sent);
		/* one write per line: O_APPEND keeps lines whole */
		if (n > 0 && write(st.log_fd, line, (size_t)n) != n)
			fprintf(stderr, "tl-mock-openai: abort log: %s\n", strerror(errno));
	}
	pthread_mutex_unlock(&st.mu);
}

void
state_aborts_json(struct jw *w)
{
	pthread_mutex_lock(&st.mu);
	jw_raw(w, "{\"aborts\":[");
	for (size_t i = 0; i < st.naborts; i++) {
		const struct abort_rec *r = &st.aborts[(st.first_abort + i) % MOCK_MAX_ABORTS];

		jw_raw(w, i > 0 ? ",{\"at_ms\":" : "{\"at_ms\":");
		jw_u64(w, r->at_ms);
		jw_raw(w, ",\"request_id\":");
		if (r->request_id[0] != '\0')
			jw_cstr(w, r->request_id);
		else
			jw_raw(w, "null");
		jw_raw(w, ",\"path\":");
		jw_cstr(w, r->path);
		jw_raw(w, ",\"events_sent\":");
		jw_u64(w, r->events);
		jw_raw(w, "}");
	}
	jw_raw(w, "],\"dropped\":");
	jw_u64(w, st.dropped);
	jw_raw(w, "}");
	pthread_mutex_unlock(&st.mu);
}

void
state_reset(void)
{
	pthread_mutex_lock(&st.mu);
	st.npaths = 0;
	st.other = st.total = 0;
	st.first_abort = st.naborts = 0;
	st.dropped = 0;
	pthread_mutex_unlock(&st.mu);
}

uint64_t
state_next_serial(void)
{
	return __atomic_add_fetch(&st.serial, 1, __ATOMIC_RELAXED);
}
