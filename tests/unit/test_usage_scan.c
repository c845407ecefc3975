/*
 * test_usage_scan: the usage scanner (usage_scan.c), the stream filter
 * (usage_relay.c) and the request edit that asks for a stream's usage
 * (request_json.c, request_rewrite.c).
 *
 * Every answer is fed whole, byte by byte, and split in two at every
 * position: the counts and the bytes passed on must not depend on where
 * the pieces end.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>

#include "check.h"
#include "request_json.h"
#include "request_rewrite.h"
#include "usage_relay.h"

struct outcome {
	int known;
	uint64_t prompt, completion;
	char *out; /* what the client gets, NUL-terminated */
	size_t out_len;
};

static void
outcome_free(struct outcome *o)
{
	free(o->out);
}

/* Feed s in pieces ending at the cuts (ascending offsets). */
static struct outcome
run(enum uscan_mode mode, int strip, const char *s, size_t len, const size_t *cuts, size_t ncuts)
{
	struct usage_relay r;
	struct buf out;
	struct outcome o;
	size_t from = 0;

	memset(&o, 0, sizeof(o));
	usage_relay_init(&r, mode, strip);
	buf_init(&out, 0);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		CHECK(usage_relay_data(&r, s + from, to - from, &out) == 0);
		from = to;
	}
	CHECK(usage_relay_end(&r, &out) == 0);
	o.known = usage_scan_result(&r.scan, &o.prompt, &o.completion);
	o.out = malloc(out.len + 1);
	memcpy(o.out, buf_head(&out) != NULL ? (char *)buf_head(&out) : "", out.len);
	o.out[out.len] = '\0';
	o.out_len = out.len;
	usage_relay_free(&r);
	buf_free(&out);
	return o;
}

static int
same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->known == b->known && a->prompt == b->prompt && a->completion == b->completion &&
	    a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0;
}

/*
 * The answer s, whole, byte by byte and in two pieces everywhere, gives
 * the same result, which is known with these counts (or not, known 0)
 * and passes on `want` (NULL: s itself).
 */
static void
expect(enum uscan_mode mode, int strip, const char *s, int known, uint64_t prompt,
    uint64_t completion, const char *want, int line)
{
	size_t len = strlen(s), *cuts = malloc((len + 1) * sizeof(size_t));
	struct outcome whole = run(mode, strip, s, len, NULL, 0), o;
	int bad = 0;

	if (want == NULL)
		want = s;
	if (whole.known != known || (known && (whole.prompt != prompt || whole.completion != completion)) ||
	    strcmp(whole.out, want) != 0) {
		fprintf(stderr, "line %d: known %d %llu %llu, passed on:\n%s\n", line, whole.known,
		    (unsigned long long)whole.prompt, (unsigned long long)whole.completion, whole.out);
		failures++;
	}
	for (size_t i = 0; i < len; i++)
		cuts[i] = i + 1;
	o = run(mode, strip, s, len, cuts, len > 0 ? len - 1 : 0);
	bad += !same_outcome(&whole, &o);
	outcome_free(&o);
	for (size_t i = 0; i <= len; i++) {
		o = run(mode, strip, s, len, &i, 1);
		if (!same_outcome(&whole, &o)) {
			if (bad++ == 0)
				fprintf(stderr, "line %d: split at %zu differs:\n%s\n", line, i, o.out);
		}
		outcome_free(&o);
	}
	if (bad) {
		fprintf(stderr, "line %d: %d splits differ\n", line, bad);
		failures++;
	}
	outcome_free(&whole);
	free(cuts);
}

#define EXPECT(mode, strip, s, known, p, c, want) expect(mode, strip, s, known, p, c, want, __LINE__)

#define CHUNK(content, extra) \
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0," \
	"\"delta\":{\"content\":\"" content "\"},\"finish_reason\":null}]" extra "}\n\n"
