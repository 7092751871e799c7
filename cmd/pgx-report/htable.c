/* htable.c - a health snapshot as text for an 80-column terminal: the
 * seed's tables (overview, connections, locks, top queries, autovacuum,
 * storage, replication, wraparound, alerts) and every other section a DBA
 * looks at (sequences, partitions, checkpoints and WAL, I/O, archiving,
 * slots, PgBouncer, settings not at their default), Top-N rows each */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "report.h"
#include "health.h"

#define TABLE_TOP_DEFAULT 5
#define CELL 256

struct view {
	FILE *f;
	const struct snapshot *s;
	long top;
};

/* The last cell of a line: cut, never padded */
/* s on one line: each run of spaces, tabs and newlines as one space (a
 * multi-line statement would break the table), at most outlen - 1 bytes. */
static const char *one_line(char *out, size_t outlen, const char *s)
{
	size_t n = 0;

	for (; *s == ' ' && n + 1 < outlen; s++)	/* a line's own indent stays */
		out[n++] = ' ';
	for (; *s && n + 1 < outlen; s++) {
		bool blank = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';

		if (!blank)
			out[n++] = *s;
		else if (n && out[n - 1] != ' ')
			out[n++] = ' ';
	}
	out[n] = '\0';
	return out;
}

static void tail(FILE *f, const char *s, size_t width)
{
	char flat[1024], buf[CELL * 4];

	fputs(cut_end(buf, sizeof(buf), one_line(flat, sizeof(flat), s ? s : "-"), width), f);
}

/* A cell of width columns: text cut at its end, padded; or right-aligned */
static void cell(FILE *f, const char *s, size_t width, bool right)
{
	char buf[CELL * 4];
	const char *c = cut_end(buf, sizeof(buf), s ? s : "-", width);
	size_t w = utf8_width(c);

	if (right)
		fprintf(f, "%*s%s", (int)(width > w ? width - w : 0), "", c);
	else
		fprintf(f, "%s%*s", c, (int)(width > w ? width - w : 0), "");
}

static const char *num(char *buf, const json_t *o, const char *key)
{
	double v;

	if (!jnum(o, key, &v))
		return "-";
	if (fabs(v) >= 1e9)
		snprintf(buf, 32, "%.1fG", v / 1e9);
	else if (fabs(v) >= 1e6)
		snprintf(buf, 32, "%.1fM", v / 1e6);
	else if (fabs(v) >= 1e4)
		snprintf(buf, 32, "%.1fk", v / 1e3);
	else
		snprintf(buf, 32, v == floor(v) ? "%.0f" : "%.2f", v);
	return buf;
}

static const char *bytes(char *buf, const json_t *o, const char *key)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v;
	int i = 0;

	if (!jnum(o, key, &v))
		return "-";
	while (v >= 1024 && i < 5) {
		v /= 1024;
		i++;
	}
	snprintf(buf, 32, i ? "%.1f %s" : "%.0f %s", v, u[i]);
	return buf;
}

