/* prom.c - a health snapshot as Prometheus text exposition (format 0.0.4).
 * Every family gets HELP and TYPE; samples of a family are written
 * together whatever the order of the records; unknown values (null or
 * absent) are left out, never written as 0. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "health.h"

#define PROM_TOP_DEFAULT 50

struct family {
	const char *name, *type, *help;
	char *buf;
	size_t len;
	FILE *f;
};

struct prom {
	struct family **fams;	/* each on its own: open_memstream keeps &buf */
	size_t n, cap;
	const char *cluster;
	long top;
};

static struct family *family(struct prom *p, const char *name, const char *type, const char *help)
{
	struct family *fam;

	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->fams[i]->name, name))
			return p->fams[i];
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->fams = pgx_xrealloc(p->fams, p->cap * sizeof(*p->fams));
	}
	fam = pgx_xmalloc(sizeof(*fam));
	*fam = (struct family){ name, type, help, NULL, 0, NULL };
	fam->f = open_memstream(&fam->buf, &fam->len);
	if (!fam->f)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return p->fams[p->n++] = fam;
}

static void put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void put_value(FILE *f, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f\n", v);
	else
		fprintf(f, "%.15g\n", v);
}

/* One sample: name, type ("gauge"/"counter"), help, value, then label
 * name/value pairs ending with NULL; cluster comes first by itself. */
static void sample(struct prom *p, const char *name, const char *type, const char *help,
		   double v, ...)
{
	struct family *fam = family(p, name, type, help);
	const char *k, *val;
	va_list ap;

	fprintf(fam->f, "%s{cluster=\"", name);
	put_label_value(fam->f, p->cluster);
	fputc('"', fam->f);
	va_start(ap, v);
	while ((k = va_arg(ap, const char *))) {
		val = va_arg(ap, const char *);
		fprintf(fam->f, ",%s=\"", k);
		put_label_value(fam->f, val ? val : "");
		fputc('"', fam->f);
	}
	va_end(ap);
	fputs("} ", fam->f);
	put_value(fam->f, v);
}

#define G "gauge"
#define C "counter"

/* A field of each element of a list as one family */
struct item_metric {
	const char *key, *name, *type, *help;
	double scale;
};

/* A field of rec as a sample, when it is known; scale converts units. */
#define FIELD(p, rec, key, name, type, help, scale, ...) do { \
	double v_; \
	if (jnum((rec), (key), &v_)) \
		sample((p), (name), (type), (help), v_ * (scale), __VA_ARGS__); \
} while (0)

static void each_record(const struct snapshot *s, const char *type, struct prom *p,
			void (*fn)(struct prom *, const json_t *, const char *))
{
	json_t *by_db = snapshot_section(s, type), *rec;
	const char *db;

	json_object_foreach(by_db, db, rec)
		fn(p, rec, *db ? db : NULL);
}

static void identity(struct prom *p, const json_t *r, const char *db)
{
	const char *role = jstr(r, "role"), *ver = jstr(r, "version");

	sample(p, "pg_info", G, "Server identity: version and role (always 1).", 1,
	       "version", ver ? ver : "unknown", "role", role ? role : "unknown", NULL);
	FIELD(p, r, "start_ts", "pg_postmaster_start_time_seconds", G,
	      "Server start time, Unix epoch seconds.", 1, NULL);
	FIELD(p, r, "uptime_s", "pg_uptime_seconds", G, "Seconds since the server started.", 1, NULL);
	FIELD(p, r, "in_recovery", "pg_in_recovery", G, "1 when the server is a standby in recovery.", 1, NULL);
}

static void connections(struct prom *p, const json_t *r, const char *db)
{
	json_t *by = json_object_get(r, "by_state"), *v;
	const char *k;

	FIELD(p, r, "total", "pg_connections", G, "Server processes connected (all backend types).", 1, NULL);
	FIELD(p, r, "max_connections", "pg_max_connections", G, "The max_connections setting.", 1, NULL);
	FIELD(p, r, "used_pct", "pg_connections_used_ratio", G,
	      "Connections in use over max_connections, 0 to 1.", 0.01, NULL);
	json_object_foreach(by, k, v)
		if (json_is_number(v))
			sample(p, "pg_connections_by_state", G,
			       "Client backends by pg_stat_activity state (\"null\": no state).",
			       json_number_value(v), "state", k, NULL);
}

