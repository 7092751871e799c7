/* delta.c - per-second rates from two samples, and the resets that forbid them */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* Records that are not samples. */
static bool is_sample(const json_t *rec)
{
	const char *type = pgx_rec_type(rec);

	return type && strcmp(type, "sql") && strcmp(type, "error") && strcmp(type, "poll");
}

static bool same_str(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return a == b;
	return json_equal(a, b);
}

static json_t *find_sample(json_t *first, const json_t *rec)
{
	size_t i;
	json_t *r;

	json_array_foreach(first, i, r)
		if (is_sample(r) && !strcmp(pgx_rec_type(r), pgx_rec_type(rec)) &&
		    same_str(json_object_get(r, "db"), json_object_get(rec, "db")))
			return r;
	return NULL;
}

static bool changed(const json_t *a, const json_t *b, const char *key)
{
	json_t *x = json_object_get(a, key), *y = json_object_get(b, key);

	return json_is_number(x) && json_is_number(y) && json_number_value(x) != json_number_value(y);
}

/* Integers subtract exactly: as doubles, counters past 2^53 lose their
 * last units before the difference is taken. */
static double counter_increase(const json_t *v1, const json_t *v2)
{
	if (json_is_integer(v1) && json_is_integer(v2))
		return (double)(json_integer_value(v2) - json_integer_value(v1));
	return json_number_value(v2) - json_number_value(v1);
}

/* name_total -> name_per_s for every counter of o2 also in o1.  False (and
 * nothing added) when a counter went down: a reset the other checks missed. */
static bool add_rates(const json_t *o1, json_t *o2, double dt)
{
	json_t *rates = json_object(), *v2, *v1;
	const char *key;
	bool ok = true;

	json_object_foreach(o2, key, v2) {
		size_t n = strlen(key);
		char name[256];

		if (n <= 6 || n >= sizeof(name) || strcmp(key + n - 6, "_total") || !json_is_number(v2))
			continue;
		v1 = json_object_get(o1, key);
		if (!json_is_number(v1))
			continue;
		if (counter_increase(v1, v2) < 0) {
			ok = false;
			break;
		}
		snprintf(name, sizeof(name), "%.*s_per_s", (int)(n - 6), key);
		json_object_set_new(rates, name, json_real(counter_increase(v1, v2) / dt));
	}
	if (ok)
		json_object_update(o2, rates);
	json_decref(rates);
	return ok;
}

/* An item's identity: its text and boolean fields (queryid, dbname,
 * username, toplevel; backend_type, object, context; relation), not the
 * query text, as one canonical string (caller frees); NULL for a hidden
 * statement (queryid null), which cannot be told apart. */
static char *item_identity(const json_t *it)
{
	json_t *id = json_object(), *v;
	const char *key;
	char *text = NULL;

	json_object_foreach((json_t *)it, key, v) {
		if (!strcmp(key, "query") || json_is_number(v) || json_is_array(v) || json_is_object(v))
			continue;
		if (json_is_null(v) && !strcmp(key, "queryid"))
			goto done;
		json_object_set(id, key, v);
	}
	text = json_dumps(id, JSON_SORT_KEYS | JSON_COMPACT);
done:
	json_decref(id);
	return text;
}

/* The items of list by identity: a hash, so pairing the thousands of
 * statements of --delta is not quadratic. */
static json_t *index_items(const json_t *list)
{
	json_t *index = json_object(), *it;
	size_t i;

	json_array_foreach(list, i, it) {
		char *id = json_is_object(it) ? item_identity(it) : NULL;

		if (id && !json_object_get(index, id))
			json_object_set(index, id, it);
		free(id);
	}
	return index;
}

/* from_zero: an item the first sample lacks started in the window (with
 * --delta the statements of both samples are all of pg_stat_statements) */
static void item_rates(json_t *list1, json_t *list2, double dt, bool from_zero)
{
	json_t *index = index_items(list1), *it2, *it1, *zero = json_object(), *v;
	const char *key;
	size_t i;

	json_array_foreach(list2, i, it2) {
		char *id = json_is_object(it2) ? item_identity(it2) : NULL;

		if (!id)
			continue;
		if ((it1 = json_object_get(index, id))) {
			if (!add_rates(it1, it2, dt))
				json_object_set_new(it2, "reset", json_string("counter_decreased"));
		} else if (from_zero && json_is_string(json_object_get(it2, "queryid"))) {
			json_object_foreach(it2, key, v)
				if (json_is_number(v))
					json_object_set_new(zero, key, json_integer(0));
			add_rates(zero, it2, dt);
			json_object_clear(zero);
		}
		free(id);
	}
	json_decref(zero);
	json_decref(index);
}

