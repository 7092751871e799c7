/* html.c - a health snapshot as one self-contained HTML page: inline CSS
 * and SVG, no script, no fetch; every text from the input escaped; each
 * panel shows the SQL that produced it (pgx-poll --with-sql) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "health.h"
#include "trend.h"

#define HTML_TOP_DEFAULT 20

struct page {
	FILE *f;
	const struct snapshot *s;
	long top;
};

void html_esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void fmt_age(char *buf, size_t n, double s)
{
	if (s < 0)
		s = 0;	/* clocks of the server and of its queries, a hair apart */
	if (s < 60)
		snprintf(buf, n, "%.1fs", s);
	else if (s < 3600)
		snprintf(buf, n, "%dm %02ds", (int)(s / 60), (int)fmod(s, 60));
	else if (s < 86400)
		snprintf(buf, n, "%dh %02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, n, "%dd %02dh", (int)(s / 86400), (int)fmod(s / 3600, 24));
}

static void fmt_ts(char *buf, size_t n, double ts)
{
	time_t t = (time_t)ts;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, n, "?");
}

/* Long statements are cut in tables (on a UTF-8 boundary); the whole text
 * is the cell's tooltip. */
#define CODE_MAX 240

static void code(FILE *f, const char *s)
{
	size_t n = strlen(s);
	char *cut;

	if (n <= CODE_MAX) {
		fputs("<code>", f);
		html_esc(f, s);
		fputs("</code>", f);
		return;
	}
	n = CODE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	cut = pgx_xmalloc(n + 1);
	memcpy(cut, s, n);
	cut[n] = '\0';
	fputs("<code title=\"", f);
	html_esc(f, s);
	fputs("\">", f);
	html_esc(f, cut);
	fputs("&hellip;</code>", f);
	free(cut);
}

enum cell { C_STR, C_NUM, C_BYTES, C_AGE, C_TS, C_PCT, C_CODE, C_BOOL };

/* One <td> from a field of obj: unknown values show as an em dash. */
static void td(struct page *p, const json_t *obj, const char *key, enum cell kind)
{
	char buf[64];
	json_t *v = jpath(obj, key);
	double d;
	bool num = kind != C_STR && kind != C_CODE && kind != C_BOOL;

	fputs(num ? "<td class=n>" : "<td>", p->f);
	if (kind == C_BOOL && json_is_boolean(v)) {
		fputs(json_is_true(v) ? "yes" : "no", p->f);
	} else if (kind == C_CODE && json_is_string(v)) {
		code(p->f, json_string_value(v));
	} else if (kind == C_STR && json_is_string(v)) {
		html_esc(p->f, json_string_value(v));
	} else if (kind == C_STR && json_is_integer(v)) {
		fprintf(p->f, "%lld", (long long)json_integer_value(v));
	} else if (num && jnum(obj, key, &d)) {
		switch (kind) {
		case C_BYTES: pgx_format_bytes(buf, sizeof(buf), d); break;
		case C_AGE: fmt_age(buf, sizeof(buf), d); break;
		case C_TS: fmt_ts(buf, sizeof(buf), d); break;
		case C_PCT: snprintf(buf, sizeof(buf), "%.1f%%", d); break;
		default: snprintf(buf, sizeof(buf), d == floor(d) && fabs(d) < 1e15 ? "%.0f" : "%.3f", d);
		}
		fputs(buf, p->f);
	} else {
		fputs("<span class=na>&mdash;</span>", p->f);
	}
	fputs("</td>", p->f);
}

struct column {
	const char *title, *key;
	enum cell kind;
};

/* A table of a list's items, at most limit rows (< 0: all), one column per field. */
static void table(struct page *p, const json_t *list, const struct column *cols, long limit)
{
	const json_t *it;
	size_t i;

	fputs("<div class=scroll><table><thead><tr>", p->f);
	for (const struct column *c = cols; c->title; c++) {
		fputs("<th>", p->f);
		html_esc(p->f, c->title);
		fputs("</th>", p->f);
	}
	fputs("</tr></thead><tbody>\n", p->f);
	json_array_foreach(list, i, it) {
		if (limit >= 0 && (long)i >= limit)
			break;
		fputs("<tr>", p->f);
		for (const struct column *c = cols; c->title; c++)
			td(p, it, c->key, c->kind);
		fputs("</tr>\n", p->f);
	}
	fputs("</tbody></table></div>\n", p->f);
}

static void thead(struct page *p, const char *const *cols)
{
	fputs("<div class=scroll><table><thead><tr>", p->f);
	for (; *cols; cols++) {
		fputs("<th>", p->f);
		html_esc(p->f, *cols);
		fputs("</th>", p->f);
	}
	fputs("</tr></thead><tbody>\n", p->f);
}

static void tend(struct page *p)
{
	fputs("</tbody></table></div>\n", p->f);
}

static void panel_begin(struct page *p, const char *id, const char *title)
{
	fprintf(p->f, "<section class=panel id=\"%s\"><h2>", id);
	html_esc(p->f, title);
	fputs("</h2>\n", p->f);
}

/* The SQL behind the panel, one block per section it reads */
static void panel_end(struct page *p, const char *const *sections)
{
	for (; *sections; sections++) {
		const char *sql = snapshot_sql(p->s, *sections);

		fputs("<details class=sql><summary>SQL: ", p->f);
		html_esc(p->f, *sections);
		fputs("</summary>", p->f);
		if (sql) {
			fputs("<pre>", p->f);
			html_esc(p->f, sql);
			fputs("</pre>", p->f);
		} else {
			fputs("<p class=na>not recorded (run pgx-poll with --with-sql)</p>", p->f);
		}
		fputs("</details>\n", p->f);
	}
	fputs("</section>\n", p->f);
}

static void note(struct page *p, const char *text)
{
	fputs("<p class=note>", p->f);
	html_esc(p->f, text);
	fputs("</p>\n", p->f);
}

/* Status and what the section could not read */
static void section_status(struct page *p, const json_t *rec)
{
	json_t *missing = json_object_get(rec, "missing"), *m;
	const char *st = jstr(rec, "status");
	size_t i;

	if (!st || !strcmp(st, "ok"))
		return;
	fprintf(p->f, "<p class=warn>%s: ", !strcmp(st, "error") ? "Failed" : "Degraded");
	html_esc(p->f, pgx_rec_type(rec));
	json_array_foreach(missing, i, m) {
		fputs(i ? "; " : " &mdash; ", p->f);
		html_esc(p->f, jstr(m, "what"));
		fputs(": ", p->f);
		html_esc(p->f, jstr(m, "why"));
	}
	fputs("</p>\n", p->f);
}

