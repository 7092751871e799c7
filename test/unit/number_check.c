/* number_check.c - pgx_list_number (lib/rank.c) against strtod, on the
 * texts number_cases.tsv gives (text, expected: "same" when it reads the
 * double strtod reads and stops where strtod does, "none" when it refuses
 * the text), and on "sweep N": N generated decimals of 1 to 15 digits, the
 * fast path's whole range. */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"
#include "cases.h"

static bool same_as_strtod(const char *text, char **why)
{
	const char *p = text;
	char *end;
	double got, want = strtod(text, &end);

	if (!pgx_list_number(&p, &got)) {
		*why = unit_fmt("refused %s", text);
		return false;
	}
	if (memcmp(&got, &want, sizeof(got)) || p != end) {
		*why = unit_fmt("%s read as %.17g up to offset %td, strtod %.17g up to %td", text, got,
				p - text, want, end - text);
		return false;
	}
	return true;
}

/* A deterministic generator: the same sweep every run. */
static unsigned long long next_random(unsigned long long *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 11;
}

static char *sweep(unsigned long n)
{
	unsigned long long state = n;
	char text[40], *why = NULL;

	for (unsigned long i = 0; i < n; i++) {
		unsigned long long r = next_random(&state);
		int digits = 1 + (int)(r % 15), point = (int)((r >> 4) % (unsigned)(digits + 1));
		size_t len = 0;

		for (int d = 0; d < digits; d++) {
			if (d == point && d > 0)
				text[len++] = '.';
			text[len++] = (char)('0' + (next_random(&state) % 10));
		}
		text[len] = '\0';
		if (!same_as_strtod(text, &why))
			return why;
	}
	return pgx_xstrdup("same");
}

static char *check(const struct unit_case *c)
{
	const char *p = c->col[0];
	char *why = NULL;
	double v;

	if (!strncmp(c->col[0], "sweep ", 6))
		return sweep(strtoul(c->col[0] + 6, NULL, 10));
	if (!strcmp(c->col[1], "none"))
		return pgx_xstrdup(pgx_list_number(&p, &v) ? "read" : "none");
	return same_as_strtod(c->col[0], &why) ? pgx_xstrdup("same") : why;
}

int main(int argc, char **argv)
{
	return unit_main(argc, argv, 2, check);
}
