/* sec_database.c - pg_stat_database: one record per database */
#include "pgx.h"
#include "poll.h"

/* size_bytes needs CONNECT on the database (or pg_read_all_stats): NULL
 * otherwise, not 0.  session counters exist from 14, checksum_failures from 12.
 * The connected database's size is the sum of pg_class.relpages (as of each
 * relation's last VACUUM, ANALYZE or CREATE INDEX) times the block size, not
 * pg_database_size(): that one stats every file of the database (55 ms at
 * 2,000 tables, seconds at 100,000) while pg_class is read by other sections
 * anyway.  Other databases (a few files each, usually) keep
 * pg_database_size(); size_source says which ("relpages" or "files"). */
char *sql_database(const struct server_info *srv, const char **why)
{
	bool s = server_has(srv, FEAT_DB_SESSION_TIME);

	return sql_format(
		"SELECT d.datname AS db, d.numbackends,\n"
		"       d.xact_commit AS xact_commit_total, d.xact_rollback AS xact_rollback_total,\n"
		"       d.blks_read AS blks_read_total, d.blks_hit AS blks_hit_total,\n"
		"       round(100.0 * d.blks_hit / nullif(d.blks_hit + d.blks_read, 0), 2)"
		" AS cache_hit_pct,\n"
		"       d.tup_returned AS tup_returned_total, d.tup_fetched AS tup_fetched_total,\n"
		"       d.tup_inserted AS tup_inserted_total, d.tup_updated AS tup_updated_total,\n"
		"       d.tup_deleted AS tup_deleted_total, d.conflicts AS conflicts_total,\n"
		"       d.temp_files AS temp_files_total, d.temp_bytes AS temp_bytes_total,\n"
		"       d.deadlocks AS deadlocks_total, %s AS checksum_failures_total,\n"
		"       CASE WHEN current_setting('track_io_timing')::bool OR d.blk_read_time > 0\n"
		"            THEN d.blk_read_time / 1000.0 END AS blk_read_time_s_total,\n"
		"       CASE WHEN current_setting('track_io_timing')::bool OR d.blk_write_time > 0\n"
		"            THEN d.blk_write_time / 1000.0 END AS blk_write_time_s_total,\n"
		"       %s AS session_time_s_total, %s AS active_time_s_total,\n"
		"       %s AS idle_in_transaction_time_s_total, %s AS sessions_total,\n"
		"       %s AS sessions_abandoned_total, %s AS sessions_fatal_total,\n"
		"       %s AS sessions_killed_total,\n"
		"       extract(epoch FROM d.stats_reset)::float8 AS stats_reset_ts,\n"
		"       CASE WHEN d.datname = current_database()\n"
		"            THEN (SELECT sum(c.relpages::bigint)\n"
		"                         * current_setting('block_size')::bigint\n"
		"                    FROM pg_catalog.pg_class c\n"
		"                   WHERE c.relkind IN ('r', 'i', 't', 'm', 'S'))\n"
		"            WHEN pg_catalog.has_database_privilege(d.datid, 'CONNECT')\n"
		"            THEN pg_catalog.pg_database_size(d.datid) END AS size_bytes,\n"
		"       CASE WHEN d.datname = current_database() THEN 'relpages'\n"
		"            WHEN pg_catalog.has_database_privilege(d.datid, 'CONNECT')\n"
		"            THEN 'files' END AS size_source\n"
		"  FROM pg_catalog.pg_stat_database d\n"
		" WHERE d.datname IS NOT NULL\n"
		" ORDER BY d.datname",
		server_has(srv, FEAT_DB_CHECKSUM_FAILURES) ? "d.checksum_failures" : "NULL::bigint",
		s ? "d.session_time / 1000.0" : "NULL::float8",
		s ? "d.active_time / 1000.0" : "NULL::float8",
		s ? "d.idle_in_transaction_time / 1000.0" : "NULL::float8",
		s ? "d.sessions" : "NULL::bigint", s ? "d.sessions_abandoned" : "NULL::bigint",
		s ? "d.sessions_fatal" : "NULL::bigint", s ? "d.sessions_killed" : "NULL::bigint");
}

void collect_database(struct section_run *run)
{
	PGresult *res = section_query(run, run->sql, 0, NULL);

	if (!res)
		return;
	for (int r = 0; r < PQntuples(res); r++)
		result_merge_row(section_record(run), res, r);
	PQclear(res);
}
