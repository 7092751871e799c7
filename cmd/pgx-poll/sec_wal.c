/* sec_wal.c - WAL generation (pg_stat_wal, PostgreSQL 14 and later) */
#include "pgx.h"
#include "poll.h"

char *sql_wal(const struct server_info *srv, const char **why)
{
	bool io = server_has(srv, FEAT_STAT_WAL_WRITE);

	if (!server_has(srv, FEAT_STAT_WAL)) {
		*why = "pg_stat_wal needs PostgreSQL 14";
		return NULL;
	}
	return sql_format(
		"SELECT wal_records AS wal_records_total, wal_fpi AS wal_fpi_total,\n"
		"       wal_bytes AS wal_bytes_total, wal_buffers_full AS wal_buffers_full_total,\n"
		"       %s AS wal_write_total, %s AS wal_sync_total,\n"
		"       %s AS wal_write_time_s_total, %s AS wal_sync_time_s_total,\n"
		"       extract(epoch FROM stats_reset)::float8 AS stats_reset_ts,\n"
		"       (CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()\n"
		"             ELSE pg_catalog.pg_current_wal_lsn() END)::text AS current_lsn,\n"
		"       (CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()\n"
		"             ELSE pg_catalog.pg_current_wal_lsn() END) - '0/0'::pg_lsn AS current_lsn_bytes\n"
		"  FROM pg_catalog.pg_stat_wal",
		io ? "wal_write" : "NULL::bigint", io ? "wal_sync" : "NULL::bigint",
		io ? "CASE WHEN current_setting('track_wal_io_timing')::bool THEN wal_write_time / 1000.0 END"
		   : "NULL::float8",
		io ? "CASE WHEN current_setting('track_wal_io_timing')::bool THEN wal_sync_time / 1000.0 END"
		   : "NULL::float8");
}

void collect_wal(struct section_run *run)
{
	section_merge(run, false);
}
