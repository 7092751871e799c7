/* opts.c - option values parsed with range checks */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"

bool pgx_parse_long(const char *arg, const char *optname, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end) {
		pgx_error("invalid value \"%s\" for option %s", arg, optname);
		return false;
	}
	if (v < min || v > max) {
		pgx_error("%s must be in range %ld..%ld", optname, min, max);
		return false;
	}
	*out = v;
	return true;
}

static bool a_digit_first(const char *arg)
{
	return arg[0] >= '0' && arg[0] <= '9';
}

bool pgx_parse_size(const char *arg, const char *optname, unsigned long long *out)
{
	char *end;
	unsigned long long v, mult = 1;

	errno = 0;
	v = strtoull(arg, &end, 10);
	/* strtoull skips blanks and negates a '-': " -1" would be 2^64 - 1 */
	if (!errno && end != arg && a_digit_first(arg)) {
		switch (*end) {
		case 'k': case 'K': mult = 1ULL << 10; end++; break;
		case 'm': case 'M': mult = 1ULL << 20; end++; break;
		case 'g': case 'G': mult = 1ULL << 30; end++; break;
		}
		if ((*end == 'B' || *end == 'b') && mult > 1)
			end++;
		if (!*end && v <= ~0ULL / mult) {
			*out = v * mult;
			return true;
		}
	}
	pgx_error("invalid size \"%s\" for option %s (use a number with K, M or G)", arg, optname);
	return false;
}

bool pgx_parse_seconds(const char *arg, const char *optname, double *out)
{
	char *end;
	double v, mult = 1;

	errno = 0;
	v = strtod(arg, &end);
	if (!errno && end != arg && isfinite(v) && v >= 0) {
		if (!strcmp(end, "ms"))
			mult = 0.001, end += 2;
		else if (*end == 's' || *end == 'm' || *end == 'h')
			mult = *end == 's' ? 1 : *end == 'm' ? 60 : 3600, end++;
		if (!*end) {
			*out = v * mult + 0.0;	/* "-0" is 0 */
			return true;
		}
	}
	pgx_error("invalid duration \"%s\" for option %s (use seconds, or ms/s/m/h)", arg, optname);
	return false;
}

void pgx_print_version(void)
{
	printf("%s (pgx) %s\n", pgx_progname(), PGX_VERSION);
}

void pgx_exit_help(void (*usage)(void))
{
	usage();
	exit(pgx_finish(PGX_EXIT_OK));
}

void pgx_exit_version(void)
{
	pgx_print_version();
	exit(pgx_finish(PGX_EXIT_OK));
}

void pgx_check_exclusive(int n, ...)
{
	const char *names[16];
	int given = 0;
	char list[512];
	size_t len = 0;
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n && i < 16; i++) {
		given += va_arg(ap, int) != 0;
		names[i] = va_arg(ap, const char *);
	}
	va_end(ap);
	if (given < 2)
		return;
	list[0] = '\0';
	for (int i = 0; i < n && i < 16 && len < sizeof(list); i++)
		len += snprintf(list + len, sizeof(list) - len, "%s%s",
				i == 0 ? "" : i == n - 1 ? " and " : ", ", names[i]);
	pgx_usage_error("%s exclude each other", list);
}

void pgx_usage_error(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: error: ", pgx_progname());
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(stderr, "Try '%s --help' for more information.\n", pgx_progname());
	exit(PGX_EXIT_USAGE);
}