static void activity(struct prom *p, const json_t *r, const char *db)
{
	FIELD(p, r, "oldest_xact_age_s", "pg_oldest_transaction_age_seconds", G,
	      "Age of the oldest open transaction.", 1, NULL);
	FIELD(p, r, "oldest_query_age_s", "pg_oldest_query_age_seconds", G,
	      "Age of the oldest running query.", 1, NULL);
	FIELD(p, r, "idle_in_xact_count", "pg_idle_in_transaction_sessions", G,
	      "Sessions idle in transaction.", 1, NULL);
	FIELD(p, r, "idle_in_xact_max_age_s", "pg_idle_in_transaction_max_age_seconds", G,
	      "Longest time a session has been idle in transaction.", 1, NULL);
	{
		json_t *h;
		size_t i;
		double v, kinds[4] = { NAN, NAN, NAN, NAN };
		static const char *const names[] = { "backend", "replication_slot", "prepared_xact", "standby_feedback" };

		/* the oldest holder of the xmin horizon of each kind: no pid, no name */
		json_array_foreach(json_object_get(r, "xmin_holders"), i, h)
			for (size_t k = 0; k < 4; k++)
				if (jstr(h, "kind") && !strcmp(jstr(h, "kind"), names[k]) && jnum(h, "xmin_age", &v) &&
				    (isnan(kinds[k]) || v > kinds[k]))
					kinds[k] = v;
		for (size_t k = 0; k < 4; k++)
			if (!isnan(kinds[k]))
				sample(p, "pg_xmin_horizon_age", G,
				       "Transactions behind the oldest xmin held, by kind of holder.",
				       kinds[k], "kind", names[k], NULL);
	}
}

static void io(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric m[] = {
		{ "reads_total", "pg_io_reads_total", C, "Read operations (pg_stat_io).", 1 },
		{ "writes_total", "pg_io_writes_total", C, "Write operations (pg_stat_io).", 1 },
		{ "extends_total", "pg_io_extends_total", C, "Relation extend operations (pg_stat_io).", 1 },
		{ "hits_total", "pg_io_hits_total", C, "Shared buffer hits (pg_stat_io).", 1 },
		{ "evictions_total", "pg_io_evictions_total", C, "Buffers evicted (pg_stat_io).", 1 },
		{ "fsyncs_total", "pg_io_fsyncs_total", C, "fsync calls (pg_stat_io).", 1 },
	};
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(r, "items"), i, it) {
		const char *bt = jstr(it, "backend_type"), *obj = jstr(it, "object"), *ctx = jstr(it, "context");

		if (!bt || !obj || !ctx)
			continue;
		for (size_t j = 0; j < sizeof(m) / sizeof(*m); j++)
			FIELD(p, it, m[j].key, m[j].name, C, m[j].help, 1, "backend_type", bt,
			      "object", obj, "context", ctx, NULL);
	}
}

/* A numeric or boolean setting the DBA set, in the server's own unit
 * (the unit label: 8kB, kB, ms, s ...), bounded by the number of settings. */
static void setting_value(struct prom *p, const json_t *it)
{
	const char *type = jstr(it, "vartype"), *text = jstr(it, "setting"), *name = jstr(it, "name");
	char *end;
	double v;

	if (!type || !text || !name)
		return;
	if (!strcmp(type, "bool"))
		v = !strcmp(text, "on");
	else if (!strcmp(type, "integer") || !strcmp(type, "real")) {
		v = strtod(text, &end);
		if (end == text || *end)
			return;
	} else
		return;
	sample(p, "pg_setting", G, "A numeric or boolean setting not at its default, in its unit.",
	       v, "name", name, "unit", jstr(it, "unit") ? jstr(it, "unit") : "", NULL);
}

static void settings(struct prom *p, const json_t *r, const char *db)
{
	json_t *it;
	size_t i, pending = 0, changed = 0;

	if (!json_is_array(json_object_get(r, "settings")))
		return;
	json_array_foreach(json_object_get(r, "settings"), i, it) {
		pending += json_is_true(json_object_get(it, "pending_restart"));
		if (setting_not_default(it)) {
			changed++;
			setting_value(p, it);
		}
	}
	sample(p, "pg_settings_pending_restart", G, "Settings changed that wait for a server restart.",
	       (double)pending, NULL);
	sample(p, "pg_settings_non_default", G,
	       "Settings the DBA set to another value than the built-in one.",
	       (double)changed, NULL);
}

