/*
 * tl_config: tokilake.yaml. See tl_config.h for the contract and
 * man/tokilake.yaml.5.in for what each key means.
 *
 * The tables below are the single description of the file: defaults,
 * bounds, parsing, the -nv printout, the reload check and the list of
 * keys the documentation test checks all come from them. What the tables
 * cannot say (rules between keys) is checked in check_rules().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apikey.h"
#include "cfg_table.h"
#include "cfg_value.h"
#include "log.h"
#include "tl_config.h"
#include "xmalloc.h"

#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif

#define KiB(n) ((uint64_t)(n) << 10)
#define MiB(n) ((uint64_t)(n) << 20)
#define GiB(n) ((uint64_t)(n) << 30)
#define SEC(n) ((uint64_t)(n) * 1000)
#define MINUTES(n) ((uint64_t)(n) * 60 * 1000)
#define HOUR(n) ((uint64_t)(n) * 3600 * 1000)

#define WORKERS_MAX 256

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };

static int
check_address(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *value)
{
	const char *why = cfg_check_address(value);

	return why == NULL ? 0 : cfg_error(ctx, node->line, dotted, "%s", why);
}

static int
check_namespace(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *name)
{
	if (!cfg_namespace_valid(name, strlen(name)))
		return cfg_error(ctx, node->line, dotted, "%s", CFG_NAMESPACE_RULE);
	return 0;
}

static int
check_token_hash(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *value)
{
	const char *why = cfg_check_token_hash(value);

	if (why != NULL)
		return cfg_error(ctx, node->line, dotted, "%s", why);
	cfg_token_hash_lower(value);
	return 0;
}

/* keys: any keys: block, even an empty one, says the node has keys
 * (auth.h: no anonymous loopback default). */
static int
parse_keys_block(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	((struct tl_config *)base)->keys_block = 1;
	return cfg_parse_typed(ctx, k, dotted, v, base);
}

/* workers: a number, or "auto" for one per online CPU. */
static int
parse_workers(struct cfg_ctx *ctx, const struct cfg_key *k, const char *dotted,
    const struct ynode *v, void *base)
{
	struct tl_config *conf = base;
	uint64_t n;

	if (v->type == YNODE_SCALAR && strcmp(v->u.scalar.s, "auto") == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		conf->workers_auto = 1;
		conf->workers = ncpu < 1 ? 1 : ncpu > WORKERS_MAX ? WORKERS_MAX : (unsigned)ncpu;
		return 0;
	}
	if (v->type != YNODE_SCALAR || cfg_parse_uint(v->u.scalar.s, &n) == -1 || n < k->min ||
	    n > k->max)
		return cfg_error(ctx, v->line, dotted,
		    "must be a number between %llu and %llu, or auto", (unsigned long long)k->min,
		    (unsigned long long)k->max);
	conf->workers_auto = 0;
	conf->workers = (unsigned)n;
	return 0;
}

static void
print_workers(FILE *fp, const struct cfg_key *k, const void *base)
{
	const struct tl_config *conf = base;

	if (conf->workers_auto)
		fputs(" auto\n", fp);
	else
		fprintf(fp, " %u\n", conf->workers);
}

/* A listener's TLS needs both files, or neither (plain HTTP). */
static int
listen_done(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, void *elem)
{
	struct tl_http_listen *l = elem;
	char tls[600];

	l->line = node->line;
	if ((l->tls_cert == NULL) != (l->tls_key == NULL)) {
		snprintf(tls, sizeof(tls), "%s.tls", dotted);
		return cfg_error(ctx, cfg_line(ctx->lines, tls), tls, "needs both cert and key");
	}
	return 0;
}

static int
namespace_done(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, void *elem)
{
	((struct tl_namespace *)elem)->line = node->line;
	return 0;
}