static void db_heading(struct page *p, const char *db, const json_t *by_db)
{
	if (*db && json_object_size(by_db) > 1) {
		fputs("<h3>Database ", p->f);
		html_esc(p->f, db);
		fputs("</h3>\n", p->f);
	}
}

static bool absent(struct page *p, const char *type)
{
	if (snapshot_section(p->s, type))
		return false;
	fputs("<p class=na>No ", p->f);
	html_esc(p->f, type);
	fputs(" record in this snapshot.</p>\n", p->f);
	return true;
}

/* A horizontal bar chart, inline SVG */
static void svg_bars(struct page *p, const char *const *labels, const double *vals, size_t n,
		     bool bytes, double max)
{
	char buf[64];
	int h = 22, w = 640, lw = 230;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		if (vals[i] > max)
			max = vals[i];
	fprintf(p->f, "<svg class=bars role=img viewBox=\"0 0 %d %zu\" width=\"%d\" height=\"%zu\">",
		w, n * (size_t)h + 4, w, n * (size_t)h + 4);
	for (size_t i = 0; i < n; i++) {
		double bw = max > 0 ? (w - lw - 110) * vals[i] / max : 0;

		if (bytes)
			pgx_format_bytes(buf, sizeof(buf), vals[i]);
		else
			snprintf(buf, sizeof(buf), "%.4g", vals[i]);
		fprintf(p->f, "<text x=\"%d\" y=\"%zu\" text-anchor=\"end\">", lw - 6, i * (size_t)h + 15);
		html_esc(p->f, labels[i]);
		fprintf(p->f, "</text><rect x=\"%d\" y=\"%zu\" width=\"%.1f\" height=\"%d\" rx=\"2\"/>"
			"<text x=\"%.1f\" y=\"%zu\">%s</text>", lw, i * (size_t)h + 3, bw, h - 6,
			lw + bw + 6, i * (size_t)h + 15, buf);
	}
	fputs("</svg>\n", p->f);
}

/* ---- panels ---- */

static void card(struct page *p, const char *label, const char *value, bool bad)
{
	fprintf(p->f, "<div class=\"card%s\"><div class=v>", bad ? " bad" : "");
	html_esc(p->f, value);
	fputs("</div><div class=l>", p->f);
	html_esc(p->f, label);
	fputs("</div></div>\n", p->f);
}

static size_t firing_count(const struct snapshot *s, const char *sev)
{
	size_t n = 0;
	const char *k;
	json_t *a;

	json_object_foreach(s->alerts, k, a)
		n += !strcmp(jstr(a, "state") ? jstr(a, "state") : "", "firing") &&
		     (!sev || !strcmp(jstr(a, "severity") ? jstr(a, "severity") : "", sev));
	return n;
}

/* Without pgx-report alerts in the pipeline there is no verdict: "0
 * alerts firing" would be a claim nobody checked. */
static void alerts_card(struct page *p)
{
	const char *verdict = jstr(p->s->alert_summary, "verdict");
	char buf[96];

	if (!p->s->alert_summary && !json_object_size(p->s->alerts)) {
		card(p, "alerts", "not evaluated", false);
		return;
	}
	if (verdict && !strcmp(verdict, "unknown")) {
		card(p, "alerts", "unknown", true);
		return;
	}
	snprintf(buf, sizeof(buf), "%zu (%zu critical)", firing_count(p->s, NULL), firing_count(p->s, "critical"));
	card(p, "alerts firing", buf, firing_count(p->s, NULL) > 0);
}

/* The first reason of a record that is not ok, or NULL */
static const char *degraded_reason(const json_t *rec)
{
	const char *st = jstr(rec, "status");
	const char *why = jstr(json_array_get(json_object_get(rec, "missing"), 0), "why");

	if (!st || !strcmp(st, "ok"))
		return NULL;
	return why ? why : st;
}

/* Every section not fully read, with its first reason, at a glance */
static void degraded_summary(struct page *p)
{
	json_t *by_db, *rec;
	const char *type, *db;
	bool open = false;

	json_object_foreach(p->s->sections, type, by_db)
		json_object_foreach(by_db, db, rec) {
			if (!degraded_reason(rec))
				continue;
			fputs(open ? "<li>" : "<div class=warn>Sections not fully read:<ul><li>", p->f);
			open = true;
			html_esc(p->f, type);
			if (*db) {
				fputs(" (", p->f);
				html_esc(p->f, db);
				fputs(")", p->f);
			}
			fputs(": ", p->f);
			html_esc(p->f, degraded_reason(rec));
			fputs("</li>", p->f);
			break;	/* one line per section */
		}
	if (open)
		fputs("</ul></div>\n", p->f);
}

static void overview(struct page *p)
{
	static const char *const sql[] = { "identity", "connections", "database", NULL };
	json_t *id = snapshot_get(p->s, "identity", NULL), *conn = snapshot_get(p->s, "connections", NULL);
	json_t *act = snapshot_get(p->s, "activity", NULL), *locks = snapshot_get(p->s, "locks", NULL);
	json_t *by_db = snapshot_section(p->s, "database"), *rec;
	char buf[96], b2[48];
	double v, w, size = 0, hit = 0, read = 0;
	bool has_size = false;
	const char *db;

	panel_begin(p, "overview", "Overview");
	fputs("<div class=cards>\n", p->f);
	if (jnum(conn, "total", &v) && jnum(conn, "max_connections", &w)) {
		snprintf(buf, sizeof(buf), "%.0f / %.0f", v, w);
		card(p, "connections / max", buf, v > 0.8 * w);
	}
	if (jnum(act, "oldest_xact_age_s", &v)) {
		fmt_age(buf, sizeof(buf), v);
		card(p, "oldest transaction", buf, v > 300);
	}
	if (jnum(locks, "blocked_sessions", &v)) {
		snprintf(buf, sizeof(buf), "%.0f", v);
		card(p, "blocked sessions", buf, v > 0);
	}
	json_object_foreach(by_db, db, rec) {
		if (jnum(rec, "size_bytes", &v))
			size += v, has_size = true;
		if (jnum(rec, "blks_hit_total", &v) && jnum(rec, "blks_read_total", &w))
			hit += v, read += w;
	}
	if (has_size) {
		pgx_format_bytes(buf, sizeof(buf), size);
		card(p, "database size", buf, false);
	}
	if (hit + read > 0) {
		snprintf(buf, sizeof(buf), "%.2f%%", 100 * hit / (hit + read));
		card(p, "cache hit ratio", buf, hit / (hit + read) < 0.9);
	}
	alerts_card(p);
	fputs("</div>\n", p->f);
	degraded_summary(p);
	fputs("<p>", p->f);
	if (id) {
		fputs("PostgreSQL ", p->f);
		html_esc(p->f, jstr(id, "version"));
		fputs(", ", p->f);
		html_esc(p->f, jstr(id, "role"));
		if (jnum(id, "uptime_s", &v)) {
			fmt_age(b2, sizeof(b2), v);
			fprintf(p->f, ", up %s", b2);
		}
		fputs(". ", p->f);
	}
	if (p->s->ts >= 0) {
		fmt_ts(buf, sizeof(buf), p->s->ts);
		fprintf(p->f, "Snapshot taken %s.", buf);
	}
	fputs("</p>\n", p->f);
	panel_end(p, sql);
}

