/* sec_sizes.c - Top-N tables and indexes, ranked by pg_class first, sized after */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* Relations of this database with an AccessExclusiveLock granted or waited
 * for: the size functions take AccessShareLock and would queue behind it
 * (lock_timeout only turns the wait into a failed section).  A CTE named
 * "locked" with one column, oid. */
const char sql_locked_cte[] =
	"locked AS (\n"
	"  SELECT DISTINCT l.relation AS oid FROM pg_catalog.pg_locks l\n"
	"   WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'\n"
	"     AND l.database = (SELECT oid FROM pg_catalog.pg_database\n"
	"                        WHERE datname = current_database()))";

/* Ranking reads relpages (as of the last VACUUM, ANALYZE or CREATE INDEX) of
 * the table, its TOAST table and its indexes (TOAST tables and user indexes
 * only are hashed, not all of pg_class); only the Top-N are sized, picked by
 * a bounded sort, their indexes once (total = pg_table_size + indexes, what
 * pg_total_relation_size adds up); other is the whole less the Top-N.  A
 * table is skipped when it, its TOAST table or one of its indexes is locked.
 * No pg_database_size here: it stats every file of the database (75 ms at
 * 2,000 tables) and the database section reports it already (size_bytes). */
static const char sql_sizes_text[] =
	"WITH %s,\n"
	"ipages AS (\n"
	"  SELECT i.indrelid, sum(ic.relpages) AS relpages FROM pg_catalog.pg_index i\n"
	"    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid\n"
	"   WHERE ic.relnamespace NOT IN ('pg_catalog'::regnamespace, 'pg_toast'::regnamespace)\n"
	"   GROUP BY i.indrelid),\n"
	"rel AS (\n"
	"  SELECT c.oid, n.nspname || '.' || c.relname AS relation, c.relkind::text AS relkind,\n"
	"         c.reltuples, c.reltoastrelid,\n"
	"         c.relpages::bigint + coalesce(tc.relpages, 0) + coalesce(ip.relpages, 0)"
	" AS relpages,\n"
	"         (c.oid IN (SELECT oid FROM locked) OR c.reltoastrelid IN (SELECT oid FROM locked)\n"
	"          OR EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid\n"
	"                        AND i.indexrelid IN (SELECT oid FROM locked))) AS is_locked\n"
	"    FROM pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"    LEFT JOIN (SELECT oid, relpages FROM pg_catalog.pg_class WHERE relkind = 't') tc\n"
	"      ON tc.oid = c.reltoastrelid\n"
	"    LEFT JOIN ipages ip ON ip.indrelid = c.oid\n"
	"   WHERE c.relkind IN ('r', 'm')\n"
	"     AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND n.nspname !~ '^pg_toast'),\n"
	"top AS (\n"
	"  SELECT relation, relkind, relpages, estimated_rows,\n"
	"         all_forks_and_toast + index_bytes AS total_bytes, table_bytes, index_bytes,\n"
	"         toast_bytes\n"
	"    FROM (SELECT relation, relkind, relpages,\n"
	"                 CASE WHEN reltuples >= 0 THEN reltuples::bigint END AS estimated_rows,\n"
	"                 pg_catalog.pg_table_size(oid) AS all_forks_and_toast,\n"
	"                 pg_catalog.pg_relation_size(oid) AS table_bytes,\n"
	"                 pg_catalog.pg_indexes_size(oid) AS index_bytes,\n"
	"                 CASE WHEN reltoastrelid <> 0\n"
	"                      THEN pg_catalog.pg_total_relation_size(reltoastrelid) ELSE 0 END"
	" AS toast_bytes\n"
	"            FROM (SELECT * FROM rel WHERE NOT is_locked\n"
	"                   ORDER BY relpages DESC, relation LIMIT $1) r) sized),\n"
	"skipped AS (\n"
	"  SELECT relation, row_number() OVER (ORDER BY relpages DESC, relation) AS rn\n"
	"    FROM rel WHERE is_locked)\n"
	"SELECT (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
	"                 'relkind', relkind, 'total_bytes', total_bytes, 'table_bytes', table_bytes,\n"
	"                 'index_bytes', index_bytes, 'toast_bytes', toast_bytes,\n"
	"                 'estimated_rows', estimated_rows)\n"
	"                 ORDER BY total_bytes DESC, relation), '[]') FROM top) AS tables,\n"
	"       (SELECT json_build_object('count', n, 'relpages', relpages,\n"
	"                 'estimated_bytes', relpages * current_setting('block_size')::bigint)\n"
	"          FROM (SELECT count(*) - (SELECT count(*) FROM top) AS n,\n"
	"                       coalesce(sum(relpages), 0)"
	" - (SELECT coalesce(sum(relpages), 0) FROM top) AS relpages\n"
	"                  FROM rel WHERE NOT is_locked) o) AS other,\n"
	"       (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
	"                 'why', 'exclusive lock held or waiting') ORDER BY rn), '[]')\n"
	"          FROM skipped WHERE rn <= $1) AS skipped,\n"
	"       (SELECT json_build_object('count', count(*)) FROM skipped WHERE rn > $1)"
	" AS skipped_other";

