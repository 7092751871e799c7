/* sec_archiver.c - WAL archiving: counts, last success and last failure */
#include "pgx.h"
#include "poll.h"

const char sql_archiver[] =
	"SELECT archived_count AS archived_count_total, failed_count AS failed_count_total,\n"
	"       last_archived_wal,\n"
	"       extract(epoch FROM last_archived_time)::float8 AS last_archived_ts,\n"
	"       last_failed_wal,\n"
	"       extract(epoch FROM last_failed_time)::float8 AS last_failed_ts,\n"
	"       current_setting('archive_mode') AS archive_mode,\n"
	"       extract(epoch FROM stats_reset)::float8 AS stats_reset_ts\n"
	"  FROM pg_catalog.pg_stat_archiver";

void collect_archiver(struct section_run *run)
{
	section_merge(run, false);
}
