/* guard.c - pgx-poll runs as a monitoring role: the session can become no role that can write */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"

/* The guard judges the session, not the current role.  SET ROLE is checked
 * against session_user, and a superuser DSN with options='-c role=monitor'
 * (or ALTER ROLE ... SET role) leaves a monitoring current_user on a session
 * that can SET ROLE back to anything.  So "reach" is every role session_user
 * (or current_user) is a member of, NOINHERIT grants included ('MEMBER', not
 * 'USAGE'): the session can take the privileges of each of them.  It is
 * unsafe when one of them
 *   1. is a superuser;
 *   2. is pg_write_all_data, pg_write_server_files, pg_execute_server_program
 *      or pg_signal_backend;
 *   3. has CREATEROLE (grants itself any role), CREATEDB or REPLICATION
 *      (slots hold WAL);
 *   4. can write a user relation (outside pg_catalog, information_schema,
 *      TOAST and temp schemas): owns it, or its ACL or a column's grants it
 *      (or PUBLIC) INSERT, UPDATE, DELETE or TRUNCATE, or USAGE on a
 *      sequence (nextval);
 *   5. owns a schema of this database or any database;
 *   6. has CREATE on one (granted to it or PUBLIC).
 * TEMP on a database is allowed: every role has it by default, and a temp
 * table is the session's own.  The first reason by that order is reported.
 *
 * The cost stays flat on 100k relations: reach is a handful of roles,
 * materialized once, so ownership and grantees are hashed lookups, not a
 * pg_has_role() per table; ACLs are exploded only where one is set
 * (relacl/attacl not NULL: a NULL ACL means the owner alone), column ACLs by
 * one scan of pg_attribute (MATERIALIZED: probing it per relation by index
 * costs 20 times more on 50,000 tables).  That scan is most of the guard's
 * time in a new session: it is the one place pgx-poll reads every page of
 * pg_attribute, and a backend's first touch of each shared buffer page
 * costs more than reading it; nothing cheaper answers "does a column grant
 * PUBLIC INSERT" (column grants to PUBLIC by the owner leave no pg_shdepend
 * row).  It stays one statement, sent after the probe in one round trip
 * (run.c). */
static const char sql_unsafe[] =
	"WITH reach AS MATERIALIZED (\n"
	"  SELECT r.oid, r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication\n"
	"    FROM pg_catalog.pg_roles r\n"
	"   WHERE pg_catalog.pg_has_role(session_user, r.oid, 'MEMBER')\n"
	"      OR pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')),\n"
	"me AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user),\n"
	"rels AS (\n"
	"  SELECT c.oid, c.relowner, c.relacl FROM pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"   WHERE c.relkind IN ('r', 'p', 'v', 'f', 'm', 'S')\n"
	"     AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'),\n"
	"cols AS MATERIALIZED (SELECT attrelid, attacl FROM pg_catalog.pg_attribute\n"
	"                       WHERE attacl IS NOT NULL),\n"
	"w AS (\n"
	"  SELECT oid, relowner AS via FROM rels WHERE relowner IN (SELECT oid FROM reach)\n"
	"  UNION ALL\n"
	"  SELECT r.oid, a.grantee FROM rels r, LATERAL pg_catalog.aclexplode(r.relacl) a\n"
	"   WHERE r.relacl IS NOT NULL\n"
	"     AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'USAGE')\n"
	"     AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM reach))\n"
	"  UNION ALL\n"
	"  SELECT t.attrelid, a.grantee FROM cols t JOIN rels r ON r.oid = t.attrelid,\n"
	"         LATERAL pg_catalog.aclexplode(t.attacl) a\n"
	"   WHERE a.privilege_type IN ('INSERT', 'UPDATE')\n"
	"     AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM reach))),\n"
	"containers AS (\n"
	"  SELECT 'schema' AS kind, nspname AS name, nspowner AS owner, nspacl AS acl\n"
	"    FROM pg_catalog.pg_namespace\n"
	"  UNION ALL\n"
	"  SELECT 'database', datname, datdba, datacl FROM pg_catalog.pg_database),\n"
	"why AS (\n"
	"  SELECT 1 AS rank, oid AS via, 'is a superuser' AS fact FROM reach WHERE rolsuper\n"
	"  UNION ALL\n"
	"  SELECT 2, (SELECT oid FROM me), 'is a member of ' || rolname FROM reach\n"
	"   WHERE rolname IN ('pg_write_all_data', 'pg_write_server_files',\n"
	"                     'pg_execute_server_program', 'pg_signal_backend')\n"
	"  UNION ALL\n"
	"  SELECT 3, oid, 'has the ' || a.attr || ' attribute' FROM reach,\n"
	"         LATERAL (VALUES (rolcreaterole, 'CREATEROLE'), (rolcreatedb, 'CREATEDB'),\n"
	"                         (rolreplication, 'REPLICATION')) a(has, attr)\n"
	"   WHERE a.has\n"
	"  UNION ALL\n"
	"  SELECT 4, w.via, 'can write ' || CASE c.relkind WHEN 'v' THEN 'view'\n"
	"           WHEN 'f' THEN 'foreign table' WHEN 'm' THEN 'materialized view'\n"
	"           WHEN 'S' THEN 'sequence' ELSE 'table' END || ' '\n"
	"           || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname)\n"
	"    FROM (SELECT oid, via FROM w ORDER BY oid LIMIT 1) w\n"
	"    JOIN pg_catalog.pg_class c ON c.oid = w.oid\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"  UNION ALL\n"
	"  SELECT 5, owner, 'owns ' || kind || ' ' || pg_catalog.quote_ident(name) FROM containers\n"
	"   WHERE owner IN (SELECT oid FROM reach)\n"
	"  UNION ALL\n"
	"  SELECT 6, a.grantee, 'has CREATE on ' || kind || ' ' || pg_catalog.quote_ident(name)\n"
	"    FROM containers, LATERAL pg_catalog.aclexplode(acl) a\n"
	"   WHERE acl IS NOT NULL AND a.privilege_type = 'CREATE'\n"
	"     AND (a.grantee = 0 OR a.grantee IN (SELECT oid FROM reach))),\n"
	"first_why AS (\n"
	"  SELECT CASE WHEN via = 0 THEN session_user\n"
	"              ELSE pg_catalog.pg_get_userbyid(via) END AS via, fact\n"
	"    FROM why ORDER BY rank, via <> (SELECT oid FROM me), fact LIMIT 1)\n"
	"SELECT (SELECT count(DISTINCT oid) FROM w), f.via, f.fact,\n"
	"       session_user, current_user\n"
	"  FROM (SELECT 1) one LEFT JOIN first_why f ON true";