static void connections_panel(struct page *p)
{
	static const char *const sql[] = { "connections", "activity", NULL };
	static const struct column lx[] = {
		{ "pid", "pid", C_STR },
		{ "database", "datname", C_STR },
		{ "application", "application_name", C_STR },
		{ "state", "state", C_STR },
		{ "xact age", "xact_age_s", C_AGE },
		{ "state age", "state_age_s", C_AGE },
		{ "wait", "wait_event", C_STR },
		{ "query", "query", C_CODE },
		{ NULL, NULL, C_STR },
	};
	json_t *conn = snapshot_get(p->s, "connections", NULL), *act = snapshot_get(p->s, "activity", NULL);
	json_t *by = json_object_get(conn, "by_state"), *v;
	const char *labels[16], *k;
	double vals[16];
	size_t n = 0;

	panel_begin(p, "connections", "Connections and activity");
	if (!absent(p, "connections")) {
		section_status(p, conn);
		fputs("<h3>Client backends by state</h3>\n", p->f);
		json_object_foreach(by, k, v)
			if (n < 16 && json_is_number(v)) {
				labels[n] = trend_state_label(k);
				vals[n++] = json_number_value(v);
			}
		svg_bars(p, labels, vals, n, false, 0);
	}
	if (act) {
		section_status(p, act);
		fputs("<h3>Long transactions</h3>\n", p->f);
		if (!json_array_size(json_object_get(act, "long_xacts")))
			note(p, "None.");
		else {
			table(p, json_object_get(act, "long_xacts"), lx, -1);
		}
	}
	panel_end(p, sql);
}

static void lock_children(struct page *p, const json_t *blocked, json_int_t parent, int depth)
{
	json_t *b, *by;
	size_t i, j;
	bool open = false;
	char buf[48];
	double w;

	if (depth > 32)
		return;
	json_array_foreach(blocked, i, b) {
		bool child = false;

		json_array_foreach(json_object_get(b, "blocked_by"), j, by)
			child |= json_integer_value(by) == parent;
		if (!child)
			continue;
		if (!open)
			fputs("<ul>", p->f);
		open = true;
		fprintf(p->f, "<li><b>pid %lld</b> waits", (long long)json_integer_value(json_object_get(b, "pid")));
		if (jnum(b, "wait_s", &w)) {
			fmt_age(buf, sizeof(buf), w);
			fprintf(p->f, " %s", buf);
		}
		fputs(" for ", p->f);
		html_esc(p->f, jstr(b, "mode"));
		fputs(" on ", p->f);
		html_esc(p->f, jstr(b, "relation") ? jstr(b, "relation") : jstr(b, "locktype"));
		if (jstr(b, "query")) {
			fputs(": <code>", p->f);
			html_esc(p->f, jstr(b, "query"));
			fputs("</code>", p->f);
		}
		lock_children(p, blocked, json_integer_value(json_object_get(b, "pid")), depth + 1);
		fputs("</li>", p->f);
	}
	if (open)
		fputs("</ul>\n", p->f);
}

static void locks_panel(struct page *p)
{
	static const char *const sql[] = { "locks", NULL };
	json_t *locks = snapshot_get(p->s, "locks", NULL), *t;
	char buf[48];
	double v;
	size_t i;

	panel_begin(p, "locks", "Locks");
	if (!absent(p, "locks")) {
		section_status(p, locks);
		if (!json_array_size(json_object_get(locks, "trees")))
			note(p, "No session is waiting for a lock.");
		json_array_foreach(json_object_get(locks, "trees"), i, t) {
			fprintf(p->f, "<div class=tree><p><b>root pid %lld</b> (",
				(long long)json_integer_value(json_object_get(t, "root_pid")));
			html_esc(p->f, jstr(t, "root_state"));
			if (jnum(t, "root_xact_age_s", &v)) {
				fmt_age(buf, sizeof(buf), v);
				fprintf(p->f, ", transaction open %s", buf);
			}
			fprintf(p->f, ") blocks %lld session(s)",
				(long long)json_integer_value(json_object_get(t, "blocked_count")));
			if (jstr(t, "root_query")) {
				fputs(": <code>", p->f);
				html_esc(p->f, jstr(t, "root_query"));
				fputs("</code>", p->f);
			}
			fputs("</p>", p->f);
			lock_children(p, json_object_get(t, "blocked"),
				      json_integer_value(json_object_get(t, "root_pid")), 0);
			fputs("</div>\n", p->f);
		}
	}
	panel_end(p, sql);
}

/* A row summing statements not listed one by one: the rest of the view
 * (other), or pgx's own (pgx_self, counted apart so its cost stays in view). */
static void rollup_row(struct page *p, const char *label, json_t *sum, const char *note)
{
	if (!sum)
		return;
	fprintf(p->f, "<tr class=other><td>%s (%lld)</td><td></td>", label,
		(long long)json_integer_value(json_object_get(sum, "count")));
	td(p, sum, "calls_total", C_NUM);
	td(p, sum, "exec_time_s_total", C_NUM);
	fputs("<td></td>", p->f);
	td(p, sum, "rows_total", C_NUM);
	td(p, sum, "shared_blks_read_total", C_NUM);
	td(p, sum, "temp_blks_written_total", C_NUM);
	fprintf(p->f, "<td>%s</td></tr>\n", note);
}

static void queries_panel(struct page *p)
{
	static const char *const sql[] = { "statements", NULL };
	static const char *const cols[] = { "queryid", "db", "calls", "total s", "mean s", "rows",
					    "blks read", "temp written", "query", NULL };
	json_t *st = snapshot_get(p->s, "statements", NULL), *it;
	size_t i;

	panel_begin(p, "queries", "Top queries");
	if (!absent(p, "statements")) {
		section_status(p, st);
		thead(p, cols);
		json_array_foreach(json_object_get(st, "items"), i, it) {
			if ((long)i >= p->top)
				break;
			fputs("<tr>", p->f);
			td(p, it, "queryid", C_STR);
			td(p, it, "dbname", C_STR);
			td(p, it, "calls_total", C_NUM);
			td(p, it, "exec_time_s_total", C_NUM);
			td(p, it, "mean_exec_time_s", C_NUM);
			td(p, it, "rows_total", C_NUM);
			td(p, it, "shared_blks_read_total", C_NUM);
			td(p, it, "temp_blks_written_total", C_NUM);
			td(p, it, "query", C_CODE);
			fputs("</tr>\n", p->f);
		}
		rollup_row(p, "other", json_object_get(st, "other"), "");
		if (json_integer_value(json_object_get(json_object_get(st, "pgx_self"), "count")) > 0)
			rollup_row(p, "pgx itself", json_object_get(st, "pgx_self"), "not ranked");
		tend(p);
	}
	panel_end(p, sql);
}

