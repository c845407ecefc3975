/*
 * tl_config: tokilake.yaml, parsed and validated into one immutable object.
 *
 * A reload parses the new file into a NEW object; the old one stays in
 * use until the new one is fully accepted (see master/reload.c). Every
 * error names the file, the line and the dotted key:
 *     /etc/tokilake/tokilake.yaml:12: http.max_body_size: must be between 1KiB and 1GiB
 * Unknown keys are errors. Durations accept "500ms", "10s", "5m", "1h" or a
 * bare number of seconds; sizes accept "512", "64KiB", "16MiB", "1GiB"
 * (KiB/MiB/GiB = 1024^n, KB/MB/GB = 1000^n). An error about the whole
 * file names the key "(top level)"; a file that cannot be read at all
 * gives "FILE: cannot read: reason". The tables behind all this are in
 * tl_config.c (see cfg_table.h); man/tokilake.yaml.5.in documents them.
 */
#ifndef TL_TL_CONFIG_H
#define TL_TL_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TL_DEFAULT_CONFIG_PATH SYSCONFDIR "/tokilake/tokilake.yaml"
/* Larger files are refused: the text must fit one IPC CONFIG message. */
#define TL_CONFIG_MAX_SIZE (256 * 1024)

struct tl_http_listen {
	char *address;  /* "host:port", "[v6]:port" */
	char *tls_cert; /* NULL = plain HTTP */
	char *tls_key;
	int line;       /* where it was declared, for errors found later (bind) */
};

/* A namespace an agent may register, with the hash of its token. */
struct tl_namespace {
	char *name;
	char **token_hashes; /* "sha256:<hex>", several to allow rotation */
	size_t ntoken_hashes;
	int line;
};

/* An end-user API key (keys:), known by the hash of its secret; what
 * each field means is in apikey.h (struct apikey). */
struct tl_key {
	char *name;
	char *hash;          /* "sha256:<hex>" */
	char *owner;         /* NULL = none */
	char **allow;        /* patterns over "namespace:model" */
	size_t nallow;
	uint32_t rpm;
	uint32_t tpm;
	uint32_t max_in_flight;
	uint64_t tokens_per_day;
	uint64_t tokens_per_month;
	char *expires;       /* as written; NULL = never */
	int64_t expires_at;  /* unix seconds from expires; 0 = never */
	int disabled;
	int line;
};

struct tl_config {
	char *path;       /* the file it came from */
	char *text;       /* the file's bytes, NUL-terminated: sent to children */
	size_t text_len;

	unsigned workers;        /* resolved: "auto" = number of CPUs */
	int workers_auto;        /* 1 if the file said auto (or nothing) */
	char *pid_file;          /* NULL = none */
	char *runtime_dir;       /* agentd.sock lives here */
	uint32_t shutdown_timeout_ms;

	struct {
		int level;       /* enum log_level */
		int use_syslog;
		char *file;      /* NULL = stderr */
	} log;

	struct {
		struct tl_http_listen *listen;
		size_t nlisten;
		int http2;                  /* operator opted in to HTTP/2 */
		size_t max_body_size;       /* 413 above it */
		uint32_t header_timeout_ms; /* whole request head must arrive in this */
		uint32_t idle_timeout_ms;   /* keep-alive connections idle this long close */
		uint32_t max_connections;   /* per worker */
		uint32_t first_byte_timeout_ms;  /* relayed request -> response head */
		uint32_t stream_idle_timeout_ms; /* longest gap between answer chunks */
		/* hardening (issue 12) */
		size_t max_header_size;     /* 431 above it: a request head's bytes */
		uint32_t body_timeout_ms;   /* complete head -> complete body, else 408 */
		uint32_t agentd_wait_ms;    /* agentd link down: a request waits this long, else 503 */
		int anonymous;              /* requests without a key are served (issue 14) */
		/* admission queue (issue 15): every replica at capacity */
		uint32_t queue_timeout_ms;  /* longest wait, then 429; 0 = 429 at once */
		uint32_t queue_max;         /* waiting requests per model, then 429 */
	} http;

