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

void section_missing(struct section_run *run, const char *what, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!run->missing)
		run->missing = json_array();
	json_array_append_new(run->missing, json_pack("{s:s, s:s}", "what", what, "why", why));
}

PGresult *section_query_typed(struct section_run *run, const char *sql, int nparams,
			     const Oid *types, const char *const *params)
{
	PGconn *conn = run->pc->conn;
	PGresult *res = NULL;
	const char *state;
	char *msg;

	if (run->pipeline && run->pipeline->recording) {
		pipeline_note(run->pipeline, sql, nparams, types, params);
		return NULL;
	}
	/* A connection that broke in pipeline mode stays in it: no result. */
	if ((!run->pipeline || !pipeline_take(run->pipeline, conn, sql, nparams, types, params,
					       &res)) && PQpipelineStatus(conn) == PQ_PIPELINE_OFF) {
		char *marked = pgx_sql_marked(sql);

		res = PQexecParams(conn, marked, nparams, types, params, NULL, NULL, 0);
		free(marked);
	}
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	msg = pgx_pq_error_line(conn, res, PGX_PQ_SQLSTATE);
	section_missing(run, pgx_rec_type(run->rec), "%s", msg);
	if (!state || (strcmp(state, SQLSTATE_INSUFFICIENT_PRIVILEGE) &&
		       strcmp(state, SQLSTATE_PREREQUISITE_STATE)))
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
	/* typed: any may go unused */
	static const Oid types[3] = { OID_INT8, OID_INT4, OID_BOOL };
	char top[24], qlen[24];
	const char *params[3] = { top, qlen, run->opts->include_self ? "true" : "false" };
	PGresult *res;

	snprintf(top, sizeof(top), "%ld", run->opts->top_n);
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
