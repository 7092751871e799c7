/* analyse.c - phases, scripts, extensions, workers and the profile record */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"
#include "analyse.h"

struct phase {
	const char *name;
	double start, end;
	const char *source;
};

/* Phases are the intervals between consecutive known moments, so they
 * never overlap and they add up to the total. */
static size_t build_phases(const struct bounds *b, struct phase *out)
{
	const struct {
		const char *name;
		const struct moment *end;
	} chain[] = {
		{ "image_build", &b->built },
		{ "container_create", &b->started },
		{ b->is_container ? "container_init" : "command_init",
		  b->initdb_exec.ts != NO_TIME ? &b->initdb_exec : &b->server_exec },
		{ "initdb", &b->initdb_exit },
		{ "temp_server_start", &b->temp_ready },
		{ "init_scripts", &b->temp_stop_begin },
		{ "temp_server_stop", &b->temp_stop_end },
		{ "final_server_start", &b->ready },
	};
	double prev = b->start;
	size_t n = 0;

	for (size_t i = 0; i < sizeof(chain) / sizeof(*chain); i++) {
		const struct moment *end = chain[i].end;
		if (end->ts == NO_TIME || end->ts <= prev)
			continue;
		out[n++] = (struct phase){ chain[i].name, prev, end->ts, end->source };
		prev = end->ts;
	}
	return n;
}

json_t *span_record(const char *type, double start, double end)
{
	json_t *rec = pgx_record_new(type, start);

	pgx_set_ts(rec, "start", start);
	if (end != NO_TIME) {
		pgx_set_ts(rec, "end", end);
		pgx_set_ts(rec, "duration_s", end - start);
	}
	return rec;
}

static double percent(double part, double whole)
{
	return whole > 0 ? round(part / whole * 1000) / 10 : 0;	/* one decimal */
}

static bool emit_phases(const struct timeline *t, const struct phase *ph, size_t n, double total)
{
	for (size_t i = 0; i < n; i++) {
		json_t *rec = span_record("phase", ph[i].start, ph[i].end);
		json_object_set_new(rec, "name", json_string(ph[i].name));
		json_object_set_new(rec, "pct", json_real(percent(ph[i].end - ph[i].start, total)));
		json_object_set_new(rec, "source", json_string(ph[i].source));
		if (!strcmp(ph[i].name, "image_build"))
			json_object_set_new(rec, "cache", json_string(t->build.cached ? "hit" : "miss"));
		if (!pgx_emit(rec))
			return false;
	}
	return true;
}

/* A logged CREATE EXTENSION: its mark, and the next line of the log after
 * it, an upper bound of the statement's end. */
struct logged_ext {
	const struct milestone *mark;
	double next_line;
};

static int by_mark_ts(const void *a, const void *b)
{
	double x = (*(const struct logged_ext *const *)a)->mark->ts;
	double y = (*(const struct logged_ext *const *)b)->mark->ts;

	return (x > y) - (x < y);
}

/* One pass over the line times.  By mark time, the next lines never go
 * down, so a line lowers those of the marks just before it, and stops at
 * the first it does not lower. */
static void find_next_lines(const struct timeline *t, struct logged_ext *e, size_t n)
{
	struct logged_ext **by_ts = pgx_xmalloc((n ? n : 1) * sizeof(*by_ts));
	struct spill_reader r;
	double line;

	for (size_t i = 0; i < n; i++)
		by_ts[i] = &e[i];
	qsort(by_ts, n, sizeof(*by_ts), by_mark_ts);
	spill_rewind(&t->line_ts, &r);
	while (n && spill_read(&r, &line, sizeof(line))) {
		size_t lo = 0, hi = n;

		while (lo < hi) {	/* the marks before the line: by_ts[0 .. lo) */
			size_t mid = lo + (hi - lo) / 2;
			if (by_ts[mid]->mark->ts < line)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo-- > 0 && (by_ts[lo]->next_line == NO_TIME || by_ts[lo]->next_line > line))
			by_ts[lo]->next_line = line;
	}
	spill_reader_free(&r);
	free(by_ts);
}

#define SAME_STATEMENT_S 1.0	/* a log line and a traced CREATE EXTENSION */

static json_t *extension_record(const char *name, double start, double end, const char *source,
				const char *end_bound, const char *server)
{
	json_t *rec = span_record("extension", start, end);

	json_object_set_new(rec, "name", json_string(name));
	json_object_set_new(rec, "source", json_string(source));
	if (end_bound && end != NO_TIME)
		json_object_set_new(rec, "end_bound", json_string(end_bound));
	json_object_set_new(rec, "server", json_string(server));
	return rec;
}

