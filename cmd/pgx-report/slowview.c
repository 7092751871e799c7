/* slowview.c - the slow log as a table, one JSON document, or NDJSON
 * slow_query and slowlog_summary records (fields in pgx-report(1), OUTPUT) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "report.h"
#include "slowlog.h"

#define TABLE_WIDTH 80
#define QUERY_INDENT 5

static json_t *json_ms(double ms)
{
	return json_real(round_to(ms, 0.001));
}

static json_t *opt_ts(const struct slowlog_span *t, bool last)
{
	return t->has ? json_real(pgx_round_us(last ? t->last : t->first)) : json_null();
}

static size_t shown(const struct slowlog *sl)
{
	return sl->nranked < (size_t)sl->opts.top ? sl->nranked : (size_t)sl->opts.top;
}

static void set_query_fields(json_t *o, const struct shape *q, size_t rank)
{
	json_object_set_new(o, "rank", json_integer((json_int_t)rank));
	json_object_set_new(o, "query", json_string(q->query));
	json_object_set_new(o, "count", json_integer((json_int_t)q->count));
	json_object_set_new(o, "total_ms", json_ms(q->total_ms));
	json_object_set_new(o, "mean_ms", json_ms(q->total_ms / (double)q->count));
	json_object_set_new(o, "p95_ms", json_ms(q->p95_ms));
	json_object_set_new(o, "max_ms", json_ms(q->max_ms));
	json_object_set_new(o, "first_seen", opt_ts(&q->seen, false));
	json_object_set_new(o, "last_seen", opt_ts(&q->seen, true));
	json_object_set_new(o, "example", pgx_json_text(q->example, strlen(q->example), NULL));
}

static json_t *opt_max(const struct slowlog_sum *s, double unit)
{
	return s->count ? json_real(round_to(s->max, unit)) : json_null();
}

static json_t *errors_array(const struct slowlog *sl)
{
	json_t *a = json_array();

	for (size_t i = 0; i < sl->errors.n; i++) {
		const struct error_row *e = &sl->errors.v[i];
		json_t *o = json_object();
		json_object_set_new(o, "sqlstate", e->sqlstate ? json_string(e->sqlstate) : json_null());
		json_object_set_new(o, "severity", json_string(e->severity));
		json_object_set_new(o, "count", json_integer((json_int_t)e->count));
		json_object_set_new(o, "message", pgx_json_text(e->example, strlen(e->example), NULL));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *autovacuum_object(const struct slowlog *sl)
{
	json_t *o = json_object(), *tables = json_array();

	json_object_set_new(o, "vacuum", json_integer((json_int_t)sl->av.vacuum));
	json_object_set_new(o, "analyze", json_integer((json_int_t)sl->av.analyze));
	json_object_set_new(o, "max_elapsed_s", sl->av.vacuum + sl->av.analyze ? json_real(sl->av.max_s) : json_null());
	for (size_t i = 0; i < sl->av.tables.n; i++) {
		json_t *t = json_object();
		json_object_set_new(t, "table", json_string(sl->av.tables.v[i].table));
		json_object_set_new(t, "runs", json_integer((json_int_t)sl->av.tables.v[i].runs));
		json_array_append_new(tables, t);
	}
	json_object_set_new(o, "tables", tables);
	return o;
}

/* Everything but the query list: the JSON document's and the summary record's fields. */
static void set_summary_fields(json_t *o, const struct slowlog *sl)
{
	json_t *locks = json_object(), *temp = json_object(), *ckpt = json_object();

	json_object_set_new(o, "statements", json_integer((json_int_t)sl->statements));
	json_object_set_new(o, "shapes", json_integer((json_int_t)sl->nshapes));
	if (sl->opts.min_mean_ms > 0 || sl->opts.min_total_ms > 0)
		json_object_set_new(o, "shapes_below_threshold", json_integer((json_int_t)(sl->nshapes - sl->nranked)));
	json_object_set_new(o, "total_ms", json_ms(sl->total_ms));
	json_object_set_new(o, "first_seen", opt_ts(&sl->seen, false));
	json_object_set_new(o, "last_seen", opt_ts(&sl->seen, true));
	json_object_set_new(o, "unpaired_durations", json_integer((json_int_t)sl->unpaired));
	json_object_set_new(o, "errors", errors_array(sl));
	json_object_set_new(locks, "count", json_integer((json_int_t)sl->locks.count));
	json_object_set_new(locks, "total_wait_ms", json_ms(sl->locks.total));
	json_object_set_new(locks, "max_wait_ms", opt_max(&sl->locks, 0.001));
	json_object_set_new(o, "lock_waits", locks);
	json_object_set_new(temp, "count", json_integer((json_int_t)sl->temp.count));
	json_object_set_new(temp, "total_bytes", json_integer((json_int_t)sl->temp.total));
	json_object_set_new(temp, "max_bytes", sl->temp.count ? json_integer((json_int_t)sl->temp.max) : json_null());
	json_object_set_new(o, "temp_files", temp);
	json_object_set_new(ckpt, "count", json_integer((json_int_t)sl->ckpt.count));
	json_object_set_new(ckpt, "buffers", json_integer((json_int_t)sl->ckpt.extra));
	json_object_set_new(ckpt, "total_s", json_real(round_to(sl->ckpt.total, 0.001)));
	json_object_set_new(ckpt, "max_s", opt_max(&sl->ckpt, 0.001));
	json_object_set_new(o, "checkpoints", ckpt);
	json_object_set_new(o, "autovacuum", autovacuum_object(sl));
}

