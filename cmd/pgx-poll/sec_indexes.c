/* sec_indexes.c - unused, invalid and duplicate indexes */
#include "pgx.h"
#include "poll.h"

/* Unused: never scanned since the statistics were reset (or the server
 * started), excluding unique, primary key and exclusion indexes, which
 * enforce something even when no plan reads them.  Duplicate: same table,
 * columns, operator classes, expressions and predicate (expressions compared
 * deparsed, so the text position they were written at does not matter).
 * The scan over every user index reads pg_index and its table's namespace
 * only; names and relpages are looked up (by oid) for the candidates of each
 * list, and the keys compared only on tables with more than one valid index.
 * Lists are ranked by relpages and only their Top-N sized (unused, the long
 * one, by a bounded sort, its other being the whole less the Top-N); a locked
 * index is not sized (bytes null), nor are expressions of a locked table
 * deparsed (pg_get_expr locks the table): such an index is left out of the
 * duplicates. */
#define NAME_OF(oid) "(SELECT xn.nspname || '.' || xc.relname FROM pg_catalog.pg_class xc" \
	" JOIN pg_catalog.pg_namespace xn ON xn.oid = xc.relnamespace WHERE xc.oid = " oid ")"
#define PAGES_OF(oid) "(SELECT xc.relpages::bigint FROM pg_catalog.pg_class xc WHERE xc.oid = " oid ")"

