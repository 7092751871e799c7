/* cases.c - the table runner every unit driver shares (see cases.h) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "cases.h"

/* In place: \t, \n, \r and \\ become the characters they name. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1] && strchr("tnr\\", s[1])) {
			s++;
			*o++ = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : '\\';
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

static size_t split(char *line, char **col)
{
	size_t n = 0;

	for (char *p = line; n < UNIT_MAX_COLS; p++) {
		col[n++] = p;
		if (!(p = strchr(p, '\t')))
			break;
		*p = '\0';
	}
	for (size_t i = 0; i < n; i++)
		unescape(col[i]);
	return n;
}

static bool run_case(const struct unit_case *c, char *(*actual)(const struct unit_case *c))
{
	const char *want = c->col[c->ncols - 1];
	char *got = actual(c);
	bool ok = !strcmp(got, want);

	if (!ok) {
		printf("%s:%lu: %s", c->file, c->lineno, c->col[0]);
		for (size_t i = 1; i + 1 < c->ncols; i++)
			printf(" | %s", c->col[i]);
		printf("\n  expected: %s\n  got:      %s\n", want, got);
	}
	free(got);
	return ok;
}

int unit_run_table(const char *path, size_t ncols, char *(*actual)(const struct unit_case *c))
{
	FILE *f = fopen(path, "r");
	struct unit_case c = { .file = path };
	char *line = NULL;
	size_t cap = 0, cases = 0, failed = 0;
	ssize_t n;

	if (!f) {
		printf("%s: cannot open: %s\n", path, strerror(errno));
		return PGX_EXIT_INPUT;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		c.lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if ((c.ncols = split(line, c.col)) != ncols) {
			printf("%s:%lu: %zu columns, not %zu\n", path, c.lineno, c.ncols, ncols);
			failed++;
			continue;
		}
		cases++;
		failed += !run_case(&c, actual);
	}
	free(line);
	fclose(f);
	printf("%s: %zu cases, %zu failed\n", path, cases, failed);
	return failed ? PGX_EXIT_FAILED : PGX_EXIT_OK;
}

char *unit_fmt(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	va_end(ap);
	return s;
}

int unit_main(int argc, char **argv, size_t ncols, char *(*actual)(const struct unit_case *c))
{
	pgx_init(argv[0]);
	if (argc != 2)
		pgx_usage_error("expected the cases file");
	if (!getenv("UNIT_VERBOSE") && !freopen("/dev/null", "w", stderr))
		pgx_die(PGX_EXIT_INTERNAL, "cannot silence stderr");
	return unit_run_table(argv[1], ncols, actual);
}