/* The indexes statement: a second query, so each stays well inside
 * statement_timeout on 100,000 relations (ranking reads all of pg_class).
 * Names are joined for the Top-N only. */
static const char sql_sizes_indexes[] =
	"WITH %s,\n"
	"idx AS (\n"
	"  SELECT i.indexrelid AS oid, i.indrelid, n.nspname, ic.relname,\n"
	"         ic.relpages::bigint AS relpages\n"
	"    FROM pg_catalog.pg_index i\n"
	"    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace\n"
	"   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND n.nspname !~ '^pg_toast' AND ic.relkind = 'i'\n"
	"     AND i.indexrelid NOT IN (SELECT oid FROM locked)),\n"
	"top AS (\n"
	"  SELECT t.nspname || '.' || t.relname AS index,\n"
	"         (SELECT tn.nspname || '.' || c.relname FROM pg_catalog.pg_class c\n"
	"            JOIN pg_catalog.pg_namespace tn ON tn.oid = c.relnamespace\n"
	"           WHERE c.oid = t.indrelid) AS relation,\n"
	"         t.relpages,\n"
	"         pg_catalog.pg_relation_size(t.oid) AS bytes,\n"
	"         row_number() OVER (ORDER BY t.relpages DESC, t.nspname, t.relname) AS rn\n"
	"    FROM (SELECT * FROM idx ORDER BY relpages DESC, nspname, relname LIMIT $1) t)\n"
	"SELECT (SELECT coalesce(json_agg(json_build_object('index', index, 'relation', relation,\n"
	"                 'bytes', bytes) ORDER BY rn), '[]') FROM top) AS indexes,\n"
	"       (SELECT json_build_object('count', n, 'relpages', relpages,\n"
	"                 'estimated_bytes', relpages * current_setting('block_size')::bigint)\n"
	"          FROM (SELECT count(*) - (SELECT count(*) FROM top) AS n,\n"
	"                       coalesce(sum(relpages), 0)"
	" - (SELECT coalesce(sum(relpages), 0) FROM top) AS relpages\n"
	"                  FROM idx) o) AS indexes_other";

/* The two statements, separated by SQL_SPLIT: --print-sql shows both, as a
 * script. */
#define SQL_SPLIT "\n;\n"

char *sql_sizes(const struct server_info *srv, const char **why)
{
	char *tables = sql_format(sql_sizes_text, sql_locked_cte);
	char *indexes = sql_format(sql_sizes_indexes, sql_locked_cte);
	char *sql = sql_format("%s" SQL_SPLIT "%s", tables, indexes);

	free(tables);
	free(indexes);
	return sql;
}

static void merge_statement(struct section_run *run, const char *sql)
{
	char top[24];
	const char *params[1] = { top };
	PGresult *res;

	snprintf(top, sizeof(top), "%ld", run->opts->top_n);
	res = section_query(run, sql, 1, params);
	if (!res)
		return;
	if (PQntuples(res) > 0)
		result_merge_row(run->rec, res, 0);
	PQclear(res);
}

void collect_sizes(struct section_run *run)
{
	char *tables = pgx_xstrdup(run->sql);
	char *split = strstr(tables, SQL_SPLIT);

	if (split)
		*split = '\0';
	merge_statement(run, tables);
	if (split)
		merge_statement(run, split + strlen(SQL_SPLIT));
	free(tables);
}
