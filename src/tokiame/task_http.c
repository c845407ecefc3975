/*
 * task_http: the backend side of a task, as libcurl sees it: the request
 * (URL, method, headers, the streamed body) and the callbacks that turn
 * the backend's answer into ResponseHead and chunk messages. See task.h
 * for the bounds and the back-pressure; the callbacks only fill buffers,
 * set flags and wake the Serve call's data source (agent_priv.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent_priv.h"
#include "backend.h"
#include "cred_headers.h"
#include "log.h"
#include "task.h"
#include "task_up_wire.h"
#include "xmalloc.h"

#define TASK_CHUNK_MAX (64 * 1024)        /* largest chunk message we send */
#define RH_MAX_HEADERS 100
#define REQ_MAX_HEADERS 100
#define REQ_MAX_HEADER_BYTES (64 * 1024)

static const char *
rid(const struct task *t)
{
	return t->request_id != NULL && t->request_id[0] != '\0' ? t->request_id : "-";
}

/* ---- request headers ---------------------------------------------------- */

static int
header_dropped(const char *name)
{
	static const char *const drop[] = { "host", "connection", "keep-alive",
		"proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer",
		"transfer-encoding", "upgrade", "http2-settings", "content-length", "expect" };

	if (name[0] == ':' || cred_header_is(name, strlen(name)))
		return 1;
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (strcasecmp(name, drop[i]) == 0)
			return 1;
	return 0;
}

static int
token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isgraph((unsigned char)*s) || *s == ':')
			return 0;
	return 1;
}

static int
value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

static struct curl_slist *
add_header(struct curl_slist *l, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), n = nl + vl + 3;
	char small[512], *line = n <= sizeof(small) ? small : xmalloc(n);
	struct curl_slist *r;

	/* "Name;" is how curl sends a header with an empty value */
	memcpy(line, name, nl);
	if (vl == 0) {
		line[nl] = ';';
		line[nl + 1] = '\0';
	} else {
		line[nl] = ':';
		line[nl + 1] = ' ';
		memcpy(line + nl + 2, value, vl + 1);
	}
	r = curl_slist_append(l, line);
	if (r == NULL)
		fatalx("curl_slist_append: out of memory");
	/* curl keeps its own copy; ours may hold a client's secret */
	secure_wipe(line, n);
	if (line != small)
		free(line);
	return r;
}

void
task_build_request_headers(struct task *t, const Tokilake__V1__TaskOffer *o)
{
	struct curl_slist *l = NULL;
	size_t count = 0, bytes = 0;
	int has_accept = 0;

	for (size_t i = 0; i < o->n_headers; i++) {
		const char *n = o->headers[i]->name, *v = o->headers[i]->value;
		if (header_dropped(n))
			continue;
		if (!token_ok(n) || !value_ok(v)) {
			log_debug("task %llu: header with a bad name or value dropped",
			    (unsigned long long)t->id);
			continue;
		}
		if (++count > REQ_MAX_HEADERS || (bytes += strlen(n) + strlen(v)) > REQ_MAX_HEADER_BYTES) {
			log_debug("task %llu: too many request headers, the rest dropped",
			    (unsigned long long)t->id);
			break;
		}
		if (strcasecmp(n, "x-request-id") == 0)
			t->has_request_id_header = 1;
		if (strcasecmp(n, "accept") == 0)
			has_accept = 1;
		l = add_header(l, n, v);
	}
	if (!t->has_request_id_header && t->request_id[0] != '\0' && value_ok(t->request_id))
		l = add_header(l, "X-Request-Id", t->request_id);
	/* "Name:" removes a header curl would add: no 100-continue round
	 * trip (the body is already on its way), no Accept the client did
	 * not send */
	if ((l = curl_slist_append(l, "Expect:")) == NULL ||
	    (!has_accept && (l = curl_slist_append(l, "Accept:")) == NULL))
		fatalx("curl_slist_append: out of memory");
	t->req_headers = l;
}

/* ---- curl callbacks: they only fill buffers and set flags ---------------- */

static size_t
on_request_body(char *dst, size_t size, size_t n, void *ud)
{
	struct task *t = ud;
	size_t cap = size * n, k;

	if (t->body.len > 0) {
		k = t->body.len < cap ? t->body.len : cap;
		memcpy(dst, buf_head(&t->body), k);
		buf_consume(&t->body, k);
		/* passed on: let the server send that much more */
		h2_call_consume(&t->call, k);
		return k;
	}
	if (t->body_end)
		return 0;
	t->send_paused = 1;
	return CURL_READFUNC_PAUSE;
}

