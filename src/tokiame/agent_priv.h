/*
 * agent_priv: the state of a running tokiame, shared by its modules.
 *
 * One process, one loop (agent.c): the links to tokilake nodes, one per
 * configured server (links.c, each a link.c over link_h2.c and
 * link_tls.c), the tasks it is given (task.c), the local
 * backends and their models (backend.c, discover.c) and the local API
 * (api.c). Everything runs in that loop; nothing blocks except the
 * resolution of the server's name before a connect (see link_tls.c).
 *
 * Re-entrancy rule that keeps the modules simple: libcurl callbacks only
 * fill buffers, set flags and wake HTTP/2 data sources; nghttp2
 * callbacks only fill buffers, set flags, add or remove curl handles and
 * submit frames. Neither ever calls back into the other's driver
 * (curl_multi_perform, nghttp2_session_mem_recv/mem_send); the loop does.
 */
#ifndef TM_AGENT_PRIV_H
#define TM_AGENT_PRIV_H

#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>

#include "api.h"
#include "curl_socks.h"
#include "link.h"
#include "tm_config.h"

struct task;
struct backend;

/* What a curl easy handle's CURLOPT_PRIVATE points to. */
enum curl_owner_kind { OWNER_TASK, OWNER_DISCOVERY, OWNER_LOAD_PROBE };
struct curl_owner {
	enum curl_owner_kind kind;
};

/* One model as published on the link. */
struct pub_model {
	char *id;
	int kind;                 /* Tokilake__V1__ModelKind */
	struct backend *be;       /* the first backend that has it */
};

struct agent {
	struct tm_config *conf;
	char agent_id[96];        /* "<hostname>-<6 hex>", fixed for this run, the
	                           * same on every link (Register.agent_id) */
	CURLM *multi;
	struct curl_socks cs;     /* curl's sockets and timer, for our poll() */

	struct link *links;       /* one per conf->servers entry (links.c) */
	size_t nlinks;
	struct api api;

	struct backend *backends;
	size_t nbackends;
	uint32_t capacity;        /* sum of backend concurrency */
	int first_discovery_done; /* the first round ended (or timed out) */
	uint64_t start_ms;

	struct pub_model *models; /* the published set */
	size_t nmodels;
	uint64_t models_gen;      /* bumped when the set changes */

	TAILQ_HEAD(, task) tasks; /* every task with a Serve call, of every link */
	uint32_t ntasks;
	uint32_t in_flight;       /* tasks holding a backend slot or waiting for one */

	int stopping;             /* SIGTERM: no new tasks */
	uint64_t stop_deadline_ms;
};

uint64_t now_ms(void);

#endif
