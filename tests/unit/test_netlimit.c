/*
 * test_netlimit: agentd's end of the network-wide key limits
 * (src/agentd/netlimit.c) with the real limiter and loop, the master's
 * channel stubbed.
 *
 * Twice a second agentd sends KEY_LOAD with its own counts of every key
 * that has any (even when none has: the master answers every report);
 * KEY_REMOTE counts are added to the local ones at admission; a key that a
 * complete KEY_REMOTE no longer lists gets its remote counts zeroed (a
 * key listed in an earlier frame of the same snapshot is kept); a
 * standalone agentd sends nothing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admission.h"
#include "agentd.h"
#include "check.h"
#include "limiter.h"
#include "netlimit.h"

static struct agentd ad;
static int nloads;
static size_t last_nkeys;
static uint64_t last_requests;

struct limiter *
admission_limiter(struct agentd *a)
{
	if (a->limiter == NULL)
		a->limiter = limiter_new(LIMITER_MAX_KEYS);
	return a->limiter;
}

int
ipc_conn_send(struct ipc_conn *conn, const struct ipc_msg *msg,
    const struct ipc_encode_lists *lists)
{
	CHECK(conn == &ad.master && msg->type == IPC_KEY_LOAD);
	nloads++;
	last_nkeys = lists->nkey_loads;
	last_requests = lists->nkey_loads ? lists->key_loads[0].requests : 0;
	return 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One KEY_REMOTE frame naming keys[0..n) with `requests` requests each. */
static void
remote(const char *const *keys, size_t n, uint64_t requests, int more)
{
	struct ipc_key_load loads[4];
	struct ipc_encode_lists lists = { .key_loads = loads, .nkey_loads = n };
	struct ipc_msg msg = { .type = IPC_KEY_REMOTE }, out;
	struct buf b;

	for (size_t i = 0; i < n; i++)
		loads[i] = (struct ipc_key_load){ { keys[i], strlen(keys[i]) }, requests, 0, 0, 0, 0 };
	msg.u.key_remote.more = (uint8_t)more;
	buf_init(&b, 0);
	CHECK(ipc_encode(&b, &msg, &lists) == 0);
	CHECK(ipc_decode(buf_head(&b), b.len, &out, NULL) == (ssize_t)b.len);
	netlimit_remote(&ad, &out);
	buf_free(&b);
}

/* 1 if one request of key admits under rpm 600 (and ends at once). */
static int
admits(const char *key)
{
	struct apikey_limits lim = { .rpm = 600 };
	struct limiter_refusal why;
	uint32_t ref;

	if (limiter_admit(admission_limiter(&ad), key, strlen(key), &lim, now_ms(), &ref, &why) != 0)
		return 0;
	limiter_done(ad.limiter, ref);
	return 1;
}

int
main(void)
{
	static const char *const alice[] = { "alice" }, *const bob[] = { "bob" };
	static const char *const both[] = { "alice", "bob" };
	struct tl_config conf;

	memset(&conf, 0, sizeof(conf));
	conf.database.url = "postgresql://x/y";
	ad.conf = &conf;
	ad.loop = h2o_evloop_create();
	ad.master_open = 1;
	buf_init(&ad.master.queue, 0);
	netlimit_init(&ad);

	/* a report goes every interval, empty or not */
	h2o_evloop_run(ad.loop, NETLIMIT_INTERVAL_MS + 100);
	CHECK(nloads >= 1 && last_nkeys == 0);
	CHECK(admits("carol"));
	nloads = 0;
	while (nloads == 0)
		h2o_evloop_run(ad.loop, NETLIMIT_INTERVAL_MS + 100);
	CHECK(last_nkeys == 1 && last_requests == 1);

	/* remote counts add up to the limit: refused */
	remote(both, 2, 600, 0);
	CHECK(!admits("alice") && !admits("bob"));
	/* a snapshot in two frames: alice in the first is kept */
	remote(alice, 1, 600, 1);
	CHECK(!admits("bob")); /* not complete yet: bob still counted */
	remote(NULL, 0, 0, 0);
	CHECK(!admits("alice"));
	CHECK(admits("bob")); /* gone from the complete snapshot: zeroed */
	/* an empty snapshot zeroes alice too */
	remote(NULL, 0, 0, 0);
	CHECK(admits("alice"));
	remote(bob, 1, 599, 0);
	CHECK(!admits("bob")); /* its own one plus 599 */

	netlimit_free();
	limiter_free(ad.limiter);
	buf_free(&ad.master.queue);
	h2o_evloop_destroy(ad.loop);

	/* standalone: nothing is sent, KEY_REMOTE is ignored */
	memset(&ad, 0, sizeof(ad));
	conf.database.url = NULL;
	ad.conf = &conf;
	ad.loop = h2o_evloop_create();
	ad.master_open = 1;
	netlimit_init(&ad);
	nloads = 0;
	h2o_evloop_run(ad.loop, NETLIMIT_INTERVAL_MS + 100);
	CHECK(nloads == 0);
	remote(alice, 1, 600, 0);
	CHECK(ad.limiter == NULL);
	netlimit_free();
	h2o_evloop_destroy(ad.loop);

	if (failures > 0) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("test_netlimit: all checks passed\n");
	return 0;
}
