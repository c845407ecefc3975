/*
 * streamload: the bench's client for many concurrent SSE streams and for
 * cancel latency. One thread, epoll, raw HTTP/1.1: python could not read
 * 100k events a second without becoming what we measure.
 *
 * Both take -T SECONDS: give up on whatever is still open after that long
 * (those requests count as failed), so a stalled server cannot hang the
 * bench.
 *
 *   streamload streams -a HOST:PORT -n N -b BODY [-H "name: value"]...
 *       N concurrent POSTs to /v1/chat/completions, each read to its end.
 *       One line per stream on stdout:
 *       "S <idx> <status> <first_event_us> <total_us> <events> <start_us>"
 *       (times relative to the start of the stream; start_us relative to
 *       the start of the run), then "T <wall_us>".
 *   streamload cancel -a HOST:PORT -n N -b BODY [-c CONC] [-H ...]...
 *       N requests (CONC at a time) with X-Request-Id "bench-cancel-<i>":
 *       read up to the first "data:" line, then close(). One line each:
 *       "C <request_id> <close_unix_us> <first_event_us> <status>".
 *
 * Exit 0 when every request got a 2xx head, 1 otherwise, 2 on usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HDRS	16
#define HEAD_MAX	16384
#define RBUF		65536

enum body_mode { BODY_EOF, BODY_LENGTH, BODY_CHUNKED };
enum chunk_state { CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_DONE };

struct stream {
	int		 fd;
	int		 idx;
	int		 status;
	int		 done;
	int		 connected;
	size_t		 sent;
	char		*req;
	size_t		 reqlen;
	char		 head[HEAD_MAX];
	size_t		 headlen;
	int		 in_body;
	enum body_mode	 mode;
	uint64_t	 remaining;	/* BODY_LENGTH */
	enum chunk_state cs;
	uint64_t	 chunk_left;
	int		 sse_pos;	/* 0..5 matching "data:", 6 = rest of line */
	long		 events;
	uint64_t	 t_start;
	uint64_t	 t_first;
	uint64_t	 t_end;
	uint64_t	 close_unix;
};

static const char *mode_name;
static struct sockaddr_in addr;
static const char *hdrs[MAX_HDRS];
static int nhdrs;
static const char *body;
static int cancel_mode;
static int epfd;
static uint64_t t0;
static int heads_pending;	/* opened, no response head yet */

static uint64_t
now_us(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
usage(void)
{
	fprintf(stderr, "usage: streamload streams|cancel -a HOST:PORT -n N -b BODY "
	    "[-c CONC] [-T SECONDS] [-H 'name: value']...\n");
	exit(2);
}

static char *
build_request(int idx, size_t *len)
{
	size_t cap = 1024 + strlen(body);
	char *r;
	int n;

	for (int i = 0; i < nhdrs; i++)
		cap += strlen(hdrs[i]) + 2;
	r = malloc(cap);
	if (r == NULL) {
		perror("malloc");
		exit(1);
	}
	n = snprintf(r, cap, "POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body));
	if (cancel_mode)
		n += snprintf(r + n, cap - n, "X-Request-Id: bench-cancel-%d\r\n", idx);
	for (int i = 0; i < nhdrs; i++)
		n += snprintf(r + n, cap - n, "%s\r\n", hdrs[i]);
	n += snprintf(r + n, cap - n, "\r\n%s", body);
	*len = n;
	return r;
}

static int
stream_open(struct stream *s, int idx)
{
	struct epoll_event ev;
	int one = 1;

	memset(s, 0, sizeof(*s));
	s->idx = idx;
	s->req = build_request(idx, &s->reqlen);
	s->t_start = now_us(CLOCK_MONOTONIC);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd == -1) {
		perror("socket");
		return -1;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) == -1 &&
	    errno != EINPROGRESS) {
		perror("connect");
		close(s->fd);
		s->fd = -1;
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
	ev.data.ptr = s;
	epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev);
	heads_pending++;
	return 0;
}

static void
stream_finish(struct stream *s)
{
	if (s->done)
		return;
	s->done = 1;
	s->t_end = now_us(CLOCK_MONOTONIC);
	if (s->fd != -1) {
		if (!s->in_body)
			heads_pending--;
		epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
		if (cancel_mode)
			s->close_unix = now_us(CLOCK_REALTIME);
		close(s->fd);
		s->fd = -1;
	}
	free(s->req);
	s->req = NULL;
}

