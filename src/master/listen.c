/*
 * listen: every listening socket of the node, opened by the master before
 * it forks anything, so that a child crash or a reload never closes a
 * port: children inherit the descriptors through fork (no exec, so
 * O_CLOEXEC on them only protects against a future exec) and each child
 * closes the ones its role does not use (spawn.c).
 *
 * agentd.sock is created here too, not by agentd, so that workers can
 * connect to it while agentd restarts (the kernel keeps the backlog).
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cfg_table.h"
#include "child.h"
#include "log.h"
#include "master.h"
#include "xmalloc.h"

/* Split "host:port", "[v6]:port", "*:port", ":port" or "port". */
static int
split_address(const char *address, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = address;
	size_t hl;

	if (address[0] == '[') {
		const char *end = strchr(address, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		h = address + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else if ((colon = strrchr(address, ':')) == NULL) {
		hl = 0;
		colon = address - 1; /* bare port */
	} else
		hl = (size_t)(colon - address);
	if (hl >= hostlen || strlen(colon + 1) >= portlen || colon[1] == '\0')
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

/*
 * Open one TCP listener. Returns the fd, or -1 with err set and *code =
 * EXIT_CONFIG for an address the config should not name (unparsable,
 * unresolvable, not local) or EXIT_RUNTIME for the environment (port in
 * use, no permission).
 */
static int
open_tcp(const char *address, const char *where, char *err, size_t errlen, int *code)
{
	struct addrinfo hints, *res;
	char host[256], port[32];
	int fd, on = 1, rv;

	if (split_address(address, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "%s: cannot parse address \"%s\"", where, address);
		*code = EXIT_CONFIG;
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rv = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: cannot resolve \"%s\": %s", where, address,
		    gai_strerror(rv));
		*code = EXIT_CONFIG;
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket for %s: %s", where, address, strerror(errno));
		*code = EXIT_RUNTIME;
		freeaddrinfo(res);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 || listen(fd, SOMAXCONN) == -1) {
		int saved = errno;

		/* a busy port or a privileged one is the host's state, not the file's */
		*code = (saved == EADDRINUSE || saved == EACCES) ? EXIT_RUNTIME : EXIT_CONFIG;
		snprintf(err, errlen, "%s: cannot listen on %s: %s", where, address,
		    strerror(saved));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

/*
 * agentd.sock: refuse to steal a socket another live tokilake answers on;
 * unlink a stale one; create it 0600 (only our own uid may talk to agentd).
 */
static int
open_ipc(const char *path, const char *where, char *err, size_t errlen, int *code)
{
	struct sockaddr_un sun;
	mode_t old_umask;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path %s is longer than %zu bytes", where, path,
		    sizeof(sun.sun_path) - 1);
		*code = EXIT_CONFIG;
		return -1;
	}
	strcpy(sun.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		*code = EXIT_RUNTIME;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		snprintf(err, errlen, "%s: %s is in use by a running tokilake", where, path);
		*code = EXIT_RUNTIME;
		close(fd);
		return -1;
	}
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: cannot remove stale %s: %s", where, path,
		    strerror(errno));
		*code = EXIT_RUNTIME;
		return -1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		*code = EXIT_RUNTIME;
		return -1;
	}
	old_umask = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s: cannot bind %s: %s", where, path, strerror(errno));
		umask(old_umask);
		close(fd);
		*code = EXIT_RUNTIME;
		return -1;
	}
	umask(old_umask);
	if (chmod(path, 0600) == -1 || listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "%s: cannot listen on %s: %s", where, path, strerror(errno));
		close(fd);
		unlink(path);
		*code = EXIT_RUNTIME;
		return -1;
	}
	return fd;
}

/*
 * Open everything the config names. Returns 0, or EXIT_CONFIG /
 * EXIT_RUNTIME with err naming the address and where the config set it;
 * on failure nothing stays open.
 */
