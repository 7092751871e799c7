/* scripts.c - one record per init script, from exec/exit or log lines
 *
 * Entries go through two sorts (scriptsort.c): by name, to fold the
 * processes running one file into one script, then by start.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"
#include "analyse.h"
#include "scripts.h"

/* The init file a process runs: an argument under the init directory. */
static const char *script_arg(const struct timeline *t, const struct span_iter *it)
{
	size_t dirlen = strlen(t->init_dir), cursor = 0;
	const char *s;

	while ((s = span_arg(it, &cursor)))
		if (!strncmp(s, t->init_dir, dirlen) && s[dirlen] == '/' && s[dirlen + 1])
			return s + dirlen + 1;
	return NULL;
}

static int by_name(const struct script *a, const struct script *b)
{
	return strcmp(a->name, b->name);
}

static int by_start(const struct script *a, const struct script *b)
{
	return (a->start > b->start) - (a->start < b->start);
}

/* Fold s into the script it shares a file with: the earliest start, and the
 * exit of the process that ended last (a shell and its psql run one file). */
static void fold(struct script *into, const struct script *s)
{
	if (s->start < into->start)
		into->start = s->start;
	if (s->end != NO_TIME && (into->end == NO_TIME || s->end > into->end)) {
		into->end = s->end;
		into->exit_code = s->exit_code;
		into->has_exit = s->has_exit;
	}
}

static bool is_compressed_sql(const char *name)
{
	static const char *const suffixes[] = { ".sql.gz", ".sql.xz", ".sql.zst", ".sql.bz2" };
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		size_t slen = strlen(suffixes[i]);
		if (len > slen && !strcmp(name + len - slen, suffixes[i]))
			return true;
	}
	return false;
}

static struct script traced(const char *name, const struct span_head *p, uint64_t seq)
{
	return (struct script){ (char *)name, p->start, p->end, p->exit_code, p->exited, false, seq };
}

/* A compressed script is run as `gunzip -c FILE | psql`: the decompressor
 * names the file but is done in milliseconds; the psql beside it, started
 * with it and naming no file, does the work.  The search for that psql: */
struct reader_search {
	char *name;
	uint64_t seq;		/* just after its decompressor's */
	double unpack_start;
	double best_gap;	/* seconds: the two halves of one pipeline */
	struct span_head found;
};

static void find_readers(const struct timeline *t, struct reader_search *rs, size_t n)
{
	struct span_iter it;

	spans_begin(t, &it);
	while (spans_next(&it)) {
		if (strcmp(span_comm(&it), "psql") || script_arg(t, &it))
			continue;
		for (size_t i = 0; i < n; i++) {
			double gap = fabs(it.head.start - rs[i].unpack_start);
			if (gap <= rs[i].best_gap) {
				rs[i].found = it.head;
				rs[i].best_gap = gap;
			}
		}
	}
	spans_end(&it);
}

/* One entry per process running an init file, and the reader of a
 * compressed one, in exec order. */
static void scripts_of_processes(const struct timeline *t, struct script_sort *by_names)
{
	struct reader_search *rs = NULL;
	size_t nrs = 0;
	uint64_t seq = 0;
	struct span_iter it;
	struct script s;

	spans_begin(t, &it);
	while (spans_next(&it)) {
		const char *name = script_arg(t, &it);

		if (!name)
			continue;
		s = traced(name, &it.head, seq++);
		script_sort_add(by_names, &s);
		if (!is_compressed_sql(name))
			continue;
		rs = pgx_xrealloc(rs, (nrs + 1) * sizeof(*rs));
		rs[nrs++] = (struct reader_search){ pgx_xstrdup(name), seq++, it.head.start, 0.2,
						    { .start = NO_TIME } };
	}
	spans_end(&it);
	if (nrs)
		find_readers(t, rs, nrs);
	for (size_t i = 0; i < nrs; i++) {
		if (rs[i].found.start != NO_TIME) {
			s = traced(rs[i].name, &rs[i].found, rs[i].seq);
			script_sort_add(by_names, &s);
		}
		free(rs[i].name);
	}
	free(rs);
}

/* The init_script matches, by capture, to find those the trace saw. */
struct logged_script {
	const struct milestone *mark;
	bool traced;
};

static int by_capture(const void *a, const void *b)
{
	return strcmp((*(const struct logged_script *const *)a)->mark->capture,
		      (*(const struct logged_script *const *)b)->mark->capture);
}

