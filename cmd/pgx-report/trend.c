/* trend.c - time series from the pgx-poll records of several samples.
 * Records are grouped by their cluster label, so two clusters in one input
 * are two sets of series, never one.  A rate is the difference of a
 * counter between consecutive samples of the same cluster over the time
 * between them; when a counter went down or stats_reset_ts changed, that
 * interval has no rate and its end is marked as a reset. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "health.h"
#include "trend.h"

#define TOP_TABLES 5
#define MAX_COUNTERS 8	/* lines of one rate chart */

/* Records of one type of one cluster, oldest first */
struct recs {
	json_t **v;
	size_t n;
};

/* The records of one sample time: {db or "": record} */
struct sample {
	double t;
	json_t *by_db;
};

struct samples {
	struct sample *v;
	size_t n;
};

struct counter {
	const char *key, *label;
};

static int by_ts(const void *a, const void *b)
{
	double x = pgx_rec_ts(*(json_t *const *)a), y = pgx_rec_ts(*(json_t *const *)b);

	return x < y ? -1 : x > y;
}

static struct recs recs_of(const json_t *by_type, const char *type)
{
	json_t *list = json_object_get(by_type, type), *rec;
	struct recs r = { pgx_xmalloc((json_array_size(list) + 1) * sizeof(json_t *)), 0 };
	size_t i;

	json_array_foreach(list, i, rec)
		if (pgx_rec_ts(rec) >= 0)
			r.v[r.n++] = rec;
	qsort(r.v, r.n, sizeof(*r.v), by_ts);
	return r;
}

static const char *db_of(const json_t *rec)
{
	const char *db = pgx_rec_str(rec, "db");

	return db ? db : "";
}

/* Records with the same ts came from one query of one sample. */
static struct samples samples_of(const struct recs *r)
{
	struct samples s = { pgx_xmalloc((r->n + 1) * sizeof(struct sample)), 0 };

	for (size_t i = 0; i < r->n; i++) {
		double t = pgx_rec_ts(r->v[i]);

		if (!s.n || s.v[s.n - 1].t != t) {
			s.v[s.n].t = t;
			s.v[s.n++].by_db = json_object();
		}
		json_object_set(s.v[s.n - 1].by_db, db_of(r->v[i]), r->v[i]);
	}
	return s;
}

static void samples_free(struct samples *s)
{
	for (size_t i = 0; i < s->n; i++)
		json_decref(s->v[i].by_db);
	free(s->v);
}

static bool same_value(const json_t *a, const json_t *b)
{
	return (!a && !b) || json_equal(a, b);
}

/* Sums of counter increases from sample a to b over the records (databases)
 * in both, NAN for a counter known in none of them; false when any of them
 * was reset in between. */
static bool deltas(const struct sample *a, const struct sample *b, const struct counter *ctr,
		   size_t n, double *out)
{
	const char *db;
	json_t *rb;

	for (size_t k = 0; k < n; k++)
		out[k] = NAN;
	json_object_foreach(b->by_db, db, rb) {
		json_t *ra = json_object_get(a->by_db, db);

		if (!ra)
			continue;
		if (!same_value(json_object_get(ra, "stats_reset_ts"), json_object_get(rb, "stats_reset_ts")))
			return false;
		for (size_t k = 0; k < n; k++) {
			double x, y;

			if (!jnum(ra, ctr[k].key, &x) || !jnum(rb, ctr[k].key, &y))
				continue;
			if (y < x)
				return false;
			out[k] = (isnan(out[k]) ? 0 : out[k]) + y - x;
		}
	}
	return true;
}

static struct trend_chart *chart_new(struct trend_cluster *cl, const char *id, const char *title,
				     const char *what, enum trend_unit unit)
{
	struct trend_chart *c = vec_push(&cl->charts);

	c->id = id;
	c->title = title;
	c->what = what;
	c->unit = unit;
	return c;
}

static struct trend_line *line_get(struct trend_chart *c, const char *name)
{
	struct trend_line *l;

	for (size_t i = 0; i < c->lines.n; i++)
		if (!strcmp(c->lines.v[i].name, name))
			return &c->lines.v[i];
	l = vec_push(&c->lines);
	l->name = pgx_xstrdup(name);
	return l;
}

static void point(struct trend_line *l, double t, double v)
{
	struct trend_point *p = vec_push(&l->pts);

	p->t = t;
	p->v = v;
}