#define USAGE_CHUNK(p, c) \
	"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":" \
	"{\"prompt_tokens\":" #p ",\"completion_tokens\":" #c ",\"total_tokens\":0}}\n\n"

static void
test_json(void)
{
	/* a chat answer, usage last, with details nested inside it */
	EXPECT(USCAN_JSON, 0,
	    "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"hi \\\"usage\\\":{}\"}}],"
	    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,\"total_tokens\":46,"
	    "\"prompt_tokens_details\":{\"cached_tokens\":5}}}",
	    1, 12, 34, NULL);
	/* pretty-printed, usage first */
	EXPECT(USCAN_JSON, 0,
	    "{\n  \"usage\" : { \"completion_tokens\" : 7 , \"prompt_tokens\" : 3 } ,\n"
	    "  \"choices\" : [ ]\n}\n", 1, 3, 7, NULL);
	/* embeddings: no completion, it is the total less the prompt */
	EXPECT(USCAN_JSON, 0,
	    "{\"object\":\"list\",\"data\":[{\"embedding\":[0.1,-0.2,3e-5]}],\"model\":\"m\","
	    "\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}", 1, 8, 0, NULL);
	/* no usage, usage null, usage deeper than the top, usage in a string */
	EXPECT(USCAN_JSON, 0, "{\"id\":\"x\",\"choices\":[]}", 0, 0, 0, NULL);
	EXPECT(USCAN_JSON, 0, "{\"id\":\"x\",\"usage\":null}", 0, 0, 0, NULL);
	EXPECT(USCAN_JSON, 0,
	    "{\"choices\":[{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}]}", 0, 0, 0,
	    NULL);
	EXPECT(USCAN_JSON, 0, "{\"text\":\"\\\"usage\\\":{\\\"prompt_tokens\\\":1}\"}", 0, 0, 0, NULL);
	/* not integers, or too big: not counted */
	EXPECT(USCAN_JSON, 0, "{\"usage\":{\"prompt_tokens\":1.5,\"completion_tokens\":2}}", 0, 0,
	    0, NULL);
	EXPECT(USCAN_JSON, 0,
	    "{\"usage\":{\"prompt_tokens\":-1,\"completion_tokens\":2,\"total_tokens\":3}}", 0, 0, 0,
	    NULL);
	EXPECT(USCAN_JSON, 0,
	    "{\"usage\":{\"prompt_tokens\":99999999999999999999999,\"completion_tokens\":2}}", 0, 0,
	    0, NULL);
	EXPECT(USCAN_JSON, 0,
	    "{\"usage\":{\"prompt_tokens\":18446744073709551615,\"completion_tokens\":0}}", 1,
	    UINT64_MAX, 0, NULL);
	/* an escaped key is not one we know */
	EXPECT(USCAN_JSON, 0,
	    "{\"us\\u0061ge\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", 0, 0, 0, NULL);
	/* the Responses API */
	EXPECT(USCAN_JSON, 0,
	    "{\"id\":\"r\",\"output\":[],\"usage\":{\"input_tokens\":5,\"output_tokens\":6,"
	    "\"total_tokens\":11}}", 1, 5, 6, NULL);
	/* not an object, garbage, empty */
	EXPECT(USCAN_JSON, 0, "[{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}]", 0, 0, 0,
	    NULL);
	EXPECT(USCAN_JSON, 0, "}}]]{{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", 0, 0,
	    0, NULL);
	EXPECT(USCAN_JSON, 0, "}]{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", 1, 1,
	    2, NULL);
	EXPECT(USCAN_JSON, 0, "", 0, 0, 0, NULL);
	/* mode off: nothing is read, everything passes */
	EXPECT(USCAN_OFF, 0, "{\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}", 0, 0, 0,
	    NULL);
}

static void
test_sse(void)
{
	const char *asked = CHUNK("a", ",\"usage\":null") CHUNK("b", ",\"usage\":null")
	    USAGE_CHUNK(9, 2) "data: [DONE]\n\n";
	const char *unasked = CHUNK("a", "") CHUNK("b", "") "data: [DONE]\n\n";

	/* OpenAI, asked by the client: everything passes, counted */
	EXPECT(USCAN_SSE, 0, asked, 1, 9, 2, NULL);
	/* asked by us: the client gets what it would have unasked */
	EXPECT(USCAN_SSE, 1, asked, 1, 9, 2, unasked);
	/* a stream that never had usage: unchanged, unknown */
	EXPECT(USCAN_SSE, 1, unasked, 0, 0, 0, NULL);
	/* llama.cpp: usage in the last content chunk stays (it comes unasked) */
	EXPECT(USCAN_SSE, 1,
	    CHUNK("a", "") CHUNK("b", ",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}")
	    "data: [DONE]\n\n", 1, 4, 2, NULL);
	/* vLLM's continuous usage: the last one wins */
	EXPECT(USCAN_SSE, 0,
	    CHUNK("a", ",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1}")
	    CHUNK("b", ",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}")
	    "data: [DONE]\n\n", 1, 4, 2, NULL);
	/* CRLF lines, comments, other fields, a data line with no space */
	EXPECT(USCAN_SSE, 1,
	    ": keep-alive\r\n\r\n"
	    "event: x\r\ndata:{\"choices\":[{\"i\":0}],\"usage\":null}\r\n\r\n"
	    "id: 7\r\ndata: {\"choices\":[ ],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\r\n\r\n"
	    "data: [DONE]\r\n\r\n",
	    1, 3, 1,
	    ": keep-alive\r\n\r\n"
	    "event: x\r\ndata:{\"choices\":[{\"i\":0}]}\r\n\r\n"
	    "data: [DONE]\r\n\r\n");
	/* usage null first: it goes with the comma after it */
	EXPECT(USCAN_SSE, 1, "data: {\"usage\":null,\"choices\":[]}\n\n", 0, 0, 0,
	    "data: {\"choices\":[]}\n\n");
	/* its only member, or not null: left */
	EXPECT(USCAN_SSE, 1, "data: {\"usage\":null}\n\n", 0, 0, 0, NULL);
	/* twice: the last, which ends the line, goes unread (the OpenAI
	 * shape is not searched for a second one: every chunk pays for it) */
	EXPECT(USCAN_SSE, 1, "data: {\"usage\":null,\"usage\":null}\n\n", 0, 0, 0,
	    "data: {\"usage\":null}\n\n");
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"usage\":nul}\n\n", 0, 0, 0, NULL);
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"usage\":nulll}\n\n", 0, 0, 0, NULL);
	/* vLLM's and SGLang's usage-only chunk (read in one pass), counted
	 * and dropped; the same with an OpenAI details object, a blank, a
	 * non-number, or a second "usage" goes to the whole scanner */
	EXPECT(USCAN_SSE, 1,
	    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
	    "\"choices\":[],\"usage\":{\"prompt_tokens\":36,\"total_tokens\":44,"
	    "\"completion_tokens\":8}}\n\ndata: [DONE]\n\n",
	    1, 36, 8, "data: [DONE]\n\n");
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"choices\":[],\"usage\":{\"completion_tokens\":8,"
	    "\"total_tokens\":44}}\n\n", 1, 36, 8, "");
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
	    "\"completion_tokens\":2,\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n",
	    1, 5, 2, "");
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"choices\":[],\"usage\":{\"prompt_tokens\": 5,"
	    "\"completion_tokens\":2}}\n\n", 1, 5, 2, "");
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
	    "\"completion_tokens\":2.5}}\n\n", 0, 0, 0, "");
	EXPECT(USCAN_SSE, 1, "data: {\"a\":1,\"choices\":[],\"usage\":{\"prompt_tokens\":99999999999999999999,"
	    "\"completion_tokens\":2}}\n\n", 0, 0, 0, "");
	EXPECT(USCAN_SSE, 1, "data: {\"usage\":{\"prompt_tokens\":9},\"choices\":[],"
	    "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n\n", 1, 1, 1, NULL);
	EXPECT(USCAN_SSE, 1, "data: {\"a\":\"x\\\"\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,"
	    "\"completion_tokens\":3}}\n\n", 1, 4, 3, "");
	/* a usage chunk with choices is not the usage-only chunk */
	EXPECT(USCAN_SSE, 1,
	    "data: {\"choices\":[{}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n",
	    1, 3, 1, NULL);
	/* a data line split over two lines is one document */
	EXPECT(USCAN_SSE, 1,
	    "data: {\"choices\":[],\ndata: \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n\n"
	    "data: [DONE]\n\n", 1, 3, 1, "data: [DONE]\n\n");
	/* the Responses API's final event */
	EXPECT(USCAN_SSE, 0,
	    "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\","
	    "\"usage\":{\"input_tokens\":7,\"output_tokens\":3,\"total_tokens\":10}}}\n\n", 1, 7, 3,
	    NULL);
	/* the stream ends inside an event: it goes out as it came */
	EXPECT(USCAN_SSE, 1, CHUNK("a", ",\"usage\":null") "data: {\"choices\":[],\"usa", 0, 0, 0,
	    CHUNK("a", "") "data: {\"choices\":[],\"usa");
	/* the last event has no blank line after it: still counted, passed as it is */
	EXPECT(USCAN_SSE, 0, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}\n",
	    1, 3, 1, NULL);
	EXPECT(USCAN_SSE, 1, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1}}",
	    1, 3, 1, NULL);
	/* a bare CR ends lines too */
	EXPECT(USCAN_SSE, 1, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
	    "\"completion_tokens\":1}}\r\rdata: [DONE]\r\r", 1, 1, 1, "data: [DONE]\r\r");
}

