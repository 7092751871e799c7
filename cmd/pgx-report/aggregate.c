/* aggregate.c - N runs of one startup as median/min/max records (pgx-report(1), aggregate) */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "report.h"

/* The values of one named item over the runs it appeared in; a worker or
 * an extension of the temporary server is not the final server's. */
struct series {
	const char *name, *path, *source, *server;
	long exit_code;
	bool has_exit;
	VEC(double) dur;
	VEC(double) off;	/* start offsets from each run's origin */
};

typedef VEC(struct series) series_list;

struct stats {
	double median, min, max;
	size_t n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of an even count is the mean of the two middle values. */
static struct stats stats_of(const double *v, size_t n)
{
	struct stats s = { .n = n };
	double *c;

	if (!n)
		return s;
	c = pgx_xmalloc(n * sizeof(*c));
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	s.min = c[0];
	s.max = c[n - 1];
	s.median = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return s;
}

static bool same_server(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static struct series *series_of(series_list *list, const char *name, const char *server)
{
	struct series *s;

	for (size_t i = 0; i < list->n; i++)
		if (!strcmp(list->v[i].name, name) && same_server(list->v[i].server, server))
			return &list->v[i];
	s = vec_push(list);
	s->name = name;
	s->server = server;
	return s;
}

static struct series *series_get(series_list *list, const char *name)
{
	return series_of(list, name, NULL);
}

static void series_add_to(struct series *s, double dur, double off)
{
	if (dur >= 0)
		*vec_push(&s->dur) = dur;
	*vec_push(&s->off) = off;
}

static void series_add(series_list *list, const char *name, double dur, double off)
{
	series_add_to(series_get(list, name), dur, off);
}

static void series_free(series_list *list)
{
	for (size_t i = 0; i < list->n; i++) {
		free(list->v[i].dur.v);
		free(list->v[i].off.v);
	}
	free(list->v);
}

struct aggregate {
	series_list phases, scripts, extensions, bgworkers;
	VEC(double) totals;
	double anchor;
};

static void collect(struct aggregate *a, const struct profile *p)
{
	double origin = profile_origin(p);

	for (size_t i = 0; i < p->phases.n; i++) {
		const struct phase *ph = &p->phases.v[i];

		series_add(&a->phases, ph->name, ph->t.duration_s, ph->t.start - origin);
		series_get(&a->phases, ph->name)->source = ph->source;
	}
	for (size_t i = 0; i < p->scripts.n; i++) {
		const struct script *s = &p->scripts.v[i];
		struct series *se;

		series_add(&a->scripts, s->name, s->t.duration_s, s->t.start - origin);
		se = series_get(&a->scripts, s->name);
		se->path = s->path;
		se->source = s->source;
		if (s->has_exit && (!se->has_exit || !se->exit_code))
			se->exit_code = s->exit_code;
		se->has_exit |= s->has_exit;
	}
	for (size_t i = 0; i < p->extensions.n; i++) {
		const struct extension *e = &p->extensions.v[i];
		struct series *s = series_of(&a->extensions, e->name, e->server);

		series_add_to(s, e->t.duration_s, e->t.start - origin);
		s->source = e->source;
	}
	for (size_t i = 0; i < p->bgworkers.n; i++) {
		const struct bgworker *w = &p->bgworkers.v[i];

		series_add_to(series_of(&a->bgworkers, w->name, w->server), w->offset_s, w->offset_s);
	}
	if (p->has_total)
		*vec_push(&a->totals) = p->total_s;
}

static int by_median_offset(const void *x, const void *y)
{
	const struct series *a = x, *b = y;
	double ma = stats_of(a->off.v, a->off.n).median, mb = stats_of(b->off.v, b->off.n).median;

	return (ma > mb) - (ma < mb);
}

static void set_spread(json_t *rec, const char *prefix, const struct stats *s)
{
	char key[32];

	snprintf(key, sizeof(key), "%s_s", prefix);
	pgx_set_ts(rec, key, s->median);
	snprintf(key, sizeof(key), "%s_min_s", prefix);
	pgx_set_ts(rec, key, s->min);
	snprintf(key, sizeof(key), "%s_max_s", prefix);
	pgx_set_ts(rec, key, s->max);
	json_object_set_new(rec, "runs", json_integer((json_int_t)s->n));
}

static bool emit_spans(const char *type, series_list *list, double anchor, double total)
{
	bool ok = true;

	if (list->n)
		qsort(list->v, list->n, sizeof(*list->v), by_median_offset);
	for (size_t i = 0; ok && i < list->n; i++) {
		const struct series *s = &list->v[i];
		struct stats d = stats_of(s->dur.v, s->dur.n);
		double start = anchor + stats_of(s->off.v, s->off.n).median;
		json_t *rec = pgx_record_new(type, start);

		json_object_set_new(rec, "name", json_string(s->name));
		if (s->path)
			json_object_set_new(rec, "path", json_string(s->path));
		pgx_set_ts(rec, "start", start);
		if (d.n) {
			pgx_set_ts(rec, "end", start + d.median);
			set_spread(rec, "duration", &d);
		}
		if (d.n && total > 0 && !strcmp(type, "phase"))
			json_object_set_new(rec, "pct", json_pct(d.median * 100 / total));
		if (s->has_exit)
			json_object_set_new(rec, "exit_code", json_integer(s->exit_code));
		if (s->source)
			json_object_set_new(rec, "source", json_string(s->source));
		if (s->server)
			json_object_set_new(rec, "server", json_string(s->server));
		ok = pgx_emit(rec);
	}
	return ok;
}

static bool emit_bgworkers(const series_list *list, double anchor)
{
	bool ok = true;

	for (size_t i = 0; ok && i < list->n; i++) {
		struct stats s = stats_of(list->v[i].dur.v, list->v[i].dur.n);
		json_t *rec = pgx_record_new("bgworker", anchor + s.median);

		json_object_set_new(rec, "name", json_string(list->v[i].name));
		set_spread(rec, "offset", &s);
		if (list->v[i].server)
			json_object_set_new(rec, "server", json_string(list->v[i].server));
		ok = pgx_emit(rec);
	}
	return ok;
}

static const char *common(const struct profile_set *set, size_t off, const char *mixed)
{
	const char *first = *(const char *const *)((const char *)set->items.v[0] + off);

	for (size_t i = 1; i < set->items.n; i++) {
		const char *s = *(const char *const *)((const char *)set->items.v[i] + off);

		if (!first || !s || strcmp(first, s))
			return mixed;
	}
	return first;
}

static void add_warnings(json_t *list, const struct profile_set *set, size_t not_ready)
{
	char buf[160];

	if (!common(set, offsetof(struct profile, subject), NULL))
		json_array_append_new(list, json_string("the runs are of different subjects"));
	if (not_ready) {
		snprintf(buf, sizeof(buf), "%zu of %zu runs never became ready and are left out of the total",
			 not_ready, set->items.n);
		json_array_append_new(list, json_string(buf));
	}
	for (size_t i = 0; i < set->items.n; i++) {
		const struct profile *p = set->items.v[i];

		for (size_t j = 0; j < p->warnings.n; j++) {
			snprintf(buf, sizeof(buf), "run %zu (%s): %s", i + 1, p->input, p->warnings.v[j]);
			json_array_append_new(list, json_string(buf));
		}
	}
}

static bool emit_profile(const struct profile_set *set, const struct aggregate *a)
{
	struct stats t = stats_of(a->totals.v, a->totals.n);
	const char *kind = common(set, offsetof(struct profile, subject_kind), "mixed");
	struct pgx_profile p = {
		.subject = set->items.v[0]->subject,
		.subject_kind = kind,
		.start = a->anchor,
		.ready = t.n > 0,
		.ready_ts = a->anchor + t.median,
		.total_s = t.median,
		.total_min_s = t.min,
		.total_max_s = t.max,
		.runs = set->items.n,
		.ready_source = common(set, offsetof(struct profile, ready_source), "mixed"),
		.warnings = json_array(),
	};

	for (size_t i = 0; i < set->items.n; i++)
		p.lost_events += set->items.v[i]->lost_events;
	add_warnings(p.warnings, set, set->items.n - t.n);
	return pgx_profile_emit(&p);
}

bool aggregate_emit(const struct profile_set *set)
{
	struct aggregate a = { 0 };
	double total;
	bool ok;

	a.anchor = profile_origin(set->items.v[0]);
	for (size_t i = 0; i < set->items.n; i++)
		collect(&a, set->items.v[i]);
	total = stats_of(a.totals.v, a.totals.n).median;
	ok = emit_spans("phase", &a.phases, a.anchor, total) &&
	     emit_spans("script", &a.scripts, a.anchor, total) &&
	     emit_spans("extension", &a.extensions, a.anchor, total) &&
	     emit_bgworkers(&a.bgworkers, a.anchor) &&
	     emit_profile(set, &a);
	series_free(&a.phases);
	series_free(&a.scripts);
	series_free(&a.extensions);
	series_free(&a.bgworkers);
	free(a.totals.v);
	return ok;
}
