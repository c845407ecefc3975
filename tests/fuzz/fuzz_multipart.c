/*
 * fuzz_multipart: the "model" field of a multipart/form-data body
 * (request_multipart.c) and the rewrite of it (request_rewrite.c).
 * Input: the Content-Type value up to the first '\n', then the body.
 *
 * Checked:
 *  - a refusal has a message for the client;
 *  - a found model is the body's bytes at model_off (raw length = length,
 *    no decoding in multipart), inside the body, NUL-terminated; it starts
 *    right after a CRLF CRLF that ends the headers of a part whose headers
 *    hold the parameter name="model" (not filename="model"), and is
 *    followed by CRLF and "--boundary" with the boundary parameter of the
 *    Content-Type (not "xboundary=", no control character in it);
 *  - for a routable "ns:name" model the rewritten body is the original
 *    with exactly the "ns:" bytes removed at model_off, nothing else.
 */
#include "config.h"

#include <string.h>

#include <h2o.h>

#include "fuzz.h"
#include "request_json.h"
#include "request_rewrite.h"

/* needle as a parameter: after ';', ' ' or '\t' */
static const char *
param(const char *s, size_t len, const char *needle, size_t nlen)
{
	for (size_t i = 1; i + nlen <= len; i++)
		if ((s[i - 1] == ';' || s[i - 1] == ' ' || s[i - 1] == '\t') &&
		    memcmp(s + i, needle, nlen) == 0)
			return s + i;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size < 256 ? size : 256), *ct = (const char *)data, *body;
	size_t ctlen, len;
	h2o_mem_pool_t pool;
	struct request_json rj;
	char err[512] = "";
	const char *b, *colon;


	if (nl == NULL)
		return 0;
	ctlen = (size_t)(nl - ct);
	body = nl + 1;
	len = size - ctlen - 1;
	h2o_mem_init_pool(&pool);
	if (wk_request_multipart_model(&pool, body, len, ct, ctlen, &rj, err, sizeof(err)) != 0) {
		REQUIRE(err[0] != '\0');
		h2o_mem_clear_pool(&pool);
		return 0;
	}
	REQUIRE(rj.model != NULL && rj.model[rj.model_len] == '\0');
	REQUIRE(rj.model_raw_len == rj.model_len);
	REQUIRE(rj.model_off >= 4 && rj.model_off + rj.model_len + 2 <= len);
	REQUIRE(memcmp(body + rj.model_off, rj.model, rj.model_len) == 0);
	REQUIRE(memcmp(body + rj.model_off - 4, "\r\n\r\n", 4) == 0);
	REQUIRE(memcmp(body + rj.model_off + rj.model_len, "\r\n--", 4) == 0);
	/* the boundary, read independently: the parameter (after ';', ' ' or
	 * '\t'), quoted, or up to ';' or ' ', no control character */
	b = param(ct, ctlen, "boundary=", 9);
	REQUIRE(b != NULL);
	b += 9;
	{
		const char *end = ct + ctlen, *e, *last = NULL, *q, *hend, *prev;
		size_t blen;

		if (b < end && *b == '"') {
			b++;
			e = memchr(b, '"', (size_t)(end - b));
		} else
			for (e = b; e < end && *e != ';' && *e != ' '; e++)
				;
		if (e == NULL)
			e = end;
		blen = (size_t)(e - b);
		REQUIRE(blen >= 1 && blen <= 70);
		for (size_t i = 0; i < blen; i++)
			REQUIRE((unsigned char)b[i] >= 0x20 && b[i] != 0x7f);
		REQUIRE(rj.model_off + rj.model_len + 4 + blen <= len);
		REQUIRE(memcmp(body + rj.model_off + rj.model_len + 4, b, blen) == 0);
		/* some delimiter "--boundary" CRLF starts headers that hold
		 * name="model" and end with the CRLF CRLF right before the
		 * value: no other CRLF CRLF starts between them, so only
		 * delimiters after the previous one can be it (linear, not
		 * one search per delimiter) */
		hend = body + rj.model_off - 4;
		prev = NULL;
		for (size_t i = rj.model_off - 4; i-- > 0 && prev == NULL;)
			if (memcmp(body + i, "\r\n\r\n", 4) == 0)
				prev = body + i;
		q = prev != NULL && (size_t)(prev - body) > blen + 2 ? prev - blen - 2 : body;
		for (; q < hend && (q = memmem(q, (size_t)(hend - q), b, blen)) != NULL; q++) {
			const char *h = q + blen + 2;

			if (q < body + 2 || memcmp(q - 2, "--", 2) != 0 || h > hend ||
			    (prev != NULL && h <= prev) || memcmp(h - 2, "\r\n", 2) != 0)
				continue;
			if (param(h, (size_t)(hend - h), "name=\"model\"", 12) != NULL)
				last = q;
		}
		REQUIRE(last != NULL);
	}
	colon = memchr(rj.model, ':', rj.model_len);
	if (colon != NULL && colon != rj.model && colon != rj.model + rj.model_len - 1) {
		size_t ns_len = (size_t)(colon - rj.model);
		h2o_iovec_t x, y;

		wk_request_model_rewrite(&pool, h2o_iovec_init(body, len), &rj, ns_len, colon + 1,
		    rj.model_len - ns_len - 1, &x, &y);
		REQUIRE(x.len + y.len == len - ns_len - 1);
		REQUIRE(x.len == rj.model_off && memcmp(x.base, body, x.len) == 0);
		REQUIRE(memcmp(y.base, body + rj.model_off + ns_len + 1, y.len) == 0);
	}
	h2o_mem_clear_pool(&pool);
	return 0;
}
