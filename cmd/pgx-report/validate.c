/* validate.c - pgx-report validate: every pgx record of the input checked
 * against share/pgx/records.yaml; other tools' records pass untouched */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "analysis.h"
#include "schema.h"

struct validate_opts {
	const char *schema;
	bool print_schema;
};

struct tally {
	unsigned long records, problems;
	bool input_failed;
};

static void validate_usage(void)
{
	printf("%s validate checks pgx records against their definition.\n\n"
	       "Usage:\n"
	       "  %s validate [OPTION]... [FILE]...\n\n"
	       "Reads NDJSON from FILEs or standard input and checks every record a pgx\n"
	       "command wrote (its src is pgx-...) against share/pgx/records.yaml: its\n"
	       "type is known, its src writes that type, every required field is there,\n"
	       "every field has a type the definition allows and none is missing from it.\n"
	       "Each problem is reported as FILE:LINE: TYPE.FIELD: problem.  Records of\n"
	       "other tools pass untouched.\n\n"
	       "Options:\n"
	       "      --schema=FILE         the definitions (default share/pgx/records.yaml)\n"
	       "      --print-schema        write the definitions as one JSON line, then exit\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Exit status: 0 every record conforms, 1 a record does not, 2 usage error\n"
	       "or invalid definitions, 3 input unreadable or not JSON, 6 write error.\n",
	       pgx_progname(), pgx_progname());
}

static void parse_validate_options(int argc, char **argv, struct validate_opts *o)
{
	static const struct option longopts[] = {
		{ "schema", required_argument, NULL, 1 },
		{ "print-schema", no_argument, NULL, 2 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 1: o->schema = optarg; break;
		case 2: o->print_schema = true; break;
		case 'V': pgx_print_version(); exit(pgx_finish(PGX_EXIT_OK));
		case 'h': validate_usage(); exit(pgx_finish(PGX_EXIT_OK));
		default: pgx_usage_error(NULL);
		}
	}
}

__attribute__((format(printf, 5, 6)))
static void problem(struct tally *t, const char *where, const char *type, const char *field,
		    const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pgx_error("%s: %s%s%s: %s", where, type, field ? "." : "", field ? field : "", what);
	t->problems++;
}

static void check_field(struct tally *t, const char *where, const struct record_rule *r,
			const char *name, const json_t *v)
{
	const struct field_rule *f = schema_field(r, name);
	unsigned got = json_type_bit(v);
	char want[96], have[32];

	if (!f) {
		if (!r->open)
			problem(t, where, r->type, name, "not in the schema");
		return;
	}
	if ((f->types & got) || (got == JT_INTEGER && (f->types & JT_NUMBER)))
		return;
	json_types_name(f->types, want, sizeof(want));
	json_types_name(got, have, sizeof(have));
	problem(t, where, r->type, name, "%s expected, got %s", want, have);
}

static void check_writer(struct tally *t, const char *where, const struct record_rule *r, const char *src)
{
	char writers[256] = "";
	size_t i, n = 0;
	json_t *w;

	if (schema_writer(r, src))
		return;
	json_array_foreach(r->writers, i, w)
		if (n < sizeof(writers))
			n += (size_t)snprintf(writers + n, sizeof(writers) - n, "%s%s", i ? ", " : "",
					      json_string_value(w) ? json_string_value(w) : "?");
	problem(t, where, r->type, "src", "%s does not write %s records (writers: %s)", src, r->type, writers);
}

static void check_record(struct tally *t, const struct schema *s, const char *where, json_t *rec)
{
	const char *src = pgx_rec_str(rec, "src"), *type = pgx_rec_type(rec), *key;
	const struct record_rule *r;
	json_t *v;

	if (!src || strncmp(src, "pgx-", 4))
		return;		/* another tool's record */
	t->records++;
	if (!type) {
		problem(t, where, "?", "type", "a record from %s without a string type", src);
		return;
	}
	if (!(r = schema_record(s, type))) {
		problem(t, where, type, NULL, "unknown pgx record type (src %s)", src);
		return;
	}
	check_writer(t, where, r, src);
	json_object_foreach(rec, key, v)
		check_field(t, where, r, key, v);
	for (size_t i = 0; i < r->fields.n; i++) {
		const struct field_rule *f = &r->fields.v[i];

		if (!f->optional && !f->pattern && !json_object_get(rec, f->name))
			problem(t, where, type, f->name, "required field missing");
	}
}

static void validate_input(struct tally *t, const struct schema *s, const char *path)
{
	struct pgx_input *in = pgx_input_open(path, PGX_MAX_LINE_DEFAULT);
	struct pgx_line line;
	json_t *rec;
	char where[4096];
	int got;

	if (!in) {
		t->input_failed = true;
		return;
	}
	while (!pgx_stop_signal && (got = pgx_ndjson_next(in, &line, &rec)) == 1) {
		snprintf(where, sizeof(where), "%s:%lu", pgx_input_name(in), line.lineno);
		check_record(t, s, where, rec);
		json_decref(rec);
	}
	t->input_failed |= got < 0 || pgx_input_errors(in) > 0;
	pgx_input_close(in);
}

static bool load_schema(struct schema *s, const char *path)
{
	char *found = path ? pgx_xstrdup(path) : pgx_share_path("records.yaml");
	bool ok;

	if (!found) {
		pgx_error("record definitions records.yaml not found");
		pgx_hint("set PGX_SHARE_DIR or pass --schema FILE");
		return false;
	}
	ok = schema_load(s, found);
	if (!ok)
		free(found);
	else
		s->path = found;	/* freed by validate_main */
	return ok;
}

int validate_main(int argc, char **argv)
{
	struct validate_opts o = { 0 };
	struct schema s = { 0 };
	struct tally t = { 0 };
	int status;

	parse_validate_options(argc, argv, &o);
	pgx_install_signals();
	if (!load_schema(&s, o.schema)) {
		schema_free(&s);
		return PGX_EXIT_USAGE;
	}
	if (o.print_schema) {
		status = pgx_emit(json_incref(s.doc)) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
	} else {
		for (int i = optind; i < argc || i == optind; i++)
			validate_input(&t, &s, i < argc ? argv[i] : "-");
		if (t.problems)
			pgx_error("%lu problem(s) in %lu pgx record(s); the definitions are in %s",
				  t.problems, t.records, s.path);
		status = pgx_stop_signal ? PGX_EXIT_INTERRUPTED : t.input_failed ? PGX_EXIT_INPUT
			 : t.problems ? PGX_EXIT_FINDINGS : PGX_EXIT_OK;
	}
	free((char *)s.path);
	schema_free(&s);
	return status;
}
