/* usage_scan: see usage_scan.h. */
#include "config.h"

#include <string.h>

#include "usage_scan.h"

/* What the value about to start stands for (s->pend, s->num_field). */
enum {
	KEY_NONE,
	KEY_OTHER,
	KEY_USAGE,
	KEY_CHOICES,
	KEY_RESPONSE,
	KEY_PROMPT,
	KEY_COMPLETION,
	KEY_TOTAL,
};

/* In usage_counts.have: a count that is not a plain integer. */
#define USAGE_BAD 0x80u

/* SSE line states (s->line). */
enum { LS_BOL, LS_NAME, LS_SKIP1, LS_DATA, LS_IGNORE };

/*
 * Bytes that end a skip: inside a string, its end or an escape; deep in
 * a part of the document nobody reads, the start or end of a string or
 * a container (commas, colons, numbers and blanks change nothing there).
 */
static uint8_t stop_str[256], stop_deep[256];
/* Bytes that end a number or literal nobody reads ("created":1733...). */
static uint8_t stop_scalar[256];

static void
tables_init(void)
{
	if (stop_str['"'])
		return;
	stop_str['"'] = stop_str['\\'] = 1;
	stop_deep['"'] = stop_deep['{'] = stop_deep['}'] = stop_deep['['] = stop_deep[']'] = 1;
	for (const char *c = " \t\n\r\"{}[],:"; *c != '\0'; c++)
		stop_scalar[(uint8_t)*c] = 1;
}

/*
 * The first i in [from, n) where p[i] is '"' or '\\', or n: a string's
 * contents, eight bytes a test (the words with neither are most of an
 * answer's text).
 */
static size_t
skip_str(const char *p, size_t from, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
	size_t i = from;

	for (; i + 8 <= n; i += 8) {
		uint64_t v, q, b, m;

		memcpy(&v, p + i, sizeof(v));
		q = v ^ ('"' * ones);
		b = v ^ ('\\' * ones);
		/* nonzero iff a byte of q or of b is zero; the lowest bit set
		 * is that of the first such byte (a borrow only runs upwards) */
		if ((m = (((q - ones) & ~q) | ((b - ones) & ~b)) & highs) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + (size_t)(__builtin_ctzll(m) >> 3);
#else
			break;
#endif
		}
	}
	while (i < n && !stop_str[(uint8_t)p[i]])
		i++;
	return i;
}

static void
doc_reset(struct usage_scan *s)
{
	int known = s->known, defer = s->defer;
	struct usage_counts found = s->found;
	enum uscan_mode mode = s->mode;

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->known = known;
	s->found = found;
	s->defer = defer;
	s->ev.comma_before = s->ev.comma_after = SIZE_MAX;
	s->last_comma = SIZE_MAX;
}

void
usage_scan_init(struct usage_scan *s, enum uscan_mode mode)
{
	tables_init();
	memset(s, 0, sizeof(*s));
	s->mode = mode;
	doc_reset(s);
}

/* The first "\n\n" in p[0..n), or NULL (memmem is slow on short needles);
 * *one_line: no other line break before it. */
static const char *
find_blank(const char *p, size_t n, int *one_line)
{
	const char *q = p, *end = p + n;

	*one_line = 1;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL && q + 1 < end) {
		if (q[1] == '\n')
			return q;
		*one_line = 0;
		q += 2;
	}
	return NULL;
}

/* "usage" occurs in p[0..n). Looked for by its 'g', rarer in JSON than
 * 'u' (every null has one). */
static int
has_usage(const char *p, size_t n)
{
	const char *q = p + 3, *end = p + n;

	if (n < 5)
		return 0;
	while (q < end - 1 && (q = memchr(q, 'g', (size_t)(end - 1 - q))) != NULL) {
		if (memcmp(q - 3, "usage", 5) == 0)
			return 1;
		q++;
	}
	return 0;
}

/*
 * A deferring scan only finds where events end: one whole in p, in
 * plain LF lines, is found with memchr instead of line by line. Returns
 * its length, or 0.
 */
