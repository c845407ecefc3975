/* url_cache: see url_cache.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "url_cache.h"
#include "xmalloc.h"

static void
slot_clear(struct url_slot *s)
{
	free(s->url);
	curl_url_cleanup(s->uh);
	s->url = NULL;
	s->uh = NULL;
}

struct url_slot *
url_cache_get(struct url_cache *c, const char *url)
{
	struct url_slot *victim = NULL;
	CURLU *uh;

	c->clock++;
	for (size_t i = 0; i < URL_CACHE_SLOTS; i++) {
		struct url_slot *s = &c->slot[i];
		if (s->url != NULL && strcmp(s->url, url) == 0) {
			s->refs++;
			s->last_use = c->clock;
			return s;
		}
		/* the first free slot, else the least recently used idle one */
		if (s->refs == 0 && (victim == NULL || (victim->url != NULL &&
		    (s->url == NULL || s->last_use < victim->last_use))))
			victim = s;
	}
	if (victim == NULL)
		return NULL;
	/* the flags curl itself parses CURLOPT_URL with */
	if ((uh = curl_url()) == NULL)
		fatalx("curl_url: out of memory");
	if (curl_url_set(uh, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) {
		curl_url_cleanup(uh);
		return NULL;
	}
	slot_clear(victim);
	victim->url = xstrdup(url);
	victim->uh = uh;
	victim->refs = 1;
	victim->last_use = c->clock;
	return victim;
}

void
url_cache_put(struct url_slot *s)
{
	if (s->refs == 0)
		fatalx("url_cache_put: slot not held");
	s->refs--;
}

void
url_cache_free(struct url_cache *c)
{
	for (size_t i = 0; i < URL_CACHE_SLOTS; i++) {
		if (c->slot[i].refs != 0)
			fatalx("url_cache_free: slot still held");
		slot_clear(&c->slot[i]);
	}
}
