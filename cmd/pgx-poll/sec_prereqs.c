/* sec_prereqs.c - what the other sections need, checked in one place */
#include "pgx.h"
#include "poll.h"

/* $1 = whether pg_stat_statements is installed in this database (from the probe).
 * grants: the statements a DBA runs (as a superuser) to give each degraded
 * section its data in this database, the same predicates as the sections'
 * own: bloat reads pg_stats, which shows a column only to a role that may
 * SELECT it; sequences read last_value, which needs SELECT on the sequence
 * (USAGE would allow nextval, which the guard refuses). */
const char sql_prereqs[] =
	/* a role without pg_read_all_settings may not see
	 * shared_preload_libraries: null for it, where current_setting() fails
	 * (pg_settings would hide it too, but builds every setting's row) */
	"WITH spl AS (SELECT CASE WHEN pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')"
	" THEN current_setting('shared_preload_libraries') END AS v),\n"
	"preloaded AS (SELECT v ~ '(^|[ ,])pg_stat_statements($|[ ,])' AS yes FROM spl),\n"
	"hidden AS (\n"
	"  SELECT n.nspname, c.relkind = 'S' AS is_seq\n"
	"    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"   WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND n.nspname !~ '^pg_(toast|temp_)'\n"
	"     AND CASE WHEN c.relkind = 'S' THEN NOT pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')\n"
	"              ELSE NOT pg_catalog.has_table_privilege(c.oid, 'SELECT') END\n"
	"   GROUP BY 1, 2),\n"
	"g(n, section, sql) AS (\n"
	"  SELECT 1, 'activity, locks, replication, statements, identity',\n"
	"         pg_catalog.format('GRANT pg_monitor TO %I;', current_user)\n"
	"   WHERE NOT pg_catalog.pg_has_role('pg_monitor', 'USAGE')\n"
	"  UNION ALL SELECT 2, 'activity, statements',\n"
	"         pg_catalog.format('GRANT pg_read_all_stats TO %I;', current_user)\n"
	"   WHERE NOT pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')\n"
	"     AND pg_catalog.pg_has_role('pg_monitor', 'USAGE')\n"
	"  UNION ALL SELECT 3, 'identity',\n"
	"         pg_catalog.format('GRANT EXECUTE ON FUNCTION pg_catalog.pg_control_system() TO %I;',\n"
	"                           current_user)\n"
	"   WHERE NOT pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')\n"
	"     AND pg_catalog.pg_has_role('pg_monitor', 'USAGE')\n"
	"  UNION ALL SELECT 4, 'statements',\n"
	"         pg_catalog.format('ALTER SYSTEM SET shared_preload_libraries = %L;',\n"
	"           concat_ws(', ', nullif((SELECT v FROM spl), ''), 'pg_stat_statements'))\n"
	"   WHERE NOT (SELECT yes FROM preloaded)\n"
	"  UNION ALL SELECT 5, 'statements', 'CREATE EXTENSION pg_stat_statements;'\n"
	"   WHERE NOT $1::bool\n"
	"  UNION ALL SELECT 6, 'bloat',\n"
	"         pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I;', nspname, current_user)\n"
	"    FROM hidden WHERE NOT is_seq\n"
	"  UNION ALL SELECT 7, 'sequences',\n"
	"         pg_catalog.format('GRANT SELECT ON ALL SEQUENCES IN SCHEMA %I TO %I;', nspname,\n"
	"                           current_user)\n"
	"    FROM hidden WHERE is_seq),\n"
	"c(name, ok, detail) AS (VALUES\n"
	"  ('pg_stat_statements',\n"
	"   $1::bool AND coalesce((SELECT yes FROM preloaded), false),\n"
	"   CASE WHEN (SELECT yes FROM preloaded) IS NULL\n"
	"        THEN 'shared_preload_libraries is not visible to this role (pg_monitor)'\n"
	"        WHEN NOT (SELECT yes FROM preloaded)\n"
	"        THEN 'not in shared_preload_libraries (restart needed)'\n"
	"        WHEN NOT $1::bool THEN 'not installed in database ' || current_database()\n"
	"        ELSE 'loaded and installed' END),\n"
	"  ('track_counts', current_setting('track_counts')::bool,\n"
	"   'track_counts = ' || current_setting('track_counts')),\n"
	"  ('track_io_timing', current_setting('track_io_timing')::bool,\n"
	"   'track_io_timing = ' || current_setting('track_io_timing')),\n"
	"  ('track_activity_query_size',\n"
	"   pg_catalog.pg_size_bytes(current_setting('track_activity_query_size')) >= 4096,\n"
	"   'track_activity_query_size = ' || current_setting('track_activity_query_size')),\n"
	"  ('pg_monitor',\n"
	"   pg_catalog.pg_has_role('pg_monitor', 'USAGE'),\n"
	"   CASE WHEN pg_catalog.pg_has_role('pg_monitor', 'USAGE') THEN 'member of pg_monitor'\n"
	"        ELSE 'not a member of pg_monitor: some sections are degraded' END),\n"
	"  ('pg_read_all_stats',\n"
	"   pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'),\n"
	"   CASE WHEN pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')\n"
	"        THEN 'query texts of every session visible'\n"
	"        ELSE 'other users'' query texts hidden' END))\n"
	"SELECT pg_catalog.json_agg(pg_catalog.json_build_object('name', name, 'ok', ok,"
	" 'detail', detail)) AS checks,\n"
	"       (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object("
	"'section', section, 'sql', sql) ORDER BY n, sql), '[]') FROM g) AS grants\n"
	"  FROM c";

static void add_check(json_t *checks, const char *name, bool ok, const char *detail)
{
	json_array_append_new(checks, json_pack("{s:s, s:b, s:s}", "name", name, "ok", ok,
						"detail", detail));
}

void collect_prereqs(struct section_run *run)
{
	const struct server_info *srv = &run->pc->srv;
	const char *installed = srv->pgss_schema ? "true" : "false";
	PGresult *res = section_query(run, run->sql, 1, &installed);
	json_t *checks;

	if (!res)
		return;
	result_merge_row(run->rec, res, 0);
	PQclear(res);
	checks = json_object_get(run->rec, "checks");
	if (!json_is_array(checks))
		return;
	add_check(checks, "superuser", !srv->superuser,
		  srv->superuser ? "connected as a superuser (--allow-privileged)" : "not a superuser");
	add_check(checks, "can_write_user_tables", srv->writable_tables == 0,
		  srv->writable_tables ? "the session can write user tables (--allow-privileged)"
				       : "no user table writable by this session");
}
