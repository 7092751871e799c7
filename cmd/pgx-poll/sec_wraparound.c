/* sec_wraparound.c - transaction ID and multixact age per database and table */
#include "pgx.h"
#include "poll.h"

/* pct_to_wraparound: age against 2^31, where the server stops assigning
 * XIDs (a little before, at 2^31 - 3M).  freeze_max_age_pct: against
 * autovacuum_freeze_max_age, where anti-wraparound autovacuum starts (100 =
 * forced vacuums are due).  TOAST tables are reported under their table. */
const char sql_wraparound[] =
	"WITH db AS (\n"
	"  SELECT datname, pg_catalog.age(datfrozenxid) AS xid_age,\n"
	"         pg_catalog.mxid_age(datminmxid) AS mxid_age,\n"
	"         row_number() OVER (ORDER BY pg_catalog.age(datfrozenxid) DESC, datname) AS rn\n"
	"    FROM pg_catalog.pg_database),\n"
	"rel AS (\n"
	"  SELECT coalesce(tn.nspname || '.' || t.relname, n.nspname || '.' || c.relname)"
	" AS relation,\n"
	"         c.relkind::text AS relkind, pg_catalog.age(c.relfrozenxid) AS xid_age,\n"
	"         pg_catalog.mxid_age(c.relminmxid) AS mxid_age,\n"
	"         row_number() OVER (ORDER BY pg_catalog.age(c.relfrozenxid) DESC,\n"
	"                            n.nspname, c.relname) AS rn\n"
	"    FROM pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"    LEFT JOIN pg_catalog.pg_class t ON c.relkind = 't' AND t.reltoastrelid = c.oid\n"
	"    LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace\n"
	"   WHERE c.relkind IN ('r', 'm', 't') AND c.relfrozenxid <> '0'),\n"
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
	"          FROM rel WHERE rn <= $1) AS worst_tables,\n"
	"       (SELECT json_build_object('count', count(*)) FROM rel WHERE rn > $1) AS other";

void collect_wraparound(struct section_run *run)
{
	section_merge(run, true);
}