static size_t logged_scripts(const struct timeline *t, struct logged_script **out)
{
	struct logged_script *l = pgx_xmalloc((t->nmarks ? t->nmarks : 1) * sizeof(*l));
	size_t n = 0;

	for (size_t i = 0; i < t->nmarks; i++)
		if (!strcmp(t->marks[i].rule, "init_script") && t->marks[i].capture)
			l[n++] = (struct logged_script){ &t->marks[i], false };
	*out = l;
	return n;
}

/* Fold the traced entries of each file (they come by name) into one,
 * marking the logged scripts of that name as traced. */
static uint64_t fold_by_name(struct script_sort *by_names, struct script_sort *by_starts,
			     struct logged_script *logged, size_t nlogged)
{
	struct logged_script **by_cap = pgx_xmalloc((nlogged ? nlogged : 1) * sizeof(*by_cap));
	const struct script *s;
	struct script cur = { 0 };
	uint64_t seq = 0;
	size_t next = 0;

	for (size_t i = 0; i < nlogged; i++)
		by_cap[i] = &logged[i];
	qsort(by_cap, nlogged, sizeof(*by_cap), by_capture);
	while ((s = script_sort_next(by_names))) {
		if (cur.name && !strcmp(cur.name, s->name)) {
			fold(&cur, s);
			continue;
		}
		if (cur.name)
			script_sort_add(by_starts, &cur);
		free(cur.name);
		cur = *s;
		cur.name = pgx_xstrdup(s->name);
		cur.seq = seq++;
		while (next < nlogged && strcmp(by_cap[next]->mark->capture, s->name) < 0)
			next++;
		for (; next < nlogged && !strcmp(by_cap[next]->mark->capture, s->name); next++)
			by_cap[next]->traced = true;
	}
	if (cur.name)
		script_sort_add(by_starts, &cur);
	free(cur.name);
	free(by_cap);
	return seq;
}

/* A script ends where the next begins, or where the temporary server stops. */
static double log_script_end(const struct timeline *t, const struct bounds *b, double start)
{
	static const char *const next_rules[] = { "init_script", "shutdown_request", "init_complete" };
	double end = b->temp_stop_begin.ts;

	for (size_t i = 0; i < sizeof(next_rules) / sizeof(*next_rules); i++) {
		const struct milestone *m = first_mark(t, next_rules[i], start + 1e-6);
		if (m && (end == NO_TIME || m->ts < end))
			end = m->ts;
	}
	return end != NO_TIME && end > start ? end : NO_TIME;
}

/* The scripts only the log saw, in the order of their lines. */
static size_t scripts_from_log(const struct timeline *t, const struct bounds *b, struct script_sort *by_starts,
			       const struct logged_script *logged, size_t nlogged, uint64_t seq)
{
	size_t added = 0;

	for (size_t i = 0; i < nlogged; i++) {
		const struct milestone *m = logged[i].mark;
		struct script s = { m->capture, m->ts, log_script_end(t, b, m->ts), 0, false, true, seq++ };

		if (logged[i].traced)
			continue;
		script_sort_add(by_starts, &s);
		added++;
	}
	return added;
}

static bool emit_script(const struct timeline *t, const struct script *s)
{
	json_t *rec = span_record("script", s->start, s->end);
	char *path;

	json_object_set_new(rec, "name", json_string(s->name));
	if (asprintf(&path, "%s/%s", t->init_dir, s->name) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	json_object_set_new(rec, "path", json_string(path));
	free(path);
	if (s->has_exit)
		json_object_set_new(rec, "exit_code", json_integer(s->exit_code));
	json_object_set_new(rec, "source", json_string(s->from_log ? "log" : "trace"));
	return pgx_emit(rec);
}

bool emit_scripts(const struct timeline *t, const struct bounds *b, size_t *log_scripts)
{
	struct script_sort by_names = { .cmp = by_name }, by_starts = { .cmp = by_start };
	struct logged_script *logged;
	size_t nlogged = logged_scripts(t, &logged);
	const struct script *s;
	uint64_t seq;
	bool ok = true;

	scripts_of_processes(t, &by_names);
	seq = fold_by_name(&by_names, &by_starts, logged, nlogged);
	*log_scripts = scripts_from_log(t, b, &by_starts, logged, nlogged, seq);
	while (ok && (s = script_sort_next(&by_starts)))
		ok = emit_script(t, s);
	script_sort_free(&by_names);
	script_sort_free(&by_starts);
	free(logged);
	return ok;
}