/* A gap in lines [from, n) that got no point at t, so a series that left
 * the record (a replica gone, a table out of the Top-N) is not bridged. */
static void pad(struct trend_chart *c, size_t from, double t)
{
	for (size_t i = from; i < c->lines.n; i++) {
		struct trend_line *l = &c->lines.v[i];

		if (l->pts.n && l->pts.v[l->pts.n - 1].t < t)
			point(l, t, NAN);
	}
}

static void reset_at(struct trend_chart *c, double t)
{
	*vec_push(&c->resets) = t;
}

/* One line per counter: its increase per second (times scale) */
static void rate_lines(struct trend_chart *c, const struct samples *s, const struct counter *ctr,
		       size_t n, double scale)
{
	double d[MAX_COUNTERS];

	n = n < MAX_COUNTERS ? n : MAX_COUNTERS;
	for (size_t k = 0; k < n; k++)
		line_get(c, ctr[k].label);
	for (size_t i = 1; i < s->n; i++) {
		double dt = s->v[i].t - s->v[i - 1].t;
		bool ok = deltas(&s->v[i - 1], &s->v[i], ctr, n, d);

		if (!ok)
			reset_at(c, s->v[i].t);
		for (size_t k = 0; k < n; k++)
			point(&c->lines.v[k], s->v[i].t, ok ? d[k] / dt * scale : NAN);
	}
}

static void cache_hit_line(struct trend_chart *c, const struct samples *s)
{
	static const struct counter ctr[] = {
		{ "blks_hit_total", "hit" }, { "blks_read_total", "read" },
	};
	struct trend_line *l = line_get(c, "cache hit");
	double d[2];

	for (size_t i = 1; i < s->n; i++) {
		bool ok = deltas(&s->v[i - 1], &s->v[i], ctr, 2, d);

		if (!ok)
			reset_at(c, s->v[i].t);
		point(l, s->v[i].t, ok && d[0] + d[1] > 0 ? 100 * d[0] / (d[0] + d[1]) : NAN);
	}
}

static void database_charts(struct trend_cluster *cl, const json_t *by_type)
{
	static const struct counter xact[] = {
		{ "xact_commit_total", "commits" }, { "xact_rollback_total", "rollbacks" },
	};
	static const struct counter rows[] = {
		{ "tup_returned_total", "returned" }, { "tup_fetched_total", "fetched" },
		{ "tup_inserted_total", "inserted" }, { "tup_updated_total", "updated" },
		{ "tup_deleted_total", "deleted" },
	};
	struct recs r = recs_of(by_type, "database");
	struct samples s = samples_of(&r);

	rate_lines(chart_new(cl, "tps", "Transactions per second",
			     "pg_stat_database, all databases", TU_PER_S), &s, xact, 2, 1);
	rate_lines(chart_new(cl, "rows", "Rows per second",
			     "pg_stat_database, all databases", TU_PER_S), &s, rows, 5, 1);
	cache_hit_line(chart_new(cl, "cache", "Cache hit ratio",
				 "blocks found in shared buffers of all blocks needed, per interval", TU_PCT), &s);
	samples_free(&s);
	free(r.v);
}

static void single_counter_chart(struct trend_chart *c, const json_t *by_type, const char *type,
				 const struct counter *ctr, size_t n, double scale)
{
	struct recs r = recs_of(by_type, type);
	struct samples s = samples_of(&r);

	rate_lines(c, &s, ctr, n, scale);
	samples_free(&s);
	free(r.v);
}

const char *trend_state_label(const char *state)
{
	/* only client backends are counted, and PostgreSQL hides none of
	 * them from pg_monitor: a null state is a backend past authentication
	 * that has not reached its first command loop yet */
	return strcmp(state, "null") ? state : "no state yet (connecting)";
}