static const char sql_indexes_text[] =
	"WITH %s,\n"
	"ix AS (\n"
	"  SELECT i.indexrelid AS oid, i.indrelid, i.indisunique, i.indisprimary,\n"
	"         i.indisexclusion, i.indisvalid, i.indkey, i.indclass, i.indexprs, i.indpred,\n"
	"         (i.indexrelid IN (SELECT oid FROM locked)\n"
	"          OR i.indrelid IN (SELECT oid FROM locked)) AS is_locked\n"
	"    FROM pg_catalog.pg_index i\n"
	"    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid\n"
	"    JOIN pg_catalog.pg_namespace tn ON tn.oid = c.relnamespace\n"
	"   WHERE c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'pg_toast'::regnamespace)\n"
	"     AND tn.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND tn.nspname !~ '^pg_toast'),\n"
	"stats AS (\n"
	"  SELECT extract(epoch FROM now() - coalesce(\n"
	"           (SELECT stats_reset FROM pg_catalog.pg_stat_database\n"
	"             WHERE datname = current_database()),\n"
	"           pg_catalog.pg_postmaster_start_time()))::float8 AS age_s),\n"
	"unused_all AS (\n"
	"  SELECT oid, indrelid, is_locked, " PAGES_OF("ix.oid") " AS relpages,\n"
	"         " NAME_OF("ix.oid") " AS index\n"
	"    FROM ix\n"
	"   WHERE pg_catalog.pg_stat_get_numscans(ix.oid) = 0 AND ix.indisvalid\n"
	"     AND NOT (ix.indisunique OR ix.indisprimary OR ix.indisexclusion)),\n"
	"unused AS (\n"
	"  SELECT u.*, " NAME_OF("u.indrelid") " AS relation,\n"
	"         pg_catalog.pg_stat_get_numscans(u.oid) AS idx_scan,\n"
	"         row_number() OVER (ORDER BY u.relpages DESC, u.index) AS rn\n"
	"    FROM (SELECT * FROM unused_all ORDER BY relpages DESC, index LIMIT $1) u),\n"
	"invalid AS (\n"
	"  SELECT v.*, " NAME_OF("v.indrelid") " AS relation,\n"
	"         row_number() OVER (ORDER BY v.relpages DESC, v.index) AS rn\n"
	"    FROM (SELECT oid, indrelid, is_locked, " PAGES_OF("ix.oid") " AS relpages,\n"
	"                 " NAME_OF("ix.oid") " AS index\n"
	"            FROM ix WHERE NOT ix.indisvalid) v),\n"
	"several AS (\n"
	"  SELECT indrelid FROM ix WHERE indisvalid GROUP BY indrelid HAVING count(*) > 1),\n"
	"dup_key AS (\n"
	"  SELECT ix.oid, ix.indrelid, ix.is_locked, ix.indexprs, ix.indpred,\n"
	"         ix.indkey::text AS k, ix.indclass::text AS cls,\n"
	"         " PAGES_OF("ix.oid") " AS relpages, " NAME_OF("ix.oid") " AS index,\n"
	"         CASE WHEN indexprs IS NOT NULL AND NOT is_locked\n"
	"              THEN pg_catalog.pg_get_expr(indexprs, indrelid) END AS exprs,\n"
	"         CASE WHEN indpred IS NOT NULL AND NOT is_locked\n"
	"              THEN pg_catalog.pg_get_expr(indpred, indrelid) END AS pred\n"
	"    FROM ix JOIN several USING (indrelid)\n"
	"   WHERE ix.indisvalid),\n"
	"dup_groups AS (\n"
	"  SELECT indrelid, json_agg(index ORDER BY index) AS indexes,\n"
	"         array_agg(oid) AS oids, min(index) AS first_index,\n"
	"         sum(relpages) AS relpages, bool_or(is_locked) AS any_locked\n"
	"    FROM dup_key\n"
	"   WHERE NOT ((indexprs IS NOT NULL AND exprs IS NULL) OR (indpred IS NOT NULL AND pred IS NULL))\n"
	"   GROUP BY indrelid, k, cls, exprs, pred\n"
	"  HAVING count(*) > 1),\n"
	"dup AS (\n"
	"  SELECT g.*, " NAME_OF("g.indrelid") " AS relation FROM dup_groups g),\n"
	"dup_ranked AS (\n"
	"  SELECT dup.*, row_number() OVER (ORDER BY relpages DESC, relation, first_index) AS rn\n"
	"    FROM dup)\n"
	"SELECT (SELECT age_s FROM stats) AS stats_age_s,\n"
	"       (SELECT coalesce(json_agg(json_build_object('index', index, 'relation', relation,\n"
	"                 'bytes', CASE WHEN NOT is_locked THEN pg_catalog.pg_relation_size(oid) END,\n"
	"                 'idx_scan_total', idx_scan, 'stats_age_s', (SELECT age_s FROM stats))\n"
	"                 ORDER BY rn), '[]') FROM unused) AS unused,\n"
	"       (SELECT json_build_object('count', count(*) - (SELECT count(*) FROM unused),\n"
	"                 'relpages', coalesce(sum(relpages), 0)"
	" - (SELECT coalesce(sum(relpages), 0) FROM unused))\n"
	"          FROM unused_all) AS unused_other,\n"
	"       (SELECT coalesce(json_agg(json_build_object('index', index, 'relation', relation,\n"
	"                 'bytes', CASE WHEN NOT is_locked THEN pg_catalog.pg_relation_size(oid) END)\n"
	"                 ORDER BY rn), '[]') FROM invalid WHERE rn <= $1) AS invalid,\n"
	"       (SELECT json_build_object('count', count(*), 'relpages', coalesce(sum(relpages), 0))\n"
	"          FROM invalid WHERE rn > $1) AS invalid_other,\n"
	"       (SELECT coalesce(json_agg(json_build_object('indexes', indexes, 'relation', relation,\n"
	"                 'bytes', CASE WHEN NOT any_locked THEN (SELECT sum(pg_catalog.pg_relation_size(o))\n"
	"                                                  FROM unnest(oids) o) END)\n"
	"                 ORDER BY rn), '[]')\n"
	"          FROM dup_ranked WHERE rn <= $1) AS duplicate,\n"
	"       (SELECT json_build_object('count', count(*), 'relpages', coalesce(sum(relpages), 0))\n"
	"          FROM dup_ranked WHERE rn > $1) AS duplicate_other";

char *sql_indexes(const struct server_info *srv, const char **why)
{
	return sql_format(sql_indexes_text, sql_locked_cte);
}

void collect_indexes(struct section_run *run)
{
	section_merge(run, true);
}
