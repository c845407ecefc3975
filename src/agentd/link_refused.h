/*
 * link_refused: model ids an agent published that this server does not
 * take, and telling the agent so.
 *
 * The rule (stated in proto/tokilake.proto): a model id is 1 to
 * LINK_MODEL_ID_MAX bytes with no control byte (0x00-0x1f, 0x7f), the
 * same rule the registry and the worker apply; a backend name is at most
 * LINK_MODEL_ID_MAX bytes. A model that breaks it is left out of the
 * agent's list, the rest is used, and the agent gets one
 * Control{models_refused} naming the first LINK_REFUSED_LISTED of them;
 * agentd logs the count and the first id once per list.
 *
 * Ownership: struct link_refused is the caller's (on its stack), bounded;
 * ids are copied in escaped and cut.
 */
#ifndef TL_AGENTD_LINK_REFUSED_H
#define TL_AGENTD_LINK_REFUSED_H

#include <stddef.h>
#include <stdint.h>

#include "tokilake.pb-c.h"

#define LINK_MODEL_ID_MAX 256
#define LINK_REFUSED_LISTED 16
#define LINK_REFUSED_ID_MAX 96 /* escaped id sent back, bytes */

struct link_refused {
	size_t total;
	size_t n;
	struct {
		uint32_t index;
		const char *why;                 /* static string */
		char id[LINK_REFUSED_ID_MAX + 1];
	} items[LINK_REFUSED_LISTED];
};

struct link_stream;

/* NULL if the server takes m, else why not. */
const char *link_model_refusal(const Tokilake__V1__Model *m);
void link_refused_add(struct link_refused *r, uint32_t index, const char *id, const char *why);
/* Log and send Control{models_refused} on the Connect call (nothing when
 * r is empty). */
void link_refused_send(struct link_stream *s, const struct link_refused *r,
    const char *agent_id);

#endif