/* PgBouncer's pools (summed per database by pgx-poll) and its stats */
static void pgbouncer(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric pool[] = {
		{ "cl_active", "pgbouncer_pools_client_active_connections", G, "Clients linked to a server connection.", 1 },
		{ "cl_waiting", "pgbouncer_pools_client_waiting_connections", G, "Clients waiting for a server connection.", 1 },
		{ "sv_active", "pgbouncer_pools_server_active_connections", G, "Server connections linked to a client.", 1 },
		{ "sv_idle", "pgbouncer_pools_server_idle_connections", G, "Server connections idle and ready.", 1 },
	};
	static const struct item_metric stat[] = {
		{ "xact_count_total", "pgbouncer_stats_sql_transactions_pooled_total", C, "Transactions pooled.", 1 },
		{ "query_count_total", "pgbouncer_stats_queries_pooled_total", C, "Queries pooled.", 1 },
		{ "query_time_s_total", "pgbouncer_stats_queries_duration_seconds_total", C, "Time spent in queries.", 1 },
		{ "wait_time_s_total", "pgbouncer_stats_client_wait_seconds_total", C, "Time clients waited for a server.", 1 },
	};
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(r, "pools"), i, it) {
		const char *name = jstr(it, "database");
		double wait, us = 0;

		if (!name || (long)i >= p->top)
			continue;
		for (size_t j = 0; j < sizeof(pool) / sizeof(*pool); j++)
			FIELD(p, it, pool[j].key, pool[j].name, G, pool[j].help, 1, "database", name, NULL);
		jnum(it, "maxwait_us", &us);
		if (jnum(it, "maxwait", &wait))
			sample(p, "pgbouncer_pools_client_maxwait_seconds", G,
			       "Longest wait of a client for a server connection.", wait + us / 1e6,
			       "database", name, NULL);
	}
	json_array_foreach(json_object_get(r, "stats"), i, it) {
		const char *name = jstr(it, "database");

		if (!name || (long)i >= p->top)
			continue;
		for (size_t j = 0; j < sizeof(stat) / sizeof(*stat); j++)
			FIELD(p, it, stat[j].key, stat[j].name, C, stat[j].help, 1, "database", name, NULL);
	}
}

static void locks(struct prom *p, const json_t *r, const char *db)
{
	FIELD(p, r, "blocked_sessions", "pg_blocked_sessions", G,
	      "Sessions waiting for a lock held by another session.", 1, NULL);
	FIELD(p, r, "longest_wait_s", "pg_longest_blocked_seconds", G,
	      "Longest current lock wait.", 1, NULL);
	if (json_is_array(json_object_get(r, "trees")))
		sample(p, "pg_blocking_trees", G, "Blocking chains (a root blocker and its waiters).",
		       (double)json_array_size(json_object_get(r, "trees")), NULL);
}

/* Top-N items of a list plus the record's "other" rollup, so the label
 * set is bounded whatever the number of relations or queries. */

static void list_metrics(struct prom *p, const json_t *items, const json_t *other,
			 const char *db, const char *label, const char *id_key,
			 const struct item_metric *m, size_t nm)
{
	size_t i, n = json_array_size(items);
	json_t *it;
	double *rest = calloc(nm, sizeof(double));
	bool any_rest = false;

	if (!rest)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	json_array_foreach(items, i, it) {
		const char *id = jstr(it, id_key);
		double v;

		for (size_t j = 0; j < nm; j++) {
			if (!jnum(it, m[j].key, &v))
				continue;
			if (id && (long)i < p->top && strcmp(id, "other"))
				sample(p, m[j].name, m[j].type, m[j].help, v * m[j].scale,
				       "db", db ? db : "", label, id, NULL);
			else {
				rest[j] += v * m[j].scale;
				any_rest = true;
			}
		}
	}
	for (size_t j = 0; j < nm; j++) {
		double v;

		if (jnum(other, m[j].key, &v)) {
			rest[j] += v * m[j].scale;
			any_rest = true;
		}
	}
	if (any_rest || json_is_object(other))
		for (size_t j = 0; j < nm; j++)
			sample(p, m[j].name, m[j].type, m[j].help, rest[j], "db", db ? db : "",
			       label, "other", NULL);
	(void)n;
	free(rest);
}

