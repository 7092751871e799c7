/* advice.c - index advice for the connected database, one index_advice
 * record per suggestion and an advice record about the run.
 *
 * Sequential scans: tables of at least --min-rows live rows (never fewer
 * than 10000) that are read by sequential scans.  The columns come from the
 * planner, not from parsing SQL: each of the table's top pg_stat_statements
 * queries (by total time) is prepared and explained with a generic plan
 * (plan_cache_mode = force_generic_plan; PostgreSQL 15 has no EXPLAIN
 * (GENERIC_PLAN)), so the normalized text with its $n parameters plans as
 * the application's prepared statements do, whatever values would be bound;
 * the Filter of a Seq Scan on the table names the columns.  Where hypopg is
 * installed, the candidate index is created hypothetically (backend memory
 * only, so it works in the read-only transaction) and the statement
 * re-prepared and re-planned: the planner's total cost before and after,
 * and whether it uses the index, are the evidence.  Everything runs in one
 * BEGIN READ ONLY ... ROLLBACK; EXPLAIN without ANALYZE executes nothing. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "explain.h"

#define CANDIDATE_QUERIES 10	/* top pg_stat_statements queries tried per table */
#define MAX_TABLES 50		/* in sql_large_tables */
#define MAX_INDEX_COLUMNS 3

struct advice_ctx {
	struct poll_conn *pc;
	const struct poll_opts *o;
	long min_rows;
	double ts;
	const char *cluster;
	char *hypopg;		/* quoted schema of hypopg, NULL when absent */
	json_t *out;		/* index_advice records, in order */
	json_t *missing;	/* [{what, why}] */
	long tables_checked, rejected_by_whatif, unreadable_tables, too_small;
	bool unreadable;	/* --indexes-from could not be read */
};

static void note_missing(struct advice_ctx *c, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note_missing(struct advice_ctx *c, const char *what, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	json_array_append_new(c->missing, json_pack("{s:s, s:s}", "what", what, "why", why));
}

/* One query behind a savepoint, so a failure leaves the transaction usable.
 * NULL (with *err when given, else a missing note) on failure. */
static PGresult *adv_query(struct advice_ctx *c, const char *what, const char *sql,
			   int n, const char *const *params, char **err)
{
	PGconn *conn = c->pc->conn;
	PGresult *res;
	char *msg = NULL, *marked;

	if (!explain_command(conn, "SAVEPOINT pgx_advice", &msg))
		goto failed;
	marked = pgx_sql_marked(sql);
	res = PQexecParams(conn, marked, n, NULL, params, NULL, NULL, 0);
	free(marked);
	if (PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK) {
		explain_command(conn, "RELEASE SAVEPOINT pgx_advice", NULL);
		return res;
	}
	msg = explain_error(conn, res);
	PQclear(res);
	explain_command(conn, "ROLLBACK TO SAVEPOINT pgx_advice", NULL);
	explain_command(conn, "RELEASE SAVEPOINT pgx_advice", NULL);
failed:
	if (err)
		*err = msg;
	else {
		note_missing(c, what, "%s", msg ? msg : "query failed");
		free(msg);
	}
	return NULL;
}

static json_t *new_advice(struct advice_ctx *c, const char *table, const char *kind,
			  const char *statement, const char *confidence)
{
	json_t *rec = pgx_record_new("index_advice", c->ts);

	json_object_set_new(rec, "cluster", json_string(c->cluster));
	json_object_set_new(rec, "db", json_string(c->pc->dbname));
	json_object_set_new(rec, "table", json_string(table));
	json_object_set_new(rec, "kind", json_string(kind));
	json_object_set_new(rec, "statement", statement ? json_string(statement) : json_null());
	json_object_set_new(rec, "confidence", json_string(confidence));
	json_array_append_new(c->out, rec);
	return rec;
}

/* ---- the Filter of a Seq Scan, read for column names ---- */

static const json_t *find_seq_scan(const json_t *node, const char *schema, const char *rel)
{
	const char *type = pgx_rec_str(node, "Node Type");
	const char *s = pgx_rec_str(node, "Schema"), *r = pgx_rec_str(node, "Relation Name");
	json_t *kid;
	const json_t *found;
	size_t i;

	if (type && !strcmp(type, "Seq Scan") && s && r && !strcmp(s, schema) && !strcmp(r, rel) &&
	    pgx_rec_str(node, "Filter"))
		return node;
	json_array_foreach(json_object_get(node, "Plans"), i, kid)
		if ((found = find_seq_scan(kid, schema, rel)))
			return found;
	return NULL;
}

static bool ident_char(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (unsigned char)ch >= 0x80 || (!first && ((ch >= '0' && ch <= '9') || ch == '$'));
}

/* Read an identifier (bare or "quoted") at *p into buf; advances *p. */
static void read_ident(const char **p, char *buf, size_t len)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '"') {
		for (s++; *s && !(s[0] == '"' && s[1] != '"'); s++) {
			if (*s == '"')
				s++;
			if (n + 1 < len)
				buf[n++] = *s;
		}
		s += *s == '"';
	} else {
		while (ident_char(*s, false)) {
			if (n + 1 < len)
				buf[n++] = *s;
			s++;
		}
	}
	buf[n] = '\0';
	*p = s;
}