static void vacuum_panel(struct page *p)
{
	static const char *const sql[] = { "vacuum", NULL };
	static const struct column run[] = {
		{ "pid", "pid", C_STR },
		{ "relation", "relation", C_STR },
		{ "phase", "phase", C_STR },
		{ "progress", "progress_pct", C_PCT },
		{ "elapsed", "elapsed_s", C_AGE },
		{ "wraparound", "is_wraparound", C_BOOL },
		{ NULL, NULL, C_STR },
	};
	static const struct column tab[] = {
		{ "relation", "relation", C_STR },
		{ "live", "n_live_tup", C_NUM },
		{ "dead", "n_dead_tup", C_NUM },
		{ "dead %", "dead_pct", C_PCT },
		{ "last autovacuum", "last_autovacuum_ts", C_TS },
		{ "last autoanalyze", "last_autoanalyze_ts", C_TS },
		{ "autovacuum", "autovacuum_enabled", C_BOOL },
		{ NULL, NULL, C_STR },
	};
	json_t *by_db = snapshot_section(p->s, "vacuum"), *rec;
	const char *db;

	panel_begin(p, "autovacuum", "Autovacuum");
	if (!absent(p, "vacuum"))
		json_object_foreach(by_db, db, rec) {
			db_heading(p, db, by_db);
			section_status(p, rec);
			if (json_array_size(json_object_get(rec, "running")))
				table(p, json_object_get(rec, "running"), run, -1);
			table(p, json_object_get(rec, "tables"), tab, p->top);
		}
	panel_end(p, sql);
}

static void sizes_tables(struct page *p, const json_t *rec)
{
	static const struct column cols[] = {
		{ "relation", "relation", C_STR },
		{ "kind", "relkind", C_STR },
		{ "total", "total_bytes", C_BYTES },
		{ "table", "table_bytes", C_BYTES },
		{ "indexes", "index_bytes", C_BYTES },
		{ "toast", "toast_bytes", C_BYTES },
		{ "rows", "estimated_rows", C_NUM },
		{ NULL, NULL, C_STR },
	};
	const char *labels[64];
	double vals[64];
	size_t n = 0, i;
	json_t *it;

	json_array_foreach(json_object_get(rec, "tables"), i, it)
		if (n < 12 && jstr(it, "relation") && jnum(it, "total_bytes", &vals[n]))
			labels[n++] = jstr(it, "relation");
	svg_bars(p, labels, vals, n, true, 0);
	table(p, json_object_get(rec, "tables"), cols, p->top);
}

static void index_list(struct page *p, const json_t *rec, const char *key, const char *title)
{
	static const struct column cols[] = {
		{ "index", "index", C_STR },
		{ "relation", "relation", C_STR },
		{ "size", "bytes", C_BYTES },
		{ "scans", "idx_scan_total", C_NUM },
		{ NULL, NULL, C_STR },
	};
	json_t *list = json_object_get(rec, key);

	if (!json_array_size(list))
		return;
	fputs("<h4>", p->f);
	html_esc(p->f, title);
	fputs("</h4>\n", p->f);
	table(p, list, cols, -1);
}

static void storage_panel(struct page *p)
{
	static const char *const sql[] = { "sizes", "indexes", "bloat", NULL };
	static const struct column bl[] = {
		{ "relation", "relation", C_STR },
		{ "real", "real_bytes", C_BYTES },
		{ "expected", "expected_bytes", C_BYTES },
		{ "bloat", "bloat_bytes", C_BYTES },
		{ "bloat %", "bloat_pct", C_PCT },
		{ NULL, NULL, C_STR },
	};
	json_t *by_db = snapshot_section(p->s, "sizes"), *rec;
	const char *db;

	panel_begin(p, "storage", "Storage and indexes");
	if (!absent(p, "sizes"))
		json_object_foreach(by_db, db, rec) {
			db_heading(p, db, by_db);
			section_status(p, rec);
			sizes_tables(p, rec);
			index_list(p, rec, "indexes", "Largest indexes");
		}
	json_object_foreach(snapshot_section(p->s, "indexes"), db, rec) {
		section_status(p, rec);
		index_list(p, rec, "unused", "Unused indexes (never scanned since stats reset)");
		index_list(p, rec, "invalid", "Invalid indexes");
		if (json_is_array(json_object_get(rec, "invalid")) && !json_array_size(json_object_get(rec, "invalid")))
			note(p, "No invalid index.");
	}
	json_object_foreach(snapshot_section(p->s, "bloat"), db, rec) {
		section_status(p, rec);
		if (!json_array_size(json_object_get(rec, "tables")))
			continue;
		fputs("<h4>Estimated bloat</h4>\n", p->f);
		table(p, json_object_get(rec, "tables"), bl, -1);
	}
	panel_end(p, sql);
}

static void partitions_panel(struct page *p)
{
	static const char *const sql[] = { "partitions", NULL };
	static const char *const cols[] = { "parent", "strategy", "partitions", "oldest", "newest",
					    "default", "gaps", "size", NULL };
	json_t *by_db = snapshot_section(p->s, "partitions"), *rec, *it;
	const char *db;
	size_t i;

	panel_begin(p, "partitions", "Partitions");
	if (!absent(p, "partitions"))
		json_object_foreach(by_db, db, rec) {
			db_heading(p, db, by_db);
			section_status(p, rec);
			if (!json_array_size(json_object_get(rec, "parents"))) {
				note(p, "No partitioned table.");
				continue;
			}
			thead(p, cols);
			json_array_foreach(json_object_get(rec, "parents"), i, it) {
				fputs("<tr>", p->f);
				td(p, it, "parent", C_STR);
				td(p, it, "strategy", C_STR);
				td(p, it, "partitions", C_NUM);
				td(p, it, "oldest", C_STR);
				td(p, it, "newest", C_STR);
				td(p, it, "default_partition", C_STR);
				if (json_is_array(json_object_get(it, "gaps")))
					fprintf(p->f, "<td class=n>%zu</td>", json_array_size(json_object_get(it, "gaps")));
				else
					td(p, it, "gaps_count", C_NUM);
				td(p, it, "total_bytes", C_BYTES);
				fputs("</tr>\n", p->f);
			}
			tend(p);
		}
	panel_end(p, sql);
}

