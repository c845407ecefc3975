/*
 * usage_scan: find the token counts of an answer in the bytes the worker
 * relays, as they pass, without keeping the answer.
 *
 * Fed a JSON answer in whatever pieces it arrives (split anywhere, even
 * inside a number or a key), it tracks just enough JSON to see the
 * top-level members of the answer: the state is a few counters and a
 * short key buffer, whatever the answer's size (embeddings can be
 * megabytes). No allocation, no tree, one pass; deep arrays and strings
 * are skipped by table. (Streams: see below.)
 *
 *   USCAN_JSON  one JSON document (a non-streamed answer): its top-level
 *               "usage" object.
 *   USCAN_SSE   server-sent events: each event's data is its own document;
 *               the LAST event whose top-level "usage" is an object wins
 *               (OpenAI sends it once, in a chunk with "choices":[];
 *               vLLM and llama.cpp may put it in the last content chunk,
 *               or in every chunk, cumulative). Lines other than "data:"
 *               are skipped; "data: [DONE]" is not an object and counts
 *               for nothing.
 * In both, a "usage" inside a top-level "response" object counts too (the
 * Responses API's shape), as do its "input_tokens"/"output_tokens".
 *
 * Counts are integers written as plain digits (null: not given); a usage
 * object with a count of any other shape (negative, fractional,
 * overflowing, a string) is ignored whole, never guessed from. The answer is
 * untrusted: malformed JSON only means fewer facts, never an error.
 *
 * SSE mode finds where each event ends: usage_scan_feed() returns at
 * the end of each event, with ev_done set. With defer set (what
 * usage_relay.c does) it reads nothing else: the caller assembles each
 * event (an incomplete one in a bounded buffer) and hands it, complete,
 * to usage_scan_event(), which counts it and says what asking for usage
 * added to it. Most events are decided with memchr and memcmp alone (no
 * "usage" in them, or OpenAI's "usage":null member); only one that may
 * hold a usage object is read, once. Nothing depends on where the
 * pieces ended.
 */
#ifndef TL_WORKER_USAGE_SCAN_H
#define TL_WORKER_USAGE_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum uscan_mode { USCAN_OFF, USCAN_JSON, USCAN_SSE };

#define USAGE_HAVE_PROMPT 1u
#define USAGE_HAVE_COMPLETION 2u
#define USAGE_HAVE_TOTAL 4u

struct usage_counts {
	uint64_t prompt, completion, total;
	unsigned have; /* USAGE_HAVE_* of the members found */
};

/* The top-level "usage" member's value. */
enum uscan_kind { UK_NONE, UK_NULL, UK_OBJECT, UK_OTHER };

/* One SSE event's top level; offsets from the event's first byte. */
struct uscan_event {
	enum uscan_kind usage;
	size_t usage_from;   /* the opening quote of the "usage" key */
	size_t usage_to;     /* just past its value */
	size_t comma_before; /* the top-level comma just before the key, or SIZE_MAX */
	size_t comma_after;  /* the top-level comma just after the value, or SIZE_MAX */
	int choices_empty;   /* "choices":[] */
	int odd;             /* two "usage" members, or a top level that is not an object */
	size_t len;          /* the event's bytes, its closing blank line included */
};

/* What the stream filter does with an event (usage_scan_event). */
enum uscan_action {
	UA_PASS, /* as it is */
	UA_CUT,  /* without bytes from..to: a "usage":null member and its comma */
	UA_DROP, /* not at all: the usage-only chunk */
};

/* Longer events are passed as they are, not read (the filter's bound). */
#define USAGE_EVENT_MAX (256 * 1024)

struct usage_scan {
	enum uscan_mode mode;
	int defer;     /* SSE: only find events' ends; usage_scan_event reads them */
	/* the event the last feed ended is framed_len bytes of one data
	 * line with no CR (found whole by memchr): usage_scan_event need
	 * not look for line breaks again; 0 = not known */
	size_t framed_len;
	/* the result: the last complete usage object seen */
	int known;
	struct usage_counts found;
	/* SSE: the event that the last usage_scan_feed() call ended */
	int ev_done;
	struct uscan_event ev;

	/* private: the JSON document being read */
	size_t pos;            /* offset of the next byte (in the event, for SSE) */
	size_t depth;
	uint8_t in_str, esc, expect_key, top_obj, seen_top, cap, cap_over;
	uint8_t pend;          /* what the value about to start is (a KEY_* of the .c) */
	uint8_t in_resp;       /* inside the top-level "response" object (depth 2) */
	size_t usage_depth;    /* inside a "usage" object: its members' depth, else 0 */
	uint8_t scalar;        /* reading a bare value (number, literal) */
	uint8_t num_field;     /* that value is this count (a KEY_* of the .c), else 0 */
	uint8_t num_ok;
	uint64_t num;
	uint8_t lit_null;      /* the top-level usage value reads "null" so far */
	uint8_t lit_idx;
	uint8_t choices_open;  /* just after "choices":[ */
	uint8_t after_usage;   /* the top-level usage value just ended */
	size_t key_from, last_comma;
	struct usage_counts cur;
	char key[20];
	uint8_t key_len;
	/* private: SSE lines */
	uint8_t line, name_idx, after_cr, cr_blank;
};

void usage_scan_init(struct usage_scan *s, enum uscan_mode mode);
/*
 * Read n more bytes of the answer. Returns how many were read: all of
 * them, except in SSE mode when an event ends inside them: then up to
 * the end of that event, with ev_done set (it is cleared by the next
 * call).
 */
size_t usage_scan_feed(struct usage_scan *s, const char *p, size_t n);
/*
 * A complete event p[0..len), as a deferring scan's feed ended it: count
 * it and say what to do with it in a stream we asked usage for (bytes
 * *from..*to for UA_CUT). Decided on the event's bytes alone.
 */
enum uscan_action usage_scan_event(struct usage_scan *s, const char *p, size_t len, size_t *from,
    size_t *to);
/* Read every byte, whatever events end inside them. */
void usage_scan_feed_all(struct usage_scan *s, const char *p, size_t n);
/* The counts to record: prompt and completion, completed from the total
 * when only one of them was given. 0 when the answer carried no usage. */
int usage_scan_result(const struct usage_scan *s, uint64_t *prompt, uint64_t *completion);

#endif
