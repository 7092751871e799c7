/* report.h - startup profiles as read from pgx-timeline records, and their views */
#ifndef PGX_REPORT_H
#define PGX_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

/* A growable array: `VEC(struct phase) phases;` then vec_push(&p->phases). */
#define VEC(T) struct { T *v; size_t n, cap; }
#define vec_push(vec) \
	(vec_grow((void **)&(vec)->v, &(vec)->cap, (vec)->n + 1, sizeof(*(vec)->v)), \
	 memset(&(vec)->v[(vec)->n], 0, sizeof(*(vec)->v)), &(vec)->v[(vec)->n++])
void vec_grow(void **v, size_t *cap, size_t want, size_t elsize);

/* When and how long; has_end is false for a process still running. */
struct span {
	double start, end, duration_s;
	bool has_start, has_end;
};

/* Spread over repeated runs (pgx-report aggregate); runs == 0 for one run. */
struct spread {
	double min_s, max_s;
	long runs;
};

struct phase {
	char *name, *source;
	char *cache;		/* image_build: "hit" or "miss", else NULL */
	struct span t;
	double pct;		/* < 0 when the record had none */
	struct spread agg;
};

struct script {
	char *name, *path, *source;
	struct span t;
	long exit_code;
	bool has_exit;
	struct spread agg;
};

struct extension {
	char *name, *source;
	char *server;		/* "temporary", "final" or NULL */
	struct span t;		/* duration_s < 0 when untimed */
	struct spread agg;
};

struct bgworker {
	char *name;
	char *server;		/* "temporary", "final" or NULL */
	double offset_s;
	struct spread agg;
};

struct process {
	long pid, ppid, exit_code;
	bool has_exit;
	char *comm, *cmdline;	/* cmdline: argv joined by spaces, or comm */
	struct span t;
};

struct profile {
	char *input;		/* the file it came from */
	char *subject, *subject_kind, *ready_source;
	double start, ready, total_s;
	bool has_start, has_ready, has_total;
	bool partial;		/* no profile record: built from its phases */
	long lost_events;
	VEC(char *) warnings;
	struct spread agg;	/* total_min_s, total_max_s, runs */
	VEC(struct phase) phases;
	VEC(struct script) scripts;
	VEC(struct extension) extensions;
	VEC(struct bgworker) bgworkers;
	VEC(struct process) processes;
};

struct profile_set {
	VEC(struct profile *) items;
	unsigned long input_errors;	/* malformed lines, already reported */
	bool unreadable;		/* a file could not be opened or read */
};

/* profile.c */
void profiles_load(struct profile_set *set, char *const *files, size_t nfiles);
void profiles_free(struct profile_set *set);
void profile_free(struct profile *p);
void profile_warn(struct profile *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
double profile_origin(const struct profile *p);	/* time zero of the views */
double profile_end(const struct profile *p);	/* ready, or the last end seen */
double phase_pct(const struct profile *p, const struct phase *ph);
const struct phase *profile_phase(const struct profile *p, const char *name);
const char *phase_label(const char *name);	/* "initdb", "Init scripts" ... */

/* format.c: every number in the views is written the same way */
#define FMT_LEN 32
const char *fmt_secs(char buf[FMT_LEN], double s);	/* "1.234s" */
const char *fmt_delta(char buf[FMT_LEN], double s);	/* "+1.234s" */
const char *fmt_pct(char buf[FMT_LEN], double pct);	/* "30.8%" */
const char *fmt_delta_pct(char buf[FMT_LEN], double pct); /* "+20.0%", "n/a" */
double round_to(double v, double unit);
size_t utf8_width(const char *s);
/* Write s in a cell of width columns, cut with "..." at the front when too
 * long (the end of a path says most), padded on the right or left. */
void put_cell(FILE *f, const char *s, size_t width, bool right);
void put_trunc(FILE *f, const char *s, size_t width);	/* cut, never padded */
const char *cut_front(char *out, size_t outlen, const char *s, size_t width);
const char *cut_end(char *out, size_t outlen, const char *s, size_t width);
/* A command line without its program's directory, cut in the middle. */
const char *cut_command(char *out, size_t outlen, const char *cmdline, size_t width);
void put_wrapped(FILE *f, const char *indent, const char *text, size_t width);
json_t *json_secs(double s);	/* a real rounded to the microsecond */
json_t *json_pct(double pct);	/* a real rounded to 0.1 */

/* views */
struct view_opts {
	long top;		/* scripts shown in the table */
	bool verbose;
};
void table_render(FILE *f, const struct profile *p, const struct view_opts *o);
json_t *json_document(const struct profile *p, const struct view_opts *o);
void svg_render(FILE *f, const struct profile *p, const struct view_opts *o);

/* compare.c */
struct compare_opts {
	double fail_if_slower;	/* percent; < 0 when not given */
	const char *phase;	/* the phase the threshold applies to, or NULL */
	bool json;
};
/* Returns an exit status: 0, PGX_EXIT_FINDINGS, or PGX_EXIT_USAGE/INPUT. */
int compare_profiles(FILE *f, const struct profile *base, const struct profile *cand,
		     const struct compare_opts *o);

/* aggregate.c: emits NDJSON records; false on a write error */
bool aggregate_emit(const struct profile_set *set);

#endif
