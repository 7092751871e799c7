/* children.c - PostgreSQL's forked children: their names and their server
 *
 * A postmaster forks its workers and backends without exec; pgx-trace
 * reads the title each one sets ("postgres: checkpointer", "postgres:
 * postgres app [local] idle").  A child belongs to the temporary server
 * when its postmaster started before the entrypoint stopped that server.
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"
#include "analyse.h"

#define TITLE_PREFIX "postgres: "	/* PostgreSQL's PROGRAM_NAME_PREFIX */
#define TITLE_AFTER_EXIT 1.0	/* pgx-trace may write a title after the exit */

static int by_pid_then_ts(const void *a, const void *b)
{
	const struct pid_event *x = *(const struct pid_event *const *)a;
	const struct pid_event *y = *(const struct pid_event *const *)b;

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->ts > y->ts) - (x->ts < y->ts);
}

static const struct pid_event **sorted_events(const struct pid_event *ev, size_t n)
{
	const struct pid_event **s = pgx_xmalloc((n ? n : 1) * sizeof(*s));

	for (size_t i = 0; i < n; i++)
		s[i] = &ev[i];
	qsort(s, n, sizeof(*s), by_pid_then_ts);
	return s;
}

/* The first event of pid at or after ts, or NULL. */
static const struct pid_event *first_since(const struct pid_event **s, size_t n, long pid, double ts)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s[mid]->pid < pid || (s[mid]->pid == pid && s[mid]->ts < ts))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && s[lo]->pid == pid ? s[lo] : NULL;
}

/* Children by a pid of theirs (key), to look them up from the spilled
 * exits and spans. */
struct child_index {
	struct pg_child **by;
	size_t n;
	long (*key)(const struct pg_child *);
};

static long child_pid(const struct pg_child *c)
{
	return c->pid;
}

static long child_postmaster(const struct pg_child *c)
{
	return c->postmaster;
}

static int by_key(const void *a, const void *b, void *ix)
{
	long (*key)(const struct pg_child *) = ((const struct child_index *)ix)->key;
	long x = key(*(struct pg_child *const *)a), y = key(*(struct pg_child *const *)b);

	return (x > y) - (x < y);
}

static void index_children(struct child_index *ix, struct pg_child *c, size_t n,
			   long (*key)(const struct pg_child *))
{
	ix->by = pgx_xmalloc((n ? n : 1) * sizeof(*ix->by));
	ix->n = n;
	ix->key = key;
	for (size_t i = 0; i < n; i++)
		ix->by[i] = &c[i];
	qsort_r(ix->by, n, sizeof(*ix->by), by_key, ix);
}

/* The children whose key is pid: (*found)[0 .. the count returned). */
static size_t children_with(const struct child_index *ix, long pid, struct pg_child ***found)
{
	size_t lo = 0, hi = ix->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->key(ix->by[mid]) < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < ix->n && ix->key(ix->by[end]) == pid; end++)
		;
	*found = ix->by + lo;
	return end - lo;
}

/* Each child's exit: the first exit of its pid at or after its fork. */
static void find_exits(const struct timeline *t, struct pg_child *c, size_t n)
{
	struct child_index ix;
	struct spill_reader r;
	struct pid_ts e;
	struct pg_child **with;

	index_children(&ix, c, n, child_pid);
	spill_rewind(&t->kernel.exits, &r);
	while (spill_read(&r, &e, sizeof(e)))
		for (size_t i = 0, m = children_with(&ix, e.pid, &with); i < m; i++)
			if (e.ts >= with[i]->fork_ts && (with[i]->exit_ts == NO_TIME || e.ts < with[i]->exit_ts))
				with[i]->exit_ts = e.ts;
	spill_reader_free(&r);
	free(ix.by);
}

/* Each child's parent image: the latest exec of its postmaster's pid at or
 * before the fork (the first of equal ones). */
static void find_parents(const struct timeline *t, struct pg_child *c, size_t n)
{
	struct child_index ix;
	struct span_iter it;
	struct pg_child **with;

	index_children(&ix, c, n, child_postmaster);
	spans_begin(t, &it);
	while (spans_next(&it))
		for (size_t i = 0, m = children_with(&ix, it.head.pid, &with); i < m; i++) {
			struct pg_child *k = with[i];
			if (it.head.start > k->fork_ts || (k->parent_traced && it.head.start <= k->parent_start))
				continue;
			k->parent_traced = true;
			k->parent_start = it.head.start;
			k->parent_is_postgres = !strcmp(span_comm(&it), "postgres");
		}
	spans_end(&it);
	free(ix.by);
}

