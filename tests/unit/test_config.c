/*
 * test_config: tokilake.yaml and tokiame.yaml parsing, end to end.
 *
 * Every invalid case is checked against its exact message, because the
 * "FILE:LINE: key: reason" line is what an operator reads. Files are found
 * under $top_srcdir (set by make check), else the source tree this was
 * built from.
 *
 *   test_config            run the tests
 *   test_config --docs     check that every key of both tables appears in
 *                          the sample configs and in the man pages
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_value.h"
#include "log.h"
#include "tl_config.h"
#include "tm_config.h"
#include "xmalloc.h"
#include "check.h"

#define CHECK_STR(got, want) check_str(__LINE__, (got), (want))

static void
check_str(int line, const char *got, const char *want)
{
	if (got == NULL || want == NULL ? got != want : strcmp(got, want) != 0) {
		fprintf(stderr, "%s:%d: FAIL:\n  got:  %s\n  want: %s\n", __FILE__, line,
		    got ? got : "(null)", want ? want : "(null)");
		failures++;
	}
}

static const char *
srcdir(void)
{
	const char *d = getenv("top_srcdir");

	return d != NULL && d[0] != '\0' ? d : TOP_SRCDIR;
}

static char *
src_path(const char *rel)
{
	size_t n = strlen(srcdir()) + strlen(rel) + 2;
	char *p = xmalloc(n);

	snprintf(p, n, "%s/%s", srcdir(), rel);
	return p;
}

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	if (fp == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(1);
	}
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

/* What a config prints, as a string. */
static char *
tl_printed(const struct tl_config *conf)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	tl_config_print(fp, conf);
	fclose(fp);
	return out;
}

static char *
tm_printed(const struct tm_config *conf)
{
	char *out = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&out, &len);

	tm_config_print(fp, conf);
	fclose(fp);
	return out;
}

static struct tl_config *
tl_ok(int line, const char *yaml)
{
	char err[1024];
	struct tl_config *c = tl_config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));

	if (c == NULL) {
		fprintf(stderr, "%s:%d: FAIL: unexpected error: %s\n", __FILE__, line, err);
		failures++;
	}
	return c;
}

static void
tl_err(int line, const char *yaml, size_t len, const char *want)
{
	char err[1024] = "";
	struct tl_config *c = tl_config_parse("t.yaml", yaml, len, err, sizeof(err));

	if (c != NULL) {
		fprintf(stderr, "%s:%d: FAIL: parsed, wanted: %s\n", __FILE__, line, want);
		failures++;
		tl_config_free(c);
		return;
	}
	check_str(line, err, want);
}

static struct tm_config *
tm_ok(int line, const char *yaml)
{
	char err[1024];
	struct tm_config *c = tm_config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));

	if (c == NULL) {
		fprintf(stderr, "%s:%d: FAIL: unexpected error: %s\n", __FILE__, line, err);
		failures++;
	}
	return c;
}

static void
tm_err(int line, const char *yaml, const char *want)
{
	char err[1024] = "";
	struct tm_config *c = tm_config_parse("t.yaml", yaml, strlen(yaml), err, sizeof(err));

	if (c != NULL) {
		fprintf(stderr, "%s:%d: FAIL: parsed, wanted: %s\n", __FILE__, line, want);
		failures++;
		tm_config_free(c);
		return;
	}
	check_str(line, err, want);
}

#define TL_OK(y) tl_ok(__LINE__, (y))
#define TL_ERR(y, want) tl_err(__LINE__, (y), strlen(y), (want))
#define TM_OK(y) tm_ok(__LINE__, (y))
#define TM_ERR(y, want) tm_err(__LINE__, (y), (want))

/* Agents over h2c, so that a test can leave the TLS files out. */
#define PLAIN "agents:\n  plaintext: true\n"
#define HASH_A "sha256:2344b38f1a4212ba735ff8ae31c19c8b15d57f9ad5a783dd62b0723b2ddd74b5"

static void
test_values(void)
{
	uint64_t v;
	char buf[32];

	CHECK(cfg_parse_duration("500ms", &v) == 0 && v == 500);
	CHECK(cfg_parse_duration("10s", &v) == 0 && v == 10000);
	CHECK(cfg_parse_duration("5m", &v) == 0 && v == 300000);
	CHECK(cfg_parse_duration("1h", &v) == 0 && v == 3600000);
	CHECK(cfg_parse_duration("7", &v) == 0 && v == 7000);
	CHECK(cfg_parse_duration("", &v) == -1);
	CHECK(cfg_parse_duration("s", &v) == -1);
	CHECK(cfg_parse_duration("-1s", &v) == -1);
	CHECK(cfg_parse_duration("1.5s", &v) == -1);
	CHECK(cfg_parse_duration("10 s", &v) == -1);
	CHECK(cfg_parse_duration("10S", &v) == -1);
	CHECK(cfg_parse_duration("99999999999999999999999h", &v) == 0 && v == UINT64_MAX);
	CHECK(cfg_parse_size("512", &v) == 0 && v == 512);
	CHECK(cfg_parse_size("512B", &v) == 0 && v == 512);
	CHECK(cfg_parse_size("64KiB", &v) == 0 && v == 65536);
	CHECK(cfg_parse_size("16MiB", &v) == 0 && v == 16777216);
	CHECK(cfg_parse_size("1GiB", &v) == 0 && v == 1073741824);
	CHECK(cfg_parse_size("2KB", &v) == 0 && v == 2000);
	CHECK(cfg_parse_size("3MB", &v) == 0 && v == 3000000);
	CHECK(cfg_parse_size("1GB", &v) == 0 && v == 1000000000);
	CHECK(cfg_parse_size("1kib", &v) == -1);
	CHECK(cfg_parse_size("1TiB", &v) == -1);
	CHECK(cfg_parse_uint("0", &v) == 0 && v == 0);
	CHECK(cfg_parse_uint("+1", &v) == -1);
	CHECK(cfg_parse_uint("0x10", &v) == -1);

	cfg_format_duration(0, buf, sizeof(buf));
	CHECK_STR(buf, "0s");
	cfg_format_duration(1500, buf, sizeof(buf));
	CHECK_STR(buf, "1500ms");
	cfg_format_duration(90000, buf, sizeof(buf));
	CHECK_STR(buf, "90s");
	cfg_format_duration(120000, buf, sizeof(buf));
	CHECK_STR(buf, "2m");
	cfg_format_duration(7200000, buf, sizeof(buf));
	CHECK_STR(buf, "2h");
	cfg_format_size(0, buf, sizeof(buf));
	CHECK_STR(buf, "0");
	cfg_format_size(1000, buf, sizeof(buf));
	CHECK_STR(buf, "1000");
	cfg_format_size(3 << 10, buf, sizeof(buf));
	CHECK_STR(buf, "3KiB");
	cfg_format_size(1536ULL << 20, buf, sizeof(buf));
	CHECK_STR(buf, "1536MiB");
	cfg_format_size(2ULL << 30, buf, sizeof(buf));
	CHECK_STR(buf, "2GiB");

	CHECK(cfg_check_address("localhost:80") == NULL);
	CHECK(cfg_check_address("0.0.0.0:65535") == NULL);
	CHECK(cfg_check_address("[::1]:1") == NULL);
	CHECK(cfg_check_address("[fe80::1]:8080") == NULL);
	CHECK(cfg_check_address("my_host.lan:7740") == NULL);
	CHECK(cfg_check_address(":80") != NULL);
	CHECK(cfg_check_address("host:") != NULL);
	CHECK(cfg_check_address("host:http") != NULL);
	CHECK(cfg_check_address("host:-1") != NULL);
	CHECK(cfg_check_address("host name:80") != NULL);
	CHECK(cfg_check_address("[::1]") != NULL);
	CHECK(cfg_check_address("[]:80") != NULL);
	CHECK(cfg_check_address("1.2.3:80") != NULL);

	CHECK(cfg_namespace_valid("a", 1));
	CHECK(cfg_namespace_valid("0lab-2.gpu_x", 12));
	CHECK(!cfg_namespace_valid("", 0));
	CHECK(!cfg_namespace_valid("-a", 2));
	CHECK(!cfg_namespace_valid(".a", 2));
	CHECK(!cfg_namespace_valid("a:b", 3));
	CHECK(!cfg_namespace_valid("Lab", 3));
	CHECK(cfg_namespace_valid(
	    "a23456789012345678901234567890123456789012345678901234567890123", 63));
	CHECK(!cfg_namespace_valid(
	    "a234567890123456789012345678901234567890123456789012345678901234", 64));
}