/* After a column: past closing parentheses and casts, is the operator "="? */
static bool compared_for_equality(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == ')')
			p++;
		if (p[0] != ':' || p[1] != ':')
			break;
		p += 2;
		while (ident_char(*p, false) || *p == ' ' || *p == '[' || *p == ']' || *p == '"')
			p++;
	}
	return p[0] == '=' && p[1] != '>';
}

static bool in_array(const json_t *arr, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (!strcmp(json_string_value(v), s))
			return true;
	return false;
}

/* The table's columns compared in filter: equality first, then one other. */
static json_t *filter_columns(const char *filter, const json_t *columns)
{
	json_t *eq = json_array(), *other = json_array(), *v;
	char name[256];
	const char *p = filter;

	while (*p) {
		if (*p == '\'') {
			for (p++; *p && !(p[0] == '\'' && p[1] != '\''); p++)
				p += *p == '\'';
			p += *p == '\'';
		} else if (*p == '$' || (*p >= '0' && *p <= '9')) {
			for (p++; ident_char(*p, false) || *p == '.'; p++)
				;
		} else if (*p == '"' || ident_char(*p, true)) {
			read_ident(&p, name, sizeof(name));
			if (*p == '.' || !in_array(columns, name) || in_array(eq, name) || in_array(other, name))
				continue;
			json_array_append_new(compared_for_equality(p) ? eq : other, json_string(name));
		} else {
			p++;
		}
	}
	if (json_array_size(eq) < MAX_INDEX_COLUMNS && (v = json_array_get(other, 0)))
		json_array_append(eq, v);
	while (json_array_size(eq) > MAX_INDEX_COLUMNS)
		json_array_remove(eq, json_array_size(eq) - 1);
	json_decref(other);
	return eq;
}

/* ---- generic plans of pg_stat_statements texts ---- */

/* Prepare text, explain a generic plan of it with NULL for every parameter,
 * deallocate it: all inside a PL/pgSQL block that catches any error, so a
 * text the server cannot plan (untyped parameters, a table this role may not
 * read) leaves no ERROR in the server's log.  The plan (or the error) comes
 * back through a transaction-local setting. */
static const char explain_block[] =
	"DO $pgx$\n"
	"DECLARE plan json; n int;\n"
	"BEGIN\n"
	"  PERFORM pg_catalog.set_config('pgx.advice_plan', '', true);\n"
	"  EXECUTE 'PREPARE pgx_advice_stmt AS ' || %s;\n"
	"  SELECT coalesce(cardinality(parameter_types), 0) INTO n\n"
	"    FROM pg_catalog.pg_prepared_statements WHERE name = 'pgx_advice_stmt';\n"
	"  BEGIN\n"
	"    EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) EXECUTE pgx_advice_stmt'\n"
	"      || CASE WHEN n > 0 THEN '(' || pg_catalog.array_to_string(pg_catalog.array_fill('NULL'::text, ARRAY[n]), ',') || ')'\n"
	"              ELSE '' END INTO plan;\n"
	"    PERFORM pg_catalog.set_config('pgx.advice_plan', plan::text, true);\n"
	"  EXCEPTION WHEN others THEN\n"
	"    PERFORM pg_catalog.set_config('pgx.advice_plan', 'error: ' || SQLERRM, true);\n"
	"  END;\n"
	"  EXECUTE 'DEALLOCATE pgx_advice_stmt';\n"
	"EXCEPTION WHEN others THEN\n"
	"  PERFORM pg_catalog.set_config('pgx.advice_plan', 'error: ' || SQLERRM, true);\n"
	"END\n"
	"$pgx$";

/* EXPLAIN (VERBOSE) of a generic plan of text: the plan object, or NULL with
 * *err (malloc'd) when given. */
