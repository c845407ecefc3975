/*
 * ipc: the typed messages between tokilake processes, and their codec.
 *
 * Every message between master and children (socketpairs) and between
 * workers and agentd (a Unix socket in the runtime directory) is one frame:
 *
 *     u32 payload length | u16 type | u16 flags (0) | payload
 *
 * all integers big-endian. Payload fields are encoded one by one in the
 * order of the struct below: u8/u16/u32/u64 fixed width, str and bytes as
 * u32 length + bytes, lists as u32 count + entries. Nothing is ever
 * memcpy'd from a struct onto the wire.
 *
 * Decoding never copies: strings in a decoded message point into the
 * frame, so they live as long as the input buffer is not consumed.
 * ipc_decode() rejects truncated payloads, payloads over IPC_MAX_PAYLOAD,
 * unknown types, non-zero flags and trailing bytes. A peer that sends
 * such a frame is our own process: the caller logs loudly and drops it.
 */
#ifndef TL_IPC_H
#define TL_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "apikey.h"
#include "buf.h"

#define IPC_VERSION 1
#define IPC_HEADER_SIZE 8
/* A body chunk is at most 256 KiB; the rest is room for the fields. */
#define IPC_MAX_CHUNK (256 * 1024)
#define IPC_MAX_PAYLOAD (IPC_MAX_CHUNK + 64 * 1024)
/*
 * Back-pressure on request bodies: a worker may send IPC_BODY_WINDOW bytes
 * of a request's body before agentd grants more with WINDOW{id, credit}
 * (as the bytes leave for the agent). Response data flows the other way
 * under the same rule: the worker sends WINDOW as its client takes bytes,
 * and agentd lets the agent send more only then.
 */
#define IPC_BODY_WINDOW (1024 * 1024)

/* X(NAME, value): the one list of message types. Values never change. */
#define IPC_MESSAGES(X)                                                           \
	X(HELLO, 1)        /* child -> master, worker -> agentd: who I am */     \
	X(HELLO_ACK, 2)    /* answer to HELLO */                                 \
	X(READY, 3)        /* child -> master: set up and serving */             \
	X(CONFIG, 4)       /* master -> child: apply this validated config */    \
	X(CONFIG_ACK, 5)   /* child -> master: applied (or why not) */           \
	X(SHUTDOWN, 6)     /* master -> child: stop (graceful or fast) */        \
	X(LOG_REOPEN, 7)   /* master -> child: reopen the log file */            \
	X(MODELS_QUERY, 8) /* worker -> agentd: list models */                   \
	X(MODELS_LIST, 9)  /* agentd -> worker: one page of the model list */    \
	X(REQ_START, 10)   /* worker -> agentd: a new request for a model */     \
	X(REQ_BODY, 11)    /* worker -> agentd: request body bytes */            \
	X(RESP_HEAD, 12)   /* agentd -> worker: status and headers */            \
	X(RESP_DATA, 13)   /* agentd -> worker: response body bytes */           \
	X(RESP_END, 14)    /* agentd -> worker: response complete */             \
	X(RESP_ERROR, 15)  /* agentd -> worker: request failed (OpenAI error) */ \
	X(CANCEL, 16)      /* worker -> agentd: client went away */              \
	X(WINDOW, 17)      /* either way: credit for more body bytes */          \
	X(STATUS, 18)      /* child -> master: counters for supervision */       \
	X(NAMESPACES, 19)  /* master -> agentd: namespaces + token hashes (PG) */\
	X(REMOTE_AGENTS, 20) /* master -> agentd: agents of other live nodes */  \
	X(AGENT_UP, 21)    /* agentd -> master: an agent linked here */          \
	X(AGENT_MODELS, 22) /* agentd -> master: its model list changed */       \
	X(AGENT_DOWN, 23)  /* agentd -> master: it left */                      \
	X(NODE_STATE, 24)  /* master -> worker: database, snapshot, node.name */ \
	X(KEYS, 25)        /* master -> worker: end-user API keys (PG) */        \
	X(USAGE, 30)       /* worker -> agentd: what finished requests used */   \
	X(USAGE_BATCH, 31) /* agentd -> master: usage records, about 1/s */ \
	X(KEY_LOAD, 32)    /* agentd -> master: this node's counts per key, 2/s */ \
	X(KEY_REMOTE, 33)  /* master -> agentd: the other nodes' counts per key */ \
	X(AGENT_STATE, 34) /* agentd -> master: agents' load and breakers (PG) */

