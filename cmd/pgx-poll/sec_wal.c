/* sec_wal.c - WAL position, and WAL generation from pg_stat_wal (PostgreSQL
 * 14 and later; before that the position alone and the counters null, as
 * documented: the record is as complete as the server can make it, so it is
 * not degraded, which would make every alert check on 13 UNKNOWN) */
#include "pgx.h"
#include "poll.h"

char *sql_wal(const struct server_info *srv, const char **why)
{
	bool stat = server_has(srv, FEAT_STAT_WAL), io = server_has(srv, FEAT_STAT_WAL_WRITE);

	return sql_format(
		"SELECT %s AS wal_records_total, %s AS wal_fpi_total,\n"
		"       %s AS wal_bytes_total, %s AS wal_buffers_full_total,\n"
		"       %s AS wal_write_total, %s AS wal_sync_total,\n"
		"       %s AS wal_write_time_s_total, %s AS wal_sync_time_s_total,\n"
		"       %s AS stats_reset_ts,\n"
		"       (CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()\n"
		"             ELSE pg_catalog.pg_current_wal_lsn() END)::text AS current_lsn,\n"
		"       (CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()\n"
		"             ELSE pg_catalog.pg_current_wal_lsn() END) - '0/0'::pg_lsn AS current_lsn_bytes\n"
		"%s",
		stat ? "wal_records" : "NULL::bigint", stat ? "wal_fpi" : "NULL::bigint",
		stat ? "wal_bytes" : "NULL::numeric", stat ? "wal_buffers_full" : "NULL::bigint",
		io ? "wal_write" : "NULL::bigint", io ? "wal_sync" : "NULL::bigint",
		io ? "CASE WHEN current_setting('track_wal_io_timing')::bool THEN wal_write_time / 1000.0 END"
		   : "NULL::float8",
		io ? "CASE WHEN current_setting('track_wal_io_timing')::bool THEN wal_sync_time / 1000.0 END"
		   : "NULL::float8",
		stat ? "extract(epoch FROM stats_reset)::float8" : "NULL::float8",
		stat ? "  FROM pg_catalog.pg_stat_wal" : "");
}

void collect_wal(struct section_run *run)
{
	section_merge(run, false);
}
