/* mask_check.c - drives lib/mask.c for test/lib.bats
 *
 *   mask_check table FILE     each line "input<TAB>expected": print the
 *                             cases whose masked input differs, exit 1 if any
 *   mask_check filter         mask each line of stdin
 *   mask_check arg STRING     mask STRING in place; print it, then the copy
 *   mask_check conn MSG DSN   MSG masked as a message about DSN
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"

static char *masked_line(const char *s, size_t len)
{
	char *out = pgx_mask_secrets(s, len, NULL);

	return out ? out : strndup(s, len);
}

static int run_table(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, *tab, *got;
	size_t cap = 0, cases = 0, failed = 0;
	ssize_t n;

	if (!f)
		pgx_die(PGX_EXIT_INPUT, "%s: cannot open", path);
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!n || line[0] == '#' || !(tab = strchr(line, '\t')))
			continue;
		*tab = '\0';
		got = masked_line(line, (size_t)(tab - line));
		cases++;
		if (strcmp(got, tab + 1))
			printf("input:    %s\nexpected: %s\ngot:      %s\n", line, tab + 1, got), failed++;
		free(got);
	}
	free(line);
	fclose(f);
	printf("%zu cases, %zu failed\n", cases, failed);
	return failed ? PGX_EXIT_FAILED : PGX_EXIT_OK;
}

static int run_filter(void)
{
	char *line = NULL, *got;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		got = masked_line(line, (size_t)n);
		fputs(got, stdout);
		free(got);
	}
	free(line);
	return PGX_EXIT_OK;
}

int main(int argc, char **argv)
{
	char *s;

	pgx_init(argv[0]);
	if (argc == 3 && !strcmp(argv[1], "table"))
		return run_table(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "filter"))
		return run_filter();
	if (argc == 3 && !strcmp(argv[1], "arg")) {
		s = pgx_mask_take_arg(argv[2]);
		printf("%s\n%s\n", argv[2], s);
		free(s);
		return PGX_EXIT_OK;
	}
	if (argc == 4 && !strcmp(argv[1], "conn")) {
		printf("%s\n", s = pgx_mask_conn_message(argv[2], argv[3]));
		free(s);
		return PGX_EXIT_OK;
	}
	pgx_usage_error("expected table FILE, filter, arg STRING or conn MSG DSN");
}