static void connection_chart(struct trend_chart *c, const json_t *by_type)
{
	struct recs r = recs_of(by_type, "connections");
	size_t keep = 0;

	for (size_t i = 0; i < r.n; i++) {
		json_t *by = json_object_get(r.v[i], "by_state"), *v;
		const char *k;

		json_object_foreach(by, k, v)
			if (json_is_number(v))
				point(line_get(c, trend_state_label(k)), pgx_rec_ts(r.v[i]), json_number_value(v));
		pad(c, 0, pgx_rec_ts(r.v[i]));
	}
	/* states never seen in the capture say nothing */
	for (size_t i = 0; i < c->lines.n; i++) {
		bool seen = false;

		for (size_t j = 0; j < c->lines.v[i].pts.n; j++)
			seen |= c->lines.v[i].pts.v[j].v > 0;
		if (seen)
			c->lines.v[keep++] = c->lines.v[i];
		else {
			free(c->lines.v[i].name);
			free(c->lines.v[i].pts.v);
		}
	}
	c->lines.n = keep;
	free(r.v);
}

/* Lag of each replica on a primary, or of this standby itself */
static void replication_chart(struct trend_chart *c, const json_t *by_type, const char *key)
{
	struct recs r = recs_of(by_type, "replication");
	double v;

	for (size_t i = 0; i < r.n; i++) {
		double t = pgx_rec_ts(r.v[i]);
		json_t *it;
		size_t j;

		if (!strcmp(jstr(r.v[i], "role") ? jstr(r.v[i], "role") : "", "standby")) {
			if (jnum(r.v[i], key, &v))
				point(line_get(c, "this standby"), t, v);
		}
		json_array_foreach(json_object_get(r.v[i], "replicas"), j, it)
			if (jstr(it, "application_name") && jnum(it, key, &v))
				point(line_get(c, jstr(it, "application_name")), t, v);
		pad(c, 0, t);
	}
	free(r.v);
}

/* Clients queued in each PgBouncer pool */
static void pgbouncer_chart(struct trend_chart *c, const json_t *by_type)
{
	struct recs r = recs_of(by_type, "pgbouncer");
	double v;

	for (size_t i = 0; i < r.n; i++) {
		json_t *it;
		size_t j;

		json_array_foreach(json_object_get(r.v[i], "pools"), j, it)
			if (jstr(it, "database") && jnum(it, "cl_waiting", &v))
				point(line_get(c, jstr(it, "database")), pgx_rec_ts(r.v[i]), v);
		pad(c, 0, pgx_rec_ts(r.v[i]));
	}
	free(r.v);
}

static double line_max(const struct trend_line *l)
{
	double m = -INFINITY;

	for (size_t i = 0; i < l->pts.n; i++)
		if (l->pts.v[i].v > m)
			m = l->pts.v[i].v;
	return m;
}

static int by_max_desc(const void *a, const void *b)
{
	double x = line_max(a), y = line_max(b);

	return x > y ? -1 : x < y;
}

static void keep_top_lines(struct trend_chart *c, size_t top)
{
	if (c->lines.n)
		qsort(c->lines.v, c->lines.n, sizeof(*c->lines.v), by_max_desc);
	while (c->lines.n > top) {
		c->lines.n--;
		free(c->lines.v[c->lines.n].name);
		free(c->lines.v[c->lines.n].pts.v);
	}
}

/* Dead tuples of the tables with the most at any sample, database by
 * database (each database's records come from its own query). */
static void dead_tuple_chart(struct trend_chart *c, const json_t *by_type)
{
	struct recs r = recs_of(by_type, "vacuum");
	json_t *dbs = json_object(), *dummy;
	const char *db;

	for (size_t i = 0; i < r.n; i++)
		json_object_set_new(dbs, db_of(r.v[i]), json_true());
	json_object_foreach(dbs, db, dummy) {
		size_t from = c->lines.n;

		for (size_t i = 0; i < r.n; i++) {
			json_t *it;
			size_t j;
			double v;

			if (strcmp(db_of(r.v[i]), db))
				continue;
			json_array_foreach(json_object_get(r.v[i], "tables"), j, it) {
				char name[512];

				if (!jstr(it, "relation") || !jnum(it, "n_dead_tup", &v))
					continue;
				snprintf(name, sizeof(name), "%s%s%s", json_object_size(dbs) > 1 ? db : "",
					 json_object_size(dbs) > 1 ? ": " : "", jstr(it, "relation"));
				point(line_get(c, name), pgx_rec_ts(r.v[i]), v);
			}
			pad(c, from, pgx_rec_ts(r.v[i]));
		}
	}
	keep_top_lines(c, TOP_TABLES);
	json_decref(dbs);
	free(r.v);
}

