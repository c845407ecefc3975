/*
 * tl-freeport: print N free TCP ports on 127.0.0.1, one per line.
 *
 * Integration tests start several servers on ephemeral ports. Each port
 * comes from binding port 0; all sockets stay open until every port is
 * chosen, so the N ports differ. They are closed on exit: a port can in
 * principle be taken again before the test binds it, which is the usual
 * small race of this technique.
 *
 *   tl-freeport [N]    (default 1, at most 64)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define MAX_PORTS 64

int
main(int argc, char **argv)
{
	int fds[MAX_PORTS];
	unsigned ports[MAX_PORTS];
	long n = 1;
	char *end;

	if (argc > 2 || (argc == 2 && ((n = strtol(argv[1], &end, 10)) < 1 || n > MAX_PORTS ||
	    *end != '\0'))) {
		fprintf(stderr, "usage: tl-freeport [N]   (1 <= N <= %d)\n", MAX_PORTS);
		return 2;
	}
	for (long i = 0; i < n; i++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(sin);

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = 0;
		if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) == -1) {
			fprintf(stderr, "tl-freeport: %s\n", strerror(errno));
			return 1;
		}
		ports[i] = ntohs(sin.sin_port);
	}
	for (long i = 0; i < n; i++)
		printf("%u\n", ports[i]);
	if (fflush(stdout) == EOF)
		return 1;
	for (long i = 0; i < n; i++)
		close(fds[i]);
	return 0;
}
