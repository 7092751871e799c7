/* sec_prereqs.c - what the other sections need, checked in one place */
#include "pgx.h"
#include "poll.h"

/* $1 = whether pg_stat_statements is installed in this database (from the probe). */
const char sql_prereqs[] =
	"WITH c(name, ok, detail) AS (VALUES\n"
	"  ('pg_stat_statements',\n"
	"   $1::bool AND current_setting('shared_preload_libraries') ~ '(^|[ ,])pg_stat_statements($|[ ,])',\n"
	"   CASE WHEN current_setting('shared_preload_libraries') !~ '(^|[ ,])pg_stat_statements($|[ ,])'\n"
	"        THEN 'not in shared_preload_libraries (restart needed)'\n"
	"        WHEN NOT $1::bool THEN 'not installed in database ' || current_database()\n"
	"        ELSE 'loaded and installed' END),\n"
	"  ('track_counts', current_setting('track_counts')::bool,\n"
	"   'track_counts = ' || current_setting('track_counts')),\n"
	"  ('track_io_timing', current_setting('track_io_timing')::bool,\n"
	"   'track_io_timing = ' || current_setting('track_io_timing')),\n"
	"  ('track_activity_query_size',\n"
	"   (SELECT setting::int >= 4096 FROM pg_catalog.pg_settings\n"
	"     WHERE name = 'track_activity_query_size'),\n"
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
	" 'detail', detail)) AS checks\n"
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
