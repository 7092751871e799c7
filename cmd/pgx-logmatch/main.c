/* pgx-logmatch - turn log lines into match records using YAML rules */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "logmatch.h"
#include "match.h"
#include "reader.h"
#include "split.h"

struct options {
	const char **rules;
	size_t nrules;
	const char *prefix;
	bool only_matching, follow, check_rules, group;
	size_t max_line;
	enum pgx_progress_mode progress;
};

static void usage(void)
{
	printf("%s turns log lines into match records using YAML rules.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]... [FILE]...\n\n"
	       "Reads plain log lines (PostgreSQL stderr, csvlog or jsonlog, or any\n"
	       "application log) and NDJSON log records from FILEs or standard input;\n"
	       "other records pass through unchanged.\n\n"
	       "Options:\n"
	       "  -r, --rules=FILE|NAME     rules to use (repeatable; default: \"default\";\n"
	       "                            a NAME is share/pgx/rules/NAME.yaml)\n"
	       "  -o, --only-matching       emit match records only, drop unmatched lines\n"
	       "  -f, --follow              keep reading a growing file, like tail -f\n"
	       "  -g, --group               sum the matches of rules that have group: per\n"
	       "                            key; one match_group record each at the end\n"
	       "  -L, --max-line-length=N   longest line accepted, in bytes (default 1M)\n"
	       "      --prefix=PREFIX       the server's log_line_prefix, such as\n"
	       "                            '%%t:%%r:%%u@%%d:[%%p]:' (default: inferred from the\n"
	       "                            first lines, or a settings record's)\n"
	       "      --check-rules         load and compile the rules, then exit\n"
	       "      --progress            show bytes and lines read, rate and time left\n"
	       "                            on stderr (default: when stderr is a terminal\n"
	       "                            and not --follow)\n"
	       "      --no-progress         never show progress\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Exit status: 0 ok, 2 usage or rules error, 3 some input unreadable or\n"
	       "invalid (reported with FILE:LINE), 6 write error, 130 interrupted.\n",
	       pgx_progname(), pgx_progname());
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "only-matching", no_argument, NULL, 'o' },
		{ "follow", no_argument, NULL, 'f' },
		{ "group", no_argument, NULL, 'g' },
		{ "max-line-length", required_argument, NULL, 'L' },
		{ "check-rules", no_argument, NULL, 1 },
		{ "progress", no_argument, NULL, 2 },
		{ "no-progress", no_argument, NULL, 3 },
		{ "prefix", required_argument, NULL, 4 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long size;
	int c;

	o->rules = pgx_xmalloc(sizeof(char *) * (size_t)argc);
	while ((c = getopt_long(argc, argv, "r:ofgL:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': o->rules[o->nrules++] = optarg; break;
		case 'o': o->only_matching = true; break;
		case 'f': o->follow = true; break;
		case 'g': o->group = true; break;
		case 'L':
			if (!pgx_parse_size(optarg, "--max-line-length", &size) || size < 64 || size > (1ULL << 30))
				pgx_usage_error("--max-line-length must be between 64 and 1G bytes");
			o->max_line = (size_t)size;
			break;
		case 1: o->check_rules = true; break;
		case 2: o->progress = PGX_PROGRESS_ON; break;
		case 3: o->progress = PGX_PROGRESS_OFF; break;
		case 4: o->prefix = optarg; break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: pgx_usage_error(NULL);
		}
	}
	if (!o->nrules)
		o->rules[o->nrules++] = "default";
	if (o->follow && o->progress == PGX_PROGRESS_AUTO)
		o->progress = PGX_PROGRESS_OFF;	/* a followed file never ends */
}

/* A name without a slash that is not a file is one of share/pgx/rules/. */
static char *rules_path(const char *arg)
{
	char rel[256];
	char *path;

	if (strchr(arg, '/') || access(arg, F_OK) == 0)
		return pgx_xstrdup(arg);
	snprintf(rel, sizeof(rel), "rules/%s.yaml", arg);
	if ((path = pgx_share_path(rel)))
		return path;
	pgx_error("no rules file \"%s\" and no built-in rules named \"%s\"", arg, arg);
	pgx_hint("built-in rules live in share/pgx/rules/; set PGX_SHARE_DIR if pgx is not installed");
	return NULL;
}

static bool load_rules(struct matcher *m, const struct options *o)
{
	for (size_t i = 0; i < o->nrules; i++) {
		char *path = rules_path(o->rules[i]);
		bool ok = path && ruleset_load(&m->rules, path);

		free(path);
		if (!ok)
			return false;
	}
	matcher_ready(m);
	return true;
}

/* --prefix: the time is read where the server's log_line_prefix puts it. */
static bool use_prefix(struct matcher *m, const char *prefix)
{
	const char *format;
	char why[200], *regex = prefix_regex(prefix, &format, why, sizeof(why));
	bool ok = regex && ruleset_set_prefix(&m->rules, regex, format, why, sizeof(why));

	free(regex);
	if (!ok)
		pgx_error("--prefix: %s", why);
	m->prefix_from = PREFIX_GIVEN;
	return ok;
}

static bool setup_matcher(struct matcher *m, const void *arg)
{
	const struct options *o = arg;

	matcher_init(m, o->only_matching, o->group);
	return load_rules(m, o) && (!o->prefix || use_prefix(m, o->prefix));
}

/* A big log file may be read in two parts at once (split.h). */
static bool match_file(struct matcher *m, const struct options *o, const char *path, struct pgx_progress *progress)
{
	struct split_plan plan;

	if (!split_worth(m, path, o->follow, &plan))
		return match_input(m, path, o->follow, o->max_line, progress);
	return match_split(m, setup_matcher, o, path, &plan, o->max_line, progress);
}

static int run(struct matcher *m, const struct options *o, char **files, int nfiles)
{
	struct pgx_progress progress;
	bool ok = true;

	pgx_progress_start(&progress, o->progress);
	if (nfiles == 0)
		ok = match_input(m, "-", false, o->max_line, &progress);
	for (int i = 0; ok && i < nfiles && !pgx_stop_signal; i++)
		ok = match_file(m, o, files[i], &progress);
	pgx_progress_end(&progress);
	if (ok && m->groups) {	/* also after an interrupt: what was read so far */
		pgx_output_hold(true);	/* nothing is waited for now: no flush per record */
		ok = groups_emit(m);
		pgx_output_hold(false);
	}
	if (!ok)
		return PGX_EXIT_OUTPUT;	/* pgx_finish names the write error */
	if (pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	return m->input_errors ? PGX_EXIT_INPUT : PGX_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	struct matcher m;
	int status;

	pgx_init(argv[0]);
	parse_options(argc, argv, &opts);
	pgx_output_bulk();
	pgx_install_signals();
	if (!setup_matcher(&m, &opts))
		status = PGX_EXIT_USAGE;
	else if (opts.check_rules)
		status = PGX_EXIT_OK;
	else
		status = run(&m, &opts, argv + optind, argc - optind);
	matcher_free(&m);
	free(opts.rules);
	return pgx_finish(status);
}