enum ipc_type {
#define IPC_ENUM(name, val) IPC_##name = val,
	IPC_MESSAGES(IPC_ENUM)
#undef IPC_ENUM
	IPC_TYPE_MAX
};

/* Name of a type for logs ("REQ_START"), "?" if unknown. */
const char *ipc_type_name(unsigned type);

enum ipc_role { IPC_ROLE_MASTER = 0, IPC_ROLE_WORKER = 1, IPC_ROLE_AGENTD = 2 };
enum ipc_shutdown_mode { IPC_SHUTDOWN_GRACEFUL = 0, IPC_SHUTDOWN_FAST = 1 };

/* A view of bytes inside a frame; not NUL-terminated. */
struct ipc_str {
	const char *base;
	size_t len;
};

/* A validated, encoded list inside a frame; walk it with the *_next() functions. */
struct ipc_list {
	uint32_t count;
	const uint8_t *base;
	size_t len;
};

struct ipc_list_iter {
	const uint8_t *p, *end;
	uint32_t left;
};

/* A model as agentd reports it to workers. */
struct ipc_model {
	struct ipc_str ns;      /* namespace */
	struct ipc_str name;    /* model name as the agent published it */
	struct ipc_str kind;    /* "chat", "completion", "embedding", "audio", "other" */
	uint64_t created;       /* unix time the model was first seen */
	uint32_t context_length;/* 0 = unknown */
};

/* NAMESPACES entries: a namespace, and one token hash of a namespace. */
struct ipc_namespace {
	struct ipc_str name;
	uint8_t disabled;        /* listed but disabled: agents of it are refused */
};
struct ipc_token {
	struct ipc_str ns;
	struct ipc_str hash;     /* "sha256:<64 lowercase hex>" */
};

/* REMOTE_AGENTS entries: an agent linked to another node, and one model of
 * such an agent (models refer to their agent by agent_id). */
struct ipc_remote_agent {
	struct ipc_str agent_id; /* "<node>/<boot nonce hex>/<local id>" */
	struct ipc_str ns;
	struct ipc_str node;     /* node name */
	struct ipc_str node_url; /* its internal_url */
	struct ipc_str name;     /* agent name / peer, for logs */
	uint64_t linked_at;      /* unix seconds */
};
struct ipc_remote_model {
	struct ipc_str agent_id;
	struct ipc_str name;
	struct ipc_str kind;
	uint32_t context_length;
};

/* KEYS entries: an end-user API key (src/common/apikey.h), and one allow
 * pattern of a key. A key's patterns follow it, in order, in the frame
 * that holds the key. */
struct ipc_key {
	struct ipc_str name;
	struct ipc_str owner;
	struct ipc_str hash;     /* "sha256:<64 lowercase hex>" */
	uint32_t rpm, tpm, max_in_flight; /* 0 = none */
	uint64_t tokens_per_day, tokens_per_month;
	uint64_t expires_at;     /* unix seconds; 0 = never */
	uint8_t disabled;
};
struct ipc_key_allow {
	struct ipc_str key;      /* the name of the key it belongs to */
	struct ipc_str pattern;
};
/*
 * USAGE and USAGE_BATCH entries: one finished request, as the worker that
 * served its client saw it. One line per request in the usage log; the
 * master rolls them up per (key, namespace, model, node, minute) for
 * PostgreSQL. Strings are bounded by the sender (names) and checked
 * again by the master before they are written anywhere.
 */