static void record_rates(const json_t *r1, json_t *r2, bool restarted)
{
	bool statements = !strcmp(pgx_rec_type(r2), "statements");
	double dt = pgx_rec_ts(r2) - pgx_rec_ts(r1);
	const char *reset = NULL, *key;
	json_t *v;

	if (dt <= 0)
		return;
	json_object_set_new(r2, "delta_s", json_real(pgx_round_us(dt)));
	if (restarted)
		reset = "postmaster_restart";
	else if (changed(r1, r2, "stats_reset_ts") ||
		 (json_is_null(json_object_get(r1, "stats_reset_ts")) !=
		  json_is_null(json_object_get(r2, "stats_reset_ts"))))
		reset = "stats_reset";
	if (reset) {
		json_object_set_new(r2, "reset", json_string(reset));
		return;
	}
	if (json_integer_value(json_object_get(r2, "dealloc_total")) >
	    json_integer_value(json_object_get(r1, "dealloc_total")))
		json_object_set_new(r2, "reset", json_string("pgss_dealloc"));
	if (!add_rates(r1, r2, dt))
		json_object_set_new(r2, "reset", json_string("counter_decreased"));
	json_object_foreach(r2, key, v)
		if (json_is_array(v) && strcmp(key, "missing"))
			item_rates(json_object_get(r1, key), v, dt,
				   statements && !json_object_get(r2, "reset"));
}

/* ---- --delta: the statements Top-N of the window ---- */

/* The window's cost of an item: exec_time_s_per_s, else (no rate: a reset,
 * a statement hidden from the role) below every item that has one. */
static double window_cost(const json_t *item)
{
	json_t *v = json_object_get(item, "exec_time_s_per_s");

	return json_is_number(v) ? json_number_value(v) : -1;
}

static int by_window(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	double cx = window_cost(x), cy = window_cost(y);

	if (cx != cy)
		return cx < cy ? 1 : -1;
	return (int)(json_integer_value(json_object_get(x, "rank")) -
		     json_integer_value(json_object_get(y, "rank")));
}

/* other += item: its counters and their rates (other's own keys, and every
 * *_per_s), a null counter staying null until a number comes. */
static void fold_into_other(json_t *other, const json_t *item)
{
	const char *key;
	json_t *v, *o;

	json_object_set_new(other, "count",
			    json_integer(json_integer_value(json_object_get(other, "count")) + 1));
	json_object_foreach((json_t *)item, key, v) {
		size_t n = strlen(key);

		if (!json_is_number(v) || !strcmp(key, "rank") ||
		    (!json_object_get(other, key) && (n < 6 || strcmp(key + n - 6, "_per_s"))))
			continue;
		o = json_object_get(other, key);
		json_object_set_new(other, key, json_real((json_is_number(o) ? json_number_value(o) : 0) +
							  json_number_value(v)));
	}
}

/* Every *_total of other gets its *_per_s (0 when nothing was folded), so
 * other always carries window rates beside the items'. */
static void other_rates(json_t *other, const json_t *items)
{
	const char *key;
	json_t *v, *it;
	size_t i;

	json_array_foreach(items, i, it)
		json_object_foreach(it, key, v) {
			size_t n = strlen(key);

			if (n > 6 && !strcmp(key + n - 6, "_per_s") && !json_object_get(other, key))
				json_object_set_new(other, key, json_integer(0));
		}
}

void statements_rank_window(json_t *rec, long top_n)
{
	json_t *items = json_object_get(rec, "items"), *other = json_object_get(rec, "other");
	json_t *top = json_array(), **v;
	size_t n = json_array_size(items);

	if (!json_is_array(items) || !json_is_object(other)) {
		json_decref(top);
		return;
	}
	v = pgx_xmalloc((n ? n : 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(items, i);
	qsort(v, n, sizeof(*v), by_window);
	for (size_t i = 0; i < n; i++) {
		if ((long)i < top_n) {
			json_object_set_new(v[i], "rank", json_integer((json_int_t)i + 1));
			json_array_append(top, v[i]);
		} else
			fold_into_other(other, v[i]);
	}
	other_rates(other, top);
	free(v);
	json_object_set_new(rec, "items", top);
}

void delta_apply(json_t *first, json_t *second, double start1, double start2, long top_n)
{
	size_t i;
	json_t *r2, *r1;

	json_array_foreach(second, i, r2) {
		if (!is_sample(r2))
			continue;
		if ((r1 = find_sample(first, r2)))
			record_rates(r1, r2, start1 != start2);
		if (!strcmp(pgx_rec_type(r2), "statements"))
			statements_rank_window(r2, top_n);
	}
}