/* it into list, or its counters added to the item of the same queryid */
static void add_statement(json_t *list, const json_t *it, const struct item_metric *m, size_t nm)
{
	const char *id = jstr(it, "queryid");
	json_t *el;
	size_t i;

	json_array_foreach(list, i, el) {
		double a, b;

		if (!id || !jstr(el, "queryid") || strcmp(id, jstr(el, "queryid")))
			continue;
		for (size_t j = 0; j < nm; j++)
			if (jnum(el, m[j].key, &a) && jnum(it, m[j].key, &b))
				json_object_set_new(el, m[j].key, json_real(a + b));
		return;
	}
	json_array_append_new(list, json_deep_copy(it));
}

static void statements(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric m[] = {
		{ "calls_total", "pg_stmt_calls_total", C, "Calls of a top statement (pg_stat_statements; queryid \"other\": the rest).", 1 },
		{ "exec_time_s_total", "pg_stmt_time_seconds_total", C, "Execution time of a top statement.", 1 },
		{ "rows_total", "pg_stmt_rows_total", C, "Rows returned or affected by a top statement.", 1 },
		{ "shared_blks_read_total", "pg_stmt_shared_blks_read_total", C, "Shared blocks read by a top statement.", 1 },
		{ "shared_blks_hit_total", "pg_stmt_shared_blks_hit_total", C, "Shared buffer hits of a top statement.", 1 },
		{ "temp_blks_written_total", "pg_stmt_temp_blks_written_total", C, "Temporary blocks written by a top statement.", 1 },
	};
	json_t *items = json_object_get(r, "items"), *it;
	size_t i;

	/* statements carry their database per item: one list per dbname, the
	 * users of one statement summed (user names are no labels) */
	json_t *by_db = json_object();
	json_array_foreach(items, i, it) {
		const char *d = jstr(it, "dbname");
		json_t *l = json_object_get(by_db, d ? d : "");

		if (!l) {
			l = json_array();
			json_object_set_new(by_db, d ? d : "", l);
		}
		add_statement(l, it, m, sizeof(m) / sizeof(*m));
	}
	/* the record's "other" rolls up into its own database's list */
	const char *d, *odb = db ? db : "";
	json_t *l, *other = json_object_get(r, "other");
	bool placed = false;

	json_object_foreach(by_db, d, l) {
		bool here = !strcmp(d, odb);

		list_metrics(p, l, here ? other : NULL, d, "queryid", "queryid", m, sizeof(m) / sizeof(*m));
		placed |= here;
	}
	if (!placed && json_is_object(other)) {
		json_t *none = json_array();

		list_metrics(p, none, other, odb, "queryid", "queryid", m, sizeof(m) / sizeof(*m));
		json_decref(none);
	}
	json_decref(by_db);
	FIELD(p, r, "dealloc_total", "pg_stat_statements_dealloc_total", C,
	      "Statements evicted from pg_stat_statements.", 1, NULL);
}

static void database(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric m[] = {
		{ "numbackends", "pg_database_backends", G, "Backends connected to the database.", 1 },
		{ "xact_commit_total", "pg_database_xact_commit_total", C, "Transactions committed.", 1 },
		{ "xact_rollback_total", "pg_database_xact_rollback_total", C, "Transactions rolled back.", 1 },
		{ "blks_read_total", "pg_database_blks_read_total", C, "Blocks read from outside shared buffers.", 1 },
		{ "blks_hit_total", "pg_database_blks_hit_total", C, "Blocks found in shared buffers.", 1 },
		{ "cache_hit_pct", "pg_database_cache_hit_ratio", G, "Shared buffer hit ratio since stats reset, 0 to 1.", 0.01 },
		{ "tup_returned_total", "pg_database_tup_returned_total", C, "Rows returned by scans.", 1 },
		{ "tup_fetched_total", "pg_database_tup_fetched_total", C, "Rows fetched by index scans.", 1 },
		{ "tup_inserted_total", "pg_database_tup_inserted_total", C, "Rows inserted.", 1 },
		{ "tup_updated_total", "pg_database_tup_updated_total", C, "Rows updated.", 1 },
		{ "tup_deleted_total", "pg_database_tup_deleted_total", C, "Rows deleted.", 1 },
		{ "conflicts_total", "pg_database_conflicts_total", C, "Queries cancelled by recovery conflicts.", 1 },
		{ "temp_files_total", "pg_temp_files_total", C, "Temporary files created.", 1 },
		{ "temp_bytes_total", "pg_temp_bytes_total", C, "Bytes written to temporary files.", 1 },
		{ "deadlocks_total", "pg_database_deadlocks_total", C, "Deadlocks detected.", 1 },
		{ "checksum_failures_total", "pg_database_checksum_failures_total", C, "Data page checksum failures.", 1 },
		{ "blk_read_time_s_total", "pg_database_blk_read_time_seconds_total", C, "Time spent reading blocks (track_io_timing).", 1 },
		{ "blk_write_time_s_total", "pg_database_blk_write_time_seconds_total", C, "Time spent writing blocks (track_io_timing).", 1 },
		{ "session_time_s_total", "pg_database_session_time_seconds_total", C, "Time spent in sessions.", 1 },
		{ "size_bytes", "pg_database_size_bytes", G, "Database size on disk.", 1 },
	};
	const char *name = db ? db : jstr(r, "datname");

	for (size_t j = 0; j < sizeof(m) / sizeof(*m); j++)
		FIELD(p, r, m[j].key, m[j].name, m[j].type, m[j].help, m[j].scale, "db", name ? name : "", NULL);
}

