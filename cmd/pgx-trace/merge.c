/* merge.c - hold records briefly and emit them in time order
 *
 * Kernel events from several CPUs and CMD's own lines reach user space a
 * little out of order; a binary heap keyed by (ts, arrival) puts them back. */
#include <stdlib.h>
#include <string.h>
#include "pgx_trace.h"

/* What pgx_emit() writes: records are serialised when they arrive, so
 * that thousands of held records are one string each, not a JSON tree. */

struct item {
	double ts;
	unsigned long long seq;
	char *line;
	size_t len;
};

struct merge {
	struct item *heap;
	size_t n, cap;
	unsigned long long seq;
	bool failed;
};

struct merge *merge__new(void)
{
	struct merge *m = calloc(1, sizeof(*m));

	if (!m)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return m;
}

static bool before(const struct item *a, const struct item *b)
{
	return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void swap(struct item *a, struct item *b)
{
	struct item t = *a;

	*a = *b;
	*b = t;
}

static void sift_up(struct merge *m, size_t i)
{
	while (i > 0 && before(&m->heap[i], &m->heap[(i - 1) / 2])) {
		swap(&m->heap[i], &m->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct merge *m, size_t i)
{
	size_t l, r, min;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		min = i;
		if (l < m->n && before(&m->heap[l], &m->heap[min]))
			min = l;
		if (r < m->n && before(&m->heap[r], &m->heap[min]))
			min = r;
		if (min == i)
			return;
		swap(&m->heap[i], &m->heap[min]);
		i = min;
	}
}

static void push(struct merge *m, struct item it)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->heap = pgx_xrealloc(m->heap, m->cap * sizeof(*m->heap));
	}
	it.seq = m->seq++;
	m->heap[m->n] = it;
	sift_up(m, m->n++);
}

void merge__push(struct merge *m, double ts, json_t *rec)
{
	struct item it = { .ts = ts };

	it.line = pgx_record_dumps(rec, &it.len);
	json_decref(rec);
	push(m, it);
}

void merge__push_raw(struct merge *m, double ts, const char *line, size_t len)
{
	struct item it = { .ts = ts, .line = pgx_xmalloc(len + 1), .len = len };

	memcpy(it.line, line, len);
	it.line[len] = '\0';
	push(m, it);
}

static void emit(struct merge *m, struct item *it)
{
	if (!m->failed && !pgx_emit_raw(it->line, it->len))
		m->failed = true;
	free(it->line);
}

/* The records due go out together: one write, not one per record, when
 * stdout is a pipe. */
bool merge__flush(struct merge *m, double upto)
{
	struct item top;

	if (m->n == 0 || m->heap[0].ts > upto)
		return !m->failed;
	pgx_output_hold(true);
	while (m->n > 0 && m->heap[0].ts <= upto) {
		top = m->heap[0];
		m->heap[0] = m->heap[--m->n];
		sift_down(m, 0);
		emit(m, &top);
	}
	pgx_output_hold(false);
	if (ferror(stdout))
		m->failed = true;
	return !m->failed;
}

void merge__free(struct merge *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++)
		free(m->heap[i].line);
	free(m->heap);
	free(m);
}