struct ipc_usage {
	struct ipc_str key;        /* the key's name, "" anonymous */
	struct ipc_str ns, model;  /* the model as the client named it, split */
	struct ipc_str node;       /* node.name of the node the client used */
	struct ipc_str request_id;
	struct ipc_str end;        /* "ok", "client_gone", or the error code given */
	uint16_t status;           /* HTTP status the client got */
	uint8_t flags;             /* IPC_USAGE_F_* */
	uint64_t prompt_tokens, completion_tokens; /* 0 unless F_KNOWN */
	uint32_t ttfb_ms;          /* IPC_USAGE_NO_TTFB: no first byte came */
	uint32_t duration_ms;
	uint64_t unix_ms;          /* when the request ended */
};
#define IPC_USAGE_F_KNOWN 0x01     /* the counts came from the answer */
#define IPC_USAGE_F_STREAM 0x02    /* a streamed answer */
/* The request came from another node (node.listen): that node records and
 * charges it; agentd here neither charges nor forwards it. */
#define IPC_USAGE_F_FORWARDED 0x04
#define IPC_USAGE_NO_TTFB UINT32_MAX

/*
 * KEY_LOAD and KEY_REMOTE entries: what a key used, for the network-wide
 * limits (src/agentd/netlimit.h). In KEY_LOAD, this node's own counts (the
 * limiter's local part); in KEY_REMOTE, the sum of the other live nodes'
 * (budgets: see src/master/pg_keyload.c). requests and tokens are those of
 * the last 60 s; tokens_day and tokens_month those of the UTC day and
 * month of the frame's unix_ms (KEY_LOAD) or of the master's clock.
 */
struct ipc_key_load {
	struct ipc_str key;        /* the key's name */
	uint64_t requests, tokens, in_flight;
	uint64_t tokens_day, tokens_month;
};

