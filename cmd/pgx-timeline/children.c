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

size_t pg_children(const struct timeline *t, struct pg_child **out)
{
	const struct kernel_events *k = &t->kernel;
	const struct pid_event **exits = sorted_events(k->exits, k->nexits);
	const struct pid_event **titles = sorted_events(k->titles, k->ntitles);
	struct pg_child *c = pgx_xmalloc((k->nforks ? k->nforks : 1) * sizeof(*c));

	for (size_t i = 0; i < k->nforks; i++) {
		const struct pid_event *f = &k->forks[i], *exit, *title;

		exit = first_since(exits, k->nexits, f->pid, f->ts);
		title = first_since(titles, k->ntitles, f->pid, f->ts);
		if (title && exit && title->ts > exit->ts + TITLE_AFTER_EXIT)
			title = NULL;	/* a later process with the same pid */
		c[i] = (struct pg_child){ f->pid, f->parent, f->ts, exit ? exit->ts : NO_TIME,
					  title ? title->title : NULL };
	}
	free(exits);
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

/* The process image pid ran at ts, or NULL when its exec was not traced. */
static const struct proc_span *image_at(const struct timeline *t, long pid, double ts)
{
	const struct proc_span *best = NULL;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct proc_span *p = &t->procs[i];
		if (p->pid == pid && p->start <= ts && (!best || p->start > best->start))
			best = p;
	}
	return best;
}

bool forked_by_postgres(const struct timeline *t, const struct pg_child *c)
{
	const struct proc_span *parent = image_at(t, c->postmaster, c->fork_ts);

	return !parent || !strcmp(parent->comm, "postgres");
}

/* The postmaster's own start (its exec) when traced, else the child's fork. */
const char *server_of(const struct timeline *t, const struct bounds *b, long postmaster, double ts)
{
	const struct proc_span *image = image_at(t, postmaster, ts);
	double since = image ? image->start : ts;

	if (b->temp_stop_begin.ts == NO_TIME)
		return "final";
	return since < b->temp_stop_begin.ts ? "temporary" : "final";
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