static void replication_panel(struct page *p)
{
	static const char *const sql[] = { "replication", NULL };
	static const struct column rc[] = {
		{ "replica", "application_name", C_STR },
		{ "state", "state", C_STR },
		{ "sync", "sync_state", C_STR },
		{ "replay lag", "replay_lag_s", C_AGE },
		{ "replay lag bytes", "replay_lag_bytes", C_BYTES },
		{ NULL, NULL, C_STR },
	};
	static const struct column sc[] = {
		{ "slot", "slot_name", C_STR },
		{ "type", "slot_type", C_STR },
		{ "active", "active", C_BOOL },
		{ "wal status", "wal_status", C_STR },
		{ "retained", "retained_bytes", C_BYTES },
		{ NULL, NULL, C_STR },
	};
	json_t *r = snapshot_get(p->s, "replication", NULL);

	panel_begin(p, "replication", "Replication");
	if (!absent(p, "replication")) {
		section_status(p, r);
		fputs("<p>Role: ", p->f);
		html_esc(p->f, jstr(r, "role") ? jstr(r, "role") : "?");
		fputs("</p>\n", p->f);
		if (json_array_size(json_object_get(r, "replicas"))) {
			table(p, json_object_get(r, "replicas"), rc, -1);
		} else {
			note(p, "No replica connected.");
		}
		if (json_array_size(json_object_get(r, "slots"))) {
			table(p, json_object_get(r, "slots"), sc, -1);
		}
	}
	panel_end(p, sql);
}

static void wraparound_panel(struct page *p)
{
	static const char *const sql[] = { "wraparound", "sequences", NULL };
	static const struct column sc[] = {
		{ "sequence", "sequence", C_STR },
		{ "type", "data_type", C_STR },
		{ "last value", "last_value", C_NUM },
		{ "max value", "max_value", C_NUM },
		{ "used", "used_pct", C_PCT },
		{ NULL, NULL, C_STR },
	};
	json_t *w = snapshot_get(p->s, "wraparound", NULL), *it, *rec;
	const char *labels[64], *db;
	double vals[64];
	size_t n = 0, i;

	panel_begin(p, "wraparound", "Wraparound");
	if (!absent(p, "wraparound")) {
		section_status(p, w);
		fputs("<h3>Transaction ID age, % of the way to wraparound (2<sup>31</sup>)</h3>\n", p->f);
		json_array_foreach(json_object_get(w, "databases"), i, it)
			if (n < 64 && jstr(it, "datname") && jnum(it, "pct_to_wraparound", &vals[n]))
				labels[n++] = jstr(it, "datname");
		svg_bars(p, labels, vals, n, false, 100);
	}
	json_object_foreach(snapshot_section(p->s, "sequences"), db, rec) {
		fputs("<h3>Sequences</h3>\n", p->f);
		section_status(p, rec);
		if (!json_array_size(json_object_get(rec, "items"))) {
			note(p, "No sequence in use that this role can read.");
			continue;
		}
		table(p, json_object_get(rec, "items"), sc, p->top);
	}
	panel_end(p, sql);
}

static void age_cell(struct page *p, const json_t *rec, const char *ts_key)
{
	char buf[48];
	double then, now = pgx_rec_ts(rec);

	if (jnum(rec, ts_key, &then) && now >= then) {
		fmt_age(buf, sizeof(buf), now - then);
		fprintf(p->f, "<td class=n>%s ago</td>", buf);
	} else {
		fputs("<td class=n><span class=na>&mdash;</span></td>", p->f);
	}
}

/* Failing when the last attempt failed: a failure after the last success */
static void archiver_verdict(struct page *p, const json_t *a)
{
	double ok = -1, failed = -1;

	jnum(a, "last_archived_ts", &ok);
	jnum(a, "last_failed_ts", &failed);
	if (jstr(a, "archive_mode") && !strcmp(jstr(a, "archive_mode"), "off"))
		note(p, "archive_mode is off: WAL is not archived.");
	else if (failed > ok)
		fputs(ok < 0 ? "<p class=warn>Failing: the last attempt failed and no WAL was archived since "
			       "the statistics were reset.</p>\n"
			     : "<p class=warn>Failing: the last attempt failed after the last success.</p>\n", p->f);
	else if (ok >= 0)
		note(p, "Archiving works: the last attempt succeeded.");
	else
		note(p, "No WAL archived yet, none failed.");
}

static void archiver_panel(struct page *p)
{
	static const char *const sql[] = { "archiver", NULL };
	static const char *const cols[] = { "archive mode", "archived", "failed", "last archived WAL",
					    "last success", "last failed WAL", "last failure", NULL };
	json_t *a = snapshot_get(p->s, "archiver", NULL);

	panel_begin(p, "archiving", "WAL archiving");
	if (!absent(p, "archiver")) {
		section_status(p, a);
		archiver_verdict(p, a);
		thead(p, cols);
		fputs("<tr>", p->f);
		td(p, a, "archive_mode", C_STR);
		td(p, a, "archived_count_total", C_NUM);
		td(p, a, "failed_count_total", C_NUM);
		td(p, a, "last_archived_wal", C_STR);
		age_cell(p, a, "last_archived_ts");
		td(p, a, "last_failed_wal", C_STR);
		age_cell(p, a, "last_failed_ts");
		fputs("</tr>\n", p->f);
		tend(p);
		note(p, "Counts since the statistics were reset.");
	}
	panel_end(p, sql);
}

static void checkpoint_table(struct page *p, const json_t *c)
{
	static const char *const cols[] = { "timed", "requested", "requested %", "write time",
					    "sync time", "buffers by checkpoints", "by bgwriter",
					    "by backends", "counting since", NULL };
	double timed, req;

	section_status(p, c);
	thead(p, cols);
	fputs("<tr>", p->f);
	td(p, c, "checkpoints_timed_total", C_NUM);
	td(p, c, "checkpoints_req_total", C_NUM);
	if (jnum(c, "checkpoints_timed_total", &timed) && jnum(c, "checkpoints_req_total", &req) && timed + req > 0)
		fprintf(p->f, "<td class=n>%.1f%%</td>", 100 * req / (timed + req));
	else
		fputs("<td class=n><span class=na>&mdash;</span></td>", p->f);
	td(p, c, "checkpoint_write_time_s_total", C_AGE);
	td(p, c, "checkpoint_sync_time_s_total", C_AGE);
	td(p, c, "buffers_checkpoint_total", C_NUM);
	td(p, c, "buffers_clean_total", C_NUM);
	td(p, c, "buffers_backend_total", C_NUM);
	td(p, c, "stats_reset_ts", C_TS);
	fputs("</tr>\n", p->f);
	tend(p);
}

