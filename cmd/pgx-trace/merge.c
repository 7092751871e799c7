/* merge.c - hold records briefly and emit them in time order
 *
 * Kernel events from several CPUs and CMD's own lines reach user space a
 * little out of order.  They are kept sorted by ts, in arrival order among
 * equal ones, in an array used as a queue: a record is put in from the back
 * (where nearly all of them belong) and the due ones leave from the front. */
#include <stdlib.h>
#include <string.h>
#include "pgx_trace.h"

/* What pgx_emit() writes: records are serialised when they arrive, so
 * that thousands of held records are one string each, not a JSON tree. */

struct item {
	double ts;
	char *line;
	size_t len;
};

struct merge {
	struct item *items;	/* items[head, head + n) sorted by ts */
	size_t head, n, cap;
	bool failed;
};

struct merge *merge__new(void)
{
	struct merge *m = calloc(1, sizeof(*m));

	if (!m)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return m;
}

static void make_room(struct merge *m)
{
	if (m->head + m->n < m->cap)
		return;
	if (m->head > 0) {
		memmove(m->items, m->items + m->head, m->n * sizeof(*m->items));
		m->head = 0;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->items = pgx_xrealloc(m->items, m->cap * sizeof(*m->items));
	}
}

/* After every record with a ts not greater than its own. */
static void push(struct merge *m, struct item it)
{
	size_t end, at;

	make_room(m);
	end = m->head + m->n;
	for (at = end; at > m->head && m->items[at - 1].ts > it.ts; at--)
		;
	memmove(m->items + at + 1, m->items + at, (end - at) * sizeof(*m->items));
	m->items[at] = it;
	m->n++;
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
	if (m->n == 0 || m->items[m->head].ts > upto)
		return !m->failed;
	pgx_output_hold(true);
	while (m->n > 0 && m->items[m->head].ts <= upto) {
		emit(m, &m->items[m->head]);
		m->head++;
		m->n--;
	}
	if (m->n == 0)
		m->head = 0;
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
	for (i = m->head; i < m->head + m->n; i++)
		free(m->items[i].line);
	free(m->items);
	free(m);
}
