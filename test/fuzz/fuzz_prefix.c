/* fuzz_prefix.c - libFuzzer target: pgx-logmatch's log_line_prefix reader
 * (prefix.c)
 *
 * The first line is a log_line_prefix: turned into a regex, compiled as the
 * first timestamp spec of the slowlog rules, and tried on the other lines;
 * each other line is also given to the prefix inference.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"
#include "fuzz_share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ruleset rules;
static bool loaded;

static void infer(const char *s, size_t len)
{
	const char *format;
	char why[160], *regex = prefix_infer(s, len, &format);

	if (regex && !ruleset_set_prefix(&rules, regex, format, why, sizeof(why)))
		__builtin_trap();	/* an inferred prefix always compiles */
	free(regex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size), *format, *end = s + size;
	char why[200], *prefix, *regex;
	double ts;

	if (!loaded)
		loaded = fuzz_load_rules("fuzz_prefix", "slowlog", &rules);
	if (!loaded || !nl)
		return 0;
	prefix = strndup(s, (size_t)(nl - s));	/* a setting is a C string */
	if (!prefix)
		return 0;
	regex = prefix_regex(prefix, &format, why, sizeof(why));
	if (regex)
		ruleset_set_prefix(&rules, regex, format, why, sizeof(why));
	free(regex);
	free(prefix);
	for (s = nl + 1; s < end;) {
		const char *next = memchr(s, '\n', (size_t)(end - s));
		size_t len = next ? (size_t)(next - s) : (size_t)(end - s);
		ts_from_line(&rules, s, len, &ts, why, sizeof(why));
		prefix_starts_entry(&rules, s, len);
		infer(s, len);
		s += len + 1;
	}
	return 0;
}
