/* sec_vacuum.c - running vacuums, dead tuples per table, stale statistics */
#include "pgx.h"
#include "poll.h"

/* PostgreSQL 17 counts dead items (num_dead_item_ids) and their memory
 * (dead_tuple_bytes) where 12..16 counted tuples (num_dead_tuples). */
char *sql_vacuum(const struct server_info *srv, const char **why)
{
	bool v17 = server_has(srv, FEAT_VACUUM_DEAD_TUPLE_BYTES);

	return sql_format(
		"WITH t AS (\n"
		"  SELECT s.schemaname || '.' || s.relname AS relation, s.n_live_tup, s.n_dead_tup,\n"
		"         round(100.0 * s.n_dead_tup / nullif(s.n_live_tup + s.n_dead_tup, 0), 2)"
		" AS dead_pct,\n"
		"         s.n_mod_since_analyze,\n"
		"         extract(epoch FROM s.last_vacuum)::float8 AS last_vacuum_ts,\n"
		"         extract(epoch FROM s.last_autovacuum)::float8 AS last_autovacuum_ts,\n"
		"         extract(epoch FROM s.last_analyze)::float8 AS last_analyze_ts,\n"
		"         extract(epoch FROM s.last_autoanalyze)::float8 AS last_autoanalyze_ts,\n"
		"         s.vacuum_count, s.autovacuum_count, s.analyze_count, s.autoanalyze_count,\n"
		"         c.reloptions IS NULL OR coalesce((SELECT o.option_value::bool\n"
		"                     FROM pg_catalog.pg_options_to_table(c.reloptions) o\n"
		"                    WHERE o.option_name = 'autovacuum_enabled'), true)"
		" AS autovacuum_enabled,\n"
		"         greatest(s.last_analyze, s.last_autoanalyze) AS analyzed_at,\n"
		"         row_number() OVER (ORDER BY s.n_dead_tup DESC, s.schemaname, s.relname) AS rn\n"
		"    FROM pg_catalog.pg_stat_user_tables s\n"
		"    JOIN pg_catalog.pg_class c ON c.oid = s.relid),\n"
		"stale AS (\n"
		"  SELECT relation, n_mod_since_analyze,\n"
		"         extract(epoch FROM now() - analyzed_at)::float8 AS last_analyze_age_s,\n"
		"         row_number() OVER (ORDER BY n_mod_since_analyze DESC, relation) AS rn\n"
		"    FROM t\n"
		"   WHERE n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::float8\n"
		"         + current_setting('autovacuum_analyze_scale_factor')::float8 * n_live_tup),\n"
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
		"          FROM t WHERE rn <= $1) AS tables,\n"
		"       (SELECT json_build_object('count', count(*),\n"
		"                 'n_live_tup', coalesce(sum(n_live_tup), 0),\n"
		"                 'n_dead_tup', coalesce(sum(n_dead_tup), 0))\n"
		"          FROM t WHERE rn > $1) AS other,\n"
		"       (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
		"                 'n_mod_since_analyze', n_mod_since_analyze,\n"
		"                 'last_analyze_age_s', last_analyze_age_s) ORDER BY rn), '[]')\n"
		"          FROM stale WHERE rn <= $1) AS stale_stats,\n"
		"       (SELECT json_build_object('count', count(*),\n"
		"                 'n_mod_since_analyze', coalesce(sum(n_mod_since_analyze), 0))\n"
		"          FROM stale WHERE rn > $1) AS stale_stats_other",
		v17 ? "p.num_dead_item_ids" : "p.num_dead_tuples",
		v17 ? "NULL::bigint" : "p.max_dead_tuples",
		v17 ? "p.dead_tuple_bytes" : "NULL::bigint",
		v17 ? "p.max_dead_tuple_bytes" : "NULL::bigint");
}

void collect_vacuum(struct section_run *run)
{
	section_merge(run, true);
}