static int
send_head(struct task *t)
{
	Tokilake__V1__TaskUp up = TOKILAKE__V1__TASK_UP__INIT;
	Tokilake__V1__ResponseHead h = TOKILAKE__V1__RESPONSE_HEAD__INIT;
	Tokilake__V1__Header hs_small[16], *hp_small[16];
	Tokilake__V1__Header *hs = hs_small, **hp = hp_small;
	const char *p = (const char *)buf_head(&t->rh);
	int rc;

	if (t->nrh > 16) {
		hs = xcalloc(t->nrh, sizeof(*hs));
		hp = xcalloc(t->nrh, sizeof(*hp));
	}
	/* t->rh is complete now: its "name\0value\0" pairs do not move */
	for (size_t i = 0; i < t->nrh; i++) {
		tokilake__v1__header__init(&hs[i]);
		hs[i].name = (char *)p;
		p += strlen(p) + 1;
		hs[i].value = (char *)p;
		p += strlen(p) + 1;
		hp[i] = &hs[i];
	}
	h.status = t->status;
	h.n_headers = t->nrh;
	h.headers = hp;
	up.msg_case = TOKILAKE__V1__TASK_UP__MSG_HEAD;
	up.head = &h;
	rc = h2_call_send(&t->call, &up.base);
	if (hp != hp_small) {
		free(hp);
		free(hs);
	}
	if (rc == -1) {
		snprintf(t->local_error, sizeof(t->local_error), "cannot queue the response head");
		return -1;
	}
	t->head_sent = 1;
	return 0;
}

static void
clear_response_headers(struct task *t)
{
	buf_reset(&t->rh);
	t->nrh = 0;
}

/* name: lower case, nl bytes */
static int
response_header_dropped(const char *name, size_t nl)
{
	static const struct { const char *s; size_t n; } drop[] = { { "connection", 10 },
		{ "keep-alive", 10 }, { "proxy-connection", 16 }, { "te", 2 }, { "trailer", 7 },
		{ "transfer-encoding", 17 }, { "upgrade", 7 } };

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (nl == drop[i].n && memcmp(name, drop[i].s, nl) == 0)
			return 1;
	return 0;
}

