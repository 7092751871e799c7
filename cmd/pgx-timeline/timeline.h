/* timeline.h - what pgx-timeline keeps from a merged record stream */
#ifndef TIMELINE_H
#define TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define NO_TIME (-1.0)

/* One process image: exec to the next exec of the same pid, or to its exit. */
struct proc_span {
	long pid, ppid;
	char *comm;
	json_t *argv;		/* array of strings, owned */
	double start, end;	/* end NO_TIME while running */
	int exit_code;
	bool exited;
};

/* A match record of pgx-logmatch. */
struct milestone {
	char *rule;
	char *capture;		/* script, extension or worker name, or NULL */
	double ts;
	long pid;
	bool marks_ready;
};

/* A fork, exit or title record of pgx-trace: one pid at one time (kernel.c). */
struct pid_event {
	long pid, parent;	/* parent: forks only */
	double ts;
	char *title;		/* titles only */
};

enum ext_file {
	EXT_CONTROL,		/* NAME.control */
	EXT_INSTALL,		/* NAME--VERSION.sql: what CREATE EXTENSION runs first */
	EXT_OTHER,		/* NAME--A--B.sql, NAME--VERSION.control */
};

/* A successful open of a file of SHAREDIR/extension/ (kernel.c). */
struct ext_open {
	long pid;
	double ts;
	char *name;
	enum ext_file kind;
};

struct kernel_events {
	struct pid_event *forks, *exits, *titles;
	size_t nforks, forks_cap, nexits, exits_cap, ntitles, titles_cap;
	struct ext_open *opens;
	size_t nopens, opens_cap;
};

struct container_info {
	char *image;
	double create, start, ready, die;
	int exit_code;
};

/* An image build (pgx-docker build) before the container. */
struct build_info {
	double start, end;	/* first build record; the last (image id or error) */
	bool cached;		/* every step came from the build cache */
	char *error;		/* the build failed */
	char *tag;
};

struct timeline {
	struct proc_span *procs;
	size_t nprocs, procs_cap;
	long *pid_slots;	/* open addressing: pid -> index of its latest span + 1 */
	size_t pid_slots_cap;
	struct milestone *marks;
	size_t nmarks, marks_cap;
	double *line_ts;	/* ts of every log/match record, for "next line" ends */
	size_t nline_ts, line_ts_cap;
	struct container_info ctr;
	struct build_info build;
	struct kernel_events kernel;
	double first_ts;
	unsigned long lost;
	const char *init_dir;	/* "/docker-entrypoint-initdb.d" */
};

/* collect.c */
void timeline_init(struct timeline *t, const char *init_dir);
void timeline_free(struct timeline *t);
/* Take what matters from a record; false if the record is not used. */
bool timeline_take(struct timeline *t, const json_t *rec);

/* What record_peek() saw of a record's top level (peek.c). */
enum { PEEK_PID, PEEK_CODE, PEEK_SIGNAL, PEEK_INTS };
struct record_peek {
	bool has_type, has_ts;
	const char *type;	/* into the line when the type is a string, else NULL */
	size_t type_len;
	bool type_plain;	/* the type string has no escapes */
	bool ts_is_number;
	double ts;
	bool backslash;		/* some string of the line has an escape */
	struct {		/* pid, code, signal: what an exit record holds */
		bool seen, is_int;
		long value;
	} ints[PEEK_INTS];
};

/* peek.c: true when jansson would accept the line as one object; *r then
 * holds its type and ts. */
bool record_peek(const char *line, size_t len, struct record_peek *r);

/* collect.c: take a record from what record_peek() saw of it; false when
 * the whole record is needed (timeline_take then). */
bool timeline_take_peeked(struct timeline *t, const struct record_peek *r, const char *line, size_t len);

/* kernel.c: forks, titles, exits and extension file opens; true if used */
bool kernel_take(struct kernel_events *k, const json_t *rec, const char *type, double ts);
void kernel_take_exit(struct kernel_events *k, long pid, double ts);
void kernel_free(struct kernel_events *k);

/* analyse.c: emit the derived records; returns false on a write error.
 * *ready_found tells whether the subject became ready. */
bool timeline_emit(const struct timeline *t, bool *ready_found);
bool timeline_has_records(const struct timeline *t);	/* any record with a time */

#endif