static void
test_tl_defaults(void)
{
	static const char yaml[] = PLAIN;
	struct tl_config *c = TL_OK(yaml);

	if (c == NULL)
		return;
	CHECK_STR(c->path, "t.yaml");
	CHECK(c->text_len == strlen(yaml) && strcmp(c->text, yaml) == 0);
	CHECK(c->workers_auto == 1);
	CHECK(c->workers >= 1 && c->workers <= 256);
	CHECK(c->pid_file == NULL);
	CHECK_STR(c->runtime_dir, RUNSTATEDIR "/tokilake");
	CHECK(c->shutdown_timeout_ms == 30000);
	CHECK(c->log.level == LOG_LEVEL_INFO);
	CHECK(c->log.use_syslog == 0);
	CHECK(c->log.file == NULL);
	CHECK(c->http.nlisten == 1);
	if (c->http.nlisten == 1) {
		CHECK_STR(c->http.listen[0].address, "127.0.0.1:8080");
		CHECK(c->http.listen[0].tls_cert == NULL && c->http.listen[0].tls_key == NULL);
	}
	CHECK(c->http.http2 == 0);
	CHECK(c->http.max_body_size == 16 << 20);
	CHECK(c->http.header_timeout_ms == 10000);
	CHECK(c->http.idle_timeout_ms == 60000);
	CHECK(c->http.max_connections == 4096);
	CHECK_STR(c->agents.listen, "0.0.0.0:7740");
	CHECK(c->agents.tls_cert == NULL && c->agents.tls_key == NULL);
	CHECK(c->agents.plaintext == 1);
	CHECK(c->agents.max_agents == 10000);
	CHECK(c->agents.max_message_size == 4 << 20);
	CHECK(c->agents.max_streams_per_agent == 256);
	CHECK(c->agents.ping_interval_ms == 5000);
	CHECK(c->agents.ping_timeout_ms == 15000);
	CHECK(c->nnamespaces == 0);
	CHECK(tl_config_namespace(c, "x", 1) == NULL);
	tl_config_free(c);
}

static void
test_tl_full(void)
{
	char err[1024], *path = src_path("tests/unit/config/full.yaml");
	char *golden = NULL, *gpath = src_path("tests/unit/config/full.golden"), *out;
	struct tl_config *c = tl_config_load(path, err, sizeof(err));
	const struct tl_namespace *ns;

	if (c == NULL) {
		fprintf(stderr, "FAIL: %s\n", err);
		failures++;
		goto done;
	}
	CHECK_STR(c->path, path);
	CHECK(c->workers == 3 && c->workers_auto == 0);
	CHECK_STR(c->pid_file, "/run/tl-test/tokilake.pid");
	CHECK_STR(c->runtime_dir, "/run/tl-test");
	CHECK(c->shutdown_timeout_ms == 45000);
	CHECK(c->log.level == LOG_LEVEL_DEBUG && c->log.use_syslog == 1);
	CHECK_STR(c->log.file, "/var/log/tl-test.log");
	CHECK(c->http.nlisten == 3);
	if (c->http.nlisten == 3) {
		CHECK_STR(c->http.listen[0].address, "127.0.0.1:18080");
		CHECK(c->http.listen[0].line == 14);
		CHECK_STR(c->http.listen[1].address, "[::1]:18080");
		CHECK(c->http.listen[1].tls_cert == NULL);
		CHECK_STR(c->http.listen[2].address, "0.0.0.0:18443");
		CHECK_STR(c->http.listen[2].tls_cert, "/etc/tl-test/api.crt");
		CHECK_STR(c->http.listen[2].tls_key, "/etc/tl-test/api.key");
		CHECK(c->http.listen[2].line == 16);
	}
	CHECK(c->http.http2 == 1);
	CHECK(c->http.max_body_size == 32 << 20);
	CHECK(c->http.header_timeout_ms == 2500);
	CHECK(c->http.idle_timeout_ms == 120000);
	CHECK(c->http.max_connections == 100);
	CHECK(c->http.first_byte_timeout_ms == 300000);
	CHECK(c->http.stream_idle_timeout_ms == 120000);
	CHECK_STR(c->agents.listen, "[::]:17740");
	CHECK_STR(c->agents.tls_cert, "/etc/tl-test/agents.crt");
	CHECK_STR(c->agents.tls_key, "/etc/tl-test/agents.key");
	CHECK(c->agents.plaintext == 0);
	CHECK(c->agents.max_agents == 50);
	CHECK(c->agents.max_message_size == 1000000);
	CHECK(c->agents.max_streams_per_agent == 64);
	CHECK(c->agents.ping_interval_ms == 2000);
	CHECK(c->agents.ping_timeout_ms == 3600000);
	CHECK(c->nnamespaces == 2);
	ns = tl_config_namespace(c, "my-lan", 6);
	CHECK(ns != NULL && ns->ntoken_hashes == 2 && ns->line == 40);
	if (ns != NULL && ns->ntoken_hashes == 2) {
		CHECK_STR(ns->token_hashes[0], HASH_A);
		/* written in upper case, kept in lower case */
		CHECK_STR(ns->token_hashes[1],
		    "sha256:56eeff5da2059398ae31558ecc0109b4fbce14e476d1b3c0f5531eaaa2457b52");
	}
	ns = tl_config_namespace(c, "lab-2.gpu_x:model", 11);
	CHECK(ns != NULL && ns->ntoken_hashes == 1);
	CHECK(tl_config_namespace(c, "my-la", 5) == NULL);
	CHECK_STR(c->database.url, "postgresql://tl@db.example/tokilake");
	CHECK_STR(c->node.name, "us-1");
	CHECK_STR(c->node.listen, "10.0.0.5:17741");
	CHECK_STR(c->node.tls_cert, "/etc/tl-test/node.crt");
	CHECK_STR(c->node.internal_url, "https://us-1.example:17741");
	CHECK_STR(c->node.secret, "not-a-real-secret-but-long-enough");
	CHECK(c->node.heartbeat_interval_ms == 500 && c->node.ttl_ms == 3000);
	CHECK(c->http.anonymous == 1);
	CHECK(c->nkeys == 2);
	if (c->nkeys == 2) {
		const struct tl_key *k = &c->keys[0];

		CHECK_STR(k->name, "alice-laptop");
		CHECK_STR(k->owner, "alice@example.org");
		CHECK(k->nallow == 2 && strcmp(k->allow[1], "*:llama3*") == 0);
		CHECK(k->rpm == 600 && k->tpm == 100000 && k->max_in_flight == 4);
		CHECK(k->tokens_per_day == 50000 && k->tokens_per_month == 2000000);
		CHECK(k->expires_at == 1814313600 && k->disabled == 1 && k->line == 62);
		k = &c->keys[1];
		CHECK_STR(k->name, "ci.bot_2");
		/* defaults: every model, no limits, enabled; a date is its midnight UTC */
		CHECK(k->owner == NULL && k->nallow == 1 && strcmp(k->allow[0], "*") == 0);
		CHECK(k->rpm == 0 && k->tokens_per_month == 0 && k->disabled == 0);
		CHECK(k->expires_at == 1814313600 + 86400);
		CHECK_STR(k->hash,
		    "sha256:56eeff5da2059398ae31558ecc0109b4fbce14e476d1b3c0f5531eaaa2457b52");
	}

	/* golden output, then print -> parse -> print is stable */
	golden = slurp(gpath);
	out = tl_printed(c);
	CHECK_STR(out, golden);
	tl_config_free(c);
	c = tl_config_parse("printed.yaml", out, strlen(out), err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "FAIL: printed config does not parse: %s\n", err);
		failures++;
	} else {
		char *again = tl_printed(c);
		CHECK_STR(again, out);
		free(again);
		tl_config_free(c);
	}
	free(out);
done:
	free(golden);
	free(gpath);
	free(path);
}

static void
test_tl_roundtrip_defaults(void)
{
	struct tl_config *c = TL_OK(PLAIN), *c2;
	char err[1024], *out, *again;

	if (c == NULL)
		return;
	out = tl_printed(c);
	c2 = tl_config_parse("printed.yaml", out, strlen(out), err, sizeof(err));
	if (c2 == NULL) {
		fprintf(stderr, "FAIL: printed defaults do not parse: %s\n%s", err, out);
		failures++;
	} else {
		again = tl_printed(c2);
		CHECK_STR(again, out);
		CHECK(c2->workers_auto == 1);
		free(again);
		tl_config_free(c2);
	}
	free(out);
	tl_config_free(c);
}

static void
test_tl_values(void)
{
	struct tl_config *c;

	c = TL_OK(PLAIN "workers: auto\nshutdown_timeout: 5\nhttp:\n  max_body_size: 16MB\n"
		      "  http2: on\nlog:\n  syslog: No\n  file:\npid_file: \"\"\n");
	if (c != NULL) {
		CHECK(c->workers_auto == 1);
		CHECK(c->shutdown_timeout_ms == 5000);
		CHECK(c->http.max_body_size == 16000000);
		CHECK(c->http.http2 == 1);
		CHECK(c->log.use_syslog == 0);
		CHECK(c->log.file == NULL);
		CHECK(c->pid_file == NULL);
		tl_config_free(c);
	}
	c = TL_OK(PLAIN "workers: 256\nshutdown_timeout: 0\nhttp:\n  max_body_size: 1KiB\n");
	if (c != NULL) {
		CHECK(c->workers == 256 && c->workers_auto == 0);
		CHECK(c->shutdown_timeout_ms == 0);
		CHECK(c->http.max_body_size == 1024);
		tl_config_free(c);
	}
	/* empty blocks keep their defaults */
	c = TL_OK(PLAIN "log:\nhttp: {}\nnamespaces:\n");
	if (c != NULL) {
		CHECK(c->http.nlisten == 1 && c->log.level == LOG_LEVEL_INFO);
		CHECK(c->nnamespaces == 0);
		tl_config_free(c);
	}
	c = TL_OK("agents:\n  tls:\n    cert: /a.crt\n    key: /a.key\n");
	if (c != NULL) {
		CHECK(c->agents.plaintext == 0);
		CHECK_STR(c->agents.tls_cert, "/a.crt");
		tl_config_free(c);
	}
}

