/* pqline_check.c - lib/pq.c's one-line libpq messages against
 * pqline_cases.tsv (libpq's message, the line pgx shows) */
#include "pgx.h"
#include "pgx_pq.h"
#include "cases.h"

static char *flattened(const struct unit_case *c)
{
	return pgx_pq_one_line(c->col[0]);
}

int main(int argc, char **argv)
{
	pgx_init(argv[0]);
	if (argc != 2)
		pgx_usage_error("expected the cases file");
	return unit_run_table(argv[1], 2, flattened);
}
