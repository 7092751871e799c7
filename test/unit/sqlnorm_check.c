/* sqlnorm_check.c - lib/sqlnorm.c against sqlnorm_cases.tsv (statement, shape) */
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"
#include "cases.h"

static char *shape(const struct unit_case *c)
{
	return pgx_sql_normalize(c->col[0], strlen(c->col[0]));
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 2, shape);
}
