/* analyse.h - moments of a startup and the records derived from them */
#ifndef ANALYSE_H
#define ANALYSE_H

#include "timeline.h"

struct moment {
	double ts;		/* NO_TIME when not seen */
	const char *source;	/* "trace", "log", "docker", "ping", "pg_ctl" */
};

struct bounds {
	bool is_container;
	double start;		/* image build, container create, or the first record */
	struct moment built;	/* image built, before the container was created */
	struct moment started;	/* container started */
	struct moment initdb_exec, initdb_exit;
	struct moment temp_ready, temp_stop_begin, temp_stop_end;
	struct moment server_exec;	/* first server exec when there was no initdb */
	struct moment ready;
};

/* bounds.c */
void find_bounds(const struct timeline *t, struct bounds *b);
const struct milestone *first_mark(const struct timeline *t, const char *rule, double after);

/* analyse.c: a record of a span; end and duration_s only when end is known */
json_t *span_record(const char *type, double start, double end);

/* scripts.c; *log_scripts counts scripts timed from log lines only */
bool emit_scripts(const struct timeline *t, const struct bounds *b, size_t *log_scripts);

/* children.c: one per fork, with its exit and title when seen */
struct pg_child {
	long pid, postmaster;
	double fork_ts, exit_ts;	/* exit_ts NO_TIME when not seen */
	const char *title;		/* owned by the timeline, or NULL */
	bool parent_traced;		/* the exec of its postmaster's pid was seen */
	bool parent_is_postgres;
	double parent_start;
};
size_t pg_children(const struct timeline *t, struct pg_child **out);
/* The child pid that was running at ts, or NULL. */
const struct pg_child *child_at(const struct pg_child *c, size_t n, long pid, double ts);
/* Forked by a postgres (a postmaster) or by a process whose exec was not
 * traced: initdb's single-user postgres is run by a shell. */
bool forked_by_postgres(const struct pg_child *c);
/* "temporary" or "final": the server a postmaster's child belongs to, or
 * (server_at) the server of a time when no postmaster is known. */
const char *server_of_child(const struct bounds *b, const struct pg_child *c);
const char *server_at(const struct timeline *t, const struct bounds *b, double ts);
/* A worker's name from its title; false for a client backend or a title
 * that is not PostgreSQL's. */
bool worker_name(const char *title, char *buf, size_t size);

/* extensions.c: CREATE EXTENSIONs seen by the backends' opens */
struct ext_span {
	const char *name;	/* owned by the timeline */
	long pid;		/* the backend */
	double start, end;	/* end NO_TIME when unknown */
	double files_read;	/* its last file opened: the end is later */
	const char *end_bound;	/* what gave the end, or NULL */
};
size_t traced_extensions(const struct timeline *t, const struct pg_child *c, size_t nc,
			 struct ext_span **out);

#endif