static bool emit_traced_extension(const struct timeline *t, const struct bounds *b,
				  const struct ext_span *s, const struct pg_child *kids, size_t nkids)
{
	const struct pg_child *backend = child_at(kids, nkids, s->pid, s->start);
	const char *server = backend ? server_of_child(b, backend) : server_at(t, b, s->start);
	json_t *rec = extension_record(s->name, s->start, s->end, "trace", s->end_bound, server);

	json_object_set_new(rec, "pid", json_integer(s->pid));
	return pgx_emit(rec);
}

/* A statement logged (log_statement) that the trace saw too is written once. */
static bool traced_too(const struct milestone *m, const struct ext_span *s, size_t n, bool *taken)
{
	for (size_t i = 0; i < n; i++)
		if (!taken[i] && !strcmp(s[i].name, m->capture) && fabs(s[i].start - m->ts) <= SAME_STATEMENT_S)
			return taken[i] = true;
	return false;
}

static bool emit_logged_extensions(const struct timeline *t, const struct bounds *b,
				   const struct ext_span *spans, size_t nspans)
{
	struct logged_ext *e = pgx_xmalloc((t->nmarks ? t->nmarks : 1) * sizeof(*e));
	bool *taken = calloc(nspans + 1, sizeof(*taken)), ok = true;
	size_t n = 0;

	if (!taken)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];

		if (strcmp(m->rule, "create_extension") || !m->capture || traced_too(m, spans, nspans, taken))
			continue;
		e[n++] = (struct logged_ext){ m, NO_TIME };
	}
	find_next_lines(t, e, n);
	for (size_t i = 0; ok && i < n; i++)
		ok = pgx_emit(extension_record(e[i].mark->capture, e[i].mark->ts, e[i].next_line,
					       "log", "next_line", server_at(t, b, e[i].mark->ts)));
	free(taken);
	free(e);
	return ok;
}

static bool emit_extensions(const struct timeline *t, const struct bounds *b)
{
	struct pg_child *kids;
	size_t nkids = pg_children(t, &kids), nspans;
	struct ext_span *spans;
	bool ok = true;

	nspans = traced_extensions(t, kids, nkids, &spans);
	for (size_t i = 0; ok && i < nspans; i++)
		ok = emit_traced_extension(t, b, &spans[i], kids, nkids);
	ok = ok && emit_logged_extensions(t, b, spans, nspans);
	free(spans);
	free(kids);
	return ok;
}

static json_t *bgworker_record(const char *name, double ts, const struct bounds *b, const char *server,
			       const char *source)
{
	json_t *rec = pgx_record_new("bgworker", ts);

	json_object_set_new(rec, "name", json_string(name));
	pgx_set_ts(rec, "offset_s", ts - b->start);
	json_object_set_new(rec, "server", json_string(server));
	json_object_set_new(rec, "source", json_string(source));
	return rec;
}

/* Every titled child of a postmaster that is not a client backend. */
static bool emit_traced_bgworkers(const struct timeline *t, const struct bounds *b, size_t *n)
{
	struct pg_child *kids;
	size_t nkids = pg_children(t, &kids);
	char name[128];
	bool ok = true;
	json_t *rec;

	*n = 0;
	for (size_t i = 0; ok && i < nkids; i++) {
		if (!worker_name(kids[i].title, name, sizeof(name)))
			continue;
		rec = bgworker_record(name, kids[i].fork_ts, b, server_of_child(b, &kids[i]), "trace");
		json_object_set_new(rec, "pid", json_integer(kids[i].pid));
		ok = pgx_emit(rec);
		(*n)++;
	}
	free(kids);
	return ok;
}

/* From the fork when pgx-trace read the titles (it saw every child), else
 * from DEBUG1 log lines. */
static bool emit_bgworkers(const struct timeline *t, const struct bounds *b)
{
	static const char prefix[] = "bgworker_";
	size_t traced;

	if (!emit_traced_bgworkers(t, b, &traced))
		return false;
	for (size_t i = 0; !traced && i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];
		const char *name = m->capture ? m->capture : m->rule + sizeof(prefix) - 1;

		if (strncmp(m->rule, prefix, sizeof(prefix) - 1) || !strcmp(m->rule, "bgworker_exited"))
			continue;
		if (!pgx_emit(bgworker_record(name, m->ts, b, server_at(t, b, m->ts), "log")))
			return false;
	}
	return true;
}

