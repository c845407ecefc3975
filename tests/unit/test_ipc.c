/*
 * test_ipc: the IPC codec against its contract in ipc.h.
 *
 * Every message type round-trips with zero, typical and maximal values;
 * every prefix of every frame asks for more bytes; golden bytes pin the
 * wire format; hand-made bad frames are rejected with a reason. Exits 1
 * and names each failed check.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ipc.h"
#include "xmalloc.h"

static int failures;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: %s: check failed: %s\n", __FILE__,      \
			    __LINE__, current, #cond);                                  \
			failures++;                                                     \
		}                                                                       \
	} while (0)

static char current[96] = "?"; /* what is being tested, for failure lines */

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building expected values ---- */

/* v = 0: zero/empty, 1: typical, 2: maximal */
#define PICK(v, typical, max) ((v) == 0 ? 0 : (v) == 1 ? (typical) : (max))

static char *big_text;       /* IPC_MAX_CHUNK bytes of every byte value */
static char *long_text;      /* 2000 bytes */

static struct ipc_str
str_of(const char *s, size_t len)
{
	return (struct ipc_str){ s, len };
}

/* "" (NULL in one variant, to cover both empties), a short string, a long one. */
static struct ipc_str
pick_str(int v, const char *typical)
{
	if (v == 0)
		return str_of(NULL, 0);
	if (v == 1)
		return str_of(typical, strlen(typical));
	return str_of(long_text, 2000);
}

static struct ipc_header_in headers_in[40];
static struct ipc_model models_in[30];
static struct ipc_namespace namespaces_in[20];
static struct ipc_token tokens_in[25];
static struct ipc_remote_agent ragents_in[12];
static struct ipc_remote_model rmodels_in[33];
static struct ipc_key keys_in[17];
static struct ipc_key_allow key_allow_in[29];

/* KEYS: typical keys with their patterns, or binary bytes and extremes. */
static void
fill_keys(int v, struct ipc_encode_lists *lists)
{
	static const char hash[] =
	    "sha256:97f01da854e0b9e46da872f0428e737187d283cf850eb72432c67ed6175f4d3a";

	lists->nkeys = PICK(v, 2, nitems(keys_in));
	for (size_t i = 0; i < lists->nkeys; i++) {
		struct ipc_key *k = &keys_in[i];

		k->name = v == 1 ? str_of(i ? "bob" : "alice-laptop", i ? 3 : 12)
		                 : str_of(long_text + i, 64 + i);
		k->owner = v == 1 ? str_of("alice@example.org", 17) : str_of(long_text, i * 9);
		k->hash = v == 1 ? str_of(hash, strlen(hash)) : str_of(long_text + 3, 71);
		k->rpm = v == 1 ? 600 : (uint32_t)(i % 2 ? UINT32_MAX : 0);
		k->tpm = v == 1 ? 100000 : (uint32_t)(UINT32_MAX - i);
		k->max_in_flight = v == 1 ? 4 : (uint32_t)i;
		k->tokens_per_day = v == 1 ? 0 : UINT64_MAX - i;
		k->tokens_per_month = v == 1 ? 2000000 : (uint64_t)i << 40;
		k->expires_at = v == 1 ? 1814313600 : UINT64_MAX;
		k->disabled = v == 1 ? (uint8_t)i : (uint8_t)(i % 2 ? UINT8_MAX : 0);
	}
	lists->nkey_allow = PICK(v, 3, nitems(key_allow_in));
	for (size_t i = 0; i < lists->nkey_allow; i++) {
		key_allow_in[i].key = v == 1 ? str_of("alice-laptop", 12) : str_of(long_text + i, i);
		key_allow_in[i].pattern = v == 1 ? str_of(i ? "*:llama3*" : "lab:*", i ? 9 : 5)
		                                 : str_of(long_text + 2 * i, 256);
	}
	lists->keys = keys_in;
	lists->key_allow = key_allow_in;
}

static struct ipc_usage usages_in[40];
static int str_same(struct ipc_str a, struct ipc_str b);

/* Usage records: a plain and a streamed request, or extremes. */
static size_t
fill_usages(int v)
{
	size_t n = PICK(v, 2, nitems(usages_in));

	for (size_t i = 0; i < n; i++) {
		struct ipc_usage *u = &usages_in[i];

		u->key = v == 1 ? str_of(i ? "" : "alice-laptop", i ? 0 : 12)
		                : str_of(long_text + i, 64);
		u->ns = v == 1 ? str_of("lab", 3) : str_of(long_text, i * 3);
		u->model = v == 1 ? str_of("qwen3:0.6b", 10) : str_of(long_text + 9, 200);
		u->node = v == 1 ? str_of("eu-1", 4) : str_of(NULL, 0);
		u->request_id = v == 1 ? str_of("req-0001", 8) : str_of(long_text, 40);
		u->end = v == 1 ? str_of(i ? "client_gone" : "ok", i ? 11 : 2)
		                : str_of(long_text + 3, i % 9);
		u->status = v == 1 ? 200 : (uint16_t)(i % 2 ? UINT16_MAX : 0);
		u->flags = v == 1 ? (uint8_t)(IPC_USAGE_F_KNOWN | (i ? IPC_USAGE_F_STREAM : 0))
		                  : (uint8_t)(i % 2 ? UINT8_MAX : 0);
		u->prompt_tokens = v == 1 ? 17 : i % 2 ? UINT64_MAX : 0;
		u->completion_tokens = v == 1 ? 5 + i : i % 2 ? 0 : UINT64_MAX;
		u->ttfb_ms = v == 1 ? (i ? IPC_USAGE_NO_TTFB : 12) : (uint32_t)(i % 2 ? UINT32_MAX : 0);
		u->duration_ms = v == 1 ? 340 : (uint32_t)(i % 2 ? 0 : UINT32_MAX);
		u->unix_ms = v == 1 ? 1796000000123ULL : i % 2 ? UINT64_MAX : 0;
	}
	return n;
}

static void
check_usages(const struct ipc_list *l, const struct ipc_encode_lists *lists)
{
	struct ipc_list_iter it;
	struct ipc_usage e;
	size_t i;

	CHECK(l->count == lists->nusages);
	ipc_list_begin(&it, l);
	for (i = 0; ipc_usage_next(&it, &e) && i < lists->nusages; i++) {
		const struct ipc_usage *w = &lists->usages[i];

		CHECK(str_same(e.key, w->key) && str_same(e.ns, w->ns));
		CHECK(str_same(e.model, w->model) && str_same(e.node, w->node));
		CHECK(str_same(e.request_id, w->request_id) && str_same(e.end, w->end));
		CHECK(e.status == w->status && e.flags == w->flags);
		CHECK(e.prompt_tokens == w->prompt_tokens);
		CHECK(e.completion_tokens == w->completion_tokens);
		CHECK(e.ttfb_ms == w->ttfb_ms && e.duration_ms == w->duration_ms);
		CHECK(e.unix_ms == w->unix_ms);
		CHECK(ipc_usage_size(&e) == ipc_usage_size(w));
	}
	CHECK(i == lists->nusages && it.p == l->base + l->len);
}

static struct ipc_key_load key_loads_in[40];

/* Per-key counts: two typical keys, or extremes. */
static void
fill_key_loads(int v, struct ipc_encode_lists *lists)
{
	size_t n = PICK(v, 2, nitems(key_loads_in));

	for (size_t i = 0; i < n; i++) {
		struct ipc_key_load *k = &key_loads_in[i];

		k->key = v == 1 ? str_of(i ? "ci-bot" : "alice-laptop", i ? 6 : 12)
		                : str_of(long_text + i, 64);
		k->requests = v == 1 ? 599 - i : i % 2 ? UINT64_MAX : 0;
		k->tokens = v == 1 ? 12000 : i % 2 ? 0 : UINT64_MAX;
		k->in_flight = v == 1 ? 4 : i % 2 ? UINT64_MAX : 0;
		k->tokens_day = v == 1 ? 250000 + i : i % 2 ? 0 : UINT64_MAX;
		k->tokens_month = v == 1 ? 2000000 : i % 2 ? UINT64_MAX : 0;
	}
	lists->key_loads = key_loads_in;
	lists->nkey_loads = n;
}

static void
check_key_loads(const struct ipc_list *l, const struct ipc_encode_lists *lists)
{
	struct ipc_list_iter it;
	struct ipc_key_load e;
	size_t i;

	CHECK(l->count == lists->nkey_loads);
	ipc_list_begin(&it, l);
	for (i = 0; ipc_key_load_next(&it, &e) && i < lists->nkey_loads; i++) {
		const struct ipc_key_load *w = &lists->key_loads[i];

		CHECK(str_same(e.key, w->key));
		CHECK(e.requests == w->requests && e.tokens == w->tokens);
		CHECK(e.in_flight == w->in_flight && e.tokens_day == w->tokens_day);
		CHECK(e.tokens_month == w->tokens_month);
		CHECK(ipc_key_load_size(&e) == ipc_key_load_size(w));
	}
	CHECK(i == lists->nkey_loads && it.p == l->base + l->len);
}

