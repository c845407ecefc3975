/* request_id: see request_id.h. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <h2o.h>
#include <openssl/rand.h>

#include "log.h"
#include "request_id.h"

static const char NAME[] = "x-request-id";

static int
sane(const char *s, size_t len)
{
	if (len == 0 || len > REQUEST_ID_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return 0;
	return 1;
}

/*
 * Ids must be unique, not secret: a per-process random seed (taken once,
 * in the worker after fork) and a splitmix64 sequence from it. No system
 * call per request (getrandom is one; so is RAND_bytes' fork check).
 */
static uint64_t id_state;
static int id_seeded;

static uint64_t
splitmix64(void)
{
	uint64_t z = (id_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
random_hex(char *out)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t w[2];

	if (!id_seeded) {
		if (RAND_bytes((unsigned char *)&id_state, sizeof(id_state)) != 1)
			fatalx("no random bytes for request ids");
		id_seeded = 1;
	}
	w[0] = splitmix64();
	w[1] = splitmix64();
	for (size_t i = 0; i < 16; i++) {
		unsigned b = (unsigned)(w[i / 8] >> (8 * (i % 8))) & 0xff;

		out[2 * i] = hex[b >> 4];
		out[2 * i + 1] = hex[b & 15];
	}
	out[32] = '\0';
}

const char *
wk_request_id(h2o_req_t *req)
{
	ssize_t i;
	h2o_iovec_t id;

	/* already chosen: it is in the response headers */
	if ((i = h2o_find_header_by_str(&req->res.headers, NAME, sizeof(NAME) - 1, -1)) != -1)
		return req->res.headers.entries[i].value.base;

	i = h2o_find_header_by_str(&req->headers, NAME, sizeof(NAME) - 1, -1);
	if (i != -1 && sane(req->headers.entries[i].value.base, req->headers.entries[i].value.len)) {
		/* copied so that it is NUL-terminated */
		id = h2o_strdup(&req->pool, req->headers.entries[i].value.base,
		    req->headers.entries[i].value.len);
	} else {
		id.base = h2o_mem_alloc_pool(&req->pool, 33);
		random_hex(id.base);
		id.len = 32;
	}
	h2o_add_header_by_str(&req->pool, &req->res.headers, NAME, sizeof(NAME) - 1, 0,
	    "X-Request-Id", id.base, id.len);
	return id.base;
}