/* keys: (issue 14): every error names the file, the line and the key. */
static void
test_tl_key_errors(void)
{
	TL_ERR(PLAIN "keys:\n  a:\n    hash: sha256:abc\n",
	    "t.yaml:5: keys.a.hash: must be \"sha256:\" followed by 64 hex digits "
	    "(the hash, not the token)");
	TL_ERR(PLAIN "keys:\n  a:\n    owner: x\n", "t.yaml:4: keys.a.hash: is required");
	TL_ERR(PLAIN "keys:\n  a b:\n    hash: " HASH_A "\n",
	    "t.yaml:4: keys.a b: a key name is 1 to 64 of A-Z a-z 0-9 . _ -");
	TL_ERR(PLAIN "keys:\n  a:\n    hash: " HASH_A "\n    allow: [\"lab:*\", \"a b\"]\n",
	    "t.yaml:6: keys.a.allow[1]: a pattern is 1 to 256 printable characters without "
	    "spaces, '*' matching any run of them (e.g. \"lab:*\", \"*:llama3*\")");
	TL_ERR(PLAIN "keys:\n  a:\n    hash: " HASH_A "\n  a:\n    hash: " HASH_A "\n",
	    "t.yaml:6: keys.a: duplicate key (first on line 4)");
	TL_ERR(PLAIN "keys:\n  a:\n    hash: " HASH_A "\n  b:\n    hash: \"" HASH_A "\"\n",
	    "t.yaml:7: keys.b.hash: the same hash as keys.a; each key needs its own secret");
	TL_ERR(PLAIN "keys:\n  a:\n    hash: " HASH_A "\n    expires: 2027-02-30\n",
	    "t.yaml:6: keys.a.expires: must be a UTC time \"2027-06-30T00:00:00Z\" or a date "
	    "\"2027-06-30\"");
	TL_ERR(PLAIN "keys:\n  a:\n    hash: " HASH_A "\n    expires: \"2027-06-30 10:00\"\n",
	    "t.yaml:6: keys.a.expires: must be a UTC time \"2027-06-30T00:00:00Z\" or a date "
	    "\"2027-06-30\"");
	TL_ERR(PLAIN "keys:\n  a:\n    hash: " HASH_A "\n    rpm: -1\n",
	    "t.yaml:6: keys.a.rpm: must be a number between 0 and 100000000");
	TL_ERR(PLAIN "http:\n  listen: [127.0.0.1:18080, \"0.0.0.0:18081\"]\n",
	    "t.yaml:4: http.listen[1]: 0.0.0.0:18081 is beyond loopback and no API key is "
	    "configured: anyone who can reach it could use every model. Add a key (tokilake "
	    "key new NAME prints one and its keys: lines), listen on 127.0.0.1 only, or set "
	    "http.anonymous: true to serve without keys");
	/* what may start: loopback only, anonymous on purpose, or a key */
	tl_config_free(TL_OK(PLAIN "http:\n  listen: [127.0.0.1:1, \"[::1]:2\", localhost:3]\n"));
	tl_config_free(TL_OK(PLAIN "http:\n  listen: [0.0.0.0:1]\n  anonymous: true\n"));
	tl_config_free(TL_OK(PLAIN "http:\n  listen: [0.0.0.0:1]\nkeys:\n  a:\n    hash: " HASH_A
	    "\n"));
}

