/* cluster.c - what pgx-apply asks PostgreSQL before it changes anything */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "apply.h"

/* ALTER SYSTEM may wait on nothing but the auto.conf file lock; keep both short. */
#define STATEMENT_TIMEOUT_MS 30000
#define LOCK_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_S 10

PGconn *cluster_new_session(const char *dsn, bool read_only)
{
	struct pgx_pq_options opt = {
		.dsn = dsn,
		.read_only = read_only,
		.connect_timeout_s = CONNECT_TIMEOUT_S,
		.statement_timeout_ms = STATEMENT_TIMEOUT_MS,
		.lock_timeout_ms = LOCK_TIMEOUT_MS,
	};

	return pgx_pq_connect(&opt);
}

/* A session that sets nothing itself, to read the values as the server gives
 * them: pgx_pq_connect's SETs, fallback_application_name, the DSN's and
 * PGOPTIONS' options and PGAPPNAME would all show instead of the server's. */
PGconn *cluster_probe_session(const char *dsn)
{
	PQconninfoOption *opts = PQconninfoParse(dsn ? dsn : "", NULL), *o;
	const char *keys[64], *values[64], *appname = getenv("PGAPPNAME");
	char *saved = appname ? pgx_xstrdup(appname) : NULL, *msg;
	PGconn *conn;
	int n = 0;

	keys[n] = "connect_timeout", values[n++] = "10";
	if (!opts && dsn && *dsn)	/* a bare database name */
		keys[n] = "dbname", values[n++] = dsn;
	for (o = opts; o && o->keyword && n < 60; o++)
		if (o->val && *o->val && strcmp(o->keyword, "application_name") &&
		    strcmp(o->keyword, "fallback_application_name") && strcmp(o->keyword, "options"))
			keys[n] = o->keyword, values[n++] = o->val;
	keys[n] = "options", values[n++] = " ";	/* non-empty, so PGOPTIONS is not read */
	keys[n] = NULL, values[n] = NULL;
	unsetenv("PGAPPNAME");
	conn = PQconnectdbParams(keys, values, 0);
	if (saved)
		setenv("PGAPPNAME", saved, 1);
	free(saved);
	PQconninfoFree(opts);
	if (conn && PQstatus(conn) == CONNECTION_OK)
		return conn;
	msg = conn ? pgx_pq_conn_error(conn, dsn) : pgx_xstrdup("out of memory");
	pgx_error("%s", msg);
	free(msg);
	PQfinish(conn);
	return NULL;
}

/* One row, one query, text parameters; NULL (reported unless quiet) on error. */
static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *args, bool quiet)
{
	char *marked = pgx_sql_marked(sql);
	PGresult *res = PQexecParams(conn, marked, n, NULL, args, NULL, NULL, 0);

	free(marked);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	if (!quiet) {
		char *msg = pgx_pq_error_line(conn, res, PGX_PQ_DETAIL | PGX_PQ_HINT);
		pgx_error("query failed: %s", msg);
		free(msg);
	}
	PQclear(res);
	return NULL;
}

static char *cell(PGresult *res, int col)
{
	return PQntuples(res) && !PQgetisnull(res, 0, col) ? pgx_xstrdup(PQgetvalue(res, 0, col)) : NULL;
}

static bool cell_true(PGresult *res, int col)
{
	return PQntuples(res) && !PQgetisnull(res, 0, col) && !strcmp(PQgetvalue(res, 0, col), "t");
}

