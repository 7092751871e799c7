/* poll.h - pgx-poll: read-only health snapshots, one record type per section */
#ifndef PGX_POLL_H
#define PGX_POLL_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>

struct poll_opts {
	const char *dsn;
	const char *cluster;		/* label on every record */
	long top_n;			/* list length before the "other" rollup */
	long statement_timeout_ms, lock_timeout_ms;
	bool with_sql;			/* emit a sql record per section */
	unsigned long section_mask;	/* bit i: sections[i] selected */
};

/* What probing a connection found; filled once per connection. */
struct server_info {
	int version_num;		/* server_version_num, e.g. 150018 */
	bool in_recovery;
	bool superuser;
	bool pg_monitor;		/* member of pg_monitor (or superuser) */
	bool read_all_stats;		/* member of pg_read_all_stats (or superuser) */
	char *pgss_schema;		/* NULL: pg_stat_statements not installed here */
	char *pgss_version;
};

struct poll_conn {
	PGconn *conn;
	char *dbname;
	struct server_info srv;
};

/* One collection of one section: the record being filled and how it went. */
struct section_run {
	struct poll_conn *pc;
	const struct poll_opts *opts;
	json_t *rec;			/* type, ts, cluster (and db) already set */
	json_t *missing;		/* [{what, why}], NULL while nothing is missing */
	bool failed;			/* a query failed: status "error" */
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
};

extern const struct section poll_sections[];
extern const size_t poll_n_sections;
const struct section *section_find(const char *name, size_t *index);

/* query.c: every query of a section goes through section_query, so a failure
 * degrades that section only and is reported in its record, never as zero. */
PGresult *section_query(struct section_run *run, const char *sql,
			int nparams, const char *const *params);
void section_missing(struct section_run *run, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
json_t *result_value(const PGresult *res, int row, int col);
json_t *result_row(const PGresult *res, int row);
json_t *result_rows(const PGresult *res);
void result_merge_row(json_t *rec, const PGresult *res, int row);

/* probe.c */
bool server_probe(struct poll_conn *pc);
void server_info_clear(struct server_info *srv);

/* Section collectors, one file each (sec_NAME.c). */
void collect_connections(struct section_run *run);

#endif
