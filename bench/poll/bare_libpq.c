/* bare_libpq.c - the smallest libpq client: connect, SELECT 1, exit.
 * bench/poll compares pgx-poll's peak RSS with this program's.
 * Usage: bare_libpq CONNINFO */
#include <stdio.h>
#include <libpq-fe.h>

int main(int argc, char **argv)
{
	PGconn *conn = PQconnectdb(argc > 1 ? argv[1] : "");
	PGresult *res;
	int ok;

	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "bare_libpq: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 4;
	}
	res = PQexec(conn, "SELECT 1");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (ok)
		printf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return ok ? 0 : 1;
}
