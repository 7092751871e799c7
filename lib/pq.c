/* pq.c - libpq sessions the pgx way: environment, timeouts, read-only, cancel */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "pgx_mask.h"

static PGcancel *volatile active_cancel;

static void cancel_active_query(void)
{
	char errbuf[256];
	PGcancel *cancel = active_cancel;

	if (cancel)
		PQcancel(cancel, errbuf, sizeof(errbuf));
}

/* libpq messages span lines: "...failed: ...\n\tIs the server running ...?\n".
 * Line breaks, with the blank lines and indentation after them, become
 * "; ", or a space when an indented line goes on in lowercase ("terminated
 * abnormally\n\tbefore or while ..."); none is left at either end. */
char *pgx_pq_one_line(const char *msg)
{
	char *out = pgx_xmalloc(strlen(msg) * 2 + 1), *o = out;

	for (const char *p = msg; *p; p++) {
		bool indented = p[1] == '\t' || p[1] == ' ';

		if (*p != '\n') {
			*o++ = *p;
			continue;
		}
		while (p[1] == '\t' || p[1] == ' ' || p[1] == '\n')
			p++;
		if (!p[1] || o == out)
			continue;
		if (!indented || !(p[1] >= 'a' && p[1] <= 'z'))
			*o++ = ';';
		*o++ = ' ';
	}
	while (o > out && (o[-1] == ' ' || o[-1] == '\t'))
		o--;
	*o = '\0';
	return out;
}

/* line + before + value + after, when the server sent the field. */
static void append_field(char **line, const char *before, const char *value, const char *after)
{
	char *flat, *joined;

	if (!value || !*value)
		return;
	flat = pgx_pq_one_line(value);
	if (asprintf(&joined, "%s%s%s%s", *line, before, flat, after) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	free(flat);
	free(*line);
	*line = joined;
}

/* The server's message and the parts asked for; NULL without one. */
static char *server_message(const PGresult *res, unsigned what)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char *line;

	if (!primary)
		return NULL;
	line = pgx_pq_one_line(primary);
	if (what & PGX_PQ_DETAIL)
		append_field(&line, "; DETAIL: ", PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), "");
	if (what & PGX_PQ_HINT)
		append_field(&line, "; HINT: ", PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), "");
	if (what & PGX_PQ_SQLSTATE)
		append_field(&line, " (SQLSTATE ", PQresultErrorField(res, PG_DIAG_SQLSTATE), ")");
	return line;
}

char *pgx_pq_error_line(const PGconn *conn, const PGresult *res, unsigned what)
{
	char *line = server_message(res, what), *masked;

	/* else libpq's own message (connection lost, out of memory): no fields */
	if (!line)
		line = pgx_pq_one_line(conn ? PQerrorMessage(conn) : "no connection");
	if (!*line) {
		free(line);
		return pgx_xstrdup("no result from the server");
	}
	/* a DETAIL may quote a statement, and libpq a connection string */
	masked = pgx_mask_secrets_dup(line);
	free(line);
	return masked;
}

bool pgx_pq_pooled(PGconn *conn)
{
	PGresult *res = PQexec(conn, PGX_SQL_MARK "/* pooler */ SELECT pg_catalog.pg_backend_pid()");
	bool pooled = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		      atoi(PQgetvalue(res, 0, 0)) != PQbackendPID(conn);

	PQclear(res);
	return pooled;
}

/* The session settings in one round trip: SET statements of one simple
 * query, committed together (or, if one fails, none); none through a
 * pooler.  NULL, or why not (malloc'd). */