static json_t *explain_generic(struct advice_ctx *c, const char *text, char **err)
{
	PGconn *conn = c->pc->conn;
	char *lit = PQescapeLiteral(conn, text, strlen(text)), *sql;
	PGresult *res;
	json_t *plan = NULL;
	const char *out;

	if (!lit || strstr(lit, "$pgx$")) {	/* it would end the block early */
		if (err)
			*err = pgx_xstrdup("cannot quote the statement for the planning block");
		PQfreemem(lit);
		return NULL;
	}
	sql = sql_format(explain_block, lit);
	PQfreemem(lit);
	res = adv_query(c, "prepare", sql, 0, NULL, err);
	free(sql);
	if (!res)
		return NULL;
	PQclear(res);
	res = adv_query(c, "prepare", "SELECT pg_catalog.current_setting('pgx.advice_plan')", 0, NULL, err);
	out = res && PQntuples(res) ? PQgetvalue(res, 0, 0) : "";
	if (!strncmp(out, "error: ", 7)) {
		if (err)
			*err = pgx_xstrdup(out + 7);
	} else if (*out) {
		json_t *all = json_loads(out, 0, NULL);
		plan = json_incref(json_array_get(all, 0));
		json_decref(all);
	}
	PQclear(res);
	if (!plan && err && !*err)
		*err = pgx_xstrdup("no plan");
	return plan;
}

static double plan_cost(const json_t *plan)
{
	return json_number_value(json_object_get(json_object_get(plan, "Plan"), "Total Cost"));
}

static bool plan_uses_index(const json_t *node, const char *index)
{
	const char *name = pgx_rec_str(node, "Index Name");
	json_t *kid;
	size_t i;

	if (name && !strcmp(name, index))
		return true;
	json_array_foreach(json_object_get(node, "Plans"), i, kid)
		if (plan_uses_index(kid, index))
			return true;
	return false;
}

/* hypopg: the candidate index, hypothetically; cost before/after into ev. */
static bool what_if(struct advice_ctx *c, const char *text, const char *create, json_t *ev,
		    double cost_before)
{
	char sql[256], *err = NULL;
	const char *params[1] = { create };
	PGresult *res;
	json_t *after, *w;
	bool used = false;

	snprintf(sql, sizeof(sql), "SELECT indexname FROM %s.hypopg_create_index($1)", c->hypopg);
	if (!(res = adv_query(c, "hypopg", sql, 1, params, NULL)) || PQntuples(res) != 1) {
		PQclear(res);
		return true;
	}
	w = json_pack("{s:s, s:f}", "hypothetical_index", PQgetvalue(res, 0, 0), "cost_before", cost_before);
	after = explain_generic(c, text, &err);
	if (after) {
		used = plan_uses_index(json_object_get(after, "Plan"), PQgetvalue(res, 0, 0));
		json_object_set_new(w, "cost_after", json_real(plan_cost(after)));
		json_object_set_new(w, "index_used", json_boolean(used));
		json_object_set_new(w, "cost_reduction_pct",
				    json_real(round(1000 * (1 - plan_cost(after) / cost_before)) / 10));
	} else {
		json_object_set_new(w, "error", json_string(err ? err : "explain failed"));
	}
	PQclear(res);
	free(err);
	snprintf(sql, sizeof(sql), "SELECT %s.hypopg_reset()", c->hypopg);
	PQclear(adv_query(c, "hypopg", sql, 0, NULL, NULL));
	json_object_set_new(ev, "whatif", w);
	used = after && json_is_true(json_object_get(w, "index_used")) && plan_cost(after) < cost_before;
	json_decref(after);
	return used;
}

/* ---- sequential scans on large tables ---- */

static const char sql_large_tables[] =
	"SELECT c.oid::text, n.nspname, c.relname,\n"
	"       pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qname,\n"
	"       pg_catalog.has_table_privilege(c.oid, 'SELECT') AS readable,\n"
	"       greatest(s.n_live_tup, c.reltuples::bigint) AS live_rows, s.seq_scan, s.seq_tup_read,\n"
	"       s.idx_scan, c.relpages::bigint * current_setting('block_size')::bigint AS table_bytes\n"
	"  FROM pg_catalog.pg_stat_user_tables s\n"
	"  JOIN pg_catalog.pg_class c ON c.oid = s.relid\n"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	" WHERE greatest(s.n_live_tup, c.reltuples::bigint) >= $1::bigint AND s.seq_scan > 0\n"
	" ORDER BY s.seq_tup_read DESC, 2, 3 LIMIT 50";	/* MAX_TABLES */

static const char sql_columns[] =
	"SELECT coalesce(json_agg(attname::text ORDER BY attnum), '[]'),\n"
	"       coalesce(json_object_agg(attname, pg_catalog.quote_ident(attname)), '{}')\n"
	"  FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped";

