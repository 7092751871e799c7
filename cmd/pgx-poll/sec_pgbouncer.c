/* sec_pgbouncer.c - PgBouncer pools, stats and lists from its admin console */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"

/* The admin console speaks the simple query protocol only (PQexec, no
 * parameters) and takes no SET, so it gets its own plain connection.
 * Pools are summed per database: user names never become identifiers. */
const char sql_pgbouncer[] = "SHOW POOLS; SHOW DATABASES; SHOW STATS; SHOW LISTS";

static PGresult *show(struct section_run *run, PGconn *conn, const char *what)
{
	char sql[32], *msg;
	PGresult *res;

	snprintf(sql, sizeof(sql), "SHOW %s", what);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	msg = pgx_pq_error_line(conn, res, 0);
	section_missing(run, what, "%s", msg);
	free(msg);
	run->failed = true;
	PQclear(res);
	return NULL;
}

/* "total_query_time" (µs) -> "query_time_s_total"; "total_xact_count" ->
 * "xact_count_total"; "avg_wait_time" (µs) -> "avg_wait_time_s". */
static json_t *stat_value(const char *name, json_t *v, char *key, size_t keylen)
{
	bool total = !strncmp(name, "total_", 6), time = strstr(name, "_time") != NULL;
	const char *base = total ? name + 6 : name;

	if (total)
		snprintf(key, keylen, "%s%s_total", base, time ? "_s" : "");
	else
		snprintf(key, keylen, "%s%s", base, time && !strncmp(name, "avg_", 4) ? "_s" : "");
	if (time && json_is_number(v) && (total || !strncmp(name, "avg_", 4))) {
		double s = json_number_value(v) / 1e6;
		json_decref(v);
		return json_real(s);
	}
	return v;
}

static json_t *stats_items(const PGresult *res)
{
	json_t *items = json_array();
	char key[128];

	for (int r = 0; r < PQntuples(res); r++) {
		json_t *o = json_object();

		for (int c = 0; c < PQnfields(res); c++)
			json_object_set_new(o, key, stat_value(PQfname(res, c), result_value(res, r, c),
								key, sizeof(key)));
		json_array_append_new(items, o);
	}
	return items;
}

static json_t *find_pool(json_t *pools, const char *db)
{
	size_t i;
	json_t *p;

	json_array_foreach(pools, i, p)
		if (!strcmp(json_string_value(json_object_get(p, "database")), db))
			return p;
	return NULL;
}

/* The database's pool, made (with no users yet) if it is the first. */
static json_t *pool_for(json_t *pools, const char *db)
{
	json_t *p = find_pool(pools, db);

	if (!p) {
		p = json_pack("{s:s, s:i}", "database", db, "users", 0);
		json_array_append_new(pools, p);
	}
	return p;
}

/* Numbers summed per database (maxwait: the largest), text kept when equal. */
static void pool_add(json_t *pool, const PGresult *res, int r)
{
	json_object_set_new(pool, "users",
			    json_integer(json_integer_value(json_object_get(pool, "users")) + 1));
	for (int c = 0; c < PQnfields(res); c++) {
		const char *name = PQfname(res, c);
		json_t *v = result_value(res, r, c), *old = json_object_get(pool, name);

		if (!strcmp(name, "database") || !strcmp(name, "user")) {
			json_decref(v);
			continue;
		}
		if (json_is_number(v) && json_is_number(old)) {
			double a = json_number_value(old), b = json_number_value(v);
			double n = !strncmp(name, "maxwait", 7) ? (a > b ? a : b) : a + b;
			json_decref(v);
			v = json_is_integer(old) ? json_integer((json_int_t)n) : json_real(n);
		}
		json_object_set_new(pool, name, v);
	}
}

static json_t *pools_by_database(const PGresult *res)
{
	json_t *pools = json_array();
	int db = PQfnumber(res, "database");

	for (int r = 0; db >= 0 && r < PQntuples(res); r++)
		pool_add(pool_for(pools, PQgetvalue(res, r, db)), res, r);
	return pools;
}

/* SHOW DATABASES' pool_size (per user pool) on each pool, and saturation_pct:
 * the share of the pools' server connections that are linked to a client
 * (sv_active over pool_size times the pools summed). */
