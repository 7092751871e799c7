/* plan.c - pgx-report plan: the plan records of pgx-poll --explain as an
 * indented tree, estimated against actual rows, the misestimates marked */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "report.h"
#include "analysis.h"

struct plan_opts {
	bool json;
	double factor;		/* rows off by more than this: a misestimate */
};

/* One node, flattened in tree order. */
struct plan_node {
	int depth;
	char *label;
	json_t *src;		/* borrowed from the record */
	double plan_rows, actual_rows, loops, time_ms, cost;
	bool has_actual;
	double off;		/* actual/estimate, > 1 under-, < 1 overestimated */
	bool misestimate;
};

struct plan_view {
	VEC(struct plan_node) nodes;
	size_t misestimates;
};

static void plan_usage(void)
{
	printf("%s plan renders the plan records of pgx-poll --explain.\n\n"
	       "Usage:\n"
	       "  %s plan [OPTION]... [FILE]...\n\n"
	       "Each plan is an indented tree of its nodes with estimated and actual rows\n"
	       "per loop, the time spent in the node and its children, and the loops;\n"
	       "nodes whose rows are off by more than the misestimate factor are marked\n"
	       "with \"!!\" and listed after the tree.\n\n"
	       "Options:\n"
	       "  -f, --format=FORMAT       table (default) or json\n"
	       "      --misestimate=FACTOR  rows off by more than FACTOR times (default 10)\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Exit status: 0 ok, 2 usage error, 3 input unreadable or without a plan record,\n"
	       "6 write error.\n",
	       pgx_progname(), pgx_progname());
}

static double num(const json_t *obj, const char *key, double dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

static char *node_label(const json_t *n)
{
	const char *type = pgx_rec_str(n, "Node Type"), *v;
	char buf[512];
	size_t len = 0;

#define ADD(...) (len += (size_t)snprintf(buf + len, len < sizeof(buf) ? sizeof(buf) - len : 0, __VA_ARGS__))
	if ((v = pgx_rec_str(n, "Subplan Name")))
		ADD("[%s] ", v);
	if ((v = pgx_rec_str(n, "Join Type")) && strcmp(v, "Inner"))
		ADD("%s ", v);
	ADD("%s", type ? type : "?");
	if ((v = pgx_rec_str(n, "Operation")) && type && !strcmp(type, "ModifyTable"))
		ADD(" %s", v);
	if ((v = pgx_rec_str(n, "Index Name")))
		ADD(" using %s", v);
	if ((v = pgx_rec_str(n, "Relation Name"))) {
		const char *alias = pgx_rec_str(n, "Alias");
		ADD(" on %s", v);
		if (alias && strcmp(alias, v))
			ADD(" %s", alias);
	}
	if ((v = pgx_rec_str(n, "CTE Name")))
		ADD(" on %s", v);
	if ((v = pgx_rec_str(n, "Function Name")))
		ADD(" on %s", v);
#undef ADD
	return pgx_xstrdup(buf);
}

static void judge(struct plan_node *pn, double factor)
{
	double est = pn->plan_rows > 0 ? pn->plan_rows : 1;
	double act = pn->actual_rows > 0 ? pn->actual_rows : 1;

	if (!pn->has_actual || pn->loops <= 0)
		return;
	pn->off = act / est;
	pn->misestimate = pn->off > factor || 1 / pn->off > factor;
}

static void flatten(struct plan_view *v, json_t *n, int depth, const struct plan_opts *o)
{
	struct plan_node *pn = vec_push(&v->nodes);
	json_t *kids = json_object_get(n, "Plans"), *kid;
	size_t i;

	pn->depth = depth;
	pn->src = n;
	pn->label = node_label(n);
	pn->plan_rows = num(n, "Plan Rows", 0);
	pn->cost = num(n, "Total Cost", -1);
	pn->has_actual = json_object_get(n, "Actual Rows") != NULL;
	pn->actual_rows = num(n, "Actual Rows", -1);
	pn->loops = num(n, "Actual Loops", -1);
	pn->time_ms = pn->has_actual ? num(n, "Actual Total Time", 0) * (pn->loops > 0 ? pn->loops : 0) : -1;
	judge(pn, o->factor);
	v->misestimates += pn->misestimate;
	json_array_foreach(kids, i, kid)
		flatten(v, kid, depth + 1, o);
}

static void view_free(struct plan_view *v)
{
	for (size_t i = 0; i < v->nodes.n; i++)
		free(v->nodes.v[i].label);
	free(v->nodes.v);
}

static const char *fmt_off(char buf[FMT_LEN], const struct plan_node *pn)
{
	if (!pn->has_actual || pn->loops <= 0)
		return strcpy(buf, pn->has_actual ? "never run" : "-");
	if (pn->off < 1.05 && pn->off > 1 / 1.05)
		strcpy(buf, "~1x");
	else if (pn->off >= 1)
		snprintf(buf, FMT_LEN, "%.1fx under", pn->off);
	else
		snprintf(buf, FMT_LEN, "%.1fx over", 1 / pn->off);
	return buf;
}

/* Conditions under the node, where EXPLAIN puts them. */
static void put_details(FILE *f, const struct plan_node *pn, int indent)
{
	static const char *const keys[] = { "Index Cond", "Recheck Cond", "Hash Cond",
		"Merge Cond", "Join Filter", "Filter", "One-Time Filter" };
	json_t *removed = json_object_get(pn->src, "Rows Removed by Filter");

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v = pgx_rec_str(pn->src, keys[i]);
		if (v)
			fprintf(f, "     %*s%s: %s\n", indent, "", keys[i], v);
	}
	if (json_is_number(removed))
		fprintf(f, "     %*sRows Removed by Filter: %.0f\n", indent, "", json_number_value(removed));
}

