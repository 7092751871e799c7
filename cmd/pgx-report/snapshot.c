/* snapshot.c - pgx-poll records collected into one health snapshot */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "health.h"

/* The record types of pgx-poll (its sections and its self-record): their
 * presence is what makes an input a health snapshot rather than a
 * startup profile.  Documented in pgx-report(1), HEALTH SNAPSHOTS. */
static const char *const poll_types[] = {
	"poll", "identity", "prereqs", "settings", "connections", "activity", "locks",
	"statements", "database", "checkpoints", "wal", "io", "replication",
	"archiver", "vacuum", "sizes", "indexes", "bloat", "wraparound",
	"sequences", "partitions", "pgbouncer", NULL,
};

bool health_type(const char *type)
{
	for (size_t i = 0; type && poll_types[i]; i++)
		if (!strcmp(type, poll_types[i]))
			return true;
	return false;
}

void snapshot_init(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->sections = json_object();
	s->sql = json_object();
	s->alerts = json_object();
	s->slow = json_array();
	s->errors = json_array();
	s->ts = -1;
}

void snapshot_free(struct snapshot *s)
{
	json_decref(s->sections);
	json_decref(s->sql);
	json_decref(s->alerts);
	json_decref(s->alert_summary);
	json_decref(s->slow);
	json_decref(s->errors);
	json_decref(s->history);
	json_decref(s->by_cluster);
	memset(s, 0, sizeof(*s));
}

void snapshot_keep_history(struct snapshot *s, json_t *(*keep)(const json_t *rec))
{
	s->keep = keep;
	if (!s->history) {
		s->history = json_array();
		s->by_cluster = json_object();
	}
}

/* parent[key], an object made when absent */
static json_t *child(json_t *parent, const char *key)
{
	json_t *c = json_object_get(parent, key);

	if (!c) {
		c = json_object();
		json_object_set_new(parent, key, c);
	}
	return c;
}

/* by_cluster[cluster][type][db] = rec */
static void add_to_cluster(struct snapshot *s, const char *type, json_t *rec)
{
	const char *cluster = pgx_rec_str(rec, "cluster"), *db = pgx_rec_str(rec, "db");

	json_object_set(child(child(s->by_cluster, cluster ? cluster : ""), type), db ? db : "", rec);
}

static void keep_history(struct snapshot *s, const char *type, json_t *rec)
{
	json_t *kept = s->keep(rec);

	if (kept)
		json_array_append_new(s->history, kept);
	add_to_cluster(s, type, rec);
}

static void add_section(struct snapshot *s, const char *type, json_t *rec)
{
	const char *db = pgx_rec_str(rec, "db");

	json_object_set(child(s->sections, type), db ? db : "", rec);
	s->nhealth++;
	if (s->history)
		keep_history(s, type, rec);
	if (!s->cluster || !strcmp(type, "poll"))
		s->cluster = pgx_rec_str(rec, "cluster");
}

void snapshot_add(struct snapshot *s, json_t *rec)
{
	const char *type = pgx_rec_type(rec);
	double ts = pgx_rec_ts(rec);

	if (ts > s->ts)
		s->ts = ts;
	if (health_type(type))
		add_section(s, type, rec);
	else if (type && !strcmp(type, "sql") && pgx_rec_str(rec, "section") && pgx_rec_str(rec, "text"))
		json_object_set(s->sql, pgx_rec_str(rec, "section"), json_object_get(rec, "text"));
	else if (type && !strcmp(type, "alert") && pgx_rec_str(rec, "key"))
		json_object_set(s->alerts, pgx_rec_str(rec, "key"), rec);
	else if (type && !strcmp(type, "alert_summary")) {
		json_decref(s->alert_summary);
		s->alert_summary = json_incref(rec);
	} else if (type && !strcmp(type, "slow_query"))
		json_array_append(s->slow, rec);
	else if (type && !strcmp(type, "error"))
		json_array_append(s->errors, rec);
	json_decref(rec);
}

static void load_one(struct snapshot *s, struct pgx_input *in)
{
	struct pgx_line line;
	json_t *rec;
	int got;

	/* records from an older pgx-poll may still carry a password */
	while (!pgx_stop_signal && (got = pgx_ndjson_next(in, &line, &rec)) == 1) {
		pgx_mask_json(rec);
		snapshot_add(s, rec);
	}
	if (got < 0)
		s->unreadable = true;
	s->input_errors += pgx_input_errors(in);
}

