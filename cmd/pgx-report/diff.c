/* diff.c - pgx-report diff BEFORE AFTER: what changed between two health
 * snapshots, section by section: settings changed, sizes grown, indexes
 * and tables added or removed, counters as rates over the interval */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "report.h"
#include "health.h"

/* Fields that change by themselves between two snapshots */
static const char *const noise[] = { "ts", "src", "type", "cluster", "db", "uptime_s",
				     "stats_age_s", "current_lsn", "duration_s", NULL };
/* What names an element of a list, in order of preference */
static const char *const id_keys[] = { "name", "index", "relation", "queryid", "sequence",
				       "parent", "slot_name", "application_name", "datname",
				       "root_pid", "pid", "backend_type", NULL };

struct differ {
	json_t *changes;
	double interval;	/* seconds between the snapshots, 0 if unknown */
	bool all;		/* --all: also the changes that carry no information */
	bool restarted;		/* the server restarted between the snapshots */
	bool reset;		/* the record being compared had its statistics reset */
	size_t hidden;		/* changes left out (without --all) */
};

/* Catalog relations age and grow by themselves: their changes say nothing
 * about the database between two snapshots. */
static const char *const catalog_prefixes[] = { "pg_catalog.", "information_schema.",
						"pg_toast.", NULL };

static bool in_list(const char *const *l, const char *k)
{
	for (; *l; l++)
		if (!strcmp(*l, k))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

static bool catalog_item(const char *item)
{
	const char *id = item ? strchr(item, ' ') : NULL;	/* "tables pg_catalog.x" */

	for (size_t i = 0; id && catalog_prefixes[i]; i++)
		if (!strncmp(id + 1, catalog_prefixes[i], strlen(catalog_prefixes[i])))
			return true;
	return false;
}

static bool is_zero(const json_t *v)
{
	return json_is_number(v) && json_number_value(v) == 0;
}

/* Every table's and database's XID age grows with the cluster's XID
 * counter (max_xid_age says it once); a drop (a freeze) is news. */
static bool aged(const char *item, const char *field, const json_t *before, const json_t *after)
{
	return item && (!strcmp(field, "xid_age") || !strcmp(field, "mxid_age") ||
			!strcmp(field, "pct_to_wraparound")) &&
	       json_is_number(before) && json_is_number(after) &&
	       json_number_value(after) >= json_number_value(before);
}

/* null -> 0 (a first count), a Top-N rank moving, pgx's own statements
 * (the snapshots made them), ageing, catalog relations: no news without
 * --all. */
static bool uninformative(const char *item, const char *field, const json_t *before,
			  const json_t *after)
{
	if (catalog_item(item))
		return true;
	if (!field)
		return false;
	if ((!before || json_is_null(before)) && is_zero(after))
		return true;
	return !strcmp(field, "rank") || !strncmp(field, "pgx_self.", 9) ||
	       aged(item, field, before, after);
}

/* A counter that went down, or any counter of a record whose statistics
 * were reset, has no rate across the two snapshots. */
static bool counter_reset(const struct differ *d, const char *field, const json_t *before,
			  const json_t *after)
{
	return field && ends_with(field, "_total") && json_is_number(before) &&
	       json_is_number(after) &&
	       (d->reset || json_number_value(after) < json_number_value(before));
}

static void add(struct differ *d, const char *section, const char *db, const char *item,
		const char *field, const char *change, json_t *before, json_t *after)
{
	json_t *c;

	if (!d->all && uninformative(item, field, before, after)) {
		d->hidden++;
		return;
	}
	if (counter_reset(d, field, before, after))
		change = "reset";
	c = json_object();

	json_object_set_new(c, "section", json_string(section));
	json_object_set_new(c, "db", db && *db ? json_string(db) : json_null());
	json_object_set_new(c, "item", item ? json_string(item) : json_null());
	json_object_set_new(c, "field", field ? json_string(field) : json_null());
	json_object_set_new(c, "change", json_string(change));
	json_object_set(c, "before", before ? before : json_null());
	json_object_set(c, "after", after ? after : json_null());
	if (json_is_number(before) && json_is_number(after)) {
		double delta = json_number_value(after) - json_number_value(before);

		json_object_set_new(c, "delta", json_real(delta));
		if (field && ends_with(field, "_total") && d->interval > 0 && strcmp(change, "reset"))
			json_object_set_new(c, "rate_per_s", json_real(delta / d->interval));
	}
	json_array_append_new(d->changes, c);
}

static bool scalar(const json_t *v)
{
	return json_is_number(v) || json_is_string(v) || json_is_boolean(v) || json_is_null(v);
}

static bool same(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal(a, b);
}

/* pg_stat_statements keeps one entry per (database, user, queryid, and
 * toplevel): the same statement in two databases is two items, never one
 * that moved. */
static const char *statement_id(const json_t *el, char *buf, size_t n)
{
	const char *db = jstr(el, "dbname"), *user = jstr(el, "username");

	snprintf(buf, n, "%s (db %s%s%s%s)", jstr(el, "queryid"), db ? db : "?",
		 user ? ", user " : "", user ? user : "",
		 json_is_false(json_object_get(el, "toplevel")) ? ", nested" : "");
	return buf;
}

static const char *item_id(const json_t *el, char *buf, size_t n)
{
	if (json_is_string(json_object_get(el, "queryid")))
		return statement_id(el, buf, n);
	for (size_t i = 0; id_keys[i]; i++) {
		json_t *v = json_object_get(el, id_keys[i]);

		if (json_is_string(v))
			return json_string_value(v);
		if (json_is_integer(v)) {
			snprintf(buf, n, "%lld", (long long)json_integer_value(v));
			return buf;
		}
	}
	return NULL;
}

static json_t *find_item(const json_t *list, const char *id)
{
	char buf[512];
	size_t i;
	json_t *el;

	json_array_foreach(list, i, el) {
		const char *x = item_id(el, buf, sizeof(buf));

		if (x && !strcmp(x, id))
			return el;
	}
	return NULL;
}

/* Scalars of two objects; nested objects one level down as a.b */
static void diff_fields(struct differ *d, const char *sec, const char *db, const char *item,
			const json_t *a, const json_t *b, const char *prefix, bool settings)
{
	const char *k;
	json_t *va, *vb;
	char name[256];

	json_object_foreach((json_t *)b, k, vb) {
		if (in_list(noise, k) || (settings && strcmp(k, "value") && strcmp(k, "pending_restart")))
			continue;
		va = json_object_get(a, k);
		snprintf(name, sizeof(name), "%s%s", prefix, k);
		if (scalar(vb) && (va ? scalar(va) : true) && !(va && same(va, vb)) &&
		    !(json_is_null(vb) && !va))
			add(d, sec, db, item, name, "changed", va, vb);
		else if (json_is_object(vb) && json_is_object(va) && !*prefix)
			diff_fields(d, sec, db, item, va, vb, (snprintf(name, sizeof(name), "%s.", k), name), false);
	}
}

static void diff_list(struct differ *d, const char *sec, const char *db, const char *key,
		      const json_t *la, const json_t *lb)
{
	char buf[512], item[1024];
	size_t i;
	json_t *el;
	bool settings = !strcmp(sec, "settings");

	json_array_foreach(lb, i, el) {
		const char *id = item_id(el, buf, sizeof(buf));
		json_t *old;

		if (!id)
			continue;
		snprintf(item, sizeof(item), "%s %s", key, id);
		if (!(old = find_item(la, id)))
			add(d, sec, db, item, NULL, "added", NULL, NULL);
		else
			diff_fields(d, sec, db, item, old, el, "", settings);
	}
	json_array_foreach(la, i, el) {
		const char *id = item_id(el, buf, sizeof(buf));

		if (!id || find_item(lb, id))
			continue;
		snprintf(item, sizeof(item), "%s %s", key, id);
		add(d, sec, db, item, NULL, "removed", NULL, NULL);
	}
}

static void diff_record(struct differ *d, const char *sec, const char *db, const json_t *a, const json_t *b)
{
	const char *k;
	json_t *vb;

	if (!a || !b) {
		add(d, sec, db, NULL, NULL, a ? "removed" : "added", NULL, NULL);
		return;
	}
	d->reset = d->restarted ||
		   !json_equal(json_object_get(a, "stats_reset_ts") ?: json_null(),
			       json_object_get(b, "stats_reset_ts") ?: json_null());
	diff_fields(d, sec, db, NULL, a, b, "", false);
	json_object_foreach((json_t *)b, k, vb)
		if (json_is_array(vb) && json_is_array(json_object_get(a, k)))
			diff_list(d, sec, db, k, json_object_get(a, k), vb);
}

/* identity's start time: a restart between the snapshots resets every counter. */
static bool restarted(const struct snapshot *a, const struct snapshot *b)
{
	double ua, ub, ta, tb;
	json_t *ia = snapshot_get(a, "identity", ""), *ib = snapshot_get(b, "identity", "");

	if (!jnum(ia, "uptime_s", &ua) || !jnum(ib, "uptime_s", &ub) || !jnum(ia, "ts", &ta) ||
	    !jnum(ib, "ts", &tb))
		return false;
	return fabs((ta - ua) - (tb - ub)) > 1;
}

static void diff_snapshots(struct differ *d, const struct snapshot *a, const struct snapshot *b)
{
	const char *type, *db;
	json_t *by_db, *rec;

	d->restarted = restarted(a, b);
	json_object_foreach(b->sections, type, by_db) {
		if (!strcmp(type, "poll"))
			continue;
		json_object_foreach(by_db, db, rec)
			diff_record(d, type, db, json_object_get(snapshot_section(a, type), db), rec);
	}
	json_object_foreach(a->sections, type, by_db) {
		if (!strcmp(type, "poll"))
			continue;
		json_object_foreach(by_db, db, rec)
			if (!json_object_get(snapshot_section(b, type), db))
				diff_record(d, type, db, rec, NULL);
	}
}

/* ---- views ---- */

static const char *show(char *buf, size_t n, const json_t *v, const char *field)
{
	double x;

	if (!v || json_is_null(v))
		return "null";
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	x = json_number_value(v);
	if (field && ends_with(field, "_bytes") && fabs(x) >= 1024) {
		static const char *const u[] = { "kB", "MB", "GB", "TB", "PB" };
		int i = -1;

		while (fabs(x) >= 1024 && i < 4) {
			x /= 1024;
			i++;
		}
		snprintf(buf, n, "%.1f %s", x, u[i]);
	} else {
		snprintf(buf, n, x == floor(x) && fabs(x) < 1e15 ? "%.0f" : fabs(x) >= 1000 ? "%.3f" : "%.4g", x);
	}
	return buf;
}

struct diff_arg {
	struct differ *d;
	const char *before, *after;
	bool json;
};

static void render_header(FILE *f, const struct differ *d, const struct diff_arg *a)
{
	fprintf(f, "Diff: %s -> %s", a->before, a->after);
	if (d->interval > 0)
		fprintf(f, ", %.1fs apart", d->interval);
	if (d->restarted)
		fprintf(f, "\nThe server restarted in between: its counters started again (reset)");
	fprintf(f, "\n%zu change(s)", json_array_size(d->changes));
	if (d->hidden)
		fprintf(f, "; %zu without news hidden (--all shows them)", d->hidden);
	fputc('\n', f);
}

/* "field: before -> after", then the rate or (reset) */
static void value_change(char *line, size_t len, const json_t *c, const char *field)
{
	char b1[64], b2[64];
	double rate;
	int n = snprintf(line, len, "%s: %s -> %s", field,
			 show(b1, sizeof(b1), json_object_get(c, "before"), field),
			 show(b2, sizeof(b2), json_object_get(c, "after"), field));

	if (n < 0 || (size_t)n >= len)
		return;
	if (!strcmp(jstr(c, "change"), "reset"))
		snprintf(line + n, len - (size_t)n, " (reset)");
	else if (jnum(c, "rate_per_s", &rate))
		snprintf(line + n, len - (size_t)n, " (%.4g/s)", rate);
}

/* Does the next change name the same item's field (in the same section)? */
static bool same_item_next(const json_t *changes, size_t i)
{
	const json_t *c = json_array_get(changes, i), *n = json_array_get(changes, i + 1);

	return n && jstr(n, "field") && jstr(n, "item") && !strcmp(jstr(n, "item"), jstr(c, "item")) &&
	       json_equal(json_object_get(n, "section"), json_object_get(c, "section")) &&
	       json_equal(json_object_get(n, "db"), json_object_get(c, "db"));
}

/* Changes under their section [db]; an item with several changed fields
 * has them under its name. */
static void render_table(FILE *f, const struct diff_arg *a)
{
	char line[1024], value[512], cut[1100], head[256] = "", last_item[512] = "";
	json_t *c;
	size_t i;

	render_header(f, a->d, a);
	json_array_foreach(a->d->changes, i, c) {
		const char *sec = jstr(c, "section"), *db = jstr(c, "db"), *item = jstr(c, "item");
		const char *field = jstr(c, "field"), *change = jstr(c, "change");
		char h[256];

		snprintf(h, sizeof(h), "%s%s%s%s", sec, db ? " [" : "", db ? db : "", db ? "]" : "");
		if (strcmp(h, head)) {
			fprintf(f, "\n%s\n", h);
			snprintf(head, sizeof(head), "%s", h);
			last_item[0] = '\0';
		}
		if (!field) {
			snprintf(line, sizeof(line), "  %s %s", change, item ? item : "(whole section)");
			last_item[0] = '\0';
		} else if (!item) {
			value_change(value, sizeof(value), c, field);
			snprintf(line, sizeof(line), "  %s", value);
		} else if (strcmp(item, last_item) && !same_item_next(a->d->changes, i)) {
			value_change(value, sizeof(value), c, field);
			snprintf(line, sizeof(line), "  %s %s", item, value);
		} else {
			if (strcmp(item, last_item)) {
				fprintf(f, "%s\n", cut_end(cut, sizeof(cut), (snprintf(line, sizeof(line),
					"  %s", item), line), 79));
				snprintf(last_item, sizeof(last_item), "%s", item);
			}
			value_change(value, sizeof(value), c, field);
			snprintf(line, sizeof(line), "    %s", value);
		}
		fprintf(f, "%s\n", cut_end(cut, sizeof(cut), line, 79));
	}
}

static void render(FILE *f, void *arg)
{
	const struct diff_arg *a = arg;
	json_t *doc;

	if (!a->json) {
		render_table(f, a);
		return;
	}
	doc = json_pack("{s:s, s:s, s:s, s:f, s:b, s:I, s:O}", "type", "health_diff",
			"before", a->before, "after", a->after, "interval_s", a->d->interval,
			"restarted", a->d->restarted, "hidden", (json_int_t)a->d->hidden,
			"changes", a->d->changes);
	pgx_json_write(f, doc);
	json_decref(doc);
}

static bool load(struct snapshot *s, const char *path)
{
	char *files[] = { (char *)path };

	snapshot_init(s);
	snapshot_load(s, files, 1);
	if (s->nhealth || s->unreadable)
		return true;
	pgx_error("no pgx-poll record in %s (diff compares two pgx-poll snapshots)",
		  strcmp(path, "-") ? path : "stdin");
	return false;
}

int health_diff(const char *before, const char *after, bool json, bool all, const char *output)
{
	struct snapshot a, b;
	struct differ d = { .changes = json_array(), .all = all };
	struct diff_arg arg = { &d, before, after, json };
	int status;

	if (!load(&a, before) || !load(&b, after)) {
		status = PGX_EXIT_INPUT;
		goto cleanup;
	}
	status = snapshot_status(&a) ? snapshot_status(&a) : snapshot_status(&b);
	if (status)
		goto cleanup;
	if (a.ts >= 0 && b.ts >= 0)
		d.interval = b.ts - a.ts;
	diff_snapshots(&d, &a, &b);
	if (pgx_output_to(output))
		render(stdout, &arg);
	else
		status = PGX_EXIT_OUTPUT;
cleanup:
	json_decref(d.changes);
	snapshot_free(&a);
	snapshot_free(&b);
	return status;
}
