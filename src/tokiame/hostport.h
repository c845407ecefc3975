/*
 * hostport: split "host:port" and "[v6]:port" addresses.
 *
 * Used for the server address and the local API address. The host part
 * keeps no brackets. An empty host is allowed only where the caller says
 * so (it means "any address" for a listener).
 */
#ifndef TM_HOSTPORT_H
#define TM_HOSTPORT_H

#include <stddef.h>

/* 0 with host and port filled (NUL-terminated), -1 if malformed or a part
 * does not fit. The port must be 1-65535. */
int hostport_split(const char *s, char *host, size_t hostlen, char *port, size_t portlen);
/* 1 if s is an IPv4 or IPv6 literal (no brackets). */
int host_is_ip(const char *s);

#endif
