/* sec_settings.c - every row of pg_settings, for pgx-tune and drift checks */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "poll.h"

/* pgx-poll's own session changes some settings (timeouts, read-only, no
 * parallel workers or JIT, work_mem): each row of pg_settings is read with
 * those set back to where a new session of the role has them, source and
 * all, until the query's transaction ends.  set_config(name, NULL, true) is
 * SET LOCAL name TO DEFAULT; the rows are read by a subquery that depends
 * on the count of those resets, so it runs after them.
 *
 * What a session sees in pg_settings changes only when the server reloads
 * its configuration (pg_conf_load_time(): ALTER SYSTEM and postgresql.conf
 * both wait for it) or leaves recovery (in_hot_standby), besides the
 * session's own SETs: $1 is the key of the rows this connection read last,
 * and while it holds they are not read again (a pass reuses them). */
const char sql_settings[] =
	"SELECT k.settings_key, current_setting('server_version_num')::int AS server_version_num,\n"
	"       CASE WHEN k.settings_key IS DISTINCT FROM $1 THEN (SELECT (SELECT\n"
	"       pg_catalog.json_agg(pg_catalog.json_build_object(\n"
	"         'name', name, 'setting', setting, 'unit', unit, 'value', current_setting(name),\n"
	"         'source', source, 'context', context,\n"
	"         'vartype', vartype, 'min_val', min_val, 'max_val', max_val,\n"
	"         'enumvals', enumvals, 'boot_val', boot_val, 'reset_val', reset_val,\n"
	"         'pending_restart', pending_restart) ORDER BY name)\n"
	"         FROM pg_catalog.pg_settings WHERE own.reset >= 0)\n"
	"         FROM (SELECT count(pg_catalog.set_config(name, NULL, true)) AS reset\n"
	"                 FROM pg_catalog.pg_settings WHERE source = 'session'\n"
	"                  AND name NOT IN ('role', 'session_authorization')) own) END AS settings\n"
	"  FROM (SELECT pg_catalog.pg_conf_load_time()::text || ' '"
	" || pg_catalog.pg_is_in_recovery()::text AS settings_key) k";

void settings_cache_clear(struct settings_cache *c)
{
	free(c->key);
	json_decref(c->settings);
	c->key = NULL;
	c->settings = NULL;
}

void collect_settings(struct section_run *run)
{
	struct settings_cache *cache = &run->pc->settings_cache;
	const char *params[1] = { cache->key };
	PGresult *res = section_query(run, run->sql, 1, params);
	char *key;
	json_t *settings;

	if (!res)
		return;
	if (PQntuples(res) > 0)
		result_merge_row(run->rec, res, 0);
	PQclear(res);
	key = section_take_text(run, "settings_key");
	settings = json_object_get(run->rec, "settings");
	if (key && json_is_null(settings) && cache->key && !strcmp(key, cache->key))
		json_object_set(run->rec, "settings", cache->settings);
	else if (key && json_is_array(settings)) {
		settings_cache_clear(cache);
		cache->key = pgx_xstrdup(key);
		cache->settings = json_incref(settings);
	}
	free(key);
}
