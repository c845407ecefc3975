/*
 * test_limiter: limiter.h's contract with a fake clock.
 *
 * Windows slide second by second; bursts are refused with the
 * Retry-After that lets the next request in; in flight is counted until
 * done; budgets roll over at UTC midnight and on the 1st (Dec 31 -> Jan 1,
 * February of common and leap years, 30-day months); the table never
 * grows past its bound and evicts the least recently used idle name;
 * other nodes' counts add to the local ones while fresh; the headers are
 * OpenAI's.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "limiter.h"

#define S(sec) ((int64_t)(sec) * 1000)

/* unix seconds (UTC) */
#define DEC31_235930 1798761570LL
#define JAN01_000000 1798761600LL
#define FEB28_2027_1200 1803816000LL
#define MAR01_2027 1803859200LL
#define FEB28_2028_1200 1835352000LL
#define FEB29_2028 1835395200LL
#define APR30_2026_2300 1777590000LL

static struct limiter_refusal why;
static uint32_t ref;

static int
admit(struct limiter *l, const char *name, const struct apikey_limits *lim, int64_t now)
{
	return limiter_admit(l, name, strlen(name), lim, now, &ref, &why);
}

static int
admit_done(struct limiter *l, const char *name, const struct apikey_limits *lim, int64_t now)
{
	if (admit(l, name, lim, now) != 0)
		return -1;
	limiter_done(l, ref);
	return 0;
}

static void
test_duration(void)
{
	static const struct { uint64_t ms; const char *s; } cases[] = {
		{ 0, "0s" }, { 17, "17ms" }, { 999, "999ms" }, { 1000, "1s" }, { 1500, "1.5s" },
		{ 59017, "59.017s" }, { 1010, "1.01s" }, { 60000, "1m0s" }, { 61000, "1m1s" },
		{ 360000, "6m0s" }, { 3600000, "1h0m0s" }, { 3723000, "1h2m3s" },
		{ UINT64_MAX, "999999h" },
	};
	char out[24];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = ratelimit_duration(out, sizeof(out), cases[i].ms);

		if (cases[i].ms == UINT64_MAX) {
			CHECK(n < sizeof(out) && strncmp(out, cases[i].s, 7) == 0);
			continue;
		}
		if (strcmp(out, cases[i].s) != 0 || n != strlen(out))
			fprintf(stderr, "duration %llu: got %s want %s\n",
			    (unsigned long long)cases[i].ms, out, cases[i].s);
		CHECK(strcmp(out, cases[i].s) == 0 && n == strlen(out));
	}
}

static void
test_rpm_burst(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .rpm = 5 };
	int64_t t0 = S(1000000) + 500;

	for (int i = 0; i < 5; i++)
		CHECK(admit_done(l, "k", &lim, t0) == 0);
	CHECK(admit(l, "k", &lim, t0) == -1);
	CHECK(why.which == LIMITER_RPM && why.limit == 5 && why.used == 5);
	/* the burst's second leaves the window at t0 - 500 + 60 s */
	CHECK(why.retry_after_s == 60);
	CHECK(admit(l, "k", &lim, t0 + S(59)) == -1);
	CHECK(why.retry_after_s == 1);
	CHECK(admit(l, "k", &lim, t0 + S(59) + 499) == -1);
	for (int i = 0; i < 5; i++)
		CHECK(admit_done(l, "k", &lim, t0 + S(59) + 500) == 0);
	CHECK(admit(l, "k", &lim, t0 + S(59) + 500) == -1);
	limiter_free(l);
}

