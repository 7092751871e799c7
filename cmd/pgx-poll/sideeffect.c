/* sideeffect.c - may EXPLAIN ANALYZE run a statement? Only when nothing it calls acts outside the transaction
 *
 * BEGIN READ ONLY ... ROLLBACK stops writes to tables, not what a function
 * does elsewhere: pg_terminate_backend(), pg_stat_reset(), dblink_exec() on
 * another session, nextval(), pg_notify() all run and stay done.  What a
 * statement calls is taken from the server, not from its text: the plan of
 * EXPLAIN (VERBOSE) shows every expression the executor evaluates (views
 * and inlined SQL functions expanded, RLS quals, init plans and sub plans)
 * deparsed, with function names qualified when not on the search_path.
 * Its expressions are scanned for names followed by '(' (outside string
 * literals and cast targets), operator symbols and casts; the catalog then
 * judges every function those may mean: any overload of the name, the
 * function behind any operator of the symbol, an aggregate's support
 * functions, user-defined cast functions (implicit ones always: the deparsed
 * plan does not show them; explicit ones to a type named after "::"), the
 * functions in the checks of a domain named after "::" or taken by a called
 * function, and those of user-defined operator classes (a sort, a hash or a
 * GROUP BY calls them unseen).
 * Over-approximating only costs the ANALYZE; a name the catalog does not
 * know blocks it too.  Not seen: functions the planner folded into
 * constants, which plain EXPLAIN has run already (see the man page). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"
#include "explain.h"

/* What the plan's expressions may call. */
struct calls {
	json_t *schemas, *names;	/* parallel: "" when unqualified */
	json_t *constructs;		/* parallel: "t" when the name is a construct */
	json_t *operators;		/* operator symbols */
	json_t *types;			/* names after "::" */
	char *foreign;			/* a foreign table read (malloc'd), or NULL */
};

/* Deparsed constructs written like calls ("CASE WHEN (", "COALESCE(") that
 * are no function: not an error when the catalog has none by that name.
 * When it has (a user's json_array() on a server where JSON_ARRAY is no
 * keyword yet), the function is judged like any other. */
static const char *const not_calls[] = {
	"all", "and", "any", "array", "as", "between", "by", "case", "cast", "coalesce",
	"columns", "cube", "default", "distinct", "else", "escape", "exists", "filter",
	"for", "from", "greatest", "group", "grouping", "groups", "ilike", "in", "is",
	"json", "json_array", "json_arrayagg", "json_exists", "json_objectagg",
	"json_query", "json_scalar", "json_serialize", "json_table", "json_value",
	"lateral", "least", "like", "not", "nullif", "on", "operator", "or", "order",
	"over", "partition", "passing", "range", "returning", "rollup", "row", "rows",
	"select", "sets", "similar", "some", "then", "treat", "trim", "using", "values",
	"when", "where", "with", "within", "xmlattributes", "xmlconcat", "xmlelement",
	"xmlexists", "xmlforest", "xmlparse", "xmlpi", "xmlroot", "xmlserialize",
	"xmltable",
};

/* Words format_type() puts after a type name: "character varying",
 * "timestamp(3) without time zone", "interval day to second". */
static const char *const type_words[] = {
	"day", "hour", "minute", "month", "precision", "second", "time", "to", "varying",
	"with", "without", "year", "zone",
};

#define OPERATOR_CHARS "+-*/<>=~!@#%^&|`?"

static bool in_list(const char *word, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(word, list[i]))
			return true;
	return false;
}

static bool ident_start(char c)
{
	return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80;
}

static bool ident_char(char c)
{
	return ident_start(c) || isdigit((unsigned char)c) || c == '$';
}

/* One identifier at p into buf: "quoted" unquoted, otherwise lower-cased. */
static const char *read_ident(const char *p, char *buf, size_t len, bool *quoted)
{
	size_t n = 0;

	*quoted = *p == '"';
	if (*quoted) {
		for (p++; *p && !(p[0] == '"' && p[1] != '"'); p++) {
			if (p[0] == '"')
				p++;
			if (n + 1 < len)
				buf[n++] = *p;
		}
		if (*p)
			p++;
	} else {
		for (; ident_char(*p); p++)
			if (n + 1 < len)
				buf[n++] = (char)tolower((unsigned char)*p);
	}
	buf[n] = '\0';
	return p;
}

