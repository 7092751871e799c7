/* sec_activity.c - long transactions, idle in transaction, holders of the xmin horizon */
#include <stdio.h>
#include "pgx.h"
#include "poll.h"

/* $1 = --top, $2 = --query-length is unused here (200 characters, enough to
 * recognise a session), $3 = --long-xact seconds.  pgx-poll's own session is
 * left out.  A query hidden from this role (another user's session without
 * pg_read_all_stats) is NULL, not "<insufficient privilege>". */
const char sql_activity[] =
	"WITH a AS (\n"
	"  SELECT pid, usename, datname, application_name, state, backend_type,\n"
	"         extract(epoch FROM now() - xact_start)::float8 AS xact_age_s,\n"
	"         extract(epoch FROM now() - query_start)::float8 AS query_age_s,\n"
	"         extract(epoch FROM now() - state_change)::float8 AS state_age_s,\n"
	"         wait_event_type, wait_event, pg_catalog.age(backend_xmin) AS backend_xmin_age,\n"
	"         pg_catalog.age(backend_xid) AS backend_xid_age,\n"
	"         CASE WHEN query <> '<insufficient privilege>' THEN left(query, 200) END AS query\n"
	"    FROM pg_catalog.pg_stat_activity\n"
	"   WHERE pid <> pg_catalog.pg_backend_pid() AND pid <> ALL ($4)),\n"
	"l AS (SELECT *, row_number() OVER (ORDER BY xact_age_s DESC, pid) AS rn\n"
	"        FROM a WHERE xact_age_s >= $3),\n"
	"h AS (SELECT 'backend' AS kind, pid, NULL::text AS name,\n"
	"             greatest(backend_xid_age, backend_xmin_age) AS xmin_age\n"
	"        FROM a WHERE backend_xmin_age IS NOT NULL OR backend_xid_age IS NOT NULL\n"
	"      UNION ALL\n"
	"      SELECT 'replication_slot', NULL, slot_name::text,\n"
	"             greatest(pg_catalog.age(xmin), pg_catalog.age(catalog_xmin))\n"
	"        FROM pg_catalog.pg_replication_slots\n"
	"       WHERE xmin IS NOT NULL OR catalog_xmin IS NOT NULL\n"
	"      UNION ALL\n"
	"      SELECT 'prepared_xact', NULL, gid, pg_catalog.age(transaction)\n"
	"        FROM pg_catalog.pg_prepared_xacts\n"
	"      UNION ALL\n"
	"      SELECT 'standby_feedback', pid, application_name, pg_catalog.age(backend_xmin)\n"
	"        FROM pg_catalog.pg_stat_replication WHERE backend_xmin IS NOT NULL),\n"
	"hr AS (SELECT *, row_number() OVER (ORDER BY xmin_age DESC, kind, name, pid) AS rn FROM h)\n"
	"SELECT (SELECT max(xact_age_s) FROM a WHERE backend_type = 'client backend')"
	" AS oldest_xact_age_s,\n"
	"       (SELECT max(query_age_s) FROM a WHERE state = 'active'"
	" AND backend_type = 'client backend') AS oldest_query_age_s,\n"
	"       (SELECT count(*) FROM a WHERE state LIKE 'idle in transaction%') AS idle_in_xact_count,\n"
	"       (SELECT max(state_age_s) FROM a WHERE state LIKE 'idle in transaction%')"
	" AS idle_in_xact_max_age_s,\n"
	"       $3::float8 AS long_xact_threshold_s,\n"
	"       (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(\n"
	"          'pid', pid, 'usename', usename, 'datname', datname,\n"
	"          'application_name', application_name, 'state', state,\n"
	"          'backend_type', backend_type, 'xact_age_s', xact_age_s,\n"
	"          'query_age_s', query_age_s, 'state_age_s', state_age_s,\n"
	"          'wait_event_type', wait_event_type, 'wait_event', wait_event,\n"
	"          'backend_xmin_age', backend_xmin_age, 'query', query) ORDER BY rn), '[]')\n"
	"          FROM l WHERE rn <= $1) AS long_xacts,\n"
	"       (SELECT pg_catalog.json_build_object('count', count(*),\n"
	"          'idle_in_xact_count', count(*) FILTER (WHERE state LIKE 'idle in transaction%'))\n"
	"          FROM l WHERE rn > $1) AS long_xacts_other,\n"
	"       (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_strip_nulls(\n"
	"          pg_catalog.json_build_object('kind', kind, 'pid', pid, 'name', name,\n"
	"                                       'xmin_age', xmin_age)) ORDER BY rn), '[]')\n"
	"          FROM hr WHERE rn <= $1) AS xmin_holders,\n"
	"       (SELECT pg_catalog.json_build_object('count', count(*)) FROM hr WHERE rn > $1)"
	" AS xmin_holders_other";

/* pgx-poll's own backends, the --jobs sessions' too, as an int4[] literal:
 * while one runs this query, another may be running (or have just run) a
 * section's, and would show up as the oldest query or an xmin holder.
 * (Through a pooler these are the pooler's numbers, and only the backend
 * running the query is known: pg_backend_pid().) */
static void own_pids(const struct poll_conn *pc, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "{%d", PQbackendPID(pc->conn));

	for (size_t i = 0; i < pc->n_jobs && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, ",%d", PQbackendPID(pc->jobs[i].conn));
	if (n < len)
		snprintf(buf + n, len - n, "}");
}

void collect_activity(struct section_run *run)
{
	static const Oid types[4] = { 20, 23, 701, 1007 };	/* int8, int4, float8, int4[] */
	char top[24], qlen[24], long_xact[32], pids[(POLL_MAX_JOBS + 1) * 12 + 3];
	const char *params[4] = { top, qlen, long_xact, pids };
	PGresult *res;

	snprintf(top, sizeof(top), "%ld", run->opts->top_n);
	snprintf(qlen, sizeof(qlen), "%ld", run->opts->query_length);
	snprintf(long_xact, sizeof(long_xact), "%.3f", run->opts->long_xact_s);
	own_pids(run->pc, pids, sizeof(pids));
	res = section_query_typed(run, run->sql, 4, types, params);
	if (!res)
		return;
	result_merge_row(run->rec, res, 0);
	PQclear(res);
	if (!run->pc->srv.read_all_stats)
		section_missing(run, "query text",
				"role lacks pg_read_all_stats: other users' queries are null");
}