static const struct cfg_key log_keys[] = {
	{ .name = "level", .type = CFG_ENUM, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, log.level), .def = "info", .words = log_levels },
	{ .name = "syslog", .type = CFG_BOOL, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, log.use_syslog), .def = "false" },
	{ .name = "file", .type = CFG_STRING, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, log.file) },
	{ 0 }
};

static const struct cfg_key listen_tls_keys[] = {
	{ .name = "cert", .type = CFG_STRING, CFG_FIELD(struct tl_http_listen, tls_cert) },
	{ .name = "key", .type = CFG_STRING, CFG_FIELD(struct tl_http_listen, tls_key) },
	{ 0 }
};

static const struct cfg_key listen_keys[] = {
	{ .name = "address", .type = CFG_STRING, .flags = CFG_REQUIRED,
	    CFG_FIELD(struct tl_http_listen, address), .check = check_address },
	{ .name = "tls", .type = CFG_MAPPING, .sub = listen_tls_keys },
	{ 0 }
};

static const struct cfg_key http_keys[] = {
	{ .name = "listen", .type = CFG_BLOCKS, CFG_FIELD(struct tl_config, http.listen),
	    .count_off = offsetof(struct tl_config, http.nlisten),
	    .elem_size = sizeof(struct tl_http_listen), .sub = listen_keys, .min = 1,
	    .shorthand = "address", .def = "127.0.0.1:8080", .done = listen_done },
	{ .name = "http2", .type = CFG_BOOL, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.http2), .def = "false" },
	{ .name = "max_body_size", .type = CFG_SIZE, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.max_body_size), .min = KiB(1), .max = GiB(1),
	    .def = "16MiB" },
	{ .name = "header_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.header_timeout_ms), .min = 100, .max = MINUTES(10),
	    .def = "10s" },
	{ .name = "idle_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.idle_timeout_ms), .min = SEC(1), .max = HOUR(1),
	    .def = "60s" },
	{ .name = "max_connections", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.max_connections), .min = 1, .max = 1000000,
	    .def = "4096" },
	{ .name = "first_byte_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.first_byte_timeout_ms), .min = 100, .max = HOUR(1),
	    .def = "5m" },
	{ .name = "stream_idle_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.stream_idle_timeout_ms), .min = 100, .max = HOUR(1),
	    .def = "2m" },
	/* below h2o 2.2.5's own cap (H2O_MAX_REQLEN, about 408KiB), which answers a plain 400 */
	{ .name = "max_header_size", .type = CFG_SIZE, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.max_header_size), .min = KiB(1), .max = KiB(256),
	    .def = "64KiB" },
	{ .name = "body_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.body_timeout_ms), .min = 100, .max = MINUTES(10),
	    .def = "30s" },
	/* a request held while the worker's agentd link is down (agentd respawning) */
	{ .name = "agentd_wait", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.agentd_wait_ms), .min = 0, .max = MINUTES(1),
	    .def = "5s" },
	/* serve requests that present no key (all models) even beyond loopback */
	{ .name = "anonymous", .type = CFG_BOOL, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.anonymous), .def = "false" },
	/* admission queue (issue 15): a request waits while every replica of
	 * its model is at capacity, fair between keys (agentd's queue.c) */
	{ .name = "queue_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.queue_timeout_ms), .min = 0, .max = HOUR(1),
	    .def = "30s" },
	{ .name = "queue_max", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, http.queue_max), .min = 1, .max = 100000,
	    .def = "256" },
	{ 0 }
};

static const struct cfg_key agents_tls_keys[] = {
	{ .name = "cert", .type = CFG_STRING, CFG_FIELD(struct tl_config, agents.tls_cert) },
	{ .name = "key", .type = CFG_STRING, CFG_FIELD(struct tl_config, agents.tls_key) },
	{ 0 }
};

