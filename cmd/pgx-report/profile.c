/* profile.c - read pgx-timeline records into profiles, one struct per record type */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "report.h"

void vec_grow(void **v, size_t *cap, size_t want, size_t elsize)
{
	if (want <= *cap)
		return;
	*cap = *cap ? *cap * 2 : 8;
	if (*cap < want)
		*cap = want;
	*v = pgx_xrealloc(*v, *cap * elsize);
}

static bool get_num(const json_t *rec, const char *key, double *out)
{
	json_t *v = json_object_get(rec, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

static char *dup_str(const json_t *rec, const char *key, const char *dflt)
{
	const char *s = pgx_rec_str(rec, key);

	return s ? pgx_xstrdup(s) : dflt ? pgx_xstrdup(dflt) : NULL;
}

/* start, end and duration_s, each derived from the others when missing */
static void read_span(const json_t *rec, struct span *t)
{
	bool has_dur = get_num(rec, "duration_s", &t->duration_s);

	t->has_start = get_num(rec, "start", &t->start) || get_num(rec, "ts", &t->start);
	t->has_end = get_num(rec, "end", &t->end);
	if (!has_dur)
		t->duration_s = t->has_start && t->has_end ? t->end - t->start : -1;
	if (!t->has_end && has_dur && t->has_start) {
		t->end = t->start + t->duration_s;
		t->has_end = true;
	}
}

static void read_spread(const json_t *rec, const char *min_key, const char *max_key,
			struct spread *agg)
{
	json_t *runs = json_object_get(rec, "runs");

	if (!json_is_integer(runs))
		return;
	agg->runs = (long)json_integer_value(runs);
	get_num(rec, min_key, &agg->min_s);
	get_num(rec, max_key, &agg->max_s);
}

static void read_phase(struct profile *p, const json_t *rec)
{
	struct phase *ph = vec_push(&p->phases);

	ph->name = dup_str(rec, "name", "?");
	ph->source = dup_str(rec, "source", NULL);
	ph->cache = dup_str(rec, "cache", NULL);
	read_span(rec, &ph->t);
	if (!get_num(rec, "pct", &ph->pct))
		ph->pct = -1;
	read_spread(rec, "duration_min_s", "duration_max_s", &ph->agg);
}

static void read_script(struct profile *p, const json_t *rec)
{
	struct script *s = vec_push(&p->scripts);
	json_t *code = json_object_get(rec, "exit_code");

	s->name = dup_str(rec, "name", "?");
	s->path = dup_str(rec, "path", NULL);
	s->source = dup_str(rec, "source", NULL);
	read_span(rec, &s->t);
	if ((s->has_exit = json_is_integer(code)))
		s->exit_code = (long)json_integer_value(code);
	read_spread(rec, "duration_min_s", "duration_max_s", &s->agg);
}

static void read_extension(struct profile *p, const json_t *rec)
{
	struct extension *e = vec_push(&p->extensions);

	e->name = dup_str(rec, "name", "?");
	e->source = dup_str(rec, "source", NULL);
	e->server = dup_str(rec, "server", NULL);
	read_span(rec, &e->t);
	read_spread(rec, "duration_min_s", "duration_max_s", &e->agg);
}

static void read_bgworker(struct profile *p, const json_t *rec)
{
	struct bgworker *w = vec_push(&p->bgworkers);

	w->name = dup_str(rec, "name", "?");
	w->server = dup_str(rec, "server", NULL);
	if (!get_num(rec, "offset_s", &w->offset_s))
		w->offset_s = -1;
	read_spread(rec, "offset_min_s", "offset_max_s", &w->agg);
}

static char *join_argv(const json_t *argv, const char *comm)
{
	size_t i, len = 0;
	json_t *a;
	char *s;

	json_array_foreach(argv, i, a)
		if (json_is_string(a))
			len += json_string_length(a) + 1;
	if (!len)
		return pgx_xstrdup(comm);
	s = pgx_xmalloc(len);
	s[0] = '\0';
	json_array_foreach(argv, i, a) {
		if (!json_is_string(a))
			continue;
		if (s[0])
			strcat(s, " ");
		strcat(s, json_string_value(a));
	}
	return s;
}

static void read_process(struct profile *p, const json_t *rec)
{
	struct process *pr = vec_push(&p->processes);
	json_t *code = json_object_get(rec, "exit_code");

	pr->pid = (long)json_integer_value(json_object_get(rec, "pid"));
	pr->ppid = (long)json_integer_value(json_object_get(rec, "ppid"));
	pr->comm = dup_str(rec, "comm", "?");
	pr->cmdline = join_argv(json_object_get(rec, "argv"), pr->comm);
	read_span(rec, &pr->t);
	if ((pr->has_exit = json_is_integer(code)))
		pr->exit_code = (long)json_integer_value(code);
}

static void read_summary(struct profile *p, const json_t *rec)
{
	json_t *warnings = json_object_get(rec, "warnings"), *w;
	size_t i;

	p->subject = dup_str(rec, "subject", "?");
	p->subject_kind = dup_str(rec, "subject_kind", NULL);
	p->ready_source = dup_str(rec, "ready_source", "none");
	p->has_start = get_num(rec, "start", &p->start) || get_num(rec, "ts", &p->start);
	p->has_ready = get_num(rec, "ready", &p->ready);
	p->has_total = get_num(rec, "total_s", &p->total_s) && p->total_s >= 0;
	if (!p->has_total && p->has_ready && p->has_start) {
		p->total_s = p->ready - p->start;
		p->has_total = true;
	}
	p->lost_events = (long)json_integer_value(json_object_get(rec, "lost_events"));
	json_array_foreach(warnings, i, w)
		if (json_is_string(w))
			*vec_push(&p->warnings) = pgx_xstrdup(json_string_value(w));
	read_spread(rec, "total_min_s", "total_max_s", &p->agg);
}

void profile_warn(struct profile *p, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*vec_push(&p->warnings) = pgx_xstrdup(buf);
}

static int by_phase_start(const void *a, const void *b)
{
	const struct phase *x = a, *y = b;

	return (x->t.start > y->t.start) - (x->t.start < y->t.start);
}

static int by_script_start(const void *a, const void *b)
{
	const struct script *x = a, *y = b;

	return (x->t.start > y->t.start) - (x->t.start < y->t.start);
}

static int by_process_start(const void *a, const void *b)
{
	const struct process *x = a, *y = b;

	if (x->t.start != y->t.start)
		return x->t.start < y->t.start ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Stable enough: records arrive in start order already; sorting fixes the rest. */
static void sort_profile(struct profile *p)
{
	if (p->phases.n)
		qsort(p->phases.v, p->phases.n, sizeof(*p->phases.v), by_phase_start);
	if (p->scripts.n)
		qsort(p->scripts.v, p->scripts.n, sizeof(*p->scripts.v), by_script_start);
	if (p->processes.n)
		qsort(p->processes.v, p->processes.n, sizeof(*p->processes.v), by_process_start);
}

/* Records after the last profile record: a partial report when phases exist. */
static bool close_partial(struct profile *p, const char *input)
{
	double first = 0, last = 0;

	if (!p->phases.n)
		return false;
	for (size_t i = 0; i < p->phases.n; i++) {
		const struct span *t = &p->phases.v[i].t;

		if (i == 0 || t->start < first)
			first = t->start;
		if (t->has_end && (i == 0 || t->end > last))
			last = t->end;
	}
	p->partial = true;
	p->subject = pgx_xstrdup(input);
	p->ready_source = pgx_xstrdup("none");
	p->start = first;
	p->has_start = true;
	p->total_s = last > first ? last - first : 0;
	p->has_total = true;
	profile_warn(p, "no profile record in %s: total and shares are from its phases", input);
	return true;
}

static void dispatch(struct profile *p, const json_t *rec)
{
	const char *type = pgx_rec_type(rec);

	if (!type)
		return;
	if (!strcmp(type, "phase"))
		read_phase(p, rec);
	else if (!strcmp(type, "script"))
		read_script(p, rec);
	else if (!strcmp(type, "extension"))
		read_extension(p, rec);
	else if (!strcmp(type, "bgworker"))
		read_bgworker(p, rec);
	else if (!strcmp(type, "process"))
		read_process(p, rec);
}

static struct profile *profile_new(const char *input)
{
	struct profile *p = calloc(1, sizeof(*p));

	if (!p)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	p->input = pgx_xstrdup(input);
	return p;
}

static void finish_profile(struct profile_set *set, struct profile *p)
{
	sort_profile(p);
	*vec_push(&set->items) = p;
}

static void load_input(struct profile_set *set, struct pgx_input *in)
{
	const char *name = pgx_input_name(in);
	struct profile *cur = profile_new(name);
	struct pgx_line line;
	json_t *rec;
	int got;

	while ((got = pgx_ndjson_next(in, &line, &rec)) == 1) {
		const char *type = pgx_rec_type(rec);

		if (type && !strcmp(type, "profile")) {
			read_summary(cur, rec);
			finish_profile(set, cur);
			cur = profile_new(name);
		} else {
			dispatch(cur, rec);
		}
		json_decref(rec);
	}
	if (got < 0)
		set->unreadable = true;
	if (close_partial(cur, name))
		finish_profile(set, cur);
	else
		profile_free(cur);
	set->input_errors += pgx_input_errors(in);
}

void profiles_load(struct profile_set *set, char *const *files, size_t nfiles)
{
	static char *const stdin_only[] = { "-" };

	if (!nfiles) {
		files = stdin_only;
		nfiles = 1;
	}
	for (size_t i = 0; i < nfiles && !pgx_stop_signal; i++) {
		struct pgx_input *in = pgx_input_open(files[i], 0);

		if (!in) {
			set->unreadable = true;
			continue;
		}
		load_input(set, in);
		pgx_input_close(in);
	}
}

void profile_free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->phases.n; i++) {
		free(p->phases.v[i].name);
		free(p->phases.v[i].source);
		free(p->phases.v[i].cache);
	}
	for (size_t i = 0; i < p->scripts.n; i++) {
		free(p->scripts.v[i].name);
		free(p->scripts.v[i].path);
		free(p->scripts.v[i].source);
	}
	for (size_t i = 0; i < p->extensions.n; i++) {
		free(p->extensions.v[i].name);
		free(p->extensions.v[i].source);
		free(p->extensions.v[i].server);
	}
	for (size_t i = 0; i < p->bgworkers.n; i++) {
		free(p->bgworkers.v[i].name);
		free(p->bgworkers.v[i].server);
	}
	for (size_t i = 0; i < p->processes.n; i++) {
		free(p->processes.v[i].comm);
		free(p->processes.v[i].cmdline);
	}
	for (size_t i = 0; i < p->warnings.n; i++)
		free(p->warnings.v[i]);
	free(p->phases.v);
	free(p->scripts.v);
	free(p->extensions.v);
	free(p->bgworkers.v);
	free(p->processes.v);
	free(p->warnings.v);
	free(p->input);
	free(p->subject);
	free(p->subject_kind);
	free(p->ready_source);
	free(p);
}

void profiles_free(struct profile_set *set)
{
	for (size_t i = 0; i < set->items.n; i++)
		profile_free(set->items.v[i]);
	free(set->items.v);
	set->items.v = NULL;
	set->items.n = set->items.cap = 0;
}

double profile_origin(const struct profile *p)
{
	double t = p->has_start ? p->start : 0;

	if (p->has_start)
		return t;
	for (size_t i = 0; i < p->phases.n; i++)
		if (i == 0 || p->phases.v[i].t.start < t)
			t = p->phases.v[i].t.start;
	return t;
}

double profile_end(const struct profile *p)
{
	double end = profile_origin(p) + (p->has_total ? p->total_s : 0);

	for (size_t i = 0; i < p->phases.n; i++)
		if (p->phases.v[i].t.has_end && p->phases.v[i].t.end > end)
			end = p->phases.v[i].t.end;
	for (size_t i = 0; i < p->scripts.n; i++)
		if (p->scripts.v[i].t.has_end && p->scripts.v[i].t.end > end)
			end = p->scripts.v[i].t.end;
	for (size_t i = 0; i < p->processes.n; i++)
		if (p->processes.v[i].t.has_end && p->processes.v[i].t.end > end)
			end = p->processes.v[i].t.end;
	return end;
}

double phase_pct(const struct profile *p, const struct phase *ph)
{
	if (ph->pct >= 0 && !p->agg.runs && !p->partial)
		return ph->pct;
	if (p->has_total && p->total_s > 0 && ph->t.duration_s >= 0)
		return ph->t.duration_s * 100.0 / p->total_s;
	return -1;
}

const struct phase *profile_phase(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->phases.n; i++)
		if (!strcmp(p->phases.v[i].name, name))
			return &p->phases.v[i];
	return NULL;
}

const char *phase_label(const char *name)
{
	static const char *const labels[][2] = {
		{ "image_build", "Image build" },
		{ "container_create", "Container create" },
		{ "container_init", "Container init" },
		{ "command_init", "Command init" },
		{ "initdb", "initdb" },
		{ "temp_server_start", "Temp server start" },
		{ "init_scripts", "Init scripts" },
		{ "temp_server_stop", "Temp server stop" },
		{ "final_server_start", "Final server start" },
	};

	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (!strcmp(labels[i][0], name))
			return labels[i][1];
	return name;
}