static bool has_value(const struct trend_chart *c)
{
	for (size_t i = 0; i < c->lines.n; i++)
		for (size_t j = 0; j < c->lines.v[i].pts.n; j++)
			if (isfinite(c->lines.v[i].pts.v[j].v))
				return true;
	return false;
}

/* Why a chart is empty: the section's own reason when it was degraded */
static void explain_empty(struct trend_chart *c, const json_t *by_type, const char *type, const char *dflt)
{
	json_t *list = json_object_get(by_type, type), *last, *m;
	const char *why = NULL;

	if (has_value(c))
		return;
	last = json_array_get(list, json_array_size(list) - 1);
	m = json_array_get(json_object_get(last, "missing"), 0);
	if (!list)
		why = "no record of this section in the input";
	else if (jstr(m, "why"))
		why = jstr(m, "why");
	c->empty = pgx_xstrdup(why ? why : dflt);
}

static void cluster_charts(struct trend_cluster *cl, const json_t *by_type)
{
	static const struct counter wal[] = { { "wal_bytes_total", "WAL written" } };
	static const struct counter ckpt[] = {
		{ "checkpoints_timed_total", "timed" }, { "checkpoints_req_total", "requested" },
	};
	struct trend_chart *c;

	database_charts(cl, by_type);
	for (size_t i = 0; i < cl->charts.n; i++)
		explain_empty(&cl->charts.v[i], by_type, "database", "fewer than two samples of pg_stat_database");
	connection_chart(c = chart_new(cl, "conn", "Connections by state",
				       "client backends in pg_stat_activity", TU_COUNT), by_type);
	explain_empty(c, by_type, "connections", "no connection counts");
	single_counter_chart(c = chart_new(cl, "wal", "WAL written", "pg_stat_wal.wal_bytes", TU_BYTES_PER_S),
			     by_type, "wal", wal, 1, 1);
	explain_empty(c, by_type, "wal", "fewer than two samples of pg_stat_wal");
	replication_chart(c = chart_new(cl, "lag", "Replication lag",
					"replay lag in bytes of each replica (or of this standby)", TU_BYTES),
			  by_type, "replay_lag_bytes");
	explain_empty(c, by_type, "replication", "no replica in any sample");
	single_counter_chart(c = chart_new(cl, "ckpt", "Checkpoints per minute",
					   "checkpoints started, by what started them", TU_PER_MIN),
			     by_type, "checkpoints", ckpt, 2, 60);
	explain_empty(c, by_type, "checkpoints", "fewer than two samples of the checkpoint counters");
	dead_tuple_chart(c = chart_new(cl, "dead", "Dead tuples, top tables",
				       "n_dead_tup of the tables with the most at any sample", TU_COUNT), by_type);
	explain_empty(c, by_type, "vacuum", "no table in the vacuum records");
	if (!json_object_get(by_type, "pgbouncer"))
		return;
	pgbouncer_chart(c = chart_new(cl, "pgbouncer", "PgBouncer clients waiting",
				      "SHOW POOLS cl_waiting, by database", TU_COUNT), by_type);
	explain_empty(c, by_type, "pgbouncer", "no pool in the pgbouncer records");
}

/* Distinct sample times of the section sampled most often */
static size_t sample_count(const json_t *by_type, double *t0, double *t1)
{
	const char *type;
	json_t *list, *rec;
	size_t best = 0, i;

	*t0 = INFINITY;
	*t1 = -INFINITY;
	json_object_foreach((json_t *)by_type, type, list) {
		struct recs r = recs_of(by_type, type);
		size_t n = 0;

		for (size_t k = 0; k < r.n; k++)
			n += !k || pgx_rec_ts(r.v[k]) != pgx_rec_ts(r.v[k - 1]);
		best = n > best ? n : best;
		free(r.v);
		json_array_foreach(list, i, rec) {
			double t = pgx_rec_ts(rec);

			if (t < 0)
				continue;
			*t0 = t < *t0 ? t : *t0;
			*t1 = t > *t1 ? t : *t1;
		}
	}
	return best;
}

/* What the series read of each record type: a capture of a day keeps
 * these few numbers of each sample, not its settings and statements. */
struct slim_spec {
	const char *type, *const *keys, *list, *const *item_keys;
};

static const char *const common_keys[] = { "type", "ts", "cluster", "db", "status", "missing",
					    "stats_reset_ts", NULL };
