/*
 * auth: who may call the worker's API, and which models they may use
 * (end-user API keys, issue 14; the keys themselves are apikey.h's).
 *
 * A client presents a key as "Authorization: Bearer <key>", else in an
 * "api-key" header, else in "x-api-key" (the first one present wins).
 * The router asks wk_auth_refused() once per request, for every path but
 * /healthz, before dispatching (h2o 2.2.5 has read the body by then: it
 * buffers bodies before any handler runs; nothing is relayed before the
 * check). Requests on node.listen are not checked: the node secret
 * admitted them and the origin node checked the key.
 *
 * Who may call:
 *   - anonymous requests (no key presented) are served iff http.anonymous
 *     is true, or the node has no key at all and every http.listen
 *     address is loopback; otherwise 401 missing_api_key. "No key at
 *     all" means never any: in PostgreSQL mode api_keys has no row,
 *     revoked ones included (revoking the last key must not open a
 *     network that had keys); standalone, the config has no keys: block
 *     (an empty one, "keys: {}", counts as having keys);
 *   - a node with no key at all ignores whatever credentials come (as
 *     before keys existed: SDKs always send some Authorization); a node
 *     with keys checks any key presented, even when anonymous requests
 *     are allowed (a client that thinks it uses a key is told it does not);
 *   - an unknown, expired or revoked key: 401 invalid_api_key (one body
 *     for all three); a disabled key: 403 key_disabled; both 401s carry
 *     WWW-Authenticate: Bearer;
 *   - keys not loaded yet (PostgreSQL mode before the master's first
 *     KEYS, see wk_auth_keys_pending): 503 keys_not_loaded.
 * A model the key may not use gets exactly the 404 of a model that does
 * not exist (wk_auth_model_refused), and /v1/models leaves it out.
 *
 * Ownership: the worker owns one key table at a time; wk_auth_set_keys()
 * swaps it. A request that presented a key holds a reference to the table
 * it was found in, so wk_auth_key() stays valid until the request is
 * disposed even if the table is replaced meanwhile. Logs show the key's
 * name (key=NAME), never the secret.
 */
#ifndef TL_WORKER_AUTH_H
#define TL_WORKER_AUTH_H

#include <stddef.h>

#include <h2o.h>

struct apikey;
struct apikey_table;
struct tl_config;

/* Build the table from conf's keys: (and decide the anonymous rule). */
void wk_auth_init(const struct tl_config *conf);
/* Replace the key table (takes ownership; the old one goes when no
 * request uses it any more). Marks the keys as loaded. */
void wk_auth_set_keys(struct apikey_table *t);
/* 1: the node counts as having keys even with an empty table (the
 * network's api_keys has rows, all revoked; or standalone, an explicit
 * keys: block that is empty): no anonymous loopback default. */
void wk_auth_set_keyed(int keyed);
void wk_auth_free(void);
/* PostgreSQL mode (master_link.c, at start): 1 = the keys are the
 * database's and not here yet: requests get 503 keys_not_loaded until
 * the master's first KEYS reaches wk_auth_set_keys() (unless
 * http.anonymous lets a keyless one through). */
void wk_auth_keys_pending(int pending);

/* Check req's key. 1 if it was answered (401, 403, 503), 0 to go on. */
int wk_auth_refused(h2o_req_t *req);
/* The key req presented and was admitted with; NULL if anonymous or a
 * request from another node. Valid until req is disposed. */
const struct apikey *wk_auth_key(h2o_req_t *req);
/* 1 if key (NULL: anonymous) may use the model id "namespace:model". */
int wk_auth_key_allows(const struct apikey *key, const char *id, size_t len);
/* For a model id the request's key may not use: answer exactly the 404 of
 * an unknown model (ns_len: the namespace's length in id) and return 1;
 * 0 if the key may use it. */
int wk_auth_model_refused(h2o_req_t *req, const char *id, size_t len, size_t ns_len);

#endif