static char *session_settings_failure(PGconn *conn, const struct pgx_pq_options *opt)
{
	char sql[256], *why = NULL;
	size_t len = 0;
	PGresult *res;

	if (opt->pooled)
		*opt->pooled = false;
	if (opt->statement_timeout_ms <= 0 && opt->lock_timeout_ms <= 0 && !opt->read_only)
		return NULL;
	if (pgx_pq_pooled(conn)) {
		if (opt->pooled)
			*opt->pooled = true;
		return NULL;
	}
	sql[0] = '\0';
	if (opt->statement_timeout_ms > 0)
		len += snprintf(sql + len, sizeof(sql) - len, PGX_SQL_MARK "SET statement_timeout = %d; ",
				opt->statement_timeout_ms);
	if (opt->lock_timeout_ms > 0)
		len += snprintf(sql + len, sizeof(sql) - len, PGX_SQL_MARK "SET lock_timeout = %d; ",
				opt->lock_timeout_ms);
	if (opt->read_only)
		len += snprintf(sql + len, sizeof(sql) - len, PGX_SQL_MARK "SET default_transaction_read_only = on; ");
	sql[len - 2] = '\0';	/* the last "; " */
	res = PQexec(conn, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char *msg = pgx_pq_error_line(conn, res, PGX_PQ_DETAIL | PGX_PQ_HINT);

		if (asprintf(&why, "%s: %s", sql, msg) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		free(msg);
	}
	PQclear(res);
	return why;
}

static PGconn *connect_params(const char *dsn, int connect_timeout_s)
{
	char timeout[16];
	const char *keys[4], *values[4];
	int n = 0;

	keys[n] = "dbname", values[n++] = dsn;
	keys[n] = "fallback_application_name", values[n++] = pgx_progname();
	if (connect_timeout_s > 0) {
		snprintf(timeout, sizeof(timeout), "%d", connect_timeout_s);
		keys[n] = "connect_timeout", values[n++] = timeout;
	}
	keys[n] = NULL, values[n] = NULL;
	/* A NULL or empty dbname leaves PG* variables, the service file and .pgpass in charge. */
	return PQconnectdbParams(keys, values, 1);
}

char *pgx_pq_conn_error(const PGconn *conn, const char *dsn)
{
	char *line = pgx_pq_error_line(conn, NULL, 0), *msg = pgx_mask_conn_message(line, dsn);

	free(line);
	return msg;
}

PGconn *pgx_pq_connect_beside(const struct pgx_pq_options *opt, char **why)
{
	PGconn *conn = connect_params(opt->dsn, opt->connect_timeout_s);

	if (!conn)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	*why = PQstatus(conn) == CONNECTION_OK ? session_settings_failure(conn, opt)
					       : pgx_pq_conn_error(conn, opt->dsn);
	if (!*why)
		return conn;
	PQfinish(conn);
	return NULL;
}

PGconn *pgx_pq_connect(const struct pgx_pq_options *opt)
{
	char *why;
	bool pooled = false;
	struct pgx_pq_options own = *opt;
	PGconn *conn;

	own.pooled = &pooled;
	if (!(conn = pgx_pq_connect_beside(&own, &why))) {
		pgx_error("%s", why);
		free(why);
		return NULL;
	}
	if (opt->pooled)
		*opt->pooled = pooled;
	if (pooled)
		pgx_warn("a connection pooler is between %s and PostgreSQL (the server's backend pid is not"
			 " the one the connection reported): the session's timeouts and read-only default are"
			 " left unset, since the pooler would hand them on to other clients' sessions",
			 pgx_progname());
	active_cancel = PQgetCancel(conn);
	pgx_set_stop_hook(cancel_active_query);
	return conn;
}

void pgx_pq_finish(PGconn *conn)
{
	PGcancel *cancel = active_cancel;

	if (!conn)
		return;
	pgx_set_stop_hook(NULL);
	active_cancel = NULL;
	if (cancel)
		PQfreeCancel(cancel);
	PQfinish(conn);
}

PGPing pgx_pq_ping(const char *dsn, int connect_timeout_s)
{
	char timeout[16];
	const char *keys[4] = { "dbname", "fallback_application_name", NULL, NULL };
	const char *values[4] = { dsn, pgx_progname(), NULL, NULL };

	if (connect_timeout_s > 0) {
		snprintf(timeout, sizeof(timeout), "%d", connect_timeout_s);
		keys[2] = "connect_timeout", values[2] = timeout;
	}
	return PQpingParams(keys, values, 1);
}

char *pgx_pq_redact(const char *dsn)
{
	PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", NULL);
	char *out, *o;
	size_t cap = 1;

	if (!opts)
		return pgx_xstrdup("(invalid connection string)");
	for (PQconninfoOption *p = opts; p->keyword; p++)
		if (p->val)
			cap += strlen(p->keyword) + 2 * strlen(p->val) + 16;
	out = o = pgx_xmalloc(cap);
	*o = '\0';
	for (PQconninfoOption *p = opts; p->keyword; p++) {
		if (!p->val)
			continue;
		o += sprintf(o, "%s%s='", o == out ? "" : " ", p->keyword);
		if (!strcmp(p->keyword, "password"))
			o += sprintf(o, "********");
		else
			for (const char *v = p->val; *v; v++) {
				if (*v == '\'' || *v == '\\')
					*o++ = '\\';
				*o++ = *v;
			}
		*o++ = '\'', *o = '\0';
	}
	PQconninfoFree(opts);
	return out;
}

char *pgx_sql_marked(const char *sql)
{
	return pgx_sql_marked_as(NULL, sql);
}

char *pgx_sql_marked_as(const char *tag, const char *sql)
{
	char *out;
	int n = tag ? asprintf(&out, "%s/* %s */ %s", PGX_SQL_MARK, tag, sql)
		    : asprintf(&out, "%s%s", PGX_SQL_MARK, sql);

	if (n < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return out;
}
