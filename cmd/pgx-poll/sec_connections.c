/* sec_connections.c - client connections by state against max_connections */
/* by_state has every state, 0 included, so its keys (series) never churn; a
 * state this server version does not know stays 0.  pgx-poll's own session
 * counts: it is one of the connections. */
#include "pgx.h"
#include "poll.h"

const char sql_connections[] =
	"SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS total,\n"
	"       current_setting('max_connections')::int AS max_connections,\n"
	"       current_setting('superuser_reserved_connections')::int"
	"         AS superuser_reserved_connections,\n"
	"       round(100.0 * count(*) FILTER (WHERE backend_type = 'client backend')"
	"             / current_setting('max_connections')::int, 2) AS used_pct,\n"
	"       (SELECT pg_catalog.json_object_agg(k.state, coalesce(s.n, 0) ORDER BY k.i)\n"
	"          FROM (VALUES (1, 'active'), (2, 'idle'), (3, 'idle in transaction'),\n"
	"                       (4, 'idle in transaction (aborted)'), (5, 'fastpath function call'),\n"
	"                       (6, 'disabled'), (7, 'null')) k(i, state)\n"
	"          LEFT JOIN (SELECT coalesce(state, 'null') AS state, count(*) AS n\n"
	"                       FROM pg_catalog.pg_stat_activity\n"
	"                      WHERE backend_type = 'client backend' GROUP BY 1) s USING (state))"
	" AS by_state,\n"
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
