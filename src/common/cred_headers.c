/* cred_headers: see cred_headers.h. */
#include "config.h"

#include <stdint.h>

#include "cred_headers.h"

/*
 * Standard HTTP credentials, then the API-key headers clients of
 * OpenAI-compatible services send: Azure OpenAI and Anthropic (api-key,
 * x-api-key), Google (x-goog-api-key), Azure API Management
 * (ocp-apim-subscription-key), and the common generic token headers.
 */
static const struct {
	const char *name;
	size_t len;
} creds[] = {
#define C(s) { s, sizeof(s) - 1 }
	C("authorization"),
	C("proxy-authorization"),
	C("cookie"),
	C("api-key"),
	C("x-api-key"),
	C("x-goog-api-key"),
	C("ocp-apim-subscription-key"),
	C("x-auth-token"),
	C("x-access-token"),
	C("x-amz-security-token"),
#undef C
};

/* s (any case) equals lower, both len bytes; names hold letters, digits, '-'. */
static int
same_name(const char *s, const char *lower, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((s[i] | 0x20) != lower[i]) /* folds A-Z; '-' and digits have the bit */
			return 0;
	return 1;
}

int
cred_header_is(const char *name, size_t len)
{
	/* bit n set: some credential name is n bytes long (all are under 64) */
	static uint64_t lengths;

	if (lengths == 0)
		for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
			lengths |= UINT64_C(1) << creds[i].len;
	/* called on every forwarded header: most are out at once by length */
	if (len >= 64 || (lengths & UINT64_C(1) << len) == 0)
		return 0;
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
		if (len == creds[i].len && same_name(name, creds[i].name, len))
			return 1;
	return 0;
}