static bool render_json(FILE *f, const struct slowlog *sl)
{
	json_t *doc = json_object(), *queries = json_array();
	size_t len;
	char *text;
	bool ok;

	for (size_t i = 0; i < shown(sl); i++) {
		json_t *o = json_object();
		set_query_fields(o, sl->ranked[i], i + 1);
		json_array_append_new(queries, o);
	}
	json_object_set_new(doc, "queries", queries);
	set_summary_fields(doc, sl);
	text = pgx_record_dumps(doc, &len);
	ok = fwrite(text, 1, len, f) == len && putc('\n', f) != EOF;
	free(text);
	json_decref(doc);
	return ok;
}

static bool render_records(const struct slowlog *sl)
{
	json_t *rec;

	for (size_t i = 0; i < shown(sl); i++) {
		const struct shape *q = sl->ranked[i];
		rec = pgx_record_new("slow_query", q->seen.has ? q->seen.last : -1);
		set_query_fields(rec, q, i + 1);
		if (!pgx_emit(rec))
			return false;
	}
	rec = pgx_record_new("slowlog_summary", sl->seen.has ? sl->seen.last : -1);
	set_summary_fields(rec, sl);
	return pgx_emit(rec);
}

/* ---- the table ---- */

static const char *fmt_clock(char buf[FMT_LEN], double ts, bool with_date)
{
	time_t t = (time_t)floor(ts);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !(with_date ? strftime(buf, FMT_LEN, "%Y-%m-%d %H:%M:%S", &tm) : strftime(buf, FMT_LEN, "%H:%M:%S", &tm)))
		strcpy(buf, "?");
	return buf;
}

