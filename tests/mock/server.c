/*
 * server: h2o set-up shared by all threads, one event loop per thread,
 * and the per-thread table of timer lists.
 *
 * HTTP/1.1 only: no TLS, no upgrade to HTTP/2 (tests drive the mock with
 * curl and libcurl; benchmarks want the plainest path). Keep-alive is on
 * (h2o's default for HTTP/1.1).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mock.h"

static h2o_globalconf_t globalconf;

h2o_globalconf_t *
mock_server_config(void)
{
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	h2o_handler_t *handler;

	h2o_config_init(&globalconf);
	globalconf.server_name = h2o_iovec_init(H2O_STRLIT(MOCK_PROGNAME));
	globalconf.max_request_entity_size = MOCK_MAX_BODY;
	globalconf.http1.upgrade_to_http2 = 0;
	globalconf.http1.req_timeout = 30000;
	host = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
	path = h2o_config_register_path(host, "/", 0);
	handler = h2o_create_handler(path, sizeof(*handler));
	handler->on_req = mock_route;
	return &globalconf;
}

h2o_timeout_t *
mock_timeout(struct mock_thread *t, uint64_t ms)
{
	struct mock_timeout *mt;

	for (size_t i = 0; i < t->ntimeouts; i++)
		if (t->timeouts[i].ms == ms)
			return &t->timeouts[i].t;
	if (t->ntimeouts == MOCK_MAX_TIMEOUTS)
		return NULL;
	mt = &t->timeouts[t->ntimeouts++];
	mt->ms = ms;
	h2o_timeout_init(t->loop, &mt->t, ms);
	return &mt->t;
}

struct mock_thread *
mock_thread_of(h2o_req_t *req)
{
	return H2O_STRUCT_FROM_MEMBER(struct mock_thread, ctx, req->conn->ctx);
}

uint64_t
mock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_accept(h2o_socket_t *listener, const char *err)
{
	struct mock_thread *t = listener->data;
	h2o_socket_t *sock;

	if (err != NULL)
		return;
	/* threads share the socket: another one may have taken it (NULL) */
	for (int i = 0; i < 16 && (sock = h2o_evloop_socket_accept(listener)) != NULL; i++)
		h2o_accept(&t->accept_ctx, sock);
}

void *
mock_thread_main(void *arg)
{
	struct mock_thread *t = arg;

	t->loop = h2o_evloop_create();
	h2o_context_init(&t->ctx, t->loop, t->gc);
	t->accept_ctx.ctx = &t->ctx;
	t->accept_ctx.hosts = t->gc->hosts;
	/* the watches' re-check list exists from the start */
	mock_timeout(t, MOCK_WATCH_POLL_MS);
	t->listener = h2o_evloop_socket_create(t->loop, t->listen_fd, H2O_SOCKET_FLAG_DONT_READ);
	t->listener->data = t;
	h2o_socket_read_start(t->listener, on_accept);
	while (!mock_quit)
		h2o_evloop_run(t->loop, 100);
	return NULL;
}