static size_t
event_frame(struct usage_scan *s, const char *p, size_t n)
{
	const char *end;
	size_t len;
	int one_line;

	if (!s->defer || s->line != LS_BOL || s->pos != 0 || s->after_cr || n < 2 ||
	    p[0] == '\n' || p[0] == '\r' || (end = find_blank(p, n, &one_line)) == NULL)
		return 0;
	len = (size_t)(end - p) + 2;
	if (memchr(p, '\r', len) != NULL)
		return 0;
	s->pos = len;
	if (one_line)
		s->framed_len = len;
	return len;
}

/* Keys are read only where they can matter: the top level, the Responses
 * API's "response" object, and a "usage" object. */
static int
key_level(const struct usage_scan *s)
{
	return (s->depth == 1 && s->top_obj) || (s->depth == 2 && s->in_resp) ||
	    (s->usage_depth != 0 && s->depth == s->usage_depth);
}

#define KEY_IS(s, lit) \
	((s)->key_len == sizeof(lit) - 1 && memcmp((s)->key, lit, sizeof(lit) - 1) == 0)

static void
on_key(struct usage_scan *s)
{
	s->pend = KEY_OTHER;
	if (s->cap_over)
		return;
	if (s->usage_depth != 0 && s->depth == s->usage_depth) {
		if (KEY_IS(s, "prompt_tokens") || KEY_IS(s, "input_tokens"))
			s->pend = KEY_PROMPT;
		else if (KEY_IS(s, "completion_tokens") || KEY_IS(s, "output_tokens"))
			s->pend = KEY_COMPLETION;
		else if (KEY_IS(s, "total_tokens"))
			s->pend = KEY_TOTAL;
		return;
	}
	if (KEY_IS(s, "usage")) {
		s->pend = KEY_USAGE;
		if (s->depth == 1) {
			if (s->ev.usage != UK_NONE)
				s->ev.odd = 1;
			s->ev.usage_from = s->key_from;
			s->ev.comma_before = s->last_comma;
		}
	} else if (s->depth == 1 && KEY_IS(s, "choices"))
		s->pend = KEY_CHOICES;
	else if (s->depth == 1 && KEY_IS(s, "response"))
		s->pend = KEY_RESPONSE;
}

/* The first byte c of a value at the current depth (containers: before
 * the depth goes up). */
static void
value_start(struct usage_scan *s, char c)
{
	uint8_t k = s->pend;

	s->pend = KEY_NONE;
	if (c != '"' && c != '{' && c != '[')
		s->scalar = 1;
	switch (k) {
	case KEY_USAGE:
		if (c == '{') {
			s->usage_depth = s->depth + 1;
			memset(&s->cur, 0, sizeof(s->cur));
		}
		if (s->depth != 1)
			break;
		if (c == '{')
			s->ev.usage = UK_OBJECT;
		else if (c == 'n') {
			s->ev.usage = UK_NULL;
			s->lit_null = 1;
			s->lit_idx = 1;
		} else
			s->ev.usage = UK_OTHER;
		break;
	case KEY_CHOICES:
		if (c == '[')
			s->choices_open = 1;
		break;
	case KEY_RESPONSE:
		if (c == '{')
			s->in_resp = 1;
		break;
	case KEY_PROMPT:
	case KEY_COMPLETION:
	case KEY_TOTAL:
		if (c >= '0' && c <= '9') {
			s->num_field = k;
			s->num = (uint64_t)(c - '0');
			s->num_ok = 1;
		} else if (c != 'n') /* null is "not given"; anything else is wrong */
			s->cur.have |= USAGE_BAD;
		break;
	default:
		break;
	}
}

static void
scalar_byte(struct usage_scan *s, char c)
{
	if (s->lit_null) {
		if (s->lit_idx < 4 && c == "null"[s->lit_idx])
			s->lit_idx++;
		else
			s->lit_null = 0;
	}
	if (s->num_field != KEY_NONE) {
		uint64_t d = (uint64_t)(c - '0');

		if (c < '0' || c > '9' || s->num > (UINT64_MAX - d) / 10)
			s->num_ok = 0;
		else
			s->num = s->num * 10 + d;
	}
}

