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
#define FORMAT_BIT(f) (1u << (f))
#define TABLE_OR_JSON (FORMAT_BIT(FORMAT_DEFAULT) | FORMAT_BIT(FORMAT_TABLE) | FORMAT_BIT(FORMAT_JSON))

/* What the plain report reads: a format made for one kind says it; table
 * and json render either, and only then is the input looked at. */
enum input_kind { INPUT_EITHER, INPUT_PROFILE, INPUT_HEALTH };

static const struct format_info {
	const char *name;
	enum input_kind reads;
	enum health_format health;
} formats[] = {
	[FORMAT_DEFAULT] = { NULL, INPUT_EITHER, HF_TABLE },
	[FORMAT_TABLE] = { "table", INPUT_EITHER, HF_TABLE },
	[FORMAT_JSON] = { "json", INPUT_EITHER, HF_JSON },
	[FORMAT_SVG] = { "svg", INPUT_PROFILE, HF_TABLE },
	[FORMAT_PROM] = { "prom", INPUT_HEALTH, HF_PROM },
	[FORMAT_HTML] = { "html", INPUT_HEALTH, HF_HTML },
};

struct options;

/* Every mode, named by the first argument (own options) or the first
 * operand (the shared options below); the plain report has no name. */
struct mode {
	const char *name;
	int (*own_main)(int argc, char **argv);
	int (*run)(const struct options *o);
	unsigned formats;	/* FORMAT_BIT()s it writes */
	size_t operands;	/* how many it takes; 0: any */
	const char *misuse;	/* the usage error when formats or operands do not fit */
};
static const struct mode *find_mode(const char *name);

struct options {
	const struct mode *mode;
	enum format format;
	struct view_opts view;
	struct compare_opts cmp;
	const char *output;
	bool top_given;
	bool diff_all;		/* diff --all */
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
	       "  %s workload [OPTION]... [FILE]... (see %s workload --help)\n"
	       "  %s validate [OPTION]... [FILE]... (see %s validate --help)\n\n"
	       "Reads NDJSON records from FILEs or standard input.  A startup profile\n"
	       "is made of pgx-timeline's phase, script, extension, bgworker, process\n"
	       "and profile records; other records are ignored.\n"
	       "compare shows what changed between two profiles (runs or aggregates);\n"
	       "aggregate turns the profiles of N runs into median/min/max records.\n"
	       "Health snapshots (pgx-poll records) render as table, json, prom\n"
	       "(Prometheus text) or html (time series when there are several\n"
	       "samples; a directory FILE stands for its files); diff compares two\n"
	       "snapshots; alerts evaluates the alert catalog and sends notifications;\n"
	       "validate checks records against their definitions (share/pgx/records.yaml).\n\n"
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
	       "      --all                 diff: also the changes without news (null -> 0,\n"
	       "                            Top-N ranks, pgx's own statements, catalog\n"
	       "                            relations)\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Exit status: 0 ok, 1 slower than --fail-if-slower allows, 2 usage error,\n"
	       "3 input unreadable or invalid or without a profile, 6 write error,\n"
	       "7 a profile never became ready, 130 interrupted.\n",
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(),
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(),
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(),
	       pgx_progname(), pgx_progname());
}

static enum format parse_format(const char *arg)
{
	for (size_t f = FORMAT_TABLE; f < sizeof(formats) / sizeof(*formats); f++)
		if (!strcmp(arg, formats[f].name))
			return (enum format)f;
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

/* The first operand may name a mode; "./compare" is a file. */
static void set_mode(struct options *o)
{
	const struct mode *m = o->noperands ? find_mode(o->operands[0]) : NULL;

	o->mode = find_mode(NULL);
	if (!m)
		return;
	if (m->own_main)
		pgx_usage_error("%s comes first: %s %s [OPTION]... [FILE]...", m->name, pgx_progname(), m->name);
	o->mode = m;
	o->operands++;
	o->noperands--;
}

static void check_options(const struct options *o)
{
	const struct mode *m = o->mode;

	if (!(m->name && !strcmp(m->name, "compare")) && (o->cmp.fail_if_slower >= 0 || o->cmp.phase))
		pgx_usage_error("--fail-if-slower and --phase apply to compare only");
	if (!(m->name && !strcmp(m->name, "diff")) && o->diff_all)
		pgx_usage_error("--all applies to diff only");
	if ((m->operands && o->noperands != m->operands) || !(m->formats & FORMAT_BIT(o->format)))
		pgx_usage_error("%s", m->misuse);
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
		{ "all", no_argument, NULL, 3 },
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
		case 3: o->diff_all = true; break;
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
		pgx_json_write(stdout, doc);
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
	const struct format_info *f = &formats[o->format];

	return health_report(o->operands, o->noperands, f->health, f->reads == INPUT_HEALTH,
			     o->output, o->top_given ? o->view.top : -1);
}

static int run_report(const struct options *o)
{
	struct profile_set set = { 0 };
	int status = formats[o->format].reads == INPUT_PROFILE ? -1 : run_health(o);

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

static int run_diff(const struct options *o)
{
	return health_diff(o->operands[0], o->operands[1], o->format == FORMAT_JSON, o->diff_all,
			   o->output);
}

static const struct mode modes[] = {
	{ NULL, NULL, run_report, ~0u, 0, NULL },
	{ "compare", NULL, run_compare, TABLE_OR_JSON, 2,
	  "compare takes two files, BASE and CANDIDATE, and writes a table or json" },
	{ "aggregate", NULL, run_aggregate, FORMAT_BIT(FORMAT_DEFAULT), 0,
	  "aggregate writes NDJSON records; --format does not apply" },
	{ "diff", NULL, run_diff, TABLE_OR_JSON, 2,
	  "diff takes two snapshot files, BEFORE and AFTER, and writes a table or json" },
	{ "slowlog", slowlog_main, NULL, 0, 0, NULL },
	{ "alerts", alerts_main, NULL, 0, 0, NULL },
	{ "plan", plan_main, NULL, 0, 0, NULL },
	{ "workload", workload_main, NULL, 0, 0, NULL },
	{ "validate", validate_main, NULL, 0, 0, NULL },
};

/* NULL names the plain report. */
static const struct mode *find_mode(const char *name)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(*modes); i++)
		if (name ? modes[i].name && !strcmp(modes[i].name, name) : !modes[i].name)
			return &modes[i];
	return NULL;
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
	const struct mode *own = argc > 1 ? find_mode(argv[1]) : NULL;
	struct options opts = { 0 };

	pgx_init(argv[0]);
	if (own && own->own_main)
		return pgx_finish(own->own_main(argc - 1, argv + 1));
	parse_options(argc, argv, &opts);
	pgx_install_signals();
	keep_reading_on_sigint();
	return pgx_finish(opts.mode->run(&opts));
}
