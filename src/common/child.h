/*
 * child: what the master hands each child process when it forks it.
 *
 * The master opens every listening socket before forking; children only
 * wrap the inherited descriptors. The config object was parsed by the
 * master and is inherited through fork: children never read the file.
 * Every child's *_main() returns its exit status (0, or EXIT_CONFIG when
 * its configuration cannot be applied, so the master does not respawn it
 * in a loop).
 */
#ifndef TL_CHILD_H
#define TL_CHILD_H

#include <stdint.h>

#include "tl_config.h"

#define EXIT_CONFIG 2 /* config error: the master must not respawn */

struct child_ctx {
	const struct tl_config *conf;
	uint64_t generation;  /* config generation this child was started with */
	unsigned slot;        /* worker number, 0 for agentd */
	int master_fd;        /* socketpair to the master (IPC frames) */
	const int *http_fds;  /* listeners, index matches conf->http.listen */
	size_t nhttp_fds;
	int agent_fd;         /* gRPC agent listener (agentd only, else -1) */
	int ipc_listen_fd;    /* agentd.sock listener (agentd only, else -1) */
	const char *agentd_path; /* path of agentd.sock (workers connect to it) */
	/* node.listen (workers only, else -1): the INTERNAL listener for
	 * requests forwarded by other nodes. A worker knows a listener is
	 * internal because it gets it here, never in http_fds; its TLS files
	 * are conf->node.tls_cert/tls_key, and it requires conf->node.secret. */
	int node_fd;
};

int worker_main(struct child_ctx *ctx);
int agentd_main(struct child_ctx *ctx);

#endif