static const char *const database_keys[] = { "xact_commit_total", "xact_rollback_total",
					     "tup_returned_total", "tup_fetched_total",
					     "tup_inserted_total", "tup_updated_total",
					     "tup_deleted_total", "blks_hit_total", "blks_read_total", NULL };
static const char *const connections_keys[] = { "by_state", NULL };
static const char *const wal_keys[] = { "wal_bytes_total", NULL };
static const char *const checkpoint_keys[] = { "checkpoints_timed_total", "checkpoints_req_total", NULL };
static const char *const replication_keys[] = { "role", "replay_lag_bytes", NULL };
static const char *const replica_keys[] = { "application_name", "replay_lag_bytes", NULL };
static const char *const table_keys[] = { "relation", "n_dead_tup", NULL };
static const char *const pool_keys[] = { "database", "cl_waiting", NULL };
static const char *const no_keys[] = { NULL };

static const struct slim_spec slim_specs[] = {
	{ "database", database_keys, NULL, NULL },
	{ "connections", connections_keys, NULL, NULL },
	{ "wal", wal_keys, NULL, NULL },
	{ "checkpoints", checkpoint_keys, NULL, NULL },
	{ "replication", replication_keys, "replicas", replica_keys },
	{ "vacuum", no_keys, "tables", table_keys },
	{ "pgbouncer", no_keys, "pools", pool_keys },
};

static void copy_keys(json_t *dst, const json_t *src, const char *const *keys)
{
	for (; *keys; keys++)
		if (json_object_get(src, *keys))
			json_object_set(dst, *keys, json_object_get(src, *keys));
}

json_t *trend_slim(const json_t *rec)
{
	const char *type = pgx_rec_type(rec);

	for (size_t i = 0; type && i < sizeof(slim_specs) / sizeof(slim_specs[0]); i++) {
		const struct slim_spec *sp = &slim_specs[i];
		json_t *out, *items, *it;
		size_t j;

		if (strcmp(type, sp->type))
			continue;
		out = json_object();
		copy_keys(out, rec, common_keys);
		copy_keys(out, rec, sp->keys);
		if (!sp->list)
			return out;
		items = json_array();
		json_array_foreach(json_object_get(rec, sp->list), j, it) {
			json_t *slim = json_object();

			copy_keys(slim, it, sp->item_keys);
			json_array_append_new(items, slim);
		}
		json_object_set_new(out, sp->list, items);
		return out;
	}
	return NULL;
}

/* {cluster: {type: [records]}} in order of first appearance */
static json_t *by_cluster(const json_t *history)
{
	json_t *out = json_object(), *rec;
	size_t i;

	json_array_foreach(history, i, rec) {
		const char *cluster = pgx_rec_str(rec, "cluster"), *type = pgx_rec_type(rec);
		json_t *types, *list;

		if (!type || !strcmp(type, "poll"))
			continue;
		if (!(types = json_object_get(out, cluster ? cluster : ""))) {
			types = json_object();
			json_object_set_new(out, cluster ? cluster : "", types);
		}
		if (!(list = json_object_get(types, type))) {
			list = json_array();
			json_object_set_new(types, type, list);
		}
		json_array_append(list, rec);
	}
	return out;
}

void trends_build(struct trends *tr, const json_t *history)
{
	json_t *clusters = by_cluster(history), *types;
	const char *name;

	memset(tr, 0, sizeof(*tr));
	json_object_foreach(clusters, name, types) {
		struct trend_cluster *cl = vec_push(&tr->clusters);

		cl->name = pgx_xstrdup(name);
		cl->samples = sample_count(types, &cl->t0, &cl->t1);
		if (cl->samples >= 2)
			cluster_charts(cl, types);
	}
	json_decref(clusters);
}

void trends_free(struct trends *tr)
{
	for (size_t i = 0; i < tr->clusters.n; i++) {
		struct trend_cluster *cl = &tr->clusters.v[i];

		for (size_t j = 0; j < cl->charts.n; j++) {
			struct trend_chart *c = &cl->charts.v[j];

			for (size_t k = 0; k < c->lines.n; k++) {
				free(c->lines.v[k].name);
				free(c->lines.v[k].pts.v);
			}
			free(c->lines.v);
			free(c->resets.v);
			free(c->empty);
		}
		free(cl->charts.v);
		free(cl->name);
	}
	free(tr->clusters.v);
	memset(tr, 0, sizeof(*tr));
}