static void
test_tl_errors(void)
{
	static const char nul[] = PLAIN "pid_file: a\0b\n";
	char deep[64];

	/* structure of the file */
	TL_ERR("", "t.yaml:1: (top level): file is empty");
	TL_ERR("# only a comment\n\n", "t.yaml:1: (top level): file is empty");
	TL_ERR("---\n", "t.yaml:1: (top level): file is empty");
	TL_ERR("- a\n- b\n", "t.yaml:1: (top level): must be a mapping of keys, not a list");
	TL_ERR("hello\n", "t.yaml:1: (top level): must be a mapping of keys, not a scalar");
	TL_ERR("workers: 1\n---\nworkers: 2\n",
	    "t.yaml:2: (top level): only one YAML document is allowed");
	TL_ERR("http:\n  http2: true\n max_body_size: 1\n",
	    "t.yaml:3: (top level): invalid YAML: did not find expected key "
	    "(while parsing a block mapping on line 1)");
	TL_ERR("http:\n  listen: [a\n",
	    "t.yaml:3: http.listen[1]: invalid YAML: did not find expected ',' or ']' "
	    "(while parsing a flow sequence on line 2)");
	TL_ERR("http:\n\thttp2: true\n",
	    "t.yaml:2: http: invalid YAML: found character that cannot start any token "
	    "(while scanning for the next token on line 2)");
	TL_ERR("pid_file: \"\xff\"\n",
	    "t.yaml:1: (top level): invalid YAML: invalid leading UTF-8 octet (byte 0xFF)");
	TL_ERR("http:\n  http2: true\n  x: \"\xff\"\n",
	    "t.yaml:3: (top level): invalid YAML: invalid leading UTF-8 octet (byte 0xFF)");
	TL_ERR("workers: 2\nworkers: 3\n", "t.yaml:2: workers: duplicate key (first on line 1)");
	TL_ERR(PLAIN "http:\n  http2: true\n  http2: false\n",
	    "t.yaml:5: http.http2: duplicate key (first on line 4)");
	TL_ERR("workers: &w 1\n", "t.yaml:1: workers: anchors (&w) are not supported");
	TL_ERR("workers: *w\n", "t.yaml:1: workers: aliases (*w) are not supported");
	TL_ERR("workers: !!int 4\n",
	    "t.yaml:1: workers: tags (tag:yaml.org,2002:int) are not supported");
	TL_ERR("? [a]\n: 1\n", "t.yaml:1: (top level): keys must be plain strings, not lists");
	memset(deep, '[', 40);
	deep[40] = '\0';
	TL_ERR(deep, "t.yaml:1: [0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
		     "[0][0][0][0][0][0][0][0][0][0][0][0]: nested deeper than 32 levels");
	tl_err(__LINE__, nul, sizeof(nul) - 1, "t.yaml:3: (top level): invalid YAML: "
	    "control characters are not allowed (byte 0x00)");
	TL_ERR(PLAIN "pid_file: \"a\\0b\"\n", "t.yaml:3: pid_file: must not contain NUL bytes");

	/* keys and types */
	TL_ERR("workerz: 4\n", "t.yaml:1: workerz: unknown key");
	TL_ERR(PLAIN "http:\n  max_bodysize: 1\n", "t.yaml:4: http.max_bodysize: unknown key");
	TL_ERR(PLAIN "http:\n  listen:\n    - address: 127.0.0.1:1\n      cert: x\n",
	    "t.yaml:6: http.listen[0].cert: unknown key");
	TL_ERR("http: 5\n", "t.yaml:1: http: must be a mapping of keys, not a scalar");
	TL_ERR("http: [a]\n", "t.yaml:1: http: must be a mapping of keys, not a list");
	TL_ERR(PLAIN "http:\n  http2: maybe\n", "t.yaml:4: http.http2: must be true or false");
	TL_ERR("pid_file: [a]\n", "t.yaml:1: pid_file: must be a string, not a list");
	TL_ERR("pid_file: {a: b}\n", "t.yaml:1: pid_file: must be a string, not a mapping");
	TL_ERR("runtime_dir: \"\"\n", "t.yaml:1: runtime_dir: must not be empty");
	TL_ERR("runtime_dir:\n", "t.yaml:1: runtime_dir: must not be empty");
	TL_ERR("shutdown_timeout:\n", "t.yaml:1: shutdown_timeout: needs a value (a duration)");
	TL_ERR("log:\n  level: verbose\n",
	    "t.yaml:2: log.level: must be one of error, warn, info, debug");
	TL_ERR("log:\n  level: INFO\n",
	    "t.yaml:2: log.level: must be one of error, warn, info, debug");

	/* numbers, durations, sizes */
	TL_ERR("workers: 0\n", "t.yaml:1: workers: must be a number between 1 and 256, or auto");
	TL_ERR("workers: 257\n", "t.yaml:1: workers: must be a number between 1 and 256, or auto");
	TL_ERR("workers: -1\n", "t.yaml:1: workers: must be a number between 1 and 256, or auto");
	TL_ERR("workers: many\n", "t.yaml:1: workers: must be a number between 1 and 256, or auto");
	TL_ERR("workers:\n", "t.yaml:1: workers: must be a number between 1 and 256, or auto");
	TL_ERR(PLAIN "http:\n  max_connections: 0\n",
	    "t.yaml:4: http.max_connections: must be a number between 1 and 1000000");
	TL_ERR(PLAIN "http:\n  max_connections: 12abc\n",
	    "t.yaml:4: http.max_connections: must be a number between 1 and 1000000");
	TL_ERR(PLAIN "http:\n  max_body_size: 512\n",
	    "t.yaml:4: http.max_body_size: must be between 1KiB and 1GiB");
	TL_ERR(PLAIN "http:\n  max_body_size: 2GiB\n",
	    "t.yaml:4: http.max_body_size: must be between 1KiB and 1GiB");
	TL_ERR(PLAIN "http:\n  max_body_size: 99999999999999999999999GiB\n",
	    "t.yaml:4: http.max_body_size: must be between 1KiB and 1GiB");
	TL_ERR(PLAIN "http:\n  max_body_size: 16 MiB\n",
	    "t.yaml:4: http.max_body_size: must be a size such as 512, 64KiB, 16MiB or 1GiB");
	TL_ERR(PLAIN "http:\n  max_body_size: 16m\n",
	    "t.yaml:4: http.max_body_size: must be a size such as 512, 64KiB, 16MiB or 1GiB");
	TL_ERR("shutdown_timeout: 1.5s\n", "t.yaml:1: shutdown_timeout: must be a duration such "
	    "as 500ms, 10s, 5m or 1h (a bare number is seconds)");
	TL_ERR("shutdown_timeout: 10x\n", "t.yaml:1: shutdown_timeout: must be a duration such "
	    "as 500ms, 10s, 5m or 1h (a bare number is seconds)");
	TL_ERR("shutdown_timeout: 61m\n", "t.yaml:1: shutdown_timeout: must be between 0s and 1h");
	TL_ERR("shutdown_timeout: 99999999999999999999999s\n",
	    "t.yaml:1: shutdown_timeout: must be between 0s and 1h");
	TL_ERR(PLAIN "http:\n  header_timeout: 50ms\n",
	    "t.yaml:4: http.header_timeout: must be between 100ms and 10m");
	TL_ERR("agents:\n  plaintext: true\n  max_message_size: 8KiB\n",
	    "t.yaml:3: agents.max_message_size: must be between 16KiB and 256MiB");

	/* addresses */
	TL_ERR("agents:\n  listen: localhost\n", "t.yaml:2: agents.listen: must be \"host:port\" "
	    "or \"[ipv6]:port\" (the port is missing)");
	TL_ERR("agents:\n  listen: \":7740\"\n", "t.yaml:2: agents.listen: must be \"host:port\" "
	    "or \"[ipv6]:port\" (the host is missing)");
	TL_ERR("agents:\n  listen: \"[::1:80\"\n",
	    "t.yaml:2: agents.listen: must be \"[ipv6]:port\"");
	TL_ERR("agents:\n  listen: h:0\n",
	    "t.yaml:2: agents.listen: port must be a number between 1 and 65535");
	TL_ERR("agents:\n  listen: h:65536\n",
	    "t.yaml:2: agents.listen: port must be a number between 1 and 65535");
	TL_ERR("agents:\n  listen: \"::1:80\"\n",
	    "t.yaml:2: agents.listen: an IPv6 address needs brackets: \"[::1]:port\"");
	TL_ERR("agents:\n  listen: 999.1.1.1:80\n",
	    "t.yaml:2: agents.listen: not a valid IPv4 address");
	TL_ERR("agents:\n  listen: \"[zz]:80\"\n",
	    "t.yaml:2: agents.listen: not a valid IPv6 address");
	TL_ERR("agents:\n  listen: a/b:80\n", "t.yaml:2: agents.listen: host must be a name, "
	    "an IPv4 address or [an IPv6 address]");
	TL_ERR(PLAIN "http:\n  listen:\n    - 127.0.0.1\n", "t.yaml:5: http.listen[0]: must be "
	    "\"host:port\" or \"[ipv6]:port\" (the port is missing)");
	TL_ERR(PLAIN "http:\n  listen:\n    - address: 127.0.0.1:99999\n",
	    "t.yaml:5: http.listen[0].address: port must be a number between 1 and 65535");

	/* http.listen */
	TL_ERR(PLAIN "http:\n  listen: []\n", "t.yaml:4: http.listen: must not be empty");
	TL_ERR(PLAIN "http:\n  listen: 127.0.0.1:80\n",
	    "t.yaml:4: http.listen: must be a list, not a scalar");
	TL_ERR(PLAIN "http:\n  listen:\n    - [a]\n",
	    "t.yaml:5: http.listen[0]: must be a string or a mapping of keys, not a list");
	TL_ERR(PLAIN "http:\n  listen:\n    -\n",
	    "t.yaml:5: http.listen[0]: must be a string or a mapping of keys, not empty");
	TL_ERR(PLAIN "http:\n  listen:\n    - tls: {cert: a, key: b}\n",
	    "t.yaml:5: http.listen[0].address: is required");
	TL_ERR(PLAIN "http:\n  listen:\n    - address: 127.0.0.1:8443\n"
		     "      tls:\n        cert: /c\n",
	    "t.yaml:6: http.listen[0].tls: needs both cert and key");
	TL_ERR(PLAIN "http:\n  listen:\n    - 127.0.0.1:1\n    - address: 127.0.0.1:2\n"
		     "      tls: {key: /k}\n",
	    "t.yaml:7: http.listen[1].tls: needs both cert and key");
	TL_ERR(PLAIN "http:\n  listen: [127.0.0.1:80, 127.0.0.1:80]\n",
	    "t.yaml:4: http.listen[1]: 127.0.0.1:80 is already listed in http.listen[0]");
	TL_ERR(PLAIN "http:\n  listen: [0.0.0.0:7740]\n",
	    "t.yaml:4: http.listen[0]: 0.0.0.0:7740 is also agents.listen; use another port");

	/* agents */
	TL_ERR("workers: 2\n",
	    "t.yaml:1: agents.tls: cert and key are required unless agents.plaintext is true");
	TL_ERR("workers: 2\nlog:\n  level: info\nagents:\n  listen: 1.2.3.4:5\n",
	    "t.yaml:4: agents.tls: cert and key are required unless agents.plaintext is true");
	TL_ERR("agents:\n  plaintext: false\n",
	    "t.yaml:1: agents.tls: cert and key are required unless agents.plaintext is true");
	TL_ERR("workers: 2\nagents:\n  tls:\n    cert: /c\n",
	    "t.yaml:3: agents.tls: needs both cert and key");
	TL_ERR("agents:\n  plaintext: true\n  tls: {cert: a, key: b}\n",
	    "t.yaml:2: agents.plaintext: is true but agents.tls is set too; remove one of them");
	TL_ERR("agents:\n  plaintext: true\n  ping_interval: 15s\n",
	    "t.yaml:1: agents.ping_timeout: must be longer than agents.ping_interval (15s)");
	TL_ERR("agents:\n  plaintext: true\n  ping_interval: 10s\n  ping_timeout: 5s\n",
	    "t.yaml:4: agents.ping_timeout: must be longer than agents.ping_interval (10s)");

	/* namespaces */
	TL_ERR(PLAIN "namespaces:\n  My-Lan:\n    tokens: [" HASH_A "]\n",
	    "t.yaml:4: namespaces.My-Lan: a namespace name is 1 to 63 of a-z 0-9 . _ - and "
	    "starts with a letter or digit");
	TL_ERR(PLAIN "namespaces:\n  \"a:b\":\n    tokens: [" HASH_A "]\n",
	    "t.yaml:4: namespaces.a:b: a namespace name is 1 to 63 of a-z 0-9 . _ - and "
	    "starts with a letter or digit");
	TL_ERR(PLAIN "namespaces:\n  -lab:\n    tokens: [" HASH_A "]\n",
	    "t.yaml:4: namespaces.-lab: a namespace name is 1 to 63 of a-z 0-9 . _ - and "
	    "starts with a letter or digit");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens:\n      - sha256:abc\n",
	    "t.yaml:6: namespaces.lab.tokens[0]: must be \"sha256:\" followed by 64 hex digits "
	    "(the hash, not the token)");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens:\n      - " HASH_A "\n      - tlk_0123\n",
	    "t.yaml:7: namespaces.lab.tokens[1]: must be \"sha256:\" followed by 64 hex digits "
	    "(the hash, not the token)");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens: [\"" HASH_A "0\"]\n",
	    "t.yaml:5: namespaces.lab.tokens[0]: must be \"sha256:\" followed by 64 hex digits "
	    "(the hash, not the token)");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens: [\"sha256:"
		     "g344b38f1a4212ba735ff8ae31c19c8b15d57f9ad5a783dd62b0723b2ddd74b5\"]\n",
	    "t.yaml:5: namespaces.lab.tokens[0]: must be \"sha256:\" followed by 64 hex digits "
	    "(the hash, not the token)");
	TL_ERR(PLAIN "namespaces:\n  lab: {}\n", "t.yaml:4: namespaces.lab.tokens: is required");
	TL_ERR(PLAIN "namespaces:\n  lab:\n", "t.yaml:4: namespaces.lab.tokens: is required");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens: []\n",
	    "t.yaml:5: namespaces.lab.tokens: must not be empty");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens: " HASH_A "\n",
	    "t.yaml:5: namespaces.lab.tokens: must be a list, not a scalar");
	TL_ERR(PLAIN "namespaces:\n  lab:\n    tokens: [" HASH_A "]\n    token: x\n",
	    "t.yaml:6: namespaces.lab.token: unknown key");
	TL_ERR(PLAIN "namespaces: [lab]\n",
	    "t.yaml:3: namespaces: must be a mapping of keys, not a list");
	TL_ERR(PLAIN "namespaces:\n  lab: 5\n",
	    "t.yaml:4: namespaces.lab: must be a mapping of keys, not a scalar");
	test_tl_key_errors();
}

