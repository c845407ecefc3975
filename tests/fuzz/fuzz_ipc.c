/*
 * fuzz_ipc: the IPC decoder against arbitrary bytes.
 *
 * LLVMFuzzerTestOneInput() decodes frames from the input until one is
 * incomplete or rejected, and checks what a decoder must guarantee: the
 * size it returns matches the header, every view lies inside the frame,
 * list iterators walk exactly the validated bytes, a rejection has a
 * reason, a strict prefix of a good frame only asks for more bytes, and a
 * decoded message re-encodes to the very same bytes.
 *
 * Built plainly (make check) it has its own main(): with file arguments it
 * runs each file once (to replay a crash); without, it replays the seeds
 * of tests/fuzz/corpus/ipc, then feeds 200000 inputs made from a fixed
 * seed: valid frames from random messages, the same frames mutated, and
 * random bytes behind plausible headers.
 *
 * The real libFuzzer build: tests/fuzz/run-fuzzers.sh ipc (README.md).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "ipc.h"
#include "xmalloc.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
load_be(const uint8_t *p, size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

static void
require_inside(struct ipc_str s, const uint8_t *lo, const uint8_t *hi)
{
	if (s.len == 0)
		return;
	REQUIRE((const uint8_t *)s.base >= lo && (const uint8_t *)s.base <= hi);
	REQUIRE(s.len <= (size_t)(hi - (const uint8_t *)s.base));
}

/* Walk a decoded list: it must hold exactly count entries in len bytes. */
static void
require_list(const struct ipc_list *l, int models, const uint8_t *lo, const uint8_t *hi)
{
	struct ipc_list_iter it;
	struct ipc_str name, value;
	struct ipc_model m;
	uint32_t n = 0;

	if (l->len != 0)
		REQUIRE(l->base >= lo && l->len <= (size_t)(hi - l->base));
	ipc_list_begin(&it, l);
	for (;;) {
		if (models) {
			if (!ipc_model_next(&it, &m))
				break;
			require_inside(m.ns, lo, hi);
			require_inside(m.name, lo, hi);
			require_inside(m.kind, lo, hi);
		} else {
			if (!ipc_header_next(&it, &name, &value))
				break;
			require_inside(name, lo, hi);
			require_inside(value, lo, hi);
		}
		n++;
	}
	REQUIRE(n == l->count);
	REQUIRE(it.p == l->base + l->len);
}

/* The snapshot lists: every entry walks and points inside the frame. */
static void
require_snapshot(const struct ipc_msg *m, const uint8_t *lo, const uint8_t *hi)
{
	struct ipc_list_iter it;
	uint32_t n = 0;

	if (m->type == IPC_NAMESPACES) {
		struct ipc_namespace ns;
		struct ipc_token t;

		ipc_list_begin(&it, &m->u.namespaces.namespaces);
		for (; ipc_namespace_next(&it, &ns); n++)
			require_inside(ns.name, lo, hi);
		REQUIRE(n == m->u.namespaces.namespaces.count);
		ipc_list_begin(&it, &m->u.namespaces.tokens);
		for (n = 0; ipc_token_next(&it, &t); n++) {
			require_inside(t.ns, lo, hi);
			require_inside(t.hash, lo, hi);
		}
		REQUIRE(n == m->u.namespaces.tokens.count);
		return;
	}
	{
		struct ipc_remote_agent a;
		struct ipc_remote_model rm;

		ipc_list_begin(&it, &m->u.remote_agents.agents);
		for (; ipc_remote_agent_next(&it, &a); n++) {
			require_inside(a.agent_id, lo, hi);
			require_inside(a.ns, lo, hi);
			require_inside(a.node, lo, hi);
			require_inside(a.node_url, lo, hi);
			require_inside(a.name, lo, hi);
		}
		REQUIRE(n == m->u.remote_agents.agents.count);
		ipc_list_begin(&it, &m->u.remote_agents.models);
		for (n = 0; ipc_remote_model_next(&it, &rm); n++) {
			require_inside(rm.agent_id, lo, hi);
			require_inside(rm.name, lo, hi);
			require_inside(rm.kind, lo, hi);
		}
		REQUIRE(n == m->u.remote_agents.models.count);
	}
}