static void
test_rpm_sliding(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .rpm = 5 };
	int64_t t0 = S(2000000);
	struct limiter_counts c;

	/* one request in each of the seconds 0..4 */
	for (int i = 0; i < 5; i++)
		CHECK(admit_done(l, "k", &lim, t0 + S(i)) == 0);
	CHECK(admit(l, "k", &lim, t0 + S(10) + 250) == -1);
	CHECK(why.retry_after_s == 50); /* 49.75 s until second 0 leaves */
	CHECK(admit_done(l, "k", &lim, t0 + S(60)) == 0); /* second 0 left */
	CHECK(admit(l, "k", &lim, t0 + S(60)) == -1);
	CHECK(why.retry_after_s == 1);  /* second 1 leaves at 61 */
	CHECK(admit_done(l, "k", &lim, t0 + S(61)) == 0);
	CHECK(limiter_counts(l, "k", 1, t0 + S(61), &c) == 1 && c.requests == 5);
	/* a long pause empties the window at once */
	CHECK(limiter_counts(l, "k", 1, t0 + S(500), &c) == 1 && c.requests == 0);
	for (int i = 0; i < 5; i++)
		CHECK(admit_done(l, "k", &lim, t0 + S(500)) == 0);
	/* the clock stepping back counts into the newest second, no harm */
	CHECK(admit(l, "k", &lim, t0 + S(495)) == -1);
	CHECK(why.retry_after_s >= 1);
	limiter_free(l);
}

static void
test_in_flight(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .max_in_flight = 2 };
	uint32_t a, b;
	int64_t t = S(3000000);

	CHECK(admit(l, "k", &lim, t) == 0);
	a = ref;
	CHECK(admit(l, "k", &lim, t) == 0);
	b = ref;
	CHECK(admit(l, "k", &lim, t) == -1);
	CHECK(why.which == LIMITER_IN_FLIGHT && why.retry_after_s == 1 && why.used == 2);
	limiter_done(l, a);
	CHECK(admit(l, "k", &lim, t) == 0);
	limiter_done(l, ref);
	limiter_done(l, b);
	/* done() past zero does not wrap */
	limiter_done(l, b);
	CHECK(admit(l, "k", &lim, t) == 0);
	CHECK(admit(l, "k", &lim, t) == 0);
	CHECK(admit(l, "k", &lim, t) == -1);
	/* another key is not affected */
	CHECK(admit(l, "other", &lim, t) == 0);
	limiter_free(l);
}

static void
test_tpm(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .tpm = 100 };
	int64_t t0 = S(4000000);

	CHECK(admit_done(l, "k", &lim, t0) == 0);
	limiter_charge(l, "k", 1, 60, t0);
	CHECK(admit_done(l, "k", &lim, t0 + S(10)) == 0); /* 60 < 100 */
	limiter_charge(l, "k", 1, 60, t0 + S(10));
	CHECK(admit(l, "k", &lim, t0 + S(20)) == -1);
	CHECK(why.which == LIMITER_TPM && why.used == 120 && why.limit == 100);
	/* 21 tokens must leave: second 0's 60 do, at 60 s */
	CHECK(why.retry_after_s == 40);
	CHECK(admit_done(l, "k", &lim, t0 + S(60)) == 0);
	/* one huge usage: refused until it leaves the window */
	limiter_charge(l, "k", 1, 1000000, t0 + S(61));
	CHECK(admit(l, "k", &lim, t0 + S(70)) == -1 && why.retry_after_s == 51);
	CHECK(admit_done(l, "k", &lim, t0 + S(121)) == 0);
	limiter_free(l);
}

