/* bounds.c - the moments a startup passes, from kernel spans or log lines
 *
 * Each moment is taken from exec/exit spans when pgx-trace saw them and
 * from pgx-logmatch's matches otherwise; it records which.  Nothing here
 * counts "ready" lines: a temporary server is recognised by a pg_ctl start
 * that a pg_ctl stop follows (or a ready line a shutdown request follows).
 */
#include <string.h>
#include "pgx.h"
#include "timeline.h"
#include "analyse.h"

static bool argv_has(const struct proc_span *p, const char *word)
{
	size_t i;
	json_t *a;

	json_array_foreach(p->argv, i, a)
		if (json_is_string(a) && !strcmp(json_string_value(a), word))
			return true;
	return false;
}

static bool is_initdb(const struct proc_span *p)
{
	return !strcmp(p->comm, "initdb");
}

static bool is_pg_ctl_start(const struct proc_span *p)
{
	return !strcmp(p->comm, "pg_ctl") && (argv_has(p, "start") || argv_has(p, "restart"));
}

static bool is_pg_ctl_stop(const struct proc_span *p)
{
	return !strcmp(p->comm, "pg_ctl") && argv_has(p, "stop");
}

/* The postmaster, not initdb's bootstrap runs or version probes. */
static bool is_server(const struct proc_span *p)
{
	static const char *const not_a_server[] = { "-V", "--version", "--boot", "--single", "-C",
						    "--describe-config", "--check" };

	if (strcmp(p->comm, "postgres") != 0)
		return false;
	for (size_t i = 0; i < sizeof(not_a_server) / sizeof(*not_a_server); i++)
		if (argv_has(p, not_a_server[i]))
			return false;
	return true;
}

static const struct proc_span *first_proc(const struct timeline *t, bool (*pred)(const struct proc_span *),
					  double after)
{
	const struct proc_span *best = NULL;

	for (size_t i = 0; i < t->nprocs; i++) {
		const struct proc_span *p = &t->procs[i];
		if (p->start >= after && pred(p) && (!best || p->start < best->start))
			best = p;
	}
	return best;
}

const struct milestone *first_mark(const struct timeline *t, const char *rule, double after)
{
	const struct milestone *best = NULL;

	for (size_t i = 0; i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];
		if (m->ts >= after && !strcmp(m->rule, rule) && (!best || m->ts < best->ts))
			best = m;
	}
	return best;
}

static void set_moment(struct moment *m, double ts, const char *source)
{
	m->ts = ts;
	m->source = source;
}

static void set_mark(struct moment *m, const struct milestone *mark)
{
	if (mark)
		set_moment(m, mark->ts, "log");
}

static void find_initdb(const struct timeline *t, struct bounds *b)
{
	const struct proc_span *p = first_proc(t, is_initdb, b->start);

	if (p) {
		set_moment(&b->initdb_exec, p->start, "trace");
		if (p->end != NO_TIME)
			set_moment(&b->initdb_exit, p->end, "trace");
		return;
	}
	set_mark(&b->initdb_exec, first_mark(t, "initdb_start", b->start));
	if (b->initdb_exec.ts == NO_TIME)
		set_mark(&b->initdb_exec, first_mark(t, "initdb_bootstrap", b->start));
	if (b->initdb_exec.ts != NO_TIME)
		set_mark(&b->initdb_exit, first_mark(t, "initdb_complete", b->initdb_exec.ts));
}

static const struct milestone *last_mark_before(const struct timeline *t, const char *rule,
						double after, double before)
{
	const struct milestone *best = NULL;

	for (size_t i = 0; i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];
		if (m->ts >= after && m->ts <= before && !strcmp(m->rule, rule) &&
		    (!best || m->ts > best->ts))
			best = m;
	}
	return best;
}

/* The temporary server's end in a log: the last shutdown that another
 * server's ready line follows (an init script may restart the temporary
 * server on the way).  A server stopped for good (docker stop, --rm) is not
 * a temporary one: another must start after it, and before ready. */
static const struct milestone *last_restart(const struct timeline *t, double after)
{
	const struct milestone *stopped = NULL, *m;

	for (m = first_mark(t, "server_shutdown", after); m;
	     m = first_mark(t, "server_shutdown", m->ts + 1e-6)) {
		if (!first_mark(t, "server_ready", m->ts) ||
		    (t->ctr.ready != NO_TIME && m->ts > t->ctr.ready))
			break;
		stopped = m;
	}
	return stopped;
}

/* The entrypoint's pg_ctl stop of its temporary server: the last one that
 * a server start follows (an init script may stop and start it on the way). */
static const struct proc_span *last_temp_stop(const struct timeline *t, double after)
{
	const struct proc_span *stop = NULL, *p;

	for (p = first_proc(t, is_pg_ctl_stop, after); p; p = first_proc(t, is_pg_ctl_stop, p->start + 1e-6)) {
		if (!first_proc(t, is_server, p->start))
			break;
		stop = p;
	}
	return stop;
}

