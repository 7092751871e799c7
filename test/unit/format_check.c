/* format_check.c - lib's numbers and units against format_cases.tsv
 * (function, input, expected): bytes, duration, size, seconds, long,
 * round_us, json (the NDJSON number writer), flat (the flat writer's
 * records of the given types, one after the other) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "cases.h"

/* A double as pgx_emit writes it. */
static char *number(double v)
{
	json_t *a = json_pack("[f]", v);
	size_t len;
	char *text = pgx_record_dumps(a, &len), *out;

	json_decref(a);
	out = strndup(text + 1, len - 2);	/* without [ ] */
	free(text);
	return out;
}

static char *failed(void)
{
	return pgx_xstrdup("error");
}

static char *json_line(const char *in)
{
	json_error_t err;
	json_t *doc = json_loads(in, 0, &err);
	size_t len;

	if (!doc)
		return unit_fmt("invalid JSON: %s", err.text);
	char *text = pgx_record_dumps(doc, &len);
	json_decref(doc);
	return text;
}

/* A record of each space-separated type, written by pgx_flat_begin() and
 * pgx_flat_emit() (on standard output, caught in a file), joined with '|'. */
static char *flat_records(const char *types)
{
	char *list = pgx_xstrdup(types), *save, *out;
	FILE *caught = tmpfile();
	int saved = dup(STDOUT_FILENO);
	long len;

	if (!caught || saved < 0)
		return unit_fmt("cannot catch standard output");
	fflush(stdout);
	dup2(fileno(caught), STDOUT_FILENO);
	for (char *t = strtok_r(list, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		pgx_flat_begin(t, 1795305600.5);
		pgx_flat_emit();
	}
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	len = ftell(caught);
	out = pgx_xmalloc((size_t)len + 1);
	rewind(caught);
	out[fread(out, 1, (size_t)len, caught)] = '\0';
	for (char *nl; (nl = strchr(out, '\n')) && nl[1]; )
		*nl = '|';
	out[strcspn(out, "\n")] = '\0';
	fclose(caught);
	free(list);
	return out;
}

static char *format(const struct unit_case *c)
{
	const char *fn = c->col[0], *in = c->col[1];
	char buf[64];
	unsigned long long size = 0;
	double d = 0;
	long l = 0;

	if (!strcmp(fn, "bytes"))
		return pgx_format_bytes(buf, sizeof(buf), strtod(in, NULL)), pgx_xstrdup(buf);
	if (!strcmp(fn, "duration"))
		return pgx_progress_format_duration(buf, sizeof(buf), strtod(in, NULL)), pgx_xstrdup(buf);
	if (!strcmp(fn, "size"))
		return pgx_parse_size(in, "--size", &size) ? unit_fmt("%llu", size) : failed();
	if (!strcmp(fn, "seconds"))
		return pgx_parse_seconds(in, "--seconds", &d) ? number(d) : failed();
	if (!strcmp(fn, "long"))
		return pgx_parse_long(in, "--n", -1000, 1000, &l) ? unit_fmt("%ld", l) : failed();
	if (!strcmp(fn, "round_us"))
		return number(pgx_round_us(strtod(in, NULL)));
	if (!strcmp(fn, "json"))
		return json_line(in);
	if (!strcmp(fn, "flat"))
		return flat_records(in);
	return unit_fmt("unknown function %s", fn);
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 3, format);
}