static size_t
on_response_header(char *p, size_t size, size_t n, void *ud)
{
	struct task *t = ud;
	size_t len = size * n, ll = len, nl, vs;
	const char *colon;

	if (t->head_sent)
		return len; /* trailers of a chunked answer: not relayed */
	while (ll > 0 && (p[ll - 1] == '\r' || p[ll - 1] == '\n'))
		ll--;
	if (ll == 0) {
		/* the end of a header block */
		if (t->status >= 100 && t->status < 200) {
			clear_response_headers(t);
			t->status = 0;
			return len;
		}
		if (t->status == 0) {
			snprintf(t->local_error, sizeof(t->local_error), "no HTTP status line");
			return 0;
		}
		return send_head(t) == 0 ? len : 0;
	}
	if (ll > 5 && memcmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', ll);
		unsigned st = 0;
		clear_response_headers(t);
		if (sp != NULL && (size_t)(sp - p) + 4 <= ll && isdigit((unsigned char)sp[1]) &&
		    isdigit((unsigned char)sp[2]) && isdigit((unsigned char)sp[3]))
			st = (unsigned)((sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0'));
		if (st < 100 || st > 599) {
			snprintf(t->local_error, sizeof(t->local_error), "bad HTTP status line");
			return 0;
		}
		t->status = st;
		return len;
	}
	if (p[0] == ' ' || p[0] == '\t')
		return len; /* obsolete line folding: dropped */
	if ((colon = memchr(p, ':', ll)) == NULL || colon == p)
		return len;
	nl = (size_t)(colon - p);
	vs = nl + 1;
	while (vs < ll && (p[vs] == ' ' || p[vs] == '\t'))
		vs++;
	if (t->nrh >= RH_MAX_HEADERS || t->rh.len + ll + 2 > RH_MAX_BYTES) {
		snprintf(t->local_error, sizeof(t->local_error),
		    "the answer has more than %d headers or %d bytes of them", RH_MAX_HEADERS,
		    RH_MAX_BYTES);
		return 0;
	}
	/* "name\0value\0", the name in lower case, straight into t->rh */
	char *d = (char *)buf_reserve(&t->rh, nl + 1 + (ll - vs) + 1);
	if (d == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < nl; i++)
		d[i] = (char)tolower((unsigned char)p[i]);
	if (response_header_dropped(d, nl))
		return len;
	d[nl] = '\0';
	memcpy(d + nl + 1, p + vs, ll - vs);
	d[nl + 1 + (ll - vs)] = '\0';
	buf_commit(&t->rh, nl + 1 + (ll - vs) + 1);
	t->nrh++;
	return len;
}

static size_t
on_response_body(char *p, size_t size, size_t n, void *ud)
{
	struct task *t = ud;
	size_t len = size * n;

	if (!t->head_sent && send_head(t) == -1)
		return 0;
	if (t->call.out.len >= TASK_OUT_HIGH) {
		/* the server's window is full: stop reading the backend */
		t->recv_paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	for (size_t off = 0; off < len;) {
		size_t k = len - off < TASK_CHUNK_MAX ? len - off : TASK_CHUNK_MAX;
		/* TaskUp { chunk } written directly: no generic protobuf pack */
		if (task_up_append_chunk(&t->call.out, (const uint8_t *)p + off, k) == -1) {
			snprintf(t->local_error, sizeof(t->local_error), "output buffer overflow");
			return 0;
		}
		off += k;
	}
	h2_call_wake(&t->call);
	t->resp_bytes += len;
	return len;
}

/* ---- backend request ---------------------------------------------------- */

int
task_method_ok(const char *m)
{
	size_t n = strlen(m);

	if (n == 0 || n > 16)
		return 0;
	for (; *m != '\0'; m++)
		if (*m < 'A' || *m > 'Z')
			return 0;
	return 1;
}

void
task_start_backend(struct task *t)
{
	struct agent *ag = t->ag;
	struct backend *b = t->be;
	struct curl_slist *hdrs;
	char *url;

	t->easy = curl_socks_easy(&ag->cs);
	url = backend_url(b->conf->url, t->path);
	hdrs = t->req_headers;
	if (b->conf->api_key != NULL && b->conf->api_key[0] != '\0') {
		size_t n = strlen(b->conf->api_key) + 8;
		char *v = xmalloc(n);
		snprintf(v, n, "Bearer %s", b->conf->api_key);
		t->req_headers = hdrs = add_header(hdrs, "Authorization", v);
		secure_wipe(v, n);
		free(v);
	}
	/* both: curl copies the parsed parts and never prints the URL back */
	curl_easy_setopt(t->easy, CURLOPT_URL, url);
	if ((t->url_slot = url_cache_get(&b->urls, url)) != NULL)
		curl_easy_setopt(t->easy, CURLOPT_CURLU, t->url_slot->uh);
	free(url);
	curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, &t->owner);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	/* backends are reached directly, never through http_proxy & co.
	 * (also spares curl five getenv() calls per request) */
	curl_easy_setopt(t->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)TASK_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, on_response_header);
	curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_response_body);
	curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
	if (strcmp(t->method, "GET") == 0 && t->body_size == 0)
		curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
	else if (strcmp(t->method, "HEAD") == 0 && t->body_size == 0)
		curl_easy_setopt(t->easy, CURLOPT_NOBODY, 1L);
	else if (strcmp(t->method, "POST") == 0 || strcmp(t->method, "PUT") == 0 ||
	    strcmp(t->method, "PATCH") == 0 || t->body_size > 0) {
		curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
		if (t->body_inline) {
			/* all here: curl sends it with the headers, in one write;
			 * t->body stays untouched until the transfer is done */
			curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, (char *)buf_head(&t->body));
		} else {
			curl_easy_setopt(t->easy, CURLOPT_READFUNCTION, on_request_body);
			curl_easy_setopt(t->easy, CURLOPT_READDATA, t);
		}
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_size);
		if (strcmp(t->method, "POST") != 0)
			curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, t->method);
	} else
		curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, t->method);

	t->has_slot = 1;
	b->running++;
	ag->in_flight++;
	t->state = TASK_RUNNING;
	if (curl_multi_add_handle(ag->multi, t->easy) != CURLM_OK)
		fatalx("curl_multi_add_handle failed");
	log_debug("task %llu [%s] %s %s model \"%s\" -> backend %s", (unsigned long long)t->id,
	    rid(t), t->method, t->path, t->model, b->name);
}
