/*
 * chat: POST /v1/chat/completions and /v1/completions.
 *
 * Not streamed, the content is "mock reply <n> to <model>: len=<L>
 * fnv=<hex>": n numbers the replies of this mock (from 1), L and hex are
 * the length and FNV-1a 64 of the exact request body, so a test can tell
 * what reached the backend from the answer alone. Streamed, it is
 * `chunks` events whose content is "tok<i> " (i from 0, so order is
 * checkable), then "data: [DONE]". The first chat event carries the
 * role, the last token event finish_reason "stop".
 *
 * Usage, as OpenAI sends it: always in a plain answer; in a stream only
 * when asked ("stream_options":{"include_usage":true}), then every chunk
 * has "usage":null and a last chunk with "choices":[] has the counts,
 * sent with the last token chunk (in the same write, no pause between),
 * before [DONE]. A stream's counts are prompt (body length + 3) / 4 and
 * completion the token events. x-mock-usage: last puts the counts in the
 * last token chunk instead, asked or not (llama.cpp's way), none leaves
 * usage out of every answer.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fnv.h"
#include "mreq.h"
#include "state.h"

static void
head(struct mreq *m, struct jw *w, const char *idprefix, const char *object)
{
	jw_raw(w, "{\"id\":\"");
	jw_raw(w, idprefix);
	jw_u64(w, m->serial);
	jw_raw(w, "\",\"object\":\"");
	jw_raw(w, object);
	jw_raw(w, "\",\"created\":");
	jw_u64(w, m->created);
	jw_raw(w, ",\"model\":");
	jw_str(w, m->model.base, m->model.len);
}

static void
usage_object(struct mreq *m, struct jw *w, uint64_t prompt, uint64_t completion)
{
	jw_raw(w, ",\"usage\":{\"prompt_tokens\":");
	jw_u64(w, prompt);
	jw_raw(w, ",\"completion_tokens\":");
	jw_u64(w, completion);
	jw_raw(w, ",\"total_tokens\":");
	jw_u64(w, prompt + completion);
	jw_raw(w, "}");
}

/* OpenAI's usage-only chunk comes after the token events. */
static int
usage_chunk(const struct mreq *m)
{
	return m->include_usage && m->usage == MUSAGE_OPENAI;
}

/* It leaves with the last token event, as OpenAI's does: no pause between. */
static void
put_usage_chunk(struct mreq *m, struct jw *w, uint64_t prompt)
{
	jw_raw(w, "data: ");
	if (m->kind == MREQ_CHAT)
		head(m, w, "chatcmpl-mock-", "chat.completion.chunk");
	else
		head(m, w, "cmpl-mock-", "text_completion");
	jw_raw(w, ",\"choices\":[]");
	usage_object(m, w, prompt, m->chunks);
	jw_raw(w, "}\n\n");
}

static h2o_iovec_t
event(struct mreq *m, unsigned i)
{
	struct jw w;
	char tok[32];
	uint64_t prompt = (m->body_len + 3) / 4;

	buf_reset(&m->out);
	jw_init(&w, &m->out);
	if (i >= m->chunks) {
		if (m->chunks == 0 && usage_chunk(m))
			put_usage_chunk(m, &w, prompt);
		jw_raw(&w, "data: [DONE]\n\n");
	} else {
		snprintf(tok, sizeof(tok), "tok%u ", i);
		if (m->kind == MREQ_CHAT) {
			jw_raw(&w, "data: ");
			head(m, &w, "chatcmpl-mock-", "chat.completion.chunk");
			jw_raw(&w, ",\"choices\":[{\"index\":0,\"delta\":{");
			if (i == 0)
				jw_raw(&w, "\"role\":\"assistant\",");
			jw_raw(&w, "\"content\":");
			jw_cstr(&w, tok);
			jw_raw(&w, "},\"logprobs\":null,\"finish_reason\":");
		} else {
			jw_raw(&w, "data: ");
			head(m, &w, "cmpl-mock-", "text_completion");
			jw_raw(&w, ",\"choices\":[{\"index\":0,\"text\":");
			jw_cstr(&w, tok);
			jw_raw(&w, ",\"logprobs\":null,\"finish_reason\":");
		}
		jw_raw(&w, i + 1 == m->chunks ? "\"stop\"}]" : "null}]");
		if (usage_chunk(m))
			jw_raw(&w, ",\"usage\":null");
		else if (m->usage == MUSAGE_LAST && i + 1 == m->chunks)
			usage_object(m, &w, prompt, m->chunks);
		jw_raw(&w, "}\n\n");
		if (i + 1 == m->chunks && usage_chunk(m))
			put_usage_chunk(m, &w, prompt);
	}
	/* the model name is bounded by the body, the buffer by more */
	return h2o_iovec_init(buf_head(&m->out), m->out.len);
}

void
ep_chat(struct mreq *m, enum mreq_kind kind)
{
	char tail[64], hex[17];
	struct jw w;
	char *content;
	size_t clen, words = 1;
	uint64_t prompt = (m->body_len + 3) / 4;

	m->kind = kind;
	m->serial = m->has_fixed_id ? m->fixed_id : state_next_serial();
	m->created = m->has_fixed_id ? m->fixed_id : (uint64_t)time(NULL);
	if (m->stream) {
		reply_stream(m, event, m->chunks + 1);
		return;
	}

	fnv_hex(m->body_fnv, hex);
	snprintf(tail, sizeof(tail), ": len=%zu fnv=%s", m->body_len, hex);
	content = h2o_mem_alloc_pool(&m->req->pool, m->model.len + 96);
	clen = (size_t)snprintf(content, 48, "mock reply %llu to ", (unsigned long long)m->serial);
	memcpy(content + clen, m->model.base, m->model.len);
	clen += m->model.len;
	memcpy(content + clen, tail, strlen(tail));
	clen += strlen(tail);
	for (size_t i = 0; i < clen; i++)
		words += content[i] == ' ';

	buf_reset(&m->out);
	jw_init(&w, &m->out);
	if (kind == MREQ_CHAT) {
		head(m, &w, "chatcmpl-mock-", "chat.completion");
		jw_raw(&w, ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":");
		jw_str(&w, content, clen);
		jw_raw(&w, "},\"logprobs\":null,\"finish_reason\":\"stop\"}]");
	} else {
		head(m, &w, "cmpl-mock-", "text_completion");
		jw_raw(&w, ",\"choices\":[{\"index\":0,\"text\":");
		jw_str(&w, content, clen);
		jw_raw(&w, ",\"logprobs\":null,\"finish_reason\":\"stop\"}]");
	}
	if (m->usage != MUSAGE_NONE)
		usage_object(m, &w, prompt, words);
	jw_raw(&w, "}");
	reply_json(m, 200, &w);
}