int
listen_open_all(const struct tl_config *conf, struct listeners *lis, char *err, size_t errlen)
{
	char where[512];
	int code = EXIT_RUNTIME;
	size_t len;

	memset(lis, 0, sizeof(*lis));
	lis->agent_fd = lis->ipc_fd = lis->node_fd = -1;
	lis->nhttp = conf->http.nlisten;
	lis->http_fds = xcalloc(lis->nhttp ? lis->nhttp : 1, sizeof(int));
	for (size_t i = 0; i < lis->nhttp; i++)
		lis->http_fds[i] = -1;

	for (size_t i = 0; i < lis->nhttp; i++) {
		const struct tl_http_listen *l = &conf->http.listen[i];

		snprintf(where, sizeof(where), "%s:%d: http.listen", conf->path, l->line);
		if ((lis->http_fds[i] = open_tcp(l->address, where, err, errlen, &code)) == -1)
			goto fail;
	}
	snprintf(where, sizeof(where), "%s:%d: agents.listen", conf->path,
	    cfg_line(conf->lines, "agents.listen"));
	if ((lis->agent_fd = open_tcp(conf->agents.listen, where, err, errlen, &code)) == -1)
		goto fail;

	if (conf->node.listen != NULL) {
		snprintf(where, sizeof(where), "%s:%d: node.listen", conf->path,
		    cfg_line(conf->lines, "node.listen"));
		if ((lis->node_fd = open_tcp(conf->node.listen, where, err, errlen, &code)) == -1)
			goto fail;
	}

	len = strlen(conf->runtime_dir) + sizeof("/agentd.sock");
	lis->ipc_path = xmalloc(len);
	snprintf(lis->ipc_path, len, "%s/agentd.sock", conf->runtime_dir);
	snprintf(where, sizeof(where), "%s:%d: runtime_dir", conf->path,
	    cfg_line(conf->lines, "runtime_dir"));
	if ((lis->ipc_fd = open_ipc(lis->ipc_path, where, err, errlen, &code)) == -1) {
		free(lis->ipc_path);
		lis->ipc_path = NULL;
		goto fail;
	}
	return 0;
fail:
	listen_close_all(lis);
	listen_free(lis);
	return code;
}

/* Close the master's copies; children keep theirs until they stop. */
void
listen_close_all(struct listeners *lis)
{
	for (size_t i = 0; i < lis->nhttp; i++)
		if (lis->http_fds[i] != -1) {
			close(lis->http_fds[i]);
			lis->http_fds[i] = -1;
		}
	if (lis->agent_fd != -1)
		close(lis->agent_fd);
	if (lis->ipc_fd != -1)
		close(lis->ipc_fd);
	if (lis->node_fd != -1)
		close(lis->node_fd);
	lis->agent_fd = lis->ipc_fd = lis->node_fd = -1;
}

void
listen_unlink_ipc(struct listeners *lis)
{
	if (lis->ipc_path != NULL && unlink(lis->ipc_path) == -1 && errno != ENOENT)
		log_warn("unlink %s", lis->ipc_path);
}

void
listen_free(struct listeners *lis)
{
	free(lis->http_fds);
	free(lis->ipc_path);
	lis->http_fds = NULL;
	lis->ipc_path = NULL;
	lis->nhttp = 0;
}

/* "127.0.0.1:8080 (http), 127.0.0.1:7740 (agents)" for the ready line. */
void
listen_describe(const struct tl_config *conf, char *out, size_t outlen)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < conf->http.nlisten && off < outlen; i++)
		off += (size_t)snprintf(out + off, outlen - off, "%s (http%s), ",
		    conf->http.listen[i].address, conf->http.listen[i].tls_cert ? "s" : "");
	if (off < outlen)
		off += (size_t)snprintf(out + off, outlen - off, "%s (agents%s)",
		    conf->agents.listen, conf->agents.plaintext ? ", plaintext" : "");
	if (conf->node.listen != NULL && off < outlen)
		snprintf(out + off, outlen - off, ", %s (node, %s)", conf->node.listen,
		    conf->node.tls_cert != NULL ? "TLS" : "h2c");
}

/* mkdir -p with mode 0755 for the parts that are missing. */
int
make_runtime_dir(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path);
	struct stat st;

	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char saved = *s;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "runtime_dir: cannot create %s: %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		*s = saved;
		if (saved == '\0')
			break;
	}
	free(p);
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "runtime_dir: %s is not a directory", path);
		return -1;
	}
	return 0;
}
