/* cred_headers: see cred_headers.h. */
#include "config.h"

#include <strings.h>

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

int
cred_header_is(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++)
		if (len == creds[i].len && strncasecmp(name, creds[i].name, len) == 0)
			return 1;
	return 0;
}