const char *guard_sql(void)
{
	return sql_unsafe;
}

/* "role "mon" can SET ROLE to "writer", which can write table public.t",
 * from the session's point of view; caller frees. */
static char *unsafe_reason(const char *session, const char *current,
			   const char *via, const char *fact)
{
	char *line = NULL;
	int n;

	if (!strcmp(via, current))
		n = asprintf(&line, "role \"%s\" %s", current, fact);
	else if (!strcmp(via, session))
		n = asprintf(&line, "role \"%s\" runs in a session of role \"%s\", which %s",
			     current, session, fact);
	else if (!strcmp(session, current))
		n = asprintf(&line, "role \"%s\" can SET ROLE to \"%s\", which %s",
			     current, via, fact);
	else
		n = asprintf(&line, "role \"%s\" runs in a session of role \"%s\", which can"
			     " SET ROLE to \"%s\", which %s", current, session, via, fact);
	if (n < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return line;
}

/* An error (refused), or a warning with --allow-privileged (once: not
 * again for the sessions beside the main one). */
static bool refuse(const struct poll_conn *pc, bool allow, const char *why)
{
	if (allow) {
		if (!pc->beside)
			pgx_warn("%s (--allow-privileged): the session stays read-only", why);
		return false;
	}
	pgx_error("%s (use --allow-privileged to run anyway)", why);
	return true;
}

bool privilege_guard(struct poll_conn *pc, PGresult *res, bool allow, bool name_db, int *status)
{
	bool refused = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		char *msg = pgx_pq_error_line(pc->conn, res, 0);

		pgx_error("cannot check the role's privileges: %s", msg);
		free(msg);
		*status = PGX_EXIT_CONNECT;
		return false;
	}
	pc->srv.writable_tables = atol(PQgetvalue(res, 0, 0));
	if (!PQgetisnull(res, 0, 2)) {
		char *why = unsafe_reason(PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
					  PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2)), *where = NULL;

		if (name_db && asprintf(&where, "in database \"%s\", %s", pc->dbname, why) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		pc->srv.unsafe = true;
		refused = refuse(pc, allow, where ? where : why);
		free(where);
		free(why);
	}
	*status = refused ? PGX_EXIT_PRIVILEGE : PGX_EXIT_OK;
	return !refused;
}