/* An event longer than the hold goes through as it came. */
static void
test_long_event(void)
{
	size_t n = USAGE_HOLD_MAX + 1000;
	char *s = malloc(n + 64);
	size_t len, cuts[3];
	size_t tail = strlen("data: {\"a\":1,\"usage\":null}\n\n");
	struct outcome o;

	len = (size_t)sprintf(s, "data: {\"x\":\"");
	memset(s + len, 'a', n);
	len += n;
	len += (size_t)sprintf(s + len, "\",\"usage\":null}\n\ndata: {\"a\":1,\"usage\":null}\n\n");
	cuts[0] = 100;
	cuts[1] = USAGE_HOLD_MAX - 10;
	cuts[2] = USAGE_HOLD_MAX + 500;
	o = run(USCAN_SSE, 1, s, len, cuts, 3);
	CHECK(o.out_len == len - strlen(",\"usage\":null"));
	CHECK(memcmp(o.out, s, len - tail) == 0);
	CHECK(strcmp(o.out + len - tail, "data: {\"a\":1}\n\n") == 0);
	outcome_free(&o);
	free(s);
}

/* A complete event goes on at once: nothing waits for the next one. */
static void
test_no_wait(void)
{
	const char *ev = CHUNK("a", ",\"usage\":null"), *next = "data: {\"choi";
	struct usage_relay r;
	struct buf out;

	usage_relay_init(&r, USCAN_SSE, 1);
	buf_init(&out, 0);
	CHECK(usage_relay_data(&r, ev, strlen(ev), &out) == 0);
	CHECK(out.len == strlen(CHUNK("a", "")) && memcmp(buf_head(&out), CHUNK("a", ""), out.len) == 0);
	CHECK(r.hold.len == 0);
	/* an incomplete one waits, and only its own bytes */
	CHECK(usage_relay_data(&r, next, strlen(next), &out) == 0);
	CHECK(out.len == strlen(CHUNK("a", "")) && r.hold.len == strlen(next));
	/* a full output buffer is a failure the caller sees */
	out.max = out.len;
	CHECK(usage_relay_data(&r, "ces\":[]}\n\n", strlen("ces\":[]}\n\n"), &out) == -1);
	usage_relay_free(&r);
	buf_free(&out);
}

