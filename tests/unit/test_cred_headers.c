/*
 * test_cred_headers: the shared credential list matches names in any
 * case, with the explicit length (h2o names are not NUL-terminated),
 * and lets ordinary headers and near-misses through.
 */
#include "config.h"

#include <string.h>

#include "cred_headers.h"
#include "check.h"

#define IS(s) cred_header_is(s, strlen(s))

int
main(void)
{
	CHECK(IS("authorization"));
	CHECK(IS("Authorization"));
	CHECK(IS("PROXY-AUTHORIZATION"));
	CHECK(IS("cookie"));
	CHECK(IS("api-key"));
	CHECK(IS("X-Api-Key"));
	CHECK(IS("x-goog-api-key"));
	CHECK(IS("Ocp-Apim-Subscription-Key"));
	CHECK(!IS("content-type"));
	CHECK(!IS("x-api-keys"));
	CHECK(!IS("api-ke"));
	CHECK(!IS(""));
	/* only the first len bytes count */
	CHECK(cred_header_is("x-api-key: secret", 9));
	CHECK(!cred_header_is("x-api-key", 8));
	return failures != 0;
}
