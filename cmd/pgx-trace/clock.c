/* clock.c - kernel timestamps (CLOCK_BOOTTIME) to Unix epoch seconds
 *
 * The offset is read once at start: CLOCK_REALTIME is sampled before and
 * after CLOCK_BOOTTIME, many times, and the tightest bracket wins. Both
 * clocks are slewed alike by NTP, so only a step of the wall clock during
 * the trace is not followed. */
#include <time.h>
#include "pgx_trace.h"

#define CALIBRATION_ROUNDS 64

static long long ns_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void trace_clock__calibrate(struct trace_clock *clk)
{
	long long before, boot, after, best = -1;
	int i;

	for (i = 0; i < CALIBRATION_ROUNDS; i++) {
		before = ns_of(CLOCK_REALTIME);
		boot = ns_of(CLOCK_BOOTTIME);
		after = ns_of(CLOCK_REALTIME);
		if (best >= 0 && after - before >= best)
			continue;
		best = after - before;
		clk->offset_ns = before + best / 2 - boot;
		clk->error_ns = best / 2 + 1;
	}
}

double trace_clock__epoch(const struct trace_clock *clk, unsigned long long boot_ns)
{
	long long ns = (long long)boot_ns + clk->offset_ns;

	return (double)(ns / 1000000000LL) + (double)(ns % 1000000000LL) / 1e9;
}
