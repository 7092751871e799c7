/* sec_checkpoints.c - checkpoints and background writer (pg_stat_checkpointer on 17+) */
#include "pgx.h"
#include "poll.h"

/* Before 17 everything is in pg_stat_bgwriter; from 17 checkpoint counters
 * live in pg_stat_checkpointer and backend writes only in pg_stat_io (null). */
char *sql_checkpoints(const struct server_info *srv, const char **why)
{
	if (!server_has(srv, FEAT_STAT_CHECKPOINTER))
		return sql_format(
			"SELECT checkpoints_timed AS checkpoints_timed_total,\n"
			"       checkpoints_req AS checkpoints_req_total,\n"
			"       checkpoint_write_time / 1000.0 AS checkpoint_write_time_s_total,\n"
			"       checkpoint_sync_time / 1000.0 AS checkpoint_sync_time_s_total,\n"
			"       buffers_checkpoint AS buffers_checkpoint_total,\n"
			"       buffers_clean AS buffers_clean_total,\n"
			"       maxwritten_clean AS maxwritten_clean_total,\n"
			"       buffers_backend AS buffers_backend_total,\n"
			"       buffers_backend_fsync AS buffers_backend_fsync_total,\n"
			"       buffers_alloc AS buffers_alloc_total,\n"
			"       extract(epoch FROM stats_reset)::float8 AS stats_reset_ts,\n"
			"       'pg_stat_bgwriter' AS source\n"
			"  FROM pg_catalog.pg_stat_bgwriter");
	return sql_format(
		"SELECT c.num_timed AS checkpoints_timed_total,\n"
		"       c.num_requested AS checkpoints_req_total,\n%s"
		"       c.restartpoints_timed AS restartpoints_timed_total,\n"
		"       c.restartpoints_req AS restartpoints_req_total,\n"
		"       c.restartpoints_done AS restartpoints_done_total,\n"
		"       c.write_time / 1000.0 AS checkpoint_write_time_s_total,\n"
		"       c.sync_time / 1000.0 AS checkpoint_sync_time_s_total,\n"
		"       c.buffers_written AS buffers_checkpoint_total,\n"
		"       b.buffers_clean AS buffers_clean_total,\n"
		"       b.maxwritten_clean AS maxwritten_clean_total,\n"
		"       NULL::bigint AS buffers_backend_total,\n"
		"       NULL::bigint AS buffers_backend_fsync_total,\n"
		"       b.buffers_alloc AS buffers_alloc_total,\n"
		"       extract(epoch FROM c.stats_reset)::float8 AS stats_reset_ts,\n"
		"       extract(epoch FROM b.stats_reset)::float8 AS bgwriter_stats_reset_ts,\n"
		"       'pg_stat_checkpointer' AS source\n"
		"  FROM pg_catalog.pg_stat_checkpointer c, pg_catalog.pg_stat_bgwriter b",
		server_has(srv, FEAT_CHECKPOINTER_NUM_DONE)
			? "       c.num_done AS checkpoints_done_total,\n" : "");
}

void collect_checkpoints(struct section_run *run)
{
	section_merge(run, false);
}
