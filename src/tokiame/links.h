/*
 * links: the set of links of one tokiame, one per configured server.
 *
 * Like cloudflared's several edge connections, every link is independent
 * (its own connection, back-off, Drain and tasks: link.c) and any of them
 * may offer tasks; the backends' concurrency is shared by all (task.c
 * places every task whatever link it came on). The agent's Register and
 * heartbeats say its whole capacity and in-flight count on every link,
 * plus how many links it keeps, so a node knows the capacity is shared.
 *
 * The loop (agent.c) drives the set through these calls; nothing here
 * blocks.
 */
#ifndef TM_LINKS_H
#define TM_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct agent;

/* One link per conf->servers entry. -1 with err (a config error). */
int links_init(struct agent *ag, char *err, size_t errlen);
void links_free(struct agent *ag);

/* Timers of every link; the next time one wants to run. */
uint64_t links_tick(struct agent *ag, uint64_t now);
void links_flush(struct agent *ag);
/* Fill up to max poll entries; idx[i] = the link of fds[i]. Returns how
 * many were filled. */
size_t links_pollfds(struct agent *ag, struct curl_waitfd *fds, size_t *idx, size_t max);
/* Input on the polled links (revents from links_pollfds' order), and on
 * links that stopped reading on their budget. */
void links_io(struct agent *ag, const struct curl_waitfd *fds, const size_t *idx, size_t n);
/* 1 if a link has input it left for the next turn. */
int links_read_more(const struct agent *ag);

/* Links registered now (Heartbeat.links). */
uint32_t links_registered(const struct agent *ag);
/* SIGTERM: Goodbye on every link. */
void links_goodbye(struct agent *ag, const char *reason);
/* Close every link cleanly; 1 when all are closed. */
int links_close(struct agent *ag, const char *why);
void links_abort(struct agent *ag);

#endif