/* The PostgreSQL snapshot lists: typical names, or binary bytes and extremes. */
static void
fill_snapshot(int v, struct ipc_encode_lists *lists)
{
	static const char hash[] =
	    "sha256:2344b38f1a4212ba735ff8ae31c19c8b15d57f9ad5a783dd62b0723b2ddd74b5";

	lists->nnamespaces = PICK(v, 2, nitems(namespaces_in));
	for (size_t i = 0; i < lists->nnamespaces; i++) {
		namespaces_in[i].name = v == 1 ? str_of(i ? "lab" : "team-a", i ? 3 : 6)
		                               : str_of(long_text + i, i * 3);
		namespaces_in[i].disabled = v == 1 ? (uint8_t)i : (uint8_t)(i % 2 ? UINT8_MAX : 0);
	}
	lists->ntokens = PICK(v, 3, nitems(tokens_in));
	for (size_t i = 0; i < lists->ntokens; i++) {
		tokens_in[i].ns = v == 1 ? str_of("team-a", 6) : str_of(long_text + 2 * i, i);
		tokens_in[i].hash = v == 1 ? str_of(hash, strlen(hash)) : str_of(long_text, 71 + i);
	}
	lists->nragents = PICK(v, 2, nitems(ragents_in));
	for (size_t i = 0; i < lists->nragents; i++) {
		struct ipc_remote_agent *a = &ragents_in[i];

		a->agent_id = v == 1 ? str_of(i ? "eu-1/9f3a/2" : "eu-1/9f3a/1", 11)
		                     : str_of(long_text + i, 100 + i);
		a->ns = v == 1 ? str_of("team-a", 6) : str_of(long_text, i);
		a->node = v == 1 ? str_of("eu-1", 4) : str_of(long_text + 7, 63);
		a->node_url = v == 1 ? str_of("h2c://10.0.0.5:7741", 19) : str_of(long_text, 300);
		a->name = v == 1 ? str_of("gpu-box#1", 9) : str_of(NULL, 0);
		a->linked_at = i == 0 ? 1700000000 : UINT64_MAX;
	}
	lists->nrmodels = PICK(v, 3, nitems(rmodels_in));
	for (size_t i = 0; i < lists->nrmodels; i++) {
		struct ipc_remote_model *m = &rmodels_in[i];

		m->agent_id = v == 1 ? str_of("eu-1/9f3a/1", 11) : str_of(long_text + i, i % 7);
		m->name = v == 1 ? str_of("qwen3:0.6b", 10) : str_of(long_text + 50, i * 13);
		m->kind = i == 0 ? str_of("", 0) : str_of("embedding", 9);
		m->context_length = i == 1 ? UINT32_MAX : (uint32_t)(4096 * i);
	}
}

static size_t
fill_headers(int v)
{
	static const char *names[] = { "content-type", "x-request-id", "", "authorization" };
	static const char *values[] = { "application/json", "abc-123", "", "" };
	size_t n = PICK(v, 4, nitems(headers_in));

	for (size_t i = 0; i < n; i++) {
		struct ipc_header_in *h = &headers_in[i];

		if (v == 1) {
			h->name = names[i];
			h->name_len = strlen(names[i]);
			h->value = values[i];
			h->value_len = strlen(values[i]);
		} else {
			/* binary bytes, NULs and varying lengths */
			h->name = long_text + i;
			h->name_len = i;
			h->value = long_text + 3 * i;
			h->value_len = i * 7 % 50;
		}
	}
	return n;
}

static size_t
fill_models(int v)
{
	size_t n = PICK(v, 3, nitems(models_in));

	for (size_t i = 0; i < n; i++) {
		struct ipc_model *m = &models_in[i];

		m->ns = v == 1 ? str_of("team-a", 6) : str_of(long_text + i, i % 5);
		m->name = v == 1 ? str_of("llama-3-8b", 10) : str_of(long_text + 100, i * 11);
		m->kind = i == 0 ? str_of("", 0) : str_of("chat", 4);
		m->created = i == 0 ? 0 : i == 1 ? UINT64_MAX : 1700000000 + i;
		m->context_length = i == 0 ? 0 : i == 1 ? UINT32_MAX : 8192;
	}
	return n;
}

/* A message of the given type with values picked by v. */
static void
make_msg(enum ipc_type type, int v, struct ipc_msg *m, struct ipc_encode_lists *lists)
{
	memset(m, 0, sizeof(*m));
	memset(lists, 0, sizeof(*lists));
	m->type = type;
	switch (type) {
	case IPC_HELLO:
		m->u.hello.version = PICK(v, IPC_VERSION, UINT32_MAX);
		m->u.hello.role = PICK(v, IPC_ROLE_WORKER, UINT8_MAX);
		m->u.hello.slot = PICK(v, 3, UINT32_MAX);
		m->u.hello.pid = PICK(v, 4242, UINT32_MAX);
		m->u.hello.generation = PICK(v, 0x0102030405060708ULL, UINT64_MAX);
		break;
	case IPC_HELLO_ACK:
		m->u.hello_ack.version = PICK(v, IPC_VERSION, UINT32_MAX);
		m->u.hello_ack.generation = PICK(v, 77, UINT64_MAX);
		break;
	case IPC_READY:
		m->u.ready.generation = PICK(v, 5, UINT64_MAX);
		break;
	case IPC_CONFIG:
		m->u.config.generation = PICK(v, 6, UINT64_MAX);
		m->u.config.path = pick_str(v, "/etc/tokilake/tokilake.yaml");
		m->u.config.yaml = v == 2 ? str_of(big_text, IPC_MAX_CHUNK)
		                          : pick_str(v, "http:\n  listen: [\"127.0.0.1:8080\"]\n");
		break;
	case IPC_CONFIG_ACK:
		m->u.config_ack.generation = PICK(v, 6, UINT64_MAX);
		m->u.config_ack.ok = PICK(v, 1, UINT8_MAX);
		m->u.config_ack.error = pick_str(v, "tokilake.yaml:3: http.listen: bad address");
		break;
	case IPC_SHUTDOWN:
		m->u.shutdown.mode = PICK(v, IPC_SHUTDOWN_FAST, UINT8_MAX);
		m->u.shutdown.timeout_ms = PICK(v, 30000, UINT32_MAX);
		break;
	case IPC_LOG_REOPEN:
		m->u.log_reopen.unused = PICK(v, 1, UINT8_MAX);
		break;
	case IPC_MODELS_QUERY:
		m->u.models_query.id = PICK(v, 9, UINT64_MAX);
		break;
	case IPC_MODELS_LIST:
		m->u.models_list.id = PICK(v, 9, UINT64_MAX);
		m->u.models_list.more = PICK(v, 1, UINT8_MAX);
		lists->models = models_in;
		lists->nmodels = fill_models(v);
		break;
	case IPC_REQ_START:
		m->u.req_start.id = PICK(v, 10, UINT64_MAX);
		m->u.req_start.method = pick_str(v, "POST");
		m->u.req_start.path = pick_str(v, "/v1/chat/completions");
		m->u.req_start.ns = pick_str(v, "team-a");
		m->u.req_start.model = pick_str(v, "llama-3-8b");
		m->u.req_start.request_id = pick_str(v, "req-0001");
		m->u.req_start.body_len = PICK(v, 1234, UINT64_MAX);
		m->u.req_start.deadline_ms = PICK(v, 60000, UINT32_MAX);
		m->u.req_start.flags = PICK(v, IPC_REQ_F_STREAM, UINT8_MAX);
		/* a key name is at most APIKEY_NAME_MAX bytes */
		m->u.req_start.key = v == 2 ? str_of(long_text, APIKEY_NAME_MAX)
		                            : pick_str(v, "alice-laptop");
		m->u.req_start.limits.rpm = PICK(v, 600, UINT32_MAX);
		m->u.req_start.limits.tpm = PICK(v, 100000, UINT32_MAX);
		m->u.req_start.limits.max_in_flight = PICK(v, 4, UINT32_MAX);
		m->u.req_start.limits.tokens_per_day = PICK(v, 1000000, UINT64_MAX);
		m->u.req_start.limits.tokens_per_month = PICK(v, 2000000, UINT64_MAX);
		lists->headers = headers_in;
		lists->nheaders = fill_headers(v);
		break;
	case IPC_REQ_BODY:
		m->u.req_body.id = PICK(v, 10, UINT64_MAX);
		m->u.req_body.last = PICK(v, 1, UINT8_MAX);
		m->u.req_body.data = v == 2 ? str_of(big_text, IPC_MAX_CHUNK)
		                            : pick_str(v, "{\"model\":\"llama-3-8b\"}");
		break;
	case IPC_RESP_HEAD:
		m->u.resp_head.id = PICK(v, 10, UINT64_MAX);
		m->u.resp_head.status = PICK(v, 200, UINT16_MAX);
		m->u.resp_head.ratelimit = pick_str(v, "25 bytes of packed values");
		lists->headers = headers_in;
		lists->nheaders = fill_headers(v);
		break;
	case IPC_RESP_DATA:
		m->u.resp_data.id = PICK(v, 10, UINT64_MAX);
		m->u.resp_data.data = v == 2 ? str_of(big_text, IPC_MAX_CHUNK)
		                             : pick_str(v, "data: {\"choices\":[]}\n\n");
		break;
	case IPC_RESP_END:
		m->u.resp_end.id = PICK(v, 10, UINT64_MAX);
		break;
	case IPC_RESP_ERROR:
		m->u.resp_error.id = PICK(v, 10, UINT64_MAX);
		m->u.resp_error.status = PICK(v, 503, UINT16_MAX);
		m->u.resp_error.type = pick_str(v, "server_error");
		m->u.resp_error.code = pick_str(v, "no_agent");
		m->u.resp_error.message = pick_str(v, "no agent serves model llama-3-8b");
		m->u.resp_error.ratelimit = pick_str(v, "25 bytes of packed values");
		lists->headers = headers_in;
		lists->nheaders = fill_headers(v);
		break;
	case IPC_CANCEL:
		m->u.cancel.id = PICK(v, 10, UINT64_MAX);
		break;
	case IPC_WINDOW:
		m->u.window.id = PICK(v, 10, UINT64_MAX);
		m->u.window.credit = PICK(v, 65536, UINT32_MAX);
		break;
	case IPC_STATUS:
		m->u.status.served = PICK(v, 100000, UINT64_MAX);
		m->u.status.active = PICK(v, 12, UINT32_MAX);
		break;
	case IPC_NAMESPACES:
		m->u.namespaces.more = PICK(v, 1, UINT8_MAX);
		fill_snapshot(v, lists);
		lists->namespaces = namespaces_in;
		lists->tokens = tokens_in;
		lists->nragents = lists->nrmodels = 0;
		break;
	case IPC_REMOTE_AGENTS:
		m->u.remote_agents.more = PICK(v, 1, UINT8_MAX);
		fill_snapshot(v, lists);
		lists->ragents = ragents_in;
		lists->rmodels = rmodels_in;
		lists->nnamespaces = lists->ntokens = 0;
		break;
	case IPC_AGENT_UP:
		m->u.agent_up.agent_id = pick_str(v, "us-1/0badc0de/7");
		m->u.agent_up.ns = pick_str(v, "team-a");
		m->u.agent_up.name = pick_str(v, "gpu-box#7 (10.1.2.3:55012)");
		m->u.agent_up.linked_at = PICK(v, 1700000000, UINT64_MAX);
		lists->models = models_in;
		lists->nmodels = fill_models(v);
		break;
	case IPC_AGENT_MODELS:
		m->u.agent_models.agent_id = pick_str(v, "us-1/0badc0de/7");
		lists->models = models_in;
		lists->nmodels = fill_models(v);
		break;
	case IPC_AGENT_DOWN:
		m->u.agent_down.agent_id = pick_str(v, "us-1/0badc0de/7");
		m->u.agent_down.reason = pick_str(v, "its token for namespace team-a was revoked");
		break;
	case IPC_NODE_STATE:
		m->u.node_state.database = PICK(v, IPC_DB_RECONNECTING, UINT8_MAX);
		m->u.node_state.snapshot = PICK(v, 1, UINT8_MAX);
		m->u.node_state.name = PICK(v, IPC_NAME_LOST, UINT8_MAX);
		m->u.node_state.since = PICK(v, 1796680000, UINT64_MAX);
		break;
	case IPC_KEYS:
		m->u.keys.more = PICK(v, 1, UINT8_MAX);
		m->u.keys.keyed = PICK(v, 1, UINT8_MAX);
		fill_keys(v, lists);
		break;
	case IPC_USAGE:
		lists->usages = usages_in;
		lists->nusages = v == 2 ? 1 : fill_usages(v);
		if (v == 2)
			fill_usages(v);
		break;
	case IPC_USAGE_BATCH:
		m->u.usage_batch.dropped = PICK(v, 3, UINT64_MAX);
		lists->usages = usages_in;
		lists->nusages = fill_usages(v);
		break;
	case IPC_KEY_LOAD:
		m->u.key_load.unix_ms = PICK(v, 1796000000123ULL, UINT64_MAX);
		fill_key_loads(v, lists);
		break;
	case IPC_KEY_REMOTE:
		m->u.key_remote.more = PICK(v, 1, UINT8_MAX);
		fill_key_loads(v, lists);
		break;
	case IPC_AGENT_STATE:
		m->u.agent_state.states = pick_str(v, "[{\"agent_id\":\"us-1/0badc0de/7\","
		    "\"in_flight\":3,\"capacity\":8,\"waiting\":0,\"rtt_us\":0,"
		    "\"breaker\":\"closed\"}]");
		break;
	default:
		fprintf(stderr, "make_msg: type %d has no sample: add one\n", type);
		failures++;
	}
}

