/*
 * tm_config: tokiame.yaml, parsed and validated, plus the command-line
 * flags that override it.
 *
 * Same rules as tokilake.yaml: unknown keys are errors, every error names
 * "file:line: key: reason". The token may come from the file (token:),
 * from a file (token_file:, --token-file) or from the environment
 * (TOKIAME_TOKEN), so that it never has to appear on a command line that
 * ps shows. The token is wiped from memory when the config is freed.
 */
#ifndef TL_TM_CONFIG_H
#define TL_TM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TM_DEFAULT_CONFIG_PATH SYSCONFDIR "/tokiame/tokiame.yaml"
#define TM_DEFAULT_API_ADDR "localhost:7749"
#define TM_MAX_SERVERS 16       /* links one tokiame keeps at once */

/* backends[].load_probe, in the order of the words tm_config.c accepts */
enum tm_load_probe { TM_PROBE_AUTO, TM_PROBE_OFF, TM_PROBE_VLLM, TM_PROBE_SGLANG,
	TM_PROBE_LLAMACPP, TM_PROBE_OLLAMA };

struct tm_backend {
	char *name;             /* for logs and errors; defaults to the URL's host */
	char *url;              /* OpenAI-compatible base, e.g. http://192.168.1.101:11434/v1 */
	char *api_key;          /* sent to the backend, never the user's key */
	uint32_t concurrency;   /* max tasks at once on this backend */
	char **models;          /* explicit list */
	size_t nmodels;
	int discover;           /* also GET {url}/models */
	uint32_t discover_interval_ms;
	int load_probe;         /* enum tm_load_probe: how its own load is read */
	int line;
};

struct tm_config {
	char *path;          /* NULL when no file was read */
	char *server;        /* tokilake agent address "host:port" (one node) */
	/* servers: the nodes to keep a link to at once (one struct link
	 * each). tm_config_finish() folds server into it, so a running agent
	 * reads only this list. */
	char **servers;
	size_t nservers;
	char *namespace;
	char *token;         /* secret; NULL until resolved */
	char *token_file;
	/* token_file's permission bits when group or others may read or
	 * write it (tokiame warns: the token is the namespace's key), else 0 */
	unsigned token_file_loose_mode;
	char *api_addr;      /* local health/status API */
	struct {
		char *ca_file;        /* NULL = system CAs */
		char *server_name;    /* NULL = host part of server */
		int insecure_skip_verify;
		int plaintext;        /* h2c, only when explicitly set */
	} tls;
	uint32_t reconnect_initial_ms;
	uint32_t reconnect_max_ms;
	uint32_t heartbeat_interval_ms;
	uint32_t shutdown_timeout_ms;
	struct {
		int level;
		int use_syslog;
		char *file;
	} log;
	struct tm_backend *backends;
	size_t nbackends;

	struct cfg_lines *lines; /* where each key was seen (tm_config.c only) */
};

/* Defaults only (no file). */
struct tm_config *tm_config_new(void);
/* Read a file on top of defaults. NULL with err "file:line: key: reason". */
struct tm_config *tm_config_load(const char *path, char *err, size_t errlen);
/* Parse text already read, on top of defaults; path names it in errors. */
struct tm_config *tm_config_parse(const char *path, const char *text, size_t len, char *err,
    size_t errlen);
/* After flags were applied: fill the token from token_file or TOKIAME_TOKEN
 * if it is still unset, and check what a running agent needs (server,
 * namespace, token, at least one backend; values set by flags are checked
 * too). -1 with err "FILE:LINE: key: reason" ("key: reason" when no file
 * was read), naming every missing key. */
int tm_config_finish(struct tm_config *conf, char *err, size_t errlen);
void tm_config_free(struct tm_config *conf);
void tm_config_print(FILE *fp, const struct tm_config *conf); /* token shown as "(set)" */
/* Every dotted key the file may hold ("backends.url"), as tl_config_keys(). */
void tm_config_keys(void (*fn)(const char *dotted, void *arg), void *arg);

#endif
