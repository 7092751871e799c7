/* pgx_pq.h - libpq helper for the commands that talk to PostgreSQL. */
#ifndef PGX_PQ_H
#define PGX_PQ_H

#include <stdbool.h>
#include <libpq-fe.h>

struct pgx_pq_options {
	const char *dsn;		/* conninfo string or URI; NULL: PG* environment */
	int connect_timeout_s;		/* 0: libpq default */
	int statement_timeout_ms;	/* 0: leave server setting */
	int lock_timeout_ms;		/* 0: leave server setting */
	bool read_only;			/* default_transaction_read_only=on */
	/* Optional, set on return: a connection pooler sits between this end
	 * and PostgreSQL (pgx_pq_pooled), so the settings above were not made:
	 * the server connection is shared, and the pooler would hand them on to
	 * other clients' sessions. */
	bool *pooled;
};

/* Connect with fallback_application_name = progname and the session settings
 * above. On failure reports "pgx-foo: connection to server failed: ..."
 * (never the password) and returns NULL. Arms cancel-on-SIGINT for this
 * connection: pgx_pq_cancel_requested() then turns a running query into an error. */
PGconn *pgx_pq_connect(const struct pgx_pq_options *opt);
/* libpq's error for a failed connection to dsn, on one line, with the
 * password masked even where libpq quotes a part it could not parse. */
char *pgx_pq_conn_error(const PGconn *conn, const char *dsn);
void pgx_pq_finish(PGconn *conn);
/* The same for a session beside one pgx_pq_connect opened: nothing is
 * reported and SIGINT is not armed; on failure, NULL and *why (malloc'd,
 * no password) says why.  Close it with PQfinish. */
PGconn *pgx_pq_connect_beside(const struct pgx_pq_options *opt, char **why);

/* Whether a connection pooler (PgBouncer, Odyssey, pgcat...) is between
 * conn and PostgreSQL: the backend pid the connection reported at start is
 * not the server's pg_backend_pid(), since a pooler reports a cancel key of
 * its own.  A TCP proxy passes the server's on.  One round trip. */
bool pgx_pq_pooled(PGconn *conn);

/* What pgx_pq_error_line adds to the server's primary message. */
enum pgx_pq_error_parts {
	PGX_PQ_DETAIL = 1,	/* "; DETAIL: ..." */
	PGX_PQ_HINT = 2,	/* "; HINT: ..." */
	PGX_PQ_SQLSTATE = 4,	/* " (SQLSTATE 42501)" */
};
/* Why a query or a connection failed, on one line, for errors and records:
 * the server's primary message when res carries one (no "ERROR:" prefix),
 * plus the parts asked for; else libpq's message for conn ("no connection"
 * when conn is NULL).  A failed connection's message may quote the DSN:
 * use pgx_pq_conn_error for that.  Caller frees. */
char *pgx_pq_error_line(const PGconn *conn, const PGresult *res, unsigned what);
/* A libpq message on one line (see pq.c); caller frees. */
char *pgx_pq_one_line(const char *msg);
/* PQping with the same DSN handling; returns PQPING_* */
PGPing pgx_pq_ping(const char *dsn, int connect_timeout_s);
/* Every statement pgx composes starts with this comment, which
 * pg_stat_statements keeps: pgx's own statements can be told from the
 * user's (pgx-poll keeps them out of its Top-N as pgx_self). */
#define PGX_SQL_MARK "/* pgx */ "
/* PGX_SQL_MARK and sql, malloc'd. */
char *pgx_sql_marked(const char *sql);
/* PGX_SQL_MARK, then a comment holding tag, which names what runs the
 * statement (a pgx-poll section: pg_stat_statements, pg_stat_activity and the
 * server log show which), then sql; malloc'd.  A NULL tag: no second comment. */
char *pgx_sql_marked_as(const char *tag, const char *sql);
/* The DSN with any password replaced by "********", for messages; caller frees. */
char *pgx_pq_redact(const char *dsn);

#endif