static void wal_table(struct page *p, const json_t *w)
{
	static const char *const cols[] = { "WAL written", "records", "full-page images",
					    "WAL buffers full", "current LSN", "counting since", NULL };

	section_status(p, w);
	if (!jpath(w, "wal_bytes_total") && !jpath(w, "current_lsn"))
		return;
	thead(p, cols);
	fputs("<tr>", p->f);
	td(p, w, "wal_bytes_total", C_BYTES);
	td(p, w, "wal_records_total", C_NUM);
	td(p, w, "wal_fpi_total", C_NUM);
	td(p, w, "wal_buffers_full_total", C_NUM);
	td(p, w, "current_lsn", C_STR);
	td(p, w, "stats_reset_ts", C_TS);
	fputs("</tr>\n", p->f);
	tend(p);
}

static void io_table(struct page *p, const json_t *io)
{
	static const struct column cols[] = {
		{ "backend type", "backend_type", C_STR },
		{ "object", "object", C_STR },
		{ "context", "context", C_STR },
		{ "reads", "reads_total", C_NUM },
		{ "writes", "writes_total", C_NUM },
		{ "extends", "extends_total", C_NUM },
		{ "hits", "hits_total", C_NUM },
		{ "evictions", "evictions_total", C_NUM },
		{ "fsyncs", "fsyncs_total", C_NUM },
		{ NULL, NULL, C_STR },
	};

	section_status(p, io);
	if (json_array_size(json_object_get(io, "items")))
		table(p, json_object_get(io, "items"), cols, p->top);
}

static void checkpoints_panel(struct page *p)
{
	static const char *const sql[] = { "checkpoints", "wal", "io", NULL };
	json_t *c = snapshot_get(p->s, "checkpoints", NULL), *w = snapshot_get(p->s, "wal", NULL);
	json_t *io = snapshot_get(p->s, "io", NULL);

	panel_begin(p, "checkpoints", "Checkpoints, WAL and I/O");
	fputs("<h3>Checkpoints</h3>\n", p->f);
	if (!absent(p, "checkpoints"))
		checkpoint_table(p, c);
	fputs("<h3>WAL</h3>\n", p->f);
	if (!absent(p, "wal"))
		wal_table(p, w);
	fputs("<h3>I/O by backend type (pg_stat_io)</h3>\n", p->f);
	if (!absent(p, "io"))
		io_table(p, io);
	note(p, "Totals since the statistics were reset; the Trends panel shows rates between samples.");
	panel_end(p, sql);
}

static double pool_max_wait(const json_t *pool)
{
	double s = 0, us = 0;

	jnum(pool, "maxwait", &s);
	jnum(pool, "maxwait_us", &us);
	return s + us / 1e6;
}

static void pgbouncer_cards(struct page *p, const json_t *pools)
{
	const json_t *it;
	double waiting = 0, wait = 0, v;
	char buf[48];
	size_t i;

	json_array_foreach(pools, i, it) {
		if (jnum(it, "cl_waiting", &v))
			waiting += v;
		if (pool_max_wait(it) > wait)
			wait = pool_max_wait(it);
	}
	fputs("<div class=cards>\n", p->f);
	snprintf(buf, sizeof(buf), "%.0f", waiting);
	card(p, "clients waiting", buf, waiting > 0);
	fmt_age(buf, sizeof(buf), wait);
	card(p, "longest wait", buf, wait >= 1);
	fputs("</div>\n", p->f);
}

static void pgbouncer_panel(struct page *p)
{
	static const char *const sql[] = { "pgbouncer", NULL };
	static const char *const cols[] = { "database", "users", "clients active", "clients waiting",
					    "servers active", "idle", "used", "max wait", "pool mode", NULL };
	static const struct column stats[] = {
		{ "database", "database", C_STR },
		{ "transactions", "xact_count_total", C_NUM },
		{ "queries", "query_count_total", C_NUM },
		{ "avg query s", "avg_query_time_s", C_NUM },
		{ "avg wait s", "avg_wait_time_s", C_NUM },
		{ NULL, NULL, C_STR },
	};
	json_t *b = snapshot_get(p->s, "pgbouncer", NULL), *pools = json_object_get(b, "pools"), *it;
	char buf[48];
	size_t i;

	panel_begin(p, "pgbouncer", "PgBouncer");
	if (!b) {
		note(p, "No pgbouncer record: pgx-poll --pgbouncer=CONNINFO reads PgBouncer's admin console.");
	} else {
		section_status(p, b);
		pgbouncer_cards(p, pools);
		thead(p, cols);
		json_array_foreach(pools, i, it) {
			fputs("<tr>", p->f);
			td(p, it, "database", C_STR);
			td(p, it, "users", C_NUM);
			td(p, it, "cl_active", C_NUM);
			td(p, it, "cl_waiting", C_NUM);
			td(p, it, "sv_active", C_NUM);
			td(p, it, "sv_idle", C_NUM);
			td(p, it, "sv_used", C_NUM);
			fmt_age(buf, sizeof(buf), pool_max_wait(it));
			fprintf(p->f, "<td class=n>%s</td>", buf);
			td(p, it, "pool_mode", C_STR);
			fputs("</tr>\n", p->f);
		}
		tend(p);
		if (json_array_size(json_object_get(b, "stats")))
			table(p, json_object_get(b, "stats"), stats, p->top);
	}
	panel_end(p, sql);
}

/* Set by the administrator: not the default, not fixed at initdb
 * (override), not the client's or pgx-poll's own session (null source) */
static bool non_default(const json_t *setting)
{
	static const char *const skip[] = { "default", "override", "client", "session", NULL };
	const char *src = jstr(setting, "source");

	for (size_t i = 0; src && skip[i]; i++)
		if (!strcmp(src, skip[i]))
			return false;
	return src != NULL;
}

static void settings_panel(struct page *p)
{
	static const char *const sql[] = { "settings", NULL };
	static const char *const cols[] = { "name", "value", "source", "pending restart", NULL };
	json_t *st = snapshot_get(p->s, "settings", NULL), *it;
	size_t i, n = 0;

	panel_begin(p, "settings", "Non-default settings");
	if (!absent(p, "settings")) {
		section_status(p, st);
		thead(p, cols);
		json_array_foreach(json_object_get(st, "settings"), i, it) {
			if (!non_default(it))
				continue;
			n++;
			fprintf(p->f, "<tr%s>", json_is_true(json_object_get(it, "pending_restart")) ? " class=firing" : "");
			td(p, it, "name", C_STR);
			td(p, it, "value", C_STR);
			td(p, it, "source", C_STR);
			td(p, it, "pending_restart", C_BOOL);
			fputs("</tr>\n", p->f);
		}
		tend(p);
		fprintf(p->f, "<p class=note>%zu of %zu settings set in a configuration file, on the command "
			"line, for a database or role, or by ALTER SYSTEM.</p>\n", n,
			json_array_size(json_object_get(st, "settings")));
	}
	panel_end(p, sql);
}