/* ---- comparing ---- */

static int
str_same(struct ipc_str a, struct ipc_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

static void
check_headers(const struct ipc_list *l, const struct ipc_encode_lists *lists)
{
	struct ipc_list_iter it;
	struct ipc_str name, value;
	size_t i = 0;

	CHECK(l->count == lists->nheaders);
	ipc_list_begin(&it, l);
	while (ipc_header_next(&it, &name, &value)) {
		CHECK(i < lists->nheaders);
		if (i >= lists->nheaders)
			return;
		CHECK(str_same(name, str_of(lists->headers[i].name, lists->headers[i].name_len)));
		CHECK(str_same(value, str_of(lists->headers[i].value, lists->headers[i].value_len)));
		i++;
	}
	CHECK(i == lists->nheaders);
	CHECK(it.p == l->base + l->len);
	CHECK(!ipc_header_next(&it, &name, &value)); /* stays at the end */
}

static void
check_models(const struct ipc_list *l, const struct ipc_encode_lists *lists)
{
	struct ipc_list_iter it;
	struct ipc_model m;
	size_t i = 0;

	CHECK(l->count == lists->nmodels);
	ipc_list_begin(&it, l);
	while (ipc_model_next(&it, &m)) {
		const struct ipc_model *want = &lists->models[i];

		CHECK(i < lists->nmodels);
		if (i >= lists->nmodels)
			return;
		CHECK(str_same(m.ns, want->ns));
		CHECK(str_same(m.name, want->name));
		CHECK(str_same(m.kind, want->kind));
		CHECK(m.created == want->created);
		CHECK(m.context_length == want->context_length);
		i++;
	}
	CHECK(i == lists->nmodels);
	CHECK(it.p == l->base + l->len);
}

static void
check_snapshot(const struct ipc_list *nsl, const struct ipc_list *tl, const struct ipc_list *al,
    const struct ipc_list *ml, const struct ipc_encode_lists *lists)
{
	struct ipc_list_iter it;
	size_t i;

	if (nsl != NULL) {
		struct ipc_namespace e;

		CHECK(nsl->count == lists->nnamespaces);
		ipc_list_begin(&it, nsl);
		for (i = 0; ipc_namespace_next(&it, &e) && i < lists->nnamespaces; i++) {
			CHECK(str_same(e.name, lists->namespaces[i].name));
			CHECK(e.disabled == lists->namespaces[i].disabled);
			CHECK(ipc_namespace_size(&e) == ipc_namespace_size(&lists->namespaces[i]));
		}
		CHECK(i == lists->nnamespaces && it.p == nsl->base + nsl->len);
	}
	if (tl != NULL) {
		struct ipc_token e;

		CHECK(tl->count == lists->ntokens);
		ipc_list_begin(&it, tl);
		for (i = 0; ipc_token_next(&it, &e) && i < lists->ntokens; i++) {
			CHECK(str_same(e.ns, lists->tokens[i].ns));
			CHECK(str_same(e.hash, lists->tokens[i].hash));
		}
		CHECK(i == lists->ntokens && it.p == tl->base + tl->len);
	}
	if (al != NULL) {
		struct ipc_remote_agent e;

		CHECK(al->count == lists->nragents);
		ipc_list_begin(&it, al);
		for (i = 0; ipc_remote_agent_next(&it, &e) && i < lists->nragents; i++) {
			const struct ipc_remote_agent *w = &lists->ragents[i];

			CHECK(str_same(e.agent_id, w->agent_id) && str_same(e.ns, w->ns));
			CHECK(str_same(e.node, w->node) && str_same(e.node_url, w->node_url));
			CHECK(str_same(e.name, w->name) && e.linked_at == w->linked_at);
		}
		CHECK(i == lists->nragents && it.p == al->base + al->len);
	}
	if (ml != NULL) {
		struct ipc_remote_model e;

		CHECK(ml->count == lists->nrmodels);
		ipc_list_begin(&it, ml);
		for (i = 0; ipc_remote_model_next(&it, &e) && i < lists->nrmodels; i++) {
			const struct ipc_remote_model *w = &lists->rmodels[i];

			CHECK(str_same(e.agent_id, w->agent_id) && str_same(e.name, w->name));
			CHECK(str_same(e.kind, w->kind) && e.context_length == w->context_length);
		}
		CHECK(i == lists->nrmodels && it.p == ml->base + ml->len);
	}
}

static void
check_keys(const struct ipc_list *kl, const struct ipc_list *al,
    const struct ipc_encode_lists *lists)
{
	struct ipc_list_iter it;
	struct ipc_key k;
	struct ipc_key_allow a;
	size_t i;

	CHECK(kl->count == lists->nkeys);
	ipc_list_begin(&it, kl);
	for (i = 0; ipc_key_next(&it, &k) && i < lists->nkeys; i++) {
		const struct ipc_key *w = &lists->keys[i];

		CHECK(str_same(k.name, w->name) && str_same(k.owner, w->owner));
		CHECK(str_same(k.hash, w->hash));
		CHECK(k.rpm == w->rpm && k.tpm == w->tpm && k.max_in_flight == w->max_in_flight);
		CHECK(k.tokens_per_day == w->tokens_per_day);
		CHECK(k.tokens_per_month == w->tokens_per_month);
		CHECK(k.expires_at == w->expires_at && k.disabled == w->disabled);
		CHECK(ipc_key_size(&k) == ipc_key_size(w));
	}
	CHECK(i == lists->nkeys && it.p == kl->base + kl->len);
	CHECK(al->count == lists->nkey_allow);
	ipc_list_begin(&it, al);
	for (i = 0; ipc_key_allow_next(&it, &a) && i < lists->nkey_allow; i++) {
		CHECK(str_same(a.key, lists->key_allow[i].key));
		CHECK(str_same(a.pattern, lists->key_allow[i].pattern));
	}
	CHECK(i == lists->nkey_allow && it.p == al->base + al->len);
}

/* The *_size() helpers agree with what the encoder writes. */
static void
check_entry_sizes(const struct ipc_msg *in, const struct ipc_encode_lists *lists, size_t frame)
{
	size_t want = IPC_HEADER_SIZE + 1 + 4 + 4;

	if (in->type == IPC_NAMESPACES) {
		for (size_t i = 0; i < lists->nnamespaces; i++)
			want += ipc_namespace_size(&lists->namespaces[i]);
		for (size_t i = 0; i < lists->ntokens; i++)
			want += ipc_token_size(&lists->tokens[i]);
	} else if (in->type == IPC_REMOTE_AGENTS) {
		for (size_t i = 0; i < lists->nragents; i++)
			want += ipc_remote_agent_size(&lists->ragents[i]);
		for (size_t i = 0; i < lists->nrmodels; i++)
			want += ipc_remote_model_size(&lists->rmodels[i]);
	} else if (in->type == IPC_KEYS) {
		want += 1; /* keyed */
		for (size_t i = 0; i < lists->nkeys; i++)
			want += ipc_key_size(&lists->keys[i]);
		for (size_t i = 0; i < lists->nkey_allow; i++)
			want += ipc_key_allow_size(&lists->key_allow[i]);
	} else if (in->type == IPC_AGENT_MODELS) {
		want = IPC_HEADER_SIZE + 4 + in->u.agent_models.agent_id.len + 4;
		for (size_t i = 0; i < lists->nmodels; i++)
			want += ipc_model_size(&lists->models[i]);
	} else if (in->type == IPC_USAGE_BATCH) {
		want = IPC_HEADER_SIZE + 8 + 4;
		for (size_t i = 0; i < lists->nusages; i++)
			want += ipc_usage_size(&lists->usages[i]);
	} else if (in->type == IPC_KEY_LOAD || in->type == IPC_KEY_REMOTE) {
		want = IPC_HEADER_SIZE + (in->type == IPC_KEY_LOAD ? 8 : 1) + 4;
		for (size_t i = 0; i < lists->nkey_loads; i++)
			want += ipc_key_load_size(&lists->key_loads[i]);
	} else
		return;
	CHECK(frame == want);
}

/* Field by field: a symmetric bug in the codec cannot hide behind bytes. */
static void
check_same(const struct ipc_msg *a, const struct ipc_msg *b, const struct ipc_encode_lists *lists)
{
	CHECK(a->type == b->type);
	switch (a->type) {
	case IPC_HELLO:
		CHECK(a->u.hello.version == b->u.hello.version);
		CHECK(a->u.hello.role == b->u.hello.role);
		CHECK(a->u.hello.slot == b->u.hello.slot);
		CHECK(a->u.hello.pid == b->u.hello.pid);
		CHECK(a->u.hello.generation == b->u.hello.generation);
		break;
	case IPC_HELLO_ACK:
		CHECK(a->u.hello_ack.version == b->u.hello_ack.version);
		CHECK(a->u.hello_ack.generation == b->u.hello_ack.generation);
		break;
	case IPC_READY:
		CHECK(a->u.ready.generation == b->u.ready.generation);
		break;
	case IPC_CONFIG:
		CHECK(a->u.config.generation == b->u.config.generation);
		CHECK(str_same(a->u.config.path, b->u.config.path));
		CHECK(str_same(a->u.config.yaml, b->u.config.yaml));
		break;
	case IPC_CONFIG_ACK:
		CHECK(a->u.config_ack.generation == b->u.config_ack.generation);
		CHECK(a->u.config_ack.ok == b->u.config_ack.ok);
		CHECK(str_same(a->u.config_ack.error, b->u.config_ack.error));
		break;
	case IPC_SHUTDOWN:
		CHECK(a->u.shutdown.mode == b->u.shutdown.mode);
		CHECK(a->u.shutdown.timeout_ms == b->u.shutdown.timeout_ms);
		break;
	case IPC_LOG_REOPEN:
		CHECK(a->u.log_reopen.unused == b->u.log_reopen.unused);
		break;
	case IPC_MODELS_QUERY:
		CHECK(a->u.models_query.id == b->u.models_query.id);
		break;
	case IPC_MODELS_LIST:
		CHECK(a->u.models_list.id == b->u.models_list.id);
		CHECK(a->u.models_list.more == b->u.models_list.more);
		check_models(&b->u.models_list.models, lists);
		break;
	case IPC_REQ_START:
		CHECK(a->u.req_start.id == b->u.req_start.id);
		CHECK(str_same(a->u.req_start.method, b->u.req_start.method));
		CHECK(str_same(a->u.req_start.path, b->u.req_start.path));
		CHECK(str_same(a->u.req_start.ns, b->u.req_start.ns));
		CHECK(str_same(a->u.req_start.model, b->u.req_start.model));
		CHECK(str_same(a->u.req_start.request_id, b->u.req_start.request_id));
		CHECK(a->u.req_start.body_len == b->u.req_start.body_len);
		CHECK(a->u.req_start.deadline_ms == b->u.req_start.deadline_ms);
		CHECK(a->u.req_start.flags == b->u.req_start.flags);
		CHECK(str_same(a->u.req_start.key, b->u.req_start.key));
		CHECK(a->u.req_start.limits.rpm == b->u.req_start.limits.rpm);
		CHECK(a->u.req_start.limits.tpm == b->u.req_start.limits.tpm);
		CHECK(a->u.req_start.limits.max_in_flight == b->u.req_start.limits.max_in_flight);
		CHECK(a->u.req_start.limits.tokens_per_day == b->u.req_start.limits.tokens_per_day);
		CHECK(a->u.req_start.limits.tokens_per_month ==
		    b->u.req_start.limits.tokens_per_month);
		check_headers(&b->u.req_start.headers, lists);
		break;
	case IPC_REQ_BODY:
		CHECK(a->u.req_body.id == b->u.req_body.id);
		CHECK(a->u.req_body.last == b->u.req_body.last);
		CHECK(str_same(a->u.req_body.data, b->u.req_body.data));
		break;
	case IPC_RESP_HEAD:
		CHECK(a->u.resp_head.id == b->u.resp_head.id);
		CHECK(a->u.resp_head.status == b->u.resp_head.status);
		CHECK(str_same(a->u.resp_head.ratelimit, b->u.resp_head.ratelimit));
		check_headers(&b->u.resp_head.headers, lists);
		break;
	case IPC_RESP_DATA:
		CHECK(a->u.resp_data.id == b->u.resp_data.id);
		CHECK(str_same(a->u.resp_data.data, b->u.resp_data.data));
		break;
	case IPC_RESP_END:
		CHECK(a->u.resp_end.id == b->u.resp_end.id);
		break;
	case IPC_RESP_ERROR:
		CHECK(a->u.resp_error.id == b->u.resp_error.id);
		CHECK(a->u.resp_error.status == b->u.resp_error.status);
		CHECK(str_same(a->u.resp_error.type, b->u.resp_error.type));
		CHECK(str_same(a->u.resp_error.code, b->u.resp_error.code));
		CHECK(str_same(a->u.resp_error.message, b->u.resp_error.message));
		CHECK(str_same(a->u.resp_error.ratelimit, b->u.resp_error.ratelimit));
		check_headers(&b->u.resp_error.headers, lists);
		break;
	case IPC_CANCEL:
		CHECK(a->u.cancel.id == b->u.cancel.id);
		break;
	case IPC_WINDOW:
		CHECK(a->u.window.id == b->u.window.id);
		CHECK(a->u.window.credit == b->u.window.credit);
		break;
	case IPC_STATUS:
		CHECK(a->u.status.served == b->u.status.served);
		CHECK(a->u.status.active == b->u.status.active);
		break;
	case IPC_NAMESPACES:
		CHECK(a->u.namespaces.more == b->u.namespaces.more);
		check_snapshot(&b->u.namespaces.namespaces, &b->u.namespaces.tokens, NULL, NULL,
		    lists);
		break;
	case IPC_REMOTE_AGENTS:
		CHECK(a->u.remote_agents.more == b->u.remote_agents.more);
		check_snapshot(NULL, NULL, &b->u.remote_agents.agents, &b->u.remote_agents.models,
		    lists);
		break;
	case IPC_AGENT_UP:
		CHECK(str_same(a->u.agent_up.agent_id, b->u.agent_up.agent_id));
		CHECK(str_same(a->u.agent_up.ns, b->u.agent_up.ns));
		CHECK(str_same(a->u.agent_up.name, b->u.agent_up.name));
		CHECK(a->u.agent_up.linked_at == b->u.agent_up.linked_at);
		check_models(&b->u.agent_up.models, lists);
		break;
	case IPC_AGENT_MODELS:
		CHECK(str_same(a->u.agent_models.agent_id, b->u.agent_models.agent_id));
		check_models(&b->u.agent_models.models, lists);
		break;
	case IPC_AGENT_DOWN:
		CHECK(str_same(a->u.agent_down.agent_id, b->u.agent_down.agent_id));
		CHECK(str_same(a->u.agent_down.reason, b->u.agent_down.reason));
		break;
	case IPC_NODE_STATE:
		CHECK(a->u.node_state.database == b->u.node_state.database);
		CHECK(a->u.node_state.snapshot == b->u.node_state.snapshot);
		CHECK(a->u.node_state.name == b->u.node_state.name);
		CHECK(a->u.node_state.since == b->u.node_state.since);
		break;
	case IPC_KEYS:
		CHECK(a->u.keys.more == b->u.keys.more);
		CHECK(a->u.keys.keyed == b->u.keys.keyed);
		check_keys(&b->u.keys.keys, &b->u.keys.allow, lists);
		break;
	case IPC_USAGE:
		check_usages(&b->u.usage.records, lists);
		break;
	case IPC_USAGE_BATCH:
		CHECK(a->u.usage_batch.dropped == b->u.usage_batch.dropped);
		check_usages(&b->u.usage_batch.records, lists);
		break;
	case IPC_KEY_LOAD:
		CHECK(a->u.key_load.unix_ms == b->u.key_load.unix_ms);
		check_key_loads(&b->u.key_load.loads, lists);
		break;
	case IPC_KEY_REMOTE:
		CHECK(a->u.key_remote.more == b->u.key_remote.more);
		check_key_loads(&b->u.key_remote.loads, lists);
		break;
	case IPC_AGENT_STATE:
		CHECK(str_same(a->u.agent_state.states, b->u.agent_state.states));
		break;
	default:
		CHECK(!"type without a comparison");
	}
}

/* ---- round trips ---- */

static const enum ipc_type all_types[] = {
#define IPC_ALL(name, val) IPC_##name,
	IPC_MESSAGES(IPC_ALL)
#undef IPC_ALL
};

/* Every strict prefix of a frame must ask for more bytes, and nothing else. */
static void
check_prefixes(const uint8_t *frame, size_t len)
{
	struct ipc_msg m;
	const char *why;
	size_t bad = 0;

	for (size_t n = 0; n < len; n++) {
		why = NULL;
		if (ipc_decode(frame, n, &m, &why) != 0)
			bad++;
	}
	CHECK(bad == 0);
}

static void
test_round_trips(void)
{
	snprintf(current, sizeof(current), "REQ_START flags");
	CHECK((IPC_REQ_NO_FORWARD & IPC_REQ_F_STREAM) == 0);
	CHECK(IPC_REQ_NO_FORWARD <= UINT8_MAX && IPC_REQ_NO_FORWARD == IPC_REQ_F_NO_FORWARD);

	for (size_t t = 0; t < nitems(all_types); t++) {
		for (int v = 0; v < 3; v++) {
			struct ipc_msg in, out, again;
			struct ipc_encode_lists lists;
			struct buf b, b2;
			const char *why = NULL;
			ssize_t n;

			snprintf(current, sizeof(current), "round trip %s variant %d",
			    ipc_type_name(all_types[t]), v);
			make_msg(all_types[t], v, &in, &lists);
			buf_init(&b, 0);
			CHECK(ipc_encode(&b, &in, &lists) == 0);
			CHECK(b.len >= IPC_HEADER_SIZE);
			n = ipc_decode(buf_head(&b), b.len, &out, &why);
			CHECK(n == (ssize_t)b.len);
			if (n < 0)
				fprintf(stderr, "  reason: %s\n", why);
			if (n > 0)
				check_same(&in, &out, &lists);
			check_entry_sizes(&in, &lists, b.len);
			check_prefixes(buf_head(&b), b.len);

			/* a decoded message re-encodes to the same bytes (forwarding) */
			buf_init(&b2, 0);
			if (n > 0) {
				CHECK(ipc_encode(&b2, &out, NULL) == 0);
				CHECK(b2.len == b.len && memcmp(buf_head(&b2), buf_head(&b), b.len) == 0);
				CHECK(ipc_decode(buf_head(&b2), b2.len, &again, &why) == n);
			}
			buf_free(&b2);
			buf_free(&b);
		}
	}
}

/* ---- golden bytes: the wire format itself ---- */

/* A little builder for hand-made payloads. */
struct raw {
	uint8_t b[4096];
	size_t n;
};

static void
raw_uint(struct raw *r, size_t width, uint64_t v)
{
	for (size_t i = 0; i < width; i++)
		r->b[r->n++] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static void
raw_str(struct raw *r, const char *s)
{
	size_t len = strlen(s);

	raw_uint(r, 4, len);
	memcpy(r->b + r->n, s, len);
	r->n += len;
}

/* Frame header + payload into out; returns the frame length. */
static size_t
raw_frame(uint8_t *out, unsigned type, unsigned flags, const struct raw *payload)
{
	struct raw h = { .n = 0 };

	raw_uint(&h, 4, payload->n);
	raw_uint(&h, 2, type);
	raw_uint(&h, 2, flags);
	memcpy(out, h.b, 8);
	memcpy(out + 8, payload->b, payload->n);
	return 8 + payload->n;
}

/* REQ_START's fields after flags: the key and zero limits. */
static void
raw_req_start_key(struct raw *p, const char *key)
{
	raw_str(p, key);
	raw_uint(p, 4, 0);
	raw_uint(p, 4, 0);
	raw_uint(p, 4, 0);
	raw_uint(p, 8, 0);
	raw_uint(p, 8, 0);
}

static void
test_golden(void)
{
	static const uint8_t hello[] = {
		0x00, 0x00, 0x00, 0x15, 0x00, 0x01, 0x00, 0x00, /* len 21, HELLO, flags */
		0x00, 0x00, 0x00, 0x01,                         /* version */
		0x01,                                           /* role worker */
		0x00, 0x00, 0x00, 0x02,                         /* slot */
		0x01, 0x02, 0x03, 0x04,                         /* pid */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* generation */
	};
	struct ipc_msg m = { .type = IPC_HELLO };
	struct ipc_encode_lists lists = { 0 };
	struct ipc_header_in h[2] = {
		{ "accept", 6, "*/*", 3 },
		{ "x-a", 3, "", 0 },
	};
	struct raw p = { .n = 0 };
	uint8_t frame[4096];
	size_t flen;
	struct buf b;
	const char *why = NULL;
	struct ipc_msg out;

	snprintf(current, sizeof(current), "golden HELLO");
	m.u.hello.version = 1;
	m.u.hello.role = IPC_ROLE_WORKER;
	m.u.hello.slot = 2;
	m.u.hello.pid = 0x01020304;
	m.u.hello.generation = 0x1122334455667788ULL;
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, &m, NULL) == 0);
	CHECK(b.len == sizeof(hello) && memcmp(buf_head(&b), hello, sizeof(hello)) == 0);
	CHECK(ipc_decode(hello, sizeof(hello), &out, &why) == sizeof(hello));
	CHECK(out.type == IPC_HELLO && out.u.hello.pid == 0x01020304 &&
	    out.u.hello.generation == 0x1122334455667788ULL && out.u.hello.slot == 2);
	buf_free(&b);

	snprintf(current, sizeof(current), "golden REQ_START");
	raw_uint(&p, 8, 0x0a0b);
	raw_str(&p, "POST");
	raw_str(&p, "/v1/chat/completions");
	raw_str(&p, "team-a");
	raw_str(&p, "m1");
	raw_str(&p, "rid");
	raw_uint(&p, 4, 2); /* header count */
	raw_str(&p, "accept");
	raw_str(&p, "*/*");
	raw_str(&p, "x-a");
	raw_str(&p, "");
	raw_uint(&p, 8, 99);   /* body_len */
	raw_uint(&p, 4, 1000); /* deadline_ms */
	raw_uint(&p, 1, IPC_REQ_F_STREAM);
	raw_str(&p, "alice");  /* key */
	raw_uint(&p, 4, 600);  /* rpm */
	raw_uint(&p, 4, 5000); /* tpm */
	raw_uint(&p, 4, 2);    /* max_in_flight */
	raw_uint(&p, 8, 7);    /* tokens_per_day */
	raw_uint(&p, 8, 0x0102030405060708ULL); /* tokens_per_month */
	flen = raw_frame(frame, IPC_REQ_START, 0, &p);

	memset(&m, 0, sizeof(m));
	m.type = IPC_REQ_START;
	m.u.req_start.id = 0x0a0b;
	m.u.req_start.method = str_of("POST", 4);
	m.u.req_start.path = str_of("/v1/chat/completions", 20);
	m.u.req_start.ns = str_of("team-a", 6);
	m.u.req_start.model = str_of("m1", 2);
	m.u.req_start.request_id = str_of("rid", 3);
	m.u.req_start.body_len = 99;
	m.u.req_start.deadline_ms = 1000;
	m.u.req_start.flags = IPC_REQ_F_STREAM;
	m.u.req_start.key = str_of("alice", 5);
	m.u.req_start.limits = (struct apikey_limits){ 600, 5000, 2, 7, 0x0102030405060708ULL };
	lists.headers = h;
	lists.nheaders = 2;
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, &m, &lists) == 0);
	CHECK(b.len == flen && memcmp(buf_head(&b), frame, flen) == 0);
	buf_free(&b);
	CHECK(ipc_decode(frame, flen, &out, &why) == (ssize_t)flen);
	check_same(&m, &out, &lists);
	CHECK(ipc_str_eq(out.u.req_start.method, "POST"));
	CHECK(ipc_str_eq(out.u.req_start.model, "m1"));
}

