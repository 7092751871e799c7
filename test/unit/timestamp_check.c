/* timestamp_check.c - pgx-logmatch's timestamp.c against timestamp_cases.tsv
 * (format, text, epoch seconds or "error: why") */
#include <string.h>
#include "pgx.h"
#include "logmatch.h"
#include "cases.h"

static char *epoch(const struct unit_case *c)
{
	const char *format = strcmp(c->col[0], "postgres") ? c->col[0] : TS_FORMAT_POSTGRES;
	char why[256];
	double t;

	if (!ts_parse(format, c->col[1], strlen(c->col[1]), &t, why, sizeof(why)))
		return unit_fmt("error: %s", why);
	return unit_fmt("%.6f", t);
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 3, epoch);
}
