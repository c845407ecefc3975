/*
 * request_multipart: find the "model" field of a multipart/form-data body
 * (e.g. /v1/audio/transcriptions, where the audio file travels next to
 * the model name) so the worker can route it and cut the namespace out of
 * it, leaving every other byte, the file included, untouched.
 *
 * Only what routing needs is parsed: the boundary from the Content-Type,
 * then each part's headers until the part named "model"; its value is
 * everything up to the next CRLF "--" boundary. The body is complete in
 * memory (h2o buffers it, bounded by http.max_body_size).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "request_json.h"

static const char *
find(const char *hay, size_t haylen, const char *needle, size_t nlen)
{
	return nlen <= haylen ? memmem(hay, haylen, needle, nlen) : NULL;
}

/*
 * needle where it starts a parameter (after ';', ' ' or '\t'), so that
 * "xboundary=" is not "boundary=" and filename="model" is not
 * name="model": the worker must read the body as the backend will.
 */
static const char *
find_param(const char *hay, size_t haylen, const char *needle, size_t nlen)
{
	const char *p = hay, *end = hay + haylen;

	while ((p = find(p, (size_t)(end - p), needle, nlen)) != NULL) {
		if (p > hay && (p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t'))
			return p;
		p++;
	}
	return NULL;
}

/* The boundary parameter of a multipart Content-Type; 0 if none, or if
 * it holds a control character (a NUL would end it early below). */
static size_t
boundary_of(const char *ct, size_t ctlen, char *out, size_t outlen)
{
	const char *p = find_param(ct, ctlen, "boundary=", 9), *end = ct + ctlen;
	size_t n = 0;

	if (p == NULL)
		return 0;
	p += 9;
	if (p < end && *p == '"') {
		p++;
		while (p < end && *p != '"' && n + 1 < outlen)
			out[n++] = *p++;
	} else
		while (p < end && *p != ';' && *p != ' ' && n + 1 < outlen)
			out[n++] = *p++;
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			return 0;
	return n;
}

int
wk_request_multipart_model(h2o_mem_pool_t *pool, const char *body, size_t len, const char *ct,
    size_t ctlen, struct request_json *out, char *err, size_t errlen)
{
	char bnd[80], delim[84];
	size_t blen, dlen;
	const char *p = body, *end = body + len;

	memset(out, 0, sizeof(*out));
	if ((blen = boundary_of(ct, ctlen, bnd, sizeof(bnd))) == 0 || blen > 70) {
		snprintf(err, errlen, "multipart body without a usable boundary");
		return -1;
	}
	dlen = (size_t)snprintf(delim, sizeof(delim), "--%s", bnd);
	/* each part: delimiter CRLF headers CRLF CRLF value CRLF delimiter */
	while ((p = find(p, (size_t)(end - p), delim, dlen)) != NULL) {
		const char *hdr = p + dlen, *hend, *val, *vend;

		if (end - hdr >= 2 && hdr[0] == '-' && hdr[1] == '-')
			break; /* closing delimiter */
		if (end - hdr < 2 || hdr[0] != '\r' || hdr[1] != '\n')
			break;
		hdr += 2;
		if ((hend = find(hdr, (size_t)(end - hdr), "\r\n\r\n", 4)) == NULL)
			break;
		val = hend + 4;
		if ((vend = find(val, (size_t)(end - val), "\r\n", 2)) == NULL)
			break;
		/* the value ends at CRLF + delimiter, not at any CRLF */
		for (;;) {
			if ((size_t)(end - vend) >= 2 + dlen && memcmp(vend + 2, delim, dlen) == 0)
				break;
			vend = find(vend + 2, (size_t)(end - vend - 2), "\r\n", 2);
			if (vend == NULL)
				break;
		}
		if (vend == NULL)
			break;
		if (find_param(hdr, (size_t)(hend - hdr), "name=\"model\"", 12) != NULL) {
			char *m = h2o_mem_alloc_pool(pool, (size_t)(vend - val) + 1);

			memcpy(m, val, (size_t)(vend - val));
			m[vend - val] = '\0';
			out->model = m;
			out->model_len = (size_t)(vend - val);
			out->model_off = (size_t)(val - body);
			out->model_raw_len = out->model_len;
			return 0;
		}
		p = vend + 2;
	}
	snprintf(err, errlen, "the multipart body has no \"model\" field");
	return -1;
}
