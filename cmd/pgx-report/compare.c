/* compare.c - what changed between two profiles (single runs or aggregates) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "report.h"

#define NAME_W 28
#define NUM_W 10

/* One compared item: a phase, a script or the total; < 0 means absent. */
struct delta {
	const char *name;
	double base, cand;
};

struct comparison {
	const struct profile *base, *cand;
	VEC(struct delta) phases;
	VEC(struct delta) scripts;
	const struct delta *biggest;
	bool biggest_is_script;
	double limit_base, limit_cand;	/* what --fail-if-slower looks at */
	bool exceeded;
};

static double delta_s(const struct delta *d)
{
	return (d->cand < 0 ? 0 : d->cand) - (d->base < 0 ? 0 : d->base);
}

static double delta_pct(const struct delta *d)
{
	if (d->base <= 0 || d->cand < 0)
		return NAN;
	return (d->cand - d->base) * 100 / d->base;
}

static const char *status_of(const struct delta *d)
{
	if (d->base < 0)
		return "new";
	if (d->cand < 0)
		return "removed";
	if (fabs(d->cand - d->base) < 0.0005)
		return "same";
	return d->cand > d->base ? "slower" : "faster";
}

static struct delta *find(struct delta *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void pair_phases(struct comparison *c)
{
	for (size_t i = 0; i < c->base->phases.n; i++) {
		struct delta *d = vec_push(&c->phases);
		const struct phase *other = profile_phase(c->cand, c->base->phases.v[i].name);

		d->name = c->base->phases.v[i].name;
		d->base = c->base->phases.v[i].t.duration_s;
		d->cand = other ? other->t.duration_s : -1;
	}
	for (size_t i = 0; i < c->cand->phases.n; i++) {
		struct delta *d;

		if (find(c->phases.v, c->phases.n, c->cand->phases.v[i].name))
			continue;
		d = vec_push(&c->phases);
		d->name = c->cand->phases.v[i].name;
		d->base = -1;
		d->cand = c->cand->phases.v[i].t.duration_s;
	}
}

static void pair_scripts(struct comparison *c)
{
	for (size_t i = 0; i < c->base->scripts.n; i++) {
		struct delta *d = vec_push(&c->scripts);

		d->name = c->base->scripts.v[i].name;
		d->base = c->base->scripts.v[i].t.duration_s;
		d->cand = -1;
	}
	for (size_t i = 0; i < c->cand->scripts.n; i++) {
		const struct script *s = &c->cand->scripts.v[i];
		struct delta *d = find(c->scripts.v, c->scripts.n, s->name);

		if (!d || d->cand >= 0) {
			d = vec_push(&c->scripts);
			d->name = s->name;
			d->base = -1;
		}
		d->cand = s->t.duration_s;
	}
}

/* The phase a script ran in, from the profile that has it. */
static const char *phase_of_script(const struct comparison *c, const char *name)
{
	const struct profile *pp[2] = { c->cand, c->base };

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < pp[k]->scripts.n; i++) {
			const struct script *s = &pp[k]->scripts.v[i];

			if (strcmp(s->name, name))
				continue;
			for (size_t j = 0; j < pp[k]->phases.n; j++) {
				const struct phase *ph = &pp[k]->phases.v[j];

				if (s->t.start >= ph->t.start - 1e-6 && ph->t.has_end && s->t.start < ph->t.end)
					return ph->name;
			}
		}
	}
	return NULL;
}

static const struct delta *largest(const struct delta *v, size_t n)
{
	const struct delta *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (!best || fabs(delta_s(&v[i])) > fabs(delta_s(best)))
			best = &v[i];
	return best && fabs(delta_s(best)) >= 0.0005 ? best : NULL;
}

/* A script stands for its phase's change when the phase holds it and it
 * accounts for at least half of that change, in the same direction; else the
 * time went elsewhere in the phase (between scripts, an untraced step). */
static bool script_explains(const struct comparison *c, const struct delta *script,
			    const struct delta *phase)
{
	const char *in = phase_of_script(c, script->name);

	return in && !strcmp(in, phase->name) && delta_s(script) * delta_s(phase) > 0 &&
	       fabs(delta_s(script)) >= 0.5 * fabs(delta_s(phase));
}

/* The largest change, in either direction: the largest phase's, or the
 * script that explains it.  Scripts that no phase holds compete with the
 * phases directly. */
static void find_biggest(struct comparison *c)
{
	const struct delta *phase = largest(c->phases.v, c->phases.n);
	const struct delta *script = largest(c->scripts.v, c->scripts.n);

	c->biggest = phase;
	c->biggest_is_script = false;
	if (!script)
		return;
	if (!phase || script_explains(c, script, phase) ||
	    (!phase_of_script(c, script->name) && fabs(delta_s(script)) >= fabs(delta_s(phase)))) {
		c->biggest = script;
		c->biggest_is_script = true;
	}
}

