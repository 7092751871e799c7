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
	return unit_main(argc, argv, 2, flattened);
}
