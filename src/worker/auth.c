/* auth: see auth.h. */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <h2o.h>

#include "apikey.h"
#include "apikey_cache.h"
#include "auth.h"
#include "log.h"
#include "master_link.h"
#include "node_listener.h"
#include "oai_error.h"
#include "request_id.h"
#include "tl_config.h"
#include "worker.h"
#include "xmalloc.h"

/* Longest credential header value looked at: a key is 71 bytes; anything
 * much longer is not one (and is not hashed). */
#define PRESENTED_MAX 1024
/* Buckets of the request -> key map (chained: any number of requests). */
#define REQ_BUCKETS 1024
/* Longest model id quoted in the log. */
#define QUOTE_MAX 200
/* agentd's bound on a namespace or model name (REG_MAX_NAME) */
#define AGENTD_NAME_MAX 256

/* A key table and the requests that still use a key found in it. */
struct keyset {
	struct apikey_table *t;
	unsigned refs; /* the worker's (while current) + one per request */
};

/* A request admitted with a key (in its pool; unlinked when disposed). */
struct req_key {
	h2o_req_t *req;
	const struct apikey *key;
	struct keyset *ks;
	struct req_key *next;
};

static struct {
	struct keyset *cur;
	int loaded;        /* 0: PostgreSQL mode, no snapshot yet */
	int anonymous;     /* http.anonymous */
	int loopback_only; /* every http.listen is loopback */
	int keyed;         /* keys exist even if the table is empty (auth.h) */
	int standalone;
	struct req_key *reqs[REQ_BUCKETS];
	/* secrets that matched a key of cur->t: cleared with every swap */
	struct apikey_cache cache;
} au;

static void
keyset_unref(struct keyset *ks)
{
	if (ks != NULL && --ks->refs == 0) {
		apikey_table_free(ks->t);
		free(ks);
	}
}

void
wk_auth_set_keys(struct apikey_table *t)
{
	struct keyset *ks = xcalloc(1, sizeof(*ks));

	ks->t = t;
	ks->refs = 1;
	keyset_unref(au.cur);
	au.cur = ks;
	/* a key revoked, disabled or changed must stop at once: nothing the
	 * old table matched may answer for the new one */
	apikey_cache_clear(&au.cache);
	au.loaded = 1;
	log_info("%zu API key(s) loaded", apikey_table_count(t));
}

void
wk_auth_set_keyed(int keyed)
{
	au.keyed = keyed;
}

void
wk_auth_init(const struct tl_config *conf)
{
	struct apikey_table *t = apikey_table_new();
	char err[256];

	au.anonymous = conf->http.anonymous;
	au.loopback_only = tl_config_http_loopback_only(conf);
	au.standalone = conf->database.url == NULL;
	/* PostgreSQL mode: the master's KEYS says (pg_keys.c) */
	au.keyed = au.standalone && conf->keys_block;
	for (size_t i = 0; i < conf->nkeys; i++) {
		const struct tl_key *c = &conf->keys[i];
		struct apikey k = {
			.name = c->name, .owner = c->owner, .allow = c->allow, .nallow = c->nallow,
			.limits = { .rpm = c->rpm, .tpm = c->tpm, .max_in_flight = c->max_in_flight,
			    .tokens_per_day = c->tokens_per_day,
			    .tokens_per_month = c->tokens_per_month },
			.expires_at = c->expires_at, .disabled = c->disabled,
		};

		snprintf(k.hash, sizeof(k.hash), "%s", c->hash);
		/* the config loader checked all of this already */
		if (apikey_table_add(t, &k, err, sizeof(err)) == -1)
			log_warnx("%s:%d: keys.%s: %s", conf->path, c->line, c->name, err);
	}
	/* PostgreSQL mode: the config's keys until the master pushes the
	 * database's (wk_auth_set_keys); none means loopback-only as usual */
	wk_auth_set_keys(t);
}

void
wk_auth_keys_pending(int pending)
{
	au.loaded = !pending;
}

void
wk_auth_free(void)
{
	keyset_unref(au.cur);
	au.cur = NULL;
	apikey_cache_clear(&au.cache);
}

static size_t
bucket(const h2o_req_t *req)
{
	uintptr_t p = (uintptr_t)req;

	return (size_t)((p >> 4) ^ (p >> 14)) % REQ_BUCKETS;
}

static void
on_req_dispose(void *p)
{
	struct req_key *rk = p;
	struct req_key **pp = &au.reqs[bucket(rk->req)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rk) {
			*pp = rk->next;
			break;
		}
	keyset_unref(rk->ks);
}

static void
remember(h2o_req_t *req, const struct apikey *key)
{
	struct req_key *rk = h2o_mem_alloc_shared(&req->pool, sizeof(*rk), on_req_dispose);
	size_t b = bucket(req);

	rk->req = req;
	rk->key = key;
	rk->ks = au.cur;
	au.cur->refs++;
	rk->next = au.reqs[b];
	au.reqs[b] = rk;
}