static const struct cfg_key agents_keys[] = {
	{ .name = "listen", .type = CFG_STRING, CFG_FIELD(struct tl_config, agents.listen),
	    .def = "0.0.0.0:7740", .check = check_address },
	{ .name = "tls", .type = CFG_MAPPING, .sub = agents_tls_keys },
	{ .name = "plaintext", .type = CFG_BOOL, CFG_FIELD(struct tl_config, agents.plaintext),
	    .def = "false" },
	{ .name = "max_agents", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.max_agents), .min = 1, .max = 1000000,
	    .def = "10000" },
	{ .name = "max_message_size", .type = CFG_SIZE, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.max_message_size), .min = KiB(16), .max = MiB(256),
	    .def = "4MiB" },
	{ .name = "max_streams_per_agent", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.max_streams_per_agent), .min = 1, .max = 65535,
	    .def = "256" },
	{ .name = "ping_interval", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.ping_interval_ms), .min = 100, .max = MINUTES(10),
	    .def = "5s" },
	{ .name = "ping_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.ping_timeout_ms), .min = SEC(1), .max = HOUR(1),
	    .def = "15s" },
	{ .name = "handshake_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.handshake_timeout_ms), .min = 100,
	    .max = MINUTES(5), .def = "5s" },
	/* an offer the agent has not accepted by then goes to another replica */
	{ .name = "accept_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.accept_timeout_ms), .min = 10, .max = MINUTES(1),
	    .def = "250ms" },
	/* after agentd starts, a request for a known namespace waits this long for its agents */
	{ .name = "relink_grace", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.relink_grace_ms), .min = 0, .max = MINUTES(1),
	    .def = "5s" },
	/* the router: retry before the first byte, circuit breaker (route.h) */
	{ .name = "retries", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.retries), .min = 0, .max = 5, .def = "1" },
	{ .name = "breaker_failures", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.breaker_failures), .min = 0, .max = 1000,
	    .def = "5" },
	{ .name = "breaker_cooldown", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, agents.breaker_cooldown_ms), .min = 100,
	    .max = MINUTES(10), .def = "10s" },
	{ 0 }
};

static const struct cfg_key namespace_keys[] = {
	{ .name = "tokens", .type = CFG_LIST, .flags = CFG_RELOAD | CFG_REQUIRED,
	    CFG_FIELD(struct tl_namespace, token_hashes),
	    .count_off = offsetof(struct tl_namespace, ntoken_hashes), .min = 1,
	    .check = check_token_hash },
	{ 0 }
};

static int
check_key_name(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *name)
{
	if (!apikey_name_valid(name))
		return cfg_error(ctx, node->line, dotted,
		    "a key name is 1 to %d of A-Z a-z 0-9 . _ -", APIKEY_NAME_MAX);
	return 0;
}

static int
check_key_pattern(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *value)
{
	if (!apikey_pattern_valid(value))
		return cfg_error(ctx, node->line, dotted,
		    "a pattern is 1 to %d printable characters without spaces, '*' matching any "
		    "run of them (e.g. \"lab:*\", \"*:llama3*\")", APIKEY_PATTERN_MAX);
	return 0;
}

static int
check_key_owner(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *value)
{
	if (strlen(value) > APIKEY_OWNER_MAX)
		return cfg_error(ctx, node->line, dotted, "must be at most %d bytes",
		    APIKEY_OWNER_MAX);
	return 0;
}

/* n digits at s, as a number; -1 if one is not a digit. */
static int
digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYY-MM-DD" (midnight UTC) or "YYYY-MM-DDTHH:MM:SSZ": unix seconds, or -1. */
static int64_t
parse_expires(const char *s)
{
	struct tm tm = { 0 };
	size_t n = strlen(s);
	time_t t;

	if ((n != 10 && n != 20) || s[4] != '-' || s[7] != '-')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	if (n == 20) {
		if ((s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
		    (s[19] != 'Z' && s[19] != 'z'))
			return -1;
		tm.tm_hour = digits(s + 11, 2);
		tm.tm_min = digits(s + 14, 2);
		tm.tm_sec = digits(s + 17, 2);
	}
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 59)
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	/* timegm folds "02-31" into March: a date that does not exist is refused */
	if (tm.tm_mday != digits(s + 8, 2))
		return -1;
	return (int64_t)t;
}