struct ipc_msg {
	enum ipc_type type;
	union {
		struct { uint32_t version; uint8_t role; uint32_t slot; uint32_t pid; uint64_t generation; } hello;
		struct { uint32_t version; uint64_t generation; } hello_ack;
		struct { uint64_t generation; } ready;
		/* yaml is the whole config file the master validated; path names it in errors */
		struct { uint64_t generation; struct ipc_str path; struct ipc_str yaml; } config;
		struct { uint64_t generation; uint8_t ok; struct ipc_str error; } config_ack;
		struct { uint8_t mode; uint32_t timeout_ms; } shutdown;
		struct { uint8_t unused; } log_reopen;
		struct { uint64_t id; } models_query;
		/* entries: ipc_model; more = 1 when another page follows for the same id */
		struct { uint64_t id; uint8_t more; struct ipc_list models; } models_list;
		/* headers: pairs of str (name, value), names lower-case */
		struct {
			uint64_t id;
			struct ipc_str method, path, ns, model, request_id;
			struct ipc_list headers;
			uint64_t body_len;
			uint32_t deadline_ms; /* 0 = none */
			uint8_t flags;        /* IPC_REQ_F_* */
			/* the caller's API key: its name ("" = anonymous, no
			 * limits) and its limits, which agentd applies */
			struct ipc_str key;
			struct apikey_limits limits;
		} req_start;
		struct { uint64_t id; uint8_t last; struct ipc_str data; } req_body;
		/* ratelimit: a packed struct ratelimit (ratelimit.h), or empty:
		 * the x-ratelimit-* headers the worker adds for a limited key */
		struct {
			uint64_t id;
			uint16_t status;
			struct ipc_list headers;
			struct ipc_str ratelimit;
		} resp_head;
		struct { uint64_t id; struct ipc_str data; } resp_data;
		struct { uint64_t id; } resp_end;
		/* headers: pairs as resp_head's, for the error answer
		 * (Retry-After); ratelimit as resp_head's */
		struct {
			uint64_t id;
			uint16_t status;
			struct ipc_str type, code, message;
			struct ipc_list headers;
			struct ipc_str ratelimit;
		} resp_error;
		struct { uint64_t id; } cancel;
		/* credit: how many more body bytes the receiver accepts for id */
		struct { uint64_t id; uint32_t credit; } window;
		struct { uint64_t served; uint32_t active; } status;
		/*
		 * Full snapshots, master -> agentd, possibly in several frames:
		 * more = 1 on every frame but the last; agentd collects the
		 * frames and applies the whole list when more = 0 (a full
		 * replace). namespaces: ipc_namespace, tokens: ipc_token,
		 * agents: ipc_remote_agent, models: ipc_remote_model.
		 */
		struct { uint8_t more; struct ipc_list namespaces; struct ipc_list tokens; } namespaces;
		struct { uint8_t more; struct ipc_list agents; struct ipc_list models; } remote_agents;
		/* master -> worker, the same way: keys: ipc_key, allow: ipc_key_allow.
		 * keyed = 1: the network has keys (api_keys holds a row, revoked
		 * ones included), even if none is in the list: a loopback node
		 * must not fall open when the last key is revoked. */
		struct {
			uint8_t more, keyed;
			struct ipc_list keys;
			struct ipc_list allow;
		} keys;
		/* agentd -> master. models: ipc_model (ns = the agent's namespace,
		 * created = linked_at). An agent whose model list does not fit one
		 * frame reports the first ones that fit. */
		struct {
			struct ipc_str agent_id, ns, name;
			uint64_t linked_at;  /* unix seconds */
			struct ipc_list models;
			/* Register.agent_id: the same for every link of one
			 * tokiame, on this node or another (agents.instance) */
			struct ipc_str instance;
		} agent_up;
		struct { struct ipc_str agent_id; struct ipc_list models; } agent_models;
		struct { struct ipc_str agent_id; struct ipc_str reason; } agent_down;
		/* master -> worker, on every change and after a worker's READY:
		 * what /healthz reports. database: IPC_DB_*, snapshot: 1 when a
		 * snapshot of the database was ever loaded, name: IPC_NAME_*,
		 * since: unix seconds of the last change of any of them. */
		struct { uint8_t database; uint8_t snapshot; uint8_t name; uint64_t since; } node_state;
		/* records: ipc_usage (a worker sends one per frame) */
		struct { struct ipc_list records; } usage;
		/* dropped: records agentd could not keep since the last batch
		 * (its buffer was full); records: ipc_usage */
		struct { uint64_t dropped; struct ipc_list records; } usage_batch;
		/* loads: ipc_key_load; unix_ms: when agentd counted them */
		struct { uint64_t unix_ms; struct ipc_list loads; } key_load;
		/* states: a JSON array of {"agent_id","in_flight","capacity",
		 * "waiting","rtt_us","breaker"} for the agents whose state
		 * changed, written by agentd for the master to hand to
		 * PostgreSQL as jsonb (agents rows, sql/007_agent_state.sql) */
		struct { struct ipc_str states; } agent_state;
		/* loads: ipc_key_load, in frames like NAMESPACES (more = 1 on
		 * every frame but the last; the last completes a full replace:
		 * a key not in it has no remote counts any more) */
		struct { uint8_t more; struct ipc_list loads; } key_remote;
	} u;
};

/* node_state values (unknown values: the worker reports them as such) */
enum ipc_db_state { IPC_DB_STANDALONE = 0, IPC_DB_CONNECTED = 1, IPC_DB_RECONNECTING = 2 };
enum ipc_name_state { IPC_NAME_UNCLAIMED = 0, IPC_NAME_HELD = 1, IPC_NAME_LOST = 2 };

#define IPC_REQ_F_STREAM 0x01 /* the client asked for a streamed answer */
/* The request came from another node (node.listen): use local agents only,
 * never forward it again (no loops between nodes). */
#define IPC_REQ_F_NO_FORWARD 0x02
#define IPC_REQ_NO_FORWARD IPC_REQ_F_NO_FORWARD

