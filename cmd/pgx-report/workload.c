/* workload.c - pgx-report workload: client versus server time */
#include "pgx.h"
#include "analysis.h"

int workload_main(int argc, char **argv)
{
	return PGX_EXIT_OK;
}
