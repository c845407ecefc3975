/* cfg_value: see cfg_value.h. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cfg_value.h"

/* Leading decimal digits of s; *end points after them. -1 if none. */
static int
leading_number(const char *s, uint64_t *v, const char **end)
{
	uint64_t n = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			n = UINT64_MAX; /* saturate: the bounds check reports it */
		else
			n = n * 10 + d;
	}
	*v = n;
	*end = p;
	return 0;
}

static uint64_t
mul_saturate(uint64_t a, uint64_t b)
{
	if (a != 0 && b > UINT64_MAX / a)
		return UINT64_MAX;
	return a * b;
}

int
cfg_parse_uint(const char *s, uint64_t *v)
{
	const char *end;

	if (leading_number(s, v, &end) == -1 || *end != '\0')
		return -1;
	return 0;
}

int
cfg_parse_bool(const char *s, int *v)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = 0;
			return 0;
		}
	}
	return -1;
}

struct unit {
	const char *name;
	uint64_t factor;
};

static int
parse_with_units(const char *s, const struct unit *units, uint64_t *out)
{
	const char *end;
	uint64_t n;

	if (leading_number(s, &n, &end) == -1)
		return -1;
	for (const struct unit *u = units; u->name != NULL; u++)
		if (strcmp(end, u->name) == 0) {
			*out = mul_saturate(n, u->factor);
			return 0;
		}
	return -1;
}

static const struct unit duration_units[] = {
	{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 }, { "h", 3600 * 1000 },
	{ NULL, 0 },
};

static const struct unit size_units[] = {
	{ "", 1 }, { "B", 1 },
	{ "KiB", 1ULL << 10 }, { "MiB", 1ULL << 20 }, { "GiB", 1ULL << 30 },
	{ "KB", 1000ULL }, { "MB", 1000ULL * 1000 }, { "GB", 1000ULL * 1000 * 1000 },
	{ NULL, 0 },
};

int
cfg_parse_duration(const char *s, uint64_t *ms)
{
	return parse_with_units(s, duration_units, ms);
}

int
cfg_parse_size(const char *s, uint64_t *bytes)
{
	return parse_with_units(s, size_units, bytes);
}

void
cfg_format_duration(uint64_t ms, char *out, size_t outlen)
{
	if (ms != 0 && ms % (3600 * 1000) == 0)
		snprintf(out, outlen, "%lluh", (unsigned long long)(ms / (3600 * 1000)));
	else if (ms != 0 && ms % (60 * 1000) == 0)
		snprintf(out, outlen, "%llum", (unsigned long long)(ms / (60 * 1000)));
	else if (ms % 1000 == 0)
		snprintf(out, outlen, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(out, outlen, "%llums", (unsigned long long)ms);
}

void
cfg_format_size(uint64_t bytes, char *out, size_t outlen)
{
	static const char *const names[] = { "GiB", "MiB", "KiB" };
	static const unsigned shifts[] = { 30, 20, 10 };

	for (size_t i = 0; i < 3; i++) {
		uint64_t f = 1ULL << shifts[i];
		if (bytes != 0 && bytes % f == 0) {
			snprintf(out, outlen, "%llu%s", (unsigned long long)(bytes / f), names[i]);
			return;
		}
	}
	snprintf(out, outlen, "%llu", (unsigned long long)bytes);
}

static const char *
check_port(const char *p)
{
	uint64_t port;

	if (cfg_parse_uint(p, &port) == -1 || port < 1 || port > 65535)
		return "port must be a number between 1 and 65535";
	return NULL;
}

static const char *
check_host(const char *h, size_t len)
{
	int dotted = 1;
	char buf[256];
	struct in_addr a4;

	if (len == 0)
		return "must be \"host:port\" or \"[ipv6]:port\" (the host is missing)";
	if (len > 253)
		return "host name is longer than 253 characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!isalnum(c) && c != '.' && c != '-' && c != '_')
			return "host must be a name, an IPv4 address or [an IPv6 address]";
		if (!isdigit(c) && c != '.')
			dotted = 0;
	}
	if (dotted) {
		memcpy(buf, h, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET, buf, &a4) != 1)
			return "not a valid IPv4 address";
	}
	return NULL;
}

const char *
cfg_check_address(const char *s)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char buf[64];
		struct in6_addr a6;
		size_t n;

		if (close == NULL || close[1] != ':')
			return "must be \"[ipv6]:port\"";
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= sizeof(buf))
			return "not a valid IPv6 address";
		memcpy(buf, s + 1, n);
		buf[n] = '\0';
		if (inet_pton(AF_INET6, buf, &a6) != 1)
			return "not a valid IPv6 address";
		return check_port(close + 2);
	}
	colon = strrchr(s, ':');
	if (colon == NULL)
		return "must be \"host:port\" or \"[ipv6]:port\" (the port is missing)";
	if (memchr(s, ':', (size_t)(colon - s)) != NULL)
		return "an IPv6 address needs brackets: \"[::1]:port\"";
	return check_host(s, (size_t)(colon - s)) ?: check_port(colon + 1);
}

int
cfg_namespace_valid(const char *s, size_t len)
{
	if (len == 0 || len > CFG_NAMESPACE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (i > 0)
			ok = ok || c == '.' || c == '_' || c == '-';
		if (!ok)
			return 0;
	}
	return 1;
}

const char *
cfg_check_token_hash(const char *s)
{
	const size_t plen = sizeof(CFG_TOKEN_HASH_PREFIX) - 1;

	static const char why[] =
	    "must be \"sha256:\" followed by 64 hex digits (the hash, not the token)";

	if (strncmp(s, CFG_TOKEN_HASH_PREFIX, plen) != 0 || strlen(s) != CFG_TOKEN_HASH_LEN)
		return why;
	for (const char *p = s + plen; *p != '\0'; p++)
		if (!isxdigit((unsigned char)*p))
			return why;
	return NULL;
}

void
cfg_token_hash_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}