/* A bare value ended just before the byte at s->pos. */
static void
scalar_end(struct usage_scan *s)
{
	s->scalar = 0;
	if (s->depth == 1 && s->ev.usage == UK_NULL && s->ev.usage_to == 0) {
		if (s->lit_null && s->lit_idx == 4) {
			s->ev.usage_to = s->pos;
			s->after_usage = 1;
		} else
			s->ev.usage = UK_OTHER;
	}
	s->lit_null = 0;
	if (s->num_field != KEY_NONE && !s->num_ok)
		s->cur.have |= USAGE_BAD;
	if (s->num_field != KEY_NONE && s->num_ok) {
		unsigned bit = s->num_field == KEY_PROMPT ? USAGE_HAVE_PROMPT :
		    s->num_field == KEY_COMPLETION ? USAGE_HAVE_COMPLETION : USAGE_HAVE_TOTAL;

		if (bit == USAGE_HAVE_PROMPT)
			s->cur.prompt = s->num;
		else if (bit == USAGE_HAVE_COMPLETION)
			s->cur.completion = s->num;
		else
			s->cur.total = s->num;
		s->cur.have |= bit;
	}
	s->num_field = KEY_NONE;
}

static void
container_close(struct usage_scan *s)
{
	if (s->depth == 0)
		return; /* unbalanced: not JSON, nothing to learn */
	if (s->usage_depth != 0 && s->depth == s->usage_depth) {
		if (s->cur.have != 0 && !(s->cur.have & USAGE_BAD)) {
			s->found = s->cur;
			s->known = 1;
		}
		if (s->usage_depth == 2) {
			s->ev.usage_to = s->pos + 1;
			s->after_usage = 1;
		}
		s->usage_depth = 0;
	}
	if (s->depth == 2 && s->in_resp)
		s->in_resp = 0;
	if (s->depth == 1)
		s->after_usage = 0;
	s->depth--;
	s->expect_key = 0;
	s->pend = KEY_NONE;
}

/* One byte outside a string. */
static void
json_byte(struct usage_scan *s, char c)
{
	if (s->choices_open && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
		s->choices_open = 0;
		if (c == ']' && s->depth == 2)
			s->ev.choices_empty = 1;
	}
	switch (c) {
	case ' ':
	case '\t':
	case '\n':
	case '\r':
		if (s->scalar)
			scalar_end(s);
		break;
	case '"':
		if (s->scalar)
			scalar_end(s);
		s->in_str = 1;
		if (key_level(s) && s->expect_key) {
			s->cap = 1;
			s->cap_over = 0;
			s->key_len = 0;
			s->key_from = s->pos;
		} else if (s->depth > 0)
			value_start(s, c);
		else
			s->ev.odd = 1;
		break;
	case '{':
	case '[':
		if (s->scalar)
			scalar_end(s);
		if (s->depth == 0) {
			if (c == '{' && !s->seen_top)
				s->top_obj = 1;
			else {
				s->top_obj = 0;
				s->ev.odd = 1;
			}
			s->seen_top = 1;
		} else
			value_start(s, c);
		s->depth++;
		s->expect_key = c == '{' && key_level(s);
		break;
	case '}':
	case ']':
		if (s->scalar)
			scalar_end(s);
		container_close(s);
		break;
	case ',':
		if (s->scalar)
			scalar_end(s);
		if (key_level(s))
			s->expect_key = 1;
		if (s->depth == 1) {
			if (s->after_usage) {
				s->ev.comma_after = s->pos;
				s->after_usage = 0;
			}
			s->last_comma = s->pos;
		}
		break;
	case ':':
		if (s->scalar)
			scalar_end(s);
		if (key_level(s))
			s->expect_key = 0;
		break;
	default:
		if (s->scalar)
			scalar_byte(s, c);
		else if (s->depth > 0)
			value_start(s, c);
		else
			s->ev.odd = 1;
		break;
	}
}

/* Nothing read here can matter until a string or a container starts or ends. */
static int
skippable(const struct usage_scan *s)
{
	return s->depth >= 2 && !s->scalar && !s->choices_open && s->usage_depth == 0 &&
	    !(s->in_resp && s->depth == 2);
}

/*
 * Deep in a part nobody reads (skippable()), whole strings and nested
 * containers are skipped here without leaving the loop: what json_byte()
 * would do for them comes down to the depth, expect_key and pend (see
 * value_start() and container_close() with usage_depth 0 and no key
 * level). Returns where the generic loop takes over: the end of p (a
 * string cut there is left open, as it would be), or a byte that may
 * matter (a close that brings the depth to 1 or into the Responses
 * API's "response" object).
 */
