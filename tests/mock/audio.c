/*
 * audio: the binary and multipart endpoints.
 *
 * POST /v1/audio/speech answers audio/mpeg: `bytes` bytes (64 KiB unless
 * mock_bytes or x-mock-bytes say otherwise) of the splitmix64 stream
 * seeded with FNV-1a 64 of the "input" text (see fnv.h), with the
 * digest of the answer in x-mock-response-fnv.
 *
 * POST /v1/audio/transcriptions takes multipart/form-data and does not
 * parse it: it answers the size and digest of the whole raw body, and
 * the "model" form field when a shallow scan finds one.
 */
#include "config.h"

#include <string.h>

#include "fnv.h"
#include "mreq.h"

void
ep_speech(struct mreq *m)
{
	const char *input = mreq_json_str(m->root, "input");
	uint64_t state = fnv1a64(input != NULL ? input : "", input != NULL ? strlen(input) : 0);
	uint8_t *p = NULL;
	size_t i;

	buf_reset(&m->out);
	if (m->bytes > 0 && (p = buf_reserve(&m->out, m->bytes)) == NULL) {
		reply_error(m, 500, "server_error", "mock_too_large", "mock_bytes too large");
		return;
	}
	for (i = 0; i + 8 <= m->bytes; i += 8) {
		uint64_t v = splitmix64_next(&state);

		for (int k = 0; k < 8; k++)
			p[i + k] = (uint8_t)(v >> (8 * k));
	}
	if (i < m->bytes) {
		uint64_t v = splitmix64_next(&state);

		for (int k = 0; i < m->bytes; k++, i++)
			p[i] = (uint8_t)(v >> (8 * k));
	}
	buf_commit(&m->out, m->bytes);
	m->status = 200;
	m->ctype = "audio/mpeg";
	m->body = h2o_iovec_init(m->bytes > 0 ? buf_head(&m->out) : (uint8_t *)"", m->bytes);
	m->has_resp_fnv = 1;
	m->resp_fnv = fnv1a64(m->body.base, m->body.len);
}

/* The value of the form field "model": after its part headers, up to the
 * CRLF before the next boundary. Not found: base NULL. */
static h2o_iovec_t
form_model(const char *s, size_t n)
{
	static const char needle[] = "name=\"model\"";
	const char *p = s, *end = s + n, *v, *e;

	while (p < end && (p = memmem(p, (size_t)(end - p), needle, sizeof(needle) - 1)) != NULL) {
		p += sizeof(needle) - 1;
		if ((v = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) == NULL)
			break;
		v += 4;
		if ((e = memmem(v, (size_t)(end - v), "\r\n--", 4)) == NULL)
			break;
		if (e - v <= 256)
			return h2o_iovec_init(v, (size_t)(e - v));
	}
	return h2o_iovec_init(NULL, 0);
}

void
ep_transcriptions(struct mreq *m)
{
	h2o_iovec_t body = m->req->entity, model;
	char hex[17], text[96];
	struct jw w;

	fnv_hex(m->body_fnv, hex);
	model = body.base != NULL ? form_model(body.base, body.len) : h2o_iovec_init(NULL, 0);
	snprintf(text, sizeof(text), "mock transcription of %zu bytes, fnv %s", m->body_len, hex);
	buf_reset(&m->out);
	jw_init(&w, &m->out);
	jw_raw(&w, "{\"text\":");
	jw_cstr(&w, text);
	jw_raw(&w, ",\"bytes\":");
	jw_u64(&w, m->body_len);
	jw_raw(&w, ",\"fnv\":\"");
	jw_raw(&w, hex);
	jw_raw(&w, "\",\"model\":");
	jw_str_or_null(&w, model.base, model.len);
	jw_raw(&w, "}");
	reply_json(m, 200, &w);
}