/* A message on one line: newlines and tabs as spaces. */
static void put_flat(FILE *f, const char *s, size_t width)
{
	char *flat = pgx_xstrdup(s), *cut = pgx_xmalloc(strlen(s) + 8);

	for (char *p = flat; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	fputs(cut_end(cut, strlen(s) + 8, flat, width), f);
	free(flat);
	free(cut);
}

static void table_queries(FILE *f, const struct slowlog *sl)
{
	char a[FMT_LEN], b[FMT_LEN], c[FMT_LEN];

	fprintf(f, "Slow log: %lu statements in %zu shapes, %.3f s in all", sl->statements, sl->nshapes,
		sl->total_ms / 1000);
	if (sl->seen.has)
		fprintf(f, "\nfrom %s to %s UTC", fmt_clock(a, sl->seen.first, true),
			fmt_clock(b, sl->seen.last, true));
	fputs("\n\n", f);
	if (!sl->nshapes)
		return;
	fprintf(f, "%3s %8s %10s %9s %9s %9s  %s\n", "#", "count", "total_s", "mean_ms", "p95_ms", "max_ms",
		"seen (UTC)");
	for (size_t i = 0; i < shown(sl); i++) {
		const struct shape *q = sl->ranked[i];
		fprintf(f, "%3zu %8lu %10.3f %9.3f %9.3f %9.3f  %s-%s\n%*s", i + 1, q->count, q->total_ms / 1000,
			q->total_ms / (double)q->count, q->p95_ms, q->max_ms,
			q->seen.has ? fmt_clock(a, q->seen.first, false) : "?",
			q->seen.has ? fmt_clock(c, q->seen.last, false) : "?", QUERY_INDENT, "");
		put_flat(f, q->query, TABLE_WIDTH - QUERY_INDENT);
		putc('\n', f);
	}
	if (shown(sl) < sl->nranked)
		fprintf(f, "(%zu more shapes; -n to show them)\n", sl->nranked - shown(sl));
	if (sl->nranked < sl->nshapes)
		fprintf(f, "(%zu shapes below --min-mean-ms or --min-total-ms)\n", sl->nshapes - sl->nranked);
}

static void table_errors(FILE *f, const struct slowlog *sl)
{
	if (!sl->errors.n)
		return;
	fprintf(f, "\nErrors by SQLSTATE\n%8s  %-8s  %-8s  %s\n", "count", "sqlstate", "severity", "first message");
	for (size_t i = 0; i < sl->errors.n && (long)i < sl->opts.top; i++) {
		const struct error_row *e = &sl->errors.v[i];
		fprintf(f, "%8lu  %-8s  %-8s  ", e->count, e->sqlstate ? e->sqlstate : "-", e->severity);
		put_flat(f, e->example, TABLE_WIDTH - 32);
		putc('\n', f);
	}
	if (sl->errors.n > (size_t)sl->opts.top)
		fprintf(f, "(%zu more; -n to show them)\n", sl->errors.n - (size_t)sl->opts.top);
}

static void table_events(FILE *f, const struct slowlog *sl)
{
	fputc('\n', f);
	fprintf(f, "%-17s %lu", "Lock waits", sl->locks.count);
	if (sl->locks.count)
		fprintf(f, " (longest logged wait %.3f ms)", sl->locks.max);
	fprintf(f, "\n%-17s %lu", "Temporary files", sl->temp.count);
	if (sl->temp.count)
		fprintf(f, ", %.0f bytes (largest %.0f)", sl->temp.total, sl->temp.max);
	fprintf(f, "\n%-17s %lu", "Checkpoints", sl->ckpt.count);
	if (sl->ckpt.count)
		fprintf(f, ", %.0f buffers written, %.3f s (longest %.3f s)", sl->ckpt.extra, sl->ckpt.total,
			sl->ckpt.max);
	fprintf(f, "\n%-17s %lu vacuum, %lu analyze", "Autovacuum runs", sl->av.vacuum, sl->av.analyze);
	if (sl->av.tables.n)
		fprintf(f, "; most on %s (%lu)", sl->av.tables.v[0].table, sl->av.tables.v[0].runs);
	fputc('\n', f);
}

bool slowlog_render(FILE *f, const struct slowlog *sl)
{
	switch (sl->opts.format) {
	case SLOW_JSON:
		return render_json(f, sl);
	case SLOW_RECORDS:
		return render_records(sl);
	default:
		table_queries(f, sl);
		table_errors(f, sl);
		table_events(f, sl);
		return !ferror(f);
	}
}