static bool emit_process(const struct span_iter *it)
{
	const struct span_head *h = &it->head;
	json_t *rec = span_record("process", h->start, h->end);

	json_object_set_new(rec, "pid", json_integer(h->pid));
	json_object_set_new(rec, "ppid", json_integer(h->ppid));
	json_object_set_new(rec, "comm", json_string(span_comm(it)));
	json_object_set_new(rec, "argv", span_argv(it));
	if (h->exited)
		json_object_set_new(rec, "exit_code", json_integer(h->exit_code));
	return pgx_emit(rec);
}

static bool emit_processes(const struct timeline *t)
{
	struct span_iter it;
	bool ok = true;

	spans_begin(t, &it);
	while (ok && spans_next(&it))
		ok = emit_process(&it);
	spans_end(&it);
	return ok;
}

/* The image, or the traced command line as a shell would show it. */
static char *subject_of(const struct timeline *t)
{
	const struct proc_span *first = t->spans.has_first ? &t->spans.first : NULL;
	size_t i, len = 1;
	json_t *a;
	char *s;

	if (t->ctr.image)
		return pgx_xstrdup(t->ctr.image);
	if (!first || !json_array_size(first->argv))
		return pgx_xstrdup(first ? first->comm : "(unknown)");
	json_array_foreach(first->argv, i, a)
		len += json_string_length(a) + 1;
	s = pgx_xmalloc(len);
	s[0] = '\0';
	json_array_foreach(first->argv, i, a) {
		if (i)
			strcat(s, " ");
		strcat(s, json_string_value(a) ? json_string_value(a) : "");
	}
	return s;
}

static json_t *warnings_of(const struct timeline *t, const struct bounds *b, size_t log_scripts)
{
	json_t *w = json_array();
	char msg[200];

	if (t->lost) {
		snprintf(msg, sizeof(msg), "%lu events lost by pgx-trace: spans may be incomplete", t->lost);
		json_array_append_new(w, json_string(msg));
	}
	if (t->build.error) {
		snprintf(msg, sizeof(msg), "never ready: the image build failed: %s", t->build.error);
		json_array_append_new(w, json_string(msg));
	} else if (b->ready.ts == NO_TIME) {
		if (t->ctr.die != NO_TIME)
			snprintf(msg, sizeof(msg), "never ready: the container died with exit code %d", t->ctr.exit_code);
		else
			snprintf(msg, sizeof(msg), "never ready: no connection, pg_ctl or ready line after the final server start");
		json_array_append_new(w, json_string(msg));
	}
	if (log_scripts) {
		snprintf(msg, sizeof(msg), "%zu init script(s) timed from log lines only (no exec/exit seen)", log_scripts);
		json_array_append_new(w, json_string(msg));
	}
	for (size_t i = 0; i < t->nmarks; i++)
		if (t->marks[i].ts < b->start - 1.0) {
			snprintf(msg, sizeof(msg), "log time %.3f s before the start (rule %s): clocks disagree",
				 b->start - t->marks[i].ts, t->marks[i].rule);
			json_array_append_new(w, json_string(msg));
			break;
		}
	return w;
}

static bool emit_profile(const struct timeline *t, const struct bounds *b, size_t log_scripts)
{
	char *subject = subject_of(t);
	struct pgx_profile p = {
		.subject = subject,
		.subject_kind = b->is_container ? "container" : "command",
		.start = b->start,
		.ready = b->ready.ts != NO_TIME,
		.ready_ts = b->ready.ts,
		.total_s = b->ready.ts - b->start,
		.ready_source = b->ready.source ? b->ready.source : "none",
		.lost_events = (long)t->lost,
		.warnings = warnings_of(t, b, log_scripts),
	};
	bool ok = pgx_profile_emit(&p);

	free(subject);
	return ok;
}

bool timeline_has_records(const struct timeline *t)
{
	return t->first_ts != NO_TIME;
}

bool timeline_emit(const struct timeline *t, bool *ready_found)
{
	struct bounds b;
	struct phase phases[9];
	size_t nphases, log_scripts = 0;
	double total;

	if (t->first_ts == NO_TIME) {
		*ready_found = false;
		return true;	/* no records with time: nothing to say */
	}
	find_bounds(t, &b);
	nphases = build_phases(&b, phases);
	total = nphases ? phases[nphases - 1].end - b.start : 0;
	*ready_found = b.ready.ts != NO_TIME;
	return emit_phases(t, phases, nphases, total) && emit_scripts(t, &b, &log_scripts) &&
	       emit_extensions(t, &b) && emit_bgworkers(t, &b) && emit_processes(t) &&
	       emit_profile(t, &b, log_scripts);
}
