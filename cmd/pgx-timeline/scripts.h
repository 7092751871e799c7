/* scripts.h - init script entries and their sort (scripts.c, scriptsort.c) */
#ifndef SCRIPTS_H
#define SCRIPTS_H

#include "timeline.h"

struct script {
	char *name;
	double start, end;
	int exit_code;
	bool has_exit;
	bool from_log;		/* else timed by the process running it */
	uint64_t seq;		/* equal keys keep this order, as a stable sort */
};

/* A sort of more scripts than memory should hold: runs of a few thousand
 * are sorted in memory and spilled, then merged; no file when one run is
 * enough.  Add with script_sort_add, then script_sort_next until NULL. */
struct script_run {
	off_t at;
	size_t n;
};

struct script_head {		/* a run's next script while merging */
	struct spill_reader r;
	size_t left;
	struct script s;
	size_t name_cap;
	bool has;		/* s is the run's next; false when it is done */
};

struct script_sort {
	int (*cmp)(const struct script *, const struct script *);
	struct script *run;	/* the one being filled, then the only one */
	size_t n, next;
	struct spill spill;	/* the runs, one after another */
	struct script_run *runs;
	size_t nruns;
	struct script_head *heads;
	struct script out;	/* what script_sort_next returned */
	size_t out_cap;
	bool merging;
};

void script_sort_add(struct script_sort *x, const struct script *s);	/* copies the name */
const struct script *script_sort_next(struct script_sort *x);	/* valid until the next call */
void script_sort_free(struct script_sort *x);

#endif
