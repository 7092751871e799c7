/* sec_connections.c - client connections by state against max_connections */
#include "pgx.h"
#include "poll.h"

const char sql_connections[] =
	"SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS total,\n"
	"       current_setting('max_connections')::int AS max_connections,\n"
	"       current_setting('superuser_reserved_connections')::int"
	"         AS superuser_reserved_connections,\n"
	"       round(100.0 * count(*) FILTER (WHERE backend_type = 'client backend')"
	"             / current_setting('max_connections')::int, 2) AS used_pct,\n"
	"       (SELECT pg_catalog.json_object_agg(coalesce(state, 'null'), n)\n"
	"          FROM (SELECT state, count(*) AS n FROM pg_catalog.pg_stat_activity\n"
	"                 WHERE backend_type = 'client backend' GROUP BY state) s) AS by_state,\n"
	"       (SELECT pg_catalog.json_object_agg(coalesce(backend_type, 'null'), n)\n"
	"          FROM (SELECT backend_type, count(*) AS n FROM pg_catalog.pg_stat_activity\n"
	"                 GROUP BY backend_type) b) AS by_backend_type\n"
	"  FROM pg_catalog.pg_stat_activity";

void collect_connections(struct section_run *run)
{
	PGresult *res = section_query(run, sql_connections, 0, NULL);

	if (!res)
		return;
	result_merge_row(run->rec, res, 0);
	PQclear(res);
}
