/*
 * worker: entry point and lifecycle of a worker process.
 *
 * worker_main() builds one h2o event loop and context, wraps the
 * listeners the master opened, links to the master and to agentd, says
 * READY and runs the loop until told to stop:
 *   graceful (SIGTERM, SHUTDOWN graceful, the master gone): stop
 *     accepting at once, ask h2o to wind connections down, let requests
 *     in flight finish (uploads included), close idle connections, and
 *     leave when the last connection is gone, or cut what remains after
 *     the shutdown timeout;
 *   fast (SIGINT, SIGQUIT, SHUTDOWN fast): leave now.
 * Both exit 0: a stop is not a failure. EXIT_CONFIG when the config
 * cannot be applied (a certificate that does not load).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <h2o.h>

#include "agentd_link.h"
#include "auth.h"
#include "child.h"
#include "client_watch.h"
#include "log.h"
#include "master_link.h"
#include "tl_config.h"
#include "worker.h"

struct worker wk;

static h2o_timeout_entry_t tick_entry;   /* every second: STATUS */
static h2o_timeout_entry_t sweep_entry;  /* connection timeouts */
static h2o_timeout_entry_t drain_entry;  /* graceful stop deadline */
static h2o_timeout_entry_t cut_entry;    /* a last second for h2o to close what was cut */

void
wk_stop_now(const char *why)
{
	if (wk.state == WORKER_STOPPED)
		return;
	log_info("stopping now (%s)", why);
	wk.fast_exit = 1;
	wk.state = WORKER_STOPPED;
}

void
wk_check_drained(void)
{
	if ((wk.state == WORKER_DRAINING || wk.state == WORKER_CUTTING) && wk_conns_count() == 0)
		wk.state = WORKER_STOPPED;
}

static void
on_cut_over(h2o_timeout_entry_t *entry)
{
	if (wk.state == WORKER_CUTTING) {
		log_warnx("%zu connection(s) still open after cutting; leaving anyway", wk_conns_count());
		wk.state = WORKER_STOPPED;
	}
}

static void
on_drain_deadline(h2o_timeout_entry_t *entry)
{
	if (wk.state != WORKER_DRAINING)
		return;
	log_warnx("graceful stop timed out after %u ms: cutting %zu connection(s), %zu request(s) "
	    "still waiting for agents", wk.drain_ms, wk_conns_count(), wk_agentd_link_npending());
	wk.state = WORKER_CUTTING;
	wk_conns_cut_all();
	/* requests waiting on agentd get their 503 now; their writes then fail fast */
	wk_agentd_link_stop();
	wk_check_drained();
	if (wk.state == WORKER_CUTTING)
		h2o_timeout_link(wk.loop, &wk.ctx.one_sec_timeout, &cut_entry);
}

void
wk_begin_drain(uint32_t timeout_ms, const char *why)
{
	if (wk.state != WORKER_RUNNING)
		return;
	wk.state = WORKER_DRAINING;
	wk.drain_ms = timeout_ms != 0 ? timeout_ms : wk.conf->shutdown_timeout_ms;
	log_info("stopping gracefully (%s): %zu connection(s) open, waiting up to %u ms", why,
	    wk_conns_count(), wk.drain_ms);
	wk_listeners_close();
	h2o_context_request_shutdown(&wk.ctx);
	wk_conns_drain();
	h2o_timeout_init(wk.loop, &wk.drain_timeout, wk.drain_ms);
	wk.drain_timeout_ready = 1;
	h2o_timeout_link(wk.loop, &wk.drain_timeout, &drain_entry);
	wk_check_drained();
}

static void
on_tick(h2o_timeout_entry_t *entry)
{
	wk_master_status();
	h2o_timeout_link(wk.loop, &wk.ctx.one_sec_timeout, &tick_entry);
}

