/* rank.c - a quantile by nearest rank, in linear time */
#include <math.h>
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

double pgx_nearest_rank(double *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p * (double)n);

	return kth_smallest(v, n, rank ? rank - 1 : 0);
}
