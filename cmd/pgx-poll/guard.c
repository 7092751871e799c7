/* guard.c - pgx-poll runs as a monitoring role: no superuser, no role that can write */
#include <stdlib.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"

/* A role can write a user table (any relation outside pg_catalog,
 * information_schema, TOAST and temp schemas that takes INSERT, UPDATE,
 * DELETE or TRUNCATE: tables, partitioned tables, views, foreign tables) when
 * it owns it (directly or through a role it inherits), when the table's ACL
 * or one of its columns' ACLs grants it (or PUBLIC) a write privilege, or
 * when it is a member of pg_write_all_data.  The cost stays flat on 100k
 * relations: pg_has_role() is asked once per distinct owner (MATERIALIZED:
 * otherwise the planner flattens the DISTINCT and asks it once per table),
 * ACLs are exploded only where one is set (relacl/attacl not NULL: a NULL
 * ACL means the owner alone), column ACLs by one scan of pg_attribute
 * (MATERIALIZED: probing it per relation by index costs 20 times more on
 * 50,000 tables).  That scan is most of the guard's time in a new session:
 * it is the one place pgx-poll reads every page of pg_attribute, and a
 * backend's first touch of each shared buffer page costs more than reading
 * it; nothing cheaper answers "does a column grant PUBLIC INSERT" (column
 * grants to PUBLIC by the owner leave no pg_shdepend row). */
static const char sql_writable[] =
	"WITH rels AS (\n"
	"  SELECT c.oid, c.relowner, c.relacl FROM pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"   WHERE c.relkind IN ('r', 'p', 'v', 'f')\n"
	"     AND n.nspname NOT IN ('pg_catalog', 'information_schema')\n"
	"     AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'),\n"
	"cols AS MATERIALIZED (SELECT attrelid, attacl FROM pg_catalog.pg_attribute\n"
	"                       WHERE attacl IS NOT NULL),\n"
	"rel_owners AS MATERIALIZED (SELECT DISTINCT relowner FROM rels),\n"
	"mine AS MATERIALIZED (SELECT relowner FROM rel_owners\n"
	"                       WHERE pg_catalog.pg_has_role(relowner, 'USAGE')),\n"
	"w AS (\n"
	"  SELECT oid FROM rels WHERE relowner IN (SELECT relowner FROM mine)\n"
	"  UNION ALL\n"
	"  SELECT r.oid FROM rels r, LATERAL pg_catalog.aclexplode(r.relacl) a\n"
	"   WHERE r.relacl IS NOT NULL\n"
	"     AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')\n"
	"     AND CASE WHEN a.grantee = 0 THEN true\n"
	"              ELSE pg_catalog.pg_has_role(a.grantee, 'USAGE') END\n"
	"  UNION ALL\n"
	"  SELECT t.attrelid FROM cols t JOIN rels r ON r.oid = t.attrelid,\n"
	"         LATERAL pg_catalog.aclexplode(t.attacl) a\n"
	"   WHERE a.privilege_type IN ('INSERT', 'UPDATE')\n"
	"     AND CASE WHEN a.grantee = 0 THEN true\n"
	"              ELSE pg_catalog.pg_has_role(a.grantee, 'USAGE') END)\n"
	"SELECT (SELECT count(DISTINCT oid) FROM w),\n"
	"       (SELECT min(oid)::regclass::text FROM w),\n"
	"       CASE WHEN pg_catalog.to_regrole('pg_write_all_data') IS NOT NULL\n"
	"            THEN pg_catalog.pg_has_role('pg_write_all_data', 'USAGE') ELSE false END,\n"
	"       current_user, current_database()";

const char *guard_sql(void)
{
	return sql_writable;
}

/* An error (refused), or a warning with --allow-privileged. */
static bool refuse(bool allow, const char *user, const char *what)
{
	if (allow) {
		pgx_warn("role \"%s\" %s (--allow-privileged): the session stays read-only",
			 user, what);
		return false;
	}
	pgx_error("role \"%s\" %s", user, what);
	return true;
}

bool privilege_guard(struct poll_conn *pc, PGresult *res, bool allow, int *status)
{
	struct server_info *srv = &pc->srv;
	const char *user, *db;
	bool refused = false;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgx_error("cannot check the role's privileges: %s",
			  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
				  ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "connection lost");
		*status = PGX_EXIT_CONNECT;
		return false;
	}
	srv->writable_tables = atol(PQgetvalue(res, 0, 0));
	free(srv->writable_example);
	srv->writable_example = PQgetisnull(res, 0, 1) ? NULL : pgx_xstrdup(PQgetvalue(res, 0, 1));
	user = PQgetvalue(res, 0, 3);
	db = PQgetvalue(res, 0, 4);
	if (srv->superuser)
		refused = refuse(allow, user, "is a superuser");
	else if (PQgetvalue(res, 0, 2)[0] == 't')
		refused = refuse(allow, user, "is a member of pg_write_all_data");
	else if (srv->writable_tables > 0) {
		char what[512];

		snprintf(what, sizeof(what), "can write %ld user table%s in database \"%s\""
			 " (e.g. \"%s\")", srv->writable_tables, srv->writable_tables > 1 ? "s" : "",
			 db, srv->writable_example ? srv->writable_example : "?");
		refused = refuse(allow, user, what);
	}
	if (refused)
		pgx_hint("connect as a monitoring role (CREATE ROLE monitor LOGIN;"
			 " GRANT pg_monitor TO monitor) or pass --allow-privileged");
	*status = refused ? PGX_EXIT_PRIVILEGE : PGX_EXIT_OK;
	return !refused;
}