/* Timeouts are enforced to a tenth of a second when they are short. */
static h2o_timeout_t *
sweep_period(void)
{
	return wk.conf->http.header_timeout_ms < 2000 ? &wk.ctx.hundred_ms_timeout :
	    &wk.ctx.one_sec_timeout;
}

static void
on_sweep(h2o_timeout_entry_t *entry)
{
	wk_conns_sweep();
	wk_client_watch_sweep();
	h2o_timeout_link(wk.loop, sweep_period(), &sweep_entry);
}

/*
 * Free everything, but only when nothing is left that h2o still owns: a
 * fast stop leaves connections open, and their memory stays reachable
 * from wk until exit.
 */
static void
teardown(void)
{
	wk_agentd_link_stop();
	wk_master_stop();
	wk_signals_close();
	wk_listeners_close();
	h2o_timeout_unlink(&tick_entry);
	h2o_timeout_unlink(&sweep_entry);
	h2o_timeout_unlink(&drain_entry);
	h2o_timeout_unlink(&cut_entry);
	if (wk_conns_count() != 0)
		return;
	/* h2o's own HTTP/2 drain timer may still be pending */
	h2o_timeout_unlink(&wk.ctx.http2._graceful_shutdown_timeout);
	h2o_context_dispose(&wk.ctx);
	wk.ctx_ready = 0;
	h2o_timeout_dispose(wk.loop, &wk.five_sec);
	h2o_timeout_dispose(wk.loop, &wk.first_byte);
	h2o_timeout_dispose(wk.loop, &wk.stream_idle);
	h2o_timeout_dispose(wk.loop, &wk.watch_delay);
	if (wk.drain_timeout_ready)
		h2o_timeout_dispose(wk.loop, &wk.drain_timeout);
	h2o_config_dispose(&wk.globalconf);
	wk_listeners_free();
	wk_auth_free();
	h2o_evloop_destroy(wk.loop);
	wk.loop = NULL;
}

int
worker_main(struct child_ctx *cctx)
{
	int rc;

	memset(&wk, 0, sizeof(wk));
	wk.cctx = cctx;
	wk.conf = cctx->conf;
	wk.state = WORKER_RUNNING;
	tick_entry.cb = on_tick;
	sweep_entry.cb = on_sweep;
	drain_entry.cb = on_drain_deadline;
	cut_entry.cb = on_cut_over;

	wk.loop = h2o_evloop_create();
	wk_http_conf_init();
	wk_auth_init(wk.conf);
	h2o_context_init(&wk.ctx, wk.loop, &wk.globalconf);
	wk.ctx_ready = 1;
	h2o_timeout_init(wk.loop, &wk.five_sec, 5000);
	h2o_timeout_init(wk.loop, &wk.first_byte, wk.conf->http.first_byte_timeout_ms);
	h2o_timeout_init(wk.loop, &wk.stream_idle, wk.conf->http.stream_idle_timeout_ms);
	h2o_timeout_init(wk.loop, &wk.watch_delay, WK_WATCH_DELAY_MS);

	if (wk_signals_init() != 0)
		return 1;
	wk_master_start();
	if ((rc = wk_listeners_open()) != 0) {
		teardown();
		return rc;
	}
	wk_agentd_link_start();
	wk_listeners_start();
	wk_master_ready();
	h2o_timeout_link(wk.loop, &wk.ctx.one_sec_timeout, &tick_entry);
	h2o_timeout_link(wk.loop, sweep_period(), &sweep_entry);
	log_info("serving on %zu listener(s), HTTP/2 %s, up to %u connections", wk.nlisteners,
	    wk.conf->http.http2 ? "on" : "off", wk.conf->http.max_connections);

	while (wk.state != WORKER_STOPPED) {
		if (h2o_evloop_run(wk.loop, INT32_MAX) != 0 && errno != EINTR) {
			log_warn("event loop failed");
			break;
		}
	}
	if (!wk.fast_exit)
		teardown();
	log_info("stopped");
	return 0;
}