/* A typmod written right after a type name: "(10)", "(10,2)". */
static const char *skip_typmod(const char *p)
{
	size_t n;

	if (*p != '(')
		return p;
	n = strspn(p + 1, "0123456789, ");
	return p[1 + n] == ')' ? p + n + 2 : p;
}

/* Past the type name after "::", so "varying(10)" is not taken for a call;
 * the name (without schema) noted. */
static const char *skip_type(struct calls *c, const char *p)
{
	char word[128];
	bool quoted;

	do
		p = read_ident(p + (*p == '.'), word, sizeof(word), &quoted);
	while (*p == '.');
	json_array_append_new(c->types, json_string_nocheck(word));
	for (;;) {
		const char *q = skip_typmod(p);

		while (q[0] == '[' && q[1] == ']')
			q += 2;
		if (q == p && *p == ' ' && ident_start(p[1])) {
			q = read_ident(p + 1, word, sizeof(word), &quoted);
			if (quoted || !in_list(word, type_words, sizeof(type_words) / sizeof(*type_words)))
				return p;
		}
		if (q == p)
			return p;
		p = q;
	}
}

/* A possibly qualified name at p; noted when a '(' follows. */
static const char *scan_name(struct calls *c, const char *p)
{
	char schema[128] = "", name[128];
	bool quoted;
	const char *q;

	p = read_ident(p, name, sizeof(name), &quoted);
	while (*p == '.' && (ident_start(p[1]) || p[1] == '"')) {
		memcpy(schema, name, sizeof(schema));
		p = read_ident(p + 1, name, sizeof(name), &quoted);
	}
	for (q = p; *q == ' '; q++)
		;
	if (*q != '(')
		return p;
	json_array_append_new(c->schemas, json_string_nocheck(schema));
	json_array_append_new(c->names, json_string_nocheck(name));
	json_array_append_new(c->constructs, json_string(!quoted && !schema[0] &&
		in_list(name, not_calls, sizeof(not_calls) / sizeof(*not_calls)) ? "t" : "f"));
	return p;
}

static void scan_expression(struct calls *c, const char *p)
{
	while (*p) {
		if (*p == '\'')
			p = sql_skip_quoted(p, false);
		else if ((*p == 'E' || *p == 'e') && p[1] == '\'')
			p = sql_skip_quoted(p + 1, true);
		else if (p[0] == ':' && p[1] == ':')
			p = skip_type(c, p + 2);
		else if (*p == '"' || ident_start(*p))
			p = scan_name(c, p);
		else if (isdigit((unsigned char)*p))
			while (ident_char(*p) || *p == '.')
				p++;
		else if (strchr(OPERATOR_CHARS, *p)) {
			size_t n = strspn(p, OPERATOR_CHARS);

			json_array_append_new(c->operators, json_stringn(p, n));
			p += n;
		} else
			p++;
	}
}

/* Keys whose values are names, never expressions ("Relation Name", "Alias"...). */
static bool holds_names(const char *key)
{
	size_t n = strlen(key);

	return !strcmp(key, "Node Type") || !strcmp(key, "Alias") || !strcmp(key, "Schema") ||
	       (n >= 5 && !strcmp(key + n - 5, " Name"));
}