static size_t
skip_deep(struct usage_scan *s, const char *p, size_t i, size_t n)
{
	size_t from = i;

	while (i < n) {
		char c;

		while (i < n && !stop_deep[(uint8_t)p[i]])
			i++;
		if (i == n)
			break;
		c = p[i];
		if (c == '"') {
			s->pend = KEY_NONE;
			/* an escape takes the byte after it, whatever it is */
			for (i = skip_str(p, i + 1, n); i + 1 < n && p[i] == '\\';
			    i = skip_str(p, i + 2, n))
				;
			if (i + 1 == n && p[i] == '\\') {
				s->esc = 1;
				i = n;
			}
			if (i >= n) {
				s->in_str = 1;
				i = n;
				break;
			}
			i++; /* the closing quote */
		} else if (c == '{' || c == '[') {
			s->pend = KEY_NONE;
			s->depth++;
			s->expect_key = 0;
			i++;
		} else {
			if (s->depth == 2)
				break; /* container_close() has more to do there */
			s->depth--;
			s->expect_key = 0;
			s->pend = KEY_NONE;
			i++;
			if (!skippable(s))
				break;
		}
	}
	s->pos += i - from;
	return i;
}

/*
 * A member of the top-level object whose key nobody reads ("id",
 * "object", "model", "created", ...), from its key's opening quote at
 * p[i]: "key":"text" or "key":bare, with no escape and no blank, the key
 * and the value's start in p. Done in one step, leaving what json_byte()
 * would (the key as on_key() saw it, pend and expect_key spent, a bare
 * value open as a scalar nobody reads). Returns where the generic loop
 * goes on, or i when the member is not of that shape.
 */
static size_t
plain_member(struct usage_scan *s, const char *p, size_t i, size_t n)
{
	size_t k = skip_str(p, i + 1, n), len = k - (i + 1), e;
	const char *key = p + i + 1;
	char c;

	if (k + 2 >= n || p[k] != '"' || p[k + 1] != ':' || len > sizeof(s->key))
		return i;
	if ((len == 5 && memcmp(key, "usage", 5) == 0) ||
	    (len == 7 && memcmp(key, "choices", 7) == 0) ||
	    (len == 8 && memcmp(key, "response", 8) == 0))
		return i; /* on_key() has more to do */
	c = p[k + 2];
	if (c == '"') {
		if ((e = skip_str(p, k + 3, n)) >= n || p[e] != '"')
			return i;
		e++;
	} else if (!stop_scalar[(uint8_t)c]) {
		for (e = k + 3; e < n && !stop_scalar[(uint8_t)p[e]]; e++)
			;
		s->scalar = 1;
	} else
		return i;
	memcpy(s->key, key, len);
	s->key_len = (uint8_t)len;
	s->key_from = s->pos;
	s->cap_over = 0;
	s->pend = KEY_NONE;
	s->expect_key = 0;
	s->pos += e - i;
	return e;
}

/*
 * A key where keys are read, from its opening quote at p[i]: "key": with
 * no escape and the colon right after it, in p. Read in one step, with
 * on_key() as the byte-by-byte way would, up to the value, which goes the
 * generic way. Returns the value's index, or i when not of that shape.
 */
static size_t
key_member(struct usage_scan *s, const char *p, size_t i, size_t n)
{
	size_t k = skip_str(p, i + 1, n), len = k - (i + 1);

	if (k + 1 >= n || p[k] != '"' || p[k + 1] != ':' || len > sizeof(s->key))
		return i;
	memcpy(s->key, p + i + 1, len);
	s->key_len = (uint8_t)len;
	s->key_from = s->pos;
	s->cap = s->cap_over = 0;
	on_key(s);
	s->expect_key = 0; /* the colon */
	s->pos += k + 2 - i;
	return k + 2;
}

