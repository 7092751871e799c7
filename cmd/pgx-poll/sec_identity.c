/* sec_identity.c - which cluster this is: system identifier, fingerprint, version, role */
#include <stdlib.h>
#include "pgx.h"
#include "poll.h"

/* fingerprint names the cluster: the system identifier alone, which a
 * primary and its physical standbys share (pg_basebackup copies it); when
 * the role may not run pg_control_system(), the best this node shows (data
 * directory, else address; with the port), which then names the node only.
 * node_fingerprint names this server: the system identifier with where it
 * runs (data directory, server address or the socket directory, port), so
 * two nodes differ even when they share an identifier (a standby, or
 * clusters copied from one template). */
char *sql_identity(const struct server_info *srv, const char **why)
{
	const char *sysid = server_has(srv, FEAT_CONTROL_SYSTEM)
		? "(SELECT system_identifier::text FROM pg_catalog.pg_control_system())"
		: "NULL::text";

	return sql_format(
		"WITH i AS (SELECT %s AS system_identifier,\n"
		"       (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'data_directory')"
		" AS data_directory,\n"
		"       coalesce(pg_catalog.inet_server_addr()::text, $1) AS address,\n"
		"       current_setting('port')::int AS port)\n"
		"SELECT i.system_identifier,\n"
		"       pg_catalog.md5(coalesce(i.system_identifier,"
		" coalesce(i.data_directory, i.address) || ':' || i.port)) AS fingerprint,\n"
		"       pg_catalog.md5(concat_ws(':', i.system_identifier, i.data_directory,"
		" i.address, i.port)) AS node_fingerprint,\n"
		"       CASE WHEN i.system_identifier IS NOT NULL THEN 'system_identifier'"
		" WHEN i.data_directory IS NOT NULL THEN 'data_directory' ELSE 'address' END"
		" AS fingerprint_source,\n"
		"       $1 AS host, i.port,\n"
		"       split_part(current_setting('server_version'), ' ', 1) AS version,\n"
		"       current_setting('server_version_num')::int AS server_version_num,\n"
		"       extract(epoch FROM pg_catalog.pg_postmaster_start_time())::float8 AS start_ts,\n"
		"       extract(epoch FROM now() - pg_catalog.pg_postmaster_start_time())::float8"
		" AS uptime_s,\n"
		"       CASE WHEN pg_catalog.pg_is_in_recovery() THEN 'standby' ELSE 'primary' END"
		" AS role,\n"
		"       pg_catalog.pg_is_in_recovery() AS in_recovery,\n"
		"       i.data_directory\n"
		"  FROM i", sysid);
}

void collect_identity(struct section_run *run)
{
	const char *host = PQhost(run->pc->conn);
	PGresult *res = section_query(run, run->sql, 1, &host);

	if (!res)
		return;
	result_merge_row(run->rec, res, 0);
	PQclear(res);
	if (!server_has(&run->pc->srv, FEAT_CONTROL_SYSTEM))
		section_missing(run, "system_identifier",
				"role may not run pg_control_system()");
	if (json_is_null(json_object_get(run->rec, "data_directory")))
		section_missing(run, "data_directory",
				"role cannot read it (needs pg_read_all_settings or pg_monitor)");
}