static int
check_key_expires(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *value)
{
	if (parse_expires(value) <= 0)
		return cfg_error(ctx, node->line, dotted,
		    "must be a UTC time \"2027-06-30T00:00:00Z\" or a date \"2027-06-30\"");
	return 0;
}

static int
key_done(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, void *elem)
{
	struct tl_key *k = elem;

	k->line = node->line;
	k->expires_at = k->expires != NULL ? parse_expires(k->expires) : 0;
	return 0;
}

/* Defaults: every model, no limits, never expires. */
static const struct cfg_key key_keys[] = {
	{ .name = "hash", .type = CFG_STRING, .flags = CFG_RELOAD | CFG_REQUIRED,
	    CFG_FIELD(struct tl_key, hash), .check = check_token_hash },
	{ .name = "owner", .type = CFG_STRING, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_key, owner), .check = check_key_owner },
	{ .name = "allow", .type = CFG_LIST, .flags = CFG_RELOAD, CFG_FIELD(struct tl_key, allow),
	    .count_off = offsetof(struct tl_key, nallow), .max = APIKEY_PATTERNS_MAX,
	    .def = "*", .check = check_key_pattern },
	{ .name = "rpm", .type = CFG_UINT, .flags = CFG_RELOAD, CFG_FIELD(struct tl_key, rpm),
	    .min = 0, .max = 100000000, .def = "0" },
	{ .name = "tpm", .type = CFG_UINT, .flags = CFG_RELOAD, CFG_FIELD(struct tl_key, tpm),
	    .min = 0, .max = 4000000000u, .def = "0" },
	{ .name = "max_in_flight", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_key, max_in_flight), .min = 0, .max = 1000000, .def = "0" },
	{ .name = "tokens_per_day", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_key, tokens_per_day), .min = 0, .max = 1000000000000000ULL,
	    .def = "0" },
	{ .name = "tokens_per_month", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_key, tokens_per_month), .min = 0, .max = 1000000000000000ULL,
	    .def = "0" },
	{ .name = "expires", .type = CFG_STRING, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_key, expires), .check = check_key_expires },
	{ .name = "disabled", .type = CFG_BOOL, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_key, disabled), .def = "false" },
	{ 0 }
};

/* Secrets print as "(secret)" so -nv output can be shown to anyone. */
static void
print_secret(FILE *fp, const struct cfg_key *k, const void *base)
{
	const char *s = *(char *const *)((const char *)base + k->off);

	fputs(s != NULL ? " \"(secret)\"\n" : " ~\n", fp);
}

/* Node names end up in agent ids "<node>/<nonce>/<id>": the namespace rule. */
static int
check_node_name(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *name)
{
	if (!cfg_namespace_valid(name, strlen(name)))
		return cfg_error(ctx, node->line, dotted, "a node name is 1 to 63 of a-z A-Z 0-9 "
		    ". _ - and starts with a letter or digit");
	return 0;
}

/* "h2c://host:port" or "https://host:port", nothing after the port. */
static int
check_internal_url(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node,
    char *value)
{
	const char *rest, *why;

	if (strncmp(value, "h2c://", 6) == 0)
		rest = value + 6;
	else if (strncmp(value, "https://", 8) == 0)
		rest = value + 8;
	else
		return cfg_error(ctx, node->line, dotted,
		    "must start with h2c:// or https:// (e.g. h2c://10.0.0.5:7741)");
	if (strchr(rest, '/') != NULL)
		return cfg_error(ctx, node->line, dotted, "must be scheme://host:port with no path");
	if ((why = cfg_check_address(rest)) != NULL)
		return cfg_error(ctx, node->line, dotted, "%s", why);
	return 0;
}

static const struct cfg_key database_keys[] = {
	{ .name = "url", .type = CFG_STRING, .flags = CFG_SECRET,
	    CFG_FIELD(struct tl_config, database.url), .print = print_secret },
	{ .name = "url_file", .type = CFG_STRING, CFG_FIELD(struct tl_config, database.url_file) },
	{ 0 }
};