/* KEYS: every key and pattern walks and points inside the frame. */
static void
require_keys(const struct ipc_msg *m, const uint8_t *lo, const uint8_t *hi)
{
	struct ipc_list_iter it;
	struct ipc_key k;
	struct ipc_key_allow a;
	uint32_t n;

	ipc_list_begin(&it, &m->u.keys.keys);
	for (n = 0; ipc_key_next(&it, &k); n++) {
		require_inside(k.name, lo, hi);
		require_inside(k.owner, lo, hi);
		require_inside(k.hash, lo, hi);
	}
	REQUIRE(n == m->u.keys.keys.count);
	ipc_list_begin(&it, &m->u.keys.allow);
	for (n = 0; ipc_key_allow_next(&it, &a); n++) {
		require_inside(a.key, lo, hi);
		require_inside(a.pattern, lo, hi);
	}
	REQUIRE(n == m->u.keys.allow.count);
}

static void
require_usages(const struct ipc_list *l, const uint8_t *lo, const uint8_t *hi)
{
	struct ipc_list_iter it;
	struct ipc_usage u;
	uint32_t n;

	ipc_list_begin(&it, l);
	for (n = 0; ipc_usage_next(&it, &u); n++) {
		require_inside(u.key, lo, hi);
		require_inside(u.ns, lo, hi);
		require_inside(u.model, lo, hi);
		require_inside(u.node, lo, hi);
		require_inside(u.request_id, lo, hi);
		require_inside(u.end, lo, hi);
	}
	REQUIRE(n == l->count);
	REQUIRE(it.p == (l->len ? l->base + l->len : l->base));
}

static void
require_key_loads(const struct ipc_list *l, const uint8_t *lo, const uint8_t *hi)
{
	struct ipc_list_iter it;
	struct ipc_key_load k;
	uint32_t n;

	ipc_list_begin(&it, l);
	for (n = 0; ipc_key_load_next(&it, &k); n++)
		require_inside(k.key, lo, hi);
	REQUIRE(n == l->count);
	REQUIRE(it.p == (l->len ? l->base + l->len : l->base));
}

