/* jsonw: see jsonw.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"

void
jw_init(struct jw *w, struct buf *b)
{
	w->b = b;
	w->err = 0;
}

void
jw_rawn(struct jw *w, const void *s, size_t n)
{
	if (n == 0)
		return; /* an empty buf has no storage: nothing to copy */
	if (w->err == 0 && buf_append(w->b, s, n) == -1)
		w->err = 1;
}

void
jw_raw(struct jw *w, const char *s)
{
	jw_rawn(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
jw_str(struct jw *w, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, n;
	char esc[8];

	jw_rawn(w, "\"", 1);
	while (i < len) {
		unsigned char c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0x80 && (n = utf8_len(s + i, len - i)) != 0) {
			i += n;
			continue;
		}
		/* flush the plain run before this byte */
		jw_rawn(w, s + run, i - run);
		if (c == '"')
			jw_rawn(w, "\\\"", 2);
		else if (c == '\\')
			jw_rawn(w, "\\\\", 2);
		else if (c == '\n')
			jw_rawn(w, "\\n", 2);
		else if (c == '\r')
			jw_rawn(w, "\\r", 2);
		else if (c == '\t')
			jw_rawn(w, "\\t", 2);
		else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			jw_rawn(w, esc, 6);
		} else
			jw_rawn(w, "\\ufffd", 6); /* not UTF-8 */
		run = ++i;
	}
	jw_rawn(w, s + run, i - run);
	jw_rawn(w, "\"", 1);
}

void
jw_cstr(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

void
jw_str_or_null(struct jw *w, const char *s, size_t len)
{
	if (s == NULL)
		jw_rawn(w, "null", 4);
	else
		jw_str(w, s, len);
}

void
jw_u64(struct jw *w, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	jw_rawn(w, num, (size_t)n);
}

void
jw_fmt(struct jw *w, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		w->err = 1; /* our own formats are short: this is a bug */
		return;
	}
	jw_rawn(w, tmp, (size_t)n);
}
