/* probe.c - what this server and role can show us, asked once per connection */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"

/* One catalog feature: a relation (col NULL), a column of it, or a function
 * (rel NULL).  "@pgss" is pg_stat_statements' view in whatever schema the
 * extension lives.  since/until (server_version_num) and pgss_since (extension
 * version, 110 = "1.10") are what stock servers answer, for
 * server_info_assume(); a live server is asked its catalog instead. */
struct feature_probe {
	unsigned bit;
	const char *rel, *col, *func;
	int since, until, pgss_since;
};

static const struct feature_probe feature_probes[] = {
	{ FEAT_PGSS_EXEC_TIME, "@pgss", "total_exec_time", NULL, 0, 0, 108 },
	{ FEAT_PGSS_PLAN_TIME, "@pgss", "total_plan_time", NULL, 0, 0, 108 },
	{ FEAT_PGSS_TOPLEVEL, "@pgss", "toplevel", NULL, 0, 0, 109 },
	{ FEAT_PGSS_INFO, "@pgss_info", NULL, NULL, 0, 0, 109 },
	{ FEAT_PGSS_SHARED_BLK_TIME, "@pgss", "shared_blk_read_time", NULL, 0, 0, 111 },
	{ FEAT_PGSS_TEMP_BLK_TIME, "@pgss", "temp_blk_read_time", NULL, 0, 0, 110 },
	{ FEAT_STAT_WAL, "pg_catalog.pg_stat_wal", NULL, NULL, 140000, 0, 0 },
	{ FEAT_STAT_WAL_WRITE, "pg_catalog.pg_stat_wal", "wal_write", NULL, 140000, 180000, 0 },
	{ FEAT_STAT_IO, "pg_catalog.pg_stat_io", NULL, NULL, 160000, 0, 0 },
	{ FEAT_STAT_CHECKPOINTER, "pg_catalog.pg_stat_checkpointer", NULL, NULL, 170000, 0, 0 },
	{ FEAT_CHECKPOINTER_NUM_DONE, "pg_catalog.pg_stat_checkpointer", "num_done", NULL,
	  180000, 0, 0 },
	{ FEAT_CONTROL_SYSTEM, NULL, NULL, "pg_catalog.pg_control_system", 90600, 0, 0 },
	{ FEAT_DB_SESSION_TIME, "pg_catalog.pg_stat_database", "session_time", NULL, 140000, 0, 0 },
	{ FEAT_DB_CHECKSUM_FAILURES, "pg_catalog.pg_stat_database", "checksum_failures", NULL,
	  120000, 0, 0 },
	{ FEAT_VACUUM_DEAD_TUPLE_BYTES, "pg_catalog.pg_stat_progress_vacuum", "dead_tuple_bytes",
	  NULL, 170000, 0, 0 },
	{ FEAT_SLOT_WAL_STATUS, "pg_catalog.pg_replication_slots", "wal_status", NULL, 130000, 0, 0 },
	{ FEAT_LOCKS_WAITSTART, "pg_catalog.pg_locks", "waitstart", NULL, 140000, 0, 0 },
	{ FEAT_IO_OP_BYTES, "pg_catalog.pg_stat_io", "op_bytes", NULL, 160000, 180000, 0 },
};
#define N_FEATURES (sizeof(feature_probes) / sizeof(feature_probes[0]))

/* Catalog probes rather than version numbers where a feature is optional:
 * pg_stat_statements' schema and version come from pg_extension, its columns
 * from pg_attribute (they follow the installed extension version). */
static const char probe_head[] =
	"WITH pgss AS (SELECT n.nspname, e.extversion FROM pg_catalog.pg_extension e"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace"
	" WHERE e.extname = 'pg_stat_statements')"
	" SELECT current_setting('server_version_num')::int,"
	"       pg_catalog.pg_is_in_recovery(),"
	"       r.rolsuper,"
	"       r.rolsuper OR pg_catalog.pg_has_role('pg_monitor', 'USAGE'),"
	"       r.rolsuper OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'),"
	"       (SELECT nspname FROM pgss), (SELECT extversion FROM pgss),"
	"       extract(epoch FROM pg_catalog.pg_postmaster_start_time())::float8,";

