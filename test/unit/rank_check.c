/* rank_check.c - pgx_nearest_rank (lib/rank.c) against a sort, on the
 * arrays rank_cases.tsv describes (size, shape, p, expected "same"): the
 * k-th smallest, by sampled bracketing or by quickselect, is the sorted
 * array's value at rank ceil(p * n). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"
#include "cases.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A deterministic generator: the same case is the same array every run. */
static unsigned long long next_random(unsigned long long *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 33;
}

static bool fill(double *v, size_t n, const char *shape)
{
	unsigned long long state = n;

	for (size_t i = 0; i < n; i++) {
		unsigned long long r = next_random(&state);
		if (!strcmp(shape, "uniform"))
			v[i] = (double)(r % 1000000) / 1000;
		else if (!strcmp(shape, "few"))	/* seven distinct values */
			v[i] = (double)(r % 7);
		else if (!strcmp(shape, "ascending"))
			v[i] = (double)i;
		else if (!strcmp(shape, "descending"))
			v[i] = (double)(n - i);
		else if (!strcmp(shape, "equal"))
			v[i] = 42;
		else if (!strcmp(shape, "periodic"))	/* a block repeated, as a bench log is */
			v[i] = (double)((i % 1000) * 7 % 1000);
		else if (!strcmp(shape, "tail"))	/* a long tail: most fast, some very slow */
			v[i] = r % 100 ? (double)(r % 50) / 10 : (double)(r % 100000);
		else if (!strcmp(shape, "sampled-bias"))	/* the sampled stride all large */
			v[i] = i % (n / 1024) ? (double)(r % 100) : 1e6 + (double)i;
		else
			return false;
	}
	return true;
}

static char *check(const struct unit_case *c)
{
	size_t n = strtoul(c->col[0], NULL, 10), rank;
	double p = strtod(c->col[2], NULL), got, want;
	double *v = pgx_xmalloc(n * sizeof(double)), *sorted = pgx_xmalloc(n * sizeof(double));
	char *out;

	if (!fill(v, n, c->col[1])) {
		out = unit_fmt("unknown shape %s", c->col[1]);
	} else {
		memcpy(sorted, v, n * sizeof(double));
		qsort(sorted, n, sizeof(double), cmp_double);
		rank = (size_t)ceil(p * (double)n);
		want = sorted[rank ? rank - 1 : 0];
		got = pgx_nearest_rank(v, n, p);
		out = got == want ? pgx_xstrdup("same") : unit_fmt("%.17g, the sort says %.17g", got, want);
	}
	free(v);
	free(sorted);
	return out;
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 4, check);
}
