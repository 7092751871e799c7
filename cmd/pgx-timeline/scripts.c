/* scripts.c - one record per init script, from exec/exit or log lines */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"
#include "analyse.h"

struct script {
	char *name;
	double start, end;
	int exit_code;
	bool has_exit;
	const char *source;	/* NULL: a compressed script's reader, not found yet */
};

struct script_list {
	struct script *items;
	size_t n, cap;
};

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

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct script *)a)->name, ((const struct script *)b)->name);
}

/* l must be sorted by name */
static struct script *find_script(const struct script_list *l, const char *name)
{
	struct script key = { .name = (char *)name };

	return l->n ? bsearch(&key, l->items, l->n, sizeof(*l->items), by_name) : NULL;
}

static struct script *add_script(struct script_list *l, const char *name, double start, const char *source)
{
	struct script *s;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = pgx_xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	s = &l->items[l->n++];
	*s = (struct script){ .name = pgx_xstrdup(name), .start = start, .end = NO_TIME, .source = source };
	return s;
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

static void set_traced(struct script *s, const struct span_head *p)
{
	s->start = p->start;
	s->end = p->end;
	s->exit_code = p->exit_code;
	s->has_exit = p->exited;
	s->source = "trace";
}

/* A compressed script is run as `gunzip -c FILE | psql`: the decompressor
 * names the file but is done in milliseconds; the psql beside it, started
 * with it and naming no file, does the work.  The search for that psql of
 * the script whose reader is items[item]: */
struct reader_search {
	size_t item;
	double unpack_start;
	double best_gap;	/* seconds: the two halves of one pipeline */
};

static void find_readers(const struct timeline *t, struct script_list *l, struct reader_search *rs, size_t n)
{
	struct span_iter it;

	spans_begin(t, &it);
	while (spans_next(&it)) {
		if (strcmp(span_comm(&it), "psql") || script_arg(t, &it))
			continue;
		for (size_t i = 0; i < n; i++) {
			double gap = fabs(it.head.start - rs[i].unpack_start);
			if (gap <= rs[i].best_gap) {
				set_traced(&l->items[rs[i].item], &it.head);
				rs[i].best_gap = gap;
			}
		}
	}
	spans_end(&it);
}

/* One entry per process running an init file (and the reader of a
 * compressed one), in exec order. */
static void scripts_of_processes(const struct timeline *t, struct script_list *l)
{
	struct reader_search *rs = NULL;
	size_t nrs = 0, kept = 0;
	struct span_iter it;

	spans_begin(t, &it);
	while (spans_next(&it)) {
		const char *name = script_arg(t, &it);

		if (!name)
			continue;
		set_traced(add_script(l, name, it.head.start, NULL), &it.head);
		if (!is_compressed_sql(name))
			continue;
		rs = pgx_xrealloc(rs, (nrs + 1) * sizeof(*rs));
		rs[nrs++] = (struct reader_search){ l->n, it.head.start, 0.2 };
		add_script(l, name, it.head.start, NULL);
	}
	spans_end(&it);
	if (nrs)
		find_readers(t, l, rs, nrs);
	free(rs);
	for (size_t i = 0; i < l->n; i++)
		if (l->items[i].source)
			l->items[kept++] = l->items[i];
		else
			free(l->items[i].name);	/* no reader found */
	l->n = kept;
}

/* One entry per file, sorted by name. */
static void scripts_from_trace(const struct timeline *t, struct script_list *l)
{
	size_t kept = 0;

	scripts_of_processes(t, l);
	if (l->n)
		qsort(l->items, l->n, sizeof(*l->items), by_name);
	for (size_t i = 0; i < l->n; i++) {
		if (kept && !strcmp(l->items[kept - 1].name, l->items[i].name)) {
			fold(&l->items[kept - 1], &l->items[i]);
			free(l->items[i].name);
		} else
			l->items[kept++] = l->items[i];
	}
	l->n = kept;
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

static size_t scripts_from_log(const struct timeline *t, const struct bounds *b, struct script_list *l)
{
	size_t traced = l->n, added = 0;

	for (size_t i = 0; i < t->nmarks; i++) {
		const struct milestone *m = &t->marks[i];
		struct script_list seen = { l->items, traced, traced };
		if (strcmp(m->rule, "init_script") || !m->capture || find_script(&seen, m->capture))
			continue;
		add_script(l, m->capture, m->ts, "log")->end = log_script_end(t, b, m->ts);
		added++;
	}
	return added;
}

static int by_start(const void *a, const void *b)
{
	double d = ((const struct script *)a)->start - ((const struct script *)b)->start;

	return (d > 0) - (d < 0);
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
	json_object_set_new(rec, "source", json_string(s->source));
	return pgx_emit(rec);
}

bool emit_scripts(const struct timeline *t, const struct bounds *b, size_t *log_scripts)
{
	struct script_list l = { NULL, 0, 0 };
	bool ok = true;

	scripts_from_trace(t, &l);
	*log_scripts = scripts_from_log(t, b, &l);
	if (l.n)
		qsort(l.items, l.n, sizeof(*l.items), by_start);
	for (size_t i = 0; ok && i < l.n; i++)
		ok = emit_script(t, &l.items[i]);
	for (size_t i = 0; i < l.n; i++)
		free(l.items[i].name);
	free(l.items);
	return ok;
}
