/* probe.c - what this server and role can show us, asked once per connection */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* Catalog probes rather than version numbers where a feature is optional:
 * pg_stat_statements' schema and version come from pg_extension. */
static const char probe_sql[] =
	"SELECT current_setting('server_version_num')::int,"
	"       pg_catalog.pg_is_in_recovery(),"
	"       r.rolsuper,"
	"       r.rolsuper OR pg_catalog.pg_has_role('pg_monitor', 'USAGE'),"
	"       r.rolsuper OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'),"
	"       (SELECT n.nspname FROM pg_catalog.pg_extension e"
	"          JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
	"         WHERE e.extname = 'pg_stat_statements'),"
	"       (SELECT e.extversion FROM pg_catalog.pg_extension e"
	"         WHERE e.extname = 'pg_stat_statements')"
	"  FROM pg_catalog.pg_roles r WHERE r.rolname = current_user";

static char *maybe_dup(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : pgx_xstrdup(PQgetvalue(res, 0, col));
}

bool server_probe(struct poll_conn *pc)
{
	PGresult *res = PQexec(pc->conn, probe_sql);
	struct server_info *srv = &pc->srv;
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (!ok) {
		pgx_error("cannot probe the server: %s", PQerrorMessage(pc->conn));
		PQclear(res);
		return false;
	}
	server_info_clear(srv);
	srv->version_num = atoi(PQgetvalue(res, 0, 0));
	srv->in_recovery = PQgetvalue(res, 0, 1)[0] == 't';
	srv->superuser = PQgetvalue(res, 0, 2)[0] == 't';
	srv->pg_monitor = PQgetvalue(res, 0, 3)[0] == 't';
	srv->read_all_stats = PQgetvalue(res, 0, 4)[0] == 't';
	srv->pgss_schema = maybe_dup(res, 5);
	srv->pgss_version = maybe_dup(res, 6);
	PQclear(res);
	return true;
}

void server_info_clear(struct server_info *srv)
{
	free(srv->pgss_schema);
	free(srv->pgss_version);
	memset(srv, 0, sizeof(*srv));
}
