/* sec_locks.c - blocking trees from pg_blocking_pids, each under its root blocker */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* Only sessions waiting on a heavyweight lock are asked pg_blocking_pids
 * (it takes the lock manager's partition locks).  Before 14 pg_locks has no
 * waitstart: the wait is then counted from the query's start (an upper bound). */
char *sql_locks(const struct server_info *srv, const char **why)
{
	return sql_format(
		"WITH w AS (\n"
		"  SELECT a.pid, pg_catalog.pg_blocking_pids(a.pid) AS blocked_by,\n"
		"         extract(epoch FROM now() - %s)::float8 AS wait_s,\n"
		"         l.mode, l.locktype,\n"
		"         CASE WHEN l.database = (SELECT oid FROM pg_catalog.pg_database\n"
		"                                  WHERE datname = current_database())\n"
		"              THEN l.relation::regclass::text END AS relation,\n"
		"         CASE WHEN a.query <> '<insufficient privilege>' THEN left(a.query, 200) END"
		" AS query\n"
		"    FROM pg_catalog.pg_stat_activity a\n"
		"    LEFT JOIN pg_catalog.pg_locks l ON l.pid = a.pid AND NOT l.granted\n"
		"   WHERE a.wait_event_type = 'Lock'),\n"
		"b AS (SELECT * FROM w WHERE pg_catalog.cardinality(blocked_by) > 0)\n"
		"SELECT (SELECT coalesce(pg_catalog.json_agg(pg_catalog.row_to_json(b)), '[]') FROM b)"
		" AS waiting,\n"
		"       (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object(\n"
		"          'pid', pid, 'state', state,\n"
		"          'xact_age_s', extract(epoch FROM now() - xact_start)::float8,\n"
		"          'query', CASE WHEN query <> '<insufficient privilege>' THEN left(query, 200) END,\n"
		"          'wait_event', wait_event_type || ':' || wait_event)), '[]')\n"
		"          FROM pg_catalog.pg_stat_activity\n"
		"         WHERE pid IN (SELECT pg_catalog.unnest(blocked_by) FROM b)) AS blockers",
		server_has(srv, FEAT_LOCKS_WAITSTART) ? "coalesce(l.waitstart, a.query_start)"
						      : "a.query_start");
}

static json_t *find_pid(json_t *list, json_int_t pid)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_integer_value(json_object_get(v, "pid")) == pid)
			return v;
	return NULL;
}

/* Walk blocked_by edges up from a waiting session: the depth of the first
 * session that waits on nothing (the root), or -1 past a cycle (deadlock
 * about to be detected) or max_depth. */
static int root_of(json_t *waiting, json_t *w, json_int_t *root, int depth)
{
	json_t *by = json_object_get(w, "blocked_by"), *up, *pidv;
	size_t i;
	int d;

	if (depth > 64)
		return -1;
	json_array_foreach(by, i, pidv) {
		json_int_t pid = json_integer_value(pidv);

		up = find_pid(waiting, pid);
		if (!up) {
			*root = pid;
			return depth;
		}
		d = root_of(waiting, up, root, depth + 1);
		if (d >= 0)
			return d;
	}
	return -1;
}

static json_t *new_tree(json_t *blockers, json_int_t root)
{
	json_t *s = find_pid(blockers, root), *t = json_object();

	json_object_set_new(t, "root_pid", json_integer(root));
	json_object_set(t, "root_state", s ? json_object_get(s, "state") : json_null());
	json_object_set(t, "root_xact_age_s", s ? json_object_get(s, "xact_age_s") : json_null());
	json_object_set(t, "root_query", s ? json_object_get(s, "query") : json_null());
	json_object_set(t, "root_wait_event", s ? json_object_get(s, "wait_event") : json_null());
	json_object_set_new(t, "blocked_count", json_integer(0));
	json_object_set_new(t, "max_wait_s", json_real(0));
	json_object_set_new(t, "blocked", json_array());
	/* pid 0 holds a lock for a prepared transaction */
	if (!s && root == 0)
		json_object_set_new(t, "root_state", json_string("prepared transaction"));
	return t;
}

static json_t *tree_for(json_t *trees, json_t *blockers, json_int_t root)
{
	size_t i;
	json_t *t;

	json_array_foreach(trees, i, t)
		if (json_integer_value(json_object_get(t, "root_pid")) == root)
			return t;
	t = new_tree(blockers, root);
	json_array_append_new(trees, t);
	return t;
}

static void add_blocked(json_t *tree, json_t *w, int depth, long top_n)
{
	json_t *entry = json_deep_copy(w), *list = json_object_get(tree, "blocked");
	double wait = json_number_value(json_object_get(w, "wait_s"));

	json_object_set_new(entry, "depth", json_integer(depth));
	json_object_set_new(tree, "blocked_count",
			    json_integer(json_integer_value(json_object_get(tree, "blocked_count")) + 1));
	if (wait > json_number_value(json_object_get(tree, "max_wait_s")))
		json_object_set_new(tree, "max_wait_s", json_real(wait));
	if ((long)json_array_size(list) < top_n)
		json_array_append_new(list, entry);
	else
		json_decref(entry);
}

static int by_max_wait(const void *a, const void *b)
{
	double x = json_number_value(json_object_get(*(json_t *const *)a, "max_wait_s"));
	double y = json_number_value(json_object_get(*(json_t *const *)b, "max_wait_s"));

	return x < y ? 1 : x > y ? -1 : 0;
}

/* Trees sorted by their longest wait, Top-N, the rest in trees_other. */
static void emit_trees(struct section_run *run, json_t *trees)
{
	size_t n = json_array_size(trees), i;
	json_t **v = pgx_xmalloc((n ? n : 1) * sizeof(*v)), *top = json_array();
	long other = 0, other_blocked = 0;

	for (i = 0; i < n; i++)
		v[i] = json_array_get(trees, i);
	qsort(v, n, sizeof(*v), by_max_wait);
	for (i = 0; i < n; i++) {
		if ((long)i < run->opts->top_n)
			json_array_append(top, v[i]);
		else {
			other++;
			other_blocked += json_integer_value(json_object_get(v[i], "blocked_count"));
		}
	}
	free(v);
	json_object_set_new(run->rec, "trees", top);
	json_object_set_new(run->rec, "trees_other",
			    json_pack("{s:I, s:I}", "count", (json_int_t)other,
				      "blocked_count", (json_int_t)other_blocked));
}

void collect_locks(struct section_run *run)
{
	PGresult *res = section_query(run, run->sql, 0, NULL);
	json_t *waiting, *blockers, *trees = json_array(), *w;
	double longest = 0;
	size_t i;

	if (!res) {
		json_decref(trees);
		return;
	}
	waiting = result_value(res, 0, 0);
	blockers = result_value(res, 0, 1);
	PQclear(res);
	json_array_foreach(waiting, i, w) {
		json_int_t root = -1;
		int depth = root_of(waiting, w, &root, 1);
		double wait = json_number_value(json_object_get(w, "wait_s"));

		if (wait > longest)
			longest = wait;
		if (depth > 0)
			add_blocked(tree_for(trees, blockers, root), w, depth, run->opts->top_n);
	}
	json_object_set_new(run->rec, "blocked_sessions", json_integer((json_int_t)json_array_size(waiting)));
	json_object_set_new(run->rec, "longest_wait_s",
			    json_real(longest));
	emit_trees(run, trees);
	json_decref(trees);
	json_decref(waiting);
	json_decref(blockers);
}