/* system_identifier and port; the host and port when pg_control_system() is not ours to run. */
static char *fingerprint(struct cluster *c)
{
	PGresult *res = query(c->conn, "SELECT (SELECT system_identifier FROM pg_catalog.pg_control_system()),"
			      " current_setting('port')", 0, NULL, true);
	char buf[512];

	if (res && !PQgetisnull(res, 0, 0))
		snprintf(buf, sizeof(buf), "%s-%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	else {
		const char *host = PQhost(c->conn);
		snprintf(buf, sizeof(buf), "host-%s-%s", host && *host ? host : "local",
			 PQport(c->conn) ? PQport(c->conn) : "5432");
		for (char *p = buf; *p; p++)
			if (!strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.", *p))
				*p = '_';
	}
	PQclear(res);
	return pgx_xstrdup(buf);
}

static bool replication_state(struct cluster *c);

/* A plan runs read-only: the dry run cannot change anything even by mistake. */
bool cluster_open(struct cluster *c, const char *dsn, bool read_only)
{
	static const char sql[] =
		"SELECT current_setting('server_version_num')::int, current_user,"
		" (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),"
		" pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE'),"
		" pg_catalog.has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE'),"
		" CASE WHEN pg_catalog.pg_has_role('pg_read_all_settings', 'USAGE')"
		"  THEN current_setting('data_directory') END";
	PGresult *res;

	memset(c, 0, sizeof(*c));
	c->dsn = dsn;
	if (!(c->conn = cluster_new_session(dsn, read_only)))
		return false;
	if (!(res = query(c->conn, sql, 0, NULL, false))) {
		cluster_close(c);
		return false;
	}
	c->version_num = atoi(PQgetvalue(res, 0, 0));
	c->user = cell(res, 1);
	c->superuser = cell_true(res, 2);
	c->read_all_settings = c->superuser || cell_true(res, 3);
	c->can_reload = c->superuser || cell_true(res, 4);
	c->data_dir = cell(res, 5);
	PQclear(res);
	c->fingerprint = fingerprint(c);
	if (!(c->probe = cluster_probe_session(dsn)) || !replication_state(c)) {
		cluster_close(c);
		return false;
	}
	return true;
}

void cluster_close(struct cluster *c)
{
	pgx_pq_finish(c->conn);
	c->conn = NULL;
	PQfinish(c->probe);
	c->probe = NULL;
	PQfinish(c->lock_conn);	/* ends the server's advisory lock */
	c->lock_conn = NULL;
	free(c->fingerprint);
	free(c->user);
	free(c->data_dir);
	free(c->patroni_why);
	c->fingerprint = c->user = c->data_dir = c->patroni_why = NULL;
	json_decref(c->patroni_config);
	c->patroni_config = NULL;
}

/* Fill p from pg_settings; p->exists stays false for an unknown name. */
bool cluster_describe(struct cluster *c, struct param *p)
{
	static const char sql[] =
		"SELECT name, setting, unit, vartype, context, source, min_val, max_val,"
		" enumvals::text, current_setting(name), pending_restart"
		" FROM pg_catalog.pg_settings WHERE lower(name) = lower($1)";
	const char *args[1] = { p->name };
	PGresult *res = query(c->probe, sql, 1, args, false);

	if (!res)
		return false;
	if (PQntuples(res) == 1) {
		p->pending_restart = cell_true(res, 10);
		p->exists = true;
		set_str(&p->name, PQgetvalue(res, 0, 0));
		p->from_setting = cell(res, 1);
		p->unit = cell(res, 2);
		p->vartype = cell(res, 3);
		p->context = cell(res, 4);
		p->source = cell(res, 5);
		p->min_val = cell(res, 6);
		p->max_val = cell(res, 7);
		p->enumvals = cell(res, 8);
		p->from = cell(res, 9);
		p->restart = p->context && !strcmp(p->context, "postmaster");
	}
	PQclear(res);
	return true;
}

/* Whether p is in postgresql.auto.conf, and with what value.  pg_file_settings
 * (superuser) sees a value waiting for a restart too; pg_settings.sourcefile
 * (pg_read_all_settings) only the live one.  *known false: neither is readable. */
bool cluster_auto_conf(struct cluster *c, struct param *p, bool *known)
{
	static const char file_sql[] =
		"SELECT setting FROM pg_catalog.pg_file_settings WHERE lower(name) = lower($1)"
		" AND sourcefile ~ '(^|/)postgresql\\.auto\\.conf$' ORDER BY seqno DESC LIMIT 1";
	static const char live_sql[] =
		"SELECT current_setting(name) FROM pg_catalog.pg_settings WHERE name = $1"
		" AND sourcefile ~ '(^|/)postgresql\\.auto\\.conf$'";
	const char *args[1] = { p->name };
	PGresult *res;

	*known = c->read_all_settings;
	if (!*known)
		return true;
	if (!(res = query(c->superuser ? c->conn : c->probe, c->superuser ? file_sql : live_sql, 1,
			  args, false)))
		return false;
	p->in_auto_conf = PQntuples(res) > 0;
	set_str(&p->auto_value, p->in_auto_conf ? PQgetvalue(res, 0, 0) : NULL);
	PQclear(res);
	return true;
}

/* Superuser, or GRANT ALTER SYSTEM ON PARAMETER (PostgreSQL 15 and later). */
bool cluster_can_alter(struct cluster *c, const char *name)
{
	const char *args[1] = { name };
	PGresult *res;
	bool ok;

	if (c->superuser)
		return true;
	if (c->version_num < 150000)
		return false;
	res = query(c->conn, "SELECT pg_catalog.has_parameter_privilege($1, 'ALTER SYSTEM')", 1,
		    args, true);
	ok = res && cell_true(res, 0);
	PQclear(res);
	return ok;
}

static bool local_connection(PGconn *conn)
{
	const char *host = PQhost(conn);

	return !host || !*host || host[0] == '/' || !strcmp(host, "localhost") ||
	       !strcmp(host, "127.0.0.1") || !strcmp(host, "::1");
}

static bool file_has(const char *path, const char *needle)
{
	char line[512];
	bool hit = false;
	FILE *f = fopen(path, "r");

	for (int i = 0; f && !hit && i < 5 && fgets(line, sizeof(line), f); i++)
		hit = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return hit;
}

/* Patroni manages the cluster if told so, if one of its sessions is
 * connected, or (same host) if its files are in the data directory. */
bool cluster_detect_patroni(struct cluster *c, const char *url)
{
	char buf[4200];
	PGresult *res;

	if (url) {
		snprintf(buf, sizeof(buf), "--patroni %s", url);
		c->patroni_why = pgx_xstrdup(buf);
		return true;
	}
	res = query(c->conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity"
		    " WHERE application_name LIKE 'Patroni%'", 0, NULL, true);
	if (res && strcmp(PQgetvalue(res, 0, 0), "0"))
		c->patroni_why = pgx_xstrdup("a Patroni session in pg_stat_activity");
	PQclear(res);
	if (!c->patroni_why && c->data_dir && local_connection(c->conn)) {
		snprintf(buf, sizeof(buf), "%s/patroni.dynamic.json", c->data_dir);
		if (access(buf, F_OK) == 0) {
			snprintf(buf, sizeof(buf), "'%s/patroni.dynamic.json' exists", c->data_dir);
			c->patroni_why = pgx_xstrdup(buf);
		}
		snprintf(buf, sizeof(buf), "%s/postgresql.conf", c->data_dir);
		if (!c->patroni_why && file_has(buf, "overwritten by Patroni")) {
			snprintf(buf, sizeof(buf), "'%s/postgresql.conf' is written by Patroni", c->data_dir);
			c->patroni_why = pgx_xstrdup(buf);
		}
	}
	return c->patroni_why != NULL;
}

/* A string the session may SET is validated and spelt by the server itself:
 * set_config() inside a transaction that is rolled back.  Returns false with
 * *why set when the server refuses the value; *canonical gets its spelling. */
bool cluster_try_value(struct cluster *c, const struct param *p, char **canonical, char **why)
{
	const char *args[2] = { p->name, p->to };
	PGresult *res;
	bool ok;

	*canonical = *why = NULL;
	PQclear(PQexec(c->conn, PGX_SQL_MARK "BEGIN"));
	res = PQexecParams(c->conn, PGX_SQL_MARK "SELECT pg_catalog.set_config($1, $2, true),"
			   " pg_catalog.current_setting($1)", 2, NULL, args, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok)
		*canonical = pgx_xstrdup(PQgetvalue(res, 0, 1));
	else
		*why = pgx_pq_error_line(c->conn, res, 0);
	PQclear(res);
	PQclear(PQexec(c->conn, PGX_SQL_MARK "ROLLBACK"));
	return ok;
}

/* Whether the server is a standby, and what replicates from it: the changes
 * that would cut off a replica or a slot are refused on that. */
static bool replication_state(struct cluster *c)
{
	static const char sql[] =
		"SELECT pg_catalog.pg_is_in_recovery(),"
		" (SELECT count(*) FROM pg_catalog.pg_stat_replication),"
		" (SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_type = 'physical'),"
		" (SELECT count(*) FROM pg_catalog.pg_replication_slots WHERE slot_type = 'logical')";
	PGresult *res = query(c->probe, sql, 0, NULL, false);

	if (!res)
		return false;
	c->in_recovery = cell_true(res, 0);
	c->walsenders = atol(PQgetvalue(res, 0, 1));
	c->physical_slots = atol(PQgetvalue(res, 0, 2));
	c->logical_slots = atol(PQgetvalue(res, 0, 3));
	PQclear(res);
	return true;
}

static void describe_server_holder(PGconn *conn, char *buf, size_t len)
{
	static const char sql[] =
		"SELECT a.pid, coalesce(a.application_name, ''),"
		" coalesce(host(a.client_addr), 'local socket'),"
		" to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		" FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a USING (pid)"
		" WHERE l.locktype = 'advisory' AND l.granted AND l.classid = " APPLY_LOCK_KEY1_SQL
		" AND l.objid = " APPLY_LOCK_KEY2_SQL " AND l.objsubid = 2";
	PGresult *res = query(conn, sql, 0, NULL, true);

	if (res && PQntuples(res) == 1)
		snprintf(buf, len, "backend pid %s (application_name '%s', client %s, backend_start %s)",
			 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
			 PQgetvalue(res, 0, 3));
	else
		snprintf(buf, len, "a session this role cannot see");
	PQclear(res);
}

/* The lock every pgx-apply takes on the server itself, whatever host or
 * state directory it runs from; held by its own session until the end.
 * 0 taken, 1 held by another session (reported), -1 error (reported). */
int cluster_lock_server(struct cluster *c)
{
	const char *keys[] = { "dbname", "fallback_application_name", "connect_timeout", NULL };
	const char *values[] = { c->dsn, pgx_progname(), "10", NULL };
	char holder[512];
	PGresult *res;
	bool taken;

	c->lock_conn = PQconnectdbParams(keys, values, 1);
	if (!c->lock_conn || PQstatus(c->lock_conn) != CONNECTION_OK) {
		char *msg = c->lock_conn ? pgx_pq_conn_error(c->lock_conn, c->dsn) : pgx_xstrdup("out of memory");
		pgx_error("%s", msg);
		free(msg);
		return -1;
	}
	res = query(c->lock_conn, "SELECT pg_catalog.pg_try_advisory_lock(" APPLY_LOCK_KEY1_SQL ", "
		    APPLY_LOCK_KEY2_SQL ")", 0, NULL, false);
	if (!res)
		return -1;
	taken = cell_true(res, 0);
	PQclear(res);
	if (taken)
		return 0;
	describe_server_holder(c->lock_conn, holder, sizeof(holder));
	pgx_error("cluster is locked on the server by %s", holder);
	pgx_hint("another pgx-apply holds pg_advisory_lock(%s, %s) there", APPLY_LOCK_KEY1_SQL,
		 APPLY_LOCK_KEY2_SQL);
	return 1;
}
