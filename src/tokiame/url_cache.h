/*
 * url_cache: backend URLs parsed once and handed to curl (CURLOPT_CURLU).
 *
 * Given only CURLOPT_URL, libcurl 7.88 parses the URL and prints it back
 * for every transfer (about 10,000 instructions a request, a tenth of
 * tokiame's own cost per request). Given a parsed CURLU as well, it copies
 * the parts instead. Each backend keeps a few slots, one per URL in use
 * (most traffic goes to one or two paths); a slot that a transfer still
 * holds is never replaced, and when none is free the transfer simply goes
 * without (curl parses as before).
 */
#ifndef TOKIAME_URL_CACHE_H
#define TOKIAME_URL_CACHE_H

#include <stdint.h>
#include <curl/curl.h>

#define URL_CACHE_SLOTS 8

struct url_slot {
	char *url;                  /* NULL: free */
	CURLU *uh;
	uint32_t refs;              /* transfers that set it as CURLOPT_CURLU */
	uint64_t last_use;          /* for replacing the least recently used */
};

struct url_cache {
	struct url_slot slot[URL_CACHE_SLOTS];
	uint64_t clock;
};

/* The slot for url, with one more reference; NULL when curl rejects the
 * URL or every slot is held. */
struct url_slot *url_cache_get(struct url_cache *c, const char *url);
void url_cache_put(struct url_slot *s);
/* Only when no transfer holds a slot any more. */
void url_cache_free(struct url_cache *c);

#endif