/* The body asked for usage: what the backend gets. */
static void
expect_ask(const char *body, int askable, const char *want, int line)
{
	h2o_mem_pool_t pool;
	struct request_json rj;
	char err[256];
	h2o_iovec_t a, b;
	size_t ns_len = 2; /* "ns" */

	h2o_mem_init_pool(&pool);
	if (wk_request_json_parse(&pool, body, strlen(body), &rj, err, sizeof(err)) != RJ_OK) {
		fprintf(stderr, "line %d: %s\n", line, err);
		failures++;
		h2o_mem_clear_pool(&pool);
		return;
	}
	if (wk_request_usage_askable(&rj) != askable) {
		fprintf(stderr, "line %d: askable %d\n", line, !askable);
		failures++;
	}
	wk_request_rewrite(&pool, h2o_iovec_init(body, strlen(body)), &rj, ns_len,
	    rj.model + ns_len + 1, rj.model_len - ns_len - 1, askable, &a, &b);
	if (a.len + b.len != strlen(want) || memcmp(a.base, want, a.len) != 0 ||
	    memcmp(b.base, want + a.len, b.len) != 0) {
		fprintf(stderr, "line %d: got %.*s%.*s\n", line, (int)a.len, a.base, (int)b.len, b.base);
		failures++;
	}
	h2o_mem_clear_pool(&pool);
}