static void trend_span(struct page *p, const struct trend_cluster *cl)
{
	char a[48], b[48], span[48];

	fmt_ts(a, sizeof(a), cl->t0);
	fmt_ts(b, sizeof(b), cl->t1);
	fmt_age(span, sizeof(span), cl->t1 - cl->t0);
	fprintf(p->f, "<p>%zu samples from %s to %s (%s). Rates are counted between consecutive "
		"samples; a dashed <i>reset</i> line marks a counter that was reset, with no rate "
		"drawn across it.</p>\n", cl->samples, a, b, span);
}

static void trends_panel(struct page *p, const struct trends *tr)
{
	int seq = 0;

	panel_begin(p, "trends", "Trends");
	if (!tr->clusters.n)
		note(p, "No record the time series read (database, connections, wal, replication, "
			"checkpoints, vacuum) in the input.");
	for (size_t i = 0; i < tr->clusters.n; i++) {
		const struct trend_cluster *cl = &tr->clusters.v[i];

		if (tr->clusters.n > 1) {
			fputs("<h3>Cluster ", p->f);
			html_esc(p->f, *cl->name ? cl->name : "(no label)");
			fputs("</h3>\n", p->f);
		}
		if (cl->samples < 2) {
			note(p, "One sample: time series need two or more (pgx-poll --interval, several "
				"snapshot files, or a directory of them).");
			continue;
		}
		trend_span(p, cl);
		fputs("<div class=trends>\n", p->f);
		for (size_t j = 0; j < cl->charts.n; j++)
			trend_chart_render(p->f, &cl->charts.v[j], cl->t0, cl->t1, seq++);
		fputs("</div>\n", p->f);
	}
	fputs("</section>\n", p->f);
}

static void alerts_panel(struct page *p)
{
	static const char *const cols[] = { "state", "severity", "rule", "message", "since", NULL };
	const char *k;
	json_t *a;

	panel_begin(p, "alerts", "Alerts");
	if (p->s->alert_summary && jstr(p->s->alert_summary, "reason"))
		note(p, jstr(p->s->alert_summary, "reason"));
	if (!p->s->alert_summary && !json_object_size(p->s->alerts)) {
		note(p, "Alerts not evaluated: pipe pgx-poll through `pgx-report alerts` to evaluate the catalog.");
	} else if (!json_object_size(p->s->alerts)) {
		note(p, "No alert is pending or firing.");
	} else {
		thead(p, cols);
		json_object_foreach(p->s->alerts, k, a) {
			fprintf(p->f, "<tr class=\"%s %s\">", jstr(a, "state") && !strcmp(jstr(a, "state"), "firing") ? "firing" : "",
				jstr(a, "severity") && !strcmp(jstr(a, "severity"), "critical") ? "crit" : "");
			td(p, a, "state", C_STR);
			td(p, a, "severity", C_STR);
			td(p, a, "rule", C_STR);
			td(p, a, "message", C_STR);
			td(p, a, "since_ts", C_TS);
			fputs("</tr>\n", p->f);
		}
		tend(p);
	}
	fputs("</section>\n", p->f);
}

static void slow_panel(struct page *p)
{
	static const struct column cols[] = {
		{ "rank", "rank", C_NUM },
		{ "count", "count", C_NUM },
		{ "total ms", "total_ms", C_NUM },
		{ "mean ms", "mean_ms", C_NUM },
		{ "p95 ms", "p95_ms", C_NUM },
		{ "max ms", "max_ms", C_NUM },
		{ "query", "query", C_CODE },
		{ NULL, NULL, C_STR },
	};

	if (!json_array_size(p->s->slow))
		return;
	panel_begin(p, "slow", "Slow queries (server log)");
	table(p, p->s->slow, cols, -1);
	note(p, "From pgx-report slowlog (the server log), not from pg_stat_statements.");
	fputs("</section>\n", p->f);
}

static const char css[] =
	"*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',"
	"Roboto,sans-serif;color:#1d2433;background:#f3f5f8}header{background:#1f3a5f;color:#fff;"
	"padding:14px 24px}header h1{margin:0;font-size:20px}nav a{color:#cfe0ff;margin-right:14px;"
	"text-decoration:none;font-size:13px}main{max-width:1320px;margin:0 auto;padding:16px 24px}"
	".panel{background:#fff;border:1px solid #d9dee7;border-radius:6px;padding:12px 18px;"
	"margin:0 0 16px}.panel h2{margin:0 0 8px;font-size:17px;color:#1f3a5f}h3{font-size:14px;"
	"margin:12px 0 6px}h4{font-size:13px;margin:10px 0 4px}.scroll{overflow-x:auto}"
	"table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;"
	"border-bottom:1px solid #e8ebf0;text-align:left;vertical-align:top}th{background:#f0f3f7;"
	"font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
	"code{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-word}"
	".na{color:#8a93a3}.note{color:#4b5566}.warn{color:#8a5300;background:#fff6e0;padding:4px 8px;"
	"border-radius:4px}.cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:8px}"
	".card{border:1px solid #d9dee7;border-radius:6px;padding:8px 14px;min-width:150px}"
	".card .v{font-size:20px;font-weight:600}.card .l{color:#5b6475;font-size:12px}"
	".card.bad{border-color:#d9534f;background:#fdf0ef}details.sql{margin-top:10px}"
	"details.sql summary{cursor:pointer;color:#2f5d95;font-size:12px}details.sql pre{"
	"background:#f6f8fa;border:1px solid #e1e4e8;padding:8px;overflow-x:auto;font-size:12px;"
	"white-space:pre-wrap}svg.bars{max-width:100%;height:auto;font-size:12px}svg.bars rect{"
	"fill:#4a7bbf}svg.bars text{fill:#1d2433}.tree{border-left:3px solid #d9534f;padding-left:10px;"
	"margin:8px 0}.tree ul{margin:2px 0;padding-left:20px}tr.firing td{background:#fff6e0}"
	"tr.firing.crit td{background:#fdecea}tr.other td{color:#5b6475;font-style:italic}"
	".trends{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:12px}"
	"figure.trend{margin:0;border:1px solid #e8ebf0;border-radius:6px;padding:8px 10px}"
	"figcaption{font-size:13px;margin-bottom:4px}svg.chart{width:100%;height:auto;font-size:11px}"
	"svg.chart .grid{stroke:#e3e7ee}svg.chart .axis{stroke:#8a93a3}svg.chart .yl{text-anchor:end;"
	"fill:#5b6475}svg.chart .xl{text-anchor:middle;fill:#5b6475}"
	"svg.chart .xl.end{text-anchor:end}svg.chart polyline{fill:none;"
	"stroke-width:1.8;stroke-linejoin:round}svg.chart .dash{stroke-dasharray:5 3}svg.chart circle"
	"{stroke:none}svg.chart .reset line{stroke:#d9534f;stroke-dasharray:4 3}svg.chart .reset text"
	"{fill:#d9534f;font-size:10px}.legend{list-style:none;padding:0;margin:4px 0 0;display:flex;"
	"flex-wrap:wrap;gap:2px 14px;font-size:12px}.sw{display:inline-block;width:16px;height:3px;"
	"vertical-align:middle;margin-right:5px}"
	".c0{stroke:#0072b2;fill:#0072b2}.sw.c0{background:#0072b2}.c1{stroke:#e69f00;fill:#e69f00}.sw.c1{background:#e69f00}.c2{stroke:#009e73;fill:#009e73}.sw.c2{background:#009e73}.c3{stroke:#d55e00;fill:#d55e00}.sw.c3{background:#d55e00}.c4{stroke:#cc79a7;fill:#cc79a7}.sw.c4{background:#cc79a7}.c5{stroke:#56b4e9;fill:#56b4e9}.sw.c5{background:#56b4e9}.c6{stroke:#6b4c9a;fill:#6b4c9a}.sw.c6{background:#6b4c9a}.c7{stroke:#666666;fill:#666666}.sw.c7{background:#666666}";