static void
test_tl_files(void)
{
	char err[1024], want[1200];
	char *path;

	path = src_path("tests/unit/config/empty.yaml");
	CHECK(tl_config_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s:1: (top level): file is empty", path);
	CHECK_STR(err, want);
	free(path);

	path = src_path("tests/unit/config/bad-agents-tls.yaml");
	CHECK(tl_config_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want),
	    "%s:5: agents.tls: cert and key are required unless agents.plaintext is true", path);
	CHECK_STR(err, want);
	free(path);

	path = src_path("tests/unit/config/no-such-file.yaml");
	CHECK(tl_config_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
	CHECK_STR(err, want);
	free(path);

	path = src_path("tests/unit/config");
	CHECK(tl_config_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", path);
	CHECK_STR(err, want);
	free(path);

	/* a file too large to be sent to a child in one IPC message */
	{
		size_t n = TL_CONFIG_MAX_SIZE + 1;
		char *big = xmalloc(n);
		memset(big, '#', n);
		tl_err(__LINE__, big, n, "t.yaml:1: (top level): file is larger than 262144 bytes");
		free(big);
	}
}

/* Write text to a temporary file; the caller unlinks and frees the path. */
static char *
temp_file(const char *text)
{
	char *path = xstrdup("/tmp/tl-test-secret.XXXXXX");
	int fd = mkstemp(path);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "cannot write a temporary file\n");
		exit(1);
	}
	close(fd);
	return path;
}

/* database and node: PostgreSQL mode, secrets from files and the environment. */
static void
test_tl_network(void)
{
	char yaml[2048], want[1200], *url_file, *secret_file, *out;
	struct tl_config *c;
#define NODE_OK "node:\n  listen: 127.0.0.1:7741\n  internal_url: h2c://127.0.0.1:7741\n" \
		"  secret: s3cret-s3cret\n  name: us-1\n"

	/* standalone: no database, the node name is the host name */
	c = TL_OK(PLAIN);
	if (c != NULL) {
		CHECK(c->database.url == NULL && c->node.listen == NULL);
		CHECK(c->node.name != NULL && c->node.name[0] != '\0');
		CHECK(c->node.heartbeat_interval_ms == 2000 && c->node.ttl_ms == 10000);
		tl_config_free(c);
	}
	c = TL_OK(PLAIN "database:\n  url: postgresql://u@h/db\n" NODE_OK
		      "  heartbeat_interval: 500ms\n  ttl: 2s\n");
	if (c != NULL) {
		CHECK_STR(c->database.url, "postgresql://u@h/db");
		CHECK_STR(c->node.secret, "s3cret-s3cret");
		CHECK_STR(c->node.name, "us-1");
		CHECK(c->node.heartbeat_interval_ms == 500 && c->node.ttl_ms == 2000);
		/* secrets never show in -nv */
		out = tl_printed(c);
		CHECK(strstr(out, "postgresql://") == NULL && strstr(out, "s3cret") == NULL);
		CHECK(strstr(out, "  url: \"(secret)\"\n") != NULL);
		CHECK(strstr(out, "  secret: \"(secret)\"\n") != NULL);
		free(out);
		tl_config_free(c);
	}

	/* secrets from files: the first line */
	url_file = temp_file("postgresql://file@h/db\nsecond line\n");
	secret_file = temp_file("from-a-file\r\n");
	snprintf(yaml, sizeof(yaml), PLAIN "database:\n  url_file: %s\nnode:\n"
	    "  listen: 127.0.0.1:7741\n  internal_url: h2c://127.0.0.1:7741\n"
	    "  secret_file: %s\n  name: eu-1\n", url_file, secret_file);
	c = TL_OK(yaml);
	if (c != NULL) {
		CHECK_STR(c->database.url, "postgresql://file@h/db");
		CHECK_STR(c->node.secret, "from-a-file");
		tl_config_free(c);
	}
	/* DATABASE_URL when the file says nothing */
	setenv("DATABASE_URL", "postgresql://env@h/db", 1);
	c = TL_OK(PLAIN NODE_OK);
	if (c != NULL) {
		CHECK_STR(c->database.url, "postgresql://env@h/db");
		tl_config_free(c);
	}
	/* ... but the file wins */
	c = TL_OK(PLAIN "database:\n  url: postgresql://file@h/db\n" NODE_OK);
	if (c != NULL) {
		CHECK_STR(c->database.url, "postgresql://file@h/db");
		tl_config_free(c);
	}
	TL_ERR(PLAIN, "t.yaml:1: node.listen: is required when a database is configured");
	unsetenv("DATABASE_URL");

	TL_ERR(PLAIN "database:\n  url: x\n  url_file: /nonexistent\n",
	    "t.yaml:5: database.url_file: database.url is set too; remove one of them");
	TL_ERR(PLAIN "database:\n  url_file: /nonexistent/url\n",
	    "t.yaml:4: database.url_file: /nonexistent/url: cannot read: "
	    "No such file or directory");
	unlink(url_file);
	free(url_file);
	url_file = temp_file("\nsecond\n");
	snprintf(yaml, sizeof(yaml), PLAIN "node:\n  secret_file: %s\n", url_file);
	snprintf(want, sizeof(want), "t.yaml:4: node.secret_file: %s: the first line is empty",
	    url_file);
	TL_ERR(yaml, want);
	unlink(url_file);
	free(url_file);
	unlink(secret_file);
	free(secret_file);

	TL_ERR(PLAIN "database:\n  url: x\nnode:\n  listen: 127.0.0.1:7741\n",
	    "t.yaml:5: node.internal_url: is required when a database is configured");
	TL_ERR(PLAIN "database:\n  url: x\nnode:\n  listen: 127.0.0.1:7741\n"
	       "  internal_url: h2c://a:1\n",
	    "t.yaml:5: node.secret_file: is required when a database is configured "
	    "(or node.secret)");
	TL_ERR(PLAIN "node:\n  internal_url: http://a:1\n",
	    "t.yaml:4: node.internal_url: must start with h2c:// or https:// "
	    "(e.g. h2c://10.0.0.5:7741)");
	TL_ERR(PLAIN "node:\n  internal_url: h2c://a:1/x\n",
	    "t.yaml:4: node.internal_url: must be scheme://host:port with no path");
	TL_ERR(PLAIN "node:\n  internal_url: https://a:1\n",
	    "t.yaml:4: node.internal_url: must be https:// when node.tls is set and h2c:// "
	    "when it is not");
	TL_ERR(PLAIN "node:\n  name: us/1\n",
	    "t.yaml:4: node.name: a node name is 1 to 63 of a-z A-Z 0-9 . _ - and starts with "
	    "a letter or digit");
	TL_ERR(PLAIN "node:\n  heartbeat_interval: 5s\n  ttl: 5s\n",
	    "t.yaml:5: node.ttl: must be longer than node.heartbeat_interval (5s)");
	TL_ERR(PLAIN "node:\n  tls:\n    cert: /c\n",
	    "t.yaml:4: node.tls: needs both cert and key");
	TL_ERR(PLAIN "node:\n  listen: 0.0.0.0:7740\n",
	    "t.yaml:4: node.listen: 0.0.0.0:7740 is also agents.listen; use another port");
	TL_ERR(PLAIN "node:\n  listen: 127.0.0.1:8080\n",
	    "t.yaml:4: node.listen: 127.0.0.1:8080 is also http.listen[0]; use another port");
	TL_ERR(PLAIN "node:\n  listen: nope\n",
	    "t.yaml:4: node.listen: must be \"host:port\" or \"[ipv6]:port\" (the port is missing)");
#undef NODE_OK
}

