/* json_out: see json_out.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json_out.h"

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not valid UTF-8 (overlong forms, surrogates and values above
 * U+10FFFF are invalid too).
 */
static size_t
utf8_seq_len(const unsigned char *s, size_t left)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

int
wk_json_out_esc(struct buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		size_t start = i, n;
		unsigned char c;
		char esc[8];
		const char *rep;

		/* copy runs of plain printable ASCII in one go */
		while (i < len && s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			i++;
		if (i > start && buf_append(b, s + start, i - start) != 0)
			return -1;
		if (i == len)
			break;
		c = s[i];
		if (c >= 0x80 && (n = utf8_seq_len(s + i, len - i)) != 0) {
			if (buf_append(b, s + i, n) != 0)
				return -1;
			i += n;
			continue;
		}
		if (c == '"')
			rep = "\\\"";
		else if (c == '\\')
			rep = "\\\\";
		else if (c == '\n')
			rep = "\\n";
		else if (c == '\r')
			rep = "\\r";
		else if (c == '\t')
			rep = "\\t";
		else if (c >= 0x80)
			rep = "\\ufffd"; /* not UTF-8: keep the output valid */
		else {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			rep = esc;
		}
		if (buf_append(b, rep, strlen(rep)) != 0)
			return -1;
		i++;
	}
	return 0;
}

int
wk_json_out_str(struct buf *b, const char *s, size_t len)
{
	if (buf_append(b, "\"", 1) != 0 || wk_json_out_esc(b, s, len) != 0)
		return -1;
	return buf_append(b, "\"", 1);
}

int
wk_json_out_cstr(struct buf *b, const char *s)
{
	return wk_json_out_str(b, s, strlen(s));
}

int
wk_json_out_cstr_or_null(struct buf *b, const char *s)
{
	return s == NULL ? wk_json_out_raw(b, "null") : wk_json_out_cstr(b, s);
}

int
wk_json_out_raw(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
wk_json_out_u64(struct buf *b, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	return buf_append(b, num, (size_t)n);
}
