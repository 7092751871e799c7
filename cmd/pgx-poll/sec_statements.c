/* sec_statements.c - pg_stat_statements: Top-N by total execution time, the rest rolled up */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* The column names follow the installed extension version (probed in
 * pg_attribute): total_time before 1.8, total_exec_time after; toplevel and
 * pg_stat_statements_info from 1.9 (PG14).  Block times: blk_read_time (data
 * file blocks, shared and local) until 1.11 (PG17) split it into
 * shared_blk_read_time and local_blk_read_time, whose sum stays
 * blk_read_time_s_total so it means the same on every version; 1.10 (PG15)
 * added temp_blk_read_time.  Each kind is also reported apart where the
 * extension has it.  Times are converted to seconds.
 * plan_time_s_total is NULL unless pg_stat_statements.track_planning is on
 * (read once, in a subquery: current_setting() in every row cost a tenth of
 * the statement at 8,000 statements), the block times NULL while
 * track_io_timing is off and nothing was timed. */
/* "name" with inner quotes doubled, for an identifier known only at run time. */
static char *quote_ident(const char *name)
{
	char *out = pgx_xmalloc(2 * strlen(name) + 3), *o = out;

	*o++ = '"';
	for (const char *p = name; *p; p++) {
		if (*p == '"')
			*o++ = '"';
		*o++ = *p;
	}
	*o++ = '"', *o = '\0';
	return out;
}

/* One call of the view's function, kept as is (WITH ORDINALITY numbers its
 * rows); the Top-N by a bounded sort; conversions, texts and the database
 * name for those N only, so the cost over thousands of statements is the
 * function's own.  In other, block times stay NULL when no statement has one.
 * pgx's own statements (PGX_SQL_MARK) are summed apart as pgx_self, out of
 * the Top-N and other, unless $3 (--include-self). */
/* The block times, as the extension's version names them. */
static const char *const block_times[] = { "blk_read_time", "blk_write_time", "shared_blk_read_time",
	"shared_blk_write_time", "local_blk_read_time", "local_blk_write_time", "temp_blk_read_time",
	"temp_blk_write_time" };
#define N_BLOCK_TIMES (sizeof(block_times) / sizeof(block_times[0]))

static char *block_time_columns(const struct server_info *srv)
{
	bool split = server_has(srv, FEAT_PGSS_SHARED_BLK_TIME), temp = server_has(srv, FEAT_PGSS_TEMP_BLK_TIME);

	return sql_format(
		"%s AS blk_read_time, %s AS blk_write_time,\n"
		"         %s AS shared_blk_read_time, %s AS shared_blk_write_time,\n"
		"         %s AS local_blk_read_time, %s AS local_blk_write_time,\n"
		"         %s AS temp_blk_read_time, %s AS temp_blk_write_time",
		split ? "s.shared_blk_read_time + s.local_blk_read_time" : "s.blk_read_time",
		split ? "s.shared_blk_write_time + s.local_blk_write_time" : "s.blk_write_time",
		split ? "s.shared_blk_read_time" : "NULL::float8", split ? "s.shared_blk_write_time" : "NULL::float8",
		split ? "s.local_blk_read_time" : "NULL::float8", split ? "s.local_blk_write_time" : "NULL::float8",
		temp ? "s.temp_blk_read_time" : "NULL::float8", temp ? "s.temp_blk_write_time" : "NULL::float8");
}

/* NAME_s_total of each block time, NULL while track_io_timing is off and
 * nothing was timed: columns of an item (sep ", "), or json_build_object
 * pairs summed over other (sep NULL). */
static char *block_time_items(const char *sep)
{
	char *out = pgx_xstrdup(""), *next;

	for (size_t i = 0; i < N_BLOCK_TIMES; i++) {
		const char *t = block_times[i];
		next = sep ? sql_format("%s         CASE WHEN (SELECT enabled FROM io_timing) OR t.%s > 0\n"
					"              THEN t.%s / 1000.0 END AS %s_s_total,\n", out, t, t, t)
			   : sql_format("%s,\n          '%s_s_total', sum(%s) FILTER (WHERE"
					" (SELECT enabled FROM io_timing) OR %s > 0) / 1000.0", out, t, t, t);
		free(out);
		out = next;
	}
	return out;
}

