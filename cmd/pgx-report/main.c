/* pgx-report - render startup profiles: table, JSON, SVG; compare; aggregate runs */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "analysis.h"
#include "report.h"
#include "slowlog.h"
#include "health.h"

enum format { FORMAT_DEFAULT, FORMAT_TABLE, FORMAT_JSON, FORMAT_SVG, FORMAT_PROM, FORMAT_HTML };
enum mode { MODE_REPORT, MODE_COMPARE, MODE_AGGREGATE, MODE_DIFF };

struct options {
	enum mode mode;
	enum format format;
	struct view_opts view;
	struct compare_opts cmp;
	const char *output;
	bool top_given;
	char **operands;
	size_t noperands;
};

static void usage(void)
{
	printf("%s renders pgx records: startup profiles, health snapshots, slow logs, plans.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]... [FILE]...\n"
	       "  %s compare [OPTION]... BASE CANDIDATE\n"
	       "  %s aggregate [OPTION]... [FILE]...\n"
	       "  %s slowlog [OPTION]... [FILE]...   (see %s slowlog --help)\n"
	       "  %s diff [OPTION]... BEFORE AFTER\n"
	       "  %s alerts [OPTION]... [FILE]...   (see %s alerts --help)\n"
	       "  %s plan [OPTION]... [FILE]...     (see %s plan --help)\n"
	       "  %s workload [OPTION]... [FILE]... (see %s workload --help)\n\n"
	       "Reads NDJSON records from FILEs or standard input.  A startup profile\n"
	       "is made of pgx-timeline's phase, script, extension, bgworker, process\n"
	       "and profile records; other records are ignored.\n"
	       "compare shows what changed between two profiles (runs or aggregates);\n"
	       "aggregate turns the profiles of N runs into median/min/max records.\n"
	       "Health snapshots (pgx-poll records) render as table, json, prom\n"
	       "(Prometheus text) or html (time series when there are several\n"
	       "samples; a directory FILE stands for its files); diff compares two\n"
	       "snapshots; alerts evaluates the alert catalog and sends notifications.\n\n"
	       "Options:\n"
	       "  -f, --format=FORMAT       table (default), json, svg (profiles),\n"
	       "                            prom or html (health snapshots)\n"
	       "  -v, --verbose             add the traced processes (table and json)\n"
	       "  -n, --top=N               init scripts shown in the table (default 5);\n"
	       "                            health: rows or series per list (table 5,\n"
	       "                            html 20, prom 50)\n"
	       "  -o, --output=FILE         write to FILE instead of standard output\n"
	       "      --fail-if-slower=PCT  compare: exit 1 when the candidate is more\n"
	       "                            than PCT percent slower than the base\n"
	       "      --phase=NAME          compare: apply --fail-if-slower to phase NAME\n"
	       "                            instead of the total\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Exit status: 0 ok, 1 slower than --fail-if-slower allows, 2 usage error,\n"
	       "3 input unreadable or invalid or without a profile, 6 write error,\n"
	       "7 a profile never became ready, 130 interrupted.\n",
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(),
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(),
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname());
}

static enum format parse_format(const char *arg)
{
	if (!strcmp(arg, "table"))
		return FORMAT_TABLE;
	if (!strcmp(arg, "json"))
		return FORMAT_JSON;
	if (!strcmp(arg, "svg"))
		return FORMAT_SVG;
	if (!strcmp(arg, "prom"))
		return FORMAT_PROM;
	if (!strcmp(arg, "html"))
		return FORMAT_HTML;
	pgx_usage_error("invalid value \"%s\" for option --format (use table, json, svg, prom or html)", arg);
}

static double parse_pct(const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end != arg && *end == '%')
		end++;
	if (errno || end == arg || *end || !isfinite(v) || v < 0 || v > 100000)
		pgx_usage_error("invalid value \"%s\" for option --fail-if-slower (a percentage, 0 or more)", arg);
	return v;
}

/* The first operand may name a subcommand; "./compare" is a file. */
static void set_mode(struct options *o)
{
	if (!o->noperands)
		return;
	if (!strcmp(o->operands[0], "compare"))
		o->mode = MODE_COMPARE;
	else if (!strcmp(o->operands[0], "aggregate"))
		o->mode = MODE_AGGREGATE;
	else if (!strcmp(o->operands[0], "diff"))
		o->mode = MODE_DIFF;
	else if (!strcmp(o->operands[0], "slowlog"))
		pgx_usage_error("slowlog comes first: %s slowlog [OPTION]... [FILE]...", pgx_progname());
	if (o->mode != MODE_REPORT) {
		o->operands++;
		o->noperands--;
	}
}

