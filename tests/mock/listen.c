/*
 * listen: the one listening socket all threads accept from.
 * "HOST:PORT" or "[V6]:PORT", numeric hosts only (a test tool binds
 * loopback); port 0 picks a free port and `shown` says which.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mock.h"

int
mock_listen(const char *hostport, char *shown, size_t shownlen)
{
	char host[INET6_ADDRSTRLEN + 2], port[8], nhost[INET6_ADDRSTRLEN];
	const char *colon = strrchr(hostport, ':');
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	size_t hlen;
	int fd = -1, on = 1, rc;

	if (colon == NULL || colon == hostport || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= sizeof(port) || (size_t)(colon - hostport) >= sizeof(host))
		goto bad;
	hlen = (size_t)(colon - hostport);
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';
	if (host[0] == '[') {
		if (hlen < 3 || host[hlen - 1] != ']')
			goto bad;
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0) {
		fprintf(stderr, "%s: -l %s: %s\n", MOCK_PROGNAME, hostport, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 || listen(fd, SOMAXCONN) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		fprintf(stderr, "%s: -l %s: %s\n", MOCK_PROGNAME, hostport, strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, nhost, sizeof(nhost));
		snprintf(shown, shownlen, "[%s]:%u", nhost, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, nhost, sizeof(nhost));
		snprintf(shown, shownlen, "%s:%u", nhost, ntohs(s4->sin_port));
	}
	return fd;
bad:
	fprintf(stderr, "%s: -l %s: want HOST:PORT or [V6]:PORT with a numeric host\n",
	    MOCK_PROGNAME, hostport);
	return -1;
}