static void render_header(FILE *f, const json_t *rec)
{
	const char *q = pgx_rec_str(rec, "query");
	const char *skipped = pgx_rec_str(rec, "analyze_skipped");
	double plan_s = num(rec, "planning_time_s", -1), exec_s = num(rec, "execution_time_s", -1);

	fprintf(f, "Plan of: ");
	put_trunc(f, q ? q : "?", 200);
	fputc('\n', f);

	if (exec_s >= 0)
		fprintf(f, "planning %.3f ms, execution %.3f ms, misestimate = rows off by more than the factor\n\n",
			plan_s * 1000, exec_s * 1000);
	else if (skipped)
		fprintf(f, "estimates only (ANALYZE skipped: %s): nothing was executed\n\n", skipped);
	else
		fprintf(f, "estimates only (--no-analyze): nothing was executed\n\n");
}

static void render_table(FILE *f, const json_t *rec, const struct plan_view *v, const struct plan_opts *o)
{
	size_t width = 4;
	char b1[FMT_LEN], b2[FMT_LEN];

	for (size_t i = 0; i < v->nodes.n; i++) {
		size_t w = utf8_width(v->nodes.v[i].label) + 3 * (size_t)v->nodes.v[i].depth + 3;
		width = w > width ? w : width;
	}
	width = width > 80 ? 80 : width;
	render_header(f, rec);
	fprintf(f, "   %-*s %12s %12s %14s %11s %7s\n", (int)width, "node", "est rows", "actual rows",
		"rows off", "time ms", "loops");
	for (size_t i = 0; i < v->nodes.n; i++) {
		const struct plan_node *pn = &v->nodes.v[i];
		char label[600];

		snprintf(label, sizeof(label), "%*s%s%s", 3 * pn->depth, "", pn->depth ? "-> " : "", pn->label);
		fprintf(f, "%s ", pn->misestimate ? "!!" : "  ");
		put_cell(f, label, width, false);
		fprintf(f, " %12.0f", pn->plan_rows);
		if (pn->has_actual) {
			snprintf(b2, FMT_LEN, "%.3f", pn->time_ms);
			fprintf(f, " %12.0f %14s %11s %7.0f\n", pn->actual_rows, fmt_off(b1, pn), b2, pn->loops);
		} else
			fprintf(f, " %12s %14s %11s %7s\n", "-", "-", "-", "-");
		put_details(f, pn, 3 * pn->depth + (pn->depth ? 3 : 0));
	}
	if (!v->misestimates)
		return;
	fprintf(f, "\nMisestimates (rows off by more than %gx):\n", o->factor);
	for (size_t i = 0; i < v->nodes.n; i++) {
		const struct plan_node *pn = &v->nodes.v[i];
		if (pn->misestimate)
			fprintf(f, "  !! %s: estimated %.0f rows, got %.0f (%s)\n", pn->label,
				pn->plan_rows, pn->actual_rows, fmt_off(b1, pn));
	}
}

