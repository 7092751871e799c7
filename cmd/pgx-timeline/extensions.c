/* extensions.c - CREATE EXTENSION from the backend's opens of its files
 *
 * CREATE EXTENSION reads SHAREDIR/extension/NAME.control, then runs
 * NAME--VERSION.sql and the update scripts NAME--A--B.sql to the default
 * version: it starts at the control file's open, after the parse.  A
 * backend that reads a control file without running an install script
 * (pg_available_extensions) created nothing; only backends count, forked
 * by a postmaster.
 * The kernel does not see the statement end: the end is the earliest upper
 * bound known - psql's command tag in the output (rule extension_created),
 * the backend's next open of another extension's file, or its exit.
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"
#include "analyse.h"

static int by_pid_then_ts(const void *a, const void *b)
{
	const struct ext_open *x = *(const struct ext_open *const *)a;
	const struct ext_open *y = *(const struct ext_open *const *)b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->ts > y->ts) - (x->ts < y->ts);
}

static const struct ext_open **sorted_opens(const struct kernel_events *k)
{
	const struct ext_open **s = pgx_xmalloc((k->nopens ? k->nopens : 1) * sizeof(*s));

	for (size_t i = 0; i < k->nopens; i++)
		s[i] = &k->opens[i];
	qsort(s, k->nopens, sizeof(*s), by_pid_then_ts);
	return s;
}

static bool same_backend(const struct ext_open *a, const struct ext_open *b)
{
	return a->pid == b->pid;
}

/* The latest open of NAME.control before the install script at i. */
static double control_read(const struct ext_open **o, size_t i)
{
	for (size_t j = i; j-- > 0 && same_backend(o[j], o[i]);) {
		if (strcmp(o[j]->name, o[i]->name))
			continue;
		if (o[j]->kind == EXT_CONTROL)
			return o[j]->ts;
		if (o[j]->kind == EXT_INSTALL)
			break;
	}
	return o[i]->ts;
}

/* The update scripts (and version control files) after the install script. */
static size_t last_own_file(const struct ext_open **o, size_t n, size_t i)
{
	while (i + 1 < n && same_backend(o[i + 1], o[i]) && o[i + 1]->kind == EXT_OTHER &&
	       !strcmp(o[i + 1]->name, o[i]->name))
		i++;
	return i;
}

static void kernel_end(const struct ext_open **o, size_t n, size_t last, const struct pg_child *c,
		       size_t nc, struct ext_span *s)
{
	const struct pg_child *backend = child_at(c, nc, o[last]->pid, o[last]->ts);

	s->end = NO_TIME;
	s->end_bound = NULL;
	if (last + 1 < n && same_backend(o[last + 1], o[last])) {
		s->end = o[last + 1]->ts;
		s->end_bound = "next_extension";
	} else if (backend && backend->exit_ts != NO_TIME) {
		s->end = backend->exit_ts;
		s->end_bound = "backend_exit";
	}
}

static int by_start(const void *a, const void *b)
{
	const struct ext_span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* psql prints the command tag once the statement has committed: the first
 * tag between the extension's last file and its kernel bound is its own,
 * unless sessions create extensions side by side. */
static void end_at_command_tag(const struct timeline *t, struct ext_span *s, bool *used)
{
	const struct milestone *tag = NULL;
	size_t at = 0;

	for (size_t i = 0; i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];
		if (used[i] || strcmp(m->rule, "extension_created") || m->ts < s->files_read ||
		    (s->end != NO_TIME && m->ts > s->end) || (tag && m->ts >= tag->ts))
			continue;
		tag = m;
		at = i;
	}
	if (!tag)
		return;
	used[at] = true;
	s->end = tag->ts;
	s->end_bound = "command_tag";
}

size_t traced_extensions(const struct timeline *t, const struct pg_child *c, size_t nc,
			 struct ext_span **out)
{
	const struct kernel_events *k = &t->kernel;
	const struct ext_open **o = sorted_opens(k);
	struct ext_span *s = pgx_xmalloc((k->nopens ? k->nopens : 1) * sizeof(*s));
	bool *used = calloc(t->nmarks + 1, sizeof(*used));
	size_t n = 0, last;

	if (!used)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < k->nopens; i++) {
		const struct pg_child *backend;

		if (o[i]->kind != EXT_INSTALL)
			continue;
		backend = child_at(c, nc, o[i]->pid, o[i]->ts);
		if (!backend || !forked_by_postgres(backend))
			continue;	/* initdb's single-user run: no server */
		last = last_own_file(o, k->nopens, i);
		s[n] = (struct ext_span){ .name = o[i]->name, .pid = o[i]->pid,
					  .start = control_read(o, i), .files_read = o[last]->ts };
		kernel_end(o, k->nopens, last, c, nc, &s[n++]);
	}
	qsort(s, n, sizeof(*s), by_start);
	for (size_t i = 0; i < n; i++)
		end_at_command_tag(t, &s[i], used);
	free(used);
	free(o);
	*out = s;
	return n;
}