static void
test_budgets(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits day = { .tokens_per_day = 1000 };
	struct apikey_limits month = { .tokens_per_month = 5000 };
	struct limiter_counts c;

	/* Dec 31 -> Jan 1: the day and the month (and the year) end */
	CHECK(admit_done(l, "d", &day, S(DEC31_235930)) == 0);
	limiter_charge(l, "d", 1, 1000, S(DEC31_235930));
	CHECK(admit(l, "d", &day, S(DEC31_235930) + 400) == -1);
	CHECK(why.which == LIMITER_DAY && why.retry_after_s == 30);
	CHECK(admit(l, "d", &day, S(JAN01_000000) - 1) == -1);
	CHECK(admit_done(l, "d", &day, S(JAN01_000000)) == 0);

	limiter_charge(l, "m", 1, 5000, S(DEC31_235930));
	CHECK(admit(l, "m", &month, S(DEC31_235930)) == -1);
	CHECK(why.which == LIMITER_MONTH && why.retry_after_s == 30 && why.used == 5000);
	CHECK(admit_done(l, "m", &month, S(JAN01_000000)) == 0);
	CHECK(limiter_counts(l, "m", 1, S(JAN01_000000), &c) == 1 && c.tokens_month == 0);

	/* month lengths: February 2027 has 28 days, 2028 29, April 30 */
	limiter_charge(l, "f7", 2, 5000, S(FEB28_2027_1200));
	CHECK(admit(l, "f7", &month, S(FEB28_2027_1200)) == -1);
	CHECK(why.retry_after_s == 12 * 3600);
	CHECK(admit_done(l, "f7", &month, S(MAR01_2027)) == 0);
	limiter_charge(l, "f8", 2, 5000, S(FEB28_2028_1200));
	CHECK(admit(l, "f8", &month, S(FEB28_2028_1200)) == -1);
	CHECK(why.retry_after_s == 36 * 3600);
	/* Feb 29, 2028: a new day, the same month */
	CHECK(admit(l, "f8", &month, S(FEB29_2028)) == -1);
	CHECK(limiter_counts(l, "f8", 2, S(FEB29_2028), &c) == 1 && c.tokens_month == 5000 &&
	    c.tokens_day == 0);
	CHECK(admit_done(l, "f8", &month, S(FEB29_2028 + 86400)) == 0);
	limiter_charge(l, "ap", 2, 5000, S(APR30_2026_2300));
	CHECK(admit(l, "ap", &month, S(APR30_2026_2300)) == -1 && why.retry_after_s == 3600);

	/* both budgets: the month is reported first */
	{
		struct apikey_limits both = { .tokens_per_day = 10, .tokens_per_month = 10 };

		limiter_charge(l, "b", 1, 10, S(FEB28_2027_1200));
		CHECK(admit(l, "b", &both, S(FEB28_2027_1200)) == -1 &&
		    why.which == LIMITER_MONTH);
	}
	limiter_free(l);
}

static void
test_eviction(void)
{
	struct limiter *l = limiter_new(4);
	struct apikey_limits lim = { .rpm = 100 };
	struct limiter_counts c;
	char name[16];
	uint32_t refs[4];
	int64_t t = S(5000000);

	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "key-%d", i);
		CHECK(admit_done(l, name, &lim, t + i) == 0);
		CHECK(limiter_size(l) <= 4);
	}
	/* a, b, c, d; a used again last: e evicts b */
	CHECK(admit_done(l, "a", &lim, t + S(10)) == 0);
	CHECK(admit_done(l, "b", &lim, t + S(11)) == 0);
	CHECK(admit_done(l, "c", &lim, t + S(12)) == 0);
	CHECK(admit_done(l, "d", &lim, t + S(13)) == 0);
	CHECK(admit_done(l, "a", &lim, t + S(14)) == 0);
	CHECK(admit_done(l, "e", &lim, t + S(15)) == 0);
	CHECK(limiter_counts(l, "b", 1, t + S(15), &c) == 0);
	CHECK(limiter_counts(l, "a", 1, t + S(15), &c) == 1 && c.requests == 2);
	CHECK(limiter_size(l) == 4);

	/* names with requests in flight are never evicted */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "busy-%d", i);
		CHECK(admit(l, name, &lim, t + S(20)) == 0);
		refs[i] = ref;
	}
	CHECK(admit(l, "new", &lim, t + S(21)) == -1 && why.which == LIMITER_FULL &&
	    why.retry_after_s == 1);
	limiter_done(l, refs[2]);
	CHECK(admit(l, "new", &lim, t + S(22)) == 0);
	CHECK(limiter_counts(l, "busy-2", 6, t + S(22), &c) == 0);
	CHECK(limiter_counts(l, "busy-1", 6, t + S(22), &c) == 1 && c.in_flight == 1);
	/* invalid names are not tracked */
	CHECK(limiter_admit(l, "", 0, &lim, t, &ref, &why) == -1);
	CHECK(limiter_admit(l, "0123456789012345678901234567890123456789012345678901234567890123x",
	    65, &lim, t, &ref, &why) == -1);
	limiter_free(l);
}