size_t pg_children(const struct timeline *t, struct pg_child **out)
{
	const struct kernel_events *k = &t->kernel;
	const struct pid_event **titles = sorted_events(k->titles, k->ntitles);
	struct pg_child *c = pgx_xmalloc((k->nforks ? k->nforks : 1) * sizeof(*c));

	for (size_t i = 0; i < k->nforks; i++)
		c[i] = (struct pg_child){ .pid = k->forks[i].pid, .postmaster = k->forks[i].parent,
					  .fork_ts = k->forks[i].ts, .exit_ts = NO_TIME };
	if (k->nforks) {
		find_exits(t, c, k->nforks);
		find_parents(t, c, k->nforks);
	}
	for (size_t i = 0; i < k->nforks; i++) {
		const struct pid_event *title = first_since(titles, k->ntitles, c[i].pid, c[i].fork_ts);

		if (title && c[i].exit_ts != NO_TIME && title->ts > c[i].exit_ts + TITLE_AFTER_EXIT)
			title = NULL;	/* a later process with the same pid */
		c[i].title = title ? title->title : NULL;
	}
	free(titles);
	*out = c;
	return k->nforks;
}

const struct pg_child *child_at(const struct pg_child *c, size_t n, long pid, double ts)
{
	const struct pg_child *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (c[i].pid == pid && c[i].fork_ts <= ts && (!best || c[i].fork_ts > best->fork_ts))
			best = &c[i];
	return best;
}

/* Or the child's parent exec was not traced: initdb's single-user postgres
 * is run by a shell. */
bool forked_by_postgres(const struct pg_child *c)
{
	return !c->parent_traced || c->parent_is_postgres;
}

static const char *server_since(const struct bounds *b, double since)
{
	if (b->temp_stop_begin.ts == NO_TIME)
		return "final";
	return since < b->temp_stop_begin.ts ? "temporary" : "final";
}

/* The postmaster's own start (its exec) when traced, else the child's fork. */
const char *server_of_child(const struct bounds *b, const struct pg_child *c)
{
	return server_since(b, c->parent_traced ? c->parent_start : c->fork_ts);
}

/* With no postmaster known: the exec of a pid-less process (pid -1) then
 * running, else ts. */
const char *server_at(const struct timeline *t, const struct bounds *b, double ts)
{
	const struct proc_span *best = NULL;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct proc_span *p = &t->procs[i];
		if (p->pid == -1 && p->start <= ts && (!best || p->start > best->start))
			best = p;
	}
	return server_since(b, best ? best->start : ts);
}

static bool word_is_host(const char *w, size_t len)
{
	return (len == 7 && !memcmp(w, "[local]", 7)) ||
	       (len > 2 && w[len - 1] == ')' && memchr(w, '(', len));
}

/* A client backend's title is "user database host activity". */
static bool is_backend(const char *rest)
{
	const char *w = rest;

	for (int i = 0; i < 2; i++) {
		w = strchr(w, ' ');
		if (!w)
			return false;
		w++;
	}
	return word_is_host(w, strcspn(w, " "));
}

/* Auxiliary processes and built-in workers, whose titles go on with an
 * activity ("startup recovering 000000010000000000000001"). */
static const char *known_name(const char *rest)
{
	static const char *const names[] = {
		"autovacuum launcher", "autovacuum worker", "logical replication launcher",
		"logical replication worker", "parallel worker", "background writer",
		"checkpointer", "walwriter", "walreceiver", "walsender", "archiver",
		"startup", "stats collector",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		size_t len = strlen(names[i]);
		if (!strncmp(rest, names[i], len) && (rest[len] == '\0' || rest[len] == ' '))
			return names[i];
	}
	return NULL;
}

bool worker_name(const char *title, char *buf, size_t size)
{
	const char *rest, *known, *colon;

	if (!title || strncmp(title, TITLE_PREFIX, strlen(TITLE_PREFIX)))
		return false;
	rest = title + strlen(TITLE_PREFIX);
	colon = strstr(rest, ": ");
	if (colon && colon < rest + strcspn(rest, " "))
		rest = colon + 2;	/* cluster_name */
	if (is_backend(rest))
		return false;
	known = known_name(rest);
	if (known && !strcmp(known, "walsender"))
		return false;	/* a replication connection, not a worker */
	snprintf(buf, size, "%s", known ? known : rest);
	return true;
}
