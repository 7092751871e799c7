/* sec_wraparound.c - transaction ID and multixact age per database and table */
#include "pgx.h"
#include "poll.h"

/* pct_to_wraparound: age against 2^31, where the server stops assigning
 * XIDs (a little before, at 2^31 - 3M).  freeze_max_age_pct: against
 * autovacuum_freeze_max_age, where anti-wraparound autovacuum starts (100 =
 * forced vacuums are due).  Tables are ranked by a bounded sort (no window
 * over every relation) and counted by a second scan.  A TOAST table is
 * reported under its table, found for the Top-N only from its name
 * (pg_toast_OID, which PostgreSQL keeps through rewrites) and checked
 * against that table's reltoastrelid: a subquery per row of the Top-N, so
 * by index; as a join, a generic plan (which does not know the Top-N's size)
 * hashes all of pg_class for it. */
const char sql_wraparound[] =
	"WITH db AS (\n"
	"  SELECT datname, pg_catalog.age(datfrozenxid) AS xid_age,\n"
	"         pg_catalog.mxid_age(datminmxid) AS mxid_age,\n"
	"         row_number() OVER (ORDER BY pg_catalog.age(datfrozenxid) DESC, datname) AS rn\n"
	"    FROM pg_catalog.pg_database),\n"
	"rel AS NOT MATERIALIZED (\n"
	"  SELECT c.oid, c.relname, n.nspname, c.relkind, c.relfrozenxid, c.relminmxid\n"
	"    FROM pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"   WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'),\n"
	"top AS (\n"
	"  SELECT *, pg_catalog.age(relfrozenxid) AS xid_age FROM rel\n"
	"   ORDER BY pg_catalog.age(relfrozenxid) DESC, nspname, relname LIMIT $1),\n"
	"worst AS (\n"
	"  SELECT coalesce((SELECT tn.nspname || '.' || t.relname FROM pg_catalog.pg_class t\n"
	"                     JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace\n"
	"                    WHERE t.oid = CASE WHEN top.relkind = 't'\n"
	"                                        AND top.relname ~ '^pg_toast_[0-9]+$'\n"
	"                                       THEN pg_catalog.substr(top.relname, 10)::oid END\n"
	"                      AND t.reltoastrelid = top.oid),\n"
	"                  top.nspname || '.' || top.relname) AS relation,\n"
	"         top.relkind::text AS relkind, top.xid_age,\n"
	"         pg_catalog.mxid_age(top.relminmxid) AS mxid_age,\n"
	"         row_number() OVER (ORDER BY top.xid_age DESC, top.nspname, top.relname) AS rn\n"
	"    FROM top),\n"
"cfg AS (\n"
	"  SELECT current_setting('autovacuum_freeze_max_age')::bigint AS fmax,\n"
	"         current_setting('autovacuum_multixact_freeze_max_age')::bigint AS mfmax)\n"
	"SELECT (SELECT fmax FROM cfg) AS autovacuum_freeze_max_age,\n"
	"       (SELECT mfmax FROM cfg) AS autovacuum_multixact_freeze_max_age,\n"
	"       (SELECT max(xid_age) FROM db) AS max_xid_age,\n"
	"       (SELECT max(mxid_age) FROM db) AS max_mxid_age,\n"
	"       (SELECT round(100.0 * max(xid_age) / 2147483648, 2) FROM db)"
	" AS max_pct_to_wraparound,\n"
	"       (SELECT coalesce(json_agg(json_build_object('datname', datname,\n"
	"                 'xid_age', xid_age, 'mxid_age', mxid_age,\n"
	"                 'pct_to_wraparound', round(100.0 * xid_age / 2147483648, 2),\n"
	"                 'mxid_pct_to_wraparound', round(100.0 * mxid_age / 2147483648, 2),\n"
	"                 'freeze_max_age_pct', round(100.0 * xid_age / (SELECT fmax FROM cfg), 2),\n"
	"                 'mxid_freeze_max_age_pct',\n"
	"                   round(100.0 * mxid_age / (SELECT mfmax FROM cfg), 2)) ORDER BY rn), '[]')\n"
	"          FROM db WHERE rn <= $1) AS databases,\n"
	"       (SELECT json_build_object('count', count(*)) FROM db WHERE rn > $1)"
	" AS databases_other,\n"
	"       (SELECT coalesce(json_agg(json_build_object('relation', relation,\n"
	"                 'relkind', relkind, 'xid_age', xid_age, 'mxid_age', mxid_age,\n"
	"                 'pct_to_wraparound', round(100.0 * xid_age / 2147483648, 2))\n"
	"                 ORDER BY rn), '[]')\n"
	"          FROM worst) AS worst_tables,\n"
	"       (SELECT json_build_object('count', count(*) - (SELECT count(*) FROM top)) FROM rel)"
	" AS other";

void collect_wraparound(struct section_run *run)
{
	section_merge(run, true);
}