static int set_limit(struct comparison *c, const struct compare_opts *o)
{
	const struct phase *b, *k;

	if (!o->phase) {
		if (!c->base->has_total || !c->cand->has_total) {
			pgx_error("%s: no total (the subject never became ready)",
				  c->base->has_total ? c->cand->input : c->base->input);
			return PGX_EXIT_INPUT;
		}
		c->limit_base = c->base->total_s;
		c->limit_cand = c->cand->total_s;
		return PGX_EXIT_OK;
	}
	b = profile_phase(c->base, o->phase);
	k = profile_phase(c->cand, o->phase);
	if (!b || !k) {
		pgx_error("no phase \"%s\" in %s", o->phase, b ? c->cand->input : c->base->input);
		return PGX_EXIT_USAGE;
	}
	c->limit_base = b->t.duration_s;
	c->limit_cand = k->t.duration_s;
	return PGX_EXIT_OK;
}

static const char *runs_note(char buf[64], const struct profile *p)
{
	if (p->agg.runs)
		snprintf(buf, 64, ", median of %ld runs", p->agg.runs);
	else
		buf[0] = '\0';
	return buf;
}

static void delta_row(FILE *f, const char *label, const struct delta *d, bool status)
{
	char buf[FMT_LEN];

	fputs("  ", f);
	put_cell(f, label, NAME_W, false);
	put_cell(f, fmt_secs(buf, d->base), NUM_W, true);
	put_cell(f, fmt_secs(buf, d->cand), NUM_W + 1, true);
	put_cell(f, fmt_delta(buf, delta_s(d)), NUM_W, true);
	put_cell(f, fmt_delta_pct(buf, delta_pct(d)), 9, true);
	if (status)
		fprintf(f, "  %s", status_of(d));
	fputc('\n', f);
}

static void delta_header(FILE *f, const char *what, bool status)
{
	fputs("  ", f);
	put_cell(f, what, NAME_W, false);
	put_cell(f, "Base", NUM_W, true);
	put_cell(f, "Candidate", NUM_W + 1, true);
	put_cell(f, "Delta", NUM_W, true);
	put_cell(f, "Delta %", 9, true);
	fputs(status ? "  Status\n  " : "\n  ", f);
	for (int i = 0; i < NAME_W + 3 * NUM_W + 10 + (status ? 9 : 0); i++)
		fputc('-', f);
	fputc('\n', f);
}

/* A delta is only as good as its inputs: say what their makers doubted. */
static void warnings(FILE *f, const char *side, const struct profile *p)
{
	char line[600];

	for (size_t i = 0; i < p->warnings.n; i++) {
		snprintf(line, sizeof(line), "%s: %s", side, p->warnings.v[i]);
		put_wrapped(f, "Warning:    ", line, 80);
	}
}

static void table_header(FILE *f, const struct comparison *c)
{
	char note[64];

	fputs("================================================================================\n"
	      "PostgreSQL Startup Profile Comparison\n"
	      "================================================================================\n\n", f);
	fputs("Base:       ", f);
	put_trunc(f, c->base->input, 26);
	fputs(" (", f);
	put_trunc(f, c->base->subject, 18);
	fprintf(f, "%s)\nCandidate:  ", runs_note(note, c->base));
	put_trunc(f, c->cand->input, 26);
	fputs(" (", f);
	put_trunc(f, c->cand->subject, 18);
	fprintf(f, "%s)\n", runs_note(note, c->cand));
	warnings(f, "base", c->base);
	warnings(f, "candidate", c->cand);
}

static void table_out(FILE *f, const struct comparison *c, const struct compare_opts *o)
{
	struct delta total = { "Total", c->base->has_total ? c->base->total_s : -1,
			       c->cand->has_total ? c->cand->total_s : -1 };
	struct delta lim = { o->phase, c->limit_base, c->limit_cand };
	char a[FMT_LEN], b[FMT_LEN];

	table_header(f, c);
	fputs("\nPHASES\n--------------------------------------------------------------------------------\n", f);
	delta_header(f, "Phase", false);
	for (size_t i = 0; i < c->phases.n; i++)
		delta_row(f, phase_label(c->phases.v[i].name), &c->phases.v[i], false);
	delta_row(f, "Total", &total, false);
	if (c->scripts.n) {
		fputs("\nSCRIPTS\n--------------------------------------------------------------------------------\n", f);
		delta_header(f, "Script", true);
		for (size_t i = 0; i < c->scripts.n; i++)
			delta_row(f, c->scripts.v[i].name, &c->scripts.v[i], true);
	}
	fputc('\n', f);
	if (c->biggest) {
		const char *in = c->biggest_is_script ? phase_of_script(c, c->biggest->name) : NULL;

		fprintf(f, "Biggest change: %s ", c->biggest_is_script ? "script" : "phase");
		put_trunc(f, c->biggest->name, 30);
		fprintf(f, ", %s (%s)", fmt_delta(a, delta_s(c->biggest)), fmt_delta_pct(b, delta_pct(c->biggest)));
		if (in)
			fprintf(f, ", in phase %s", in);
		fputc('\n', f);
	} else {
		fputs("Biggest change: none\n", f);
	}
	if (o->fail_if_slower >= 0)
		fprintf(f, "Threshold: %s %s against a limit of +%.1f%%: %s\n", o->phase ? o->phase : "total",
			fmt_delta_pct(a, o->phase ? delta_pct(&lim) : delta_pct(&total)), o->fail_if_slower,
			c->exceeded ? "slower beyond the limit" : "within the limit");
}