static json_t *node_json(const struct plan_node *pn)
{
	json_t *n = json_pack("{s:i, s:s, s:f}", "depth", pn->depth, "node", pn->label,
			      "plan_rows", pn->plan_rows);

	if (pn->cost >= 0)
		json_object_set_new(n, "total_cost", json_real(pn->cost));
	if (pn->has_actual) {
		json_object_set_new(n, "actual_rows", json_real(pn->actual_rows));
		json_object_set_new(n, "loops", json_real(pn->loops));
		json_object_set_new(n, "time_ms", json_real(round_to(pn->time_ms, 0.001)));
		if (pn->loops > 0)
			json_object_set_new(n, "rows_off_factor", json_real(round_to(pn->off, 0.001)));
	}
	json_object_set_new(n, "misestimate", json_boolean(pn->misestimate));
	return n;
}

static bool render_json(const json_t *rec, const struct plan_view *v, const struct plan_opts *o)
{
	json_t *out = pgx_record_new("plan_view", pgx_rec_ts(rec)), *nodes = json_array();

	json_object_set(out, "query", json_object_get(rec, "query"));
	json_object_set_new(out, "misestimate_factor", json_real(o->factor));
	json_object_set_new(out, "misestimates", json_integer((json_int_t)v->misestimates));
	for (size_t i = 0; i < v->nodes.n; i++)
		json_array_append_new(nodes, node_json(&v->nodes.v[i]));
	json_object_set_new(out, "nodes", nodes);
	return pgx_emit(out);
}

static bool render_plan(const json_t *rec, const struct plan_opts *o, bool first)
{
	json_t *top = json_object_get(json_object_get(rec, "plan"), "Plan");
	struct plan_view v = { 0 };
	bool ok = true;

	if (!json_is_object(top)) {
		pgx_warn("a plan record without a plan (ts %.6f)", pgx_rec_ts(rec));
		return true;
	}
	flatten(&v, top, 0, o);
	if (o->json) {
		ok = render_json(rec, &v, o);
	} else {
		if (!first)
			putchar('\n');
		render_table(stdout, rec, &v, o);
	}
	view_free(&v);
	return ok;
}

static int read_plans(const char *path, const struct plan_opts *o, size_t *count)
{
	struct pgx_input *in = pgx_input_open(path, PGX_MAX_LINE_DEFAULT);
	struct pgx_line line;
	json_t *rec;
	int rc, status = PGX_EXIT_OK;

	if (!in)
		return PGX_EXIT_INPUT;
	while ((rc = pgx_ndjson_next(in, &line, &rec)) != 0 && !pgx_stop_signal) {
		if (rc < 0 || !rec)
			continue;
		const char *type = pgx_rec_type(rec);
		pgx_mask_json(rec);
		if (type && !strcmp(type, "plan") && !render_plan(rec, o, (*count)++ == 0))
			status = PGX_EXIT_OUTPUT;
		json_decref(rec);
		if (status)
			break;
	}
	if (!status && pgx_input_errors(in))
		status = PGX_EXIT_INPUT;
	pgx_input_close(in);
	return status;
}

static void parse_plan_options(int argc, char **argv, struct plan_opts *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "misestimate", required_argument, NULL, 1 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->factor = 10;
	while ((c = getopt_long(argc, argv, "f:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "table") && strcmp(optarg, "json"))
				pgx_usage_error("invalid value \"%s\" for option --format (use table or json)", optarg);
			o->json = !strcmp(optarg, "json");
			break;
		case 1:
			o->factor = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(o->factor) || o->factor < 1)
				pgx_usage_error("invalid value \"%s\" for option --misestimate (a factor, 1 or more)", optarg);
			break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(plan_usage);
		default: pgx_usage_error(NULL);
		}
	}
}

int plan_main(int argc, char **argv)
{
	struct plan_opts o = { 0 };
	size_t count = 0;
	int status = PGX_EXIT_OK;

	parse_plan_options(argc, argv, &o);
	pgx_install_signals();
	if (optind == argc)
		status = read_plans("-", &o, &count);
	for (int i = optind; i < argc && !status; i++)
		status = read_plans(argv[i], &o, &count);
	if (!status && !count) {
		pgx_error("no plan record in the input (pgx-report plan reads the output of pgx-poll --explain)");
		status = PGX_EXIT_INPUT;
	}
	return pgx_stop_signal ? PGX_EXIT_INTERRUPTED : status;
}
