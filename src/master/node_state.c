/*
 * node_state: what the node can serve, told to every worker for /healthz.
 *
 * The master alone knows whether the database is reachable, whether a
 * snapshot of it was ever loaded and whether node.name is still this
 * node's; the workers answer /healthz. After every turn of the master's
 * loop the state is computed again; when it differs from the one last
 * sent, every worker gets NODE_STATE. A worker that says HELLO gets the
 * current state at once, so a new or respawned worker never reports
 * stale facts for long.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "log.h"
#include "master.h"
#include "pg.h"

static struct {
	int valid;
	uint8_t database, snapshot, name;
	uint64_t since;
} sent;

static void
current(uint8_t *database, uint8_t *snapshot, uint8_t *name)
{
	if (!pg_enabled()) {
		*database = IPC_DB_STANDALONE;
		*snapshot = 0;
		*name = IPC_NAME_HELD;
		return;
	}
	*database = pg_connected() ? IPC_DB_CONNECTED : IPC_DB_RECONNECTING;
	*snapshot = pg_snapshot_loaded() ? 1 : 0;
	*name = (uint8_t)pg_name_state();
}

void
node_state_send(struct child *c)
{
	struct ipc_msg msg;

	if (!sent.valid || c->role != CHILD_WORKER || c->pid <= 0)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.type = IPC_NODE_STATE;
	msg.u.node_state.database = sent.database;
	msg.u.node_state.snapshot = sent.snapshot;
	msg.u.node_state.name = sent.name;
	msg.u.node_state.since = sent.since;
	child_ipc_send(c, &msg);
}

void
node_state_update(struct master *m)
{
	uint8_t database, snapshot, name;

	if (m->stopping != STOP_NONE)
		return; /* pg_shutdown() says standalone: not news for anyone */
	current(&database, &snapshot, &name);
	if (sent.valid && sent.database == database && sent.snapshot == snapshot &&
	    sent.name == name)
		return;
	sent.valid = 1;
	sent.database = database;
	sent.snapshot = snapshot;
	sent.name = name;
	sent.since = (uint64_t)time(NULL);
	log_debug("node state: database %u, snapshot %u, name %u", database, snapshot, name);
	for (size_t i = 0; i < m->nchildren; i++)
		if (m->children[i]->hello)
			node_state_send(m->children[i]);
}
