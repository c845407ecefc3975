/*
 * api_active: how many requests the worker is handling now.
 *
 * A request counts from the moment the router sees it until h2o disposes
 * of it (response sent, or the client went away); the release hangs off
 * the request's memory pool so no path can forget it.
 */
#include "config.h"

#include <h2o.h>

#include "api.h"
#include "worker.h"

static void
on_dispose(void *p)
{
	if (wk.active > 0)
		wk.active--;
}

void
wk_api_track_active(h2o_req_t *req)
{
	(void)h2o_mem_alloc_shared(&req->pool, 1, on_dispose);
	wk.active++;
}