static void checkpoints(struct prom *p, const json_t *r, const char *db)
{
	FIELD(p, r, "checkpoints_timed_total", "pg_checkpoints_timed_total", C, "Scheduled checkpoints.", 1, NULL);
	FIELD(p, r, "checkpoints_req_total", "pg_checkpoints_requested_total", C, "Requested checkpoints (WAL volume, CHECKPOINT).", 1, NULL);
	FIELD(p, r, "checkpoint_write_time_s_total", "pg_checkpoint_write_time_seconds_total", C, "Time spent writing checkpoint files.", 1, NULL);
	FIELD(p, r, "checkpoint_sync_time_s_total", "pg_checkpoint_sync_time_seconds_total", C, "Time spent syncing checkpoint files.", 1, NULL);
	FIELD(p, r, "buffers_checkpoint_total", "pg_buffers_checkpoint_total", C, "Buffers written by checkpoints.", 1, NULL);
	FIELD(p, r, "buffers_clean_total", "pg_buffers_clean_total", C, "Buffers written by the background writer.", 1, NULL);
	FIELD(p, r, "maxwritten_clean_total", "pg_bgwriter_maxwritten_clean_total", C, "Background writer stops for writing too many buffers.", 1, NULL);
	FIELD(p, r, "buffers_backend_total", "pg_buffers_backend_total", C, "Buffers written by backends themselves.", 1, NULL);
	FIELD(p, r, "buffers_backend_fsync_total", "pg_buffers_backend_fsync_total", C, "fsync calls made by backends themselves.", 1, NULL);
	FIELD(p, r, "buffers_alloc_total", "pg_buffers_alloc_total", C, "Buffers allocated.", 1, NULL);
}

static void wal(struct prom *p, const json_t *r, const char *db)
{
	FIELD(p, r, "wal_bytes_total", "pg_wal_bytes_written_total", C, "WAL bytes generated.", 1, NULL);
	FIELD(p, r, "wal_records_total", "pg_wal_records_total", C, "WAL records generated.", 1, NULL);
	FIELD(p, r, "wal_fpi_total", "pg_wal_fpi_total", C, "WAL full page images generated.", 1, NULL);
	FIELD(p, r, "wal_buffers_full_total", "pg_wal_buffers_full_total", C, "WAL writes because the WAL buffers were full.", 1, NULL);
	FIELD(p, r, "wal_write_total", "pg_wal_write_total", C, "WAL buffer writes to disk.", 1, NULL);
	FIELD(p, r, "wal_sync_total", "pg_wal_sync_total", C, "WAL file syncs to disk.", 1, NULL);
}