static const struct cfg_key node_tls_keys[] = {
	{ .name = "cert", .type = CFG_STRING, CFG_FIELD(struct tl_config, node.tls_cert) },
	{ .name = "key", .type = CFG_STRING, CFG_FIELD(struct tl_config, node.tls_key) },
	{ 0 }
};

static const struct cfg_key node_keys[] = {
	{ .name = "name", .type = CFG_STRING, CFG_FIELD(struct tl_config, node.name),
	    .check = check_node_name },
	{ .name = "listen", .type = CFG_STRING, CFG_FIELD(struct tl_config, node.listen),
	    .check = check_address },
	{ .name = "tls", .type = CFG_MAPPING, .sub = node_tls_keys },
	{ .name = "internal_url", .type = CFG_STRING,
	    CFG_FIELD(struct tl_config, node.internal_url), .check = check_internal_url },
	{ .name = "secret", .type = CFG_STRING, .flags = CFG_SECRET,
	    CFG_FIELD(struct tl_config, node.secret), .print = print_secret },
	{ .name = "secret_file", .type = CFG_STRING,
	    CFG_FIELD(struct tl_config, node.secret_file) },
	{ .name = "heartbeat_interval", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, node.heartbeat_interval_ms), .min = 100,
	    .max = MINUTES(5), .def = "2s" },
	{ .name = "ttl", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, node.ttl_ms), .min = 500, .max = HOUR(1), .def = "10s" },
	{ .name = "handshake_timeout", .type = CFG_DURATION,
	    CFG_FIELD(struct tl_config, node.handshake_timeout_ms), .min = 100,
	    .max = MINUTES(5), .def = "5s" },
	{ 0 }
};

/* usage: where the standalone node appends its per-request usage lines */
static const struct cfg_key usage_keys[] = {
	{ .name = "log_file", .type = CFG_STRING, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, usage.log_file),
	    .def = LOCALSTATEDIR "/lib/tokilake/usage.log" },
	{ 0 }
};

static const struct cfg_key top_keys[] = {
	{ .name = "workers", .type = CFG_UINT, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, workers), .min = 1, .max = WORKERS_MAX, .def = "auto",
	    .parse = parse_workers, .print = print_workers },
	{ .name = "pid_file", .type = CFG_STRING, CFG_FIELD(struct tl_config, pid_file) },
	{ .name = "runtime_dir", .type = CFG_STRING, CFG_FIELD(struct tl_config, runtime_dir),
	    .def = RUNSTATEDIR "/tokilake" },
	{ .name = "shutdown_timeout", .type = CFG_DURATION, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, shutdown_timeout_ms), .min = 0, .max = HOUR(1),
	    .def = "30s" },
	{ .name = "log", .type = CFG_MAPPING, .sub = log_keys },
	{ .name = "http", .type = CFG_MAPPING, .sub = http_keys },
	{ .name = "agents", .type = CFG_MAPPING, .sub = agents_keys },
	{ .name = "namespaces", .type = CFG_NAMED, .flags = CFG_RELOAD,
	    CFG_FIELD(struct tl_config, namespaces),
	    .count_off = offsetof(struct tl_config, nnamespaces),
	    .elem_size = sizeof(struct tl_namespace),
	    .name_off = offsetof(struct tl_namespace, name),
	    .sub = namespace_keys, .check = check_namespace, .done = namespace_done },
	{ .name = "database", .type = CFG_MAPPING, .sub = database_keys },
	{ .name = "node", .type = CFG_MAPPING, .sub = node_keys },
	{ .name = "keys", .type = CFG_NAMED, .flags = CFG_RELOAD, CFG_FIELD(struct tl_config, keys),
	    .count_off = offsetof(struct tl_config, nkeys), .elem_size = sizeof(struct tl_key),
	    .name_off = offsetof(struct tl_key, name), .sub = key_keys,
	    .check = check_key_name, .done = key_done, .parse = parse_keys_block },
	{ .name = "usage", .type = CFG_MAPPING, .sub = usage_keys },
	{ 0 }
};