/* USAGE: one record, byte by byte; a record cut short is refused. */
static void
test_usage_wire(void)
{
	struct ipc_usage u = { str_of("alice", 5), str_of("lab", 3), str_of("m1", 2),
		str_of("n1", 2), str_of("r1", 2), str_of("ok", 2), 200, IPC_USAGE_F_KNOWN, 17, 5,
		12, 340, 1796000000123ULL };
	struct ipc_encode_lists lists = { .usages = &u, .nusages = 1 };
	struct ipc_msg m = { .type = IPC_USAGE }, out;
	struct raw p = { .n = 0 };
	uint8_t frame[512];
	const char *why = NULL;
	size_t flen;
	struct buf b;

	snprintf(current, sizeof(current), "golden USAGE");
	raw_uint(&p, 4, 1); /* one record */
	raw_str(&p, "alice");
	raw_str(&p, "lab");
	raw_str(&p, "m1");
	raw_str(&p, "n1");
	raw_str(&p, "r1");
	raw_str(&p, "ok");
	raw_uint(&p, 2, 200);
	raw_uint(&p, 1, IPC_USAGE_F_KNOWN);
	raw_uint(&p, 8, 17);
	raw_uint(&p, 8, 5);
	raw_uint(&p, 4, 12);
	raw_uint(&p, 4, 340);
	raw_uint(&p, 8, 1796000000123ULL);
	flen = raw_frame(frame, IPC_USAGE, 0, &p);
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, &m, &lists) == 0);
	CHECK(b.len == flen && memcmp(buf_head(&b), frame, flen) == 0);
	buf_free(&b);
	CHECK(ipc_decode(frame, flen, &out, &why) == (ssize_t)flen);
	check_same(&m, &out, &lists);
	CHECK(flen == IPC_HEADER_SIZE + 4 + ipc_usage_size(&u));

	/* one entry alone (agentd keeps them so): the list's bytes, and two
	 * of them sent on as a raw USAGE_BATCH list decode as the records */
	snprintf(current, sizeof(current), "ipc_usage_encode");
	buf_init(&b, 0);
	CHECK(ipc_usage_encode(&b, &u) == 0 && ipc_usage_encode(&b, &u) == 0);
	CHECK(b.len == 2 * ipc_usage_size(&u));
	CHECK(memcmp(buf_head(&b), frame + IPC_HEADER_SIZE + 4, ipc_usage_size(&u)) == 0);
	CHECK(memcmp(buf_head(&b) + ipc_usage_size(&u), buf_head(&b), ipc_usage_size(&u)) == 0);
	{
		struct ipc_usage two[2] = { u, u };
		struct ipc_encode_lists l2 = { .usages = two, .nusages = 2 };
		struct ipc_msg batch = { .type = IPC_USAGE_BATCH };
		struct buf fb;

		batch.u.usage_batch.dropped = 3;
		batch.u.usage_batch.records = (struct ipc_list){ 2, buf_head(&b), b.len };
		buf_init(&fb, 0);
		CHECK(ipc_encode(&fb, &batch, NULL) == 0);
		CHECK(ipc_decode(buf_head(&fb), fb.len, &out, &why) == (ssize_t)fb.len);
		check_same(&batch, &out, &l2);
		buf_free(&fb);
	}
	buf_free(&b);
	/* past out's bound: -1, nothing appended */
	buf_init(&b, 100);
	CHECK(ipc_usage_encode(&b, &u) == 0);
	flen = b.len;
	CHECK(ipc_usage_encode(&b, &u) == -1 && b.len == flen);
	buf_free(&b);
	flen = raw_frame(frame, IPC_USAGE, 0, &p);

	/* the record loses its last byte: the list runs past the payload */
	p.n--;
	flen = raw_frame(frame, IPC_USAGE, 0, &p);
	snprintf(current, sizeof(current), "reject USAGE cut short");
	CHECK(ipc_decode(frame, flen, &out, &why) == -1);
	CHECK(why != NULL && strstr(why, "usage list entry") != NULL);
	/* a count that the bytes cannot hold */
	p.n = 0;
	raw_uint(&p, 8, 0);
	raw_uint(&p, 4, 1000000);
	flen = raw_frame(frame, IPC_USAGE_BATCH, 0, &p);
	snprintf(current, sizeof(current), "reject USAGE_BATCH count");
	CHECK(ipc_decode(frame, flen, &out, &why) == -1);
	CHECK(why != NULL && strstr(why, "usage list count") != NULL);
}