const struct apikey *
wk_auth_key(h2o_req_t *req)
{
	for (struct req_key *rk = au.reqs[bucket(req)]; rk != NULL; rk = rk->next)
		if (rk->req == req)
			return rk->key;
	return NULL;
}

/* The presented secret: Bearer, else api-key, else x-api-key. 0 if none. */
static int
presented(h2o_req_t *req, h2o_iovec_t *out)
{
	ssize_t i;
	h2o_iovec_t v;

	i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
	if (i != -1) {
		v = req->headers.entries[i].value;
		if (v.len >= 7 && h2o_lcstris(v.base, 6, H2O_STRLIT("bearer")) &&
		    (v.base[6] == ' ' || v.base[6] == '\t')) {
			*out = h2o_str_stripws(v.base + 7, v.len - 7);
			return out->len != 0;
		}
	}
	if ((i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("api-key"), -1)) != -1 ||
	    (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1)) != -1) {
		v = req->headers.entries[i].value;
		*out = h2o_str_stripws(v.base, v.len);
		return out->len != 0;
	}
	return 0;
}

static void
unauthorized(h2o_req_t *req, const char *code, const char *message)
{
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE,
	    "WWW-Authenticate", H2O_STRLIT("Bearer"));
	wk_oai_send_error(req, 401, "invalid_request_error", NULL, code, "%s", message);
}

static void
invalid_key(h2o_req_t *req, const char *why)
{
	log_debug("req %s: 401 invalid_api_key (%s)", wk_request_id(req), why);
	unauthorized(req, "invalid_api_key", "Incorrect API key provided. Check the key, or ask "
	    "whoever runs this gateway for a new one.");
}

int
wk_auth_refused(h2o_req_t *req)
{
	const struct apikey *k;
	h2o_iovec_t secret;
	int nkeys;

	if (wk_node_request(req))
		return 0; /* the node secret admitted it; the origin node checked the key */
	if (!au.loaded) {
		/* the key may well be valid: not a 401 */
		if (au.anonymous && !presented(req, &secret))
			return 0;
		/* no database snapshot at all: that says more than "no keys" */
		if (wk_node_refuse_models(req))
			return 1;
		wk_oai_send_error(req, 503, "service_unavailable", NULL, "keys_not_loaded",
		    "this node has not loaded its API keys yet; retry in a moment");
		return 1;
	}
	nkeys = au.keyed || apikey_table_count(au.cur->t) != 0;
	if (!presented(req, &secret)) {
		if (au.anonymous || (!nkeys && au.loopback_only))
			return 0;
		log_debug("req %s: 401 missing_api_key", wk_request_id(req));
		unauthorized(req, "missing_api_key", "This request has no API key: send one as "
		    "\"Authorization: Bearer <key>\" (or in an api-key or x-api-key header).");
		return 1;
	}
	if (!nkeys && (au.anonymous || au.loopback_only))
		return 0; /* no keys at all: credentials are not ours to judge */
	if (secret.len > PRESENTED_MAX ||
	    (k = apikey_cache_find(&au.cache, au.cur->t, secret.base, secret.len)) == NULL) {
		invalid_key(req, "unknown key");
		return 1;
	}
	if (k->expires_at != 0 && k->expires_at <= (int64_t)time(NULL)) {
		invalid_key(req, "expired");
		return 1;
	}
	if (k->disabled) {
		log_debug("req %s: key=%s 403 key_disabled", wk_request_id(req), k->name);
		wk_oai_send_error(req, 403, "permission_error", NULL, "key_disabled",
		    "This API key is disabled.");
		return 1;
	}
	remember(req, k);
	return 0;
}

int
wk_auth_key_allows(const struct apikey *key, const char *id, size_t len)
{
	return key == NULL || apikey_allows(key, id, len);
}

int
wk_auth_model_refused(h2o_req_t *req, const char *id, size_t len, size_t ns_len)
{
	const struct apikey *k = wk_auth_key(req);
	size_t model_len = len - ns_len - 1;
	char text[2 * AGENTD_NAME_MAX + 128];

	if (k == NULL || apikey_allows(k, id, len))
		return 0;
	log_debug("req %s: key=%s may not use %.*s", wk_request_id(req), k->name,
	    (int)(len > QUOTE_MAX ? QUOTE_MAX : len), id);
	/* word for word what agentd answers for a model it does not know */
	if (ns_len > AGENTD_NAME_MAX || model_len > AGENTD_NAME_MAX)
		snprintf(text, sizeof(text), "model name too long");
	else if (au.standalone && tl_config_namespace(wk.conf, id, ns_len) == NULL)
		snprintf(text, sizeof(text), "unknown namespace %.*s", (int)ns_len, id);
	else
		snprintf(text, sizeof(text), "model %.*s is not published by any agent of "
		    "namespace %.*s", (int)model_len, id + ns_len + 1, (int)ns_len, id);
	wk_http_send_json(req, 404, wk_oai_error_json(&req->pool, text, strlen(text),
	    "invalid_request_error", NULL, "model_not_found"));
	return 1;
}