/*
 * A secret from a file: its first line, without the line end. The file
 * must not be empty. Errors name the key that gave the file's path.
 */
static int
read_secret(struct cfg_ctx *ctx, const char *dotted, const char *path, char **out)
{
	char err[600], *text, *nl;
	size_t len;

	if (cfg_read_file(path, 64 * 1024, &text, &len, err, sizeof(err)) == -1)
		return cfg_error(ctx, cfg_line(ctx->lines, dotted), dotted, "%s", err);
	if ((nl = strpbrk(text, "\r\n")) != NULL)
		*nl = '\0';
	if (text[0] == '\0') {
		secure_wipe(text, len);
		free(text);
		return cfg_error(ctx, cfg_line(ctx->lines, dotted), dotted,
		    "%s: the first line is empty", path);
	}
	*out = xstrdup(text);
	secure_wipe(text, len);
	free(text);
	return 0;
}

/* database and node: secrets from files or the environment, the keys
 * PostgreSQL mode needs, and the node name (the host name by default). */
static int
resolve_network(struct cfg_ctx *ctx, struct tl_config *conf)
{
	const char *env;
	char host[256];

	if (conf->database.url != NULL && conf->database.url_file != NULL)
		return cfg_error(ctx, cfg_line(ctx->lines, "database.url_file"),
		    "database.url_file", "database.url is set too; remove one of them");
	if (conf->database.url_file != NULL &&
	    read_secret(ctx, "database.url_file", conf->database.url_file, &conf->database.url) == -1)
		return -1;
	if (conf->database.url == NULL && (env = getenv("DATABASE_URL")) != NULL && env[0] != '\0')
		conf->database.url = xstrdup(env);

	if (conf->node.secret != NULL && conf->node.secret_file != NULL)
		return cfg_error(ctx, cfg_line(ctx->lines, "node.secret_file"), "node.secret_file",
		    "node.secret is set too; remove one of them");
	if (conf->node.secret_file != NULL &&
	    read_secret(ctx, "node.secret_file", conf->node.secret_file, &conf->node.secret) == -1)
		return -1;
	if ((conf->node.tls_cert == NULL) != (conf->node.tls_key == NULL))
		return cfg_error(ctx, cfg_line(ctx->lines, "node.tls"), "node.tls",
		    "needs both cert and key");
	if (conf->node.ttl_ms <= conf->node.heartbeat_interval_ms) {
		char a[32];

		cfg_format_duration(conf->node.heartbeat_interval_ms, a, sizeof(a));
		return cfg_error(ctx, cfg_line(ctx->lines, "node.ttl"), "node.ttl",
		    "must be longer than node.heartbeat_interval (%s)", a);
	}
	if (conf->node.name == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "tokilake");
		host[sizeof(host) - 1] = '\0';
		if (conf->database.url != NULL && !cfg_namespace_valid(host, strlen(host)))
			return cfg_error(ctx, cfg_line(ctx->lines, "node"), "node.name",
			    "the host name \"%s\" is not a valid node name; set node.name", host);
		conf->node.name = xstrdup(host);
	}
	if (conf->node.listen != NULL && conf->agents.listen != NULL &&
	    strcmp(conf->node.listen, conf->agents.listen) == 0)
		return cfg_error(ctx, cfg_line(ctx->lines, "node.listen"), "node.listen",
		    "%s is also agents.listen; use another port", conf->node.listen);
	for (size_t i = 0; conf->node.listen != NULL && i < conf->http.nlisten; i++)
		if (strcmp(conf->node.listen, conf->http.listen[i].address) == 0)
			return cfg_error(ctx, cfg_line(ctx->lines, "node.listen"), "node.listen",
			    "%s is also http.listen[%zu]; use another port", conf->node.listen, i);
	if (conf->node.internal_url != NULL &&
	    (strncmp(conf->node.internal_url, "https://", 8) == 0) != (conf->node.tls_cert != NULL))
		return cfg_error(ctx, cfg_line(ctx->lines, "node.internal_url"),
		    "node.internal_url", "must be https:// when node.tls is set and h2c:// "
		    "when it is not");
	if (conf->database.url == NULL)
		return 0;
	/* PostgreSQL mode: other nodes must be able to reach and trust us */
	if (conf->node.listen == NULL)
		return cfg_error(ctx, cfg_line(ctx->lines, "node"), "node.listen",
		    "is required when a database is configured");
	if (conf->node.internal_url == NULL)
		return cfg_error(ctx, cfg_line(ctx->lines, "node"), "node.internal_url",
		    "is required when a database is configured");
	if (conf->node.secret == NULL)
		return cfg_error(ctx, cfg_line(ctx->lines, "node"), "node.secret_file",
		    "is required when a database is configured (or node.secret)");
	return 0;
}