static void add_pool_sizes(json_t *pools, const PGresult *res)
{
	int name = PQfnumber(res, "name"), size = PQfnumber(res, "pool_size");

	for (int r = 0; name >= 0 && size >= 0 && r < PQntuples(res); r++) {
		json_t *pool = find_pool(pools, PQgetvalue(res, r, name));
		long pool_size = atol(PQgetvalue(res, r, size));
		json_int_t users, active;

		if (!pool || PQgetisnull(res, r, size))
			continue;
		users = json_integer_value(json_object_get(pool, "users"));
		active = json_integer_value(json_object_get(pool, "sv_active"));
		json_object_set_new(pool, "pool_size", json_integer(pool_size));
		json_object_set_new(pool, "saturation_pct", pool_size > 0 && users > 0
				    ? json_real(round(1000.0 * (double)active /
						      (double)(pool_size * users)) / 10)
				    : json_null());
	}
}

static json_t *lists_object(const PGresult *res)
{
	json_t *o = json_object();

	for (int r = 0; r < PQntuples(res) && PQnfields(res) >= 2; r++)
		json_object_set_new(o, PQgetvalue(res, r, 0), result_value(res, r, 1));
	return o;
}

/* Top-N pools by clients (active + waiting), the rest summed into other. */
static void set_top_pools(struct section_run *run, json_t *pools)
{
	json_t *top = json_array(), *other = json_pack("{s:i}", "count", 0);
	size_t n = json_array_size(pools);

	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(pools, i);

		if ((long)json_array_size(top) < run->opts->top_n)
			json_array_append(top, p);
		else {
			const char *k;
			json_t *v;

			json_object_set_new(other, "count", json_integer(
				json_integer_value(json_object_get(other, "count")) + 1));
			json_object_foreach(p, k, v)
				if (json_is_integer(v) && strcmp(k, "count"))
					json_object_set_new(other, k, json_integer(
						json_integer_value(json_object_get(other, k)) +
						json_integer_value(v)));
		}
	}
	json_object_set_new(run->rec, "pools", top);
	json_object_set_new(run->rec, "pools_other", other);
	json_decref(pools);
}

static int by_clients(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t cx = json_integer_value(json_object_get(x, "cl_active")) +
			json_integer_value(json_object_get(x, "cl_waiting"));
	json_int_t cy = json_integer_value(json_object_get(y, "cl_active")) +
			json_integer_value(json_object_get(y, "cl_waiting"));

	if (cx != cy)
		return cx < cy ? 1 : -1;
	return strcmp(json_string_value(json_object_get(x, "database")),
		      json_string_value(json_object_get(y, "database")));
}

static json_t *sorted_pools(json_t *pools)
{
	size_t n = json_array_size(pools);
	json_t **v = pgx_xmalloc((n ? n : 1) * sizeof(*v)), *out = json_array();

	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(pools, i);
	qsort(v, n, sizeof(*v), by_clients);
	for (size_t i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(pools);
	return out;
}

void collect_pgbouncer(struct section_run *run)
{
	const char *keys[] = { "dbname", "fallback_application_name", "connect_timeout", NULL };
	const char *values[] = { run->opts->pgbouncer, pgx_progname(), "10", NULL };
	PGconn *conn = PQconnectdbParams(keys, values, 1);
	PGresult *res;

	json_object_set_new(run->rec, "source", json_string("pgbouncer"));
	if (PQstatus(conn) != CONNECTION_OK) {
		char *msg = pgx_pq_conn_error(conn, run->opts->pgbouncer);

		section_missing(run, "pgbouncer", "cannot connect to the admin console: %s", msg);
		run->failed = true;
		free(msg);
		PQfinish(conn);
		return;
	}
	if ((res = show(run, conn, "POOLS"))) {
		json_t *pools = pools_by_database(res);

		PQclear(res);
		if ((res = show(run, conn, "DATABASES"))) {
			add_pool_sizes(pools, res);
			PQclear(res);
		}
		set_top_pools(run, sorted_pools(pools));
	}
	if ((res = show(run, conn, "STATS"))) {
		json_object_set_new(run->rec, "stats", stats_items(res));
		PQclear(res);
	}
	if ((res = show(run, conn, "LISTS"))) {
		json_object_set_new(run->rec, "lists", lists_object(res));
		PQclear(res);
	}
	PQfinish(conn);
}