	struct {
		char *listen;     /* "host:port" of the gRPC agent listener */
		char *tls_cert;
		char *tls_key;
		int plaintext;    /* h2c, only when explicitly set */
		uint32_t max_agents;
		uint32_t max_message_size;
		uint32_t max_streams_per_agent;
		uint32_t ping_interval_ms;
		uint32_t ping_timeout_ms;
		/* TLS handshake and HTTP/2 preface, counted from accept */
		uint32_t handshake_timeout_ms;
		uint32_t accept_timeout_ms; /* offer -> TaskAccept, else re-offered */
		uint32_t relink_grace_ms;   /* from agentd's start: no_agent waits for a relink */
		/* the router (src/agentd/route.h) */
		uint32_t retries;             /* other replicas tried before the first byte */
		uint32_t breaker_failures;    /* in a row: out of rotation; 0 = never */
		uint32_t breaker_cooldown_ms; /* then one probe */
	} agents;

	struct tl_namespace *namespaces;
	size_t nnamespaces;

	/* end-user API keys (standalone; PostgreSQL mode keeps them in api_keys) */
	struct tl_key *keys;
	size_t nkeys;
	int keys_block; /* a keys: block is there, maybe empty (worker/auth.h) */

	/* PostgreSQL mode: url is resolved from database.url, database.url_file
	 * (its first line) or $DATABASE_URL, in that order; NULL = standalone.
	 * Secrets: never logged, printed as "(secret)". */
	struct {
		char *url;
		char *url_file;
	} database;

	/* This node in a network of nodes (used in PostgreSQL mode). */
	struct {
		char *name;          /* default: the host name */
		char *listen;        /* internal listener for forwarded requests; NULL = none */
		char *tls_cert;      /* NULL = h2c on the internal listener */
		char *tls_key;
		char *internal_url;  /* "h2c://host:port" or "https://host:port" */
		char *secret;        /* resolved from node.secret or node.secret_file */
		char *secret_file;
		uint32_t heartbeat_interval_ms;
		uint32_t ttl_ms;     /* a node silent this long is dead */
		/* TLS handshake and HTTP/2 preface between nodes, both ways */
		uint32_t handshake_timeout_ms;
	} node;

	/* Usage accounting: standalone, one JSON line per request here
	 * (PostgreSQL mode: rollups in the database instead). */
	struct {
		char *log_file;
	} usage;

	struct cfg_lines *lines; /* where each key was seen (tl_config.c only) */
};

/* Read and parse a file. NULL on error with err = "file:line: key: reason". */
struct tl_config *tl_config_load(const char *path, char *err, size_t errlen);
/* Parse text already read (children get it over IPC). Same contract. */
struct tl_config *tl_config_parse(const char *path, const char *text, size_t len, char *err,
    size_t errlen);
void tl_config_free(struct tl_config *conf);

/* Keys a reload cannot change (listeners, runtime_dir). 0 if the new
 * config may replace the old one, -1 with err naming the key otherwise. */
int tl_config_check_reload(const struct tl_config *old, const struct tl_config *new, char *err,
    size_t errlen);

/* Print the effective config as YAML, every key with its value (-nv). */
void tl_config_print(FILE *fp, const struct tl_config *conf);

/* Call fn with every dotted key the file may hold, in table order
 * ("http.listen.tls.cert"; "namespaces.*.tokens" for keys under a name):
 * the documentation test checks each one against the man page and the
 * sample config. */
void tl_config_keys(void (*fn)(const char *dotted, void *arg), void *arg);

/* 1 if every http.listen address is a loopback one (127.0.0.0/8, [::1],
 * localhost): then a node without keys may serve anonymous requests. */
int tl_config_http_loopback_only(const struct tl_config *conf);

/* Find a namespace by name; NULL if none. */
const struct tl_namespace *tl_config_namespace(const struct tl_config *conf, const char *name,
    size_t len);

#endif