static json_t *delta_json(const struct delta *d, bool status)
{
	json_t *o = json_object();
	double pct = delta_pct(d);

	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "base_s", d->base >= 0 ? json_secs(d->base) : json_null());
	json_object_set_new(o, "candidate_s", d->cand >= 0 ? json_secs(d->cand) : json_null());
	json_object_set_new(o, "delta_s", json_secs(delta_s(d)));
	json_object_set_new(o, "delta_pct", isfinite(pct) ? json_pct(pct) : json_null());
	if (status)
		json_object_set_new(o, "status", json_string(status_of(d)));
	return o;
}

static json_t *side_json(const struct profile *p)
{
	return json_pack("{s:s, s:s, s:o, s:I}", "input", p->input, "subject", p->subject,
			 "total_s", p->has_total ? json_secs(p->total_s) : json_null(),
			 "runs", (json_int_t)(p->agg.runs ? p->agg.runs : 1));
}

static void json_out(FILE *f, const struct comparison *c, const struct compare_opts *o)
{
	struct delta total = { "total", c->base->has_total ? c->base->total_s : -1,
			       c->cand->has_total ? c->cand->total_s : -1 };
	json_t *doc = json_object(), *a;

	json_object_set_new(doc, "base", side_json(c->base));
	json_object_set_new(doc, "candidate", side_json(c->cand));
	json_object_set_new(doc, "total", delta_json(&total, false));
	a = json_array();
	for (size_t i = 0; i < c->phases.n; i++)
		json_array_append_new(a, delta_json(&c->phases.v[i], true));
	json_object_set_new(doc, "phases", a);
	a = json_array();
	for (size_t i = 0; i < c->scripts.n; i++)
		json_array_append_new(a, delta_json(&c->scripts.v[i], true));
	json_object_set_new(doc, "scripts", a);
	if (c->biggest) {
		const char *in = c->biggest_is_script ? phase_of_script(c, c->biggest->name) : NULL;
		json_t *big = delta_json(c->biggest, false);

		json_object_set_new(big, "kind", json_string(c->biggest_is_script ? "script" : "phase"));
		json_object_set_new(big, "phase", in ? json_string(in) : json_null());
		json_object_set_new(doc, "biggest", big);
	} else {
		json_object_set_new(doc, "biggest", json_null());
	}
	if (o->fail_if_slower >= 0)
		json_object_set_new(doc, "threshold", json_pack("{s:f, s:s, s:b}", "pct", o->fail_if_slower,
				    "applies_to", o->phase ? o->phase : "total", "exceeded", c->exceeded));
	pgx_json_write(f, doc);
	json_decref(doc);
}

int compare_profiles(FILE *f, const struct profile *base, const struct profile *cand,
		     const struct compare_opts *o)
{
	struct comparison c = { .base = base, .cand = cand };
	int status = set_limit(&c, o);

	if (status == PGX_EXIT_OK) {
		pair_phases(&c);
		pair_scripts(&c);
		find_biggest(&c);
		c.exceeded = o->fail_if_slower >= 0 &&
			     c.limit_cand > c.limit_base * (1 + o->fail_if_slower / 100);
		if (o->json)
			json_out(f, &c, o);
		else
			table_out(f, &c, o);
		if (c.exceeded) {
			struct delta d = { o->phase, c.limit_base, c.limit_cand };
			char buf[FMT_LEN];

			pgx_info("candidate %s is %s slower than base, over the limit of %.1f%%",
				 o->phase ? o->phase : "total", fmt_delta_pct(buf, delta_pct(&d)), o->fail_if_slower);
			status = PGX_EXIT_FINDINGS;
		}
	}
	free(c.phases.v);
	free(c.scripts.v);
	return status;
}
