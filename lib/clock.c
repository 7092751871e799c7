/* clock.c - the pgx clock: Unix epoch seconds with microsecond precision */
#include <math.h>
#include <time.h>
#include "pgx.h"

double pgx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return pgx_round_us((double)ts.tv_sec + ts.tv_nsec / 1e9);
}

double pgx_round_us(double t)
{
	return round(t * 1e6) / 1e6;
}