/* KEY_LOAD: one key's counts, byte by byte; an entry cut short is refused. */
static void
test_key_load_wire(void)
{
	struct ipc_key_load k = { str_of("alice", 5), 599, 12000, 3, 250000, 0x0102030405060708ULL };
	struct ipc_encode_lists lists = { .key_loads = &k, .nkey_loads = 1 };
	struct ipc_msg m = { .type = IPC_KEY_LOAD }, out;
	struct raw p = { .n = 0 };
	uint8_t frame[256];
	const char *why = NULL;
	size_t flen;
	struct buf b;

	snprintf(current, sizeof(current), "golden KEY_LOAD");
	m.u.key_load.unix_ms = 1796000000123ULL;
	raw_uint(&p, 8, 1796000000123ULL);
	raw_uint(&p, 4, 1); /* one key */
	raw_str(&p, "alice");
	raw_uint(&p, 8, 599);
	raw_uint(&p, 8, 12000);
	raw_uint(&p, 8, 3);
	raw_uint(&p, 8, 250000);
	raw_uint(&p, 8, 0x0102030405060708ULL);
	flen = raw_frame(frame, IPC_KEY_LOAD, 0, &p);
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, &m, &lists) == 0);
	CHECK(b.len == flen && memcmp(buf_head(&b), frame, flen) == 0);
	buf_free(&b);
	CHECK(ipc_decode(frame, flen, &out, &why) == (ssize_t)flen);
	check_same(&m, &out, &lists);
	CHECK(flen == IPC_HEADER_SIZE + 8 + 4 + ipc_key_load_size(&k));

	p.n--;
	flen = raw_frame(frame, IPC_KEY_LOAD, 0, &p);
	snprintf(current, sizeof(current), "reject KEY_LOAD cut short");
	CHECK(ipc_decode(frame, flen, &out, &why) == -1);
	CHECK(why != NULL && strstr(why, "key load list entry") != NULL);
	/* KEY_REMOTE: a count the bytes cannot hold */
	p.n = 0;
	raw_uint(&p, 1, 0);
	raw_uint(&p, 4, 1000000);
	flen = raw_frame(frame, IPC_KEY_REMOTE, 0, &p);
	snprintf(current, sizeof(current), "reject KEY_REMOTE count");
	CHECK(ipc_decode(frame, flen, &out, &why) == -1);
	CHECK(why != NULL && strstr(why, "key load list count") != NULL);
}

