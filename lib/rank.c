/* rank.c - a quantile by nearest rank, in linear time */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "pgx_sql.h"

static void swap_double(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (0-based): quickselect with a three-way
 * partition, so runs of equal values cost nothing. */
static double kth_smallest(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n;	/* v[lo..hi) holds the k-th */

	while (hi - lo > 1) {
		double pivot = v[lo + (hi - lo) / 2];
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			if (v[i] < pivot)
				swap_double(&v[lt++], &v[i++]);
			else if (v[i] > pivot)
				swap_double(&v[i], &v[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	return v[lo];
}

#define SAMPLE 1024	/* values sampled to bracket the k-th (Floyd and Rivest) */
#define SAMPLE_MARGIN 64	/* ranks of the sample on either side: ~4 standard deviations */

/* The k-th smallest when a sample brackets it: the sample's values of
 * ranks just below and above k's give two bounds; one pass counts the
 * values below the lower, the next keeps those between the two (the k-th
 * among them, nearly always: else false), so quickselect works on a few
 * thousand instead of all.  The two passes' comparisons mostly go one way:
 * they cost a fraction of a partition's. */
static bool kth_bracketed(double *v, size_t n, size_t k, double *out)
{
	double sample[SAMPLE], low, high;
	size_t at = (size_t)((double)k / (double)n * SAMPLE), below = 0, kept = 0, nans = 0;

	for (size_t i = 0; i < SAMPLE; i++)
		sample[i] = v[i * (n / SAMPLE)];
	low = kth_smallest(sample, SAMPLE, at > SAMPLE_MARGIN ? at - SAMPLE_MARGIN : 0);
	high = kth_smallest(sample, SAMPLE, at + SAMPLE_MARGIN < SAMPLE ? at + SAMPLE_MARGIN : SAMPLE - 1);
	for (size_t i = 0; i < n; i++) {
		below += v[i] < low;
		kept += v[i] >= low && v[i] <= high;
		nans += isnan(v[i]);
	}
	if (nans || k < below || k >= below + kept)	/* a NAN orders nowhere: as before */
		return false;
	kept = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] >= low && v[i] <= high)
			v[kept++] = v[i];
	*out = kth_smallest(v, kept, k - below);
	return true;
}

double pgx_nearest_rank(double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n), k = rank ? rank - 1 : 0;
	double kth;

	if (n >= 16 * SAMPLE && kth_bracketed(v, n, k, &kth))
		return kth;
	return kth_smallest(v, n, k);
}

/* digits[.digits] with up to 15 digits is m / 10^k, both exact, so the
 * division's correct rounding is strtod's; anything else goes to strtod. */
bool pgx_list_number(const char **p, double *out)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
					1e11, 1e12, 1e13, 1e14, 1e15 };
	const char *s = *p;
	uint64_t m = 0;
	int digits = 0, decimals = 0;
	char *end;

	for (; *s >= '0' && *s <= '9' && digits < 15; s++, digits++)
		m = m * 10 + (uint64_t)(*s - '0');
	if (*s == '.' && digits)
		for (s++; *s >= '0' && *s <= '9' && digits < 15; s++, digits++, decimals++)
			m = m * 10 + (uint64_t)(*s - '0');
	if (digits && (*s == ',' || *s == ']' || !*s) && s[-1] != '.') {
		*out = (double)m / pow10[decimals];
		*p = s;
		return true;
	}
	*out = strtod(*p, &end);
	if (end == *p || (*end != ',' && *end != ']' && *end))
		return false;
	*p = end;
	return true;
}