/* Session settings in the same round trip: no parallel workers (forking
 * them costs more than the catalog scans they would share under load),
 * no JIT (compiling a catalog query whose cost estimate is large on
 * 100,000 relations takes longer than running it), and generic plans for
 * the prepared sections from their first execution: by default each is
 * planned anew for its first five (1 to 3 ms each for the big catalog
 * queries, 10 ms a pass on 2,000 tables), one whose custom plans look
 * cheaper is planned every pass for good, and --schedule's hourly loop
 * would plan them for five hours.  The sections' SQL is written for
 * plans that do not know $1 (the Top-N): what a Top-N's few rows need
 * from another catalog is a subquery per row, by index.  And work_mem
 * of 64MB: pg_stat_statements() and the statements section hold every
 * entry in tuplestores bounded by it, and at the default 4MB 8,000
 * entries spill to a temporary file every pass, counted in the
 * temp_files_total pgx-poll reports and logged under log_temp_files.
 * Each is named in sql_server_settings_local as well.  None through a
 * connection pooler, which would hand them on to other clients. */
static const char probe_settings[] =
	"       pg_catalog.set_config('max_parallel_workers_per_gather', '0', false),"
	"       pg_catalog.set_config('work_mem', '64MB', false),"
	"       CASE WHEN pg_catalog.current_setting('jit', true) IS NOT NULL"
	"            THEN pg_catalog.set_config('jit', 'off', false) END,"
	"       CASE WHEN pg_catalog.current_setting('plan_cache_mode', true) IS NOT NULL"
	"            THEN pg_catalog.set_config('plan_cache_mode', 'force_generic_plan', false) END";
static const char probe_no_settings[] = " NULL, NULL, NULL, NULL";
#define PROBE_FIXED_COLS 12

/* The settings above back to where a new session of the role has them
 * until the transaction ends (set_config(name, NULL, true) is SET LOCAL name
 * TO DEFAULT): a user's statement (--explain, --advice) is planned and run
 * as the application's would be. */
const char sql_server_settings_local[] =
	"SELECT pg_catalog.set_config(name, NULL, true) FROM pg_catalog.pg_settings"
	" WHERE name IN ('max_parallel_workers_per_gather', 'jit', 'plan_cache_mode', 'work_mem')";

/* The timeouts until the transaction ends: through a pooler the session
 * has none of its own (poll_conn.pooled), and the pooler keeps a transaction
 * on one server connection.  Caller frees. */
char *sql_timeouts_local(long statement_timeout_ms, long lock_timeout_ms)
{
	return sql_format("SELECT pg_catalog.set_config('statement_timeout', '%ld', true),"
			  " pg_catalog.set_config('lock_timeout', '%ld', true)",
			  statement_timeout_ms, lock_timeout_ms);
}

static const char *probe_rel_expr(const char *rel, char *buf, size_t len)
{
	if (!strcmp(rel, "@pgss") || !strcmp(rel, "@pgss_info")) {
		snprintf(buf, len, "pg_catalog.to_regclass((SELECT pg_catalog.quote_ident(nspname)"
			 " FROM pgss) || '.%s')",
			 strcmp(rel, "@pgss") ? "pg_stat_statements_info" : "pg_stat_statements");
		return buf;
	}
	snprintf(buf, len, "pg_catalog.to_regclass('%s')", rel);
	return buf;
}

static void append(char **sql, size_t *len, const char *text)
{
	size_t n = strlen(text);

	*sql = pgx_xrealloc(*sql, *len + n + 1);
	memcpy(*sql + *len, text, n + 1);
	*len += n;
}