/* Count "data:" at line starts; returns 1 when the first one is seen. */
static void
sse_feed(struct stream *s, const char *p, size_t n)
{
	static const char pat[] = "data:";

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (c == '\n') {
			s->sse_pos = 0;
			continue;
		}
		if (s->sse_pos < 5) {
			if (c == pat[s->sse_pos]) {
				if (++s->sse_pos == 5) {
					if (s->events++ == 0)
						s->t_first = now_us(CLOCK_MONOTONIC);
					s->sse_pos = 6;
				}
			} else
				s->sse_pos = 6;
		}
	}
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Feed body bytes; returns 1 when the body is complete. */
static int
body_feed(struct stream *s, const char *p, size_t n)
{
	size_t i = 0;

	if (s->mode == BODY_EOF) {
		sse_feed(s, p, n);
		return 0;
	}
	if (s->mode == BODY_LENGTH) {
		size_t take = n < s->remaining ? n : s->remaining;

		sse_feed(s, p, take);
		s->remaining -= take;
		return s->remaining == 0;
	}
	while (i < n) {
		int c = (unsigned char)p[i];

		switch (s->cs) {
		case CH_SIZE:
			if (hexval(c) >= 0) {
				s->chunk_left = s->chunk_left * 16 + hexval(c);
				i++;
			} else if (c == '\r') {
				s->cs = CH_SIZE_LF;
				i++;
			} else {
				s->cs = CH_EXT;
				i++;
			}
			break;
		case CH_EXT:
			if (c == '\r')
				s->cs = CH_SIZE_LF;
			i++;
			break;
		case CH_SIZE_LF:
			i++;
			if (s->chunk_left == 0) {
				s->cs = CH_DONE;
				return 1;
			}
			s->cs = CH_DATA;
			break;
		case CH_DATA: {
			size_t take = n - i < s->chunk_left ? n - i : s->chunk_left;

			sse_feed(s, p + i, take);
			i += take;
			s->chunk_left -= take;
			if (s->chunk_left == 0)
				s->cs = CH_DATA_CR;
			break;
		}
		case CH_DATA_CR:
			s->cs = CH_DATA_LF;
			i++;
			break;
		case CH_DATA_LF:
			s->cs = CH_SIZE;
			s->chunk_left = 0;
			i++;
			break;
		case CH_DONE:
			return 1;
		}
	}
	return 0;
}

static const char *
find_header(const char *head, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;

			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

/* Parse the head once "\r\n\r\n" is in; returns the offset of the body. */
static int
head_parse(struct stream *s)
{
	char *end;
	const char *v;

	s->head[s->headlen] = '\0';
	end = strstr(s->head, "\r\n\r\n");
	if (end == NULL)
		return -1;
	end[2] = '\0';
	if (sscanf(s->head, "HTTP/1.%*d %d", &s->status) != 1)
		s->status = 0;
	if ((v = find_header(s->head, "transfer-encoding")) != NULL &&
	    strncasecmp(v, "chunked", 7) == 0)
		s->mode = BODY_CHUNKED;
	else if ((v = find_header(s->head, "content-length")) != NULL) {
		s->mode = BODY_LENGTH;
		s->remaining = strtoull(v, NULL, 10);
	} else
		s->mode = BODY_EOF;
	s->in_body = 1;
	heads_pending--;
	return (int)(end + 4 - s->head);
}

static void
stream_read(struct stream *s)
{
	char buf[RBUF];

	for (;;) {
		ssize_t n = read(s->fd, buf, sizeof(buf));
		size_t off = 0;

		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			stream_finish(s);
			return;
		}
		if (!s->in_body) {
			size_t room = HEAD_MAX - 1 - s->headlen;
			size_t take = (size_t)n < room ? (size_t)n : room;
			int b;

			memcpy(s->head + s->headlen, buf, take);
			s->headlen += take;
			b = head_parse(s);
			if (b < 0) {
				if (s->headlen >= HEAD_MAX - 1)
					stream_finish(s);
				continue;
			}
			/* body bytes of this read start after the head */
			off = take - (s->headlen - b);
			if (s->mode == BODY_LENGTH && s->remaining == 0) {
				stream_finish(s);
				return;
			}
		}
		if (body_feed(s, buf + off, n - off) || (cancel_mode && s->events > 0)) {
			stream_finish(s);
			return;
		}
	}
}

