/* sections.c - the catalogue of sections: name, loops, scope, collector */
#include <string.h>
#include "poll.h"

/* Order is output order.  Designated initializers: .sql for a fixed query,
 * .build_sql for one that depends on the server (see poll.h). */
const struct section poll_sections[] = {
	{ .name = "identity", .loops = LOOP_HOURLY, .collect = collect_identity,
	  .build_sql = sql_identity },
	{ .name = "prereqs", .loops = LOOP_HOURLY, .collect = collect_prereqs, .sql = sql_prereqs },
	{ .name = "settings", .loops = LOOP_HOURLY, .collect = collect_settings, .sql = sql_settings },
	{ .name = "connections", .loops = LOOP_HOT, .collect = collect_connections,
	  .sql = sql_connections },
	{ .name = "activity", .loops = LOOP_HOT, .collect = collect_activity, .sql = sql_activity },
	{ .name = "locks", .loops = LOOP_HOT, .collect = collect_locks, .build_sql = sql_locks },
	{ .name = "statements", .loops = LOOP_WORKLOAD, .collect = collect_statements,
	  .build_sql = sql_statements },
	{ .name = "database", .loops = LOOP_WORKLOAD, .collect = collect_database,
	  .build_sql = sql_database },
	{ .name = "checkpoints", .loops = LOOP_WORKLOAD, .collect = collect_checkpoints,
	  .build_sql = sql_checkpoints },
	{ .name = "wal", .loops = LOOP_WORKLOAD, .collect = collect_wal, .build_sql = sql_wal },
	{ .name = "io", .loops = LOOP_WORKLOAD, .collect = collect_io, .build_sql = sql_io },
	{ .name = "replication", .loops = LOOP_WORKLOAD, .collect = collect_replication,
	  .build_sql = sql_replication },
	{ .name = "archiver", .loops = LOOP_WORKLOAD, .collect = collect_archiver,
	  .sql = sql_archiver },
	{ .name = "vacuum", .loops = LOOP_WORKLOAD, .per_database = true,
	  .collect = collect_vacuum, .build_sql = sql_vacuum },
	{ .name = "sizes", .loops = LOOP_STORAGE, .per_database = true,
	  .collect = collect_sizes, .build_sql = sql_sizes },
	{ .name = "indexes", .loops = LOOP_STORAGE, .per_database = true,
	  .collect = collect_indexes, .build_sql = sql_indexes },
	{ .name = "bloat", .loops = LOOP_HOURLY, .per_database = true,
	  .collect = collect_bloat, .sql = sql_bloat },
	{ .name = "wraparound", .loops = LOOP_HOURLY, .per_database = true,
	  .collect = collect_wraparound, .sql = sql_wraparound },
	{ .name = "sequences", .loops = LOOP_HOURLY, .per_database = true,
	  .collect = collect_sequences, .build_sql = sql_sequences },
	{ .name = "partitions", .loops = LOOP_STORAGE, .per_database = true,
	  .collect = collect_partitions, .build_sql = sql_partitions },
	{ .name = "pgbouncer", .loops = LOOP_HOT, .collect = collect_pgbouncer,
	  .sql = sql_pgbouncer, .needs_pgbouncer = true },
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