void snapshot_load(struct snapshot *s, char *const *files, size_t nfiles)
{
	for (size_t i = 0; i < (nfiles ? nfiles : 1); i++) {
		struct pgx_input *in = pgx_input_open(nfiles ? files[i] : "-", PGX_MAX_LINE_DEFAULT);

		if (!in) {
			s->unreadable = true;
			continue;
		}
		load_one(s, in);
		pgx_input_close(in);
	}
}

int snapshot_status(const struct snapshot *s)
{
	if (pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	return s->unreadable || s->input_errors ? PGX_EXIT_INPUT : PGX_EXIT_OK;
}

json_t *snapshot_section(const struct snapshot *s, const char *type)
{
	return json_object_get(s->sections, type);
}

json_t *snapshot_get(const struct snapshot *s, const char *type, const char *db)
{
	json_t *by_db = json_object_get(s->sections, type);
	const char *k;
	json_t *v;

	if (!by_db)
		return NULL;
	if (db)
		return json_object_get(by_db, db);
	json_object_foreach(by_db, k, v)
		return v;	/* the cluster-wide record, or the first database's */
	return NULL;
}

const char *snapshot_sql(const struct snapshot *s, const char *section)
{
	return json_string_value(json_object_get(s->sql, section));
}

json_t *jpath(const json_t *obj, const char *path)
{
	char key[128];
	const char *dot;
	json_t *v = (json_t *)obj;

	while (v && path && *path) {
		size_t n;

		dot = strchr(path, '.');
		n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		v = json_object_get(v, key);
		path = dot ? dot + 1 : NULL;
	}
	return v;
}

bool jnum(const json_t *obj, const char *path, double *out)
{
	json_t *v = jpath(obj, path);

	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return true;
	}
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return false;
	*out = json_number_value(v);
	return true;
}

const char *jstr(const json_t *obj, const char *path)
{
	return json_string_value(jpath(obj, path));
}

/* Everything in one object: cluster-wide sections as objects, per-database
 * ones as {db: object}, without the per-record type/src fields. */
static json_t *section_doc(json_t *by_db)
{
	json_t *out = json_object(), *rec;
	const char *db;
	bool per_db = false;

	json_object_foreach(by_db, db, rec)
		per_db |= *db != '\0';
	json_object_foreach(by_db, db, rec) {
		json_t *copy = json_deep_copy(rec);

		json_object_del(copy, "type");
		json_object_del(copy, "src");
		if (!per_db) {
			json_decref(out);
			return copy;
		}
		json_object_del(copy, "db");
		json_object_set_new(out, *db ? db : "", copy);
	}
	return out;
}

json_t *snapshot_document(const struct snapshot *s)
{
	json_t *doc = json_object(), *sections = json_object(), *alerts = json_array(), *v;
	const char *k;

	json_object_set_new(doc, "type", json_string("health_snapshot"));
	json_object_set_new(doc, "ts", s->ts >= 0 ? json_real(s->ts) : json_null());
	json_object_set_new(doc, "cluster", s->cluster ? json_string(s->cluster) : json_null());
	json_object_foreach(s->sections, k, v)
		json_object_set_new(sections, k, section_doc(v));
	json_object_set_new(doc, "sections", sections);
	json_object_set(doc, "sql", s->sql);
	json_object_foreach(s->alerts, k, v)
		json_array_append(alerts, v);
	json_object_set_new(doc, "alerts", alerts);
	json_object_set(doc, "slow_queries", s->slow);
	json_object_set(doc, "errors", s->errors);
	return doc;
}

/* Set by the DBA (configuration file, ALTER SYSTEM, command line, ALTER
 * DATABASE/ROLE) to another value than the built-in one; a session's own
 * settings (pgx's included) are not, nor the lines initdb writes with the
 * built-in value (max_connections = 100). */
bool setting_not_default(const json_t *setting)
{
	static const char *const sources[] = { "configuration file", "command line",
		"environment variable", "global", "database", "user", "database user", NULL };
	const char *source = jstr(setting, "source"), *value = jstr(setting, "setting");
	const char *boot = jstr(setting, "boot_val");

	if (value && boot && !strcmp(value, boot))
		return false;
	for (size_t i = 0; source && sources[i]; i++)
		if (!strcmp(source, sources[i]))
			return true;
	return false;
}
