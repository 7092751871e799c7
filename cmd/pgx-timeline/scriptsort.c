/* scriptsort.c - sort init script entries in runs, merged from a spill
 *
 * A stream may run an init script per exec (bench/timeline's does): the
 * entries are sorted by name to fold a file's processes into one script,
 * then by start, without holding them all.  The sort is stable: equal keys
 * come out in seq order, as glibc's qsort (a merge sort) left them.
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "scripts.h"

#define RUN_SCRIPTS 4096	/* a run in memory: about 300 KB */
#define MERGE_BUF (4u << 10)	/* a run's read buffer while merging */

/* A script in the spill: this, then the name's bytes. */
struct spilled_script {
	double start, end;
	uint64_t seq;
	int exit_code;
	bool has_exit, from_log;
	uint32_t name_len;
};

static int compare(const struct script_sort *x, const struct script *a, const struct script *b)
{
	int c = x->cmp(a, b);

	return c ? c : (a->seq > b->seq) - (a->seq < b->seq);
}

static int compare_in_run(const void *a, const void *b, void *x)
{
	return compare(x, a, b);
}

static void sort_run(struct script_sort *x)
{
	if (x->n)
		qsort_r(x->run, x->n, sizeof(*x->run), compare_in_run, x);
}

static void spill_run(struct script_sort *x)
{
	x->runs = pgx_xrealloc(x->runs, (x->nruns + 1) * sizeof(*x->runs));
	x->runs[x->nruns] = (struct script_run){ .at = -1, .n = x->n };
	sort_run(x);
	for (size_t i = 0; i < x->n; i++) {
		const struct script *s = &x->run[i];
		struct spilled_script rec;
		off_t at;

		memset(&rec, 0, sizeof(rec));	/* padding too: it goes to the file */
		rec.start = s->start;
		rec.end = s->end;
		rec.seq = s->seq;
		rec.exit_code = s->exit_code;
		rec.has_exit = s->has_exit;
		rec.from_log = s->from_log;
		rec.name_len = (uint32_t)strlen(s->name);
		at = spill_append(&x->spill, &rec, sizeof(rec));

		spill_append(&x->spill, s->name, rec.name_len);
		if (!i)
			x->runs[x->nruns].at = at;
		free(s->name);
	}
	x->nruns++;
	x->n = 0;
}

void script_sort_add(struct script_sort *x, const struct script *s)
{
	if (!x->run)
		x->run = pgx_xmalloc(RUN_SCRIPTS * sizeof(*x->run));
	if (x->n == RUN_SCRIPTS)
		spill_run(x);
	x->run[x->n] = *s;
	x->run[x->n++].name = pgx_xstrdup(s->name);
}

/* Read a run's next script into its head; false when the run is done. */
static bool advance(struct script_head *h)
{
	struct spilled_script rec;

	if (!h->left)
		return false;
	if (!spill_read(&h->r, &rec, sizeof(rec)))
		pgx_die(PGX_EXIT_INTERNAL, "a temporary file ends before a run of scripts");
	if (rec.name_len + 1 > h->name_cap) {
		h->name_cap = rec.name_len + 1;
		h->s.name = pgx_xrealloc(h->s.name, h->name_cap);
	}
	if (rec.name_len && !spill_read(&h->r, h->s.name, rec.name_len))
		pgx_die(PGX_EXIT_INTERNAL, "a temporary file ends in a script's name");
	h->s.name[rec.name_len] = '\0';
	h->s.start = rec.start;
	h->s.end = rec.end;
	h->s.seq = rec.seq;
	h->s.exit_code = rec.exit_code;
	h->s.has_exit = rec.has_exit;
	h->s.from_log = rec.from_log;
	h->left--;
	return true;
}

static void start_merge(struct script_sort *x)
{
	x->merging = true;
	if (!x->nruns) {
		sort_run(x);	/* all in memory: no file */
		return;
	}
	if (x->n)
		spill_run(x);
	x->heads = calloc(x->nruns, sizeof(*x->heads));
	if (!x->heads)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < x->nruns; i++) {
		spill_read_from(&x->spill, &x->heads[i].r, x->runs[i].at, MERGE_BUF);
		x->heads[i].left = x->runs[i].n;
		x->heads[i].has = advance(&x->heads[i]);
	}
}

/* The head that comes first, of the runs not done; few runs: a scan. */
static struct script_head *first_head(struct script_sort *x)
{
	struct script_head *best = NULL;

	for (size_t i = 0; i < x->nruns; i++) {
		struct script_head *h = &x->heads[i];
		if (h->has && (!best || compare(x, &h->s, &best->s) < 0))
			best = h;
	}
	return best;
}

const struct script *script_sort_next(struct script_sort *x)
{
	struct script_head *h;
	size_t len;

	if (!x->merging)
		start_merge(x);
	if (!x->nruns)
		return x->next < x->n ? &x->run[x->next++] : NULL;
	if (!(h = first_head(x)))
		return NULL;
	len = strlen(h->s.name);
	if (len + 1 > x->out_cap) {
		x->out_cap = len + 1;
		x->out.name = pgx_xrealloc(x->out.name, x->out_cap);
	}
	memcpy(x->out.name, h->s.name, len + 1);
	x->out = (struct script){ x->out.name, h->s.start, h->s.end, h->s.exit_code, h->s.has_exit,
				  h->s.from_log, h->s.seq };
	h->has = advance(h);
	return &x->out;
}

void script_sort_free(struct script_sort *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->run[i].name);
	for (size_t i = 0; i < x->nruns && x->heads; i++) {
		spill_reader_free(&x->heads[i].r);
		free(x->heads[i].s.name);
	}
	free(x->heads);
	free(x->run);
	free(x->runs);
	free(x->out.name);
	spill_free(&x->spill);
}
