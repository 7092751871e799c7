/* sec_bloat.c - table bloat estimated from catalog statistics */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* The estimate: a tuple is its header (23 bytes plus a null bitmap when a
 * column has nulls, aligned to 8) plus the average non-null data width from
 * pg_stats (aligned to 8) plus a 4-byte line pointer; a page holds
 * (block_size - 24) * fillfactor / 100 bytes of them.  expected pages =
 * reltuples / tuples per page; bloat = relpages - expected.  Read from
 * pg_class and pg_stats only: no relation is opened or locked.
 *
 * pg_stats shows a column only to roles that may SELECT it: a pg_monitor role
 * sees no rows for most tables.  Tables without SELECT are counted
 * (unreadable_tables) and the section says so instead of estimating them as
 * zero.  pg_stats is not read at all when no non-empty table is readable, and
 * only for the readable tables' names when they are few (up to 100, a filter
 * the planner pushes into the view): its per-column privilege check costs
 * 0.1 ms a column, 300 ms on 2,000 tables a pg_monitor role cannot read.
 * grant_sql formats one GRANT per schema, not one per unreadable table. */
const char sql_bloat[] =
	"WITH tbl AS (\n"
	"  SELECT c.oid, n.nspname, c.relname, c.relpages::bigint AS relpages, c.reltuples,\n"
	"         c.reloptions, pg_catalog.has_table_privilege(c.oid, 'SELECT') AS readable\n"
	"    FROM pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"   WHERE c.relkind IN ('r', 'm')\n"
	"     AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND n.nspname !~ '^pg_toast'),\n"
	"want AS (\n"
	"  SELECT count(*) AS n, array_agg(relname) AS names\n"
	"    FROM tbl WHERE readable AND relpages > 0),\n"
	"st AS (\n"
	"  SELECT s.schemaname, s.tablename, count(*) AS ncols,\n"
	"         sum((1 - s.null_frac) * s.avg_width) AS data_width,\n"
	"         bool_or(s.null_frac > 0) AS has_nulls\n"
	"    FROM pg_catalog.pg_stats s\n"
	"   WHERE NOT s.inherited AND (SELECT n FROM want) > 0\n"
	"     AND ((SELECT n FROM want) > 100 OR s.tablename = ANY ((SELECT names FROM want)::name[]))\n"
	"   GROUP BY s.schemaname, s.tablename),\n"
	"j AS (\n"
	"  SELECT t.*, coalesce(st.ncols, 0) AS stat_cols, st.data_width, st.has_nulls,\n"
	"         CASE WHEN st.ncols IS NOT NULL\n"
	"              THEN (SELECT count(*) FROM pg_catalog.pg_attribute a\n"
	"                     WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped)\n"
	"         END AS ncols\n"
	"    FROM tbl t LEFT JOIN st ON st.schemaname = t.nspname AND st.tablename = t.relname),\n"
	"est AS (\n"
	"  SELECT nspname || '.' || relname AS relation, relpages,\n"
	"         relpages * current_setting('block_size')::bigint AS real_bytes,\n"
	"         ceil(reltuples / greatest(1, floor(\n"
	"           (current_setting('block_size')::numeric - 24)\n"
	"           * CASE WHEN reloptions IS NULL THEN 100\n"
	"                  ELSE coalesce((SELECT o.option_value::int\n"
	"                                   FROM pg_catalog.pg_options_to_table(reloptions) o\n"
	"                                  WHERE o.option_name = 'fillfactor'), 100) END / 100\n"
	"           / (ceil((23 + CASE WHEN has_nulls THEN ceil(ncols / 8.0) ELSE 0 END) / 8.0) * 8\n"
	"              + ceil(data_width / 8.0) * 8 + 4))))::bigint\n"
	"           * current_setting('block_size')::bigint AS expected_bytes\n"
	"    FROM j\n"
	"   WHERE readable AND stat_cols >= ncols AND ncols > 0 AND reltuples >= 0 AND relpages > 0),\n"
	"top AS (\n"
	"  SELECT *, row_number() OVER (ORDER BY bloat_bytes DESC, relation) AS rn\n"
	"    FROM (SELECT *, greatest(real_bytes - expected_bytes, 0) AS bloat_bytes FROM est\n"
	"           ORDER BY greatest(real_bytes - expected_bytes, 0) DESC, relation LIMIT $1) t)\n"
	"SELECT (SELECT count(*) FROM est) AS estimated_tables,\n"
	"       (SELECT count(*) FROM j WHERE readable AND NOT coalesce(stat_cols >= ncols, false))"
	" AS without_stats_tables,\n"
	"       (SELECT count(*) FROM j WHERE NOT readable) AS unreadable_tables,\n"
	"       (SELECT string_agg(g, ' ' ORDER BY g)\n"
	"          FROM (SELECT pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO %I;',\n"
	"                                         nspname, current_user) AS g\n"
	"                  FROM (SELECT DISTINCT nspname FROM j WHERE NOT readable) u) f)"
	" AS grant_sql,\n"
	"       (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
	"                 'real_bytes', real_bytes, 'expected_bytes', expected_bytes,\n"
	"                 'bloat_bytes', bloat_bytes,\n"
	"                 'bloat_pct', round(100.0 * bloat_bytes / nullif(real_bytes, 0), 2),\n"
	"                 'method', 'catalog-estimate') ORDER BY rn), '[]')\n"
	"          FROM top) AS tables,\n"
	"       (SELECT json_build_object('count', count(*) - (SELECT count(*) FROM top),\n"
	"                 'real_bytes', coalesce(sum(real_bytes), 0)"
	" - (SELECT coalesce(sum(real_bytes), 0) FROM top),\n"
	"                 'expected_bytes', coalesce(sum(expected_bytes), 0)"
	" - (SELECT coalesce(sum(expected_bytes), 0) FROM top),\n"
	"                 'bloat_bytes', coalesce(sum(greatest(real_bytes - expected_bytes, 0)), 0)"
	" - (SELECT coalesce(sum(bloat_bytes), 0) FROM top))\n"
	"          FROM est) AS other";

void collect_bloat(struct section_run *run)
{
	json_int_t hidden;
	char *grant;

	if (!section_merge(run, true))
		return;
	grant = section_take_text(run, "grant_sql");
	hidden = json_integer_value(json_object_get(run->rec, "unreadable_tables"));
	if (hidden > 0)
		section_missing(run, "bloat",
				"pg_stats rows of %lld table(s) are not readable by this role "
				"(SELECT on them needed): their bloat is not estimated; %s",
				(long long)hidden, grant ? grant : "");
	free(grant);
}