#define EXPECT_ASK(body, askable, want) expect_ask(body, askable, want, __LINE__)

static void
test_ask(void)
{
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true}", 1,
	    "{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true}");
	EXPECT_ASK(" { \"stream\" : true , \"model\" : \"ns:m\" } ", 1,
	    " {\"stream_options\":{\"include_usage\":true}, \"stream\" : true , \"model\" : \"m\" } ");
	/* the name re-encoded, and the edit after it */
	EXPECT_ASK("{\"model\":\"n\\u0073:m\\\"\",\"stream\":true,\"stream_options\":null}", 1,
	    "{\"model\":\"m\\\"\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"stream_options\":{}}", 1,
	    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"stream_options\":{\"x\":{\"y\":1}}}", 1,
	    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true,\"x\":{\"y\":1}}}");
	EXPECT_ASK("{\"stream_options\":{\"include_usage\":false,\"z\":1},\"model\":\"ns:m\",\"stream\":true}", 1,
	    "{\"stream_options\":{\"include_usage\":true,\"z\":1},\"model\":\"m\",\"stream\":true}");
	EXPECT_ASK("{\"stream_options\":{\"include_usage\":null},\"model\":\"ns:m\",\"stream\":true}", 1,
	    "{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true}");
	/* asked already, not a stream, or a shape we leave alone: the model only */
	EXPECT_ASK("{\"stream_options\":{\"include_usage\":true},\"model\":\"ns:m\",\"stream\":true}", 0,
	    "{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":false}", 0, "{\"model\":\"m\",\"stream\":false}");
	EXPECT_ASK("{\"model\":\"ns:m\"}", 0, "{\"model\":\"m\"}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"stream_options\":\"x\"}", 0,
	    "{\"model\":\"m\",\"stream\":true,\"stream_options\":\"x\"}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"stream_options\":{\"include_usage\":1}}", 0,
	    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":1}}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"stream_options\":null,\"stream_options\":null}",
	    0, "{\"model\":\"m\",\"stream\":true,\"stream_options\":null,\"stream_options\":null}");
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"stream_options\":{\"include_usage\":false,"
	    "\"include_usage\":false}}", 0,
	    "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":false,"
	    "\"include_usage\":false}}");
	/* a nested "stream_options" is not the request's */
	EXPECT_ASK("{\"model\":\"ns:m\",\"stream\":true,\"x\":{\"stream_options\":{\"include_usage\":true}}}",
	    1, "{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true,"
	    "\"x\":{\"stream_options\":{\"include_usage\":true}}}");
}

int
main(void)
{
	test_json();
	test_sse();
	test_long_event();
	test_no_wait();
	test_ask();
	if (failures != 0)
		fprintf(stderr, "%d checks failed\n", failures);
	return failures != 0;
}