/* ---- bad frames ---- */

static void
expect_bad(const char *what, const uint8_t *frame, size_t len, const char *word)
{
	struct ipc_msg m;
	const char *why = NULL;
	ssize_t n;

	snprintf(current, sizeof(current), "reject %s", what);
	n = ipc_decode(frame, len, &m, &why);
	CHECK(n == -1);
	CHECK(why != NULL && why[0] != '\0');
	if (n == -1 && why != NULL && strstr(why, word) == NULL) {
		fprintf(stderr, "%s: reason \"%s\" does not mention \"%s\"\n", current, why, word);
		failures++;
	}
	/* the reason is about this frame: -1 also with more bytes after it */
}

static void
test_bad_frames(void)
{
	uint8_t frame[8192];
	struct raw p;
	size_t n;

	/* header length says more than the fields take: payload of a u64 only */
	p.n = 0;
	raw_uint(&p, 8, 1);
	n = raw_frame(frame, IPC_HELLO, 0, &p);
	expect_bad("HELLO with fields past the payload", frame, n, "truncated HELLO");

	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_str(&p, "GET");
	n = raw_frame(frame, IPC_REQ_START, 0, &p);
	expect_bad("REQ_START cut after method", frame, n, "truncated REQ_START");

	/* the string length runs past the end of the payload */
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 4, 100);
	memcpy(p.b + p.n, "hello", 5);
	p.n += 5;
	n = raw_frame(frame, IPC_RESP_DATA, 0, &p);
	expect_bad("string length past the end", frame, n, "truncated RESP_DATA");

	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 4, UINT32_MAX);
	n = raw_frame(frame, IPC_RESP_DATA, 0, &p);
	expect_bad("string length 2^32-1", frame, n, "truncated RESP_DATA");

	/* header length above the maximum: rejected with only the 8-byte header */
	p.n = 0;
	n = raw_frame(frame, IPC_REQ_BODY, 0, &p);
	frame[0] = (IPC_MAX_PAYLOAD + 1) >> 24;
	frame[1] = ((IPC_MAX_PAYLOAD + 1) >> 16) & 0xff;
	frame[2] = ((IPC_MAX_PAYLOAD + 1) >> 8) & 0xff;
	frame[3] = (IPC_MAX_PAYLOAD + 1) & 0xff;
	expect_bad("oversized payload", frame, 8, "too large");
	memset(frame, 0xff, 4);
	expect_bad("payload length 2^32-1", frame, 8, "too large");
	{
		struct ipc_msg m;
		const char *why;

		snprintf(current, sizeof(current), "max payload header waits");
		frame[0] = IPC_MAX_PAYLOAD >> 24;
		frame[1] = (IPC_MAX_PAYLOAD >> 16) & 0xff;
		frame[2] = (IPC_MAX_PAYLOAD >> 8) & 0xff;
		frame[3] = IPC_MAX_PAYLOAD & 0xff;
		CHECK(ipc_decode(frame, 8, &m, &why) == 0);
	}

	/* chunks above IPC_MAX_CHUNK, though within the payload bound */
	{
		static uint8_t big[IPC_HEADER_SIZE + 8 + 4 + IPC_MAX_CHUNK + 1];
		size_t plen = 8 + 4 + IPC_MAX_CHUNK + 1;

		memset(big, 'x', sizeof(big));
		big[0] = (uint8_t)(plen >> 24);
		big[1] = (uint8_t)(plen >> 16);
		big[2] = (uint8_t)(plen >> 8);
		big[3] = (uint8_t)plen;
		big[4] = 0;
		big[5] = IPC_RESP_DATA;
		big[6] = big[7] = 0;
		big[16] = 0;
		big[17] = (uint8_t)((IPC_MAX_CHUNK + 1) >> 16);
		big[18] = (uint8_t)((IPC_MAX_CHUNK + 1) >> 8);
		big[19] = (uint8_t)(IPC_MAX_CHUNK + 1);
		expect_bad("over-max chunk", big, sizeof(big), "chunk too large");
	}

	/* unknown types */
	p.n = 0;
	raw_uint(&p, 8, 1);
	n = raw_frame(frame, 999, 0, &p);
	expect_bad("type 999", frame, n, "unknown message type 999");
	expect_bad("type 999, header only", frame, 8, "unknown message type 999");
	n = raw_frame(frame, 0, 0, &p);
	expect_bad("type 0", frame, n, "unknown message type 0");
	n = raw_frame(frame, IPC_TYPE_MAX, 0, &p);
	expect_bad("type past the last", frame, n, "unknown message type");
	n = raw_frame(frame, 0xffff, 0, &p);
	expect_bad("type 0xffff", frame, n, "unknown message type 65535");

	/* flags */
	n = raw_frame(frame, IPC_RESP_END, 1, &p);
	expect_bad("flags 1", frame, n, "non-zero flags");
	n = raw_frame(frame, IPC_RESP_END, 0x8000, &p);
	expect_bad("flags 0x8000, header only", frame, 8, "non-zero flags");

	/* trailing bytes */
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 1, 0);
	n = raw_frame(frame, IPC_RESP_END, 0, &p);
	expect_bad("RESP_END with one byte too many", frame, n, "trailing bytes after RESP_END");
	p.n = 0;
	raw_uint(&p, 4, 1);
	raw_uint(&p, 1, 1);
	raw_uint(&p, 4, 2);
	raw_uint(&p, 4, 3);
	raw_uint(&p, 8, 4);
	raw_uint(&p, 4, 0);
	n = raw_frame(frame, IPC_HELLO, 0, &p);
	expect_bad("HELLO with trailing bytes", frame, n, "trailing bytes after HELLO");
	p.n = 0;
	raw_uint(&p, 1, 0);
	raw_uint(&p, 1, 0);
	n = raw_frame(frame, IPC_LOG_REOPEN, 0, &p);
	expect_bad("LOG_REOPEN with two bytes", frame, n, "trailing bytes");

	/* list counts that do not match the bytes */
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 200);
	raw_uint(&p, 4, 3); /* says 3, has 2 */
	raw_str(&p, "a");
	raw_str(&p, "b");
	raw_str(&p, "c");
	raw_str(&p, "d");
	n = raw_frame(frame, IPC_RESP_HEAD, 0, &p);
	expect_bad("RESP_HEAD count 3 for 2 headers", frame, n, "header list");
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 200);
	raw_uint(&p, 4, 1); /* says 1, has 2 */
	raw_str(&p, "a");
	raw_str(&p, "b");
	raw_str(&p, "c");
	raw_str(&p, "d");
	n = raw_frame(frame, IPC_RESP_HEAD, 0, &p);
	expect_bad("RESP_HEAD count 1 for 2 headers", frame, n, "trailing bytes");
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 200);
	raw_uint(&p, 4, 2);
	raw_str(&p, "a");
	raw_str(&p, "b");
	raw_str(&p, "c");
	raw_uint(&p, 4, 50); /* value length past the end */
	raw_uint(&p, 4, 0);
	raw_uint(&p, 4, 0);
	n = raw_frame(frame, IPC_RESP_HEAD, 0, &p);
	expect_bad("RESP_HEAD header value past the end", frame, n, "entry 2 of 2");
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 200);
	raw_uint(&p, 4, UINT32_MAX);
	n = raw_frame(frame, IPC_RESP_HEAD, 0, &p);
	expect_bad("RESP_HEAD count 2^32-1", frame, n, "header list count");

	/* REQ_START: the list is followed by more fields */
	p.n = 0;
	raw_uint(&p, 8, 1);
	for (int i = 0; i < 5; i++)
		raw_str(&p, "x");
	raw_uint(&p, 4, 1); /* says 1, has 2 */
	raw_str(&p, "a");
	raw_str(&p, "b");
	raw_str(&p, "c");
	raw_str(&p, "d");
	raw_uint(&p, 8, 0);
	raw_uint(&p, 4, 0);
	raw_uint(&p, 1, 0);
	raw_req_start_key(&p, "");
	n = raw_frame(frame, IPC_REQ_START, 0, &p);
	expect_bad("REQ_START count 1 for 2 headers", frame, n, "trailing bytes after REQ_START");
	p.n = 0;
	raw_uint(&p, 8, 1);
	for (int i = 0; i < 5; i++)
		raw_str(&p, "x");
	raw_uint(&p, 4, 3); /* says 3, has 2 */
	raw_str(&p, "a");
	raw_str(&p, "b");
	raw_str(&p, "c");
	raw_str(&p, "d");
	raw_uint(&p, 8, 0);
	raw_uint(&p, 4, 0);
	raw_uint(&p, 1, 0);
	n = raw_frame(frame, IPC_REQ_START, 0, &p);
	expect_bad("REQ_START count 3 for 2 headers", frame, n, "REQ_START");
	/* a key name longer than apikey.h allows */
	p.n = 0;
	raw_uint(&p, 8, 1);
	for (int i = 0; i < 5; i++)
		raw_str(&p, "x");
	raw_uint(&p, 4, 0);
	raw_uint(&p, 8, 0);
	raw_uint(&p, 4, 0);
	raw_uint(&p, 1, 0);
	raw_req_start_key(&p, "0123456789012345678901234567890123456789012345678901234567890123x");
	n = raw_frame(frame, IPC_REQ_START, 0, &p);
	expect_bad("REQ_START key of 65 bytes", frame, n, "string too large");
	/* RESP_ERROR: its header list is the last field */
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 429);
	raw_str(&p, "requests");
	raw_str(&p, "rate_limit_exceeded");
	raw_str(&p, "slow down");
	raw_uint(&p, 4, 2); /* says 2, has 1 */
	raw_str(&p, "retry-after");
	raw_str(&p, "1");
	n = raw_frame(frame, IPC_RESP_ERROR, 0, &p);
	expect_bad("RESP_ERROR count 2 for 1 header", frame, n, "header list");
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 429);
	raw_str(&p, "requests");
	raw_str(&p, "rate_limit_exceeded");
	raw_str(&p, "slow down");
	n = raw_frame(frame, IPC_RESP_ERROR, 0, &p);
	expect_bad("RESP_ERROR without its header list", frame, n, "RESP_ERROR");

	/* MODELS_LIST: one model cut in its last field */
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 1, 0);
	raw_uint(&p, 4, 1);
	raw_str(&p, "ns");
	raw_str(&p, "name");
	raw_str(&p, "chat");
	raw_uint(&p, 8, 1);
	raw_uint(&p, 2, 0); /* context_length is a u32 */
	n = raw_frame(frame, IPC_MODELS_LIST, 0, &p);
	expect_bad("MODELS_LIST model cut short", frame, n, "model list");
	p.n = 0;
	raw_uint(&p, 8, 1);
	raw_uint(&p, 1, 0);
	raw_uint(&p, 4, 2); /* says 2, has 1 */
	raw_str(&p, "ns");
	raw_str(&p, "name");
	raw_str(&p, "chat");
	raw_uint(&p, 8, 1);
	raw_uint(&p, 4, 0);
	n = raw_frame(frame, IPC_MODELS_LIST, 0, &p);
	expect_bad("MODELS_LIST count 2 for 1 model", frame, n, "model list");

	/* an empty payload for a message with fields */
	p.n = 0;
	n = raw_frame(frame, IPC_WINDOW, 0, &p);
	expect_bad("empty WINDOW", frame, n, "truncated WINDOW");
}

