/*
 * admission: the glue between workers' requests and the limiter; the
 * policy is in admission.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission.h"
#include "agentd.h"
#include "limiter.h"
#include "log.h"
#include "xmalloc.h"

struct admitted {
	uint64_t id;
	uint32_t ref;   /* the limiter's, LIMITER_NO_REF: slot unused */
	struct apikey_limits lim;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct limiter *
admission_limiter(struct agentd *ad)
{
	if (ad->limiter == NULL)
		ad->limiter = limiter_new(LIMITER_MAX_KEYS);
	return ad->limiter;
}

void
admission_charge(struct agentd *ad, const char *name, size_t len, uint64_t tokens)
{
	if (len == 0 || tokens == 0)
		return;
	limiter_charge(admission_limiter(ad), name, len, tokens, now_ms());
}

void
admission_free(struct agentd *ad)
{
	limiter_free(ad->limiter);
	ad->limiter = NULL;
}

/* ---- the admitted ids of one worker connection ---- */

static size_t
home(const struct worker_conn *wc, uint64_t id)
{
	return (size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & (wc->admitted_cap - 1);
}

static struct admitted *
table_find(const struct worker_conn *wc, uint64_t id)
{
	if (wc->nadmitted == 0)
		return NULL;
	for (size_t i = home(wc, id);; i = (i + 1) & (wc->admitted_cap - 1)) {
		struct admitted *a = &wc->admitted[i];

		if (a->ref == LIMITER_NO_REF)
			return NULL;
		if (a->id == id)
			return a;
	}
}

static void
table_put(struct worker_conn *wc, const struct admitted *a)
{
	size_t i;

	if ((wc->nadmitted + 1) * 2 > wc->admitted_cap) {
		struct admitted *old = wc->admitted;
		size_t oldcap = wc->admitted_cap;

		wc->admitted_cap = oldcap ? oldcap * 2 : 32;
		wc->admitted = xcalloc(wc->admitted_cap, sizeof(*wc->admitted));
		for (size_t k = 0; k < wc->admitted_cap; k++)
			wc->admitted[k].ref = LIMITER_NO_REF;
		wc->nadmitted = 0;
		for (size_t k = 0; k < oldcap; k++)
			if (old[k].ref != LIMITER_NO_REF)
				table_put(wc, &old[k]);
		free(old);
	}
	for (i = home(wc, a->id); wc->admitted[i].ref != LIMITER_NO_REF;
	    i = (i + 1) & (wc->admitted_cap - 1))
		;
	wc->admitted[i] = *a;
	wc->nadmitted++;
}

/* Remove a (inside the table), shifting back the entries after it so
 * that every lookup still finds its id without tombstones. */
static void
table_remove(struct worker_conn *wc, struct admitted *a)
{
	size_t mask = wc->admitted_cap - 1;
	size_t i = (size_t)(a - wc->admitted), j = i;

	for (;;) {
		size_t k;

		j = (j + 1) & mask;
		if (wc->admitted[j].ref == LIMITER_NO_REF)
			break;
		k = home(wc, wc->admitted[j].id);
		/* j may move to i only if its home is not in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		wc->admitted[i] = wc->admitted[j];
		i = j;
	}
	wc->admitted[i].ref = LIMITER_NO_REF;
	wc->nadmitted--;
}

/* The request ends: out of flight, out of the table. */
static void
release(struct worker_conn *wc, struct admitted *a)
{
	limiter_done(wc->ad->limiter, a->ref);
	table_remove(wc, a);
}

size_t
admission_in_flight(const struct worker_conn *wc)
{
	return wc->nadmitted;
}

/* ---- answers ---- */

static int
has_rate_limits(const struct apikey_limits *lim)
{
	return lim->rpm != 0 || lim->tpm != 0;
}

/* The packed x-ratelimit values of an answer (static storage: encoded
 * before the next call). */
static struct ipc_str
packed_ratelimit(struct limiter *l, uint32_t ref, const struct apikey_limits *lim, int64_t now)
{
	static uint8_t packed[RATELIMIT_PACKED_LEN];
	struct ratelimit rl;

	limiter_ratelimit(l, ref, lim, now, &rl);
	return (struct ipc_str){ (const char *)packed, ratelimit_pack(&rl, packed) };
}

const struct ipc_msg *
admission_outgoing(struct worker_conn *wc, const struct ipc_msg *msg, struct ipc_msg *tmp)
{
	struct admitted *a;
	uint64_t id;

	if (wc->nadmitted == 0)
		return msg;
	switch (msg->type) {
	case IPC_RESP_HEAD:
		id = msg->u.resp_head.id;
		break;
	case IPC_RESP_ERROR:
		id = msg->u.resp_error.id;
		break;
	case IPC_RESP_END:
		id = msg->u.resp_end.id;
		break;
	default:
		return msg;
	}
	if ((a = table_find(wc, id)) == NULL)
		return msg;
	if (msg->type != IPC_RESP_END && has_rate_limits(&a->lim)) {
		struct ipc_str rl = packed_ratelimit(wc->ad->limiter, a->ref, &a->lim, now_ms());

		*tmp = *msg;
		if (msg->type == IPC_RESP_HEAD)
			tmp->u.resp_head.ratelimit = rl;
		else
			tmp->u.resp_error.ratelimit = rl;
		msg = tmp;
	}
	if (msg->type != IPC_RESP_HEAD)
		release(wc, a);
	return msg;
}

void
admission_cancel(struct worker_conn *wc, uint64_t id)
{
	struct admitted *a = table_find(wc, id);

	if (a != NULL)
		release(wc, a);
}

void
admission_conn_closed(struct worker_conn *wc)
{
	for (size_t i = 0; i < wc->admitted_cap; i++)
		if (wc->admitted[i].ref != LIMITER_NO_REF)
			limiter_done(wc->ad->limiter, wc->admitted[i].ref);
	free(wc->admitted);
	wc->admitted = NULL;
	wc->admitted_cap = wc->nadmitted = 0;
}

/* The 429 for a refusal, OpenAI's wording where it has one. */
static void
refuse(struct worker_conn *wc, const struct ipc_msg *req, const struct limiter_refusal *why,
    const struct apikey_limits *lim, uint32_t ref, int64_t now)
{
	struct ipc_str key = req->u.req_start.key;
	struct ipc_header_in retry_after = { "retry-after", 11, NULL, 0 };
	struct ipc_encode_lists lists;
	struct ipc_str rl = { NULL, 0 };
	char text[512], retry[16], wait[24];
	const char *type = "requests", *code = "rate_limit_exceeded";

	snprintf(retry, sizeof(retry), "%u", why->retry_after_s);
	ratelimit_duration(wait, sizeof(wait), (uint64_t)why->retry_after_s * 1000);
	switch (why->which) {
	case LIMITER_DAY:
	case LIMITER_MONTH:
		type = code = "insufficient_quota";
		snprintf(text, sizeof(text), "You exceeded your current quota: key %.*s used %llu "
		    "of its %llu tokens per %s. It is renewed in %s.", (int)key.len, key.base,
		    (unsigned long long)why->used, (unsigned long long)why->limit,
		    why->which == LIMITER_DAY ? "day (UTC)" : "month (UTC)", wait);
		break;
	case LIMITER_IN_FLIGHT:
		snprintf(text, sizeof(text), "Rate limit reached for requests in flight on key "
		    "%.*s: Limit %llu, Used %llu. Please try again in %s.", (int)key.len, key.base,
		    (unsigned long long)why->limit, (unsigned long long)why->used, wait);
		break;
	case LIMITER_TPM:
		type = "tokens";
		/* FALLTHROUGH */
	case LIMITER_RPM:
		snprintf(text, sizeof(text), "Rate limit reached for %s per min (%s) on key %.*s: "
		    "Limit %llu, Used %llu, Requested 1. Please try again in %s.", type,
		    why->which == LIMITER_TPM ? "TPM" : "RPM", (int)key.len, key.base,
		    (unsigned long long)why->limit, (unsigned long long)why->used, wait);
		break;
	default:
		snprintf(text, sizeof(text), "Too many keys are in use on this node at once; "
		    "please try again in %s.", wait);
		log_warnx("%s: request %.*s of key %.*s refused: %zu keys tracked, each with a "
		    "request in flight", wc->ipc.name, (int)req->u.req_start.request_id.len,
		    req->u.req_start.request_id.base, (int)key.len, key.base,
		    limiter_size(wc->ad->limiter));
		break;
	}
	if (ref != LIMITER_NO_REF && has_rate_limits(lim))
		rl = packed_ratelimit(wc->ad->limiter, ref, lim, now);
	retry_after.value = retry;
	retry_after.value_len = strlen(retry);
	memset(&lists, 0, sizeof(lists));
	lists.headers = &retry_after;
	lists.nheaders = 1;
	log_debug("%s: request %.*s: key %.*s over its %s (%llu of %llu), retry after %s s",
	    wc->ipc.name, (int)req->u.req_start.request_id.len, req->u.req_start.request_id.base,
	    (int)key.len, key.base, limiter_which_name(why->which), (unsigned long long)why->used,
	    (unsigned long long)why->limit, retry);
	agentd_request_fail_lists(wc, req, 429, type, code, text, &lists, rl);
}

int
admission_start(struct worker_conn *wc, const struct ipc_msg *req)
{
	const struct apikey_limits *lim = &req->u.req_start.limits;
	struct ipc_str key = req->u.req_start.key;
	struct limiter *l;
	struct limiter_refusal why;
	struct admitted a, *old;
	int64_t now;

	if ((old = table_find(wc, req->u.req_start.id)) != NULL)
		release(wc, old); /* the worker is done with that id: never seen */
	if (key.len == 0 || (req->u.req_start.flags & IPC_REQ_F_NO_FORWARD) ||
	    (lim->rpm == 0 && lim->tpm == 0 && lim->max_in_flight == 0 &&
	    lim->tokens_per_day == 0 && lim->tokens_per_month == 0))
		return 0;
	l = admission_limiter(wc->ad);
	now = now_ms();
	if (limiter_admit(l, key.base, key.len, lim, now, &a.ref, &why) != 0) {
		refuse(wc, req, &why, lim, why.which == LIMITER_FULL ? LIMITER_NO_REF :
		    limiter_ref(l, key.base, key.len), now);
		return 1;
	}
	a.id = req->u.req_start.id;
	a.lim = *lim;
	table_put(wc, &a);
	return 0;
}
