/* expr_check.c - pgx-report's alert expressions (alerts_expr.c) against
 * expr_cases.tsv (eval or cond, record, expression, expected).  The
 * record's ts is "now" for age(); no earlier samples: rate() and since()
 * are unknown unless the record carries NAME_per_s. */
#include <math.h>
#include <string.h>
#include "pgx.h"
#include "alerts.h"
#include "health.h"
#include "cases.h"

static char *number(double v)
{
	if (isnan(v))
		return pgx_xstrdup("unknown");
	return unit_fmt("%.10g", v);
}

static char *evaluate(const struct unit_case *c)
{
	json_error_t jerr;
	json_t *rec = json_loads(c->col[1], 0, &jerr);
	struct expr_ctx cx = { .rec = rec, .now = pgx_rec_ts(rec) };
	char err[200] = "";
	double v;
	char *out;
	int r;

	if (!rec)
		return unit_fmt("bad record: %s", jerr.text);
	if (!strcmp(c->col[0], "cond")) {
		r = expr_cond(c->col[2], &cx, err, sizeof(err));
		out = r < 0 ? unit_fmt("error: %s", err) : pgx_xstrdup(r ? "true" : "false");
	} else {
		out = expr_eval(c->col[2], &cx, &v, err, sizeof(err)) ? number(v) : unit_fmt("error: %s", err);
	}
	json_decref(rec);
	return out;
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 4, evaluate);
}
