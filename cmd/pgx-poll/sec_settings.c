/* sec_settings.c - every row of pg_settings, for pgx-tune and drift checks */
#include "pgx.h"
#include "poll.h"

const char sql_settings[] =
	"SELECT current_setting('server_version_num')::int AS server_version_num,\n"
	"       pg_catalog.json_agg(pg_catalog.json_build_object(\n"
	"         'name', name, 'setting', setting, 'unit', unit,\n"
	"         'value', current_setting(name), 'source', source, 'context', context,\n"
	"         'vartype', vartype, 'min_val', min_val, 'max_val', max_val,\n"
	"         'enumvals', enumvals, 'boot_val', boot_val, 'reset_val', reset_val,\n"
	"         'pending_restart', pending_restart) ORDER BY name) AS settings\n"
	"  FROM pg_catalog.pg_settings";

void collect_settings(struct section_run *run)
{
	section_merge(run, false);
}
