/*
 * test_log_burst: the bound on lines strangers can cause. The first
 * per_window events of a window pass, the rest are counted; the count is
 * handed out once the window is over and only once; a new window lets
 * lines through again; a quiet spell starts a fresh window.
 */
#include "config.h"

#include <stdio.h>

#include "log_burst.h"
#include "check.h"

int
main(void)
{
	struct log_burst b = LOG_BURST_INIT(3, 1000);
	int passed = 0;

	/* 10 events within one window starting at t=5000: 3 lines, 7 counted */
	for (int i = 0; i < 10; i++)
		passed += log_burst_allow(&b, 5000 + (uint64_t)i);
	CHECK(passed == 3);
	CHECK(b.suppressed == 7);
	/* not before the window is over */
	CHECK(log_burst_take(&b, 5999) == 0);
	CHECK(log_burst_take(&b, 6000) == 7);
	CHECK(log_burst_take(&b, 6001) == 0);

	/* the next window lets lines through again, and counts what it holds back */
	passed = 0;
	for (int i = 0; i < 5; i++)
		passed += log_burst_allow(&b, 6500 + (uint64_t)i);
	CHECK(passed == 3);
	CHECK(log_burst_take(&b, 7000) == 0); /* the window began at 6500 */
	CHECK(log_burst_take(&b, 7500) == 2);

	/* after a quiet hour: a fresh window, nothing held */
	CHECK(log_burst_allow(&b, 3600000));
	CHECK(b.suppressed == 0);
	CHECK(log_burst_take(&b, 3700000) == 0);

	/* a window of its own per struct */
	{
		struct log_burst other = LOG_BURST_INIT(1, 50);

		CHECK(log_burst_allow(&other, 0) == 1);
		CHECK(log_burst_allow(&other, 10) == 0);
		CHECK(log_burst_allow(&other, 60) == 1);
		CHECK(log_burst_take(&other, 110) == 1);
	}
	if (failures == 0)
		printf("test_log_burst: all checks passed\n");
	return failures != 0;
}
