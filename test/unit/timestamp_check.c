/* timestamp_check.c - pgx-logmatch's timestamp.c against timestamp_cases.tsv
 * (format, text, epoch seconds or "error: why"); a format written
 * "exact:FORMAT" prints the seconds with every digit of the double */
#include <string.h>
#include "pgx.h"
#include "logmatch.h"
#include "cases.h"

static char *epoch(const struct unit_case *c)
{
	bool exact = !strncmp(c->col[0], "exact:", 6);
	const char *format = c->col[0] + (exact ? 6 : 0);
	char why[256];
	double t;

	if (!strcmp(format, "postgres"))
		format = TS_FORMAT_POSTGRES;
	if (!ts_parse(format, c->col[1], strlen(c->col[1]), &t, why, sizeof(why)))
		return unit_fmt("error: %s", why);
	return unit_fmt(exact ? "%.17g" : "%.6f", t);
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 3, epoch);
}