static void scan_plan(struct calls *c, const json_t *v)
{
	const char *key;
	json_t *kid;
	size_t i;

	if (json_is_string(v)) {
		scan_expression(c, json_string_value(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, kid)
			scan_plan(c, kid);
	} else if (json_is_object(v)) {
		const char *type = pgx_rec_str(v, "Node Type");

		if (type && !strcmp(type, "Foreign Scan") && !c->foreign) {
			const char *rel = pgx_rec_str(v, "Relation Name");

			if (!rel)	/* a join pushed down to the remote server */
				rel = pgx_rec_str(v, "Relations");
			c->foreign = pgx_xstrdup(rel ? rel : "?");
		}
		json_object_foreach((json_t *)v, key, kid)
			if (!holds_names(key))
				scan_plan(c, kid);
	}
}

/* A text[] literal: {"a","b\"c"}; caller frees. */
static char *text_array(const json_t *items)
{
	size_t i, len = 3;
	json_t *item;
	char *out, *o;

	json_array_foreach(items, i, item)
		len += 2 * strlen(json_string_value(item)) + 3;
	o = out = pgx_xmalloc(len);
	*o++ = '{';
	json_array_foreach(items, i, item) {
		const char *s = json_string_value(item);

		if (i)
			*o++ = ',';
		*o++ = '"';
		for (; *s; s++) {
			if (*s == '"' || *s == '\\')
				*o++ = '\\';
			*o++ = *s;
		}
		*o++ = '"';
	}
	strcpy(o, "}");
	return out;
}

/* The functions the plan may call, judged; the first unsafe one with why.
 * deny: acts outside the transaction whatever its volatility.  allow:
 * volatile in pg_catalog but harmless (reads, clocks, random, sleep).  A
 * function outside pg_catalog in SQL, PL/pgSQL or another PL can call
 * anything, whatever it is declared. */
static const char sql_judge[] =
	PGX_SQL_MARK "WITH called AS (\n"
	"  SELECT s AS nsp, f AS name, k AS construct\n"
	"    FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[]),\n"
	"                    pg_catalog.unnest($5::bool[])) u(s, f, k)),\n"
	"by_name AS (\n"
	"  SELECT c.name, c.construct, p.oid FROM called c\n"
	"    LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = c.nsp\n"
	"    LEFT JOIN pg_catalog.pg_proc p ON p.proname = c.name\n"
	"     AND (c.nsp = '' OR p.pronamespace = n.oid)),\n"
	"direct AS (\n"
	"  SELECT oid FROM by_name WHERE oid IS NOT NULL\n"
	"  UNION\n"
	"  SELECT oprcode FROM pg_catalog.pg_operator WHERE oprname = ANY ($3::text[])\n"
	"  UNION\n"
	"  SELECT k.castfunc FROM pg_catalog.pg_cast k\n"
	"    JOIN pg_catalog.pg_type t ON t.oid = k.casttarget\n"
	"   WHERE k.castfunc <> 0 AND k.oid >= 16384\n"
	"     AND (k.castcontext <> 'e' OR t.typname = ANY ($4::text[]))\n"
	"  UNION\n"
	"  SELECT d.refobjid FROM pg_catalog.pg_constraint k\n"
	"    JOIN pg_catalog.pg_type t ON t.oid = k.contypid\n"
	"    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass\n"
	"     AND d.objid = k.oid AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass\n"
	"   WHERE t.typname = ANY ($4::text[])\n"
	"      OR k.contypid IN (SELECT pg_catalog.unnest(p.proargtypes::oid[])\n"
	"                          FROM by_name b JOIN pg_catalog.pg_proc p ON p.oid = b.oid)\n"
	"  UNION\n"
	"  SELECT amproc FROM pg_catalog.pg_amproc WHERE oid >= 16384\n"
	"  UNION\n"
	"  SELECT o.oprcode FROM pg_catalog.pg_amop a\n"
	"    JOIN pg_catalog.pg_operator o ON o.oid = a.amopopr WHERE a.oid >= 16384),\n"
	"calls AS (\n"
	"  SELECT oid FROM direct\n"
	"  UNION\n"
	"  SELECT f::oid FROM pg_catalog.pg_aggregate a, LATERAL pg_catalog.unnest(ARRAY[\n"
	"         a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,\n"
	"         a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn]) f\n"
	"   WHERE a.aggfnoid IN (SELECT oid FROM direct) AND f::oid <> 0),\n"
	"judged AS (\n"
	"  SELECT p.oid::pg_catalog.regprocedure::text AS fn, CASE\n"
	"    WHEN p.proname LIKE ANY (ARRAY['dblink%', 'pg_terminate_backend', 'pg_cancel_backend',\n"
	"         'pg\\_stat%reset%', 'pg_switch_wal', 'pg_reload_conf', 'pg_notify', 'set_config',\n"
	"         'lo\\_%', 'loread', 'lowrite', 'pg%advisory%', 'pg_rotate_logfile%',\n"
	"         'pg_create_restore_point', 'pg_promote', 'pg_log_backend_memory_contexts',\n"
	"         'pg\\_file\\_%', 'pg_read_file%', 'pg_read_binary_file', 'pg_logdir_ls',\n"
	"         'nextval', 'setval', 'txid_current%', 'pg_current_xact_id%',\n"
	"         'pg_logical_emit_message', '%replication\\_slot%', 'pg_logical_slot%',\n"
	"         'pg_replication_origin%', 'pg_wal_replay_%', 'pg_backup_%', 'pg_export_snapshot',\n"
	"         'query_to_xml%', 'cursor_to_xml%', 'pg_import_system_collations',\n"
	"         'binary_upgrade%'])\n"
	"      THEN 1\n"
	"    WHEN n.nspname = 'pg_catalog' AND p.proname LIKE ANY (ARRAY['random', 'random_normal',\n"
	"         'clock_timestamp', 'timeofday', 'gen_random_uuid', 'pg_sleep%', 'currval', 'lastval',\n"
	"         'pg_is_in_recovery', 'pg_current_wal%lsn', 'pg_last_wal_%_lsn',\n"
	"         'pg_last_xact_replay_timestamp', 'pg_is_wal_replay_paused',\n"
	"         'pg_get_wal_replay_pause_state', 'pg_%size', 'pg_lock_status', 'pg%blocking_pids',\n"
	"         'pg\\_stat\\_get\\_xact\\_%', 'pg_stat_have_stats', 'pg\\_control\\_%',\n"
	"         'pg_partition_tree', 'pg_partition_ancestors', 'pg_sequence_last_value',\n"
	"         'pg_notification_queue_usage', 'pg_prepared_xact', 'pg_last_committed_xact',\n"
	"         'pg_xact_commit_timestamp%', 'pg_xact_status', 'txid_status', 'pg_jit_available',\n"
	"         'pg_get_backend_memory_contexts', 'pg_get_shmem_allocations', 'pg_current_logfile'])\n"
	"      THEN NULL\n"
	"    WHEN p.provolatile = 'v' THEN 2\n"
	"    WHEN n.nspname <> 'pg_catalog' AND l.lanname NOT IN ('c', 'internal') THEN 3\n"
	"    END AS rank, l.lanname\n"
	"    FROM calls c JOIN pg_catalog.pg_proc p ON p.oid = c.oid\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace\n"
	"    JOIN pg_catalog.pg_language l ON l.oid = p.prolang),\n"
	"why AS (\n"
	"  SELECT rank, fn, CASE rank WHEN 1 THEN 'acts outside the transaction'\n"
	"    WHEN 2 THEN 'is volatile: it may act outside the transaction'\n"
	"    ELSE 'is written in ' || lanname || ', which can call anything' END AS what\n"
	"    FROM judged WHERE rank IS NOT NULL\n"
	"  UNION ALL\n"
	"  SELECT 4, name || '()', 'is not a function pgx-poll can find in the catalog'\n"
	"    FROM by_name WHERE oid IS NULL AND NOT construct\n"
	"     AND pg_catalog.to_regtype(pg_catalog.quote_ident(name)) IS NULL)\n"
	"SELECT 'calls ' || fn || ', which ' || what FROM why ORDER BY rank, fn LIMIT 1";

/* NULL when every call is safe, else why not (malloc'd). */
static char *judge_calls(PGconn *conn, const struct calls *c)
{
	char *params[5] = {
		text_array(c->schemas), text_array(c->names), text_array(c->operators),
		text_array(c->types), text_array(c->constructs),
	};
	PGresult *res = PQexecParams(conn, sql_judge, 5, NULL, (const char *const *)params,
				     NULL, NULL, 0);
	char *why = NULL;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *err = explain_error(conn, res);

		if (asprintf(&why, "may call anything: the catalog check failed: %s", err) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		free(err);
	} else if (PQntuples(res) == 1) {
		why = pgx_xstrdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	for (int i = 0; i < 5; i++)
		free(params[i]);
	return why;
}

char *analyze_blocker(PGconn *conn, const char *sql)
{
	struct calls c = { json_array(), json_array(), json_array(), json_array(), json_array(),
			   NULL };
	char *err = NULL, *why = NULL;
	json_t *plan = explain_json(conn, "VERBOSE, FORMAT JSON", sql, &err);

	if (!plan) {
		if (asprintf(&why, "may call anything: EXPLAIN (VERBOSE) failed: %s", err) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	} else {
		scan_plan(&c, plan);
		if (c.foreign && asprintf(&why, "reads foreign data (%s), which its wrapper"
					  " fetches outside the transaction", c.foreign) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		if (!why)
			why = judge_calls(conn, &c);
	}
	free(err);
	free(c.foreign);
	json_decref(plan);
	json_decref(c.schemas);
	json_decref(c.names);
	json_decref(c.constructs);
	json_decref(c.operators);
	json_decref(c.types);
	return why;
}
