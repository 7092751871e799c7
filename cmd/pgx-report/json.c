/* json.c - the profile as one JSON document (fields in pgx-report(1), OUTPUT) */
#include <string.h>
#include "pgx.h"
#include "report.h"

static json_t *opt_secs(bool has, double s)
{
	return has ? json_secs(s) : json_null();
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void set_span(json_t *o, const struct span *t, double origin)
{
	json_object_set_new(o, "start", opt_secs(t->has_start, t->start));
	json_object_set_new(o, "end", opt_secs(t->has_end, t->end));
	json_object_set_new(o, "offset_s", opt_secs(t->has_start, t->start - origin));
	json_object_set_new(o, "duration_s", opt_secs(t->duration_s >= 0, t->duration_s));
}

static void set_spread(json_t *o, const struct spread *s, const char *min_key, const char *max_key)
{
	if (!s->runs)
		return;
	json_object_set_new(o, min_key, json_secs(s->min_s));
	json_object_set_new(o, max_key, json_secs(s->max_s));
	json_object_set_new(o, "runs", json_integer(s->runs));
}

static json_t *phases(const struct profile *p, double origin)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->phases.n; i++) {
		const struct phase *ph = &p->phases.v[i];
		double pct = phase_pct(p, ph);
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(ph->name));
		json_object_set_new(o, "label", json_string(phase_label(ph->name)));
		set_span(o, &ph->t, origin);
		json_object_set_new(o, "pct", pct >= 0 ? json_pct(pct) : json_null());
		json_object_set_new(o, "source", opt_str(ph->source));
		if (ph->cache)
			json_object_set_new(o, "cache", json_string(ph->cache));
		set_spread(o, &ph->agg, "duration_min_s", "duration_max_s");
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *scripts(const struct profile *p, double origin)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->scripts.n; i++) {
		const struct script *s = &p->scripts.v[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(s->name));
		json_object_set_new(o, "path", opt_str(s->path));
		set_span(o, &s->t, origin);
		json_object_set_new(o, "pct", p->has_total && p->total_s > 0 && s->t.duration_s >= 0
				    ? json_pct(s->t.duration_s * 100 / p->total_s) : json_null());
		json_object_set_new(o, "exit_code", s->has_exit ? json_integer(s->exit_code) : json_null());
		json_object_set_new(o, "source", opt_str(s->source));
		set_spread(o, &s->agg, "duration_min_s", "duration_max_s");
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *extensions(const struct profile *p, double origin)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->extensions.n; i++) {
		const struct extension *e = &p->extensions.v[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(e->name));
		set_span(o, &e->t, origin);
		json_object_set_new(o, "source", opt_str(e->source));
		json_object_set_new(o, "server", opt_str(e->server));
		set_spread(o, &e->agg, "duration_min_s", "duration_max_s");
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *bgworkers(const struct profile *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->bgworkers.n; i++) {
		const struct bgworker *w = &p->bgworkers.v[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(w->name));
		json_object_set_new(o, "offset_s", opt_secs(w->offset_s >= 0, w->offset_s));
		json_object_set_new(o, "server", opt_str(w->server));
		set_spread(o, &w->agg, "offset_min_s", "offset_max_s");
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *processes(const struct profile *p, double origin)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->processes.n; i++) {
		const struct process *pr = &p->processes.v[i];
		json_t *o = json_object();

		json_object_set_new(o, "pid", json_integer(pr->pid));
		json_object_set_new(o, "ppid", json_integer(pr->ppid));
		json_object_set_new(o, "comm", json_string(pr->comm));
		json_object_set_new(o, "cmdline", json_string(pr->cmdline));
		set_span(o, &pr->t, origin);
		json_object_set_new(o, "exit_code", pr->has_exit ? json_integer(pr->exit_code) : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *warnings(const struct profile *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->warnings.n; i++)
		json_array_append_new(a, json_string(p->warnings.v[i]));
	return a;
}

json_t *json_document(const struct profile *p, const struct view_opts *o)
{
	double origin = profile_origin(p);
	json_t *doc = json_object();

	json_object_set_new(doc, "subject", json_string(p->subject));
	json_object_set_new(doc, "subject_kind", opt_str(p->subject_kind));
	json_object_set_new(doc, "input", json_string(p->input));
	json_object_set_new(doc, "start", json_secs(origin));
	json_object_set_new(doc, "ready", opt_secs(p->has_ready, p->ready));
	json_object_set_new(doc, "total_s", opt_secs(p->has_total, p->total_s));
	json_object_set_new(doc, "ready_source", json_string(p->ready_source));
	json_object_set_new(doc, "partial", json_boolean(p->partial));
	json_object_set_new(doc, "lost_events", json_integer(p->lost_events));
	json_object_set_new(doc, "runs", json_integer(p->agg.runs ? p->agg.runs : 1));
	set_spread(doc, &p->agg, "total_min_s", "total_max_s");
	json_object_set_new(doc, "warnings", warnings(p));
	json_object_set_new(doc, "phases", phases(p, origin));
	json_object_set_new(doc, "scripts", scripts(p, origin));
	json_object_set_new(doc, "extensions", extensions(p, origin));
	json_object_set_new(doc, "bgworkers", bgworkers(p));
	if (o->verbose)
		json_object_set_new(doc, "processes", processes(p, origin));
	return doc;
}
