/*
 * tm_config: tokiame.yaml. See tm_config.h for the contract and
 * man/tokiame.yaml.5.in for what each key means.
 *
 * Parsing only checks what the file says; whether the result is enough
 * to run an agent (server, namespace, token, a backend) is decided by
 * tm_config_finish() once the command-line flags are applied, so that
 * `tokiame -a host:port -n ns` works with a file that lacks those keys.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg_table.h"
#include "cfg_value.h"
#include "log.h"
#include "tm_config.h"
#include "xmalloc.h"

#define TM_CONFIG_MAX_SIZE (1024 * 1024)
#define TOKEN_FILE_MAX (64 * 1024)
#define SEC(n) ((uint64_t)(n) * 1000)
#define MINUTES(n) ((uint64_t)(n) * 60 * 1000)
#define HOUR(n) ((uint64_t)(n) * 3600 * 1000)

static const char *const log_levels[] = { "error", "warn", "info", "debug", NULL };
/* enum tm_load_probe */
static const char *const load_probes[] = { "auto", "off", "vllm", "sglang", "llamacpp",
	"ollama", NULL };

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

/* The part of an http(s) URL between "//" and the path; NULL if not one. */
static const char *
url_authority(const char *url, size_t *len)
{
	const char *p;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return NULL;
	*len = strcspn(p, "/?#");
	return p;
}

