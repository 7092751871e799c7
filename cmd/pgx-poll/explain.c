/* explain.c - EXPLAIN one statement in a read-only transaction that is rolled back
 *
 * Three locks keep a data-modifying statement from running: only a statement
 * that starts with SELECT, WITH, VALUES or TABLE is considered; the server
 * plans it first without running it (plain EXPLAIN) and a plan with a
 * ModifyTable node anywhere (INSERT/UPDATE/DELETE/MERGE, also inside a
 * writable CTE) is refused; and what does run, runs in BEGIN READ ONLY ...
 * ROLLBACK, where the server itself rejects writes (SELECT INTO, nextval,
 * FOR UPDATE, a function that writes).  A fourth keeps what the transaction
 * cannot undo from running: ANALYZE only when nothing the statement calls
 * acts outside it (sideeffect.c); otherwise the plain plan, and why. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"
#include "explain.h"

/* The server's message with its SQLSTATE; caller frees. */
char *explain_error(PGconn *conn, const PGresult *res)
{
	return pgx_pq_error_line(conn, res, PGX_PQ_SQLSTATE);
}

bool explain_command(PGconn *conn, const char *sql, char **err)
{
	char *marked = pgx_sql_marked(sql);
	PGresult *res = PQexec(conn, marked);
	bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	free(marked);
	if (!ok && err)
		*err = explain_error(conn, res);
	PQclear(res);
	return ok;
}

/* One round trip: BEGIN READ ONLY; the timeouts again, for the
 * transaction only (sql_timeouts_local); then sql_server_settings_local.
 * Each statement carries pgx's mark, so pg_stat_statements counts it as
 * pgx's. */
bool explain_begin(PGconn *conn, const struct poll_opts *o, char **err)
{
	char *timeouts = sql_timeouts_local(o->statement_timeout_ms, o->lock_timeout_ms), *sql;
	PGresult *res;
	bool ok;

	if (asprintf(&sql, PGX_SQL_MARK "BEGIN READ ONLY; " PGX_SQL_MARK "%s; " PGX_SQL_MARK "%s", timeouts,
		     sql_server_settings_local) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	free(timeouts);
	res = PQexec(conn, sql);
	free(sql);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok && err)
		*err = explain_error(conn, res);
	PQclear(res);
	return ok;
}

/* EXPLAIN (options) sql as one statement of the extended protocol, so a
 * second statement after a semicolon is an error, never run.  Returns the
 * first element of the JSON array (the object with "Plan"), or NULL. */
json_t *explain_json(PGconn *conn, const char *options, const char *sql, char **err)
{
	size_t n = strlen(PGX_SQL_MARK) + strlen(options) + strlen(sql) + 16;
	char *text = pgx_xmalloc(n);
	PGresult *res;
	json_t *doc = NULL, *plan = NULL;

	snprintf(text, n, PGX_SQL_MARK "EXPLAIN (%s) %s", options, sql);
	res = PQexecParams(conn, text, 0, NULL, NULL, NULL, NULL, 0);
	free(text);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		*err = explain_error(conn, res);
		PQclear(res);
		return NULL;
	}
	doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	PQclear(res);
	plan = json_incref(json_array_get(doc, 0));
	json_decref(doc);
	if (!json_is_object(plan)) {
		json_decref(plan);
		*err = pgx_xstrdup("the server's EXPLAIN output is not a JSON plan");
		return NULL;
	}
	return plan;
}

/* The first ModifyTable node of a plan tree (CTE and sub-plans included). */
const json_t *plan_find_modify(const json_t *node)
{
	const char *type = pgx_rec_str(node, "Node Type");
	json_t *kids = json_object_get(node, "Plans"), *kid;
	const json_t *found;
	size_t i;

	if (type && !strcmp(type, "ModifyTable"))
		return node;
	json_array_foreach(kids, i, kid)
		if ((found = plan_find_modify(kid)))
			return found;
	return NULL;
}

static const char *skip_blanks_and_comments(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p) || *p == '(')
			p++;
		if (p[0] == '-' && p[1] == '-') {
			p += strcspn(p, "\n");
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
		} else {
			return p;
		}
	}
}

static bool word_in(const char *word, const char *const *list)
{
	for (; *list; list++)
		if (!strcasecmp(word, *list))
			return true;
	return false;
}

static void first_word(const char *sql, char word[32])
{
	const char *p = skip_blanks_and_comments(sql);
	size_t n = 0;

	while (n < 31 && (isalpha((unsigned char)p[n]) || p[n] == '_'))
		n++;
	memcpy(word, p, n);
	word[n] = '\0';
}

/* NULL when the statement may be explained, else its first word (static). */
static const char *refused_keyword(const char *sql, char word[32])
{
	static const char *const allowed[] = { "select", "with", "values", "table", NULL };

	first_word(sql, word);
	if (word_in(word, allowed))
		return NULL;
	return *word ? word : "(empty)";
}

