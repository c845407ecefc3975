/*
 * agent_listener: where the agent links plug into agentd.
 *
 * The master opened the gRPC listener (agents.listen) before forking and
 * passes it in ctx->agent_fd. The link code (the next issue: src/agentd/
 * link_*.c) starts accepting here: wrap the fd with
 * h2o_evloop_socket_create(ad->loop, fd, H2O_SOCKET_FLAG_DONT_READ),
 * accept, TLS handshake with ALPN h2 unless agents.plaintext, one nghttp2
 * server session per agent, and add/remove agents in ad->registry.
 *
 * For now nothing accepts: connections wait in the kernel backlog, and
 * the descriptor is held open so the port stays bound. This is the one
 * placeholder of the agentd skeleton.
 */
#include "config.h"

#include <unistd.h>

#include "agentd.h"
#include "log.h"

static int listener_fd = -1;

int
agent_listener_start(struct agentd *ad, int fd)
{
	listener_fd = fd;
	log_info("agent listener on %s (%s); accepting agents is not implemented yet",
	    ad->conf->agents.listen, ad->conf->agents.plaintext ? "plaintext h2c" : "TLS");
	return 0;
}

void
agent_listener_stop(struct agentd *ad)
{
	(void)ad;
	if (listener_fd != -1)
		close(listener_fd);
	listener_fd = -1;
}
