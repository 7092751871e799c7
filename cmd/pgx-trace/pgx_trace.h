/* pgx_trace.h - the parts of pgx-trace, wired together by main.c */
#ifndef PGX_TRACE_INTERNAL_H
#define PGX_TRACE_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>
#include "pgx.h"

/* ---- clock.c: kernel boot time to the pgx clock ---- */
struct trace_clock {
	long long offset_ns;	/* CLOCK_REALTIME - CLOCK_BOOTTIME */
	long long error_ns;	/* half the tightest bracket */
};
void trace_clock__calibrate(struct trace_clock *clk);
double trace_clock__epoch(const struct trace_clock *clk, unsigned long long boot_ns);

/* ---- cgroup.c: cgroup v2 paths ---- */
/* The cgroup v2 mount: /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup. */
const char *cgroup_v2_root(void);
/* Open --cgroup PATH; relative paths are under the v2 root. Reports and
 * returns -1 when it is not a cgroup v2 directory. */
int cgroup_open(const char *root, const char *path, char **resolved);
/* Directory of this process's own cgroup; caller frees. */
char *cgroup_self_dir(const char *root);

/* ---- procs.c ---- */
/* root and its running descendants (root first); caller frees *out. */
size_t proc_descendants(pid_t root, pid_t **out);

/* ---- tracer.c: the BPF side ---- */
struct tracer_opts {
	unsigned long long buffer_size;
	bool no_open;
	const char *comm;
	int cgroup_fd;		/* -1: no cgroup filter */
	pid_t pid;		/* 0: no pid filter */
};
struct tracer;
typedef int (*tracer_event_fn)(void *ctx, void *data, size_t size);
/* Privileges, BTF, ring buffer, bpf_task_pt_regs when traces_opens,
 * tracefs (mounted if need be): 0 when all is there, else reported and the
 * exit code. */
int tracer__check_environment(bool traces_opens);
/* Loads, arms the filters and attaches. On failure it
 * has reported and returns the exit code; 0 on success. */
int tracer__new(const struct tracer_opts *opts, tracer_event_fn fn, void *ctx,
		struct tracer **out);
int tracer__fd(const struct tracer *tr);	/* readable when events wait */
int tracer__consume(struct tracer *tr);		/* < 0 on error */
bool tracer__track(struct tracer *tr, pid_t pid);	/* add to the --pid set */
unsigned long long tracer__lost(const struct tracer *tr);	/* running total */
void tracer__detach_later(struct tracer *tr);	/* the slow detach after exit */
void tracer__free(struct tracer *tr);

/* ---- merge.c: records in time order ---- */
struct merge;
struct merge *merge__new(void);
void merge__push(struct merge *m, double ts, json_t *rec);	/* steals rec */
void merge__push_raw(struct merge *m, double ts, const char *line, size_t len);
/* Emit every record with ts <= upto; false on a write error. */
bool merge__flush(struct merge *m, double upto);
void merge__free(struct merge *m);

/* ---- records.c: one record per event ---- */
struct record_opts {
	const struct trace_clock *clock;
	char **open_globs;	/* NULL-terminated; NULL or empty keeps all */
};
/* Writes the event's record with pgx_flat_* (take it with pgx_flat_line())
 * and sets its ts; false when the event is filtered out. */
bool record_from_event(const struct record_opts *o, const void *data, size_t size,
		       double *ts);
json_t *record_lost(double ts, unsigned long long count);
json_t *record_log(double ts, const char *line, size_t len);
json_t *record_title(double ts, pid_t pid, pid_t ppid, const char *title);

/* ---- titles.c: the titles forked children give themselves ---- */
struct titles;
struct titles *titles__new(void);
void titles__fork(struct titles *tt, pid_t parent, pid_t child, double now);
void titles__exec(struct titles *tt, pid_t pid);	/* its argv is in the exec record */
void titles__exit(struct titles *tt, pid_t pid, struct merge *m, double now);
/* On the poll timer, after the ring buffer is consumed: read /proc, write
 * the titles read at the previous poll. */
void titles__poll(struct titles *tt, struct merge *m, double now);
void titles__free(struct titles *tt);

/* ---- lines.c: CMD's stdout, read without blocking ---- */
struct lines;
typedef void (*lines_fn)(void *ctx, const struct pgx_line *line);
struct lines *lines__new(int fd);
int lines__fd(const struct lines *l);
/* Read what is there and hand out complete lines: 1 more may come,
 * 0 end of input, -1 read error (reported). */
int lines__read(struct lines *l, lines_fn fn, void *ctx);
void lines__free(struct lines *l);

/* ---- subject.c: CMD in a fresh cgroup ---- */
struct subject;
/* Create the cgroup and fork CMD, held before exec. Returns exit code. */
int subject__new(const char *root, char **argv, struct subject **out);
int subject__cgroup_fd(const struct subject *s);
int subject__stdout_fd(const struct subject *s);
int subject__pidfd(const struct subject *s);	/* -1 if unsupported */
/* Move CMD into its cgroup and let it exec. Returns exit code. */
int subject__start(struct subject *s);
bool subject__reap(struct subject *s);	/* true once CMD has exited */
void subject__signal(struct subject *s, int sig);
int subject__status(const struct subject *s);	/* exit code, 128+sig */
void subject__free(struct subject *s);		/* removes the cgroup */

#endif