static void
test_tl_reload(void)
{
	char err[1024], want[1200];
	char *po = src_path("tests/unit/config/reload-old.yaml");
	char *pn = src_path("tests/unit/config/reload-new.yaml");
	struct tl_config *old = tl_config_load(po, err, sizeof(err)), *new, *c;

	CHECK(old != NULL);
	new = tl_config_load(pn, err, sizeof(err));
	CHECK(new != NULL);
	if (old == NULL || new == NULL)
		goto done;
	CHECK(tl_config_check_reload(old, old, err, sizeof(err)) == 0);
	CHECK(tl_config_check_reload(old, new, err, sizeof(err)) == -1);
	snprintf(want, sizeof(want),
	    "%s:3: http.listen: cannot change on reload; restart tokilake", pn);
	CHECK_STR(err, want);

	/* what a reload may change */
	c = TL_OK("workers: 7\nshutdown_timeout: 1s\nlog:\n  level: debug\n"
		  "http:\n  listen: [127.0.0.1:18080]\n  http2: true\n  max_body_size: 1MiB\n"
		  "agents:\n  listen: 127.0.0.1:17740\n  plaintext: true\n  max_agents: 3\n"
		  "namespaces:\n  lab:\n    tokens: [" HASH_A "]\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == 0);
		tl_config_free(c);
	}
	/* and what it may not, each named at its own line */
	c = TL_OK("http:\n  listen: [127.0.0.1:18080]\n"
		  "agents:\n  listen: 127.0.0.1:17741\n  plaintext: true\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == -1);
		CHECK_STR(err,
		    "t.yaml:4: agents.listen: cannot change on reload; restart tokilake");
		tl_config_free(c);
	}
	c = TL_OK("http:\n  listen: [127.0.0.1:18080]\n"
		  "agents:\n  listen: 127.0.0.1:17740\n  tls:\n    cert: /c\n    key: /k\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == -1);
		CHECK_STR(err,
		    "t.yaml:6: agents.tls.cert: cannot change on reload; restart tokilake");
		tl_config_free(c);
	}
	c = TL_OK("runtime_dir: /elsewhere\nhttp:\n  listen: [127.0.0.1:18080]\n"
		  "agents:\n  listen: 127.0.0.1:17740\n  plaintext: true\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == -1);
		CHECK_STR(err, "t.yaml:1: runtime_dir: cannot change on reload; restart tokilake");
		tl_config_free(c);
	}
	c = TL_OK("http:\n  listen: [127.0.0.1:18080]\n"
		  "agents:\n  listen: 127.0.0.1:17740\n  plaintext: true\npid_file: /p\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == -1);
		CHECK_STR(err, "t.yaml:6: pid_file: cannot change on reload; restart tokilake");
		/* a key that disappears is blamed on line 1 */
		CHECK(tl_config_check_reload(c, old, err, sizeof(err)) == -1);
		snprintf(want, sizeof(want),
		    "%s:1: pid_file: cannot change on reload; restart tokilake", po);
		CHECK_STR(err, want);
		tl_config_free(c);
	}
	c = TL_OK("http:\n  listen: [127.0.0.1:18080]\n"
		  "agents:\n  listen: 127.0.0.1:17740\n  plaintext: false\n"
		  "  tls: {cert: /c, key: /k}\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == -1);
		CHECK_STR(err,
		    "t.yaml:6: agents.tls.cert: cannot change on reload; restart tokilake");
		tl_config_free(c);
	}
	/* the same listeners written another way are the same */
	c = TL_OK("http:\n  listen:\n    - address: 127.0.0.1:18080\n"
		  "agents:\n  listen: 127.0.0.1:17740\n  plaintext: yes\n");
	if (c != NULL) {
		CHECK(tl_config_check_reload(old, c, err, sizeof(err)) == 0);
		tl_config_free(c);
	}
done:
	tl_config_free(old);
	tl_config_free(new);
	free(po);
	free(pn);
}

static void
test_tm_defaults(void)
{
	struct tm_config *c = tm_config_new();

	CHECK(c->path == NULL);
	CHECK(c->server == NULL && c->namespace == NULL && c->token == NULL);
	CHECK(c->token_file == NULL);
	CHECK_STR(c->api_addr, "localhost:7749");
	CHECK(c->tls.ca_file == NULL && c->tls.server_name == NULL);
	CHECK(c->tls.insecure_skip_verify == 0 && c->tls.plaintext == 0);
	CHECK(c->reconnect_initial_ms == 1000 && c->reconnect_max_ms == 30000);
	CHECK(c->heartbeat_interval_ms == 5000);
	CHECK(c->shutdown_timeout_ms == 30000);
	CHECK(c->log.level == LOG_LEVEL_INFO && c->log.use_syslog == 0 && c->log.file == NULL);
	CHECK(c->nbackends == 0);
	tm_config_free(c);

	c = TM_OK("server: lake:7740\n");
	if (c != NULL) {
		CHECK_STR(c->path, "t.yaml");
		CHECK_STR(c->server, "lake:7740");
		CHECK_STR(c->api_addr, "localhost:7749");
		tm_config_free(c);
	}
}

static void
test_tm_full(void)
{
	char err[1024], *path = src_path("tests/unit/config/tm-full.yaml");
	char *gpath = src_path("tests/unit/config/tm-full.golden"), *golden = NULL, *out;
	struct tm_config *c = tm_config_load(path, err, sizeof(err));

	if (c == NULL) {
		fprintf(stderr, "FAIL: %s\n", err);
		failures++;
		goto done;
	}
	CHECK_STR(c->server, "lake.test:17740");
	CHECK_STR(c->namespace, "lab-2");
	CHECK_STR(c->token, "tlk_secret_value_1234");
	CHECK_STR(c->api_addr, "127.0.0.1:17749");
	CHECK_STR(c->tls.ca_file, "/etc/tm-test/ca.pem");
	CHECK_STR(c->tls.server_name, "lake.internal");
	CHECK(c->tls.insecure_skip_verify == 1 && c->tls.plaintext == 0);
	CHECK(c->reconnect_initial_ms == 250 && c->reconnect_max_ms == 120000);
	CHECK(c->heartbeat_interval_ms == 10000 && c->shutdown_timeout_ms == 0);
	CHECK(c->log.level == LOG_LEVEL_WARN && c->log.use_syslog == 1);
	CHECK_STR(c->log.file, "/var/log/tm-test.log");
	CHECK(c->nbackends == 2);
	if (c->nbackends == 2) {
		const struct tm_backend *b = &c->backends[0];
		CHECK_STR(b->name, "127.0.0.1:11434");
		CHECK_STR(b->url, "http://127.0.0.1:11434/v1");
		CHECK(b->api_key == NULL && b->concurrency == 8 && b->nmodels == 0);
		CHECK(b->discover == 1 && b->discover_interval_ms == 60000 && b->line == 21);
		b = &c->backends[1];
		CHECK_STR(b->name, "vllm");
		CHECK_STR(b->url, "https://10.0.0.5:8000/v1");
		CHECK_STR(b->api_key, "sk-backend-secret");
		CHECK(b->concurrency == 32 && b->nmodels == 2 && b->line == 22);
		if (b->nmodels == 2) {
			CHECK_STR(b->models[0], "Qwen/Qwen3-8B");
			CHECK_STR(b->models[1], "qwen3:0.6b");
		}
		CHECK(b->discover == 0 && b->discover_interval_ms == 300000);
		CHECK(b->load_probe == TM_PROBE_VLLM && c->backends[0].load_probe == TM_PROBE_AUTO);
	}
	CHECK(tm_config_finish(c, err, sizeof(err)) == 0);

	golden = slurp(gpath);
	out = tm_printed(c);
	CHECK_STR(out, golden);
	/* secrets never printed */
	CHECK(strstr(out, "tlk_secret") == NULL && strstr(out, "sk-backend") == NULL);
	free(out);
	tm_config_free(c);
done:
	free(golden);
	free(gpath);
	free(path);
}

static void
test_tm_values(void)
{
	struct tm_config *c;

	c = TM_OK("backends:\n  - url: http://a:1/v1\n    models: [m]\n    discover: true\n"
		  "  - url: http://b/v1\n    discover: false\n");
	if (c != NULL && c->nbackends == 2) {
		CHECK(c->backends[0].discover == 1);
		CHECK(c->backends[1].discover == 0);
		CHECK_STR(c->backends[1].name, "b");
	}
	tm_config_free(c);
	c = TM_OK("server: \"[::1]:7740\"\ntls:\n  plaintext: true\nreconnect: {initial: 30s}\n");
	if (c != NULL) {
		CHECK(c->tls.plaintext == 1);
		CHECK(c->reconnect_initial_ms == 30000);
	}
	tm_config_free(c);
}