static int
is_loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strncmp(a, "[::1]:", 6) == 0 ||
	    strncmp(a, "localhost:", 10) == 0;
}

int
tl_config_http_loopback_only(const struct tl_config *conf)
{
	for (size_t i = 0; i < conf->http.nlisten; i++)
		if (!is_loopback(conf->http.listen[i].address))
			return 0;
	return 1;
}

/* One API key per hash: a secret must name one key. And secure by
 * default: a node open beyond loopback needs keys (PostgreSQL mode keeps
 * them in the database, so it is not refused here). */
static int
check_keys(struct cfg_ctx *ctx, const struct tl_config *conf)
{
	char key[600];

	for (size_t i = 0; i < conf->nkeys; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(conf->keys[i].hash, conf->keys[j].hash) == 0) {
				snprintf(key, sizeof(key), "keys.%s.hash", conf->keys[i].name);
				return cfg_error(ctx, cfg_line(ctx->lines, key), key,
				    "the same hash as keys.%s; each key needs its own secret",
				    conf->keys[j].name);
			}
	if (conf->database.url == NULL && conf->nkeys == 0 && !conf->http.anonymous &&
	    !tl_config_http_loopback_only(conf)) {
		for (size_t i = 0; i < conf->http.nlisten; i++) {
			const char *a = conf->http.listen[i].address;

			if (is_loopback(a))
				continue;
			snprintf(key, sizeof(key), "http.listen[%zu]", i);
			return cfg_error(ctx, conf->http.listen[i].line, key,
			    "%s is beyond loopback and no API key is configured: anyone who can "
			    "reach it could use every model. Add a key (tokilake key new NAME "
			    "prints one and its keys: lines), listen on 127.0.0.1 only, or set "
			    "http.anonymous: true to serve without keys", a);
		}
	}
	return 0;
}

/* Rules between keys, which no single table entry can state. */
static int
check_rules(struct cfg_ctx *ctx, const struct tl_config *conf)
{
	int has_tls = conf->agents.tls_cert != NULL || conf->agents.tls_key != NULL;
	char a[32], key[64];

	if (conf->agents.plaintext && has_tls)
		return cfg_error(ctx, cfg_line(ctx->lines, "agents.plaintext"), "agents.plaintext",
		    "is true but agents.tls is set too; remove one of them");
	if (!conf->agents.plaintext && !has_tls)
		return cfg_error(ctx, cfg_line(ctx->lines, "agents.tls"), "agents.tls",
		    "cert and key are required unless agents.plaintext is true");
	if ((conf->agents.tls_cert == NULL) != (conf->agents.tls_key == NULL))
		return cfg_error(ctx, cfg_line(ctx->lines, "agents.tls"), "agents.tls",
		    "needs both cert and key");
	if (conf->agents.ping_timeout_ms <= conf->agents.ping_interval_ms) {
		cfg_format_duration(conf->agents.ping_interval_ms, a, sizeof(a));
		return cfg_error(ctx, cfg_line(ctx->lines, "agents.ping_timeout"),
		    "agents.ping_timeout", "must be longer than agents.ping_interval (%s)", a);
	}
	/* a second bind of the same address would only fail at start-up */
	for (size_t i = 0; i < conf->http.nlisten; i++) {
		const char *addr = conf->http.listen[i].address;

		snprintf(key, sizeof(key), "http.listen[%zu]", i);
		for (size_t j = 0; j < i; j++)
			if (strcmp(addr, conf->http.listen[j].address) == 0)
				return cfg_error(ctx, conf->http.listen[i].line, key,
				    "%s is already listed in http.listen[%zu]", addr, j);
		if (strcmp(addr, conf->agents.listen) == 0)
			return cfg_error(ctx, conf->http.listen[i].line, key,
			    "%s is also agents.listen; use another port", addr);
	}
	return 0;
}