/* A temporary server: started, then stopped by the entrypoint. */
static void find_temp_server(const struct timeline *t, struct bounds *b, double after)
{
	const struct proc_span *start = first_proc(t, is_pg_ctl_start, after), *stop;
	const struct milestone *ready, *shutdown, *stopped;

	stop = start ? last_temp_stop(t, start->start) : NULL;
	if (start && stop && start->end != NO_TIME) {
		set_moment(&b->temp_ready, start->end, "trace");
		set_moment(&b->temp_stop_begin, stop->start, "trace");
		if (stop->end != NO_TIME)
			set_moment(&b->temp_stop_end, stop->end, "trace");
		return;
	}
	if (t->spans.count && start)
		return;		/* traced, and the one server start is the final one */
	ready = first_mark(t, "server_ready", after);
	stopped = ready ? last_restart(t, ready->ts) : NULL;
	shutdown = stopped ? last_mark_before(t, "shutdown_request", ready->ts, stopped->ts) : NULL;
	if (!shutdown)
		return;
	set_mark(&b->temp_ready, ready);
	set_mark(&b->temp_stop_begin, shutdown);
	set_mark(&b->temp_stop_end, stopped);
}

/* The exec that starts the final server (or pg_ctl start of a local one). */
static void find_server_exec(const struct timeline *t, struct bounds *b, double after)
{
	const struct proc_span *server = first_proc(t, is_server, after);
	const struct proc_span *pg_ctl = first_proc(t, is_pg_ctl_start, after);
	const struct milestone *starting;

	if (pg_ctl && (!server || pg_ctl->start < server->start))
		server = pg_ctl;
	if (server) {
		set_moment(&b->server_exec, server->start, "trace");
		return;
	}
	if ((starting = first_mark(t, "server_starting", after)))
		set_mark(&b->server_exec, starting);
}

/* Ready as users perceive it: a connection (pgx-docker's ping), pg_ctl -w
 * returning for a local server, else the first ready line of the final server.
 * A container started in this stream is ready only by a connection: a
 * temporary server's ready line is logged by entrypoints that then fail. */
static void find_ready(const struct timeline *t, struct bounds *b, double after)
{
	const struct proc_span *pg_ctl = first_proc(t, is_pg_ctl_start, after);

	if (t->ctr.ready != NO_TIME) {
		set_moment(&b->ready, t->ctr.ready, "ping");
		return;
	}
	if (t->ctr.start != NO_TIME)
		return;
	if (!t->ctr.image && pg_ctl && pg_ctl->exited && pg_ctl->exit_code == 0) {
		set_moment(&b->ready, pg_ctl->end, "pg_ctl");
		return;
	}
	for (size_t i = 0; i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];
		if (m->marks_ready && m->ts >= after && (b->ready.ts == NO_TIME || m->ts < b->ready.ts))
			set_moment(&b->ready, m->ts, "log");
	}
}

static double last_known(const struct moment *const *moments, size_t n, double dflt)
{
	double ts = dflt;

	for (size_t i = 0; i < n; i++)
		if (moments[i]->ts != NO_TIME)
			ts = moments[i]->ts;
	return ts;
}

static bool is_pgx_docker(const struct proc_span *p)
{
	return !strcmp(p->comm, "pgx-docker");
}

/* When pgx-docker run was traced, its exec is when the user asked for the
 * container: the process start and the image check count too. */
static double run_began(const struct timeline *t)
{
	const struct proc_span *p, *last = NULL;

	for (p = first_proc(t, is_pgx_docker, 0); p && p->start <= t->ctr.create;
	     p = first_proc(t, is_pgx_docker, p->start + 1e-6))
		last = p;
	return last && t->ctr.create - last->start < 5.0 ? last->start : t->ctr.create;
}

/* The earliest exec at or after ts, of every process; NO_TIME if none. */
static double first_exec_since(const struct timeline *t, double ts)
{
	struct span_iter it;
	double first = NO_TIME;

	spans_begin(t, &it);
	while (spans_next(&it))
		if (it.head.start >= ts && (first == NO_TIME || it.head.start < first))
			first = it.head.start;
	spans_end(&it);
	return first;
}

/* Docker's StartedAt, unless the kernel saw the container's first exec
 * earlier: a busy daemon stamps StartedAt after the entrypoint has begun. */
static void find_started(const struct timeline *t, struct bounds *b)
{
	double first = t->ctr.create != NO_TIME ? first_exec_since(t, t->ctr.create) : NO_TIME;

	if (first != NO_TIME && first < t->ctr.start)
		set_moment(&b->started, first, "trace");
	else
		set_moment(&b->started, t->ctr.start, "docker");
}

void find_bounds(const struct timeline *t, struct bounds *b)
{
	struct moment *all[] = { &b->built, &b->started, &b->initdb_exec, &b->initdb_exit, &b->temp_ready,
				 &b->temp_stop_begin, &b->temp_stop_end, &b->server_exec, &b->ready };
	double after;

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		set_moment(all[i], NO_TIME, NULL);
	b->is_container = t->ctr.create != NO_TIME || t->ctr.start != NO_TIME;
	b->start = t->ctr.create != NO_TIME ? run_began(t) : t->first_ts;
	if (t->build.start != NO_TIME && t->build.start <= b->start) {
		b->start = t->build.start;
		if (t->build.end != NO_TIME && !t->build.error)
			set_moment(&b->built, t->build.end, "docker");
	}
	if (t->ctr.start != NO_TIME)
		find_started(t, b);
	find_initdb(t, b);
	after = last_known((const struct moment *const[]){ &b->initdb_exit }, 1, b->start);
	find_temp_server(t, b, after);
	after = last_known((const struct moment *const[]){ &b->initdb_exit, &b->temp_stop_end }, 2, b->start);
	if (b->initdb_exec.ts == NO_TIME)
		find_server_exec(t, b, after);
	find_ready(t, b, after);
}