static char *sql_top_queries(struct advice_ctx *c)
{
	char *schema = PQescapeIdentifier(c->pc->conn, c->pc->srv.pgss_schema,
					  strlen(c->pc->srv.pgss_schema));
	const char *total = server_has(&c->pc->srv, FEAT_PGSS_EXEC_TIME) ? "total_exec_time" : "total_time";
	char *sql = sql_format(
		"SELECT queryid::text, query, calls, %s / 1000 AS exec_time_s_total\n"
		"  FROM %s.pg_stat_statements\n"
		" WHERE dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())\n"
		"   AND query IS NOT NULL\n"
		"   AND query ~* ('(^|[^[:alnum:]_$])\"?'\n"
		"                 || regexp_replace($1, '([^[:alnum:]_])', '\\\\\\1', 'g')\n"
		"                 || '\"?($|[^[:alnum:]_$])')\n"
		" ORDER BY %s DESC LIMIT %d", total, schema, total, CANDIDATE_QUERIES);

	PQfreemem(schema);
	return sql;
}

static char *index_sql(const char *prefix, const char *qname, const json_t *cols, const json_t *quoted)
{
	size_t n = strlen(prefix) + strlen(qname) + 8, i;
	json_t *col;
	char *sql;

	json_array_foreach(cols, i, col)
		n += strlen(json_string_value(json_object_get(quoted, json_string_value(col)))) + 2;
	sql = pgx_xmalloc(n);
	snprintf(sql, n, "%s%s (", prefix, qname);
	json_array_foreach(cols, i, col) {
		if (i)
			strcat(sql, ", ");
		strcat(sql, json_string_value(json_object_get(quoted, json_string_value(col))));
	}
	strcat(sql, ")");
	return sql;
}

static json_t *table_evidence(const PGresult *res, int row)
{
	json_t *ev = json_object();

	for (int col = 5; col < PQnfields(res); col++)
		json_object_set_new(ev, strcmp(PQfname(res, col), "live_rows") ? PQfname(res, col) : "n_live_tup",
				    result_value(res, row, col));
	json_object_set(ev, "seq_scan_total", json_object_get(ev, "seq_scan"));
	json_object_del(ev, "seq_scan");
	json_object_set(ev, "seq_tup_read_total", json_object_get(ev, "seq_tup_read"));
	json_object_del(ev, "seq_tup_read");
	json_object_set(ev, "idx_scan_total", json_object_get(ev, "idx_scan"));
	json_object_del(ev, "idx_scan");
	return ev;
}

/* The first top query whose generic plan seq-scans the table with a Filter
 * naming its columns: advice with the what-if evidence.  true if found. */
static bool advise_from_query(struct advice_ctx *c, const PGresult *tab, int row,
			      const PGresult *qs, int qi, const json_t *cols, const json_t *quoted,
			      char **err)
{
	const char *schema = PQgetvalue(tab, row, 1), *rel = PQgetvalue(tab, row, 2);
	const char *qname = PQgetvalue(tab, row, 3), *text = PQgetvalue(qs, qi, 1);
	char *create, *hypo;
	json_t *plan = explain_generic(c, text, err), *ev, *idx_cols, *rec;
	const json_t *scan;
	bool confirmed = false;

	scan = plan ? find_seq_scan(json_object_get(plan, "Plan"), schema, rel) : NULL;
	idx_cols = scan ? filter_columns(pgx_rec_str(scan, "Filter"), cols) : NULL;
	if (!idx_cols || !json_array_size(idx_cols)) {
		json_decref(idx_cols);
		json_decref(plan);
		return false;
	}
	ev = table_evidence(tab, row);
	json_object_set_new(ev, "queryid", json_string(PQgetvalue(qs, qi, 0)));
	json_object_set_new(ev, "query", pgx_json_text(text, strlen(text) > 500 ? 500 : strlen(text), NULL));
	json_object_set_new(ev, "calls_total", result_value(qs, qi, 2));
	json_object_set_new(ev, "exec_time_s_total", result_value(qs, qi, 3));
	json_object_set_new(ev, "filter", json_string(pgx_rec_str(scan, "Filter")));
	json_object_set_new(ev, "plan", json_string("generic (plan_cache_mode = force_generic_plan)"));
	hypo = index_sql("CREATE INDEX ON ", qname, idx_cols, quoted);
	if (c->hypopg && !(confirmed = what_if(c, text, hypo, ev, plan_cost(plan)))) {
		c->rejected_by_whatif++;
		json_object_set_new(ev, "rejected", json_string("the planner would not use the index"));
	}
	if (!c->hypopg || confirmed) {
		double drop = json_real_value(json_object_get(json_object_get(ev, "whatif"), "cost_reduction_pct"));
		create = index_sql("CREATE INDEX CONCURRENTLY ON ", qname, idx_cols, quoted);
		rec = new_advice(c, qname, "seq_scan", create,
				 !c->hypopg ? "medium" : drop >= 50 ? "high" : "medium");
		json_object_set_new(rec, "columns", json_incref(idx_cols));
		json_object_set_new(rec, "reasons", json_pack("[s]", "seq_scan"));
		json_object_set(rec, "evidence", ev);
		free(create);
	}
	free(hypo);
	json_decref(ev);
	json_decref(idx_cols);
	json_decref(plan);
	return true;
}

