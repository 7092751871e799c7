/* pgx-timeline - turn a merged event stream into startup phases */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"

struct options {
	const char *init_dir;
	bool derived_only;
};

static void usage(void)
{
	printf("%s turns a merged event stream into startup phases.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]... [FILE]...\n\n"
	       "Reads the records of pgx-trace, pgx-docker and pgx-logmatch (files or\n"
	       "standard input), passes them all through, and at the end of input writes\n"
	       "phase, script, extension, bgworker, process and profile records.\n\n"
	       "Options:\n"
	       "  -i, --init-dir=DIR     directory of init scripts\n"
	       "                         (default /docker-entrypoint-initdb.d)\n"
	       "  -d, --derived-only     write only the derived records, not the input\n"
	       "  -V, --version          output version information, then exit\n"
	       "  -h, --help             show this help, then exit\n\n"
	       "Exit status: 0 ready reached, 7 never ready (a partial profile is written),\n"
	       "2 usage, 3 invalid input (reported with FILE:LINE) or none, 6 write error\n"
	       "(standard output, or the temporary file in TMPDIR).\n",
	       pgx_progname(), pgx_progname());
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "init-dir", required_argument, NULL, 'i' },
		{ "derived-only", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->init_dir = "/docker-entrypoint-initdb.d";
	while ((c = getopt_long(argc, argv, "i:dVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': o->init_dir = optarg; break;
		case 'd': o->derived_only = true; break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: pgx_usage_error(NULL);
		}
	}
	if (!*o->init_dir)
		pgx_usage_error("--init-dir must not be empty");
}

/* Most records need only their type and time, read without building them. */
static bool take_line(struct timeline *t, struct pgx_input *in, const struct pgx_line *line)
{
	struct record_peek peek;
	json_t *rec;

	if (record_peek(line->text, line->len, &peek) && timeline_take_peeked(t, &peek, line->text, line->len))
		return true;
	if (!(rec = pgx_ndjson_parse(in, line)))
		return false;
	timeline_take(t, rec);
	json_decref(rec);
	return true;
}

/* Pass every record on as it comes; keep what the analysis needs. */
static bool read_input(struct timeline *t, const char *path, const struct options *o,
		       unsigned long *errors)
{
	struct pgx_input *in = pgx_input_open(path, 0);
	struct pgx_line line;
	bool ok = true;

	if (!in) {
		(*errors)++;
		return true;
	}
	while (ok && pgx_ndjson_next_line(in, &line) == 1)
		if (take_line(t, in, &line) && !o->derived_only)
			ok = pgx_emit_raw(line.text, line.len);
	*errors += pgx_input_errors(in);
	pgx_input_close(in);
	return ok;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	struct timeline t;
	unsigned long errors = 0;
	bool ok = true, ready = false;
	int status;

	pgx_init(argv[0]);
	parse_options(argc, argv, &opts);
	pgx_output_bulk();
	pgx_install_signals();
	timeline_init(&t, opts.init_dir);
	if (optind == argc)
		ok = read_input(&t, "-", &opts, &errors);
	for (int i = optind; ok && i < argc; i++)
		ok = read_input(&t, argv[i], &opts, &errors);
	if (ok) {
		pgx_output_hold(true);	/* nothing is waited for now: no flush per record */
		ok = timeline_emit(&t, &ready);
		pgx_output_hold(false);
	}
	if (ok && !errors && !pgx_stop_signal && !timeline_has_records(&t)) {
		pgx_error("no timed records in the input: nothing to profile");
		errors++;
	}
	timeline_free(&t);
	if (!ok)
		status = PGX_EXIT_OUTPUT;
	else if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	else if (errors)
		status = PGX_EXIT_INPUT;
	else
		status = ready ? PGX_EXIT_OK : PGX_EXIT_FAILED;
	return pgx_finish(status);
}
