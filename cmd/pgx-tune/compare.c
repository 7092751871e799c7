/* compare.c - each recommendation against the server: its limits, its
 * current value, and whether a change is worth making. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pgx.h"
#include "tune.h"

#define TOLERANCE 0.10	/* within 10% of the recommendation: keep */

/* pgtune's units: the largest of GB, MB and kB that represents the value exactly. */
void format_mem_kb(long long kb, char *buf, size_t len)
{
	if (kb != 0 && kb % KB_PER_GB == 0)
		snprintf(buf, len, "%lldGB", kb / KB_PER_GB);
	else if (kb != 0 && kb % KB_PER_MB == 0)
		snprintf(buf, len, "%lldMB", kb / KB_PER_MB);
	else
		snprintf(buf, len, "%lldkB", kb);
}

void note(struct rec *x, const char *fmt, ...)
{
	size_t n = strlen(x->rationale);
	va_list ap;

	if (n && n + 1 < sizeof(x->rationale))
		x->rationale[n++] = ' ', x->rationale[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(x->rationale + n, sizeof(x->rationale) - n, fmt, ap);
	va_end(ap);
}

const char *rec_status(const struct rec *x)
{
	if (x->pending_restart)
		return "pending_restart";
	if (x->keep)
		return "keep";
	return x->command_line ? "command_line" : "change";
}

/* For people: exact when it is a whole unit, else one decimal ("23.5GB"). */
void format_mem_human(long long kb, char *buf, size_t len)
{
	if (kb >= KB_PER_GB && kb % KB_PER_MB)
		snprintf(buf, len, "%.1fGB", (double)kb / (double)KB_PER_GB);
	else if (kb >= KB_PER_MB && kb % KB_PER_MB)
		snprintf(buf, len, "%.1fMB", (double)kb / (double)KB_PER_MB);
	else
		format_mem_kb(kb, buf, len);
}

static void format_value(const struct rec *x, char *buf, size_t len)
{
	switch (x->kind) {
	case V_MEM: format_mem_kb(x->ival, buf, len); break;
	case V_INT: snprintf(buf, len, "%lld", x->ival); break;
	case V_REAL: snprintf(buf, len, "%g", x->rval); break;
	default: snprintf(buf, len, "%s", x->sval); break;
	}
}

static bool parse_num(const char *s, double *out)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtod(s, &end);
	return *end == '\0' && isfinite(*out);
}

/* The server's bounds when known, else PostgreSQL's documented ones. */
static void bounds(const struct rec *x, const struct current *c, double *lo, double *hi)
{
	*lo = x->def->min, *hi = x->def->max;
	if (c) {
		parse_num(c->min_val, lo);
		parse_num(c->max_val, hi);
	}
}

/* Keep a number within what PostgreSQL accepts; false if it cannot be. */
static void clamp_number(struct rec *x, const struct current *c)
{
	long long ukb = 0;
	double lo, hi, v;
	char shown[48];

	bounds(x, c, &lo, &hi);
	if (x->kind == V_MEM) {
		ukb = c ? unit_kb(c->unit) : 0;
		if (!ukb)
			ukb = x->def->unit_kb;
		v = (double)(x->ival / ukb);
	} else
		v = x->kind == V_INT ? (double)x->ival : x->rval;
	if (v >= lo && v <= hi)
		return;
	v = v < lo ? lo : hi;
	if (x->kind == V_MEM)
		x->ival = (long long)v * ukb;
	else if (x->kind == V_INT)
		x->ival = (long long)v;
	else
		x->rval = v;
	format_value(x, shown, sizeof(shown));
	note(x, "Clamped to %s, the server's limit.", shown);
	x->deviates = true;
}

static bool enum_allowed(const char *value, const struct current *c)
{
	size_t i;
	json_t *v;

	if (!c || !c->enumvals)
		return true;
	json_array_foreach(c->enumvals, i, v)
		if (json_is_string(v) && strcasecmp(json_string_value(v), value) == 0)
			return true;
	return false;
}

