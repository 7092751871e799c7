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
};

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

static void add(struct differ *d, const char *section, const char *db, const char *item,
		const char *field, const char *change, json_t *before, json_t *after)
{
	json_t *c = json_object();

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
		if (field && ends_with(field, "_total") && d->interval > 0)
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

static const char *item_id(const json_t *el, char *buf, size_t n)
{
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
	char buf[32];
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
	char buf[32], item[512];
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
	diff_fields(d, sec, db, NULL, a, b, "", false);
	json_object_foreach((json_t *)b, k, vb)
		if (json_is_array(vb) && json_is_array(json_object_get(a, k)))
			diff_list(d, sec, db, k, json_object_get(a, k), vb);
}

static void diff_snapshots(struct differ *d, const struct snapshot *a, const struct snapshot *b)
{
	const char *type, *db;
	json_t *by_db, *rec;

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

static void render_table(FILE *f, const struct diff_arg *a)
{
	char b1[64], b2[64], line[1024], cut[1100], head[256] = "";
	json_t *c;
	size_t i;

	fprintf(f, "Diff: %s -> %s", a->before, a->after);
	if (a->d->interval > 0)
		fprintf(f, ", %.1fs apart", a->d->interval);
	fprintf(f, "\n%zu change(s)\n", json_array_size(a->d->changes));
	json_array_foreach(a->d->changes, i, c) {
		const char *sec = jstr(c, "section"), *db = jstr(c, "db"), *item = jstr(c, "item");
		const char *field = jstr(c, "field"), *change = jstr(c, "change");
		char h[256];
		double rate;

		snprintf(h, sizeof(h), "%s%s%s%s", sec, db ? " [" : "", db ? db : "", db ? "]" : "");
		if (strcmp(h, head)) {
			fprintf(f, "\n%s\n", h);
			snprintf(head, sizeof(head), "%s", h);
		}
		if (strcmp(change, "changed"))
			snprintf(line, sizeof(line), "  %s %s", change, item ? item : "(whole section)");
		else {
			int n = snprintf(line, sizeof(line), "  %s%s%s: %s -> %s", item ? item : "",
					 item ? " " : "", field,
					 show(b1, sizeof(b1), json_object_get(c, "before"), field),
					 show(b2, sizeof(b2), json_object_get(c, "after"), field));
			if (jnum(c, "rate_per_s", &rate) && n > 0 && (size_t)n < sizeof(line))
				snprintf(line + n, sizeof(line) - (size_t)n, " (%.4g/s)", rate);
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
	doc = json_pack("{s:s, s:s, s:s, s:f, s:O}", "type", "health_diff", "before", a->before,
			"after", a->after, "interval_s", a->d->interval, "changes", a->d->changes);
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

int health_diff(const char *before, const char *after, bool json, const char *output)
{
	struct snapshot a, b;
	struct differ d = { json_array(), 0 };
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