static void check_options(const struct options *o)
{
	if (o->mode != MODE_COMPARE && (o->cmp.fail_if_slower >= 0 || o->cmp.phase))
		pgx_usage_error("--fail-if-slower and --phase apply to compare only");
	if (o->mode == MODE_COMPARE && o->noperands != 2)
		pgx_usage_error("compare takes two files, BASE and CANDIDATE");
	if (o->mode == MODE_COMPARE && o->format == FORMAT_SVG)
		pgx_usage_error("compare writes a table or json, not svg");
	if (o->mode == MODE_DIFF && (o->noperands != 2 || o->format == FORMAT_SVG || o->format >= FORMAT_PROM))
		pgx_usage_error("diff takes two snapshot files, BEFORE and AFTER, and writes a table or json");
	if (o->mode == MODE_COMPARE && o->format >= FORMAT_PROM)
		pgx_usage_error("compare writes a table or json");
	if (o->mode == MODE_AGGREGATE && o->format != FORMAT_DEFAULT)
		pgx_usage_error("aggregate writes NDJSON records; --format does not apply");
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "top", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "fail-if-slower", required_argument, NULL, 1 },
		{ "phase", required_argument, NULL, 2 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->view.top = 5;
	o->cmp.fail_if_slower = -1;
	while ((c = getopt_long(argc, argv, "f:vn:o:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->format = parse_format(optarg); break;
		case 'v': o->view.verbose = true; break;
		case 'n':
			if (!pgx_parse_long(optarg, "--top", 0, 1000000, &o->view.top))
				pgx_usage_error(NULL);
			o->top_given = true;
			break;
		case 'o': o->output = optarg; break;
		case 1: o->cmp.fail_if_slower = parse_pct(optarg); break;
		case 2: o->cmp.phase = optarg; break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: pgx_usage_error(NULL);
		}
	}
	o->operands = argv + optind;
	o->noperands = (size_t)(argc - optind);
	set_mode(o);
	check_options(o);
	o->cmp.json = o->format == FORMAT_JSON;
}

/* A partial profile (no profile record) is incomplete input as well. */
static int input_status(const struct profile_set *set)
{
	bool partial = false;

	if (pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	for (size_t i = 0; i < set->items.n; i++)
		partial |= set->items.v[i]->partial;
	return set->unreadable || set->input_errors || partial ? PGX_EXIT_INPUT : PGX_EXIT_OK;
}

/* 0 when there is a profile to show, else the exit status. */
static int load_some(struct profile_set *set, char *const *files, size_t nfiles)
{
	profiles_load(set, files, nfiles);
	if (set->items.n)
		return PGX_EXIT_OK;
	if (pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	pgx_error("no profile record in %s (pgx-report reads the output of pgx-timeline)",
		  nfiles == 0 ? "stdin" : nfiles == 1 ? files[0] : "the input files");
	return PGX_EXIT_INPUT;
}

static void render(const struct profile *p, const struct options *o, bool first)
{
	json_t *doc;

	switch (o->format) {
	case FORMAT_JSON:
		doc = json_document(p, &o->view);
		json_dumpf(doc, stdout, JSON_COMPACT | JSON_REAL_PRECISION(16));
		putchar('\n');
		json_decref(doc);
		break;
	case FORMAT_SVG:
		svg_render(stdout, p, &o->view);
		break;
	default:
		if (!first)
			putchar('\n');
		table_render(stdout, p, &o->view);
	}
}

/* Load every operand, then open the output (so a failed run leaves -o FILE
 * alone): 0, or the exit status to return. */
static int load_for_output(struct profile_set *set, const struct options *o)
{
	int status = load_some(set, o->operands, o->noperands);

	if (!status && !pgx_output_to(o->output))
		status = PGX_EXIT_OUTPUT;
	return status;
}

/* A health snapshot (pgx-poll records present), else -1: a startup profile. */
static int run_health(const struct options *o)
{
	static const enum health_format hf[] = {
		[FORMAT_DEFAULT] = HF_TABLE, [FORMAT_TABLE] = HF_TABLE, [FORMAT_JSON] = HF_JSON,
		[FORMAT_SVG] = HF_TABLE, [FORMAT_PROM] = HF_PROM, [FORMAT_HTML] = HF_HTML,
	};

	return health_report(o->operands, o->noperands, hf[o->format], o->format != FORMAT_DEFAULT,
			     o->output, o->top_given ? o->view.top : -1);
}

static int run_report(const struct options *o)
{
	struct profile_set set = { 0 };
	int status = o->format == FORMAT_SVG ? -1 : run_health(o);

	if (status >= 0)
		return status;
	status = load_for_output(&set, o);

	if (status)
		goto cleanup;
	if (o->format == FORMAT_SVG && set.items.n > 1)
		pgx_warn("%zu profiles in the input; the SVG shows the first", set.items.n);
	status = input_status(&set);
	for (size_t i = 0; i < set.items.n && (i == 0 || o->format != FORMAT_SVG); i++) {
		const struct profile *p = set.items.v[i];

		render(p, o, i == 0);
		if (!p->has_total && status == PGX_EXIT_OK)
			status = PGX_EXIT_FAILED;
	}
cleanup:
	profiles_free(&set);
	return status;
}

static int run_compare(const struct options *o)
{
	struct profile_set base = { 0 }, cand = { 0 };
	int status = load_some(&base, o->operands, 1);

	if (status || (status = load_some(&cand, o->operands + 1, 1)))
		goto cleanup;
	if (base.items.n > 1 || cand.items.n > 1)
		pgx_warn("several profiles in one file; comparing the first of each");
	if (!pgx_output_to(o->output)) {
		status = PGX_EXIT_OUTPUT;
		goto cleanup;
	}
	status = compare_profiles(stdout, base.items.v[0], cand.items.v[0], &o->cmp);
	if (status == PGX_EXIT_OK || status == PGX_EXIT_FINDINGS) {
		int in = input_status(&base) ? input_status(&base) : input_status(&cand);

		status = in ? in : status;
	}
cleanup:
	profiles_free(&base);
	profiles_free(&cand);
	return status;
}

/* A run that never became ready is in the aggregate's warnings, and fails it:
 * a median of the runs that worked must not pass a CI gate. */
static int failed_runs_status(const struct profile_set *set)
{
	int status = PGX_EXIT_OK;

	for (size_t i = 0; i < set->items.n; i++)
		if (!set->items.v[i]->has_total) {
			pgx_error("%s: the subject never became ready", set->items.v[i]->input);
			status = PGX_EXIT_FAILED;
		}
	return status;
}

static int run_aggregate(const struct options *o)
{
	struct profile_set set = { 0 };
	int status = load_for_output(&set, o);

	if (!status)
		status = aggregate_emit(&set) ? input_status(&set) : PGX_EXIT_OUTPUT;
	if (!status)
		status = failed_runs_status(&set);
	profiles_free(&set);
	return status;
}

/* Ctrl-C in a pipeline reaches every stage: the ones before pgx-report
 * stop and write their last records (pgx-timeline its profile), which
 * pgx-report must still read.  The end of the stream stops it then, not
 * the signal; only a terminal on stdin means the user is talking to it. */
static void keep_reading_on_sigint(void)
{
	if (!isatty(STDIN_FILENO))
		signal(SIGINT, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	int status;

	pgx_init(argv[0]);
	if (argc > 1 && !strcmp(argv[1], "plan"))	/* plan.c, its own options */
		return pgx_finish(plan_main(argc - 1, argv + 1));
	if (argc > 1 && !strcmp(argv[1], "workload"))	/* workload.c, its own options */
		return pgx_finish(workload_main(argc - 1, argv + 1));
	if (argc > 1 && !strcmp(argv[1], "slowlog"))	/* its own options */
		return pgx_finish(slowlog_main(argc - 1, argv + 1));
	if (argc > 1 && !strcmp(argv[1], "alerts"))	/* its own options too */
		return pgx_finish(alerts_main(argc - 1, argv + 1));
	parse_options(argc, argv, &opts);
	pgx_install_signals();
	keep_reading_on_sigint();
	switch (opts.mode) {
	case MODE_DIFF:
		status = health_diff(opts.operands[0], opts.operands[1],
				     opts.format == FORMAT_JSON, opts.output);
		break;
	case MODE_COMPARE: status = run_compare(&opts); break;
	case MODE_AGGREGATE: status = run_aggregate(&opts); break;
	default: status = run_report(&opts); break;
	}
	return pgx_finish(status);
}