static void
test_tm_errors(void)
{
	TM_ERR("", "t.yaml:1: (top level): file is empty");
	TM_ERR("servr: a:1\n", "t.yaml:1: servr: unknown key");
	TM_ERR("tls:\n  verify: false\n", "t.yaml:2: tls.verify: unknown key");
	TM_ERR("server: lake\n",
	    "t.yaml:1: server: must be \"host:port\" or \"[ipv6]:port\" (the port is missing)");
	TM_ERR("api_addr: localhost:0\n",
	    "t.yaml:1: api_addr: port must be a number between 1 and 65535");
	TM_ERR("namespace: Lab\n", "t.yaml:1: namespace: a namespace name is 1 to 63 of a-z 0-9 . "
	    "_ - and starts with a letter or digit");
	TM_ERR("namespace: \"lab:x\"\n", "t.yaml:1: namespace: a namespace name is 1 to 63 of "
	    "a-z 0-9 . _ - and starts with a letter or digit");
	TM_ERR("token: a\ntoken_file: /x\n",
	    "t.yaml:2: token_file: cannot be used together with token; keep one of them");
	TM_ERR("tls:\n  plaintext: sometimes\n", "t.yaml:2: tls.plaintext: must be true or false");
	TM_ERR("reconnect:\n  initial: 1m\n  max: 10s\n",
	    "t.yaml:2: reconnect.initial: must not be longer than reconnect.max (10s)");
	TM_ERR("reconnect:\n  max: 2h\n", "t.yaml:2: reconnect.max: must be between 100ms and 1h");
	TM_ERR("heartbeat_interval: 0\n",
	    "t.yaml:1: heartbeat_interval: must be between 100ms and 10m");
	TM_ERR("log:\n  level: trace\n",
	    "t.yaml:2: log.level: must be one of error, warn, info, debug");
	TM_ERR("backends: {}\n", "t.yaml:1: backends: must be a list, not a mapping");
	TM_ERR("backends:\n  - url: ftp://x\n",
	    "t.yaml:2: backends[0].url: must start with http:// or https://");
	TM_ERR("backends:\n  - url: http://\n",
	    "t.yaml:2: backends[0].url: has no host after the scheme");
	TM_ERR("backends:\n  - url: http://u:p@a:1/v1\n",
	    "t.yaml:2: backends[0].url: must not hold a user or password (put a key in api_key)");
	TM_ERR("backends:\n  - url: http://a b/\n",
	    "t.yaml:2: backends[0].url: must not contain spaces");
	TM_ERR("backends:\n  - ftp://x\n",
	    "t.yaml:2: backends[0]: must start with http:// or https://");
	TM_ERR("backends:\n  - name: a\n", "t.yaml:2: backends[0].url: is required");
	TM_ERR("backends:\n  - http://a:1/v1\n  - url: http://a:1/v1\n",
	    "t.yaml:3: backends[1].name: \"a:1\" is already the name of backends[0]; give each "
	    "backend its own name");
	TM_ERR("backends:\n  - url: http://a/v1\n    concurrency: 5000\n",
	    "t.yaml:3: backends[0].concurrency: must be a number between 1 and 4096");
	TM_ERR("backends:\n  - url: http://a/v1\n    concurrency: 0\n",
	    "t.yaml:3: backends[0].concurrency: must be a number between 1 and 4096");
	TM_ERR("backends:\n  - url: http://a/v1\n    models: [\"\"]\n",
	    "t.yaml:3: backends[0].models[0]: must be a non-empty string");
	TM_ERR("backends:\n  - url: http://a/v1\n    models: [a, [b]]\n",
	    "t.yaml:3: backends[0].models[1]: must be a non-empty string");
	TM_ERR("backends:\n  - url: http://a/v1\n    models: a\n",
	    "t.yaml:3: backends[0].models: must be a list, not a scalar");
	TM_ERR("backends:\n  - url: http://a/v1\n    discover_interval: 500ms\n",
	    "t.yaml:3: backends[0].discover_interval: must be between 1s and 24h");
	TM_ERR("backends:\n  - url: http://a/v1\n    load_probe: tgi\n",
	    "t.yaml:3: backends[0].load_probe: must be one of auto, off, vllm, sglang, llamacpp, "
	    "ollama");
	TM_ERR("backends:\n  - url: http://a/v1\n    url: http://b/v1\n",
	    "t.yaml:3: backends[0].url: duplicate key (first on line 2)");
}

static char *
write_temp(const char *content)
{
	const char *dir = getenv("TMPDIR");
	char *path = xmalloc(4096);
	int fd;

	snprintf(path, 4096, "%s/test_config.XXXXXX", dir != NULL && dir[0] ? dir : "/tmp");
	if ((fd = mkstemp(path)) == -1 ||
	    write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		perror(path);
		exit(1);
	}
	close(fd);
	return path;
}

static void
test_tm_finish(void)
{
	char err[1024], want[8200];
	struct tm_config *c;
	char *tok;

	unsetenv("TOKIAME_TOKEN");

	/* everything missing, no file */
	c = tm_config_new();
	CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
	CHECK_STR(err, "server: is not set (server: or servers: in the file, or -a/--addr); "
		       "also missing: namespace, token, backends");
	tm_config_free(c);

	/* with a file, each missing key at line 1 */
	c = TM_OK("server: lake:7740\nnamespace: lab\nbackends: [http://a/v1]\n");
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
		CHECK_STR(err, "t.yaml:1: token: is not set (token: or token_file: in the file, "
			       "--token-file, or the TOKIAME_TOKEN environment variable)");
		/* then the environment */
		setenv("TOKIAME_TOKEN", "tlk_from_env", 1);
		CHECK(tm_config_finish(c, err, sizeof(err)) == 0);
		CHECK_STR(c->token, "tlk_from_env");
		tm_config_free(c);
	}
	c = TM_OK("namespace: lab\nbackends: [http://a/v1]\n");
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
		CHECK_STR(err, "t.yaml:1: server: is not set (server: or servers: in the file, or "
			       "-a/--addr)");
		tm_config_free(c);
	}
	c = TM_OK("server: lake:7740\nnamespace: lab\n");
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
		CHECK_STR(err,
		    "t.yaml:1: backends: no backend is configured (add one under backends:)");
		tm_config_free(c);
	}
	/* a token in the file beats the environment */
	c = TM_OK("server: lake:7740\nnamespace: lab\ntoken: tlk_file\nbackends: [http://a/v1]\n");
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == 0);
		CHECK_STR(c->token, "tlk_file");
		tm_config_free(c);
	}

	/* token_file: trailing newline trimmed, beats the environment */
	tok = write_temp("tlk_in_a_file\r\n\n");
	snprintf(want, sizeof(want), "server: lake:7740\nnamespace: lab\ntoken_file: %s\n"
	    "backends: [http://a/v1]\n", tok);
	c = TM_OK(want);
	if (c != NULL) {
		char *out;
		CHECK(tm_config_finish(c, err, sizeof(err)) == 0);
		CHECK_STR(c->token, "tlk_in_a_file");
		out = tm_printed(c);
		CHECK(strstr(out, "token: (set)\n") != NULL);
		CHECK(strstr(out, "tlk_in_a_file") == NULL);
		free(out);
		tm_config_free(c);
	}
	unlink(tok);
	free(tok);

	/* an empty token file, then a missing one */
	tok = write_temp("\n");
	snprintf(want, sizeof(want), "server: lake:7740\ntoken_file: %s\n", tok);
	c = TM_OK(want);
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
		snprintf(want, sizeof(want), "t.yaml:2: token_file: %s is empty", tok);
		CHECK_STR(err, want);
		tm_config_free(c);
	}
	unlink(tok);
	free(tok);
	tok = write_temp("tlk_a\ntlk_b\n");
	snprintf(want, sizeof(want), "token_file: %s\n", tok);
	c = TM_OK(want);
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
		snprintf(want, sizeof(want),
		    "t.yaml:1: token_file: %s: the token must be one line of printable characters",
		    tok);
		CHECK_STR(err, want);
		tm_config_free(c);
	}
	unlink(tok);
	snprintf(want, sizeof(want), "server: lake:7740\ntoken_file: %s\n", tok);
	c = TM_OK(want);
	if (c != NULL) {
		CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
		snprintf(want, sizeof(want),
		    "t.yaml:2: token_file: %s: cannot read: No such file or directory", tok);
		CHECK_STR(err, want);
		tm_config_free(c);
	}
	free(tok);

	/* values set by flags are checked too */
	c = tm_config_new();
	c->server = xstrdup("lake");
	CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
	CHECK_STR(err, "server: must be \"host:port\" or \"[ipv6]:port\" (the port is missing)");
	free(c->server);
	c->server = xstrdup("lake:1");
	c->namespace = xstrdup("a:b");
	CHECK(tm_config_finish(c, err, sizeof(err)) == -1);
	CHECK_STR(err, "namespace: a namespace name is 1 to 63 of a-z 0-9 . _ - and starts with a "
		       "letter or digit");
	tm_config_free(c);

	unsetenv("TOKIAME_TOKEN");
}

static void
test_samples(void)
{
	char err[1024], *path;
	struct tl_config *tl;
	struct tm_config *tm;

	path = src_path("etc/tokilake.yaml");
	tl = tl_config_load(path, err, sizeof(err));
	if (tl == NULL) {
		fprintf(stderr, "FAIL: sample: %s\n", err);
		failures++;
	} else {
		/* the sample shows the defaults: it must equal an almost empty file */
		struct tl_config *d = TL_OK("agents:\n  tls:\n    cert: /etc/tokilake/agents.crt\n"
					    "    key: /etc/tokilake/agents.key\n");
		if (d != NULL) {
			char *a = tl_printed(tl), *b = tl_printed(d);
			CHECK_STR(a, b);
			free(a);
			free(b);
			tl_config_free(d);
		}
		tl_config_free(tl);
	}
	free(path);

	path = src_path("etc/tokiame.yaml");
	tm = tm_config_load(path, err, sizeof(err));
	if (tm == NULL) {
		fprintf(stderr, "FAIL: sample: %s\n", err);
		failures++;
	} else {
		CHECK(tm->nbackends == 1);
		setenv("TOKIAME_TOKEN", "tlk_sample", 1);
		CHECK(tm_config_finish(tm, err, sizeof(err)) == 0);
		unsetenv("TOKIAME_TOKEN");
		tm_config_free(tm);
	}
	free(path);
}

