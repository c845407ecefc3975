/*
 * cred_headers: the request headers that carry a credential.
 *
 * Contract: a header named here is never passed on to an agent or a
 * backend. The worker drops it before a request leaves for agentd (the
 * client's key for tokilake is not the agent operator's business), and
 * tokiame drops it again before its own request to the backend (it sets
 * the backend's credential itself, from its configuration). Both use
 * this one list so that they cannot drift apart: add a name here and
 * both stop forwarding it.
 *
 * Names are compared without regard to case; the length is explicit so
 * that h2o's (not NUL-terminated) names need no copy.
 */
#ifndef TL_COMMON_CRED_HEADERS_H
#define TL_COMMON_CRED_HEADERS_H

#include <stddef.h>

/* 1 when the header name (len bytes, any case) carries a credential. */
int cred_header_is(const char *name, size_t len);

#endif
