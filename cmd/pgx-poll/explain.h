/* explain.h - pgx-poll's query modes: EXPLAIN one statement, index advice */
#ifndef PGX_POLL_EXPLAIN_H
#define PGX_POLL_EXPLAIN_H

#include <stdbool.h>
#include <jansson.h>
#include <libpq-fe.h>
#include "poll.h"

#define ADVICE_MIN_ROWS 10000	/* never advise an index for a smaller table */

struct query_opts {
	const char *explain_sql;	/* --explain SQL */
	const char *explain_file;	/* --explain-file FILE ("-" stdin) */
	bool no_analyze;		/* plain EXPLAIN, nothing executed */
	bool advice;			/* --advice */
	long min_rows;			/* --min-rows: seq-scan advice from this size */
	const char *indexes_from;	/* --indexes-from FILE: an indexes record */
};

/* explain.c: each returns an exit status. */
int explain_run(struct poll_conn *pc, const struct poll_opts *o,
		const struct query_opts *q, const char *cluster);
/* EXPLAIN (options) sql as one extended-protocol statement: the plan object
 * (first array element), or NULL with *err (malloc'd). */
json_t *explain_json(PGconn *conn, const char *options, const char *sql, char **err);
/* BEGIN READ ONLY, with the timeouts of o and the planner settings
 * pgx-poll's session changed back to the role's for the transaction: false
 * with *err (malloc'd). */
bool explain_begin(PGconn *conn, const struct poll_opts *o, char **err);
/* A command (BEGIN, SET, PREPARE...): false with *err (malloc'd) when it fails. */
bool explain_command(PGconn *conn, const char *sql, char **err);
char *explain_error(PGconn *conn, const PGresult *res);
const json_t *plan_find_modify(const json_t *node);
/* One statement that PREPARE accepts (no utility statement), by its text. */
bool sql_plannable(const char *sql);
/* Past a '...' string (or "..." identifier) at p; backslash escapes with true. */
const char *sql_skip_quoted(const char *p, bool backslash);

/* sideeffect.c: why EXPLAIN ANALYZE of sql must not run (malloc'd), or NULL
 * when nothing it calls can act outside the transaction. */
char *analyze_blocker(PGconn *conn, const char *sql);

/* advice.c */
int advice_run(struct poll_conn *pc, const struct poll_opts *o,
	       const struct query_opts *q, const char *cluster);

#endif
