/* poll.h - pgx-poll: read-only health snapshots, one record type per section */
#ifndef PGX_POLL_H
#define PGX_POLL_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "pgx.h"

struct poll_opts {
	const char *dsn;
	const char *cluster;		/* label on every record */
	long top_n;			/* list length before the "other" rollup */
	long query_length;		/* query texts cut to this many characters */
	double long_xact_s;		/* activity: transactions older than this */
	const char *pgbouncer;		/* PgBouncer admin console conninfo, or NULL */
	double interval_s;		/* --interval: repeat every so many seconds */
	double delta_s;			/* --delta: two samples this far apart */
	bool schedule;			/* --schedule: the four loops */
	bool all_databases;		/* per-database sections in every database */
	bool allow_privileged;		/* run as superuser/writer anyway (warning) */
	bool include_self;		/* --include-self: pgx's own statements in the Top-N */
	bool print_sql;			/* --print-sql: the SQL only, no connection */
	long server_version;		/* --print-sql --server-version */
	const char *pgss_version;	/* --print-sql --pgss-version */
	long statement_timeout_ms, lock_timeout_ms;
	long jobs;			/* --jobs: sessions a pass runs on (1: none beside) */
	bool with_sql;			/* emit a sql record per section */
	unsigned long section_mask;	/* bit i: sections[i] selected */
	bool sections_given;		/* --sections was used */
	enum pgx_progress_mode progress; /* --progress, --no-progress */
};

/* Catalog features the SQL variants depend on.  server_probe() sets them from
 * pg_attribute/pg_proc on a live server; server_info_assume() sets them from
 * version numbers alone (what a stock server of that version answers), for
 * --print-sql and the tests of servers that do not run here.  The table of
 * probes and the versions they appeared in is in probe.c; add a bit there. */
enum server_feature {
	FEAT_PGSS_EXEC_TIME = 1u << 0,	/* pgss total_exec_time (1.8, PG13), else total_time */
	FEAT_PGSS_PLAN_TIME = 1u << 1,	/* pgss total_plan_time (1.8) */
	FEAT_PGSS_TOPLEVEL = 1u << 2,	/* pgss toplevel (1.9, PG14) */
	FEAT_PGSS_INFO = 1u << 3,	/* pg_stat_statements_info view (1.9) */
	FEAT_PGSS_SHARED_BLK_TIME = 1u << 4, /* shared_blk_read_time (1.11, PG17), else blk_read_time */
	FEAT_STAT_WAL = 1u << 5,	/* pg_stat_wal (PG14) */
	FEAT_STAT_WAL_WRITE = 1u << 6,	/* pg_stat_wal.wal_write (PG14..17) */
	FEAT_STAT_IO = 1u << 7,		/* pg_stat_io (PG16) */
	FEAT_STAT_CHECKPOINTER = 1u << 8, /* pg_stat_checkpointer (PG17) */
	FEAT_CONTROL_SYSTEM = 1u << 9,	/* pg_control_system(), and this role may run it */
	FEAT_DB_SESSION_TIME = 1u << 10, /* pg_stat_database.session_time (PG14) */
	FEAT_VACUUM_DEAD_TUPLE_BYTES = 1u << 11, /* pg_stat_progress_vacuum.dead_tuple_bytes (PG17) */
	FEAT_SLOT_WAL_STATUS = 1u << 12, /* pg_replication_slots.wal_status (PG13) */
	FEAT_PGSS_TEMP_BLK_TIME = 1u << 13, /* temp_blk_read_time (1.10, PG15) */
	FEAT_DB_CHECKSUM_FAILURES = 1u << 14, /* pg_stat_database.checksum_failures (PG12) */
	FEAT_CHECKPOINTER_NUM_DONE = 1u << 15, /* pg_stat_checkpointer.num_done (PG18) */
	FEAT_LOCKS_WAITSTART = 1u << 16, /* pg_locks.waitstart (PG14) */
	FEAT_IO_OP_BYTES = 1u << 17,	/* pg_stat_io.op_bytes (PG16..17) */
};