static void
require_views(const struct ipc_msg *m, const uint8_t *lo, const uint8_t *hi)
{
	switch (m->type) {
	case IPC_CONFIG:
		require_inside(m->u.config.path, lo, hi);
		require_inside(m->u.config.yaml, lo, hi);
		break;
	case IPC_CONFIG_ACK:
		require_inside(m->u.config_ack.error, lo, hi);
		break;
	case IPC_MODELS_LIST:
		require_list(&m->u.models_list.models, 1, lo, hi);
		break;
	case IPC_REQ_START:
		require_inside(m->u.req_start.method, lo, hi);
		require_inside(m->u.req_start.path, lo, hi);
		require_inside(m->u.req_start.ns, lo, hi);
		require_inside(m->u.req_start.model, lo, hi);
		require_inside(m->u.req_start.request_id, lo, hi);
		require_list(&m->u.req_start.headers, 0, lo, hi);
		require_inside(m->u.req_start.key, lo, hi);
		REQUIRE(m->u.req_start.key.len <= APIKEY_NAME_MAX);
		break;
	case IPC_REQ_BODY:
		require_inside(m->u.req_body.data, lo, hi);
		REQUIRE(m->u.req_body.data.len <= IPC_MAX_CHUNK);
		break;
	case IPC_RESP_HEAD:
		require_list(&m->u.resp_head.headers, 0, lo, hi);
		break;
	case IPC_RESP_DATA:
		require_inside(m->u.resp_data.data, lo, hi);
		REQUIRE(m->u.resp_data.data.len <= IPC_MAX_CHUNK);
		break;
	case IPC_RESP_ERROR:
		require_inside(m->u.resp_error.type, lo, hi);
		require_inside(m->u.resp_error.code, lo, hi);
		require_inside(m->u.resp_error.message, lo, hi);
		require_list(&m->u.resp_error.headers, 0, lo, hi);
		break;
	case IPC_NAMESPACES:
		require_snapshot(m, lo, hi);
		break;
	case IPC_REMOTE_AGENTS:
		require_snapshot(m, lo, hi);
		break;
	case IPC_AGENT_UP:
		require_inside(m->u.agent_up.agent_id, lo, hi);
		require_inside(m->u.agent_up.ns, lo, hi);
		require_inside(m->u.agent_up.name, lo, hi);
		require_list(&m->u.agent_up.models, 1, lo, hi);
		break;
	case IPC_AGENT_MODELS:
		require_inside(m->u.agent_models.agent_id, lo, hi);
		require_list(&m->u.agent_models.models, 1, lo, hi);
		break;
	case IPC_AGENT_DOWN:
		require_inside(m->u.agent_down.agent_id, lo, hi);
		require_inside(m->u.agent_down.reason, lo, hi);
		break;
	case IPC_KEYS:
		require_keys(m, lo, hi);
		break;
	case IPC_USAGE:
		require_usages(&m->u.usage.records, lo, hi);
		break;
	case IPC_USAGE_BATCH:
		require_usages(&m->u.usage_batch.records, lo, hi);
		break;
	case IPC_KEY_LOAD:
		require_key_loads(&m->u.key_load.loads, lo, hi);
		break;
	case IPC_KEY_REMOTE:
		require_key_loads(&m->u.key_remote.loads, lo, hi);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	struct buf again;

	buf_init(&again, 0);
	while (off < size) {
		const uint8_t *p = data + off;
		size_t left = size - off;
		struct ipc_msg m;
		const char *why = NULL;
		ssize_t n = ipc_decode(p, left, &m, &why);

		if (n < 0) {
			REQUIRE(n == -1 && why != NULL && why[0] != '\0');
			REQUIRE(left >= IPC_HEADER_SIZE);
			break;
		}
		if (n == 0) {
			REQUIRE(left < IPC_HEADER_SIZE ||
			    load_be(p, 4) > left - IPC_HEADER_SIZE);
			break;
		}
		REQUIRE((size_t)n <= left);
		REQUIRE((size_t)n == IPC_HEADER_SIZE + load_be(p, 4));
		REQUIRE((unsigned)m.type == load_be(p + 4, 2));
		REQUIRE(strcmp(ipc_type_name(m.type), "?") != 0);
		require_views(&m, p + IPC_HEADER_SIZE, p + n);

		/* forwarding a decoded message reproduces it exactly */
		buf_reset(&again);
		REQUIRE(ipc_encode(&again, &m, NULL) == 0);
		REQUIRE(again.len == (size_t)n && memcmp(buf_head(&again), p, (size_t)n) == 0);

		/* a strict prefix only asks for more; one probe per frame keeps it fast */
		{
			struct ipc_msg m2;
			size_t cut = (size_t)n - 1 - (size_t)(p[n - 1] % n);

			REQUIRE(ipc_decode(p, cut, &m2, &why) == 0);
		}
		off += (size_t)n;
	}
	buf_free(&again);
	return 0;
}

#ifndef TL_LIBFUZZER

/* ---- the plain driver: seeded random and mutated inputs ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	return fuzz_rnd(&rng_state);
}

static size_t
rnd_below(size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd() % n);
}

/* Integers near the edges are where codecs break. */
static uint64_t
rnd_int(unsigned bits)
{
	uint64_t max = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;

	switch (rnd_below(4)) {
	case 0:
		return 0;
	case 1:
		return max;
	case 2:
		return rnd_below(300);
	default:
		return rnd() & max;
	}
}

static uint8_t pool[IPC_MAX_CHUNK];

static struct ipc_str
rnd_str(void)
{
	size_t len;

	switch (rnd_below(20)) {
	case 0:
		return (struct ipc_str){ NULL, 0 };
	case 1:
		len = rnd_below(4000);
		break;
	default:
		len = rnd_below(24);
	}
	return (struct ipc_str){ (const char *)pool + rnd_below(sizeof(pool) - len), len };
}

static struct ipc_str
rnd_chunk(void)
{
	if (rnd_below(4000) == 0)
		return (struct ipc_str){ (const char *)pool, IPC_MAX_CHUNK };
	return rnd_str();
}

static struct ipc_header_in hdrs[32];
static struct ipc_model models[16];
static struct ipc_namespace nss[8];
static struct ipc_token toks[8];
static struct ipc_remote_agent ragents[6];
static struct ipc_remote_model rmodels[8];
static struct ipc_key keys[6];
static struct ipc_key_allow key_allow[8];
static struct ipc_usage usages[8];
static struct ipc_key_load key_loads[8];

static void
rnd_lists(struct ipc_encode_lists *lists)
{
	lists->nheaders = rnd_below(nitems(hdrs) + 1);
	for (size_t i = 0; i < lists->nheaders; i++) {
		struct ipc_str n = rnd_str(), v = rnd_str();

		hdrs[i] = (struct ipc_header_in){ n.base, n.len, v.base, v.len };
	}
	lists->headers = hdrs;
	lists->nmodels = rnd_below(nitems(models) + 1);
	for (size_t i = 0; i < lists->nmodels; i++)
		models[i] = (struct ipc_model){ rnd_str(), rnd_str(), rnd_str(), rnd_int(64),
			(uint32_t)rnd_int(32) };
	lists->models = models;
	lists->nnamespaces = rnd_below(nitems(nss) + 1);
	for (size_t i = 0; i < lists->nnamespaces; i++)
		nss[i] = (struct ipc_namespace){ rnd_str(), (uint8_t)rnd_int(8) };
	lists->namespaces = nss;
	lists->ntokens = rnd_below(nitems(toks) + 1);
	for (size_t i = 0; i < lists->ntokens; i++)
		toks[i] = (struct ipc_token){ rnd_str(), rnd_str() };
	lists->tokens = toks;
	lists->nragents = rnd_below(nitems(ragents) + 1);
	for (size_t i = 0; i < lists->nragents; i++)
		ragents[i] = (struct ipc_remote_agent){ rnd_str(), rnd_str(), rnd_str(), rnd_str(),
			rnd_str(), rnd_int(64) };
	lists->ragents = ragents;
	lists->nrmodels = rnd_below(nitems(rmodels) + 1);
	for (size_t i = 0; i < lists->nrmodels; i++)
		rmodels[i] = (struct ipc_remote_model){ rnd_str(), rnd_str(), rnd_str(),
			(uint32_t)rnd_int(32) };
	lists->rmodels = rmodels;
	lists->nkeys = rnd_below(nitems(keys) + 1);
	for (size_t i = 0; i < lists->nkeys; i++)
		keys[i] = (struct ipc_key){ rnd_str(), rnd_str(), rnd_str(), (uint32_t)rnd_int(32),
			(uint32_t)rnd_int(32), (uint32_t)rnd_int(32), rnd_int(64), rnd_int(64),
			rnd_int(64), (uint8_t)rnd_int(8) };
	lists->keys = keys;
	lists->nkey_allow = rnd_below(nitems(key_allow) + 1);
	for (size_t i = 0; i < lists->nkey_allow; i++)
		key_allow[i] = (struct ipc_key_allow){ rnd_str(), rnd_str() };
	lists->key_allow = key_allow;
	lists->nusages = rnd_below(nitems(usages) + 1);
	for (size_t i = 0; i < lists->nusages; i++)
		usages[i] = (struct ipc_usage){ rnd_str(), rnd_str(), rnd_str(), rnd_str(), rnd_str(),
			rnd_str(), (uint16_t)rnd_int(16), (uint8_t)rnd_int(8), rnd_int(64), rnd_int(64),
			(uint32_t)rnd_int(32), (uint32_t)rnd_int(32), rnd_int(64) };
	lists->usages = usages;
	lists->nkey_loads = rnd_below(nitems(key_loads) + 1);
	for (size_t i = 0; i < lists->nkey_loads; i++)
		key_loads[i] = (struct ipc_key_load){ rnd_str(), rnd_int(64), rnd_int(64),
			rnd_int(64), rnd_int(64), rnd_int(64) };
	lists->key_loads = key_loads;
}

/* A random but valid message of a random type. */
static void
rnd_msg(struct ipc_msg *m, struct ipc_encode_lists *lists)
{
	static const enum ipc_type types[] = {
#define IPC_ALL(name, val) IPC_##name,
		IPC_MESSAGES(IPC_ALL)
#undef IPC_ALL
	};

	memset(m, 0, sizeof(*m));
	m->type = types[rnd_below(nitems(types))];
	rnd_lists(lists);
	switch (m->type) {
	case IPC_HELLO:
		m->u.hello.version = (uint32_t)rnd_int(32);
		m->u.hello.role = (uint8_t)rnd_int(8);
		m->u.hello.slot = (uint32_t)rnd_int(32);
		m->u.hello.pid = (uint32_t)rnd_int(32);
		m->u.hello.generation = rnd_int(64);
		break;
	case IPC_HELLO_ACK:
		m->u.hello_ack.version = (uint32_t)rnd_int(32);
		m->u.hello_ack.generation = rnd_int(64);
		break;
	case IPC_READY:
		m->u.ready.generation = rnd_int(64);
		break;
	case IPC_CONFIG:
		m->u.config.generation = rnd_int(64);
		m->u.config.path = rnd_str();
		m->u.config.yaml = rnd_chunk();
		break;
	case IPC_CONFIG_ACK:
		m->u.config_ack.generation = rnd_int(64);
		m->u.config_ack.ok = (uint8_t)rnd_int(8);
		m->u.config_ack.error = rnd_str();
		break;
	case IPC_SHUTDOWN:
		m->u.shutdown.mode = (uint8_t)rnd_int(8);
		m->u.shutdown.timeout_ms = (uint32_t)rnd_int(32);
		break;
	case IPC_LOG_REOPEN:
		m->u.log_reopen.unused = (uint8_t)rnd_int(8);
		break;
	case IPC_MODELS_QUERY:
		m->u.models_query.id = rnd_int(64);
		break;
	case IPC_MODELS_LIST:
		m->u.models_list.id = rnd_int(64);
		m->u.models_list.more = (uint8_t)rnd_int(8);
		break;
	case IPC_REQ_START:
		m->u.req_start.id = rnd_int(64);
		m->u.req_start.method = rnd_str();
		m->u.req_start.path = rnd_str();
		m->u.req_start.ns = rnd_str();
		m->u.req_start.model = rnd_str();
		m->u.req_start.request_id = rnd_str();
		m->u.req_start.body_len = rnd_int(64);
		m->u.req_start.deadline_ms = (uint32_t)rnd_int(32);
		m->u.req_start.flags = (uint8_t)rnd_int(8);
		m->u.req_start.key = rnd_str();
		if (m->u.req_start.key.len > APIKEY_NAME_MAX)
			m->u.req_start.key.len = APIKEY_NAME_MAX;
		m->u.req_start.limits.rpm = (uint32_t)rnd_int(32);
		m->u.req_start.limits.tpm = (uint32_t)rnd_int(32);
		m->u.req_start.limits.max_in_flight = (uint32_t)rnd_int(32);
		m->u.req_start.limits.tokens_per_day = rnd_int(64);
		m->u.req_start.limits.tokens_per_month = rnd_int(64);
		break;
	case IPC_REQ_BODY:
		m->u.req_body.id = rnd_int(64);
		m->u.req_body.last = (uint8_t)rnd_int(8);
		m->u.req_body.data = rnd_chunk();
		break;
	case IPC_RESP_HEAD:
		m->u.resp_head.id = rnd_int(64);
		m->u.resp_head.status = (uint16_t)rnd_int(16);
		break;
	case IPC_RESP_DATA:
		m->u.resp_data.id = rnd_int(64);
		m->u.resp_data.data = rnd_chunk();
		break;
	case IPC_RESP_END:
		m->u.resp_end.id = rnd_int(64);
		break;
	case IPC_RESP_ERROR:
		m->u.resp_error.id = rnd_int(64);
		m->u.resp_error.status = (uint16_t)rnd_int(16);
		m->u.resp_error.type = rnd_str();
		m->u.resp_error.code = rnd_str();
		m->u.resp_error.message = rnd_str();
		break;
	case IPC_CANCEL:
		m->u.cancel.id = rnd_int(64);
		break;
	case IPC_WINDOW:
		m->u.window.id = rnd_int(64);
		m->u.window.credit = (uint32_t)rnd_int(32);
		break;
	case IPC_STATUS:
		m->u.status.served = rnd_int(64);
		m->u.status.active = (uint32_t)rnd_int(32);
		break;
	case IPC_NAMESPACES:
		m->u.namespaces.more = (uint8_t)rnd_int(8);
		break;
	case IPC_REMOTE_AGENTS:
		m->u.remote_agents.more = (uint8_t)rnd_int(8);
		break;
	case IPC_AGENT_UP:
		m->u.agent_up.agent_id = rnd_str();
		m->u.agent_up.ns = rnd_str();
		m->u.agent_up.name = rnd_str();
		m->u.agent_up.linked_at = rnd_int(64);
		break;
	case IPC_AGENT_MODELS:
		m->u.agent_models.agent_id = rnd_str();
		break;
	case IPC_AGENT_DOWN:
		m->u.agent_down.agent_id = rnd_str();
		m->u.agent_down.reason = rnd_str();
		break;
	case IPC_NODE_STATE:
		m->u.node_state.database = (uint8_t)rnd_int(8);
		m->u.node_state.snapshot = (uint8_t)rnd_int(8);
		m->u.node_state.name = (uint8_t)rnd_int(8);
		m->u.node_state.since = rnd_int(64);
		break;
	case IPC_KEYS:
		m->u.keys.more = (uint8_t)rnd_int(8);
		break;
	case IPC_USAGE:
		break;
	case IPC_USAGE_BATCH:
		m->u.usage_batch.dropped = rnd_int(64);
		break;
	case IPC_KEY_LOAD:
		m->u.key_load.unix_ms = rnd_int(64);
		break;
	case IPC_KEY_REMOTE:
		m->u.key_remote.more = (uint8_t)rnd_int(8);
		break;
	case IPC_AGENT_STATE:
		m->u.agent_state.states = rnd_str();
		break;
	default:
		REQUIRE(!"rnd_msg: a type without a generator");
	}
}

/* Damage a valid stream the way a buggy peer would. */
static void
mutate(struct buf *b)
{
	size_t k = 1 + rnd_below(4);

	while (k-- > 0 && b->len > 0) {
		uint8_t *p = buf_head(b);
		size_t at = rnd_below(b->len);
		uint8_t byte = (uint8_t)rnd();

		switch (rnd_below(7)) {
		case 0: /* flip a bit */
			p[at] ^= (uint8_t)(1u << rnd_below(8));
			break;
		case 1: /* an edge byte */
			p[at] = rnd_below(2) ? 0x00 : 0xff;
			break;
		case 2: /* a random byte, most often inside a header or a length */
			p[rnd_below(b->len < 16 ? b->len : 16)] = byte;
			break;
		case 3: /* cut the stream */
			b->len = at;
			break;
		case 4: /* one byte more somewhere */
			buf_append(b, &byte, 1);
			p = buf_head(b);
			memmove(p + at + 1, p + at, b->len - at - 1);
			p[at] = byte;
			break;
		case 5: /* one byte less somewhere */
			memmove(p + at, p + at + 1, b->len - at - 1);
			b->len--;
			break;
		default: /* a length field off by a little */
			if (b->len >= 4) {
				uint32_t v = (uint32_t)load_be(p, 4) + (uint32_t)rnd_below(9) - 4;

				p[0] = (uint8_t)(v >> 24);
				p[1] = (uint8_t)(v >> 16);
				p[2] = (uint8_t)(v >> 8);
				p[3] = (uint8_t)v;
			}
			break;
		}
	}
}

/* Random bytes behind a header that is sometimes plausible. */
static void
rnd_bytes(struct buf *b)
{
	size_t plen = rnd_below(64);
	uint8_t *p = buf_reserve(b, IPC_HEADER_SIZE + plen);

	for (size_t i = 0; i < IPC_HEADER_SIZE + plen; i++)
		p[i] = (uint8_t)rnd();
	if (rnd_below(4) != 0) {
		size_t claim = rnd_below(3) ? plen : rnd_below(80);

		p[0] = p[1] = 0;
		p[2] = (uint8_t)(claim >> 8);
		p[3] = (uint8_t)claim;
		p[4] = 0;
		p[5] = (uint8_t)rnd_below(IPC_TYPE_MAX + 2);
		if (rnd_below(8) != 0)
			p[6] = p[7] = 0;
	}
	buf_commit(b, IPC_HEADER_SIZE + plen);
}

/* FUZZ_IPC_SEEDS=DIR: keep the first small valid streams as seeds
 * (tests/fuzz/corpus/ipc was made so). */
static void
save_seed(const struct buf *b)
{
	static unsigned saved;
	const char *dir = getenv("FUZZ_IPC_SEEDS");
	char path[4096];
	FILE *f;

	if (dir == NULL || saved >= 40 || b->len > 1024)
		return;
	snprintf(path, sizeof(path), "%s/valid-%02u", dir, saved++);
	if ((f = fopen(path, "wb")) != NULL) {
		fwrite(buf_head(b), 1, b->len, f);
		fclose(f);
	}
}

static int
run_random(unsigned long iterations)
{
	struct buf b;
	unsigned long valid = 0, decoded = 0;

	for (size_t i = 0; i < sizeof(pool); i++)
		pool[i] = (uint8_t)rnd();
	buf_init(&b, 0);
	for (unsigned long it = 0; it < iterations; it++) {
		buf_reset(&b);
		if (rnd_below(5) == 0) {
			rnd_bytes(&b);
		} else {
			size_t frames = 1 + rnd_below(3);

			for (size_t f = 0; f < frames; f++) {
				struct ipc_msg m;
				struct ipc_encode_lists lists;

				rnd_msg(&m, &lists);
				REQUIRE(ipc_encode(&b, &m, &lists) == 0);
			}
			if (rnd_below(2) == 0) {
				mutate(&b);
			} else {
				/* untouched: every frame must decode */
				struct ipc_msg m;
				const char *why = NULL;
				size_t off = 0;
				ssize_t n;

				while (off < b.len) {
					n = ipc_decode(buf_head(&b) + off, b.len - off, &m, &why);
					if (n <= 0)
						fprintf(stderr, "fuzz_ipc: valid frame refused: %s\n",
						    n < 0 ? why : "incomplete");
					REQUIRE(n > 0);
					off += (size_t)n;
				}
				valid++;
				save_seed(&b);
			}
		}
		LLVMFuzzerTestOneInput(buf_head(&b), b.len);
		{
			struct ipc_msg m;
			const char *why;

			if (ipc_decode(buf_head(&b), b.len, &m, &why) > 0)
				decoded++;
		}
	}
	buf_free(&b);
	printf("fuzz_ipc: %lu inputs (%lu valid streams, %lu decoded a first frame), no fault\n",
	    iterations, valid, decoded);
	return 0;
}

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	uint8_t chunk[65536];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "fuzz_ipc: %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	LLVMFuzzerTestOneInput(b.len != 0 ? buf_head(&b) : chunk, b.len);
	printf("fuzz_ipc: %s: %zu bytes, no fault\n", path, b.len);
	buf_free(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	int rc = 0;

	if (argc < 2)
		return fuzz_each_seed("ipc", run_file) | run_random(200000);
	for (int i = 1; i < argc; i++)
		rc |= run_file(argv[i]);
	return rc;
}

#endif /* !TL_LIBFUZZER */