/* Why no top query gave columns: the real reason when there is one. */
static const char *no_columns_note(const char *top_sql, long tried,
				   const char *err)
{
	static char note[600];

	if (!top_sql)
		return "pg_stat_statements is not available: no query to take columns from";
	if (tried && err) {
		snprintf(note, sizeof(note), "no top pg_stat_statements query of this table could be "
			 "planned: %s", err);
		return note;
	}
	return "no top pg_stat_statements query filters this table in a Seq Scan";
}

static void advise_unreadable(struct advice_ctx *c, const PGresult *tab, int row)
{
	json_t *rec = new_advice(c, PQgetvalue(tab, row, 3), "seq_scan", NULL, "low");
	char note[600];

	snprintf(note, sizeof(note), "permission denied: role \"%s\" lacks SELECT on %s, which "
		 "planning its queries needs (GRANT SELECT on it, or pg_read_all_data on "
		 "PostgreSQL 14 and later)", PQuser(c->pc->conn), PQgetvalue(tab, row, 3));
	json_object_set_new(rec, "evidence", table_evidence(tab, row));
	json_object_set_new(json_object_get(rec, "evidence"), "note", json_string(note));
	if (!c->unreadable_tables++)
		note_missing(c, "table privileges", "%s", note);
}

static void advise_table(struct advice_ctx *c, const PGresult *tab, int row, const char *top_sql)
{
	const char *oid = PQgetvalue(tab, row, 0), *rel = PQgetvalue(tab, row, 2);
	PGresult *colres, *qs;
	json_t *cols, *quoted, *rec;
	char *err = NULL;
	bool found = false;
	long tried = 0;

	c->tables_checked++;
	if (strcmp(PQgetvalue(tab, row, 4), "t")) {
		advise_unreadable(c, tab, row);
		return;
	}
	colres = adv_query(c, "columns", sql_columns, 1, &oid, NULL);
	qs = top_sql ? adv_query(c, "statements", top_sql, 1, &rel, NULL) : NULL;
	cols = colres ? result_value(colres, 0, 0) : json_array();
	quoted = colres ? result_value(colres, 0, 1) : json_object();
	for (int i = 0; qs && i < PQntuples(qs) && !found && !pgx_stop_signal; i++) {
		if (!sql_plannable(PQgetvalue(qs, i, 1)))
			continue;
		char *why = NULL;

		tried++;
		found = advise_from_query(c, tab, row, qs, i, cols, quoted, &why);
		if (!err)
			err = why;
		else
			free(why);
	}
	if (!found) {
		rec = new_advice(c, PQgetvalue(tab, row, 3), "seq_scan", NULL, "low");
		json_object_set_new(rec, "evidence", table_evidence(tab, row));
		json_object_set_new(json_object_get(rec, "evidence"), "note",
				    json_string(no_columns_note(top_sql, tried, err)));
	}
	free(err);
	PQclear(colres);
	PQclear(qs);
	json_decref(cols);
	json_decref(quoted);
}

static bool plpgsql_usable(struct advice_ctx *c)
{
	PGresult *res = adv_query(c, "plpgsql",
		"SELECT CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_language WHERE lanname = 'plpgsql')\n"
		"            THEN pg_catalog.has_language_privilege('plpgsql', 'USAGE') ELSE false END",
		0, NULL, NULL);
	bool ok = res && PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), "t");

	PQclear(res);
	return ok;
}

