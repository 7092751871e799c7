/* sec_indexes.c - unused, invalid and duplicate indexes */
#include "pgx.h"
#include "poll.h"

/* Unused: never scanned since the statistics were reset (or the server
 * started), excluding unique, primary key and exclusion indexes, which
 * enforce something even when no plan reads them.  Duplicate: same table,
 * columns, operator classes, expressions and predicate (expressions compared
 * deparsed, so the text position they were written at does not matter).
 * Lists are ranked by relpages and only their Top-N sized; a locked index
 * is not sized (bytes null), nor are expressions of a locked table deparsed
 * (pg_get_expr locks the table): such an index is left out of the duplicates. */
static const char sql_indexes_text[] =
	"WITH %s,\n"
	"ix AS (\n"
	"  SELECT i.indexrelid AS oid, i.indrelid, n.nspname || '.' || ic.relname AS index,\n"
	"         tn.nspname || '.' || c.relname AS relation, ic.relpages::bigint AS relpages,\n"
	"         i.indisunique, i.indisprimary, i.indisexclusion, i.indisvalid, i.indkey::text AS k,\n"
	"         i.indclass::text AS cls, i.indexprs IS NOT NULL AS has_exprs,\n"
	"         i.indpred IS NOT NULL AS has_pred,\n"
	"         (i.indexrelid IN (SELECT oid FROM locked)\n"
	"          OR i.indrelid IN (SELECT oid FROM locked)) AS is_locked\n"
	"    FROM pg_catalog.pg_index i\n"
	"    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace\n"
	"    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid\n"
	"    JOIN pg_catalog.pg_namespace tn ON tn.oid = c.relnamespace\n"
	"   WHERE tn.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND tn.nspname !~ '^pg_toast'),\n"
	"stats AS (\n"
	"  SELECT extract(epoch FROM now() - coalesce(\n"
	"           (SELECT stats_reset FROM pg_catalog.pg_stat_database\n"
	"             WHERE datname = current_database()),\n"
	"           pg_catalog.pg_postmaster_start_time()))::float8 AS age_s),\n"
	"unused AS (\n"
	"  SELECT ix.*, pg_catalog.pg_stat_get_numscans(ix.oid) AS idx_scan,\n"
	"         row_number() OVER (ORDER BY ix.relpages DESC, ix.index) AS rn\n"
	"    FROM ix\n"
	"   WHERE pg_catalog.pg_stat_get_numscans(ix.oid) = 0 AND ix.indisvalid\n"
	"     AND NOT (ix.indisunique OR ix.indisprimary OR ix.indisexclusion)),\n"
	"invalid AS (\n"
	"  SELECT ix.*, row_number() OVER (ORDER BY ix.relpages DESC, ix.index) AS rn\n"
	"    FROM ix WHERE NOT ix.indisvalid),\n"
	"dup_key AS (\n"
	"  SELECT ix.*,\n"
	"         CASE WHEN has_exprs AND NOT is_locked\n"
	"              THEN pg_catalog.pg_get_expr(i.indexprs, i.indrelid) END AS exprs,\n"
	"         CASE WHEN has_pred AND NOT is_locked\n"
	"              THEN pg_catalog.pg_get_expr(i.indpred, i.indrelid) END AS pred\n"
	"    FROM ix JOIN pg_catalog.pg_index i ON i.indexrelid = ix.oid\n"
	"   WHERE ix.indisvalid),\n"
	"dup AS (\n"
	"  SELECT relation, json_agg(index ORDER BY index) AS indexes,\n"
	"         array_agg(oid) AS oids,\n"
	"         sum(relpages) AS relpages, bool_or(is_locked) AS any_locked,\n"
	"         row_number() OVER (ORDER BY sum(relpages) DESC, relation, min(index)) AS rn\n"
	"    FROM dup_key\n"
	"   WHERE NOT ((has_exprs AND exprs IS NULL) OR (has_pred AND pred IS NULL))\n"
	"   GROUP BY indrelid, relation, k, cls, exprs, pred\n"
	"  HAVING count(*) > 1)\n"
	"SELECT (SELECT age_s FROM stats) AS stats_age_s,\n"
	"       (SELECT coalesce(json_agg(json_build_object('index', index, 'relation', relation,\n"
	"                 'bytes', CASE WHEN NOT is_locked THEN pg_catalog.pg_relation_size(oid) END,\n"
	"                 'idx_scan_total', idx_scan, 'stats_age_s', (SELECT age_s FROM stats))\n"
	"                 ORDER BY rn), '[]') FROM unused WHERE rn <= $1) AS unused,\n"
	"       (SELECT json_build_object('count', count(*), 'relpages', coalesce(sum(relpages), 0))\n"
	"          FROM unused WHERE rn > $1) AS unused_other,\n"
	"       (SELECT coalesce(json_agg(json_build_object('index', index, 'relation', relation,\n"
	"                 'bytes', CASE WHEN NOT is_locked THEN pg_catalog.pg_relation_size(oid) END)\n"
	"                 ORDER BY rn), '[]') FROM invalid WHERE rn <= $1) AS invalid,\n"
	"       (SELECT json_build_object('count', count(*), 'relpages', coalesce(sum(relpages), 0))\n"
	"          FROM invalid WHERE rn > $1) AS invalid_other,\n"
	"       (SELECT coalesce(json_agg(json_build_object('indexes', indexes, 'relation', relation,\n"
	"                 'bytes', CASE WHEN NOT any_locked THEN (SELECT sum(pg_catalog.pg_relation_size(o))\n"
	"                                                  FROM unnest(oids) o) END)\n"
	"                 ORDER BY rn), '[]')\n"
	"          FROM dup WHERE rn <= $1) AS duplicate,\n"
	"       (SELECT json_build_object('count', count(*), 'relpages', coalesce(sum(relpages), 0))\n"
	"          FROM dup WHERE rn > $1) AS duplicate_other";

char *sql_indexes(const struct server_info *srv, const char **why)
{
	return sql_format(sql_indexes_text, sql_locked_cte);
}

void collect_indexes(struct section_run *run)
{
	section_merge(run, true);
}
