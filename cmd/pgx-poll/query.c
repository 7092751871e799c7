/* query.c - run a section's SQL and turn rows into typed JSON */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "pgx_mask.h"
#include "poll.h"

/* Type OIDs from PostgreSQL's pg_type.dat; stable across versions. */
enum {
	OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26,
	OID_JSON = 114, OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_NUMERIC = 1700,
	OID_JSONB = 3802,
};

#define SQLSTATE_INSUFFICIENT_PRIVILEGE "42501"
/* e.g. pg_stat_statements installed but not in shared_preload_libraries */
#define SQLSTATE_PREREQUISITE_STATE "55000"
/* statement_timeout (or a cancel) and lock_timeout */
#define SQLSTATE_QUERY_CANCELED "57014"
#define SQLSTATE_LOCK_NOT_AVAILABLE "55P03"

/* A section that could not be read for a reason the DBA set or granted
 * (a privilege, a prerequisite, a timeout) is degraded; any other failure
 * is an error. */
static bool degrades_only(const char *state)
{
	static const char *const states[] = {
		SQLSTATE_INSUFFICIENT_PRIVILEGE, SQLSTATE_PREREQUISITE_STATE,
		SQLSTATE_QUERY_CANCELED, SQLSTATE_LOCK_NOT_AVAILABLE,
	};

	for (size_t i = 0; state && i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(state, states[i]))
			return true;
	return false;
}

/* " (--statement-timeout 20 ms)" after a timeout, so the reason names the knob. */
static const char *timeout_hint(const struct section_run *run, const char *state,
				char *buf, size_t len)
{
	if (state && !strcmp(state, SQLSTATE_QUERY_CANCELED))
		snprintf(buf, len, " (--statement-timeout %ld ms)", run->opts->statement_timeout_ms);
	else if (state && !strcmp(state, SQLSTATE_LOCK_NOT_AVAILABLE))
		snprintf(buf, len, " (--lock-timeout %ld ms)", run->opts->lock_timeout_ms);
	else
		buf[0] = '\0';
	return buf;
}

void section_missing(struct section_run *run, const char *what, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	json_t *item = json_pack("{s:s, s:s}", "what", what, "why", why), *seen;
	size_t i;

	if (!run->missing)
		run->missing = json_array();
	json_array_foreach(run->missing, i, seen)
		if (json_equal(seen, item)) {	/* two queries of a section, one reason */
			json_decref(item);
			return;
		}
	json_array_append_new(run->missing, item);
}

PGresult *section_query_typed(struct section_run *run, const char *sql, int nparams,
			     const Oid *types, const char *const *params)
{
	PGconn *conn = run->pc->conn;
	PGresult *res = NULL;
	const char *state;
	char *msg, hint[64];

	if (run->pipeline && run->pipeline->recording) {
		pipeline_note(run->pipeline, run->name, sql, nparams, types, params);
		return NULL;
	}
	/* A connection that broke in pipeline mode stays in it: no result. */
	if ((!run->pipeline || !pipeline_take(run->pipeline, sql, nparams, types, params, &res)) &&
	    PQpipelineStatus(conn) == PQ_PIPELINE_OFF) {
		char *marked = pgx_sql_marked_as(run->name, sql);

		res = PQexecParams(conn, marked, nparams, types, params, NULL, NULL, 0);
		free(marked);
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	msg = pgx_pq_error_line(conn, res, PGX_PQ_SQLSTATE);
	section_missing(run, pgx_rec_type(run->rec), "%s%s", msg,
			timeout_hint(run, state, hint, sizeof(hint)));
	if (!degrades_only(state))
		run->failed = true;
	free(msg);
	PQclear(res);
	return NULL;
}

PGresult *section_query(struct section_run *run, const char *sql,
			int nparams, const char *const *params)
{
	return section_query_typed(run, sql, nparams, NULL, params);
}

static json_t *numeric_value(const char *text)
{
	char *end;

	if (!strpbrk(text, ".eEnN")) {
		errno = 0;
		long long v = strtoll(text, &end, 10);
		if (!errno && !*end)
			return json_integer(v);
	}
	double d = strtod(text, &end);
	return *end ? json_string(text) : json_real(d);
}

json_t *result_value(const PGresult *res, int row, int col)
{
	const char *text = PQgetvalue(res, row, col);

	if (PQgetisnull(res, row, col))
		return json_null();
	switch (PQftype(res, col)) {
	case OID_BOOL:
		return json_boolean(text[0] == 't');
	case OID_INT2: case OID_INT4: case OID_INT8: case OID_OID:
	case OID_FLOAT4: case OID_FLOAT8: case OID_NUMERIC:
		return numeric_value(text);
	case OID_JSON: case OID_JSONB: {
		json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
		return v ? v : json_string(text);
	}
	default: {
		long bad;
		return pgx_json_text(text, strlen(text), &bad);
	}
	}
}

void result_merge_row(json_t *rec, const PGresult *res, int row)
{
	for (int c = 0; c < PQnfields(res); c++)
		json_object_set_new(rec, PQfname(res, c), result_value(res, row, c));
}

json_t *result_row(const PGresult *res, int row)
{
	json_t *obj = json_object();

	result_merge_row(obj, res, row);
	return obj;
}

json_t *result_rows(const PGresult *res)
{
	json_t *rows = json_array();

	for (int r = 0; r < PQntuples(res); r++)
		json_array_append_new(rows, result_row(res, r));
	return rows;
}

char *section_take_text(struct section_run *run, const char *key)
{
	json_t *v = json_object_get(run->rec, key);
	char *text = json_is_string(v) ? pgx_xstrdup(json_string_value(v)) : NULL;

	json_object_del(run->rec, key);
	return text;
}

json_t *section_record(struct section_run *run)
{
	json_t *rec = json_deep_copy(run->rec);

	if (!run->records)
		run->records = json_array();
	json_array_append(run->records, rec);
	json_decref(rec);
	return rec;
}

bool section_merge(struct section_run *run, bool with_top)
{
	return section_merge_top(run, with_top, run->opts->top_n);
}

bool section_merge_top(struct section_run *run, bool with_top, long top_n)
{
	/* typed: any may go unused */
	static const Oid types[3] = { OID_INT8, OID_INT4, OID_BOOL };
	char top[24], qlen[24];
	const char *params[3] = { top, qlen, run->opts->include_self ? "true" : "false" };
	PGresult *res;

	snprintf(top, sizeof(top), "%ld", top_n);
	snprintf(qlen, sizeof(qlen), "%ld", run->opts->query_length);
	res = section_query_typed(run, run->sql, with_top ? 3 : 0, types, with_top ? params : NULL);
	if (!res)
		return false;
	if (PQntuples(res) > 0)
		result_merge_row(run->rec, res, 0);
	PQclear(res);
	return true;
}

char *sql_format(const char *fmt, ...)
{
	va_list ap;
	char *out;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return out;
}

/* Every pgx-poll record leaves through here: query texts (statements,
 * activity, locks, advice, plans) keep utility statements such as ALTER ROLE
 * ... PASSWORD verbatim, since pg_stat_statements replaces constants only in
 * planned statements. */
bool poll_emit(json_t *rec)
{
	pgx_mask_json(rec);
	return pgx_emit(rec);
}