static double newest_ts(const json_t *types)
{
	const char *type, *db;
	json_t *by_db, *rec;
	double newest = -1;

	json_object_foreach((json_t *)types, type, by_db)
		json_object_foreach(by_db, db, rec)
			if (pgx_rec_ts(rec) > newest)
				newest = pgx_rec_ts(rec);
	return newest;
}

/* The cluster of the newest record: the one the panels show */
static const char *newest_cluster(const json_t *by_cluster)
{
	const char *cluster = "", *name;
	double newest = -1;
	json_t *types;

	json_object_foreach((json_t *)by_cluster, name, types)
		if (newest_ts(types) >= newest) {
			newest = newest_ts(types);
			cluster = name;
		}
	return cluster;
}

/* The latest records of one cluster, for the panels of an input of several */
static void cluster_view(struct snapshot *view, const struct snapshot *s, const char *cluster)
{
	json_t *types = json_object_get(s->by_cluster, cluster), *by_db, *rec;
	const char *k, *type, *db;

	snapshot_init(view);
	json_object_foreach(types, type, by_db)
		json_object_foreach(by_db, db, rec)
			snapshot_add(view, json_incref(rec));
	json_object_update(view->sql, s->sql);
	json_object_foreach(s->alerts, k, rec)
		if (!pgx_rec_str(rec, "cluster") || !strcmp(pgx_rec_str(rec, "cluster"), cluster))
			json_object_set(view->alerts, k, rec);
	view->alert_summary = json_incref(s->alert_summary);
	json_array_extend(view->slow, s->slow);
	json_array_extend(view->errors, s->errors);
}

static void several_clusters_note(struct page *p, const json_t *by_cluster, const char *shown)
{
	const char *name;
	json_t *types;
	bool first = true;

	fprintf(p->f, "<p class=warn>This input holds samples of %zu clusters (", json_object_size(by_cluster));
	json_object_foreach((json_t *)by_cluster, name, types) {
		fputs(first ? "" : ", ", p->f);
		html_esc(p->f, *name ? name : "(no label)");
		first = false;
	}
	fputs("). The panels show ", p->f);
	html_esc(p->f, *shown ? shown : "(no label)");
	fputs(", the cluster of the newest sample; Trends shows each cluster apart.</p>\n", p->f);
}

static void head(struct page *p, const char *cluster)
{
	FILE *f = p->f;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
	      "<title>Health of ", f);
	html_esc(f, cluster);
	fprintf(f, "</title><style>%s</style></head><body>\n<header><h1>PostgreSQL health: ", css);
	html_esc(f, cluster);
	fputs("</h1><nav><a href=\"#overview\">Overview</a><a href=\"#trends\">Trends</a>"
	      "<a href=\"#connections\">Connections</a><a href=\"#locks\">Locks</a>"
	      "<a href=\"#queries\">Top queries</a><a href=\"#autovacuum\">Autovacuum</a>"
	      "<a href=\"#storage\">Storage</a><a href=\"#partitions\">Partitions</a>"
	      "<a href=\"#replication\">Replication</a><a href=\"#archiving\">Archiving</a>"
	      "<a href=\"#checkpoints\">Checkpoints and WAL</a><a href=\"#wraparound\">Wraparound</a>"
	      "<a href=\"#pgbouncer\">PgBouncer</a><a href=\"#settings\">Settings</a>"
	      "<a href=\"#alerts\">Alerts</a>", f);
	if (json_array_size(p->s->slow))
		fputs("<a href=\"#slow\">Slow queries</a>", f);
	fputs("</nav></header>\n<main>\n", f);
}

static void panels(struct page *p, const struct trends *tr)
{
	overview(p);
	trends_panel(p, tr);
	connections_panel(p);
	locks_panel(p);
	queries_panel(p);
	vacuum_panel(p);
	storage_panel(p);
	partitions_panel(p);
	replication_panel(p);
	archiver_panel(p);
	checkpoints_panel(p);
	wraparound_panel(p);
	pgbouncer_panel(p);
	settings_panel(p);
	alerts_panel(p);
	slow_panel(p);
}

void html_render(FILE *f, const struct snapshot *s, long top)
{
	struct snapshot view;
	struct trends tr;
	struct page p = { f, s, top >= 0 ? top : HTML_TOP_DEFAULT };
	const char *shown = NULL;

	trends_build(&tr, s->history);
	if (json_object_size(s->by_cluster) > 1) {
		shown = newest_cluster(s->by_cluster);
		cluster_view(&view, s, shown);
		p.s = &view;
	}
	head(&p, p.s->cluster ? p.s->cluster : "PostgreSQL");
	if (shown)
		several_clusters_note(&p, s->by_cluster, shown);
	panels(&p, &tr);
	fputs("</main></body></html>\n", f);
	if (shown)
		snapshot_free(&view);
	trends_free(&tr);
}