/* What probing a connection found; filled once per connection. */
struct server_info {
	int version_num;		/* server_version_num, e.g. 150018 */
	unsigned features;		/* enum server_feature bits */
	double start_ts;		/* pg_postmaster_start_time(), epoch s */
	bool in_recovery;
	bool superuser;
	bool pg_monitor;		/* member of pg_monitor (or superuser) */
	bool read_all_stats;		/* member of pg_read_all_stats (or superuser) */
	long writable_tables;		/* user relations the session could write (guard.c) */
	bool unsafe;			/* the guard found a way to write (guard.c) */
	char *pgss_schema;		/* NULL: pg_stat_statements not installed here */
	char *pgss_version;
};

/* A statement this session has prepared (pipeline.c): the text and the
 * parameter types it was prepared with, and its name on the server. */
struct prepared_stmt {
	char *sql;
	int nparams;
	Oid *types;			/* NULL: untyped */
	char name[24];
};

/* The settings section's rows, read again only when their key changes. */
struct settings_cache {
	char *key;			/* pg_conf_load_time and recovery state, as text */
	json_t *settings;
};
void settings_cache_clear(struct settings_cache *c);

/* What a statement took on its session in the passes before (pipeline.c):
 * the pass's queries are shared out among the --jobs sessions by it. */
struct stmt_cost {
	char *sql;
	double ms;
};

struct poll_conn {
	PGconn *conn;
	struct settings_cache settings_cache;
	char *dbname;
	struct server_info srv;
	struct prepared_stmt *prepared;	/* this session's, freed with it */
	size_t n_prepared;
	unsigned long prepared_serial;	/* names are never reused in a session */
	struct poll_conn *jobs;		/* --jobs: the sessions beside this one (run.c) */
	size_t n_jobs;
	bool beside;			/* this is one of them: its guard warns nothing */
	bool lost;			/* it failed during a pass (pipeline.c) */
	bool pooled;			/* behind a connection pooler: nothing is SET */
	struct stmt_cost *costs;	/* the main session's, learned pass by pass */
	size_t n_costs;
};

/* --jobs at most: sessions a pass may run its queries on */
#define POLL_MAX_JOBS 8

/* What a lane's query has yet to deliver (pipeline.c): the result of what
 * was sent before its execution (its Parse, or through a pooler its
 * timeouts), its execution's, its sync point. */
enum read_stage { READ_BEFORE, READ_EXECUTE, READ_SYNC };

/* A session a pass's queries run on, in pipeline mode: the main one first,
 * then its --jobs sessions. */
struct pipeline_lane {
	struct poll_conn *pc;
	size_t next_read;		/* its next query to read, or pl->n: all read */
	enum read_stage stage;		/* of that query, what comes next */
	PGresult *before_res, *exec_res;	/* of that query, read so far */
	double since;			/* monotonic ms: sent, or the one before it read */
	bool broken;			/* the session failed while reading */
};

/* A pass's queries, sent together (pipeline.c). */
struct pipeline {
	struct pipeline_lane lane[POLL_MAX_JOBS];
	size_t n_lanes;			/* set by pipeline_send */
	struct queued_query *q;
	size_t n, cap;			/* noted */
	bool recording;			/* collect() runs to note its queries */
	/* Through a pooler the sessions set nothing of their own: each query's
	 * transaction runs this first (sql_timeouts_local).  NULL: not through
	 * a pooler. */
	char *timeouts_sql;
};

/* One collection of one section: the record being filled and how it went. */
struct section_run {
	const char *name;		/* the section's: its queries carry it (pgx_sql_marked_as) */
	struct poll_conn *pc;
	const struct poll_opts *opts;
	json_t *rec;			/* type, ts, cluster (and db) already set */
	json_t *missing;		/* [{what, why}], NULL while nothing is missing */
	bool failed;			/* a query failed: status "error" */
	const char *sql;		/* the section's SQL for this server (build_sql or sql) */
	json_t *records;		/* optional: emit these (section_record()) instead of rec */
	struct pipeline *pipeline;	/* NULL: each query runs on its own */
};

enum poll_loop {
	LOOP_HOT = 1 << 0,		/* 15 s */
	LOOP_WORKLOAD = 1 << 1,		/* 60 s */
	LOOP_STORAGE = 1 << 2,		/* 10 min */
	LOOP_HOURLY = 1 << 3,		/* 1 h */
};

