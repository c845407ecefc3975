/*
 * discover: each backend with discover=true is asked GET {url}/models
 * (the OpenAI list {"data":[{"id":...},...]}; Ollama answers it at
 * /v1/models too) every discover_interval, through the agent's curl multi.
 *
 * A backend that fails keeps its last known list and is asked again
 * soon: 1 s, doubling up to discover_interval, because a backend started
 * after tokiame (or still loading) must not leave the agent linked with
 * no models for a whole interval. An answer with no models counts the
 * same. The first good non-empty answer resets the back-off. The failure
 * is logged once when it starts and once when it ends, not at every try. Bounds: an answer of at most 4 MiB,
 * JSON nested at most 32 deep, 4096 ids of at most 512 bytes, 10 s per
 * request.
 *
 * The first link attempt waits for the first round (at most
 * DISCOVER_FIRST_WAIT_MS) so that Register carries the discovered models.
 */
#ifndef TM_DISCOVER_H
#define TM_DISCOVER_H

#include <stdint.h>

#include <curl/curl.h>

#define DISCOVER_FIRST_WAIT_MS 3000

#define DISCOVER_RETRY_INITIAL_MS 1000
#define DISCOVER_DEFAULT_INTERVAL_MS 60000

struct agent;
struct discovery;

/* Start the discoveries that are due; returns the next time one is. */
uint64_t discover_tick(struct agent *ag, uint64_t now);
/* curl finished a discovery request. */
void discover_done(struct discovery *d, CURLcode rc);
/* Drop every request in flight (exit). */
void discover_cancel_all(struct agent *ag);

#endif