static void advise_seq_scans(struct advice_ctx *c)
{
	char min_rows[24], *top_sql = NULL;
	const char *params[1] = { min_rows };
	PGresult *tab;

	snprintf(min_rows, sizeof(min_rows), "%ld", c->min_rows);
	if (!(tab = adv_query(c, "large tables", sql_large_tables, 1, params, NULL)))
		return;
	top_sql = c->pc->srv.pgss_schema ? sql_top_queries(c) : NULL;
	if (!top_sql)
		note_missing(c, "pg_stat_statements", "not installed in database \"%s\": seq-scan advice has no columns",
			     c->pc->dbname);
	else if (!plpgsql_usable(c)) {
		note_missing(c, "plpgsql", "not usable in database \"%s\" (it plans the statements without "
			     "errors in the server log): seq-scan advice has no columns", c->pc->dbname);
		free(top_sql);
		top_sql = NULL;
	}
	if (!explain_command(c->pc->conn, "SET LOCAL plan_cache_mode = force_generic_plan", NULL))
		note_missing(c, "generic plans", "plan_cache_mode cannot be set");
	for (int i = 0; i < PQntuples(tab) && !pgx_stop_signal; i++)
		advise_table(c, tab, i, top_sql);
	free(top_sql);
	PQclear(tab);
}

/* ---- tables too small for an index: said, not left out ---- */

static const char sql_small_tables[] =
	"SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qname,\n"
	"       greatest(s.n_live_tup, c.reltuples::bigint, 0) AS n_live_tup, s.seq_scan AS seq_scan_total,\n"
	"       c.relpages::bigint * current_setting('block_size')::bigint AS table_bytes\n"
	"  FROM pg_catalog.pg_stat_user_tables s\n"
	"  JOIN pg_catalog.pg_class c ON c.oid = s.relid\n"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	" WHERE greatest(s.n_live_tup, c.reltuples::bigint) < $1::bigint AND s.seq_scan > 0\n"
	" ORDER BY s.seq_tup_read DESC, 1 LIMIT 50";	/* MAX_TABLES */

static void advise_small_tables(struct advice_ctx *c)
{
	char min_rows[24], note[200];
	const char *params[1] = { min_rows };
	PGresult *res;
	json_t *rec, *ev;

	snprintf(min_rows, sizeof(min_rows), "%ld", c->min_rows);
	res = adv_query(c, "small tables", sql_small_tables, 1, params, NULL);
	for (int i = 0; res && i < PQntuples(res); i++) {
		rec = new_advice(c, PQgetvalue(res, i, 0), "too_small", NULL, "high");
		ev = json_object();
		for (int col = 1; col < PQnfields(res); col++)
			json_object_set_new(ev, PQfname(res, col), result_value(res, i, col));
		snprintf(note, sizeof(note), "no index: too small (%s live rows, under --min-rows %ld): "
			 "a sequential scan reads it about as fast as an index would", PQgetvalue(res, i, 1),
			 c->min_rows);
		json_object_set_new(ev, "note", json_string(note));
		json_object_set_new(rec, "evidence", ev);
		c->too_small++;
	}
	PQclear(res);
}

/* ---- foreign keys whose columns lead no index ---- */