/* false: the server accepts neither the value nor its fallback. */
static bool resolve_enum(struct rec *x, const struct current *c)
{
	if (enum_allowed(x->sval, c))
		return true;
	if (!x->fallback || !enum_allowed(x->fallback, c)) {
		pgx_warn("the server does not accept %s = '%s'; not recommended", x->def->name, x->sval);
		return false;
	}
	note(x, "This server does not accept '%s' (not among its values), so '%s' instead of pgtune's '%s'.",
	     x->sval, x->fallback, x->sval);
	x->sval = x->fallback;
	x->deviates = true;
	return true;
}

/* What the server says beyond the value: a restart already pending, or a
 * value ALTER SYSTEM cannot override. */
static void note_server_state(struct rec *x, const struct current *c)
{
	if (c->pending_restart) {
		x->pending_restart = true;
		note(x, "A new value already waits for a server restart (pending_restart): "
		     "restart before tuning it again.");
	} else if (!x->keep && c->source && strcmp(c->source, "command line") == 0) {
		x->command_line = true;
		note(x, "Set on the server's command line (as Patroni or docker -c do): "
		     "ALTER SYSTEM cannot change it; change it where the server is started.");
	}
}

static int bool_value(const char *s)
{
	static const char *const on[] = { "on", "true", "yes", "1", "t" };
	static const char *const off[] = { "off", "false", "no", "0", "f" };

	for (size_t i = 0; i < 5; i++) {
		if (strcasecmp(s, on[i]) == 0)
			return 1;
		if (strcasecmp(s, off[i]) == 0)
			return 0;
	}
	return -1;
}

static bool within(double rec, double cur)
{
	return fabs(rec - cur) <= TOLERANCE * fabs(rec);
}

/* The current value as PostgreSQL shows it, and as a number (kB for memory). */
static bool current_value(struct rec *x, const struct current *c, double *num)
{
	long long ukb = unit_kb(c->unit);
	double v;

	if (!c->setting)
		return false;
	x->has_current = true;
	if (x->kind == V_MEM && ukb && parse_num(c->setting, &v) && v >= 0) {
		format_mem_kb((long long)v * ukb, x->current, sizeof(x->current));
		*num = v * (double)ukb;
		return true;
	}
	snprintf(x->current, sizeof(x->current), "%s", c->setting);
	return parse_num(c->setting, num);
}

static bool is_keep(const struct rec *x, bool numeric, double cur)
{
	int a, b;

	switch (x->kind) {
	case V_MEM: case V_INT: return numeric && within((double)x->ival, cur);
	case V_REAL: return numeric && within(x->rval, cur);
	case V_BOOL:
		a = bool_value(x->sval), b = bool_value(x->current);
		return a >= 0 && a == b;
	default: return strcasecmp(x->sval, x->current) == 0;
	}
}

/* conservative: memory moves at most a factor of 2 per run. */
static void small_step(struct rec *x, double cur_kb)
{
	long long lo = (long long)(cur_kb / 2), hi = (long long)(cur_kb * 2);
	long long align = x->def->unit_kb == 8 ? 8 : 1;

	if (x->kind != V_MEM || cur_kb <= 0)
		return;
	if (x->ival > hi)
		x->ival = hi / align * align;
	else if (x->ival < lo)
		x->ival = (lo + align - 1) / align * align;
}

/* false: the server would refuse the value (an enum it lacks). */
static bool resolve_one(struct rec *x, const struct settings *s, enum profile p)
{
	struct current cur;
	bool known = settings_lookup(s, x->def->name, &cur), numeric = false;
	double num = 0;

	x->context = known && cur.context ? cur.context : x->def->context;
	x->restart = strcmp(x->context, "postmaster") == 0;
	if (known)
		numeric = current_value(x, &cur, &num);
	if (p == PROF_CONSERVATIVE && numeric)
		small_step(x, num);
	if (x->kind == V_MEM || x->kind == V_INT || x->kind == V_REAL)
		clamp_number(x, known ? &cur : NULL);
	else if (!resolve_enum(x, known ? &cur : NULL))
		return false;
	format_value(x, x->recommended, sizeof(x->recommended));
	x->keep = x->has_current && is_keep(x, numeric, num);
	if (known)
		note_server_state(x, &cur);
	return true;
}

void recs_resolve(struct recs *r, const struct settings *s, enum profile p)
{
	size_t w = 0;

	for (size_t i = 0; i < r->n; i++)
		if (resolve_one(&r->v[i], s, p))
			r->v[w++] = r->v[i];
	r->n = w;
}
