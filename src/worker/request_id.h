/*
 * request_id: the X-Request-Id of a request.
 *
 * A client's own X-Request-Id is kept when it is sane (1 to 128 printable
 * ASCII characters, no spaces); otherwise the worker makes one from 16
 * random bytes (32 hex digits). The id goes back to the client on every
 * response, to agentd in REQ_START, and into every log line about the
 * request.
 */
#ifndef TL_WORKER_REQUEST_ID_H
#define TL_WORKER_REQUEST_ID_H

#include <h2o.h>

#define REQUEST_ID_MAX 128

/*
 * The request's id, NUL-terminated in req's pool. The first call picks it
 * and adds the X-Request-Id response header; later calls return the same.
 */
const char *wk_request_id(h2o_req_t *req);

#endif