static const char *age(char *buf, const json_t *o, const char *key)
{
	double s;

	if (!jnum(o, key, &s))
		return "-";
	if (s < 60)
		snprintf(buf, 32, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, 32, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else if (s < 86400)
		snprintf(buf, 32, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, 32, "%dd%02dh", (int)(s / 86400), (int)fmod(s / 3600, 24));
	return buf;
}

static const char *since(char *buf, const struct snapshot *s, const json_t *o, const char *key)
{
	double ts;
	json_t *tmp;

	if (!jnum(o, key, &ts) || s->ts < 0)
		return "never";
	tmp = json_pack("{s:f}", "a", s->ts - ts);
	age(buf, tmp, "a");
	json_decref(tmp);
	strcat(buf, " ago");
	return buf;
}

static void heading(struct view *v, const char *title)
{
	fprintf(v->f, "\n%s\n", title);
}

static void status_line(struct view *v, const json_t *rec)
{
	const char *st = jstr(rec, "status");
	json_t *m;
	size_t i;

	if (!st || !strcmp(st, "ok"))
		return;
	json_array_foreach(json_object_get(rec, "missing"), i, m) {
		char line[512];

		snprintf(line, sizeof(line), "  (%s: %s: %s)", st, jstr(m, "what") ? jstr(m, "what") : "?",
			 jstr(m, "why") ? jstr(m, "why") : "?");
		tail(v->f, line, 79);
		fputc('\n', v->f);
	}
}

static void overview(struct view *v)
{
	json_t *id = snapshot_get(v->s, "identity", NULL), *c = snapshot_get(v->s, "connections", NULL);
	json_t *a = snapshot_get(v->s, "activity", NULL), *l = snapshot_get(v->s, "locks", NULL);
	char b1[32], b2[32], b3[32], t[40];
	time_t ts = (time_t)v->s->ts;
	struct tm tm;

	fputs("PostgreSQL health: ", v->f);
	cell(v->f, v->s->cluster ? v->s->cluster : "?", 35, false);
	fputc(' ', v->f);
	if (ts > 0 && gmtime_r(&ts, &tm) && strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S UTC", &tm))
		fprintf(v->f, "%s", t);
	fputc('\n', v->f);
	if (id)
		fprintf(v->f, "Server:       PostgreSQL %s, %s, up %s\n", jstr(id, "version") ? jstr(id, "version") : "?",
			jstr(id, "role") ? jstr(id, "role") : "?", age(b1, id, "uptime_s"));
	if (c)
		fprintf(v->f, "Connections:  %s of %s (%s%%)\n", num(b1, c, "total"),
			num(b2, c, "max_connections"), num(b3, c, "used_pct"));
	if (a)
		fprintf(v->f, "Transactions: oldest %s, %s idle in transaction (longest %s)\n",
			age(b1, a, "oldest_xact_age_s"), num(b2, a, "idle_in_xact_count"),
			age(b3, a, "idle_in_xact_max_age_s"));
	if (l)
		fprintf(v->f, "Locks:        %s session(s) blocked, longest wait %s\n",
			num(b1, l, "blocked_sessions"), age(b2, l, "longest_wait_s"));
}

static void databases(struct view *v)
{
	json_t *by_db = snapshot_section(v->s, "database"), *r;
	const char *db;
	char b[6][32];

	if (!by_db)
		return;
	heading(v, "Databases");
	fputs("  database              size  backends   commits  rollbacks cache hit      temp\n", v->f);
	json_object_foreach(by_db, db, r) {
		fputs("  ", v->f);
		cell(v->f, db, 18, false);
		cell(v->f, bytes(b[0], r, "size_bytes"), 9, true);
		cell(v->f, num(b[1], r, "numbackends"), 10, true);
		cell(v->f, num(b[2], r, "xact_commit_total"), 10, true);
		cell(v->f, num(b[3], r, "xact_rollback_total"), 11, true);
		snprintf(b[4], 32, "%s%%", num(b[5], r, "cache_hit_pct"));
		cell(v->f, b[4], 10, true);
		cell(v->f, bytes(b[5], r, "temp_bytes_total"), 10, true);
		fputc('\n', v->f);
	}
}

static void locks(struct view *v)
{
	json_t *l = snapshot_get(v->s, "locks", NULL), *t, *b;
	char b1[32], b2[32], line[CELL];
	size_t i, j;

	if (!json_array_size(json_object_get(l, "trees")))
		return;
	heading(v, "Blocking chains");
	json_array_foreach(json_object_get(l, "trees"), i, t) {
		snprintf(line, sizeof(line), "  root pid %lld (%s, xact %s): %s",
			 (long long)json_integer_value(json_object_get(t, "root_pid")),
			 jstr(t, "root_state") ? jstr(t, "root_state") : "?", age(b1, t, "root_xact_age_s"),
			 jstr(t, "root_query") ? jstr(t, "root_query") : "");
		tail(v->f, line, 79);
		fputc('\n', v->f);
		json_array_foreach(json_object_get(t, "blocked"), j, b) {
			long depth = pgx_rec_int(b, "depth", 1);

			snprintf(line, sizeof(line), "  %*s- pid %lld waits %s for %s: %s",
				 (int)(depth > 8 ? 16 : depth * 2), "",
				 (long long)json_integer_value(json_object_get(b, "pid")), age(b2, b, "wait_s"),
				 jstr(b, "mode") ? jstr(b, "mode") : "?", jstr(b, "query") ? jstr(b, "query") : "");
			tail(v->f, line, 79);
			fputc('\n', v->f);
		}
	}
}

/* pgx's own statements, left out of the Top-N: their cost stays in view. */
static void self_line(struct view *v, const json_t *self)
{
	char b[2][32];

	if (!self || json_integer_value(json_object_get(self, "count")) <= 0)
		return;
	cell(v->f, num(b[0], self, "calls_total"), 11, true);
	cell(v->f, num(b[1], self, "exec_time_s_total"), 10, true);
	fprintf(v->f, "%10s  pgx itself (%lld statements, not ranked)\n", "-",
		(long long)json_integer_value(json_object_get(self, "count")));
}

static void queries(struct view *v)
{
	json_t *st = snapshot_get(v->s, "statements", NULL), *it;
	char b[4][32];
	size_t i;

	if (!st)
		return;
	heading(v, "Top queries (by total execution time)");
	status_line(v, st);
	fputs("      calls   total s   mean ms  query\n", v->f);
	json_array_foreach(json_object_get(st, "items"), i, it) {
		double mean;

		if ((long)i >= v->top)
			break;
		cell(v->f, num(b[0], it, "calls_total"), 11, true);
		cell(v->f, num(b[1], it, "exec_time_s_total"), 10, true);
		if (jnum(it, "mean_exec_time_s", &mean))
			snprintf(b[2], 32, "%.2f", mean * 1000);
		else
			strcpy(b[2], "-");
		cell(v->f, b[2], 10, true);
		fputs("  ", v->f);
		tail(v->f, jstr(it, "query") ? jstr(it, "query") : "(hidden)", 46);
		fputc('\n', v->f);
	}
	self_line(v, json_object_get(st, "pgx_self"));
}

static void vacuum(struct view *v)
{
	json_t *by_db = snapshot_section(v->s, "vacuum"), *r, *it;
	const char *db;
	char b[4][32];
	size_t i;

	if (!by_db)
		return;
	heading(v, "Autovacuum (most dead tuples)");
	fputs("  relation                          live      dead   dead%  last autovacuum\n", v->f);
	json_object_foreach(by_db, db, r)
		json_array_foreach(json_object_get(r, "tables"), i, it) {
			char name[CELL];

			if ((long)i >= v->top)
				break;
			snprintf(name, sizeof(name), "%s.%s", db, jstr(it, "relation") ? jstr(it, "relation") : "?");
			fputs("  ", v->f);
			cell(v->f, name, 30, false);
			cell(v->f, num(b[0], it, "n_live_tup"), 9, true);
			cell(v->f, num(b[1], it, "n_dead_tup"), 10, true);
			cell(v->f, num(b[2], it, "dead_pct"), 8, true);
			fputs("  ", v->f);
			tail(v->f, since(b[3], v->s, it, "last_autovacuum_ts"), 18);
			fputc('\n', v->f);
		}
}

static void storage(struct view *v)
{
	json_t *by_db = snapshot_section(v->s, "sizes"), *r, *it;
	const char *db;
	char b[4][32], name[CELL];
	size_t i;

	if (by_db) {
		heading(v, "Storage (largest relations)");
		fputs("  relation                            total      table    indexes      toast\n", v->f);
	}
	json_object_foreach(by_db, db, r)
		json_array_foreach(json_object_get(r, "tables"), i, it) {
			if ((long)i >= v->top)
				break;
			snprintf(name, sizeof(name), "%s.%s", db, jstr(it, "relation") ? jstr(it, "relation") : "?");
			fputs("  ", v->f);
			cell(v->f, name, 30, false);
			cell(v->f, bytes(b[0], it, "total_bytes"), 11, true);
			cell(v->f, bytes(b[1], it, "table_bytes"), 11, true);
			cell(v->f, bytes(b[2], it, "index_bytes"), 11, true);
			cell(v->f, bytes(b[3], it, "toast_bytes"), 11, true);
			fputc('\n', v->f);
		}
	json_object_foreach(snapshot_section(v->s, "indexes"), db, r) {
		static const char *const kinds[] = { "unused", "invalid" };

		for (size_t k = 0; k < 2; k++)
			json_array_foreach(json_object_get(r, kinds[k]), i, it) {
				snprintf(name, sizeof(name), "  %s index %s.%s on %s, %s", kinds[k], db,
					 jstr(it, "index") ? jstr(it, "index") : "?",
					 jstr(it, "relation") ? jstr(it, "relation") : "?", bytes(b[0], it, "bytes"));
				tail(v->f, name, 79);
				fputc('\n', v->f);
			}
	}
}

static void slots(struct view *v, const json_t *r)
{
	json_t *it;
	char b[32];
	size_t i;

	if (!json_array_size(json_object_get(r, "slots")))
		return;
	fputs("  slot                      type       active  wal_status   retained WAL\n", v->f);
	json_array_foreach(json_object_get(r, "slots"), i, it) {
		if ((long)i >= v->top)
			break;
		fputs("  ", v->f);
		cell(v->f, jstr(it, "slot_name"), 24, false);
		fputs("  ", v->f);
		cell(v->f, jstr(it, "slot_type"), 10, false);
		cell(v->f, json_is_true(json_object_get(it, "active")) ? "yes" : "no", 8, false);
		cell(v->f, jstr(it, "wal_status"), 10, false);
		cell(v->f, bytes(b, it, "retained_bytes"), 15, true);
		fputc('\n', v->f);
	}
}

static void replication(struct view *v)
{
	json_t *r = snapshot_get(v->s, "replication", NULL), *it;
	char b[3][32];
	size_t i;

	if (!json_array_size(json_object_get(r, "replicas")) && !json_array_size(json_object_get(r, "slots")))
		return;
	heading(v, "Replication");
	if (json_array_size(json_object_get(r, "replicas")))
		fputs("  replica                   state        sync    replay lag   lag bytes\n", v->f);
	json_array_foreach(json_object_get(r, "replicas"), i, it) {
		if ((long)i >= v->top)
			break;
		fputs("  ", v->f);
		cell(v->f, jstr(it, "application_name"), 24, false);
		fputs("  ", v->f);
		cell(v->f, jstr(it, "state"), 12, false);
		cell(v->f, jstr(it, "sync_state"), 6, false);
		cell(v->f, age(b[0], it, "replay_lag_s"), 13, true);
		cell(v->f, bytes(b[1], it, "replay_lag_bytes"), 12, true);
		fputc('\n', v->f);
	}
	slots(v, r);
}

/* "12 (0.5/s)": a counter, with its --delta rate when there is one */
static const char *counter(char *buf, size_t len, const json_t *o, const char *base)
{
	char key[64], n[32];
	double r;

	snprintf(key, sizeof(key), "%s_total", base);
	num(n, o, key);
	snprintf(key, sizeof(key), "%s_per_s", base);
	if (jnum(o, key, &r))
		snprintf(buf, len, "%s (%.2f/s)", n, r);
	else
		snprintf(buf, len, "%s", n);
	return buf;
}

static void checkpoints_wal(struct view *v)
{
	json_t *c = snapshot_get(v->s, "checkpoints", NULL), *w = snapshot_get(v->s, "wal", NULL);
	char b[4][64], line[CELL];

	if (!c && !w)
		return;
	heading(v, "Checkpoints and WAL");
	if (c) {
		status_line(v, c);
		snprintf(line, sizeof(line), "  checkpoints: %s timed, %s requested; write %s, sync %s",
			 counter(b[0], sizeof(b[0]), c, "checkpoints_timed"),
			 counter(b[1], sizeof(b[1]), c, "checkpoints_req"),
			 age(b[2], c, "checkpoint_write_time_s_total"),
			 age(b[3], c, "checkpoint_sync_time_s_total"));
		tail(v->f, line, 79);
		fputc('\n', v->f);
		snprintf(line, sizeof(line), "  buffers written: %s by checkpoints, %s by bgwriter, %s by backends",
			 num(b[0], c, "buffers_checkpoint_total"), num(b[1], c, "buffers_clean_total"),
			 num(b[2], c, "buffers_backend_total"));
		tail(v->f, line, 79);
		fputc('\n', v->f);
	}
	if (w) {
		char rate[48] = "";
		double r;

		status_line(v, w);
		if (jnum(w, "wal_bytes_per_s", &r))
			snprintf(rate, sizeof(rate), " (%.0f B/s)", r);
		snprintf(line, sizeof(line), "  WAL: %s%s, %s records, %s full-page images, %s buffers full",
			 bytes(b[0], w, "wal_bytes_total"), rate, num(b[1], w, "wal_records_total"),
			 num(b[2], w, "wal_fpi_total"), num(b[3], w, "wal_buffers_full_total"));
		tail(v->f, line, 79);
		fputc('\n', v->f);
	}
}

/* pg_stat_io (PostgreSQL 16+): the busiest rows by reads and writes */
static void io(struct view *v)
{
	json_t *r = snapshot_get(v->s, "io", NULL), *it;
	char b[3][32];
	size_t i;

	if (!r)
		return;
	heading(v, "I/O (pg_stat_io)");
	status_line(v, r);
	if (!json_array_size(json_object_get(r, "items")))
		return;
	fputs("  backend type / object / context              reads     writes       hits\n", v->f);
	json_array_foreach(json_object_get(r, "items"), i, it) {
		char name[CELL];

		if ((long)i >= v->top)
			break;
		snprintf(name, sizeof(name), "%s / %s / %s", jstr(it, "backend_type") ? jstr(it, "backend_type") : "?",
			 jstr(it, "object") ? jstr(it, "object") : "?", jstr(it, "context") ? jstr(it, "context") : "?");
		fputs("  ", v->f);
		cell(v->f, name, 42, false);
		cell(v->f, num(b[0], it, "reads_total"), 11, true);
		cell(v->f, num(b[1], it, "writes_total"), 11, true);
		cell(v->f, num(b[2], it, "hits_total"), 11, true);
		fputc('\n', v->f);
	}
}

static void archiver(struct view *v)
{
	json_t *a = snapshot_get(v->s, "archiver", NULL);
	char b[4][32], line[CELL];

	if (!a)
		return;
	heading(v, "WAL archiving");
	status_line(v, a);
	snprintf(line, sizeof(line), "  archive_mode %s: %s archived, last %s (%s)",
		 jstr(a, "archive_mode") ? jstr(a, "archive_mode") : "?", num(b[0], a, "archived_count_total"),
		 jstr(a, "last_archived_wal") ? jstr(a, "last_archived_wal") : "none",
		 since(b[1], v->s, a, "last_archived_ts"));
	tail(v->f, line, 79);
	fputc('\n', v->f);
	snprintf(line, sizeof(line), "  %s failed, last %s (%s)", num(b[2], a, "failed_count_total"),
		 jstr(a, "last_failed_wal") ? jstr(a, "last_failed_wal") : "none",
		 since(b[3], v->s, a, "last_failed_ts"));
	tail(v->f, line, 79);
	fputc('\n', v->f);
}

static void pgbouncer(struct view *v)
{
	json_t *r = snapshot_get(v->s, "pgbouncer", NULL), *it;
	char b[5][32];
	size_t i;

	if (!r)
		return;
	heading(v, "PgBouncer pools");
	status_line(v, r);
	if (!json_array_size(json_object_get(r, "pools")))
		return;
	fputs("  database          mode         clients  waiting  servers   idle   max wait\n", v->f);
	json_array_foreach(json_object_get(r, "pools"), i, it) {
		double wait = 0, us = 0;

		if ((long)i >= v->top)
			break;
		fputs("  ", v->f);
		cell(v->f, jstr(it, "database"), 17, false);
		fputc(' ', v->f);
		cell(v->f, jstr(it, "pool_mode"), 11, false);
		cell(v->f, num(b[0], it, "cl_active"), 9, true);
		cell(v->f, num(b[1], it, "cl_waiting"), 9, true);
		cell(v->f, num(b[2], it, "sv_active"), 9, true);
		cell(v->f, num(b[3], it, "sv_idle"), 7, true);
		jnum(it, "maxwait", &wait);
		jnum(it, "maxwait_us", &us);
		snprintf(b[4], sizeof(b[4]), "%.2fs", wait + us / 1e6);
		cell(v->f, b[4], 11, true);
		fputc('\n', v->f);
	}
}

static void sequences(struct view *v)
{
	json_t *by_db = snapshot_section(v->s, "sequences"), *r, *it;
	const char *db;
	char b[2][32], name[CELL];
	size_t i;

	if (!by_db)
		return;
	heading(v, "Sequences (most used)");
	json_object_foreach(by_db, db, r) {
		status_line(v, r);
		json_array_foreach(json_object_get(r, "items"), i, it) {
			if ((long)i >= v->top)
				break;
			snprintf(name, sizeof(name), "%s.%s", db, jstr(it, "sequence") ? jstr(it, "sequence") : "?");
			fputs("  ", v->f);
			cell(v->f, name, 44, false);
			cell(v->f, jstr(it, "data_type"), 9, false);
			snprintf(b[0], sizeof(b[0]), "%s%% used", num(b[1], it, "used_pct"));
			cell(v->f, b[0], 12, true);
			fputc('\n', v->f);
		}
	}
}

static void partitions(struct view *v)
{
	json_t *by_db = snapshot_section(v->s, "partitions"), *r, *it;
	const char *db;
	char b[2][32], line[CELL];
	size_t i;

	if (!by_db)
		return;
	heading(v, "Partitioned tables");
	json_object_foreach(by_db, db, r) {
		status_line(v, r);
		json_array_foreach(json_object_get(r, "parents"), i, it) {
			if ((long)i >= v->top)
				break;
			snprintf(line, sizeof(line), "  %s.%s: %s, %s partitions, %s", db,
				 jstr(it, "parent") ? jstr(it, "parent") : "?",
				 jstr(it, "strategy") ? jstr(it, "strategy") : "?", num(b[0], it, "partitions"),
				 bytes(b[1], it, "total_bytes"));
			tail(v->f, line, 79);
			fputc('\n', v->f);
			snprintf(line, sizeof(line), "    newest %s, %zu gap(s), default partition %s",
				 jstr(it, "newest") ? jstr(it, "newest") : "-",
				 json_array_size(json_object_get(it, "gaps")),
				 jstr(it, "default_partition") ? jstr(it, "default_partition") : "none");
			tail(v->f, line, 79);
			fputc('\n', v->f);
		}
	}
}

static void settings_changed(struct view *v)
{
	json_t *r = snapshot_get(v->s, "settings", NULL), *it;
	char line[CELL];
	size_t i;

	if (!r)
		return;
	heading(v, "Settings not at their default");
	status_line(v, r);
	json_array_foreach(json_object_get(r, "settings"), i, it) {
		if (!setting_not_default(it))
			continue;
		snprintf(line, sizeof(line), "  %s = %s (%s)%s", jstr(it, "name") ? jstr(it, "name") : "?",
			 jstr(it, "value") ? jstr(it, "value") : "?", jstr(it, "source"),
			 json_is_true(json_object_get(it, "pending_restart")) ? ", restart pending" : "");
		tail(v->f, line, 79);
		fputc('\n', v->f);
	}
}

/* prereqs' grants: what the DBA runs so the degraded sections get their data */
static void grants(struct view *v)
{
	json_t *list = json_object_get(snapshot_get(v->s, "prereqs", NULL), "grants"), *g;
	char line[CELL * 2];
	size_t i;

	if (!json_array_size(list))
		return;
	heading(v, "To see everything, run as a superuser");
	json_array_foreach(list, i, g) {
		snprintf(line, sizeof(line), "  %s -- %s", jstr(g, "sql") ? jstr(g, "sql") : "?",
			 jstr(g, "section") ? jstr(g, "section") : "?");
		tail(v->f, line, 79);
		fputc('\n', v->f);
	}
}

static void wraparound(struct view *v)
{
	json_t *w = snapshot_get(v->s, "wraparound", NULL), *it;
	char b[3][32];
	size_t i;

	if (!w)
		return;
	heading(v, "Wraparound");
	fputs("  database                        xid age    mxid age   % to wraparound\n", v->f);
	json_array_foreach(json_object_get(w, "databases"), i, it) {
		fputs("  ", v->f);
		cell(v->f, jstr(it, "datname"), 28, false);
		cell(v->f, num(b[0], it, "xid_age"), 11, true);
		cell(v->f, num(b[1], it, "mxid_age"), 12, true);
		cell(v->f, num(b[2], it, "pct_to_wraparound"), 18, true);
		fputc('\n', v->f);
	}
}

static void alerts(struct view *v)
{
	const char *k;
	json_t *a;

	if (!json_object_size(v->s->alerts))
		return;
	heading(v, "Alerts");
	json_object_foreach(v->s->alerts, k, a) {
		char line[CELL * 2];

		snprintf(line, sizeof(line), "  %-8s %-8s %s: %s", jstr(a, "state") ? jstr(a, "state") : "?",
			 jstr(a, "severity") ? jstr(a, "severity") : "?", jstr(a, "rule") ? jstr(a, "rule") : "?",
			 jstr(a, "message") ? jstr(a, "message") : "");
		tail(v->f, line, 79);
		fputc('\n', v->f);
	}
}

void health_table_render(FILE *f, const struct snapshot *s, long top)
{
	struct view v = { f, s, top >= 0 ? top : TABLE_TOP_DEFAULT };

	overview(&v);
	databases(&v);
	locks(&v);
	queries(&v);
	vacuum(&v);
	storage(&v);
	sequences(&v);
	partitions(&v);
	checkpoints_wal(&v);
	io(&v);
	archiver(&v);
	replication(&v);
	pgbouncer(&v);
	wraparound(&v);
	settings_changed(&v);
	grants(&v);
	alerts(&v);
}