/* A run of document bytes (for SSE: of one data line, no line break). */
static void
json_run(struct usage_scan *s, const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t *stop = NULL;
		char c;

		if (!s->in_str && skippable(s)) {
			/* then the byte it stopped at, if any, the generic way */
			if ((i = skip_deep(s, p, i, n)) == n)
				break;
		} else if (!s->in_str && s->expect_key && !s->scalar && !s->choices_open &&
		    p[i] == '"' && key_level(s)) {
			size_t e = s->depth == 1 ? plain_member(s, p, i, n) : i;

			if (e == i)
				e = key_member(s, p, i, n);
			if (e != i) {
				i = e;
				continue;
			}
		}
		if (s->in_str && !s->esc)
			stop = stop_str;
		else if (s->scalar && s->num_field == KEY_NONE && !s->lit_null)
			stop = stop_scalar; /* no byte of it changes anything */
		if (stop != NULL) {
			/* most bytes are inside strings or arrays nobody needs;
			 * a key being read is taken in one copy */
			size_t j = i;

			if (stop == stop_str)
				j = skip_str(p, i, n);
			else
				while (j < n && !stop[(uint8_t)p[j]])
					j++;
			if (s->in_str && s->cap && j > i) {
				if (j - i > sizeof(s->key) - s->key_len)
					s->cap_over = 1;
				else {
					memcpy(s->key + s->key_len, p + i, j - i);
					s->key_len = (uint8_t)(s->key_len + (j - i));
				}
			}
			s->pos += j - i;
			i = j;
			if (i == n)
				break;
		}
		c = p[i];
		if (s->in_str) {
			if (s->esc) {
				s->esc = 0;
				s->cap_over |= s->cap; /* an escaped key is not one we know */
			} else if (c == '\\') {
				s->esc = 1;
				s->cap_over |= s->cap;
			} else if (c == '"') {
				s->in_str = 0;
				if (s->cap) {
					s->cap = 0;
					on_key(s);
				}
			} else if (s->cap) {
				if (s->key_len < sizeof(s->key))
					s->key[s->key_len++] = c;
				else
					s->cap_over = 1;
			}
		} else
			json_byte(s, c);
		s->pos++;
		i++;
	}
}

static void
event_end(struct usage_scan *s)
{
	if (s->scalar)
		scalar_end(s);
	if (!s->top_obj)
		s->ev.odd = 1;
	s->ev.len = s->pos;
	s->ev_done = 1;
}

size_t
usage_scan_feed(struct usage_scan *s, const char *p, size_t n)
{
	size_t i = 0;

	s->framed_len = 0;
	if (s->ev_done && s->defer) {
		/* only the framing moves on: nothing else was read */
		s->ev_done = 0;
		s->pos = 0;
		s->line = LS_BOL;
	} else if (s->ev_done)
		doc_reset(s); /* the caller has read the event that ended */
	if (s->mode == USCAN_JSON)
		json_run(s, p, n);
	if (s->mode != USCAN_SSE)
		return n;
	if ((i = event_frame(s, p, n)) != 0) {
		event_end(s);
		return i;
	}
	while (i < n) {
		char c = p[i];

		if (s->after_cr) {
			/* a CR ended the last line: an LF right after is the same end */
			s->after_cr = 0;
			if (c == '\n') {
				s->pos++;
				i++;
				if (s->cr_blank) {
					event_end(s);
					return i;
				}
				continue;
			}
			if (s->cr_blank) {
				event_end(s);
				return i;
			}
		}
		if (c == '\n' || c == '\r') {
			int blank = s->line == LS_BOL;

			if (s->line == LS_DATA)
				json_byte(s, '\n'); /* data lines join with a line break */
			s->line = LS_BOL;
			s->pos++;
			i++;
			if (c == '\r') {
				s->after_cr = 1;
				s->cr_blank = (uint8_t)blank;
			} else if (blank) {
				event_end(s);
				return i;
			}
			continue;
		}
		switch (s->line) {
		case LS_DATA:
		case LS_IGNORE: {
			const char *nl = memchr(p + i, '\n', n - i), *cr;
			size_t j = nl != NULL ? (size_t)(nl - p) : n;

			if ((cr = memchr(p + i, '\r', j - i)) != NULL)
				j = (size_t)(cr - p);
			if (s->line == LS_DATA)
				json_run(s, p + i, j - i);
			else
				s->pos += j - i;
			i = j;
			continue;
		}
		case LS_SKIP1:
			s->line = LS_DATA;
			if (c != ' ')
				continue; /* the value starts right after the colon */
			break;
		case LS_BOL:
			if (c == ':' || s->defer) {
				s->line = LS_IGNORE; /* a comment */
				break;
			}
			s->line = LS_NAME;
			s->name_idx = 0;
			/* FALLTHROUGH */
		case LS_NAME:
			if (s->name_idx < 4 && c == "data"[s->name_idx])
				s->name_idx++;
			else if (s->name_idx == 4 && c == ':')
				s->line = LS_SKIP1;
			else
				s->line = LS_IGNORE;
			break;
		}
		s->pos++;
		i++;
	}
	return n;
}