static void replication(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric rep[] = {
		{ "replay_lag_s", "pg_replication_lag_seconds", G, "Replay lag of a replica as its primary sees it.", 1 },
		{ "replay_lag_bytes", "pg_replication_lag_bytes", G, "WAL bytes a replica has not replayed yet.", 1 },
	};
	static const struct item_metric slot[] = {
		{ "retained_bytes", "pg_replication_slot_retained_bytes", G, "WAL retained by a replication slot.", 1 },
		{ "active", "pg_replication_slot_active", G, "1 when a replication slot is in use.", 1 },
		{ "xmin_age", "pg_replication_slot_xmin_age", G, "Transactions since the slot's xmin.", 1 },
	};
	json_t *items = json_object_get(r, "replicas"), *it;
	size_t i;

	json_array_foreach(items, i, it) {
		const char *name = jstr(it, "application_name");

		for (size_t j = 0; j < 2; j++)
			FIELD(p, it, rep[j].key, rep[j].name, G, rep[j].help, 1, "replica", name ? name : "", NULL);
	}
	json_array_foreach(json_object_get(r, "slots"), i, it)
		for (size_t j = 0; j < 3 && jstr(it, "slot_name"); j++)
			FIELD(p, it, slot[j].key, slot[j].name, G, slot[j].help, 1, "slot", jstr(it, "slot_name"), NULL);
	FIELD(p, r, "replay_lag_s", "pg_standby_replay_lag_seconds", G,
	      "On a standby: seconds behind the last replayed transaction (absent when caught up).", 1, NULL);
	FIELD(p, r, "replay_lag_bytes", "pg_standby_replay_lag_bytes", G,
	      "On a standby: WAL bytes received and not yet replayed.", 1, NULL);
}

static void archiver(struct prom *p, const json_t *r, const char *db)
{
	FIELD(p, r, "archived_count_total", "pg_archiver_archived_total", C, "WAL files archived.", 1, NULL);
	FIELD(p, r, "failed_count_total", "pg_archiver_failed_total", C, "Failed WAL archive attempts.", 1, NULL);
	FIELD(p, r, "last_archived_ts", "pg_archiver_last_archived_timestamp_seconds", G, "When the last WAL file was archived.", 1, NULL);
	FIELD(p, r, "last_failed_ts", "pg_archiver_last_failed_timestamp_seconds", G, "When archiving last failed.", 1, NULL);
}

static void vacuum(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric m[] = {
		{ "n_dead_tup", "pg_table_dead_tuples", G, "Estimated dead rows of a top table (by dead rows).", 1 },
		{ "n_live_tup", "pg_table_live_tuples", G, "Estimated live rows of a top table.", 1 },
		{ "n_mod_since_analyze", "pg_table_modified_since_analyze", G, "Rows changed since the table was last analyzed.", 1 },
		{ "autovacuum_count_total", "pg_table_autovacuum_total", C, "Autovacuum runs on a table.", 1 },
		{ "autoanalyze_count_total", "pg_table_autoanalyze_total", C, "Autoanalyze runs on a table.", 1 },
	};
	static const struct item_metric ts[] = {
		{ "dead_pct", "pg_table_dead_tuples_ratio", G, "Dead rows over all rows of a table, 0 to 1.", 0.01 },
		{ "last_autovacuum_ts", "pg_table_last_autovacuum_timestamp_seconds", G, "When autovacuum last processed a table.", 1 },
		{ "last_autoanalyze_ts", "pg_table_last_autoanalyze_timestamp_seconds", G, "When autoanalyze last processed a table.", 1 },
	};
	json_t *tables = json_object_get(r, "tables"), *it, *running = json_object_get(r, "running");
	json_t *phases = json_object();
	const char *ph;
	size_t i;

	list_metrics(p, tables, json_object_get(r, "other"), db, "relation", "relation", m, 5);
	/* ratios and timestamps do not add up: no "other" series for them */
	json_array_foreach(tables, i, it)
		for (size_t j = 0; j < 3 && (long)i < p->top && jstr(it, "relation"); j++)
			FIELD(p, it, ts[j].key, ts[j].name, G, ts[j].help, ts[j].scale,
			      "db", db ? db : "", "relation", jstr(it, "relation"), NULL);
	json_array_foreach(running, i, it) {
		ph = jstr(it, "phase");
		json_object_set_new(phases, ph ? ph : "unknown",
				    json_integer(json_integer_value(json_object_get(phases, ph ? ph : "unknown")) + 1));
	}
	json_t *v;
	json_object_foreach(phases, ph, v)
		sample(p, "pg_autovacuum_jobs", G, "Vacuum processes running, by phase.",
		       (double)json_integer_value(v), "db", db ? db : "", "phase", ph, NULL);
	json_decref(phases);
}

/* pgx-poll sizes only the Top-N; the rest is estimated from relpages */
static json_t *estimated(const json_t *other, const char *key)
{
	json_t *copy = json_deep_copy(other);

	if (json_is_object(copy) && !json_object_get(copy, key) &&
	    json_is_number(json_object_get(copy, "estimated_bytes")))
		json_object_set(copy, key, json_object_get(copy, "estimated_bytes"));
	return copy;
}

