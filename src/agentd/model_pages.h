/*
 * model_pages: the registry's model list as MODELS_LIST pages, the answer
 * to a worker's MODELS_QUERY. Each page's payload stays under
 * IPC_MAX_PAYLOAD; more = 1 on every page but the last; an empty registry
 * is one empty page. The registry bounds every name (REG_MAX_NAME), so
 * any single model fits in a page. Pages go to an emit function (a worker
 * connection in agentd, a buffer in the unit test).
 */
#ifndef TL_MODEL_PAGES_H
#define TL_MODEL_PAGES_H

#include <stdint.h>

#include "ipc.h"
#include "registry.h"

typedef int (*models_emit_fn)(void *arg, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists);

/* Emit every page for request id. -1 as soon as emit fails. */
int models_pages(const struct registry *reg, uint64_t id, models_emit_fn emit, void *arg);

#endif
