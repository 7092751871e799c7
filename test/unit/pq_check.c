/* pq_check.c - drives lib/pq.c against a real server for test/lib.bats
 *
 *   pq_check session DSN   connect (read-only, timeouts) and print the
 *                          session's settings as one record
 *   pq_check write DSN     try a write in the read-only session
 *   pq_check sleep DSN     run pg_sleep(30) until SIGINT cancels it
 *   pq_check raise DSN     fail with a DETAIL and a two-line HINT
 *   pq_check redact DSN    print the DSN with its password hidden
 *   pq_check ping DSN      print the PQping result
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"

static json_t *setting_record(PGconn *conn)
{
	static const char *const names[] = { "application_name", "statement_timeout", "lock_timeout",
					      "default_transaction_read_only" };
	json_t *rec = pgx_record_new("session", -1);

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		char sql[96];
		PGresult *res;

		snprintf(sql, sizeof(sql), "SHOW %s", names[i]);
		res = PQexec(conn, sql);
		if (PQresultStatus(res) == PGRES_TUPLES_OK)
			json_object_set_new(rec, names[i], json_string(PQgetvalue(res, 0, 0)));
		PQclear(res);
	}
	return rec;
}

static int run_sql(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok) {
		char *msg = pgx_pq_error_line(conn, res, PGX_PQ_DETAIL | PGX_PQ_HINT);

		pgx_error("%s", msg);
		free(msg);
	}
	PQclear(res);
	return ok ? PGX_EXIT_OK : PGX_EXIT_FAILED;
}

int main(int argc, char **argv)
{
	struct pgx_pq_options opt = { .connect_timeout_s = 5, .statement_timeout_ms = 1234,
				      .lock_timeout_ms = 567, .read_only = true };
	PGconn *conn;
	int status;
	char *s;

	pgx_init(argv[0]);
	pgx_install_signals();
	if (argc != 3)
		pgx_usage_error("expected a mode and a DSN");
	opt.dsn = argv[2];
	if (!strcmp(argv[1], "redact")) {
		printf("%s\n", s = pgx_pq_redact(argv[2]));
		free(s);
		return PGX_EXIT_OK;
	}
	if (!strcmp(argv[1], "ping"))
		return printf("%d\n", (int)pgx_pq_ping(argv[2], 5)) < 0 ? PGX_EXIT_OUTPUT : PGX_EXIT_OK;
	if (!strcmp(argv[1], "sleep"))
		opt.statement_timeout_ms = 0;
	if (!(conn = pgx_pq_connect(&opt)))
		return PGX_EXIT_CONNECT;
	if (!strcmp(argv[1], "session"))
		status = pgx_emit(setting_record(conn)) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
	else if (!strcmp(argv[1], "write"))
		status = run_sql(conn, "CREATE TABLE pq_check_t (i int)");
	else if (!strcmp(argv[1], "raise"))
		status = run_sql(conn, "DO $$BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'the detail',"
				 " HINT = E'a hint\non two lines'; END$$");
	else
		status = run_sql(conn, "SELECT pg_sleep(30)");
	if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	pgx_pq_finish(conn);
	return pgx_finish(status);
}