struct section {
	const char *name;		/* the record type */
	unsigned loops;			/* enum poll_loop bits for --schedule */
	bool per_database;		/* runs in each database with --all-databases */
	void (*collect)(struct section_run *run);
	const char *sql;		/* what --with-sql shows; NULL: built at run time */
	/* Optional, instead of sql: the SQL for a server, a pure function of the
	 * probe results so --print-sql --server-version N shows any version's
	 * variant without a server.  Returns malloc'd text, or NULL when the
	 * section cannot run there, with *why (static text) saying why: the
	 * section is then "degraded" without calling collect.  The text reaches
	 * collect as run->sql. */
	char *(*build_sql)(const struct server_info *srv, const char **why);
	bool needs_pgbouncer;		/* talks to --pgbouncer, not to PostgreSQL */
	/* Server ms a pass at 2,000 tables (bench/poll), for sharing a pass's
	 * queries among --jobs sessions: only the proportions matter. */
	double cost_ms;
};

extern const struct section poll_sections[];
extern const size_t poll_n_sections;
const struct section *section_find(const char *name, size_t *index);

/* query.c: every query of a section goes through section_query, so a failure
 * degrades that section only and is reported in its record, never as zero. */
PGresult *section_query(struct section_run *run, const char *sql,
			int nparams, const char *const *params);
/* The same with parameter types (OIDs), so a parameter may go unused. */
PGresult *section_query_typed(struct section_run *run, const char *sql, int nparams,
			      const Oid *types, const char *const *params);
