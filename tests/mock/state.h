/*
 * state: what the threads share. The model list (changed at run time by
 * POST /mock/models), request counts per path, and the record of
 * requests whose client went away. One mutex guards it all; the JSON
 * writers run under it so a snapshot is consistent. Every table has a
 * bound: paths past MOCK_MAX_PATHS are counted as "(other)", the abort
 * list keeps the newest MOCK_MAX_ABORTS records (the log file keeps all).
 */
#ifndef TL_MOCK_STATE_H
#define TL_MOCK_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "jsonw.h"

#define MOCK_MAX_MODELS 1024
#define MOCK_MAX_MODEL_LEN 256
#define MOCK_MAX_PATHS 256
#define MOCK_MAX_ABORTS 1024
#define MOCK_MAX_ID_LEN 128
#define MOCK_MAX_PATH_LEN 256

/* -1 with a message on stderr when the list or the log file is bad. */
int state_init(const char *models_csv, const char *abort_log);

/* {"object":"list","data":[...]} */
void state_models_json(struct jw *w);
/* One model object; -1 when the model is not listed. */
int state_model_json(struct jw *w, const char *id, size_t len);
int state_model_known(const char *id, size_t len);
/* fn for each listed model, in order, under the lock (fn must not call
 * back into state). */
void state_models_each(void (*fn)(const char *id, void *arg), void *arg);
/* Replace the list from a JSON array of strings; -1 and a reason. */
int state_models_set(yajl_val list, char *err, size_t errlen);

void state_count(const char *path, size_t len);
/* {"total":N,"paths":{"/v1/...":N,...}} */
void state_counts_json(struct jw *w);

/* A client went away before its answer was complete: remember it and
 * append "<unix_ms> <request id or -> <path> <events_sent>" to the log. */
void state_abort(uint64_t at_ms, const char *request_id, size_t idlen, const char *path,
    size_t pathlen, unsigned events_sent);
/* {"aborts":[{"at_ms":..,"request_id":..,"path":..,"events_sent":..}],"dropped":N} */
void state_aborts_json(struct jw *w);

/* Forget counts and aborts (the model list stays). */
void state_reset(void);
/* 1, 2, 3...: numbers the chat and completion replies. */
uint64_t state_next_serial(void);

#endif
