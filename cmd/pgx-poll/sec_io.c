/* sec_io.c - I/O by backend type, object and context (pg_stat_io, PostgreSQL 16+) */
#include "pgx.h"
#include "poll.h"

/* Rows whose every counter is NULL (combinations that cannot happen) are left out;
 * times are NULL unless track_io_timing is on. */
char *sql_io(const struct server_info *srv, const char **why)
{
	if (!server_has(srv, FEAT_STAT_IO)) {
		*why = "pg_stat_io needs PostgreSQL 16";
		return NULL;
	}
	return sql_format(
		"SELECT pg_catalog.json_agg(pg_catalog.json_build_object(\n"
		"         'backend_type', backend_type, 'object', object, 'context', context,\n"
		"         'reads_total', reads, 'writes_total', writes, 'writebacks_total', writebacks,\n"
		"         'extends_total', extends, 'hits_total', hits, 'evictions_total', evictions,\n"
		"         'reuses_total', reuses, 'fsyncs_total', fsyncs,\n"
		"         'read_time_s_total', CASE WHEN t THEN read_time / 1000.0 END,\n"
		"         'write_time_s_total', CASE WHEN t THEN write_time / 1000.0 END,\n"
		"         'op_bytes', %s)\n"
		"         ORDER BY backend_type, object, context) AS items,\n"
		"       extract(epoch FROM max(stats_reset))::float8 AS stats_reset_ts\n"
		"  FROM pg_catalog.pg_stat_io,\n"
		"       (SELECT current_setting('track_io_timing')::bool AS t) s\n"
		" WHERE coalesce(reads, writes, writebacks, extends, hits, evictions, reuses, fsyncs)"
		" IS NOT NULL",
		server_has(srv, FEAT_IO_OP_BYTES) ? "op_bytes" : "NULL::bigint");
}

void collect_io(struct section_run *run)
{
	section_merge(run, false);
}
