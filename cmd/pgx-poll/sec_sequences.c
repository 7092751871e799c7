/* sec_sequences.c - how close each sequence is to its last value */
#include <stdlib.h>
#include "pgx.h"
#include "poll.h"

/* The limit is the sequence's own max_value (min_value when descending),
 * narrowed by the type of the column that owns it (serial/identity): a bigint
 * sequence feeding an integer column fails at 2^31 - 1.  pg_sequences shows
 * last_value NULL both for a sequence never called and for one this role may
 * not read (pg_monitor): the second is counted as unreadable and reported in
 * missing, not as 0 % used.  Read from pg_sequence, not the pg_sequences
 * view, so a sequence with an exclusive lock pending is not opened (its
 * last_value would wait): it is counted in locked_sequences. */
static const char sql_sequences_text[] =
	"WITH %s,\n"
	"s AS (\n"
	"  SELECT c.oid, n.nspname, n.nspname || '.' || c.relname AS sequence,\n"
	"         q.seqtypid::regtype::text AS data_type,\n"
	"         CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')\n"
	"               AND c.oid NOT IN (SELECT oid FROM locked)\n"
	"              THEN pg_catalog.pg_sequence_last_value(c.oid) END AS last_value,\n"
	"         q.seqmin AS min_value, q.seqmax AS max_value, q.seqincrement AS increment_by,\n"
	"         q.seqcycle AS cycle,\n"
	"         pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE') AS readable,\n"
	"         c.oid IN (SELECT oid FROM locked) AS is_locked,\n"
	"         (SELECT tn.nspname || '.' || t.relname || '.' || a.attname\n"
	"            FROM pg_catalog.pg_depend d\n"
	"            JOIN pg_catalog.pg_class t ON t.oid = d.refobjid\n"
	"            JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace\n"
	"            JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid\n"
	"                                          AND a.attnum = d.refobjsubid\n"
	"           WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid\n"
	"             AND d.refclassid = 'pg_catalog.pg_class'::regclass\n"
	"             AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') LIMIT 1) AS owned_by,\n"
	"         (SELECT a.atttypid::regtype::text\n"
	"            FROM pg_catalog.pg_depend d\n"
	"            JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid\n"
	"                                          AND a.attnum = d.refobjsubid\n"
	"           WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid\n"
	"             AND d.refclassid = 'pg_catalog.pg_class'::regclass\n"
	"             AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') LIMIT 1) AS column_type\n"
	"    FROM pg_catalog.pg_sequence q\n"
	"    JOIN pg_catalog.pg_class c ON c.oid = q.seqrelid\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"   WHERE c.relpersistence <> 't' OR n.oid = pg_catalog.pg_my_temp_schema()),\n"
	"lim AS (\n"
	"  SELECT s.*,\n"
	"         CASE WHEN increment_by > 0\n"
	"              THEN least(max_value::numeric, CASE column_type\n"
	"                     WHEN 'smallint' THEN 32767 WHEN 'integer' THEN 2147483647 END)\n"
	"              ELSE greatest(min_value::numeric, CASE column_type\n"
	"                     WHEN 'smallint' THEN -32768 WHEN 'integer' THEN -2147483648 END)\n"
	"         END AS limit_value,\n"
	"         CASE WHEN increment_by > 0 THEN min_value ELSE max_value END::numeric AS first_value\n"
	"    FROM s),\n"
	"u AS (\n"
	"  SELECT lim.*,\n"
	"         round(100.0 * (last_value - first_value) / nullif(limit_value - first_value, 0), 2)"
	" AS used_pct,\n"
	"         floor((limit_value - last_value) / increment_by)::numeric AS remaining_values\n"
	"    FROM lim),\n"
	"ranked AS (\n"
	"  SELECT u.*, row_number() OVER (ORDER BY used_pct DESC NULLS LAST, sequence) AS rn\n"
	"    FROM u WHERE readable AND NOT is_locked)\n"
	"SELECT (SELECT count(*) FROM u WHERE NOT readable) AS unreadable_sequences,\n"
	"       (SELECT string_agg(DISTINCT pg_catalog.format("
	"'GRANT SELECT ON ALL SEQUENCES IN SCHEMA %%I TO %%I;', nspname, current_user), ' ')\n"
	"          FROM u WHERE NOT readable) AS grant_sql,\n"
	"       (SELECT count(*) FROM u WHERE readable AND is_locked) AS locked_sequences,\n"
	"       (SELECT count(*) FROM u WHERE readable AND NOT is_locked AND last_value IS NULL)"
	" AS never_used_sequences,\n"
	"       (SELECT coalesce(json_agg(json_build_object('sequence', sequence,\n"
	"                 'data_type', data_type, 'last_value', last_value, 'min_value', min_value,\n"
	"                 'max_value', max_value, 'increment_by', increment_by, 'cycle', cycle,\n"
	"                 'owned_by', owned_by, 'column_type', column_type,\n"
	"                 'limit_value', limit_value, 'remaining_values', remaining_values,\n"
	"                 'used_pct', used_pct) ORDER BY rn), '[]')\n"
	"          FROM ranked WHERE rn <= $1) AS items,\n"
	"       (SELECT json_build_object('count', count(*)) FROM ranked WHERE rn > $1) AS other";

char *sql_sequences(const struct server_info *srv, const char **why)
{
	return sql_format(sql_sequences_text, sql_locked_cte);
}

void collect_sequences(struct section_run *run)
{
	json_int_t hidden;
	char *grant;

	if (!section_merge(run, true))
		return;
	grant = section_take_text(run, "grant_sql");
	hidden = json_integer_value(json_object_get(run->rec, "unreadable_sequences"));
	if (hidden > 0)
		section_missing(run, "sequences",
				"last_value is hidden from this role for %lld sequence(s) "
				"(SELECT on them needed): their use is not reported; %s",
				(long long)hidden, grant ? grant : "");
	free(grant);
}