/* A CR that ended the input may have ended an event: it has. */
static void
scan_flush(struct usage_scan *s)
{
	if (s->after_cr && s->cr_blank && !s->ev_done) {
		s->after_cr = 0;
		event_end(s);
	}
}

/*
 * OpenAI's chunk when asked: one data line that ends in ,"usage":null}.
 * That member is the last of the object the line closes, the top level,
 * and it is all that asking added: it goes, unread, without a search
 * of the rest for another "usage" (every chunk of a stream pays for
 * this; no backend writes two, and one that did would only keep the
 * other from being counted, as leaving out its usage chunk would).
 * -1: not that shape; else 1 when it is, 0 when nothing in the event
 * says "usage" at all.
 */
static int
openai_null_member(const struct usage_scan *s, const char *p, size_t len, size_t *from)
{
	static const char tail[] = ",\"usage\":null}\n\n";
	size_t tl = sizeof(tail) - 1;

	if (len < 6 + tl || memcmp(p + len - tl, tail, tl) != 0)
		return has_usage(p, len) ? -1 : 0;
	if (memcmp(p, "data: ", 6) != 0 ||
	    (s->framed_len != len && (memchr(p, '\n', len - 2) != NULL ||
	    memchr(p, '\r', len) != NULL)))
		return -1;
	*from = len - tl;
	return 1;
}

/* The count a key of a usage object stands for (as on_key()), 0 if none. */
static unsigned
count_bit(const char *k, size_t n)
{
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, n) == 0)
	if (IS("prompt_tokens") || IS("input_tokens"))
		return USAGE_HAVE_PROMPT;
	if (IS("completion_tokens") || IS("output_tokens"))
		return USAGE_HAVE_COMPLETION;
	if (IS("total_tokens"))
		return USAGE_HAVE_TOTAL;
	return 0;
#undef IS
}

/*
 * The usage-only chunk as vLLM and SGLang write it: one data line that
 * ends in ,"choices":[],"usage":{...}} with only "name":digits members
 * in the usage object and no other "usage" before it. That "usage" is a
 * member of the object the line closes, so the top level. Read here in
 * one pass rather than by the whole scanner (one event of every stream
 * that asked), with the scanner's result: 1, counted into s and to be
 * dropped; 0, not that shape (the scanner reads it).
 */
static int
usage_only_chunk(struct usage_scan *s, const char *p, size_t len)
{
	static const char mid[] = ",\"choices\":[],\"usage\":{";
	size_t ml = sizeof(mid) - 1;
	const char *end, *o, *q;
	struct usage_counts c;

	if (len < 7 + ml + 4 || memcmp(p, "data: {", 7) != 0 ||
	    memcmp(p + len - 4, "}}\n\n", 4) != 0)
		return 0;
	end = p + len - 4; /* the usage object's '}' */
	for (o = end; o > p + 7 && o[-1] != '{'; o--)
		if (o[-1] == '}' || o[-1] == '[' || o[-1] == ']' || o[-1] == '\\' ||
		    o[-1] == '\n' || o[-1] == '\r')
			return 0; /* not flat, or an escape: the scanner's */
	if ((size_t)(o - p) < 7 + ml || memcmp(o - ml, mid, ml) != 0 ||
	    (s->framed_len != len && (memchr(p, '\n', len - 2) != NULL ||
	    memchr(p, '\r', len) != NULL)) || has_usage(p, (size_t)(o - ml - p)))
		return 0;
	memset(&c, 0, sizeof(c));
	for (q = o; q < end;) {
		const char *k;
		unsigned bit;
		uint64_t v = 0;

		if (*q != '"')
			return 0;
		for (k = ++q; q < end && *q != '"'; q++)
			;
		bit = count_bit(k, (size_t)(q - k));
		if (end - q < 3 || q[1] != ':' || q[2] < '0' || q[2] > '9')
			return 0;
		for (q += 2; q < end && *q >= '0' && *q <= '9'; q++) {
			uint64_t d = (uint64_t)(*q - '0');

			if (v > (UINT64_MAX - d) / 10)
				return 0;
			v = v * 10 + d;
		}
		if (q < end && (*q != ',' || ++q == end))
			return 0;
		if (bit == USAGE_HAVE_PROMPT)
			c.prompt = v;
		else if (bit == USAGE_HAVE_COMPLETION)
			c.completion = v;
		else if (bit == USAGE_HAVE_TOTAL)
			c.total = v;
		c.have |= bit;
	}
	if (c.have != 0) {
		s->found = c;
		s->known = 1;
	}
	return 1;
}

