/* pglog.c - PostgreSQL's csvlog and jsonlog, read natively */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"

enum csvlog_column {
	CSV_LOG_TIME = 0,
	CSV_PROCESS_ID = 3,
	CSV_ERROR_SEVERITY = 11,
	CSV_SQL_STATE = 12,
	CSV_MESSAGE = 13,
	CSV_COLUMNS_NEEDED = 14,
};

static char *severity_text(const char *severity, const char *message)
{
	char *text;

	if (asprintf(&text, "%s:  %s", severity ? severity : "LOG", message ? message : "") < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return text;
}

/* 00000 (successful completion) is on every LOG line: not worth a field. */
static char *sqlstate_or_null(const char *code)
{
	return code && strlen(code) == 5 && strcmp(code, "00000") ? pgx_xstrdup(code) : NULL;
}

bool pglog_is_jsonlog(const json_t *rec)
{
	return !json_object_get(rec, "type") && json_is_string(json_object_get(rec, "timestamp")) &&
	       json_is_string(json_object_get(rec, "message"));
}

void pglog_from_jsonlog(const json_t *rec, struct pglog_entry *e)
{
	e->format = "jsonlog";
	e->ts_format = TS_FORMAT_POSTGRES;
	e->text = severity_text(pgx_rec_str(rec, "error_severity"), pgx_rec_str(rec, "message"));
	e->timestamp = pgx_xstrdup(pgx_rec_str(rec, "timestamp"));
	e->pid = pgx_rec_int(rec, "pid", -1);
	e->sqlstate = sqlstate_or_null(pgx_rec_str(rec, "state_code"));
}

/* CloudNativePG: {"logger":"postgres","msg":"record","record":{...}}, the
 * record's keys those of csvlog (its documentation, "Logging"). */
static bool from_cnpg(const json_t *rec, struct pglog_entry *e)
{
	const json_t *r = json_object_get(rec, "record");
	const char *logger = pgx_rec_str(rec, "logger"), *pid;

	if (!logger || strcmp(logger, "postgres") || !json_is_object(r) || !pgx_rec_str(r, "message") ||
	    !pgx_rec_str(r, "log_time"))
		return false;
	e->format = "cnpg";
	e->text = severity_text(pgx_rec_str(r, "error_severity"), pgx_rec_str(r, "message"));
	e->timestamp = pgx_xstrdup(pgx_rec_str(r, "log_time"));
	e->ts_format = TS_FORMAT_POSTGRES;
	pid = pgx_rec_str(r, "process_id");
	e->pid = pid ? atol(pid) : -1;
	e->sqlstate = sqlstate_or_null(pgx_rec_str(r, "sql_state_code"));
	return true;
}

/* Cloud Logging's LogEntry of a Cloud SQL instance: textPayload is the
 * stderr line (log_line_prefix and all), timestamp when it was written. */
static bool from_cloudsql(const json_t *rec, struct pglog_entry *e)
{
	const char *text = pgx_rec_str(rec, "textPayload"), *ts = pgx_rec_str(rec, "timestamp");
	const char *log = pgx_rec_str(rec, "logName"), *kind = pgx_rec_str(json_object_get(rec, "resource"), "type");

	if (!text || !ts || !((log && strstr(log, "cloudsql.googleapis.com")) || (kind && !strcmp(kind, "cloudsql_database"))))
		return false;
	e->format = "cloudsql";
	e->text = pgx_xstrdup(text);
	e->timestamp = pgx_xstrdup(ts);
	e->ts_format = TS_FORMAT_ISO;
	return true;
}

bool pglog_from_service_json(const json_t *rec, struct pglog_entry *e)
{
	return json_is_object(rec) && (from_cnpg(rec, e) || from_cloudsql(rec, e));
}

/* "2026-11-22 03:16:43.123 UTC," : a csvlog line starts with log_time and
 * a comma right after the zone; stderr lines have a space there instead.
 * A csv writer other than PostgreSQL may quote it: "2026-...UTC",. */
bool pglog_csv_starts(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd.ddd ";
	const size_t zone_at = sizeof(shape) - 1, zone_max = 9;

	if (len && s[0] == '"')
		s++, len--;
	if (len < sizeof(shape) || s[4] != '-' || s[10] != ' ' || s[19] != '.' || s[23] != ' ')
		return false;
	for (size_t i = zone_at; i < len && i < zone_at + zone_max; i++) {
		if (s[i] == ',')
			break;
		if (s[i] == ' ')
			return false;
	}
	for (size_t i = 0; i < zone_at; i++)
		if (shape[i] == 'd' && (s[i] < '0' || s[i] > '9'))
			return false;
	return memchr(s + zone_at, ',', len - zone_at < zone_max ? len - zone_at : zone_max) != NULL;
}

/* A quoted field may hold newlines: the entry ends once quotes balance. */
bool pglog_csv_complete(const char *s, size_t len)
{
	bool in_quotes = false;

	for (size_t i = 0; i < len; i++)
		if (s[i] == '"')
			in_quotes = !in_quotes;	/* "" inside quotes toggles twice */
	return !in_quotes;
}

/* Split one csv record; fields[i] are malloc'd, unquoted. */
static size_t csv_split(const char *s, size_t len, char **fields, size_t max)
{
	size_t n = 0, i = 0;

	while (n < max && i <= len) {
		char *f = pgx_xmalloc(len - i + 1), *o = f;
		if (i < len && s[i] == '"') {
			for (i++; i < len; i++) {
				if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
					*o++ = '"', i++;
				else if (s[i] == '"')
					break;
				else
					*o++ = s[i];
			}
			i++;
		}
		while (i < len && s[i] != ',')
			*o++ = s[i++];
		*o = '\0';
		fields[n++] = f;
		i++;
	}
	return n;
}

bool pglog_from_csv(const char *s, size_t len, struct pglog_entry *e)
{
	char *f[CSV_COLUMNS_NEEDED];
	size_t n = csv_split(s, len, f, CSV_COLUMNS_NEEDED);
	bool ok = n == CSV_COLUMNS_NEEDED;

	if (ok) {
		e->format = "csvlog";
		e->ts_format = TS_FORMAT_POSTGRES;
		e->text = severity_text(f[CSV_ERROR_SEVERITY], f[CSV_MESSAGE]);
		e->timestamp = pgx_xstrdup(f[CSV_LOG_TIME]);
		e->pid = atol(f[CSV_PROCESS_ID]);
		e->sqlstate = sqlstate_or_null(f[CSV_SQL_STATE]);
	}
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	return ok;
}

void pglog_entry_free(struct pglog_entry *e)
{
	free(e->text);
	free(e->timestamp);
	free(e->sqlstate);
	memset(e, 0, sizeof(*e));
}