static int
check_url(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, char *value)
{
	size_t len;
	const char *host = url_authority(value, &len);

	if (host == NULL)
		return cfg_error(ctx, node->line, dotted, "must start with http:// or https://");
	if (len == 0)
		return cfg_error(ctx, node->line, dotted, "has no host after the scheme");
	if (memchr(host, '@', len) != NULL)
		return cfg_error(ctx, node->line, dotted,
		    "must not hold a user or password (put a key in api_key)");
	for (const char *p = value; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return cfg_error(ctx, node->line, dotted, "must not contain spaces");
	return 0;
}

/* Name a backend after its URL's host when the file does not; discover
 * models unless the file lists them (or says otherwise). */
static int
backend_done(struct cfg_ctx *ctx, const char *dotted, const struct ynode *node, void *elem)
{
	struct tm_backend *b = elem;
	const char *host;
	size_t len;

	b->line = node->line;
	if (b->name == NULL && (host = url_authority(b->url, &len)) != NULL)
		b->name = xstrndup(host, len);
	if (node->type != YNODE_MAPPING || ynode_get(node, "discover") == NULL)
		b->discover = b->nmodels == 0;
	return 0;
}

static const struct cfg_key tls_keys[] = {
	{ .name = "ca_file", .type = CFG_STRING, CFG_FIELD(struct tm_config, tls.ca_file) },
	{ .name = "server_name", .type = CFG_STRING, CFG_FIELD(struct tm_config, tls.server_name) },
	{ .name = "insecure_skip_verify", .type = CFG_BOOL,
	    CFG_FIELD(struct tm_config, tls.insecure_skip_verify), .def = "false" },
	{ .name = "plaintext", .type = CFG_BOOL, CFG_FIELD(struct tm_config, tls.plaintext),
	    .def = "false" },
	{ 0 }
};

static const struct cfg_key reconnect_keys[] = {
	{ .name = "initial", .type = CFG_DURATION,
	    CFG_FIELD(struct tm_config, reconnect_initial_ms), .min = 100, .max = HOUR(1),
	    .def = "1s" },
	{ .name = "max", .type = CFG_DURATION, CFG_FIELD(struct tm_config, reconnect_max_ms),
	    .min = 100, .max = HOUR(1), .def = "30s" },
	{ 0 }
};

static const struct cfg_key log_keys[] = {
	{ .name = "level", .type = CFG_ENUM, CFG_FIELD(struct tm_config, log.level),
	    .def = "info", .words = log_levels },
	{ .name = "syslog", .type = CFG_BOOL, CFG_FIELD(struct tm_config, log.use_syslog),
	    .def = "false" },
	{ .name = "file", .type = CFG_STRING, CFG_FIELD(struct tm_config, log.file) },
	{ 0 }
};

static const struct cfg_key backend_keys[] = {
	{ .name = "name", .type = CFG_STRING, CFG_FIELD(struct tm_backend, name) },
	{ .name = "url", .type = CFG_STRING, .flags = CFG_REQUIRED,
	    CFG_FIELD(struct tm_backend, url), .check = check_url },
	{ .name = "api_key", .type = CFG_STRING, .flags = CFG_SECRET,
	    CFG_FIELD(struct tm_backend, api_key) },
	{ .name = "concurrency", .type = CFG_UINT, CFG_FIELD(struct tm_backend, concurrency),
	    .min = 1, .max = 4096, .def = "8" },
	{ .name = "models", .type = CFG_LIST, CFG_FIELD(struct tm_backend, models),
	    .count_off = offsetof(struct tm_backend, nmodels) },
	{ .name = "discover", .type = CFG_BOOL, CFG_FIELD(struct tm_backend, discover) },
	{ .name = "discover_interval", .type = CFG_DURATION,
	    CFG_FIELD(struct tm_backend, discover_interval_ms), .min = SEC(1), .max = HOUR(24),
	    .def = "60s" },
	{ .name = "load_probe", .type = CFG_ENUM, CFG_FIELD(struct tm_backend, load_probe),
	    .def = "auto", .words = load_probes },
	{ 0 }
};

static const struct cfg_key top_keys[] = {
	{ .name = "server", .type = CFG_STRING, CFG_FIELD(struct tm_config, server),
	    .check = check_address },
	{ .name = "servers", .type = CFG_LIST, CFG_FIELD(struct tm_config, servers),
	    .count_off = offsetof(struct tm_config, nservers), .check = check_address },
	{ .name = "namespace", .type = CFG_STRING, CFG_FIELD(struct tm_config, namespace),
	    .check = check_namespace },
	{ .name = "token", .type = CFG_STRING, .flags = CFG_SECRET,
	    CFG_FIELD(struct tm_config, token) },
	{ .name = "token_file", .type = CFG_STRING, CFG_FIELD(struct tm_config, token_file) },
	{ .name = "api_addr", .type = CFG_STRING, CFG_FIELD(struct tm_config, api_addr),
	    .def = TM_DEFAULT_API_ADDR, .check = check_address },
	{ .name = "tls", .type = CFG_MAPPING, .sub = tls_keys },
	{ .name = "reconnect", .type = CFG_MAPPING, .sub = reconnect_keys },
	{ .name = "heartbeat_interval", .type = CFG_DURATION,
	    CFG_FIELD(struct tm_config, heartbeat_interval_ms), .min = 100, .max = MINUTES(10),
	    .def = "5s" },
	{ .name = "shutdown_timeout", .type = CFG_DURATION,
	    CFG_FIELD(struct tm_config, shutdown_timeout_ms), .min = 0, .max = HOUR(1),
	    .def = "30s" },
	{ .name = "log", .type = CFG_MAPPING, .sub = log_keys },
	{ .name = "backends", .type = CFG_BLOCKS, CFG_FIELD(struct tm_config, backends),
	    .count_off = offsetof(struct tm_config, nbackends),
	    .elem_size = sizeof(struct tm_backend), .sub = backend_keys, .shorthand = "url",
	    .done = backend_done },
	{ 0 }
};

/* A node listed twice would get two links from one agent: a typo. */
static int
check_servers(struct cfg_ctx *ctx, const struct tm_config *conf)
{
	if (conf->nservers > TM_MAX_SERVERS)
		return cfg_error(ctx, cfg_line(ctx->lines, "servers"), "servers",
		    "%zu nodes listed, at most %d", conf->nservers, TM_MAX_SERVERS);
	for (size_t i = 0; i < conf->nservers; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(conf->servers[i], conf->servers[j]) == 0)
				return cfg_error(ctx, cfg_line(ctx->lines, "servers"), "servers",
				    "\"%s\" is listed twice", conf->servers[i]);
	return 0;
}

static int
check_rules(struct cfg_ctx *ctx, const struct tm_config *conf)
{
	char d[32], key[64];

	if (conf->token != NULL && conf->token_file != NULL)
		return cfg_error(ctx, cfg_line(ctx->lines, "token_file"), "token_file",
		    "cannot be used together with token; keep one of them");
	if (conf->server != NULL && conf->nservers > 0)
		return cfg_error(ctx, cfg_line(ctx->lines, "servers"), "servers",
		    "cannot be used together with server; list every node under servers");
	if (check_servers(ctx, conf) == -1)
		return -1;
	if (conf->reconnect_initial_ms > conf->reconnect_max_ms) {
		cfg_format_duration(conf->reconnect_max_ms, d, sizeof(d));
		return cfg_error(ctx, cfg_line(ctx->lines, "reconnect.initial"),
		    "reconnect.initial", "must not be longer than reconnect.max (%s)", d);
	}
	for (size_t i = 0; i < conf->nbackends; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(conf->backends[i].name, conf->backends[j].name) == 0) {
				snprintf(key, sizeof(key), "backends[%zu].name", i);
				return cfg_error(ctx, conf->backends[i].line, key,
				    "\"%s\" is already the name of backends[%zu]; "
				    "give each backend its own name",
				    conf->backends[i].name, j);
			}
	return 0;
}

struct tm_config *
tm_config_new(void)
{
	struct tm_config *conf = xcalloc(1, sizeof(*conf));

	conf->lines = xcalloc(1, sizeof(*conf->lines));
	cfg_defaults(top_keys, conf);
	return conf;
}

struct tm_config *
tm_config_parse(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	struct tm_config *conf = tm_config_new();
	struct cfg_ctx ctx = { .path = path, .err = err, .errlen = errlen, .lines = conf->lines };
	struct ynode *root;

	conf->path = xstrdup(path);
	if ((root = ytree_parse(path, text, len, err, errlen)) == NULL) {
		tm_config_free(conf);
		return NULL;
	}
	if (cfg_parse_block(&ctx, top_keys, "", root, conf) == -1 ||
	    check_rules(&ctx, conf) == -1) {
		ytree_free(root);
		tm_config_free(conf);
		return NULL;
	}
	ytree_free(root);
	return conf;
}

struct tm_config *
tm_config_load(const char *path, char *err, size_t errlen)
{
	struct tm_config *conf;
	char *text;
	size_t len;

	if (cfg_read_file(path, TM_CONFIG_MAX_SIZE, &text, &len, err, errlen) == -1)
		return NULL;
	conf = tm_config_parse(path, text, len, err, errlen);
	secure_wipe(text, len); /* it may hold the token */
	free(text);
	return conf;
}

/* Errors after parsing: "FILE:LINE: key: reason", or "key: reason" when
 * no file was read (everything came from flags and the environment). */
static int __attribute__((format(printf, 5, 6)))
finish_error(const struct tm_config *conf, char *err, size_t errlen, const char *key,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (conf->path != NULL)
		snprintf(err, errlen, "%s:%d: %s: %s", conf->path, cfg_line(conf->lines, key), key,
		    msg);
	else
		snprintf(err, errlen, "%s: %s", key, msg);
	return -1;
}

static int
read_token_file(struct tm_config *conf, char *err, size_t errlen)
{
	struct stat st;
	char why[512];
	char *text;
	size_t len;

	if (cfg_read_file(conf->token_file, TOKEN_FILE_MAX, &text, &len, why, sizeof(why)) == -1)
		return finish_error(conf, err, errlen, "token_file", "%s", why);
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		text[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (iscntrl((unsigned char)text[i])) {
			secure_wipe(text, len);
			free(text);
			return finish_error(conf, err, errlen, "token_file",
			    "%s: the token must be one line of printable characters",
			    conf->token_file);
		}
	if (len == 0) {
		free(text);
		return finish_error(conf, err, errlen, "token_file", "%s is empty",
		    conf->token_file);
	}
	conf->token = xstrdup(text);
	secure_wipe(text, len);
	free(text);
	if (stat(conf->token_file, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		conf->token_file_loose_mode = st.st_mode & 07777;
	return 0;
}

int
tm_config_finish(struct tm_config *conf, char *err, size_t errlen)
{
	static const struct {
		const char *key, *why;
	} hints[] = {
		{ "server", "is not set (server: or servers: in the file, or -a/--addr)" },
		{ "namespace", "is not set (namespace: in the file, or -n/--namespace)" },
		{ "token", "is not set (token: or token_file: in the file, --token-file, or "
			   "the TOKIAME_TOKEN environment variable)" },
		{ "backends", "no backend is configured (add one under backends:)" },
	};
	const char *why, *env;
	int missing[4], nmissing = 0;
	char also[128];
	size_t n = 0;

	if (conf->token == NULL && conf->token_file != NULL) {
		if (read_token_file(conf, err, errlen) == -1)
			return -1;
	} else if (conf->token == NULL && (env = getenv("TOKIAME_TOKEN")) != NULL && env[0] != '\0')
		conf->token = xstrdup(env);

	/* flags bypass the parser: check their values here */
	if (conf->server != NULL && (why = cfg_check_address(conf->server)) != NULL)
		return finish_error(conf, err, errlen, "server", "%s", why);
	if (conf->server != NULL && conf->nservers == 0) {
		/* the single-node form: a list of one (moved, so that the
		 * effective config -tv prints is one a file may hold) */
		conf->servers = xcalloc(1, sizeof(*conf->servers));
		conf->servers[0] = conf->server;
		conf->server = NULL;
		conf->nservers = 1;
	}
	if (conf->nservers > TM_MAX_SERVERS)
		return finish_error(conf, err, errlen, "servers", "%zu nodes listed, at most %d",
		    conf->nservers, TM_MAX_SERVERS);
	for (size_t i = 0; i < conf->nservers; i++) {
		if ((why = cfg_check_address(conf->servers[i])) != NULL)
			return finish_error(conf, err, errlen, "servers", "\"%s\": %s",
			    conf->servers[i], why);
		for (size_t j = 0; j < i; j++)
			if (strcmp(conf->servers[i], conf->servers[j]) == 0)
				return finish_error(conf, err, errlen, "servers",
				    "\"%s\" is listed twice", conf->servers[i]);
	}
	if (conf->namespace != NULL &&
	    !cfg_namespace_valid(conf->namespace, strlen(conf->namespace)))
		return finish_error(conf, err, errlen, "namespace", "%s", CFG_NAMESPACE_RULE);
	if (conf->api_addr != NULL && (why = cfg_check_address(conf->api_addr)) != NULL)
		return finish_error(conf, err, errlen, "api_addr", "%s", why);

	if (conf->nservers == 0)
		missing[nmissing++] = 0;
	if (conf->namespace == NULL)
		missing[nmissing++] = 1;
	if (conf->token == NULL)
		missing[nmissing++] = 2;
	if (conf->nbackends == 0)
		missing[nmissing++] = 3;
	if (nmissing == 0)
		return 0;
	also[0] = '\0';
	for (int i = 1; i < nmissing && n < sizeof(also); i++) {
		int w = snprintf(also + n, sizeof(also) - n, "%s%s",
		    i > 1 ? ", " : "; also missing: ", hints[missing[i]].key);
		if (w > 0)
			n += (size_t)w;
	}
	return finish_error(conf, err, errlen, hints[missing[0]].key, "%s%s",
	    hints[missing[0]].why, also);
}

void
tm_config_free(struct tm_config *conf)
{
	if (conf == NULL)
		return;
	cfg_free(top_keys, conf); /* wipes the token and the api keys */
	cfg_lines_free(conf->lines);
	free(conf->lines);
	free(conf->path);
	free(conf);
}

void
tm_config_print(FILE *fp, const struct tm_config *conf)
{
	cfg_print(fp, top_keys, conf, 0);
}

void
tm_config_keys(void (*fn)(const char *dotted, void *arg), void *arg)
{
	cfg_walk_names(top_keys, fn, arg);
}
