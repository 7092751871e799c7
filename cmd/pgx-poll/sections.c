/* sections.c - the catalogue of sections: name, loops, scope, collector */
#include <string.h>
#include "poll.h"

/* Order is output order.  Designated initializers: .sql for a fixed query,
 * .build_sql for one that depends on the server (see poll.h).  cost_ms:
 * the server time of a warm pass's queries at 2,000 tables and 2,000
 * statements (pg_stat_statements, bench/poll), what --jobs shares out. */
const struct section poll_sections[] = {
	{ .name = "identity", .loops = LOOP_HOURLY, .collect = collect_identity,
	  .build_sql = sql_identity, .cost_ms = 1.1 },
	{ .name = "prereqs", .loops = LOOP_HOURLY, .collect = collect_prereqs, .sql = sql_prereqs,
	  .cost_ms = 4.4 },
	{ .name = "settings", .loops = LOOP_HOURLY, .collect = collect_settings, .sql = sql_settings,
	  .cost_ms = 0.3 },
	{ .name = "connections", .loops = LOOP_HOT, .collect = collect_connections,
	  .sql = sql_connections, .cost_ms = 0.1 },
	{ .name = "activity", .loops = LOOP_HOT, .collect = collect_activity, .sql = sql_activity,
	  .cost_ms = 0.2 },
	{ .name = "locks", .loops = LOOP_HOT, .collect = collect_locks, .build_sql = sql_locks,
	  .cost_ms = 0.1 },
	{ .name = "statements", .loops = LOOP_WORKLOAD, .collect = collect_statements,
	  .build_sql = sql_statements, .cost_ms = 8.7 },
	{ .name = "database", .loops = LOOP_WORKLOAD, .collect = collect_database,
	  .build_sql = sql_database, .cost_ms = 3.1 },
	{ .name = "checkpoints", .loops = LOOP_WORKLOAD, .collect = collect_checkpoints,
	  .build_sql = sql_checkpoints, .cost_ms = 0.1 },
	{ .name = "wal", .loops = LOOP_WORKLOAD, .collect = collect_wal, .build_sql = sql_wal,
	  .cost_ms = 0.1 },
	{ .name = "io", .loops = LOOP_WORKLOAD, .collect = collect_io, .build_sql = sql_io,
	  .cost_ms = 0.3 },
	{ .name = "replication", .loops = LOOP_WORKLOAD, .collect = collect_replication,
	  .build_sql = sql_replication, .cost_ms = 0.1 },
	{ .name = "archiver", .loops = LOOP_WORKLOAD, .collect = collect_archiver,
	  .sql = sql_archiver, .cost_ms = 0.1 },
	{ .name = "vacuum", .loops = LOOP_WORKLOAD, .per_database = true,
	  .collect = collect_vacuum, .build_sql = sql_vacuum, .cost_ms = 5.1 },
	{ .name = "sizes", .loops = LOOP_STORAGE, .per_database = true,
	  .collect = collect_sizes, .build_sql = sql_sizes, .cost_ms = 15.2 },
	{ .name = "indexes", .loops = LOOP_STORAGE, .per_database = true,
	  .collect = collect_indexes, .build_sql = sql_indexes, .cost_ms = 4.9 },
	{ .name = "bloat", .loops = LOOP_HOURLY, .per_database = true,
	  .collect = collect_bloat, .sql = sql_bloat, .cost_ms = 4.8 },
	{ .name = "wraparound", .loops = LOOP_HOURLY, .per_database = true,
	  .collect = collect_wraparound, .sql = sql_wraparound, .cost_ms = 4.4 },
	{ .name = "sequences", .loops = LOOP_HOURLY, .per_database = true,
	  .collect = collect_sequences, .build_sql = sql_sequences, .cost_ms = 0.3 },
	{ .name = "partitions", .loops = LOOP_STORAGE, .per_database = true,
	  .collect = collect_partitions, .build_sql = sql_partitions, .cost_ms = 0.2 },
	{ .name = "pgbouncer", .loops = LOOP_HOT, .collect = collect_pgbouncer,
	  .sql = sql_pgbouncer, .needs_pgbouncer = true, .cost_ms = 0.1 },
};
const size_t poll_n_sections = sizeof(poll_sections) / sizeof(poll_sections[0]);

const struct section *section_find(const char *name, size_t *index)
{
	for (size_t i = 0; i < poll_n_sections; i++) {
		if (!strcmp(poll_sections[i].name, name)) {
			if (index)
				*index = i;
			return &poll_sections[i];
		}
	}
	return NULL;
}