/* ---- streams and bounds ---- */

static void
test_back_to_back(void)
{
	static const enum ipc_type seq[] = { IPC_HELLO, IPC_REQ_START, IPC_REQ_BODY, IPC_RESP_HEAD,
		IPC_RESP_DATA, IPC_RESP_DATA, IPC_RESP_END, IPC_MODELS_LIST, IPC_LOG_REOPEN };
	struct buf b;
	size_t off = 0;

	snprintf(current, sizeof(current), "frames back to back");
	buf_init(&b, 0);
	for (size_t i = 0; i < nitems(seq); i++) {
		struct ipc_msg m;
		struct ipc_encode_lists lists;

		make_msg(seq[i], 1, &m, &lists);
		if (seq[i] == IPC_RESP_DATA)
			m.u.resp_data.id = 100 + i;
		CHECK(ipc_encode(&b, &m, &lists) == 0);
	}
	for (size_t i = 0; i < nitems(seq); i++) {
		struct ipc_msg want, got;
		struct ipc_encode_lists lists;
		const char *why = NULL;
		ssize_t n;

		make_msg(seq[i], 1, &want, &lists);
		if (seq[i] == IPC_RESP_DATA)
			want.u.resp_data.id = 100 + i;
		n = ipc_decode(buf_head(&b) + off, b.len - off, &got, &why);
		CHECK(n > 0);
		if (n <= 0)
			break;
		check_same(&want, &got, &lists);
		off += (size_t)n;
	}
	CHECK(off == b.len);
	{
		struct ipc_msg m;
		const char *why;

		CHECK(ipc_decode(buf_head(&b) + off, b.len - off, &m, &why) == 0);
	}
	buf_free(&b);
}