char *probe_sql(bool session_settings)
{
	char *sql = NULL, rel[256], expr[512];
	size_t len = 0;

	append(&sql, &len, probe_head);
	append(&sql, &len, session_settings ? probe_settings : probe_no_settings);
	for (size_t i = 0; i < N_FEATURES; i++) {
		const struct feature_probe *f = &feature_probes[i];

		if (f->func)
			snprintf(expr, sizeof(expr), ", coalesce(pg_catalog.has_function_privilege("
				 "pg_catalog.to_regproc('%s')::oid, 'EXECUTE'), false)", f->func);
		else if (!f->col)
			snprintf(expr, sizeof(expr), ", %s IS NOT NULL",
				 probe_rel_expr(f->rel, rel, sizeof(rel)));
		else
			snprintf(expr, sizeof(expr), ", EXISTS (SELECT 1 FROM pg_catalog.pg_attribute"
				 " WHERE attrelid = %s AND attname = '%s' AND NOT attisdropped)",
				 probe_rel_expr(f->rel, rel, sizeof(rel)), f->col);
		append(&sql, &len, expr);
	}
	append(&sql, &len, " FROM pg_catalog.pg_roles r WHERE r.rolname = current_user");
	return sql;
}

static char *maybe_dup(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : pgx_xstrdup(PQgetvalue(res, 0, col));
}

bool server_probe(struct poll_conn *pc, PGresult *res)
{
	struct server_info *srv = &pc->srv;
	bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;

	if (!ok) {
		char *msg = pgx_pq_error_line(pc->conn, res, 0);

		pgx_error("cannot probe the server: %s", msg);
		free(msg);
		return false;
	}
	server_info_clear(srv);
	srv->version_num = atoi(PQgetvalue(res, 0, 0));
	if (srv->version_num / 10000 < PGX_PG_MIN_MAJOR || srv->version_num / 10000 > PGX_PG_MAX_MAJOR) {
		pgx_error("PostgreSQL %d (server_version_num %d) is not supported: pgx reads %d to %d "
			  "(tested: 13, 15, 17)", srv->version_num / 10000, srv->version_num,
			  PGX_PG_MIN_MAJOR, PGX_PG_MAX_MAJOR);
		return false;
	}
	srv->in_recovery = PQgetvalue(res, 0, 1)[0] == 't';
	srv->superuser = PQgetvalue(res, 0, 2)[0] == 't';
	srv->pg_monitor = PQgetvalue(res, 0, 3)[0] == 't';
	srv->read_all_stats = PQgetvalue(res, 0, 4)[0] == 't';
	srv->pgss_schema = maybe_dup(res, 5);
	srv->pgss_version = maybe_dup(res, 6);
	srv->start_ts = atof(PQgetvalue(res, 0, 7));
	for (size_t i = 0; i < N_FEATURES; i++)
		if (PQgetvalue(res, 0, PROBE_FIXED_COLS + (int)i)[0] == 't')
			srv->features |= feature_probes[i].bit;
	return true;
}

int pgss_version_num(const char *version)
{
	int major, minor;

	if (!version || sscanf(version, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 100 + minor;
}

void server_info_assume(struct server_info *srv, int version_num, const char *pgss_version)
{
	int pgss = pgss_version_num(pgss_version);

	server_info_clear(srv);
	srv->version_num = version_num;
	srv->pg_monitor = srv->read_all_stats = true;
	if (pgss_version) {
		srv->pgss_schema = pgx_xstrdup("public");
		srv->pgss_version = pgx_xstrdup(pgss_version);
	}
	for (size_t i = 0; i < N_FEATURES; i++) {
		const struct feature_probe *f = &feature_probes[i];
		bool is_pgss = f->rel && f->rel[0] == '@';

		if (is_pgss ? pgss && pgss >= f->pgss_since
			    : version_num >= f->since && (!f->until || version_num < f->until))
			srv->features |= f->bit;
	}
}

bool server_has(const struct server_info *srv, unsigned feature)
{
	return (srv->features & feature) == feature;
}

void server_info_clear(struct server_info *srv)
{
	free(srv->pgss_schema);
	free(srv->pgss_version);
	memset(srv, 0, sizeof(*srv));
}
