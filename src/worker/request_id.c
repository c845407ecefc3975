/* request_id: see request_id.h. */
#include "config.h"

#include <string.h>
#include <sys/random.h>

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

static void
random_hex(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd) &&
	    RAND_bytes(rnd, sizeof(rnd)) != 1)
		fatalx("no random bytes for a request id");
	for (size_t i = 0; i < sizeof(rnd); i++) {
		out[2 * i] = hex[rnd[i] >> 4];
		out[2 * i + 1] = hex[rnd[i] & 15];
	}
	out[2 * sizeof(rnd)] = '\0';
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
