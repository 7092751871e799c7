/* input.c - the changeset asked for: recommendation records and conf lines */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "apply.h"

/* A recommendation record: consumed when it asks for a change (status
 * "change", or none in a record written by hand); "keep", "pending_restart"
 * (already waiting for one) and "command_line" (ALTER SYSTEM cannot win) pass. */
static int take_record(json_t *rec, const char *origin, struct changeset *cs, bool *consumed)
{
	const char *type = pgx_rec_type(rec), *status = pgx_rec_str(rec, "status");
	const char *name = pgx_rec_str(rec, "parameter");
	json_t *v = json_object_get(rec, "recommended");
	char *value;

	*consumed = false;
	if (!type || strcmp(type, "recommendation") || (status && strcmp(status, "change")))
		return 0;
	if (!name || !*name || !v || json_is_null(v)) {
		pgx_error("%s: a recommendation needs \"parameter\" and \"recommended\"", origin);
		return -1;
	}
	if (!(value = patroni_json_value(v))) {
		pgx_error("%s: \"recommended\" must be a string or a number", origin);
		return -1;
	}
	changeset_add(cs, name, value, origin);
	free(value);
	*consumed = true;
	return 0;
}

/* The line is quoted cut short and escaped: it may be anything, a
 * terminal's escape sequence included. */
#define QUOTED_CHARS 60

static int take_conf_line(const struct pgx_line *line, const char *origin, struct changeset *cs)
{
	char *name = NULL, *value = NULL, *quoted;
	const char *err = NULL;
	int rc = 0;

	if (memchr(line->text, '\0', line->len)) {
		pgx_error("%s: NUL byte in line", origin);
		rc = -1;
	} else if (!value_parse_conf_line(line->text, &name, &value, &err)) {
		quoted = pgx_excerpt(line->text, line->len, QUOTED_CHARS);
		pgx_error("%s: %s: %s", origin, err, quoted);
		free(quoted);
		rc = -1;
	} else if (name)
		changeset_add(cs, name, value, origin);
	free(name);
	free(value);
	return rc;
}

/* Read the request; pass records it does not consume through unless rendering
 * a table.  Returns 0, PGX_EXIT_INPUT or PGX_EXIT_OUTPUT. */
int input_read(const struct apply_opts *o, struct changeset *cs, bool pass_through)
{
	struct pgx_input *in = pgx_input_open(o->file ? o->file : "-", 0);
	struct pgx_line line;
	char origin[4200], err[256];
	unsigned long errors = 0;
	bool consumed, ok = true;
	json_t *rec;
	int r = 0;

	if (!in)
		return PGX_EXIT_INPUT;
	while (ok && !pgx_stop_signal && (r = pgx_input_next(in, &line)) == 1) {
		const char *s = line.text + strspn(line.text, " \t");
		snprintf(origin, sizeof(origin), "%s:%lu", pgx_input_name(in), line.lineno);
		if (*s != '{') {
			errors += take_conf_line(&line, origin, cs) != 0;
			continue;
		}
		if (!(rec = pgx_json_parse_line(&line, err, sizeof(err)))) {
			pgx_error("%s: %s", origin, err);
			errors++;
			continue;
		}
		errors += take_record(rec, origin, cs, &consumed) != 0;
		json_decref(rec);
		if (!consumed && pass_through)
			ok = pgx_emit_raw(line.text, line.len);
	}
	if (ok && r < 0)
		errors++;
	errors += pgx_input_errors(in);
	pgx_input_close(in);
	if (!ok)
		return PGX_EXIT_OUTPUT;
	return errors ? PGX_EXIT_INPUT : 0;
}