static void
stream_write(struct stream *s)
{
	while (s->sent < s->reqlen) {
		ssize_t n = write(s->fd, s->req + s->sent, s->reqlen - s->sent);

		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			stream_finish(s);
			return;
		}
		s->sent += n;
	}
	if (s->sent == s->reqlen) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };

		epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
	}
}

static void
parse_addr(const char *hp)
{
	char host[64];
	const char *colon = strrchr(hp, ':');

	if (colon == NULL || (size_t)(colon - hp) >= sizeof(host))
		usage();
	memcpy(host, hp, colon - hp);
	host[colon - hp] = '\0';
	addr.sin_family = AF_INET;
	addr.sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
		usage();
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct stream *ss;
	int n = 0, conc = 0, opened = 0, active = 0, finished = 0, bad = 0, ch;
	uint64_t limit_us = 0;


	if (argc < 2)
		usage();
	mode_name = argv[1];
	if (strcmp(mode_name, "streams") == 0)
		cancel_mode = 0;
	else if (strcmp(mode_name, "cancel") == 0)
		cancel_mode = 1;
	else
		usage();
	optind = 2;
	while ((ch = getopt(argc, argv, "a:b:c:H:n:T:")) != -1) {
		switch (ch) {
		case 'a': parse_addr(optarg); break;
		case 'b': body = optarg; break;
		case 'c': conc = atoi(optarg); break;
		case 'H':
			if (nhdrs == MAX_HDRS)
				usage();
			hdrs[nhdrs++] = optarg;
			break;
		case 'n': n = atoi(optarg); break;
		case 'T': limit_us = (uint64_t)atoi(optarg) * 1000000; break;
		default: usage();
		}
	}
	if (n <= 0 || body == NULL || addr.sin_port == 0)
		usage();
	/* streams: all at once, but at most 256 connecting at a time */
	if (conc <= 0)
		conc = cancel_mode ? 1 : n;
	ss = calloc(n, sizeof(*ss));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ss == NULL || epfd == -1) {
		perror("setup");
		return 1;
	}
	t0 = now_us(CLOCK_MONOTONIC);
	while (finished < n) {
		int k;

		while (opened < n && active < conc && heads_pending < 256) {
			if (stream_open(&ss[opened], opened) == -1) {
				ss[opened].done = 1;
				finished++;
			} else
				active++;
			opened++;
		}
		if (limit_us && now_us(CLOCK_MONOTONIC) - t0 > limit_us) {
			fprintf(stderr, "streamload: gave up after %llu s: %d of %d requests "
			    "unfinished\n", (unsigned long long)(limit_us / 1000000), n - finished, n);
			for (int i = 0; i < opened; i++)
				if (!ss[i].done) {
					ss[i].status = -ss[i].status;	/* not ok */
					stream_finish(&ss[i]);
				}
			for (int i = opened; i < n; i++)
				ss[i].done = 1;
			break;
		}
		k = epoll_wait(epfd, evs, 256, 1000);
		for (int i = 0; i < k; i++) {
			struct stream *s = evs[i].data.ptr;

			if (s->done)
				continue;
			if (evs[i].events & EPOLLOUT)
				stream_write(s);
			if (!s->done && (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
				stream_read(s);
			if (s->done) {
				active--;
				finished++;
			}
		}
	}
	for (int i = 0; i < n; i++) {
		struct stream *s = &ss[i];
		int ok = s->status >= 200 && s->status < 300;

		if (!ok)
			bad++;
		if (cancel_mode)
			printf("C bench-cancel-%d %llu %lld %d\n", s->idx,
			    (unsigned long long)s->close_unix,
			    s->t_first ? (long long)(s->t_first - s->t_start) : -1LL, s->status);
		else
			printf("S %d %d %lld %llu %ld %llu\n", s->idx, s->status,
			    s->t_first ? (long long)(s->t_first - s->t_start) : -1LL,
			    (unsigned long long)(s->t_end - s->t_start), s->events,
			    (unsigned long long)(s->t_start - t0));
	}
	printf("T %llu\n", (unsigned long long)(now_us(CLOCK_MONOTONIC) - t0));
	return bad ? 1 : 0;
}