#define IDENT_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"

/* Past a dollar-quoted body ($tag$...$tag$) or a parameter ($1) at p. */
static const char *skip_dollar(const char *p)
{
	size_t n = 1 + strspn(p + 1, IDENT_CHARS);
	char tag[64];
	const char *end;

	if (p[n] != '$' || n + 1 >= sizeof(tag))
		return p + 1;
	memcpy(tag, p, n + 1);
	tag[n + 1] = '\0';
	end = strstr(p + n + 1, tag);
	return end ? end + n + 1 : p + strlen(p);
}

/* Past a '...' string or "..." identifier at p; backslashes escape in E'...'. */
const char *sql_skip_quoted(const char *p, bool backslash)
{
	char q = *p;

	for (p++; *p; p++) {
		if (backslash && *p == '\\' && p[1])
			p++;
		else if (*p == q) {
			if (p[1] != q)
				return p + 1;
			p++;
		}
	}
	return p;
}

enum top_level { TOP_PLAIN, TOP_INTO = 1, TOP_SELECT_INTO = 2, TOP_SEVERAL = 4 };

/* What appears outside parentheses, strings and comments: the word INTO
 * (after INSERT or MERGE too), INTO after any other word (SELECT ... INTO
 * creates a table, and EXPLAIN ANALYZE runs it even in a read-only
 * transaction), a semicolon followed by another statement. */
static unsigned top_level_scan(const char *p)
{
	int depth = 0;
	unsigned found = TOP_PLAIN;
	bool after_insert = false;

	while (*p) {
		if (p[0] == '-' && p[1] == '-')
			p += strcspn(p, "\n");
		else if (p[0] == '/' && p[1] == '*')
			p = strstr(p + 2, "*/") ? strstr(p + 2, "*/") + 2 : p + strlen(p);
		else if ((p[0] == 'E' || p[0] == 'e') && p[1] == '\'')
			p = sql_skip_quoted(p + 1, true);
		else if (*p == '\'' || *p == '"')
			p = sql_skip_quoted(p, false);
		else if (*p == '$')
			p = skip_dollar(p);
		else if (*p == '(' || *p == ')')
			depth += *p++ == '(' ? 1 : -1;
		else if (isalpha((unsigned char)*p) || *p == '_') {
			size_t n = strspn(p, IDENT_CHARS);
			if (depth == 0 && n == 4 && !strncasecmp(p, "into", 4))
				found |= TOP_INTO | (after_insert ? 0 : TOP_SELECT_INTO);
			after_insert = (n == 6 && !strncasecmp(p, "insert", 6)) ||
				       (n == 5 && !strncasecmp(p, "merge", 5));
			p += n;
		} else if (*p == ';' && depth == 0) {
			p += 1 + strspn(p + 1, " \t\r\n");
			if (*p)
				found |= TOP_SEVERAL;
		} else
			p++;
	}
	return found;
}

static bool has_top_level_into(const char *p)
{
	return top_level_scan(p) & TOP_INTO;
}

/* A statement PREPARE accepts by its shape: one SELECT, INSERT, UPDATE,
 * DELETE, MERGE, WITH, VALUES or TABLE, not SELECT ... INTO.  Decided here,
 * before anything is sent, so a utility statement never becomes a syntax
 * error in the server's log. */
bool sql_plannable(const char *sql)
{
	static const char *const plannable[] = { "select", "insert", "update", "delete", "merge",
						 "with", "values", "table", NULL };
	char word[32];

	first_word(sql, word);
	return word_in(word, plannable) && !(top_level_scan(sql) & (TOP_SELECT_INTO | TOP_SEVERAL));
}