/* A header pair or model to encode (C strings or pointer+length). */
struct ipc_header_in {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/*
 * Decode one frame from buf[0..len).
 * Returns the frame size (> 0) and fills *msg; 0 if more bytes are needed;
 * -1 on a bad frame, with *why set to a static reason for the log.
 * A frame whose header says more than IPC_MAX_PAYLOAD is rejected as soon
 * as the header is in, without waiting for the payload.
 */
ssize_t ipc_decode(const uint8_t *buf, size_t len, struct ipc_msg *msg, const char **why);

/*
 * Encode a message as one frame appended to out. For list fields the
 * caller fills the matching *_in arrays below instead of the ipc_list.
 * Returns 0, or -1 if out's bound would be exceeded or a field is too big
 * (nothing is appended then).
 */
struct ipc_encode_lists {
	const struct ipc_header_in *headers; /* req_start, resp_head, resp_error */
	size_t nheaders;
	const struct ipc_model *models; /* models_list, agent_up, agent_models */
	size_t nmodels;
	const struct ipc_namespace *namespaces; /* namespaces */
	size_t nnamespaces;
	const struct ipc_token *tokens;         /* namespaces */
	size_t ntokens;
	const struct ipc_remote_agent *ragents; /* remote_agents */
	size_t nragents;
	const struct ipc_remote_model *rmodels; /* remote_agents */
	size_t nrmodels;
	const struct ipc_key *keys;             /* keys */
	size_t nkeys;
	const struct ipc_key_allow *key_allow;  /* keys */
	size_t nkey_allow;
	const struct ipc_usage *usages;         /* usage, usage_batch */
	size_t nusages;
	const struct ipc_key_load *key_loads;   /* key_load, key_remote */
	size_t nkey_loads;
};
int ipc_encode(struct buf *out, const struct ipc_msg *msg, const struct ipc_encode_lists *lists);

/* s as a C string in dst (size > 0): cut at size - 1 bytes or at a NUL,
 * like snprintf's "%.*s" but without the format engine. Returns the length. */
size_t ipc_str_copy(char *dst, size_t size, struct ipc_str s);

/* Walk a decoded list. Return 1 with the next entry, 0 at the end. The
 * decoder already validated every entry, so these cannot fail. */
void ipc_list_begin(struct ipc_list_iter *it, const struct ipc_list *list);
int ipc_header_next(struct ipc_list_iter *it, struct ipc_str *name, struct ipc_str *value);
int ipc_model_next(struct ipc_list_iter *it, struct ipc_model *model);
int ipc_namespace_next(struct ipc_list_iter *it, struct ipc_namespace *ns);
int ipc_token_next(struct ipc_list_iter *it, struct ipc_token *token);
int ipc_remote_agent_next(struct ipc_list_iter *it, struct ipc_remote_agent *agent);
int ipc_remote_model_next(struct ipc_list_iter *it, struct ipc_remote_model *model);
int ipc_key_next(struct ipc_list_iter *it, struct ipc_key *key);
int ipc_key_allow_next(struct ipc_list_iter *it, struct ipc_key_allow *allow);
int ipc_usage_next(struct ipc_list_iter *it, struct ipc_usage *usage);
int ipc_key_load_next(struct ipc_list_iter *it, struct ipc_key_load *load);

/* One usage record appended to out as an entry of a USAGE or USAGE_BATCH
 * list (agentd keeps records encoded and sends them on as a raw list: an
 * ipc_list and lists == NULL). -1: too large, or out's bound. */
int ipc_usage_encode(struct buf *out, const struct ipc_usage *u);
/* Encoded size of one list entry (to fill frames up to IPC_MAX_PAYLOAD). */
size_t ipc_model_size(const struct ipc_model *m);
size_t ipc_namespace_size(const struct ipc_namespace *ns);
size_t ipc_token_size(const struct ipc_token *t);
size_t ipc_remote_agent_size(const struct ipc_remote_agent *a);
size_t ipc_remote_model_size(const struct ipc_remote_model *m);
size_t ipc_key_size(const struct ipc_key *k);
size_t ipc_key_allow_size(const struct ipc_key_allow *a);
size_t ipc_usage_size(const struct ipc_usage *u);
size_t ipc_key_load_size(const struct ipc_key_load *k);

/* Compare an ipc_str with a C string. */
int ipc_str_eq(struct ipc_str s, const char *c);

#endif