struct tl_config *
tl_config_parse(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct tl_config *conf = xcalloc(1, sizeof(*conf));
	struct cfg_ctx ctx = { .path = path, .err = err, .errlen = errlen };
	struct ynode *root = NULL;

	conf->path = xstrdup(path);
	conf->text = xmalloc(len + 1);
	memcpy(conf->text, text, len);
	conf->text[len] = '\0';
	conf->text_len = len;
	conf->lines = xcalloc(1, sizeof(*conf->lines));
	ctx.lines = conf->lines;
	cfg_defaults(top_keys, conf);

	if (len > TL_CONFIG_MAX_SIZE) {
		cfg_error(&ctx, 1, NULL, "file is larger than %d bytes", TL_CONFIG_MAX_SIZE);
		goto fail;
	}
	if ((root = ytree_parse(path, text, len, err, errlen)) == NULL)
		goto fail;
	if (cfg_parse_block(&ctx, top_keys, "", root, conf) == -1 || check_rules(&ctx, conf) == -1 ||
	    resolve_network(&ctx, conf) == -1 || check_keys(&ctx, conf) == -1)
		goto fail;
	ytree_free(root);
	return conf;
fail:
	ytree_free(root);
	tl_config_free(conf);
	return NULL;
}

struct tl_config *
tl_config_load(const char *path, char *err, size_t errlen)
{
	struct tl_config *conf;
	char *text;
	size_t len;

	if (cfg_read_file(path, TL_CONFIG_MAX_SIZE, &text, &len, err, errlen) == -1)
		return NULL;
	conf = tl_config_parse(path, text, len, err, errlen);
	free(text);
	return conf;
}

void
tl_config_free(struct tl_config *conf)
{
	if (conf == NULL)
		return;
	cfg_free(top_keys, conf);
	cfg_lines_free(conf->lines);
	free(conf->lines);
	free(conf->path);
	free(conf->text);
	free(conf);
}

int
tl_config_check_reload(const struct tl_config *old, const struct tl_config *new, char *err,
    size_t errlen)
{
	struct cfg_ctx ctx = { .path = new->path, .err = err, .errlen = errlen,
		.lines = new->lines };

	return cfg_check_reload(&ctx, top_keys, "", old, new, "restart tokilake");
}

void
tl_config_print(FILE *fp, const struct tl_config *conf)
{
	cfg_print(fp, top_keys, conf, 0);
}

void
tl_config_keys(void (*fn)(const char *dotted, void *arg), void *arg)
{
	cfg_walk_names(top_keys, fn, arg);
}

const struct tl_namespace *
tl_config_namespace(const struct tl_config *conf, const char *name, size_t len)
{
	for (size_t i = 0; i < conf->nnamespaces; i++) {
		const struct tl_namespace *ns = &conf->namespaces[i];
		if (strlen(ns->name) == len && memcmp(ns->name, name, len) == 0)
			return &conf->namespaces[i];
	}
	return NULL;
}