static char *read_file_text(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f) {
		pgx_error("cannot open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	do {
		if (len + 4096 + 1 > cap)
			buf = pgx_xrealloc(buf, cap = cap ? cap * 2 : 8192);
		got = fread(buf + len, 1, cap - len - 1, f);
		len += got;
	} while (got > 0);
	buf[len] = '\0';
	if (ferror(f)) {
		pgx_error("cannot read \"%s\": %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	return buf;
}

/* The statement without surrounding blanks and one trailing semicolon. */
static char *statement_text(const struct query_opts *q)
{
	char *sql = q->explain_file ? read_file_text(q->explain_file) : pgx_xstrdup(q->explain_sql);
	size_t n;

	if (!sql)
		return NULL;
	n = strlen(sql);
	while (n && (isspace((unsigned char)sql[n - 1]) || (sql[n - 1] == ';')))
		sql[--n] = '\0';
	return sql;
}

static double plan_seconds(const json_t *plan, const char *key)
{
	json_t *v = json_object_get(plan, key);

	return json_is_number(v) ? json_number_value(v) / 1000.0 : -1;
}

/* skipped: why ANALYZE did not run, or NULL (it did, unless --no-analyze). */
static bool emit_plan(const struct poll_conn *pc, const struct poll_opts *o,
		      const struct query_opts *q, const char *cluster, const char *sql,
		      json_t *plan, const char *skipped, double ts)
{
	json_t *rec = pgx_record_new("plan", ts);
	json_t *top = json_object_get(plan, "Plan");
	double planning = plan_seconds(plan, "Planning Time");
	double execution = plan_seconds(plan, "Execution Time");

	json_object_set_new(rec, "cluster", json_string(cluster));
	json_object_set_new(rec, "db", json_string(pc->dbname));
	json_object_set_new(rec, "query", pgx_json_text(sql, strlen(sql), NULL));
	json_object_set_new(rec, "analyze", json_boolean(!q->no_analyze && !skipped));
	if (skipped)
		json_object_set_new(rec, "analyze_skipped", pgx_json_text(skipped, strlen(skipped), NULL));
	json_object_set_new(rec, "total_cost", json_incref(json_object_get(top, "Total Cost")));
	if (planning >= 0)
		json_object_set_new(rec, "planning_time_s", json_real(pgx_round_us(planning)));
	if (execution >= 0)
		json_object_set_new(rec, "execution_time_s", json_real(pgx_round_us(execution)));
	json_object_set_new(rec, "statement_timeout_ms", json_integer(o->statement_timeout_ms));
	json_object_set_new(rec, "plan", plan);
	return poll_emit(rec);
}

static void refuse_modify(const json_t *node)
{
	const char *op = pgx_rec_str(node, "Operation");
	const char *rel = pgx_rec_str(node, "Relation Name");

	pgx_error("refusing a data-modifying statement: its plan has a ModifyTable node (%s%s%s)",
		  op ? op : "modify", rel ? " on " : "", rel ? rel : "");
	pgx_hint("pgx-poll explains SELECT statements only; nothing was executed");
}

/* Plans sql inside the open read-only transaction: 0 and *out (with
 * *skipped, malloc'd, when ANALYZE was not safe), or an exit status. */
static int plan_statement(PGconn *conn, const struct query_opts *q, const char *sql,
			  json_t **out, char **skipped)
{
	char *err = NULL;
	json_t *plain = explain_json(conn, "FORMAT JSON", sql, &err);
	const json_t *modify;

	if (!plain) {
		pgx_error("cannot explain the statement: %s", err);
		free(err);
		return PGX_EXIT_FAILED;
	}
	if ((modify = plan_find_modify(json_object_get(plain, "Plan")))) {
		refuse_modify(modify);
		json_decref(plain);
		return PGX_EXIT_USAGE;
	}
	if (q->no_analyze || (*skipped = analyze_blocker(conn, sql))) {
		if (*skipped)
			pgx_warn("EXPLAIN without ANALYZE: the statement %s", *skipped);
		*out = plain;
		return PGX_EXIT_OK;
	}
	json_decref(plain);
	*out = explain_json(conn, "ANALYZE, BUFFERS, FORMAT JSON", sql, &err);
	if (*out)
		return PGX_EXIT_OK;
	pgx_error("EXPLAIN ANALYZE failed: %s", err);
	free(err);
	return PGX_EXIT_FAILED;
}

int explain_run(struct poll_conn *pc, const struct poll_opts *o,
		const struct query_opts *q, const char *cluster)
{
	char *sql = statement_text(q), *err = NULL, *skipped = NULL, word[32];
	const char *bad;
	json_t *plan = NULL;
	double ts = pgx_now();
	int status;

	if (!sql)
		return PGX_EXIT_INPUT;
	if ((bad = refused_keyword(sql, word)) || has_top_level_into(sql)) {
		if (bad)
			pgx_error("refusing to explain a statement that starts with \"%s\"", bad);
		else
			pgx_error("refusing SELECT ... INTO: it creates a table");
		pgx_hint("give a SELECT, WITH, VALUES or TABLE statement, without EXPLAIN; nothing was executed");
		free(sql);
		return PGX_EXIT_USAGE;
	}
	if (!explain_begin(pc->conn, o, &err)) {
		pgx_error("cannot start a read-only transaction: %s", err);
		free(err);
		free(sql);
		return PGX_EXIT_FAILED;
	}
	status = plan_statement(pc->conn, q, sql, &plan, &skipped);
	if (!explain_command(pc->conn, "ROLLBACK", &err)) {
		pgx_warn("ROLLBACK failed: %s", err);
		free(err);
	}
	if (!status && !emit_plan(pc, o, q, cluster, sql, plan, skipped, ts))
		status = PGX_EXIT_OUTPUT;
	if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	free(skipped);
	free(sql);
	return status;
}
