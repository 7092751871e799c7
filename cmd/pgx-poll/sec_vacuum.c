/* sec_vacuum.c - running vacuums, dead tuples per table, stale statistics */
#include "pgx.h"
#include "poll.h"

/* Tables are ranked on the three counters the ranking and the stale test
 * need (the pg_stat_get_* functions behind pg_stat_user_tables, called
 * directly), by bounded sorts; the dozen others, the name and the reloptions
 * are read for the Top-N only, and other is the whole less the Top-N.
 * PostgreSQL 17 counts dead items (num_dead_item_ids) and their memory
 * (dead_tuple_bytes) where 12..16 counted tuples (num_dead_tuples).  The
 * stale test reads the two settings in sub-selects, evaluated once: a bare
 * current_setting() is called again for every table (a quarter of the
 * statement's time at 2,000 tables). */
char *sql_vacuum(const struct server_info *srv, const char **why)
{
	bool v17 = server_has(srv, FEAT_VACUUM_DEAD_TUPLE_BYTES);

	return sql_format(
		"WITH base AS (\n"
		"  SELECT c.oid, n.nspname, c.relname,\n"
		"         pg_catalog.pg_stat_get_live_tuples(c.oid) AS n_live_tup,\n"
		"         pg_catalog.pg_stat_get_dead_tuples(c.oid) AS n_dead_tup,\n"
		"         pg_catalog.pg_stat_get_mod_since_analyze(c.oid) AS n_mod_since_analyze\n"
		"    FROM pg_catalog.pg_class c\n"
		"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
		"   WHERE c.relkind IN ('r', 'm', 'p')\n"
		"     AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
		"     AND n.nspname !~ '^pg_toast'),\n"
		"top AS (SELECT * FROM base ORDER BY n_dead_tup DESC, nspname, relname LIMIT $1),\n"
		"t AS (\n"
		"  SELECT top.nspname || '.' || top.relname AS relation, n_live_tup, n_dead_tup,\n"
		"         row_number() OVER (ORDER BY n_dead_tup DESC, top.nspname, top.relname) AS rn,\n"
		"         round(100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0), 2) AS dead_pct,\n"
		"         n_mod_since_analyze,\n"
		"         extract(epoch FROM pg_catalog.pg_stat_get_last_vacuum_time(top.oid))::float8"
		" AS last_vacuum_ts,\n"
		"         extract(epoch FROM pg_catalog.pg_stat_get_last_autovacuum_time(top.oid))::float8"
		" AS last_autovacuum_ts,\n"
		"         extract(epoch FROM pg_catalog.pg_stat_get_last_analyze_time(top.oid))::float8"
		" AS last_analyze_ts,\n"
		"         extract(epoch FROM pg_catalog.pg_stat_get_last_autoanalyze_time(top.oid))::float8"
		" AS last_autoanalyze_ts,\n"
		"         pg_catalog.pg_stat_get_vacuum_count(top.oid) AS vacuum_count,\n"
		"         pg_catalog.pg_stat_get_autovacuum_count(top.oid) AS autovacuum_count,\n"
		"         pg_catalog.pg_stat_get_analyze_count(top.oid) AS analyze_count,\n"
		"         pg_catalog.pg_stat_get_autoanalyze_count(top.oid) AS autoanalyze_count,\n"
		"         (SELECT c.reloptions IS NULL OR coalesce((SELECT o.option_value::bool\n"
		"                     FROM pg_catalog.pg_options_to_table(c.reloptions) o\n"
		"                    WHERE o.option_name = 'autovacuum_enabled'), true)\n"
		"            FROM pg_catalog.pg_class c WHERE c.oid = top.oid) AS autovacuum_enabled\n"
		"    FROM top),\n"
		"stale_all AS (\n"
		"  SELECT oid, nspname, relname, n_mod_since_analyze FROM base\n"
		"   WHERE n_mod_since_analyze > (SELECT current_setting('autovacuum_analyze_threshold')::float8)\n"
		"         + (SELECT current_setting('autovacuum_analyze_scale_factor')::float8) * n_live_tup),\n"
		"stale_top AS (\n"
		"  SELECT * FROM stale_all ORDER BY n_mod_since_analyze DESC, nspname, relname LIMIT $1),\n"
		"stale AS (\n"
		"  SELECT nspname || '.' || relname AS relation, n_mod_since_analyze,\n"
		"         row_number() OVER (ORDER BY n_mod_since_analyze DESC, nspname, relname) AS rn,\n"
		"         extract(epoch FROM now() - greatest(\n"
		"           pg_catalog.pg_stat_get_last_analyze_time(oid),\n"
		"           pg_catalog.pg_stat_get_last_autoanalyze_time(oid)))::float8 AS last_analyze_age_s\n"
		"    FROM stale_top),\n"
		"run AS (\n"
		"  SELECT p.pid, p.datname,\n"
		"         (SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c\n"
		"            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
		"           WHERE c.oid = p.relid AND p.datname = current_database()) AS relation,\n"
		"         p.phase, p.heap_blks_total, p.heap_blks_scanned, p.heap_blks_vacuumed,\n"
		"         round(100.0 * p.heap_blks_scanned / nullif(p.heap_blks_total, 0), 2)"
		" AS progress_pct,\n"
		"         p.index_vacuum_count, %s AS dead_tuples, %s AS max_dead_tuples,\n"
		"         %s AS dead_tuple_bytes, %s AS max_dead_tuple_bytes,\n"
		"         extract(epoch FROM now() - a.xact_start)::float8 AS elapsed_s,\n"
		"         a.backend_type = 'autovacuum worker' AS autovacuum,\n"
		"         CASE WHEN a.query IS NOT NULL AND a.query <> '<insufficient privilege>'\n"
		"              THEN a.query LIKE '%%(to prevent wraparound)%%' END AS is_wraparound\n"
		"    FROM pg_catalog.pg_stat_progress_vacuum p\n"
		"    LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = p.pid)\n"
		"SELECT (SELECT count(*) FROM run) AS running_count,\n"
		"       (SELECT coalesce(json_agg(json_build_object('pid', pid, 'datname', datname,\n"
		"                 'relation', relation, 'phase', phase, 'heap_blks_total', heap_blks_total,\n"
		"                 'heap_blks_scanned', heap_blks_scanned,\n"
		"                 'heap_blks_vacuumed', heap_blks_vacuumed, 'progress_pct', progress_pct,\n"
		"                 'index_vacuum_count', index_vacuum_count, 'dead_tuples', dead_tuples,\n"
		"                 'max_dead_tuples', max_dead_tuples, 'dead_tuple_bytes', dead_tuple_bytes,\n"
		"                 'max_dead_tuple_bytes', max_dead_tuple_bytes, 'elapsed_s', elapsed_s,\n"
		"                 'autovacuum', autovacuum, 'is_wraparound', is_wraparound)\n"
		"                 ORDER BY elapsed_s DESC NULLS LAST, pid), '[]')\n"
		"          FROM (SELECT * FROM run ORDER BY elapsed_s DESC NULLS LAST, pid LIMIT $1) r)"
		" AS running,\n"
		"       (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
		"                 'n_live_tup', n_live_tup, 'n_dead_tup', n_dead_tup, 'dead_pct', dead_pct,\n"
		"                 'n_mod_since_analyze', n_mod_since_analyze,\n"
		"                 'last_vacuum_ts', last_vacuum_ts, 'last_autovacuum_ts', last_autovacuum_ts,\n"
		"                 'last_analyze_ts', last_analyze_ts,\n"
		"                 'last_autoanalyze_ts', last_autoanalyze_ts,\n"
		"                 'vacuum_count_total', vacuum_count,\n"
		"                 'autovacuum_count_total', autovacuum_count,\n"
		"                 'analyze_count_total', analyze_count,\n"
		"                 'autoanalyze_count_total', autoanalyze_count,\n"
		"                 'autovacuum_enabled', autovacuum_enabled) ORDER BY rn), '[]')\n"
		"          FROM t) AS tables,\n"
		"       (SELECT json_build_object('count', count(*) - (SELECT count(*) FROM top),\n"
		"                 'n_live_tup', coalesce(sum(n_live_tup), 0)"
		" - (SELECT coalesce(sum(n_live_tup), 0) FROM top),\n"
		"                 'n_dead_tup', coalesce(sum(n_dead_tup), 0)"
		" - (SELECT coalesce(sum(n_dead_tup), 0) FROM top))\n"
		"          FROM base) AS other,\n"
		"       (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
		"                 'n_mod_since_analyze', n_mod_since_analyze,\n"
		"                 'last_analyze_age_s', last_analyze_age_s) ORDER BY rn), '[]')\n"
		"          FROM stale) AS stale_stats,\n"
		"       (SELECT json_build_object('count', count(*) - (SELECT count(*) FROM stale_top),\n"
		"                 'n_mod_since_analyze', coalesce(sum(n_mod_since_analyze), 0)"
		" - (SELECT coalesce(sum(n_mod_since_analyze), 0) FROM stale_top))\n"
		"          FROM stale_all) AS stale_stats_other",
		v17 ? "p.num_dead_item_ids" : "p.num_dead_tuples",
		v17 ? "NULL::bigint" : "p.max_dead_tuples",
		v17 ? "p.dead_tuple_bytes" : "NULL::bigint",
		v17 ? "p.max_dead_tuple_bytes" : "NULL::bigint");
}

void collect_vacuum(struct section_run *run)
{
	section_merge(run, true);
}