void section_missing(struct section_run *run, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Run run->sql and merge its first row into run->rec; with_top passes
 * $1 = --top and $2 = --query-length.  False when the query failed. */
bool section_merge(struct section_run *run, bool with_top);
/* The same with another $1 than --top. */
bool section_merge_top(struct section_run *run, bool with_top, long top_n);
/* A text column the query returned for the collector, not for the record:
 * removed from run->rec, returned (malloc'd) or NULL. */
char *section_take_text(struct section_run *run, const char *key);
/* printf into a malloc'd string, for build_sql. */
char *sql_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
json_t *result_value(const PGresult *res, int row, int col);
/* pgx_emit with every password masked (lib/mask.c) */
bool poll_emit(json_t *rec);
json_t *result_row(const PGresult *res, int row);
json_t *result_rows(const PGresult *res);
void result_merge_row(json_t *rec, const PGresult *res, int row);

/* A further record of the running section (same type, ts, cluster, db), for
 * sections that write one record per row (database); collect fills and
 * returns it, the caller emits run->records instead of run->rec. */
json_t *section_record(struct section_run *run);

/* pipeline.c: note while recording; send; then take each result in turn
 * (false: not sent, run it synchronously); finish frees. */
void pipeline_local_timeouts(struct pipeline *pl, const struct poll_opts *o);
void pipeline_note(struct pipeline *pl, const char *tag, const char *sql, int nparams,
		   const Oid *types, const char *const *params);
void pipeline_send(struct pipeline *pl, struct poll_conn *pc);
bool pipeline_take(struct pipeline *pl, const char *sql, int nparams, const Oid *types,
		   const char *const *params, PGresult **res);
void pipeline_finish(struct pipeline *pl);
void stmt_costs_clear(struct poll_conn *pc);
/* Did the main session fail while its results were read? */
bool pipeline_broken(const struct pipeline *pl);
/* The session's prepared statements are forgotten (the server drops them
 * with the session). */
void prepared_forget_all(struct poll_conn *pc);

/* One pass over the selected sections (run.c): records collected in out. */
struct pass {
	const struct poll_opts *o;
	const char *cluster;
	unsigned long mask;		/* sections of this pass */
	unsigned long *sql_shown;	/* sections whose sql record went out */
	json_t *out;			/* records, in output order */
	json_t *done, *degraded;	/* section names */
	long errors;			/* failed sections and error records */
	bool lost;			/* the connection went away */
	bool refused;			/* the guard refused another database's session */
	double start_ts;		/* postmaster start time seen by this pass */
};

/* run.c */
bool poll_connect(struct poll_conn *pc, const struct poll_opts *o, const char *dsn,
		  int *status);
void poll_disconnect(struct poll_conn *pc);
/* Is the session still there (a failed query may not say)? Runs SELECT 1. */
bool connection_alive(PGconn *conn);
void pass_run(struct pass *ps, struct poll_conn *pc);
json_t *error_record(struct pass *ps, const char *section, const char *db,
		     const char *message);

/* loop.c: the modes; each returns an exit status. */
int poll_run(struct poll_conn *pc, const struct poll_opts *o, const char *cluster);
int print_sql_run(const struct poll_opts *o);

/* delta.c: rates from two samples (arrays of records), into the second;
 * the statements Top-N of the second ranked by the window (top_n kept). */
void delta_apply(json_t *first, json_t *second, double start1, double start2, long top_n);

/* delta.c: with --delta both samples hold every statement; once
 * their rates are in, the second keeps the top_n of the window (by
 * exec_time_s_per_s) and folds the rest, totals and rates, into other. */
void statements_rank_window(json_t *rec, long top_n);

/* guard.c: refuse a session that is, or can SET ROLE to, a superuser or a
 * role that can write (unless allowed: then a warning).  False when refused or the check failed;
 * *status is then the exit status. */
const char *guard_sql(void);
bool privilege_guard(struct poll_conn *pc, PGresult *res, bool allow_privileged, bool name_db,
		     int *status);

/* probe.c */
extern const char sql_server_settings_local[];
char *sql_timeouts_local(long statement_timeout_ms, long lock_timeout_ms);
/* The probe; with session_settings, it also sets those of pgx-poll's queries. */
char *probe_sql(bool session_settings);
bool server_probe(struct poll_conn *pc, PGresult *res);
void server_info_clear(struct server_info *srv);
/* Fill srv as a stock server_version_num with pg_stat_statements pgss_version
 * (NULL: not installed) would answer the probe. */
void server_info_assume(struct server_info *srv, int version_num, const char *pgss_version);
bool server_has(const struct server_info *srv, unsigned feature);
/* "1.10" -> 110; 0 when NULL or unparsable. */
int pgss_version_num(const char *version);

/* Section collectors, one file each (sec_NAME.c), with their SQL. */
void collect_identity(struct section_run *run);
char *sql_identity(const struct server_info *srv, const char **why);
void collect_prereqs(struct section_run *run);
extern const char sql_prereqs[];
void collect_settings(struct section_run *run);
extern const char sql_settings[];
void collect_connections(struct section_run *run);
extern const char sql_connections[];
void collect_activity(struct section_run *run);
extern const char sql_activity[];
void collect_locks(struct section_run *run);
char *sql_locks(const struct server_info *srv, const char **why);
void collect_statements(struct section_run *run);
char *sql_statements(const struct server_info *srv, const char **why);
void collect_database(struct section_run *run);
char *sql_database(const struct server_info *srv, const char **why);
void collect_checkpoints(struct section_run *run);
char *sql_checkpoints(const struct server_info *srv, const char **why);
void collect_wal(struct section_run *run);
char *sql_wal(const struct server_info *srv, const char **why);
void collect_io(struct section_run *run);
char *sql_io(const struct server_info *srv, const char **why);
void collect_archiver(struct section_run *run);
extern const char sql_archiver[];
void collect_pgbouncer(struct section_run *run);
extern const char sql_pgbouncer[];
void collect_replication(struct section_run *run);
char *sql_replication(const struct server_info *srv, const char **why);
void collect_vacuum(struct section_run *run);
char *sql_vacuum(const struct server_info *srv, const char **why);
void collect_sizes(struct section_run *run);
char *sql_sizes(const struct server_info *srv, const char **why);
void collect_indexes(struct section_run *run);
char *sql_indexes(const struct server_info *srv, const char **why);
void collect_bloat(struct section_run *run);
extern const char sql_bloat[];
void collect_wraparound(struct section_run *run);
extern const char sql_wraparound[];
void collect_sequences(struct section_run *run);
char *sql_sequences(const struct server_info *srv, const char **why);
void collect_partitions(struct section_run *run);
char *sql_partitions(const struct server_info *srv, const char **why);
/* sec_sizes.c: CTE "locked" (oid) of this database's relations with an
 * AccessExclusiveLock granted or waited for; size functions would queue. */
extern const char sql_locked_cte[];

#endif
