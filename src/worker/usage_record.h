/*
 * usage_record: what one relayed request used, built by api_proxy.c when
 * the request ends (its pool is freed), whatever the way it ended.
 *
 * The record goes to agentd (tokens per minute, budgets) and on to the
 * master (the usage log or PostgreSQL rollups); at log level debug it is
 * also logged, one line:
 *   usage req=ID key=NAME ns=NS model=MODEL status=S stream=0|1
 *     prompt_tokens=N completion_tokens=N tokens=known|unknown
 *     ttfb_ms=N duration_ms=N end=HOW
 * (no secrets: the key's name, "-" for anonymous; "-" for counts and a
 * first byte that never came). The lines of one loop turn leave in one
 * write, at the turn's end.
 *
 * Tokens are those the backend reported in the answer the worker relayed
 * (usage_scan.c); an answer without them says tokens=unknown, never a
 * guess. end is "ok", or why it ended otherwise: "client_gone" or the
 * error code the client was given (first_byte_timeout,
 * stream_idle_timeout, agentd_unavailable, a backend's code...).
 */
#ifndef TL_WORKER_USAGE_RECORD_H
#define TL_WORKER_USAGE_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define USAGE_NO_TIME UINT64_MAX

struct usage_record {
	const char *request_id;
	const char *key;          /* the key's name; "" when anonymous */
	const char *ns;
	size_t ns_len;
	const char *model;        /* the backend's name (after "namespace:") */
	size_t model_len;
	int status;
	int stream;
	int known;                /* the counts below came from the answer */
	uint64_t prompt_tokens, completion_tokens;
	uint64_t ttfb_ms;         /* to the first data (no data: the head), or USAGE_NO_TIME */
	uint64_t duration_ms;
	const char *end;
	int forwarded;            /* came from another node, which records it */
};

void wk_usage_record_done(const struct usage_record *u);

#endif