char *sql_statements(const struct server_info *srv, const char **why)
{
	bool exec = server_has(srv, FEAT_PGSS_EXEC_TIME);
	bool info = server_has(srv, FEAT_PGSS_INFO);
	char *nsp, *info_sql = NULL, *sql, *times, *items, *other;

	if (!srv->pgss_schema) {
		*why = "pg_stat_statements is not installed in this database (CREATE EXTENSION)";
		return NULL;
	}
	nsp = quote_ident(srv->pgss_schema);
	times = block_time_columns(srv);
	items = block_time_items(", ");
	other = block_time_items(NULL);
	if (info)
		info_sql = sql_format("(SELECT dealloc FROM %s.pg_stat_statements_info)"
				      " AS dealloc_total,\n"
				      "       (SELECT extract(epoch FROM stats_reset)::float8"
				      " FROM %s.pg_stat_statements_info) AS stats_reset_ts", nsp, nsp);
	sql = sql_format(
		"WITH s AS MATERIALIZED (\n"
		"  SELECT s.ordinality AS n, s.userid, s.dbid, s.queryid, %s AS toplevel, s.calls,\n"
		"         s.%s AS exec_time, s.%s AS mean_exec_time, s.rows, s.shared_blks_hit,\n"
		"         s.shared_blks_read, s.shared_blks_dirtied, s.shared_blks_written,\n"
		"         s.temp_blks_read, s.temp_blks_written, %s,\n"
		"         %s AS plan_time, s.query,\n"
		"         coalesce(s.query LIKE '/* pgx */%%', false) AND NOT $3 AS self\n"
		"    FROM %s.pg_stat_statements(true) WITH ORDINALITY s),\n"
		"top AS (SELECT * FROM s WHERE NOT self\n"
		"         ORDER BY exec_time DESC, queryid, dbid, userid LIMIT $1),\n"
		"io_timing AS (SELECT current_setting('track_io_timing')::bool AS enabled),\n"
		"items AS (\n"
		"  SELECT t.queryid::text AS queryid, d.datname AS dbname,\n"
		"         pg_catalog.pg_get_userbyid(t.userid) AS username, t.toplevel,\n"
		"         t.calls AS calls_total, t.exec_time / 1000.0 AS exec_time_s_total,\n"
		"         t.mean_exec_time / 1000.0 AS mean_exec_time_s, t.rows AS rows_total,\n"
		"         t.shared_blks_hit AS shared_blks_hit_total,\n"
		"         t.shared_blks_read AS shared_blks_read_total,\n"
		"         t.shared_blks_dirtied AS shared_blks_dirtied_total,\n"
		"         t.shared_blks_written AS shared_blks_written_total,\n"
		"         t.temp_blks_read AS temp_blks_read_total,\n"
		"         t.temp_blks_written AS temp_blks_written_total,\n"
		"%s"
		"         t.plan_time / 1000.0 AS plan_time_s_total,\n"
		"         CASE WHEN t.query <> '<insufficient privilege>' THEN left(t.query, $2) END"
		" AS query,\n"
		"         row_number() OVER (ORDER BY t.exec_time DESC, t.queryid, t.dbid, t.userid)"
		" AS rank\n"
		"    FROM top t LEFT JOIN pg_catalog.pg_database d ON d.oid = t.dbid)\n"
		"SELECT (SELECT extversion FROM pg_catalog.pg_extension"
		" WHERE extname = 'pg_stat_statements') AS pgss_version,\n"
		"       %s,\n"
		"       (SELECT coalesce(pg_catalog.json_agg(pg_catalog.row_to_json(items)"
		" ORDER BY rank), '[]') FROM items) AS items,\n"
		"       (SELECT pg_catalog.json_build_object('count', count(*),\n"
		"          'calls_total', coalesce(sum(calls), 0),\n"
		"          'exec_time_s_total', coalesce(sum(exec_time) / 1000.0, 0),\n"
		"          'rows_total', coalesce(sum(rows), 0),\n"
		"          'shared_blks_hit_total', coalesce(sum(shared_blks_hit), 0),\n"
		"          'shared_blks_read_total', coalesce(sum(shared_blks_read), 0),\n"
		"          'shared_blks_written_total', coalesce(sum(shared_blks_written), 0),\n"
		"          'temp_blks_read_total', coalesce(sum(temp_blks_read), 0),\n"
		"          'temp_blks_written_total', coalesce(sum(temp_blks_written), 0)"
		"%s)\n"
		"          FROM s WHERE NOT self AND n NOT IN (SELECT n FROM top)) AS other,\n"
		"       (SELECT pg_catalog.json_build_object('count', count(*),\n"
		"          'calls_total', coalesce(sum(calls), 0),\n"
		"          'exec_time_s_total', coalesce(sum(exec_time) / 1000.0, 0),\n"
		"          'rows_total', coalesce(sum(rows), 0))\n"
		"          FROM s WHERE self) AS pgx_self,\n"
		"       (SELECT count(*) FROM s WHERE query IS NULL"
		" OR query = '<insufficient privilege>') AS hidden_count",
		server_has(srv, FEAT_PGSS_TOPLEVEL) ? "s.toplevel" : "NULL::bool",
		exec ? "total_exec_time" : "total_time", exec ? "mean_exec_time" : "mean_time",
		times,
		server_has(srv, FEAT_PGSS_PLAN_TIME)
			? "CASE WHEN (SELECT current_setting('pg_stat_statements.track_planning', true)::bool)"
			  " THEN s.total_plan_time END" : "NULL::float8",
		nsp, items,
		info ? info_sql : "NULL::bigint AS dealloc_total, NULL::float8 AS stats_reset_ts", other);
	free(times);
	free(items);
	free(other);
	free(info_sql);
	free(nsp);
	return sql;
}

/* --delta: every statement in both samples, so the Top-N can be that of
 * the window (statements_rank_window), not of the lifetime totals.
 * pg_stat_statements.max bounds the list (5,000 by default). */
#define ALL_STATEMENTS 100000000L

void collect_statements(struct section_run *run)
{
	json_int_t hidden;

	json_object_set_new(run->rec, "db", json_string(run->pc->dbname));
	if (!section_merge_top(run, true, run->opts->delta_s > 0 ? ALL_STATEMENTS : run->opts->top_n))
		return;
	hidden = json_integer_value(json_object_get(run->rec, "hidden_count"));
	if (hidden > 0)
		section_missing(run, "query text", "role lacks pg_read_all_stats: %lld statements"
				" of other users have no text (and no queryid)", (long long)hidden);
}
