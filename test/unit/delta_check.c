/* delta_check.c - pgx-poll's delta.c against delta_cases.tsv (first
 * sample, second sample, restarted or same, the second sample after
 * delta_apply), samples as JSON arrays of records */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"
#include "cases.h"

static char *rates(const struct unit_case *c)
{
	json_error_t jerr;
	json_t *first = json_loads(c->col[0], 0, &jerr), *second;
	size_t len;
	char *out;

	if (!first)
		return unit_fmt("bad first sample: %s", jerr.text);
	if (!(second = json_loads(c->col[1], 0, &jerr))) {
		json_decref(first);
		return unit_fmt("bad second sample: %s", jerr.text);
	}
	delta_apply(first, second, 100, strcmp(c->col[2], "restarted") ? 100 : 200, 10);
	out = pgx_record_dumps(second, &len);
	json_decref(first);
	json_decref(second);
	return out;
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 4, rates);
}