static const char *const spot_keys[] = { "workers", "http.listen.tls.cert",
	"agents.ping_timeout", "namespaces.*.tokens", "backends.discover_interval",
	"reconnect.initial", "tls.insecure_skip_verify" };
static int spot_seen[sizeof(spot_keys) / sizeof(spot_keys[0])];

static void
count_key(const char *dotted, void *arg)
{
	for (size_t i = 0; i < sizeof(spot_keys) / sizeof(spot_keys[0]); i++)
		if (strcmp(dotted, spot_keys[i]) == 0)
			spot_seen[i]++;
	(*(int *)arg)++;
}

static void
test_keys(void)
{
	int count = 0;

	/* the lists the documentation check walks */
	tl_config_keys(count_key, &count);
	CHECK(count == 55 /* 48 + agents.handshake_timeout, agents.accept_timeout,
			      node.handshake_timeout, http.max_header_size, http.body_timeout,
			      http.agentd_wait, agents.relink_grace */
	    + 12 /* issue 14: http.anonymous, keys and its ten keys.*.* */
	    + 2 /* usage, usage.log_file */
	    + 3 /* issue 15: agents.retries, agents.breaker_failures, agents.breaker_cooldown */
	    + 2 /* issue 15: http.queue_timeout, http.queue_max */);
	count = 0;
	tm_config_keys(count_key, &count);
	CHECK(count == 27 + 1 /* issue 15: backends.load_probe */ + 1 /* servers */);
	for (size_t i = 0; i < sizeof(spot_keys) / sizeof(spot_keys[0]); i++)
		CHECK(spot_seen[i] == 1);
}

/*
 * The documentation check. A dotted key is found in a sample config when
 * each of its parts appears, in order, as "part:" at the start of a line
 * (after indentation, a comment mark or a list dash), inside the top-level
 * block of its first part. It is found in a man page when the subsection
 * ".Ss first" (or ".Ss Top level" for a top-level key without one) has
 * ".It Ic part" for each further part, in order.
 */
struct lines {
	char **v;
	size_t n;
};

static struct lines
split_lines(char *text)
{
	struct lines l = { NULL, 0 };

	for (char *save = NULL, *s = strtok_r(text, "\n", &save); s != NULL;
	     s = strtok_r(NULL, "\n", &save)) {
		l.v = xrealloc(l.v, (l.n + 1) * sizeof(*l.v));
		l.v[l.n++] = s;
	}
	return l;
}

/* "part:" at the start of a line of YAML, commented out or not. */
static int
yaml_line_has(const char *line, const char *part, int top)
{
	size_t n = strlen(part);

	if (*line == '#')
		line++;
	if (!top) {
		while (*line == ' ' || *line == '#')
			line++;
		if (line[0] == '-' && line[1] == ' ')
			line += 2;
		while (*line == ' ')
			line++;
	}
	return strncmp(line, part, n) == 0 && line[n] == ':' &&
	    (line[n + 1] == '\0' || line[n + 1] == ' ');
}

static int
top_key_line(const char *line)
{
	if (*line == '#')
		line++;
	if (!(*line >= 'a' && *line <= 'z'))
		return 0;
	while ((*line >= 'a' && *line <= 'z') || *line == '_')
		line++;
	return *line == ':';
}

static int
in_sample(const struct lines *l, char **parts, size_t nparts)
{
	size_t i = 0, end;

	while (i < l->n && !yaml_line_has(l->v[i], parts[0], 1))
		i++;
	if (i == l->n)
		return 0;
	for (end = i + 1; end < l->n; end++)
		if (top_key_line(l->v[end]) && !yaml_line_has(l->v[end], parts[0], 1))
			break;
	for (size_t p = 1; p < nparts; p++) {
		if (strcmp(parts[p], "*") == 0)
			continue;
		while (++i < end && !yaml_line_has(l->v[i], parts[p], 0))
			;
		if (i >= end)
			return 0;
	}
	return 1;
}

static int
man_item_is(const char *line, const char *part)
{
	size_t n = strlen(part);

	return strncmp(line, ".It Ic ", 7) == 0 && strncmp(line + 7, part, n) == 0 &&
	    (line[7 + n] == '\0' || line[7 + n] == ' ');
}

static int
in_man(const struct lines *l, char **parts, size_t nparts)
{
	char ss[128];
	size_t i = 0, end, p = 1;

	snprintf(ss, sizeof(ss), ".Ss %s", parts[0]);
	while (i < l->n && strcmp(l->v[i], ss) != 0)
		i++;
	if (i == l->n) {
		/* a top-level key without a block of its own */
		for (i = 0; i < l->n && strcmp(l->v[i], ".Ss Top level") != 0; i++)
			;
		p = 0;
	}
	if (i == l->n)
		return 0;
	for (end = i + 1; end < l->n; end++)
		if (strncmp(l->v[end], ".Ss ", 4) == 0 || strncmp(l->v[end], ".Sh ", 4) == 0)
			break;
	for (; p < nparts; p++) {
		if (strcmp(parts[p], "*") == 0)
			continue;
		while (++i < end && !man_item_is(l->v[i], parts[p]))
			;
		if (i >= end)
			return 0;
	}
	return 1;
}

struct doc {
	const char *sample_name, *man_name;
	struct lines sample, man;
	int checked;
};

static void
doc_key(const char *dotted, void *arg)
{
	struct doc *d = arg;
	char *copy = xstrdup(dotted), *parts[16], *save = NULL;
	size_t n = 0;

	for (char *s = strtok_r(copy, ".", &save); s != NULL && n < 16;
	     s = strtok_r(NULL, ".", &save))
		parts[n++] = s;
	if (!in_sample(&d->sample, parts, n)) {
		fprintf(stderr, "FAIL: %s is not in %s\n", dotted, d->sample_name);
		failures++;
	}
	if (!in_man(&d->man, parts, n)) {
		fprintf(stderr, "FAIL: %s is not in %s (want .It Ic %s under its .Ss)\n", dotted,
		    d->man_name, parts[n - 1]);
		failures++;
	}
	d->checked++;
	free(copy);
}

static void
check_docs(const char *sample, const char *man, void (*keys)(void (*)(const char *, void *),
    void *))
{
	char *sp = src_path(sample), *mp = src_path(man);
	char *st = slurp(sp), *mt = slurp(mp);
	struct doc d = { sample, man, split_lines(st), split_lines(mt), 0 };

	keys(doc_key, &d);
	CHECK(d.checked > 20);
	printf("%d keys checked against %s and %s\n", d.checked, sample, man);
	free(d.sample.v);
	free(d.man.v);
	free(st);
	free(mt);
	free(sp);
	free(mp);
}

/* The documentation check must be able to fail: try it on a bad page. */
static void
test_doc_check(void)
{
	char sample[] = "http:\n  listen:\n    - a:1\n#runtime_dir: x\nagents:\n  tls:\n";
	char man[] = ".Ss Top level\n.It Ic runtime_dir Ar path\n.Ss http\n.It Ic listen\n"
		     ".It Ic tls\n.Ss agents\n.It Ic cert\n";
	struct lines s = split_lines(sample), m = split_lines(man);
	char *k1[] = { "http", "listen" }, *k2[] = { "runtime_dir" }, *k3[] = { "agents", "tls" },
	     *k4[] = { "http", "listen", "tls" }, *k5[] = { "agents", "tls", "cert" },
	     *k6[] = { "workers" };

	CHECK(in_sample(&s, k1, 2) && in_man(&m, k1, 2));
	CHECK(in_sample(&s, k2, 1) && in_man(&m, k2, 1));
	CHECK(in_sample(&s, k3, 2) && !in_man(&m, k3, 2));
	CHECK(!in_sample(&s, k4, 3) && in_man(&m, k4, 3));
	CHECK(!in_sample(&s, k5, 3) && !in_man(&m, k5, 3));
	CHECK(!in_sample(&s, k6, 1) && !in_man(&m, k6, 1));
	free(s.v);
	free(m.v);
}

int
main(int argc, char **argv)
{
	log_init("test_config", LOG_LEVEL_WARN, 0, NULL);
	/* the environment must not switch the tested files to PostgreSQL mode */
	unsetenv("DATABASE_URL");
	if (argc > 1 && strcmp(argv[1], "--docs") == 0) {
		check_docs("etc/tokilake.yaml", "man/tokilake.yaml.5.in", tl_config_keys);
		check_docs("etc/tokiame.yaml", "man/tokiame.yaml.5.in", tm_config_keys);
	} else {
		test_values();
		test_tl_defaults();
		test_tl_full();
		test_tl_roundtrip_defaults();
		test_tl_values();
		test_tl_errors();
		test_tl_files();
		test_tl_reload();
		test_tl_network();
		test_tm_defaults();
		test_tm_full();
		test_tm_values();
		test_tm_errors();
		test_tm_finish();
		test_samples();
		test_keys();
		test_doc_check();
	}
	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("test_config: all checks passed\n");
	return 0;
}