static void sizes(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric t[] = {
		{ "total_bytes", "pg_relation_size_bytes", G, "Size of a top relation with its indexes and TOAST.", 1 },
	};
	static const struct item_metric ix[] = {
		{ "bytes", "pg_index_size_bytes", G, "Size of a top index.", 1 },
	};
	json_t *tables = json_object_get(r, "tables"), *it;
	json_t *other = estimated(json_object_get(r, "other"), "total_bytes");
	json_t *ix_other = estimated(json_object_get(r, "indexes_other"), "bytes");
	size_t i;

	json_array_foreach(tables, i, it) {
		const char *rel = jstr(it, "relation"), *kind = jstr(it, "relkind");

		if (rel && (long)i < p->top)
			FIELD(p, it, "total_bytes", t[0].name, G, t[0].help, 1, "db", db ? db : "",
			      "relation", rel, "relkind", kind ? kind : "", NULL);
	}
	{
		double rest = 0, v;
		bool any = jnum(other, "total_bytes", &rest);

		json_array_foreach(tables, i, it)
			if ((long)i >= p->top && jnum(it, "total_bytes", &v))
				rest += v, any = true;
		if (any || json_is_object(other))
			sample(p, t[0].name, G, t[0].help, rest, "db", db ? db : "",
			       "relation", "other", "relkind", "", NULL);
	}
	list_metrics(p, json_object_get(r, "indexes"), ix_other, db, "index", "index", ix, 1);
	json_decref(other);
	json_decref(ix_other);
	if (json_is_array(json_object_get(r, "skipped")))
		sample(p, "pg_relations_size_skipped", G,
		       "Relations not sized because an exclusive lock was held or awaited.",
		       (double)json_array_size(json_object_get(r, "skipped")), "db", db ? db : "", NULL);
}

static void indexes(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric m[] = {
		{ "idx_scan_total", "pg_index_scans_total", C, "Scans of an unused-index candidate since stats reset.", 1 },
	};
	json_t *unused = json_object_get(r, "unused"), *invalid = json_object_get(r, "invalid");
	double bytes = 0, v;
	size_t i;
	json_t *it;

	list_metrics(p, unused, NULL, db, "index", "index", m, 1);
	if (json_is_array(unused))
		sample(p, "pg_indexes_unused", G,
		       "Indexes never scanned since stats reset (unique and primary keys excluded).",
		       (double)json_array_size(unused), "db", db ? db : "", NULL);
	if (json_is_array(invalid)) {
		json_array_foreach(invalid, i, it)
			if (jnum(it, "bytes", &v))
				bytes += v;
		sample(p, "pg_indexes_invalid", G, "Invalid indexes (a failed CREATE INDEX CONCURRENTLY).",
		       (double)json_array_size(invalid), "db", db ? db : "", NULL);
		sample(p, "pg_indexes_invalid_bytes", G, "Space used by invalid indexes.", bytes,
		       "db", db ? db : "", NULL);
	}
	if (json_is_array(json_object_get(r, "duplicate")))
		sample(p, "pg_indexes_duplicate", G, "Sets of indexes with the same definition.",
		       (double)json_array_size(json_object_get(r, "duplicate")), "db", db ? db : "", NULL);
}

static void bloat(struct prom *p, const json_t *r, const char *db)
{
	static const struct item_metric m[] = {
		{ "bloat_bytes", "pg_table_bloat_bytes", G, "Estimated bloat of a top table (catalog estimate).", 1 },
	};

	list_metrics(p, json_object_get(r, "tables"), json_object_get(r, "other"), db,
		     "relation", "relation", m, 1);
}

static void wraparound(struct prom *p, const json_t *r, const char *db)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(r, "databases"), i, it) {
		const char *d = jstr(it, "datname");

		if (!d)
			continue;
		FIELD(p, it, "xid_age", "pg_wraparound_tx_age", G, "age(datfrozenxid): transactions since the oldest unfrozen XID.", 1, "db", d, NULL);
		FIELD(p, it, "mxid_age", "pg_wraparound_mxid_age", G, "mxid_age(datminmxid): multixacts since the oldest unfrozen one.", 1, "db", d, NULL);
		FIELD(p, it, "pct_to_wraparound", "pg_wraparound_used_ratio", G, "XID age over 2^31, 0 to 1.", 0.01, "db", d, NULL);
	}
	FIELD(p, r, "autovacuum_freeze_max_age", "pg_autovacuum_freeze_max_age", G, "The autovacuum_freeze_max_age setting.", 1, NULL);
}

