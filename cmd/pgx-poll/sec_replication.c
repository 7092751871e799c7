/* sec_replication.c - replicas seen from the primary, the standby's own lag, slots */
#include <stdlib.h>
#include "pgx.h"
#include "poll.h"

/* Slots exist on both sides.  Retained WAL is measured from the position
 * this server is at: current LSN on a primary, last received (else replayed)
 * on a standby.  wal_status and safe_wal_size exist from 13. */
static char *sql_slots(const struct server_info *srv, const char *pos)
{
	bool st = server_has(srv, FEAT_SLOT_WAL_STATUS);

	return sql_format(
		"slots AS (\n"
		"  SELECT slot_name::text, slot_type, database::text, active, %s AS wal_status,\n"
		"         pg_catalog.pg_wal_lsn_diff(%s, restart_lsn)::bigint AS retained_bytes,\n"
		"         %s AS safe_wal_size_bytes,\n"
		"         pg_catalog.age(xmin) AS xmin_age, pg_catalog.age(catalog_xmin) AS catalog_xmin_age,\n"
		"         row_number() OVER (ORDER BY pg_catalog.pg_wal_lsn_diff(%s, restart_lsn)\n"
		"                            DESC NULLS LAST, slot_name) AS rn\n"
		"    FROM pg_catalog.pg_replication_slots)",
		st ? "wal_status" : "NULL::text", pos, st ? "safe_wal_size" : "NULL::bigint", pos);
}

static const char sql_slots_out[] =
	"       (SELECT coalesce(json_agg(json_build_object('slot_name', slot_name,\n"
	"                 'slot_type', slot_type, 'database', database, 'active', active,\n"
	"                 'wal_status', wal_status, 'retained_bytes', retained_bytes,\n"
	"                 'safe_wal_size_bytes', safe_wal_size_bytes, 'xmin_age', xmin_age,\n"
	"                 'catalog_xmin_age', catalog_xmin_age) ORDER BY rn), '[]')\n"
	"          FROM slots WHERE rn <= $1) AS slots,\n"
	"       (SELECT json_build_object('count', count(*),\n"
	"                 'retained_bytes', coalesce(sum(retained_bytes), 0))\n"
	"          FROM slots WHERE rn > $1) AS slots_other";

/* Lags in bytes are measured against the primary's current LSN, so a
 * replica that has replayed everything shows 0 however idle the primary;
 * the *_lag_s columns are the server's own (NULL once caught up and idle). */
static char *sql_primary(const struct server_info *srv)
{
	char *slots = sql_slots(srv, "pg_catalog.pg_current_wal_lsn()");
	char *sql = sql_format(
		"WITH %s,\n"
		"r AS (\n"
		"  SELECT application_name, client_addr::text, state, sync_state,\n"
		"         sent_lsn, write_lsn, flush_lsn, replay_lsn,\n"
		"         pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), sent_lsn)::bigint"
		" AS sent_lag_bytes,\n"
		"         pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), write_lsn)::bigint"
		" AS write_lag_bytes,\n"
		"         pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), flush_lsn)::bigint"
		" AS flush_lag_bytes,\n"
		"         pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)::bigint"
		" AS replay_lag_bytes,\n"
		"         extract(epoch FROM write_lag)::float8 AS write_lag_s,\n"
		"         extract(epoch FROM flush_lag)::float8 AS flush_lag_s,\n"
		"         extract(epoch FROM replay_lag)::float8 AS replay_lag_s,\n"
		"         extract(epoch FROM reply_time)::float8 AS reply_ts,\n"
		"         row_number() OVER (ORDER BY application_name, pid) AS rn\n"
		"    FROM pg_catalog.pg_stat_replication)\n"
		"SELECT 'primary' AS role, pg_catalog.pg_current_wal_lsn()::text AS current_lsn,\n"
		"       (SELECT count(*) FROM r) AS replica_count,\n"
		"       (SELECT coalesce(json_agg(json_build_object('application_name', application_name,\n"
		"                 'client_addr', client_addr, 'state', state, 'sync_state', sync_state,\n"
		"                 'sent_lsn', sent_lsn::text, 'write_lsn', write_lsn::text,\n"
		"                 'flush_lsn', flush_lsn::text, 'replay_lsn', replay_lsn::text,\n"
		"                 'sent_lag_bytes', sent_lag_bytes, 'write_lag_bytes', write_lag_bytes,\n"
		"                 'flush_lag_bytes', flush_lag_bytes, 'replay_lag_bytes', replay_lag_bytes,\n"
		"                 'write_lag_s', write_lag_s, 'flush_lag_s', flush_lag_s,\n"
		"                 'replay_lag_s', replay_lag_s, 'reply_ts', reply_ts) ORDER BY rn), '[]')\n"
		"          FROM r WHERE rn <= $1) AS replicas,\n"
		"       (SELECT json_build_object('count', count(*)) FROM r WHERE rn > $1)"
		" AS replicas_other,\n"
		"%s",
		slots, sql_slots_out);

	free(slots);
	return sql;
}

/* Time lag is now - the commit time of the last replayed transaction, but
 * only while something received is not yet replayed: an idle primary sends
 * nothing and the standby is caught up, which is 0 lag, not a growing one. */
static char *sql_standby(const struct server_info *srv)
{
	char *slots = sql_slots(srv, "coalesce(pg_catalog.pg_last_wal_receive_lsn(),"
				" pg_catalog.pg_last_wal_replay_lsn())");
	char *sql = sql_format(
		"WITH %s,\n"
		"s AS (\n"
		"  SELECT pg_catalog.pg_last_wal_receive_lsn() AS receive_lsn,\n"
		"         pg_catalog.pg_last_wal_replay_lsn() AS replay_lsn,\n"
		"         pg_catalog.pg_last_xact_replay_timestamp() AS replay_at)\n"
		"SELECT 'standby' AS role, receive_lsn::text AS receive_lsn, replay_lsn::text AS replay_lsn,\n"
		"       pg_catalog.pg_wal_lsn_diff(receive_lsn, replay_lsn)::bigint AS replay_lag_bytes,\n"
		"       extract(epoch FROM replay_at)::float8 AS last_replay_ts,\n"
		"       receive_lsn IS NOT NULL AND replay_lsn >= receive_lsn AS caught_up,\n"
		"       CASE WHEN receive_lsn IS NOT NULL AND replay_lsn >= receive_lsn THEN 0::float8\n"
		"            ELSE extract(epoch FROM now() - replay_at)::float8 END AS replay_lag_s,\n"
		"       (SELECT status FROM pg_catalog.pg_stat_wal_receiver) AS wal_receiver_status,\n"
		"       (SELECT sender_host FROM pg_catalog.pg_stat_wal_receiver) AS sender_host,\n"
		"       (SELECT sender_port FROM pg_catalog.pg_stat_wal_receiver) AS sender_port,\n"
		"       (SELECT extract(epoch FROM last_msg_receipt_time)::float8\n"
		"          FROM pg_catalog.pg_stat_wal_receiver) AS last_msg_receipt_ts,\n"
		"%s\n"
		"  FROM s",
		slots, sql_slots_out);

	free(slots);
	return sql;
}

char *sql_replication(const struct server_info *srv, const char **why)
{
	return srv->in_recovery ? sql_standby(srv) : sql_primary(srv);
}

void collect_replication(struct section_run *run)
{
	section_merge(run, true);
}
