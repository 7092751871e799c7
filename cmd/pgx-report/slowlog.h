/* slowlog.h - pgx-report slowlog: a Top-N of normalized statements and the
 * errors, lock waits, temporary files, checkpoints and autovacuum runs of a
 * server log, read from the match (or match_group) records of
 * pgx-logmatch --rules slowlog; statement shapes come from lib/pgx_sql.h */
#ifndef PGX_SLOWLOG_H
#define PGX_SLOWLOG_H

#include <stddef.h>

/* slowlog.c: `pgx-report slowlog [OPTION]... [FILE]...`; an exit status */
int slowlog_main(int argc, char **argv);

/* ---- what slowlog.c gathers and slowview.c renders ---- */
#ifdef PGX_REPORT_H
#include <stdbool.h>
#include <stdint.h>

enum slow_format { SLOW_TABLE, SLOW_JSON, SLOW_RECORDS };

struct slow_opts {
	enum slow_format format;
	long top;
	const char *output;
	size_t max_line;	/* -L: longest record read */
	double min_mean_ms, min_total_ms;	/* shapes below either are not ranked */
	enum pgx_progress_mode progress;
};

struct slowlog_span {
	double first, last;	/* record times, epoch seconds */
	bool has;
};

struct shape {
	char *query;		/* normalized */
	char *example;		/* the statement of the slowest run, as logged */
	uint64_t hash;
	unsigned long count;
	double total_ms, max_ms, p95_ms;
	struct slowlog_span seen;
	VEC(double) durations;
};

struct pending {		/* a log_statement line waiting for its log_duration */
	long pid;
	bool used;
	char *statement;
};

struct error_row {
	char *sqlstate;		/* NULL: not in the log (no %e in log_line_prefix) */
	char *severity;
	char *example;		/* the first message */
	unsigned long count;
};

struct table_row {
	char *table;
	unsigned long runs;
};

struct slowlog_sum {
	unsigned long count;
	double total, max, extra;
};

struct slowlog {
	struct slow_opts opts;
	struct shape **tab, **ranked;	/* hash table; sorted by total time */
	size_t cap, nshapes, nranked;	/* nranked: shapes at or above the thresholds */
	struct pending *pending;
	size_t pending_cap, npending;
	unsigned long statements, matches, unpaired;
	double total_ms;
	struct slowlog_span seen;
	VEC(struct error_row) errors;
	struct slowlog_sum locks;	/* total, max: wait_ms */
	struct slowlog_sum temp;	/* total, max: bytes */
	struct slowlog_sum ckpt;	/* total, max: total_s; extra: buffers */
	struct {
		unsigned long vacuum, analyze;
		double max_s;
		VEC(struct table_row) tables;
	} av;
	struct pgx_sql_cache *shapes;	/* raw statement -> shape */
	unsigned long input_errors;
	bool unreadable;
};

/* slowview.c: false on a write error */
bool slowlog_render(FILE *f, const struct slowlog *sl);
#endif

#endif
