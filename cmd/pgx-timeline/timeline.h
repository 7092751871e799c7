/* timeline.h - what pgx-timeline keeps from a merged record stream */
#ifndef TIMELINE_H
#define TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#define NO_TIME (-1.0)

/* Room for one more in arr, which holds n of cap. */
#define GROW(arr, n, cap)                                                      \
	do {                                                                   \
		if ((n) == (cap)) {                                            \
			(cap) = (cap) ? (cap) * 2 : 64;                        \
			(arr) = pgx_xrealloc((arr), (cap) * sizeof(*(arr)));   \
		}                                                              \
	} while (0)

/* An unlinked temporary file written through a buffer (spill.c). */
struct spill {
	int fd;
	char *buf;		/* NULL until the first entry: no file for none */
	size_t len;		/* bytes in buf, which follow the flushed ones */
	off_t flushed;
};

struct spill_reader {
	const struct spill *spill;
	char *buf;
	size_t cap, pos, len;
	off_t at;		/* of the byte after buf's */
};

off_t spill_append(struct spill *s, const void *data, size_t n);
void spill_patch(struct spill *s, off_t at, const void *data, size_t n);	/* written bytes */
void spill_free(struct spill *s);
void spill_rewind(const struct spill *s, struct spill_reader *r);
/* From offset at, through a buffer of buf_size bytes (a merge reads many). */
void spill_read_from(const struct spill *s, struct spill_reader *r, off_t at, size_t buf_size);
bool spill_read(struct spill_reader *r, void *data, size_t n);	/* false at the end */
void spill_reader_free(struct spill_reader *r);

/* One process image: exec to the next exec of the same pid, or to its exit. */
struct proc_span {
	long pid, ppid;
	char *comm;
	json_t *argv;		/* array of strings, owned */
	double start, end;	/* end NO_TIME while running */
	int exit_code;
	bool exited;
};

/* A span as spilled (procs.c): this head, then comm, then the argv
 * strings, each as a uint32_t length and the bytes, then (argv_json) the
 * argv array's JSON text when it holds something else than strings. */
struct span_head {
	double start, end;
	long pid, ppid;
	int exit_code;
	bool exited, argv_json;
	uint32_t comm_len, argv_len, json_len;
};

/* A span read back: comm and argv point into the iterator's buffer. */
struct span_iter {
	struct spill_reader r;
	struct span_head head;
	char *body;		/* comm, argv strings, JSON text */
	size_t body_cap;
};

/* A span whose end is not known yet (procs.c). */
struct live_span {
	bool used;
	long pid;
	off_t at;		/* its head in the spill */
	struct span_head head;
	size_t kept;		/* index + 1 in timeline.procs, or 0 */
};

struct proc_spans {
	struct spill spill;	/* every span, in exec order */
	size_t count;
	struct live_span *live;	/* open addressing by pid, linear probing */
	size_t live_cap, nlive;
	struct proc_span first;	/* the earliest exec: the subject */
	bool has_first;
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

/* An exit as spilled: pid and time. */
struct pid_ts {
	long pid;
	double ts;
};

struct kernel_events {
	struct pid_event *forks, *titles;
	size_t nforks, forks_cap, ntitles, titles_cap;
	struct spill exits;	/* struct pid_ts, one per exit */
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
	struct proc_spans spans;	/* every exec */
	struct proc_span *procs;	/* in memory too: the programs bounds.c looks for */
	size_t nprocs, procs_cap;
	struct milestone *marks;	/* the matches the analysis may read */
	size_t nmarks, marks_cap;
	unsigned long nmatches;	/* all of them */
	double earliest_match;
	struct spill line_ts;	/* ts of every log/match record, for "next line" ends */
	struct container_info ctr;
	struct build_info build;
	struct kernel_events kernel;
	double first_ts;
	unsigned long lost;
	const char *init_dir;	/* "/docker-entrypoint-initdb.d" */
};

/* procs.c: exec and exit of process spans */
void take_exec(struct timeline *t, const json_t *rec, double ts);
void take_exit_of(struct timeline *t, long pid, long sig, long code, double ts);
void procs_free(struct timeline *t);
/* Every span in exec order: spans_begin, then spans_next until false. */
void spans_begin(const struct timeline *t, struct span_iter *it);
bool spans_next(struct span_iter *it);
void spans_end(struct span_iter *it);
const char *span_comm(const struct span_iter *it);
/* The argv strings one by one from *cursor (0 first); NULL after the last. */
const char *span_arg(const struct span_iter *it, size_t *cursor);
json_t *span_argv(const struct span_iter *it);	/* the argv array as it came */

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