static void
test_encode_limits(void)
{
	struct ipc_msg m;
	struct ipc_encode_lists lists;
	struct buf b;
	uint8_t before[16];
	char *huge;

	/* a bounded buf without room: -1 and not a byte changes */
	snprintf(current, sizeof(current), "encode into a full bounded buf");
	buf_init(&b, 40);
	CHECK(buf_append(&b, "0123456789abcdef", 16) == 0);
	memcpy(before, buf_head(&b), 16);
	make_msg(IPC_REQ_START, 1, &m, &lists);
	CHECK(ipc_encode(&b, &m, &lists) == -1);
	CHECK(b.len == 16 && memcmp(buf_head(&b), before, 16) == 0);
	make_msg(IPC_RESP_END, 1, &m, &lists);
	CHECK(ipc_encode(&b, &m, NULL) == 0); /* 16 bytes fit in the 24 left */
	CHECK(b.len == 32);
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	CHECK(b.len == 32 && memcmp(buf_head(&b), before, 16) == 0);
	buf_free(&b);

	huge = xmalloc(IPC_MAX_PAYLOAD + 1);
	memset(huge, 'z', IPC_MAX_PAYLOAD + 1);
	buf_init(&b, 0);

	snprintf(current, sizeof(current), "encode an over-max chunk");
	make_msg(IPC_REQ_BODY, 1, &m, &lists);
	m.u.req_body.data = str_of(huge, IPC_MAX_CHUNK + 1);
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	m.u.req_body.data = str_of(huge, IPC_MAX_CHUNK);
	CHECK(ipc_encode(&b, &m, NULL) == 0);
	buf_reset(&b);
	make_msg(IPC_RESP_DATA, 1, &m, &lists);
	m.u.resp_data.data = str_of(huge, IPC_MAX_PAYLOAD + 1);
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	CHECK(b.len == 0);

	snprintf(current, sizeof(current), "encode an over-max payload");
	make_msg(IPC_CONFIG, 1, &m, &lists);
	m.u.config.yaml = str_of(huge, IPC_MAX_PAYLOAD - 8 - 4 - 4 - m.u.config.path.len);
	CHECK(ipc_encode(&b, &m, NULL) == 0); /* exactly the maximum */
	CHECK(b.len == IPC_HEADER_SIZE + IPC_MAX_PAYLOAD);
	{
		struct ipc_msg out;
		const char *why = NULL;

		CHECK(ipc_decode(buf_head(&b), b.len, &out, &why) == (ssize_t)b.len);
	}
	buf_reset(&b);
	m.u.config.yaml.len++;
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	CHECK(b.len == 0);
	m.u.config.yaml.len = SIZE_MAX;
	CHECK(ipc_encode(&b, &m, NULL) == -1);

	/* many headers, each small, adding up past the maximum */
	snprintf(current, sizeof(current), "encode too many headers");
	{
		size_t nh = IPC_MAX_PAYLOAD / 8 + 1;
		struct ipc_header_in *hs = xcalloc(nh, sizeof(*hs));

		make_msg(IPC_RESP_HEAD, 1, &m, &lists);
		m.u.resp_head.ratelimit = str_of(NULL, 0);
		lists.headers = hs;
		lists.nheaders = nh;
		CHECK(ipc_encode(&b, &m, &lists) == -1);
		/* id, status, the count, the empty ratelimit string */
		lists.nheaders = (IPC_MAX_PAYLOAD - 8 - 2 - 4 - 4) / 8;
		CHECK(ipc_encode(&b, &m, &lists) == 0);
		buf_reset(&b);
		free(hs);
	}

	snprintf(current, sizeof(current), "encode invalid input");
	make_msg(IPC_RESP_DATA, 1, &m, &lists);
	m.u.resp_data.data = str_of(NULL, 5);
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	make_msg(IPC_RESP_HEAD, 1, &m, &lists);
	lists.headers = NULL;
	CHECK(ipc_encode(&b, &m, &lists) == -1);
	m.type = 0;
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	m.type = (enum ipc_type)999;
	CHECK(ipc_encode(&b, &m, NULL) == -1);
	CHECK(b.len == 0);

	/* no lists for a type with a list: an empty list */
	snprintf(current, sizeof(current), "encode a list type without lists");
	make_msg(IPC_RESP_HEAD, 1, &m, &lists);
	CHECK(ipc_encode(&b, &m, NULL) == 0);
	{
		struct ipc_msg out;
		const char *why = NULL;

		CHECK(ipc_decode(buf_head(&b), b.len, &out, &why) == (ssize_t)b.len);
		CHECK(out.u.resp_head.headers.count == 0 && out.u.resp_head.headers.len == 0);
	}

	buf_free(&b);
	free(huge);
}

static void
test_helpers(void)
{
	struct ipc_list empty = { 0 };
	struct ipc_list_iter it;
	struct ipc_str n, v;
	struct ipc_model model;

	snprintf(current, sizeof(current), "ipc_type_name");
#define IPC_NAME_CHECK(name, val) CHECK(strcmp(ipc_type_name(val), #name) == 0);
	IPC_MESSAGES(IPC_NAME_CHECK)
#undef IPC_NAME_CHECK
	CHECK(strcmp(ipc_type_name(0), "?") == 0);
	CHECK(strcmp(ipc_type_name(IPC_TYPE_MAX), "?") == 0);
	CHECK(strcmp(ipc_type_name(999), "?") == 0);
	CHECK(strcmp(ipc_type_name(~0u), "?") == 0);

	snprintf(current, sizeof(current), "ipc_str_eq");
	CHECK(ipc_str_eq(str_of("abc", 3), "abc"));
	CHECK(!ipc_str_eq(str_of("abc", 2), "abc"));
	CHECK(!ipc_str_eq(str_of("abcd", 4), "abc"));
	CHECK(!ipc_str_eq(str_of("abd", 3), "abc"));
	CHECK(ipc_str_eq(str_of(NULL, 0), ""));
	CHECK(!ipc_str_eq(str_of(NULL, 0), "a"));
	CHECK(ipc_str_eq(str_of("a\0b", 1), "a"));

	snprintf(current, sizeof(current), "ipc_str_copy");
	{
		char d[4];

		CHECK(ipc_str_copy(d, sizeof(d), str_of("abc", 3)) == 3 && strcmp(d, "abc") == 0);
		CHECK(ipc_str_copy(d, sizeof(d), str_of("abcdef", 6)) == 3 && strcmp(d, "abc") == 0);
		CHECK(ipc_str_copy(d, sizeof(d), str_of("ab", 1)) == 1 && strcmp(d, "a") == 0);
		CHECK(ipc_str_copy(d, sizeof(d), str_of("a\0b", 3)) == 1 && strcmp(d, "a") == 0);
		CHECK(ipc_str_copy(d, sizeof(d), str_of(NULL, 0)) == 0 && d[0] == '\0');
		CHECK(ipc_str_copy(d, 1, str_of("abc", 3)) == 0 && d[0] == '\0');
	}

	snprintf(current, sizeof(current), "iterators on an empty list");
	ipc_list_begin(&it, &empty);
	CHECK(!ipc_header_next(&it, &n, &v));
	ipc_list_begin(&it, &empty);
	CHECK(!ipc_model_next(&it, &model));

	snprintf(current, sizeof(current), "decode with why == NULL");
	{
		uint8_t f[8] = { 0, 0, 0, 0, 0x03, 0xe7, 0, 0 };
		struct ipc_msg m;

		CHECK(ipc_decode(f, sizeof(f), &m, NULL) == -1);
	}
}

int
main(void)
{
	big_text = xmalloc(IPC_MAX_CHUNK);
	for (size_t i = 0; i < IPC_MAX_CHUNK; i++)
		big_text[i] = (char)(i * 31 + 7);
	long_text = big_text;

	test_helpers();
	test_golden();
	test_usage_wire();
	test_key_load_wire();
	test_round_trips();
	test_bad_frames();
	test_back_to_back();
	test_encode_limits();

	free(big_text);
	if (failures != 0) {
		fprintf(stderr, "test_ipc: %d check(s) failed\n", failures);
		return 1;
	}
	printf("test_ipc: all checks passed\n");
	return 0;
}