static const char sql_fk[] =
	"SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qname,\n"
	"       con.conname::text, con.confrelid::regclass::text AS referenced,\n"
	"       (SELECT json_agg(a.attname::text ORDER BY k.i) FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)\n"
	"          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS columns,\n"
	"       (SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.i)\n"
	"          FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)\n"
	"          JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum) AS cols_sql,\n"
	"       greatest(s.n_live_tup, c.reltuples::bigint, 0) AS n_live_tup\n"
	"  FROM pg_catalog.pg_constraint con\n"
	"  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid\n"
	"  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"  LEFT JOIN pg_catalog.pg_stat_user_tables s ON s.relid = c.oid\n"
	" WHERE con.contype = 'f' AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"   AND NOT EXISTS (\n"
	"     SELECT 1 FROM pg_catalog.pg_index i\n"
	"      WHERE i.indrelid = con.conrelid AND i.indisvalid AND i.indpred IS NULL\n"
	"        AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey\n"
	"        AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey)\n"
	" ORDER BY 6 DESC, 1, 2";

/* The CREATE INDEX already advised on table whose columns lead with cols:
 * it serves the foreign key too. */
static json_t *advised_index_for(struct advice_ctx *c, const char *table, const json_t *cols)
{
	json_t *rec, *have;
	size_t i, j;

	json_array_foreach(c->out, i, rec) {
		have = json_object_get(rec, "columns");
		if (!json_is_string(json_object_get(rec, "statement")) || strcmp(pgx_rec_str(rec, "table"), table) ||
		    json_array_size(have) < json_array_size(cols))
			continue;
		for (j = 0; j < json_array_size(cols); j++)
			if (!json_equal(json_array_get(have, j), json_array_get(cols, j)))
				break;
		if (j == json_array_size(cols))
			return rec;
	}
	return NULL;
}

static json_t *fk_evidence(const PGresult *res, int i)
{
	return json_pack("{s:s, s:s, s:o, s:s}", "constraint", PQgetvalue(res, i, 1),
			 "referenced_table", PQgetvalue(res, i, 2), "n_live_tup", result_value(res, i, 5),
			 "note", "no valid index leads with the key's columns: a DELETE or key UPDATE on "
				 "the referenced table scans this one");
}

/* One CREATE INDEX per (table, columns): a key an advised index already
 * covers adds its reason and evidence to that record. */
static void advise_foreign_key(struct advice_ctx *c, const PGresult *res, int i)
{
	json_t *cols = result_value(res, i, 3), *rec = advised_index_for(c, PQgetvalue(res, i, 0), cols);
	long rows = atol(PQgetvalue(res, i, 5));
	char *sql;

	if (rec) {
		json_array_append_new(json_object_get(rec, "reasons"), json_string("fk_without_index"));
		json_object_set_new(json_object_get(rec, "evidence"), "foreign_key", fk_evidence(res, i));
		if (rows >= c->min_rows)
			json_object_set_new(rec, "confidence", json_string("high"));
		json_decref(cols);
		return;
	}
	sql = sql_format("CREATE INDEX CONCURRENTLY ON %s (%s)", PQgetvalue(res, i, 0), PQgetvalue(res, i, 4));
	rec = new_advice(c, PQgetvalue(res, i, 0), "fk_without_index", sql,
			 rows >= c->min_rows ? "high" : "medium");
	json_object_set_new(rec, "columns", cols);
	json_object_set_new(rec, "reasons", json_pack("[s]", "fk_without_index"));
	json_object_set_new(rec, "evidence", fk_evidence(res, i));
	free(sql);
}

static void advise_foreign_keys(struct advice_ctx *c)
{
	PGresult *res = adv_query(c, "foreign keys", sql_fk, 0, NULL, NULL);

	for (int i = 0; res && i < PQntuples(res); i++)
		advise_foreign_key(c, res, i);
	PQclear(res);
}

/* ---- unused, duplicate and invalid indexes, from pgx-poll's indexes record ---- */

static json_t *indexes_from_file(struct advice_ctx *c, const char *path)
{
	struct pgx_input *in = pgx_input_open(path, PGX_MAX_LINE_DEFAULT);
	struct pgx_line line;
	json_t *rec, *last = NULL;
	const char *type, *db;
	int rc;

	if (!in) {
		c->unreadable = true;
		return NULL;
	}
	while ((rc = pgx_ndjson_next(in, &line, &rec)) != 0) {
		if (rc < 0 || !rec)
			continue;
		type = pgx_rec_type(rec);
		db = pgx_rec_str(rec, "db");
		if (type && !strcmp(type, "indexes") && (!db || !strcmp(db, c->pc->dbname))) {
			json_decref(last);
			last = rec;
		} else
			json_decref(rec);
	}
	pgx_input_close(in);
	if (!last)
		note_missing(c, "indexes", "no indexes record for database \"%s\" in \"%s\"", c->pc->dbname, path);
	return last;
}

/* The indexes section of this pgx-poll, run here (it is read-only too). */
static json_t *indexes_collected(struct advice_ctx *c)
{
	const struct section *s = section_find("indexes", NULL);
	struct section_run run = { .pc = c->pc, .opts = c->o };
	const char *why = NULL;
	char *built = NULL;

	if (!s)
		return NULL;
	run.sql = s->sql;
	run.rec = pgx_record_new("indexes", pgx_now());
	if (s->build_sql)
		run.sql = built = s->build_sql(&c->pc->srv, &why);
	if (run.sql)
		s->collect(&run);
	if (run.missing || run.failed) {
		note_missing(c, "indexes", "the indexes section did not complete");
		json_decref(run.rec);
		run.rec = NULL;
	}
	json_decref(run.missing);
	json_decref(run.records);
	free(built);
	return run.rec;
}

/* "schema.name" as pgx-poll writes it, quoted for SQL by the server. */
static char *quoted_index(struct advice_ctx *c, const char *name)
{
	static const char sql[] =
		"SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)\n"
		"  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
		" WHERE c.relkind IN ('i', 'I') AND n.nspname || '.' || c.relname = $1";
	PGresult *res = adv_query(c, "index names", sql, 1, &name, NULL);
	char *out = res && PQntuples(res) == 1 ? pgx_xstrdup(PQgetvalue(res, 0, 0)) : NULL;

	PQclear(res);
	return out;
}

static void index_item_advice(struct advice_ctx *c, const json_t *item, const char *name,
			      const char *kind, const char *verb, const char *confidence)
{
	char *q = quoted_index(c, name), *sql = q ? sql_format("%s %s", verb, q) : NULL;
	const char *rel = pgx_rec_str(item, "relation");
	json_t *rec = new_advice(c, rel ? rel : "?", kind, sql, confidence);

	json_object_set_new(rec, "index", json_string(name));
	json_object_set_new(rec, "evidence", json_deep_copy(item));
	if (!q)
		json_object_set_new(json_object_get(rec, "evidence"), "note",
				    json_string("index not found in this database"));
	free(q);
	free(sql);
}

static void advise_indexes(struct advice_ctx *c, const json_t *ix)
{
	json_t *item, *names, *n;
	size_t i, j;

	json_array_foreach(json_object_get(ix, "invalid"), i, item)
		index_item_advice(c, item, pgx_rec_str(item, "index"), "invalid_index",
				  "REINDEX INDEX CONCURRENTLY", "high");
	json_array_foreach(json_object_get(ix, "duplicate"), i, item) {
		names = json_object_get(item, "indexes");
		json_array_foreach(names, j, n)
			if (j > 0 && json_is_string(n))
				index_item_advice(c, item, json_string_value(n), "duplicate_index",
						  "DROP INDEX CONCURRENTLY", "medium");
	}
	json_array_foreach(json_object_get(ix, "unused"), i, item) {
		double age = json_number_value(json_object_get(item, "stats_age_s"));
		index_item_advice(c, item, pgx_rec_str(item, "index"), "unused_index",
				  "DROP INDEX CONCURRENTLY", age >= 30 * 86400 ? "medium" : "low");
	}
}

/* ---- the run ---- */

static void find_hypopg(struct advice_ctx *c)
{
	PGresult *res = adv_query(c, "hypopg",
		"SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_extension e\n"
		"  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'",
		0, NULL, NULL);

	if (res && PQntuples(res) == 1)
		c->hypopg = pgx_xstrdup(PQgetvalue(res, 0, 0));
	else if (res)
		note_missing(c, "what-if", "hypopg is not installed in database \"%s\"", c->pc->dbname);
	PQclear(res);
}

static bool emit_all(struct advice_ctx *c)
{
	json_t *rec, *sum = pgx_record_new("advice", c->ts);
	size_t i;
	bool ok = true;

	json_array_foreach(c->out, i, rec)
		ok = ok && poll_emit(json_incref(rec));
	json_object_set_new(sum, "cluster", json_string(c->cluster));
	json_object_set_new(sum, "db", json_string(c->pc->dbname));
	json_object_set_new(sum, "min_rows", json_integer(c->min_rows));
	json_object_set_new(sum, "tables_checked", json_integer(c->tables_checked));
	json_object_set_new(sum, "suggestions", json_integer((json_int_t)json_array_size(c->out)));
	json_object_set_new(sum, "rejected_by_whatif", json_integer(c->rejected_by_whatif));
	json_object_set_new(sum, "too_small", json_integer(c->too_small));
	json_object_set_new(sum, "hypopg", json_boolean(c->hypopg != NULL));
	json_object_set_new(sum, "status", json_string(json_array_size(c->missing) ? "degraded" : "ok"));
	if (json_array_size(c->missing))
		json_object_set(sum, "missing", c->missing);
	return poll_emit(sum) && ok;
}

int advice_run(struct poll_conn *pc, const struct poll_opts *o,
	       const struct query_opts *q, const char *cluster)
{
	struct advice_ctx c = { .pc = pc, .o = o, .cluster = cluster, .ts = pgx_now(),
				.min_rows = q->min_rows ? q->min_rows : ADVICE_MIN_ROWS };
	json_t *ix;
	char *err = NULL;
	int status = PGX_EXIT_OK;

	c.out = json_array();
	c.missing = json_array();
	if (!explain_begin(pc->conn, o, &err)) {
		pgx_error("cannot start a read-only transaction: %s", err);
		free(err);
		json_decref(c.out);
		json_decref(c.missing);
		return PGX_EXIT_FAILED;
	}
	find_hypopg(&c);
	advise_seq_scans(&c);
	advise_foreign_keys(&c);
	advise_small_tables(&c);
	ix = q->indexes_from ? indexes_from_file(&c, q->indexes_from) : indexes_collected(&c);
	if (ix)
		advise_indexes(&c, ix);
	json_decref(ix);
	explain_command(pc->conn, "ROLLBACK", NULL);
	if (!emit_all(&c))
		status = PGX_EXIT_OUTPUT;
	else if (c.unreadable)
		status = PGX_EXIT_INPUT;
	if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	json_decref(c.out);
	json_decref(c.missing);
	free(c.hypopg);
	return status;
}
