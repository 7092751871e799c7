/* fuzz_pglog.c - libFuzzer target: pgx-logmatch's csvlog and jsonlog
 * readers and its timestamp parser
 *
 * The whole input is read as a csvlog entry, as a jsonlog record and as
 * the JSON of CloudNativePG or Cloud SQL, and its
 * first line as a PostgreSQL timestamp.  Then the first line is a timestamp
 * format (%Y %m %d %H %M %S %f %z %Z %s ...) and the rest a text in it, and
 * the text is given to the built-in rules' timestamp specs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"
#include "fuzz_share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ruleset default_rules;
static bool have_rules;

static void entries(const char *s, size_t len)
{
	struct pglog_entry e = { 0 };
	json_t *rec;

	pglog_csv_starts(s, len);
	if (pglog_csv_complete(s, len) && pglog_from_csv(s, len, &e))
		pglog_entry_free(&e);
	if ((rec = json_loadb(s, len, 0, NULL)) && pglog_is_jsonlog(rec)) {
		memset(&e, 0, sizeof(e));
		pglog_from_jsonlog(rec, &e);
		pglog_entry_free(&e);
	}
	memset(&e, 0, sizeof(e));
	if (rec && pglog_from_service_json(rec, &e))
		pglog_entry_free(&e);
	json_decref(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(s, '\n', size);
	size_t first = nl ? (size_t)(nl - s) : size;
	char why[200], *format;
	double ts;

	if (!have_rules && !default_rules.nrules)
		have_rules = fuzz_load_rules("fuzz_pglog", "default", &default_rules);
	entries(s, size);
	ts_parse(TS_FORMAT_POSTGRES, s, first, &ts, why, sizeof(why));
	if (!nl)
		return 0;
	format = strndup(s, first);	/* a format is a C string */
	if (format) {
		ts_parse(format, nl + 1, size - first - 1, &ts, why, sizeof(why));
		free(format);
	}
	if (have_rules)
		ts_from_line(&default_rules, nl + 1, size - first - 1, &ts, why, sizeof(why));
	return 0;
}
