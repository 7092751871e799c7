/* diag.c - diagnostics on stderr and allocation that never returns NULL */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"

static const char *progname = "pgx";

void pgx_init(const char *argv0)
{
	const char *slash = argv0 ? strrchr(argv0, '/') : NULL;

	progname = slash ? slash + 1 : (argv0 ? argv0 : "pgx");
}

const char *pgx_progname(void)
{
	return progname;
}

__attribute__((format(printf, 2, 0)))
static void vreport(const char *prefix, const char *fmt, va_list ap)
{
	pgx_stderr_lock();
	pgx_progress_erase();
	fprintf(stderr, "%s: %s", progname, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pgx_stderr_unlock();
}

#define DEFINE_REPORTER(name, prefix)                  \
	void name(const char *fmt, ...)                \
	{                                              \
		va_list ap;                            \
		va_start(ap, fmt);                     \
		vreport(prefix, fmt, ap);              \
		va_end(ap);                            \
	}

DEFINE_REPORTER(pgx_error, "error: ")
DEFINE_REPORTER(pgx_warn, "warning: ")
DEFINE_REPORTER(pgx_hint, "hint: ")
DEFINE_REPORTER(pgx_info, "")

void pgx_die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vreport("error: ", fmt, ap);
	va_end(ap);
	exit(code);
}

void *pgx_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return p;
}

void *pgx_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return q;
}

char *pgx_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(pgx_xmalloc(n), s, n);
}