static void
test_remote(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .rpm = 10, .max_in_flight = 5, .tokens_per_day = 1000 };
	struct limiter_remote r = { .requests = 8 };
	int64_t t0 = S(DEC31_235930 - 100);

	limiter_set_remote(l, "k", 1, &r, t0);
	CHECK(admit_done(l, "k", &lim, t0) == 0);
	CHECK(admit_done(l, "k", &lim, t0 + 100) == 0);
	CHECK(admit(l, "k", &lim, t0 + 200) == -1 && why.which == LIMITER_RPM &&
	    why.used == 10);
	CHECK(why.retry_after_s == 60); /* our own two leave at t0 + 60 s */
	/* the other nodes alone fill it: retry soon */
	r.requests = 20;
	limiter_set_remote(l, "k", 1, &r, t0 + 300);
	CHECK(admit(l, "k", &lim, t0 + 300) == -1 && why.retry_after_s == 1 && why.used == 22);
	/* stale remote counts are ignored */
	CHECK(admit_done(l, "k", &lim, t0 + 300 + LIMITER_REMOTE_TTL_MS + 1) == 0);

	/* in flight elsewhere */
	r = (struct limiter_remote){ .in_flight = 5 };
	limiter_set_remote(l, "k", 1, &r, t0 + S(10));
	CHECK(admit(l, "k", &lim, t0 + S(10)) == -1 && why.which == LIMITER_IN_FLIGHT);

	/* tokens today elsewhere: until the day ends (Dec 31 23:59:30 + 100 s) */
	r = (struct limiter_remote){ .tokens_day = 900 };
	limiter_set_remote(l, "k", 1, &r, t0 + S(20));
	limiter_charge(l, "k", 1, 100, t0 + S(20));
	CHECK(admit(l, "k", &lim, t0 + S(20)) == -1 && why.which == LIMITER_DAY &&
	    why.used == 1000 && why.retry_after_s == 110);
	/* set at 23:59:50, fresh at 00:00:01, but it was yesterday's count */
	limiter_set_remote(l, "k", 1, &r, S(JAN01_000000) - S(2));
	CHECK(admit(l, "k", &lim, S(JAN01_000000) - S(1)) == -1);
	CHECK(admit_done(l, "k", &lim, S(JAN01_000000) + S(1)) == 0);
	limiter_free(l);
}

/* The limiter's values as the worker writes them, through the IPC's
 * packed form. */
static void
headers(struct limiter *l, uint32_t r, const struct apikey_limits *lim, int64_t now,
    struct ratelimit_headers *h)
{
	struct ratelimit rl, back;
	uint8_t packed[RATELIMIT_PACKED_LEN];
	size_t n;

	limiter_ratelimit(l, r, lim, now, &rl);
	n = ratelimit_pack(&rl, packed);
	if (rl.have == 0) {
		CHECK(n == 0);
		h->n = 0;
		return;
	}
	CHECK(n == RATELIMIT_PACKED_LEN);
	CHECK(ratelimit_unpack((const char *)packed, n, &back) == 0);
	/* a frame is not trusted: any other length or unknown bits are refused */
	CHECK(ratelimit_unpack((const char *)packed, n - 1, &back) == -1);
	packed[0] |= 0x80;
	CHECK(ratelimit_unpack((const char *)packed, n, &back) == -1);
	packed[0] &= 0x7f;
	CHECK(ratelimit_unpack((const char *)packed, n, &back) == 0);
	ratelimit_headers(&back, h);
}