enum uscan_action
usage_scan_event(struct usage_scan *s, const char *p, size_t len, size_t *from, size_t *to)
{
	struct usage_scan t;
	const struct uscan_event *ev = &t.ev;

	if (len > USAGE_EVENT_MAX)
		return UA_PASS;
	switch (openai_null_member(s, p, len, from)) {
	case 0:
		return UA_PASS;
	case 1:
		*to = len - 2 - 1; /* the member and its comma, not the '}' */
		return UA_CUT;
	default:
		break;
	}
	if (usage_only_chunk(s, p, len))
		return UA_DROP;
	/* read it whole, with the counts so far */
	if (s->framed_len == len && len >= 8 && memcmp(p, "data: ", 6) == 0) {
		/* one data line found whole (the usage chunk, mostly): its
		 * JSON is read as the line machinery would, without it */
		usage_scan_init(&t, USCAN_JSON);
		t.known = s->known;
		t.found = s->found;
		t.pos = 6;
		json_run(&t, p + 6, len - 8);
		json_byte(&t, '\n'); /* the line's end */
		t.pos += 2;
		event_end(&t);
	} else {
		usage_scan_init(&t, USCAN_SSE);
		t.known = s->known;
		t.found = s->found;
		usage_scan_feed_all(&t, p, len);
		scan_flush(&t);
	}
	s->known = t.known;
	s->found = t.found;
	if (!t.ev_done || ev->odd || ev->usage_to == 0 || ev->len != len)
		return UA_PASS;
	if (ev->usage == UK_OBJECT && ev->choices_empty)
		return UA_DROP; /* the usage-only chunk */
	if (ev->usage != UK_NULL)
		return UA_PASS;
	/* "usage":null with the comma that separated it */
	if (ev->comma_before != SIZE_MAX) {
		*from = ev->comma_before;
		*to = ev->usage_to;
	} else if (ev->comma_after != SIZE_MAX) {
		*from = ev->usage_from;
		*to = ev->comma_after + 1;
	} else
		return UA_PASS; /* its only member: leave it */
	return UA_CUT;
}

void
usage_scan_feed_all(struct usage_scan *s, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = usage_scan_feed(s, p, n);

		p += k;
		n -= k;
	}
}

int
usage_scan_result(const struct usage_scan *s, uint64_t *prompt, uint64_t *completion)
{
	const struct usage_counts *u = &s->found;
	unsigned have = u->have;
	uint64_t p = u->prompt, c = u->completion;

	if (!s->known)
		return 0;
	/* one of the two from the total: an embedding answer has no completion */
	if (!(have & USAGE_HAVE_PROMPT) && (have & USAGE_HAVE_TOTAL) &&
	    (have & USAGE_HAVE_COMPLETION) && u->total >= c) {
		p = u->total - c;
		have |= USAGE_HAVE_PROMPT;
	}
	if (!(have & USAGE_HAVE_COMPLETION) && (have & USAGE_HAVE_TOTAL) &&
	    (have & USAGE_HAVE_PROMPT) && u->total >= p) {
		c = u->total - p;
		have |= USAGE_HAVE_COMPLETION;
	}
	if (!(have & USAGE_HAVE_PROMPT) || !(have & USAGE_HAVE_COMPLETION))
		return 0;
	*prompt = p;
	*completion = c;
	return 1;
}
