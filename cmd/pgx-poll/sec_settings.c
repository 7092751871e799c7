/* sec_settings.c - every row of pg_settings, for pgx-tune and drift checks */
#include "pgx.h"
#include "poll.h"

/* pgx-poll's own session changes some settings (timeouts, read-only, no
 * parallel workers or JIT): those rows report the server's value, reset_val,
 * in the unit syntax PostgreSQL accepts, and a null source, since pg_settings
 * does not say where a reset value came from. */
const char sql_settings[] =
	"SELECT current_setting('server_version_num')::int AS server_version_num,\n"
	"       pg_catalog.json_agg(pg_catalog.json_build_object(\n"
	"         'name', name,\n"
	"         'setting', CASE WHEN source = 'session' THEN reset_val ELSE setting END,\n"
	"         'unit', unit,\n"
	"         'value', CASE WHEN source <> 'session' THEN current_setting(name)\n"
	"                       WHEN unit IS NULL OR vartype NOT IN ('integer', 'real') THEN reset_val\n"
	"                       WHEN unit ~ '^[0-9]' THEN (reset_val::numeric\n"
	"                            * substring(unit FROM '^[0-9]+')::numeric)::text\n"
	"                            || substring(unit FROM '[A-Za-z]+$')\n"
	"                       ELSE reset_val || unit END,\n"
	"         'source', NULLIF(source, 'session'), 'context', context,\n"
	"         'vartype', vartype, 'min_val', min_val, 'max_val', max_val,\n"
	"         'enumvals', enumvals, 'boot_val', boot_val, 'reset_val', reset_val,\n"
	"         'pending_restart', pending_restart) ORDER BY name) AS settings\n"
	"  FROM pg_catalog.pg_settings";

void collect_settings(struct section_run *run)
{
	section_merge(run, false);
}
