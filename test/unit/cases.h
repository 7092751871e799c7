/* cases.h - table-driven unit tests: one case per line of a TSV file
 *
 * Columns are separated by tabs; a cell may write \t, \n, \r and \\ for a
 * tab, a newline, a carriage return and a backslash.  Lines that are empty or start with '#' are
 * comments.  The last column is what the case expects. */
#ifndef UNIT_CASES_H
#define UNIT_CASES_H

#include <stddef.h>

#define UNIT_MAX_COLS 8

struct unit_case {
	const char *file;
	unsigned long lineno;
	size_t ncols;
	char *col[UNIT_MAX_COLS];
};

/* What the code under test gives for case c (malloc'd), compared with the
 * case's last column.  Each failing case is printed as FILE:LINE with what
 * was expected and what came, and so is a line without ncols columns, on
 * stdout.  Returns the exit status: PGX_EXIT_OK when every case passed,
 * PGX_EXIT_FAILED when one did not, PGX_EXIT_INPUT when the table cannot
 * be read. */
int unit_run_table(const char *path, size_t ncols, char *(*actual)(const struct unit_case *c));

/* A driver's whole main: one argument, the cases file, run with
 * unit_run_table; stderr (the diagnostics of cases that must fail) is
 * silenced unless UNIT_VERBOSE is set. */
int unit_main(int argc, char **argv, size_t ncols, char *(*actual)(const struct unit_case *c));

/* printf into a new string. */
char *unit_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