static void
test_headers(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .rpm = 5, .tpm = 1000 };
	struct apikey_limits only_rpm = { .rpm = 5 };
	struct ratelimit_headers h;
	int64_t t0 = S(6000000);

	CHECK(admit_done(l, "k", &lim, t0) == 0);
	limiter_charge(l, "k", 1, 300, t0);
	CHECK(admit(l, "k", &lim, t0 + S(30) + 983) == 0);
	headers(l, ref, &lim, t0 + S(30) + 983, &h);
	CHECK(h.n == 6);
	CHECK(strcmp(h.name[0], "x-ratelimit-limit-requests") == 0 && strcmp(h.value[0], "5") == 0);
	CHECK(strcmp(h.name[1], "x-ratelimit-remaining-requests") == 0 &&
	    strcmp(h.value[1], "3") == 0 && h.value_len[1] == 1);
	/* the newest request leaves at t0 + 90 s */
	CHECK(strcmp(h.name[2], "x-ratelimit-reset-requests") == 0 &&
	    strcmp(h.value[2], "59.017s") == 0);
	CHECK(strcmp(h.name[3], "x-ratelimit-limit-tokens") == 0 &&
	    strcmp(h.value[3], "1000") == 0);
	CHECK(strcmp(h.name[4], "x-ratelimit-remaining-tokens") == 0 &&
	    strcmp(h.value[4], "700") == 0);
	CHECK(strcmp(h.name[5], "x-ratelimit-reset-tokens") == 0 &&
	    strcmp(h.value[5], "29.017s") == 0);
	limiter_done(l, ref);
	headers(l, ref, &only_rpm, t0 + S(100), &h);
	CHECK(h.n == 3 && strcmp(h.value[1], "5") == 0 && strcmp(h.value[2], "0s") == 0);
	for (size_t i = 0; i < h.n; i++)
		CHECK(h.name_len[i] == strlen(h.name[i]) &&
		    ratelimit_header_name(h.name[i], h.name_len[i]));
	/* a backend's are replaced, whatever their case; others are not */
	CHECK(ratelimit_header_name("X-RateLimit-Reset-Tokens", 24));
	CHECK(!ratelimit_header_name("x-ratelimit", 11) && !ratelimit_header_name("x-request-id", 12));
	/* numbers of every width, as printf writes them */
	static const uint32_t limits[] = { 1, 9, 10, 99, 100, 101, 12345, 100000000, UINT32_MAX };
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		struct apikey_limits big = { .rpm = limits[i], .tpm = limits[i] };
		char want[24], name[8];

		snprintf(name, sizeof(name), "n%zu", i);
		CHECK(admit(l, name, &big, t0) == 0);
		headers(l, ref, &big, t0, &h);
		snprintf(want, sizeof(want), "%u", limits[i]);
		CHECK(h.n == 6 && strcmp(h.value[0], want) == 0 && h.value_len[0] == strlen(want));
		snprintf(want, sizeof(want), "%u", limits[i] - 1);
		CHECK(strcmp(h.value[1], want) == 0 && h.value_len[1] == strlen(want));
		limiter_done(l, ref);
	}
	limiter_free(l);
}

static void
count_each(void *arg, const char *name, size_t len, const struct limiter_counts *c)
{
	uint64_t *sum = arg;

	CHECK(len == 1 && (name[0] == 'a' || name[0] == 'c'));
	*sum += c->requests * 1000 + c->tokens + c->in_flight * 1000000;
}

static void
test_each(void)
{
	struct limiter *l = limiter_new(16);
	struct apikey_limits lim = { .rpm = 10 };
	int64_t t0 = S(7000000);
	uint64_t sum = 0;

	CHECK(admit_done(l, "a", &lim, t0) == 0);
	CHECK(admit_done(l, "b", &lim, t0) == 0);
	CHECK(admit(l, "c", &lim, t0 + S(61)) == 0);
	limiter_charge(l, "a", 1, 7, t0 + S(30));
	/* at 61 s: a has its 7 tokens (and budget), b nothing left, c in flight */
	CHECK(limiter_each(l, t0 + S(61), count_each, &sum) == 2);
	CHECK(sum == 7 + 1001000);
	limiter_free(l);
}

int
main(void)
{
	test_duration();
	test_rpm_burst();
	test_rpm_sliding();
	test_in_flight();
	test_tpm();
	test_budgets();
	test_eviction();
	test_remote();
	test_headers();
	test_each();
	if (failures > 0) {
		fprintf(stderr, "test_limiter: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_limiter: ok\n");
	return 0;
}
