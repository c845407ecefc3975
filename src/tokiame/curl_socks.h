/*
 * curl_socks: libcurl's sockets and timer, mirrored for our poll().
 *
 * tokiame first used curl_multi_poll() + curl_multi_perform() each turn.
 * Measured under load, curl then polls every transfer's socket again
 * (poll with a zero timeout) to learn which way it is ready: about three
 * extra system calls per task. With curl_multi_socket_action() we tell
 * curl what poll() saw, and it skips those checks. curl tells us what to
 * watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); this file keeps both.
 */
#ifndef TM_CURL_SOCKS_H
#define TM_CURL_SOCKS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct curl_sock {
	curl_socket_t fd;
	short events;           /* POLLIN and/or POLLOUT */
};

#define CURL_SOCKS_SPARE_EASY 64

struct curl_socks {
	CURLM *multi;
	CURL *spare[CURL_SOCKS_SPARE_EASY]; /* finished handles, reset, for reuse */
	size_t nspare;
	struct curl_sock *v;    /* bounded by curl's connections: transfers + pool */
	size_t n, cap;
	uint64_t deadline_ms;   /* UINT64_MAX = no timer */
};

void curl_socks_init(struct curl_socks *cs, CURLM *multi);
void curl_socks_free(struct curl_socks *cs);
/* Poll entries for curl's sockets into out (room for cs->n). */
size_t curl_socks_pollfds(const struct curl_socks *cs, struct pollfd *out);
/* When curl wants to be called without socket activity. */
uint64_t curl_socks_deadline(const struct curl_socks *cs);
/* Tell curl what poll() saw on the n entries curl_socks_pollfds filled,
 * and run its timer if due. */
void curl_socks_dispatch(struct curl_socks *cs, const struct pollfd *pfds, size_t n,
    uint64_t now);
/*
 * Easy handles are reused: curl_easy_init() allocates several kilobytes
 * (the handle and its buffers), and measured, malloc's bookkeeping for
 * them was a tenth of tokiame's time under load. A returned handle is
 * reset (options cleared, buffers kept) and handed out again.
 */
CURL *curl_socks_easy(struct curl_socks *cs);
/* Give back a handle already removed from the multi. */
void curl_socks_easy_done(struct curl_socks *cs, CURL *easy);
/* Run curl's timer now (after adding or unpausing a transfer). */
void curl_socks_kick(struct curl_socks *cs);

#endif