static void sequences(struct prom *p, const json_t *r, const char *db)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(r, "items"), i, it)
		if ((long)i < p->top && jstr(it, "sequence"))
			FIELD(p, it, "used_pct", "pg_sequence_used_ratio", G,
			      "Part of a sequence's range used, 0 to 1 (top sequences).", 0.01,
			      "db", db ? db : "", "sequence", jstr(it, "sequence"), NULL);
}

static void partitions(struct prom *p, const json_t *r, const char *db)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(r, "parents"), i, it) {
		const char *parent = jstr(it, "parent");

		if (!parent || (long)i >= p->top)
			continue;
		FIELD(p, it, "partitions", "pg_partitions", G, "Partitions of a partitioned table.", 1, "db", db ? db : "", "parent", parent, NULL);
		FIELD(p, it, "total_bytes", "pg_partitioned_table_size_bytes", G, "Size of all partitions of a partitioned table.", 1, "db", db ? db : "", "parent", parent, NULL);
	}
}

/* pgx-poll about itself, one series per loop */
static void poll(struct prom *p, const json_t *r, const char *db)
{
	const char *loop = jstr(r, "loop");

	loop = loop ? loop : "once";
	FIELD(p, r, "duration_s", "pgx_poll_duration_seconds", G, "How long pgx-poll's last poll took.", 1, "loop", loop, NULL);
	FIELD(p, r, "budget_s", "pgx_poll_budget_seconds", G, "The time budget of the loop.", 1, "loop", loop, NULL);
	FIELD(p, r, "success", "pgx_poll_last_success", G, "1 when the last poll succeeded.", 1, "loop", loop, NULL);
	FIELD(p, r, "errors", "pgx_poll_errors", G, "Errors during the last poll.", 1, "loop", loop, NULL);
	FIELD(p, r, "degraded", "pgx_poll_over_budget", G, "1 when the last poll went over its budget.", 1, "loop", loop, NULL);
	FIELD(p, r, "ts", "pgx_poll_last_timestamp_seconds", G, "When the last poll started.", 1, "loop", loop, NULL);
}

/* Sections degraded in the last poll read 0 in pgx_poll_section_ok. */
static void section_status(struct prom *p, const struct snapshot *s)
{
	const char *type, *db;
	json_t *by_db, *rec;

	json_object_foreach(s->sections, type, by_db) {
		bool ok = true, any = false;

		if (!strcmp(type, "poll"))
			continue;
		json_object_foreach(by_db, db, rec) {
			const char *st = jstr(rec, "status");

			if (st) {
				any = true;
				ok &= !strcmp(st, "ok");
			}
		}
		if (any)
			sample(p, "pgx_section_ok", G,
			       "1 when the section's last record has status ok, 0 when degraded or failed.",
			       ok, "section", type, NULL);
	}
}

static void emit(FILE *f, struct prom *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct family *fam = p->fams[i];

		fclose(fam->f);
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
		fwrite(fam->buf, 1, fam->len, f);
		free(fam->buf);
		free(fam);
	}
	free(p->fams);
}

void prom_render(FILE *f, const struct snapshot *s, long top)
{
	static const struct {
		const char *type;
		void (*fn)(struct prom *, const json_t *, const char *);
	} views[] = {
		{ "identity", identity }, { "connections", connections }, { "activity", activity },
		{ "locks", locks }, { "statements", statements }, { "io", io }, { "settings", settings }, { "database", database },
		{ "checkpoints", checkpoints }, { "wal", wal }, { "replication", replication },
		{ "archiver", archiver }, { "vacuum", vacuum }, { "sizes", sizes },
		{ "indexes", indexes }, { "bloat", bloat }, { "wraparound", wraparound },
		{ "sequences", sequences }, { "partitions", partitions }, { "pgbouncer", pgbouncer },
		{ "poll", poll },
	};
	struct prom p = { .cluster = s->cluster ? s->cluster : "", .top = top >= 0 ? top : PROM_TOP_DEFAULT };

	for (size_t i = 0; i < sizeof(views) / sizeof(*views); i++)
		each_record(s, views[i].type, &p, views[i].fn);
	section_status(&p, s);
	emit(f, &p);
}
