/* workload.c - pgx-report workload: client versus server time per operation.
 *
 * Client side: the match records of pgx-logmatch --rules client-timing (an
 * operation name and its elapsed time, one line per call).  Server side: the
 * statements records of pgx-poll for the same window, either two of them
 * (the window's start and end: the deltas of calls_total, exec_time_s_total
 * and rows_total) or one written by --delta (the *_per_s rates times
 * delta_s).  A statement belongs to an operation by a mapping file
 * (--map: "OPERATION PATTERN" lines, PATTERN a case-insensitive piece of the
 * normalized query text or "queryid:N"), else when the operation's name is a
 * word of the query text (a stored procedure named like the operation).
 * Client elapsed minus server execution is the network and driver time. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "pgx_sql.h"
#include "report.h"
#include "analysis.h"

#define NETWORK_DOMINANCE_PCT 80.0
#define OUTLIER_FACTOR 10.0
#define POLLING_MIN_CALLS 20
#define SERVER_SLOW_MS 50.0

struct wl_opts {
	bool json;
	const char *map;
	double chatty;		/* round trips per call from which an operation is chatty */
};

struct stmt {
	char *key, *queryid, *query;
	double calls, exec_s, rows, max_s, stddev_s;	/* max/stddev < 0: unknown */
	struct op *op;
};

struct op {
	char *name;
	long calls;
	double sum_ms, sumsq, max_ms;
	VEC(double) ms;		/* every call's elapsed time, in order */
	double server_calls, server_s, rows, server_max_s, server_stddev_s;
	size_t nstmts;
	const struct stmt *top_stmt;	/* the one with the most server time */
};

struct mapping {
	char *op, *pattern;
};

struct workload {
	VEC(struct op) ops;
	VEC(struct stmt) stmts;
	VEC(struct mapping) map;
	json_t *first, *last;	/* statements records */
	long nstatements;
	double client_first_ts, client_last_ts;
	double window_s;
	unsigned long input_errors;
};

struct finding {
	char name[64], root[256], evidence[512], advice[256], expected[160];
	double impact_ms;
	const struct op *op;
};

struct finding_list {
	struct finding *v;
	size_t n, cap;
};

static void wl_usage(void)
{
	printf("%s workload splits client time into network, server and application.\n\n"
	       "Usage:\n"
	       "  %s workload [OPTION]... [FILE]...\n\n"
	       "Reads the match records of pgx-logmatch --rules client-timing (operation and\n"
	       "elapsed, one per call) and the statements records of pgx-poll for the same\n"
	       "window (two snapshots, or one written with --delta), and writes a markdown\n"
	       "report: executive summary, timing breakdown, per-operation analysis and the\n"
	       "bottlenecks ranked by their cost.\n\n"
	       "Options:\n"
	       "  -f, --format=FORMAT   markdown (default) or json (a workload record)\n"
	       "  -m, --map=FILE        \"OPERATION PATTERN\" lines: statements whose query\n"
	       "                        text contains PATTERN (or queryid:N) belong to\n"
	       "                        OPERATION; default: the operation's name is a word\n"
	       "                        of the query text\n"
	       "      --chatty=N        round trips per call from which an operation is\n"
	       "                        chatty (default 3)\n"
	       "  -V, --version         output version information, then exit\n"
	       "  -h, --help            show this help, then exit\n\n"
	       "Exit status: 0 ok, 2 usage error, 3 input unreadable or without client timings\n"
	       "or statements records, 6 write error.\n",
	       pgx_progname(), pgx_progname());
}

static double num(const json_t *obj, const char *key, double dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : dflt;
}

/* ---- client timings ---- */

static struct op *find_op(struct workload *w, const char *name, bool create)
{
	struct op *op;

	for (size_t i = 0; i < w->ops.n; i++)
		if (!strcmp(w->ops.v[i].name, name))
			return &w->ops.v[i];
	if (!create)
		return NULL;
	op = vec_push(&w->ops);
	op->name = pgx_xstrdup(name);
	op->server_max_s = op->server_stddev_s = -1;
	return op;
}

static double elapsed_ms(const json_t *caps)
{
	const char *unit = pgx_rec_str(caps, "unit");
	double v = num(caps, "elapsed", -1);

	if (v < 0)
		return num(caps, "duration_ms", -1);
	if (!unit || !strcmp(unit, "ms"))
		return v;
	if (!strcmp(unit, "s"))
		return v * 1000;
	return v / 1000;	/* us, µs */
}

static void read_match(struct workload *w, const json_t *rec)
{
	const char *rule = pgx_rec_str(rec, "rule");
	const json_t *caps = json_object_get(rec, "captures");
	const char *name = pgx_rec_str(caps, "operation");
	double ms, ts = pgx_rec_ts(rec);
	struct op *op;

	if (!rule || (strcmp(rule, "client_elapsed") && strcmp(rule, "client_duration_ms")))
		return;
	if ((ms = elapsed_ms(caps)) < 0)
		return;
	op = find_op(w, name ? name : "(unnamed)", true);
	op->calls++;
	*vec_push(&op->ms) = ms;
	op->sum_ms += ms;
	op->sumsq += ms * ms;
	op->max_ms = ms > op->max_ms ? ms : op->max_ms;
	if (ts >= 0 && (w->client_first_ts == 0 || ts < w->client_first_ts))
		w->client_first_ts = ts;
	if (ts > w->client_last_ts)
		w->client_last_ts = ts;
}

static void read_record(struct workload *w, json_t *rec)
{
	const char *type = pgx_rec_type(rec);

	if (!type)
		return;
	if (!strcmp(type, "match")) {
		read_match(w, rec);
	} else if (!strcmp(type, "statements")) {
		w->nstatements++;
		if (!w->first)
			w->first = json_incref(rec);
		json_decref(w->last);
		w->last = json_incref(rec);
	}
}

static int read_input(struct workload *w, const char *path)
{
	struct pgx_input *in = pgx_input_open(path, PGX_MAX_LINE_DEFAULT);
	struct pgx_line line;
	json_t *rec;
	int rc;

	if (!in)
		return PGX_EXIT_INPUT;
	while ((rc = pgx_ndjson_next(in, &line, &rec)) != 0 && !pgx_stop_signal) {
		if (rc > 0 && rec) {
			pgx_mask_json(rec);	/* records from an older pgx-poll */
			read_record(w, rec);
		}
		json_decref(rec);
	}
	w->input_errors += pgx_input_errors(in);
	pgx_input_close(in);
	return PGX_EXIT_OK;
}

/* ---- server statements: the window's deltas ---- */

/* pg_stat_statements' own key: queryid, database, user (and toplevel) */
static char *item_key(const json_t *it)
{
	const char *q = pgx_rec_str(it, "queryid"), *db = pgx_rec_str(it, "dbname");
	const char *user = pgx_rec_str(it, "username");
	json_t *top = json_object_get(it, "toplevel");
	char *key = NULL;

	if (asprintf(&key, "%s/%s/%s/%c", q ? q : "", db ? db : "", user ? user : "",
		     json_is_false(top) ? 'n' : 't') < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return key;
}

static const json_t *find_item(const json_t *rec, const char *key)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(rec, "items"), i, it) {
		char *k = item_key(it);
		bool same = !strcmp(k, key);
		free(k);
		if (same)
			return it;
	}
	return NULL;
}

static void add_stmt(struct workload *w, const json_t *it, const json_t *before, double dt)
{
	struct stmt *s;
	double calls;

	if (before)
		calls = num(it, "calls_total", 0) - num(before, "calls_total", 0);
	else if (dt > 0)
		calls = round(num(it, "calls_per_s", 0) * dt);
	else
		calls = num(it, "calls_total", 0);
	if (calls <= 0)
		return;
	s = vec_push(&w->stmts);
	s->key = item_key(it);
	s->queryid = pgx_xstrdup(pgx_rec_str(it, "queryid") ? pgx_rec_str(it, "queryid") : "");
	s->query = pgx_xstrdup(pgx_rec_str(it, "query") ? pgx_rec_str(it, "query") : "");
	s->calls = calls;
	if (before) {
		s->exec_s = num(it, "exec_time_s_total", 0) - num(before, "exec_time_s_total", 0);
		s->rows = num(it, "rows_total", 0) - num(before, "rows_total", 0);
	} else if (dt > 0) {
		s->exec_s = num(it, "exec_time_s_per_s", 0) * dt;
		s->rows = round(num(it, "rows_per_s", 0) * dt);
	} else {
		s->exec_s = num(it, "exec_time_s_total", 0);
		s->rows = num(it, "rows_total", 0);
	}
	/* Since the statistics were reset, not the window: only when pgx-poll has them. */
	s->max_s = num(it, "max_exec_time_s", -1);
	s->stddev_s = num(it, "stddev_exec_time_s", -1);
}

static void statement_deltas(struct workload *w)
{
	bool two = w->nstatements >= 2;
	double dt = two ? 0 : num(w->last, "delta_s", 0);
	json_t *it;
	size_t i;

	if (two)
		w->window_s = pgx_rec_ts(w->last) - pgx_rec_ts(w->first);
	else if (dt > 0)
		w->window_s = dt;
	else
		pgx_warn("one statements record and no delta_s: its totals since the last reset are taken as the window");
	json_array_foreach(json_object_get(w->last, "items"), i, it) {
		char *key = item_key(it);
		add_stmt(w, it, two ? find_item(w->first, key) : NULL, dt);
		free(key);
	}
}

/* ---- joining statements to operations ---- */

static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = text; n && (p = strcasestr(p, word)); p++) {
		bool before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool after = !(isalnum((unsigned char)p[n]) || p[n] == '_');
		if (before && after)
			return true;
	}
	return false;
}

static bool pattern_matches(const struct mapping *m, const struct stmt *s)
{
	if (!strncmp(m->pattern, "queryid:", 8))
		return !strcmp(m->pattern + 8, s->queryid);
	return strcasestr(s->query, m->pattern) != NULL;
}

static struct op *op_of(struct workload *w, const struct stmt *s)
{
	for (size_t i = 0; i < w->map.n; i++)
		if (pattern_matches(&w->map.v[i], s))
			return find_op(w, w->map.v[i].op, false);
	if (w->map.n)
		return NULL;
	for (size_t i = 0; i < w->ops.n; i++)
		if (has_word(s->query, w->ops.v[i].name))
			return &w->ops.v[i];
	return NULL;
}

static void join(struct workload *w)
{
	for (size_t i = 0; i < w->stmts.n; i++) {
		struct stmt *s = &w->stmts.v[i];
		struct op *op = op_of(w, s);

		if (!(s->op = op))
			continue;
		op->server_calls += s->calls;
		op->server_s += s->exec_s;
		op->rows += s->rows;
		op->nstmts++;
		if (s->max_s > op->server_max_s)
			op->server_max_s = s->max_s;
		if (s->stddev_s > op->server_stddev_s)
			op->server_stddev_s = s->stddev_s;
		if (!op->top_stmt || s->exec_s > op->top_stmt->exec_s)
			op->top_stmt = s;
	}
}

static int read_map(struct workload *w, const char *path)
{
	struct pgx_input *in = pgx_input_open(path, PGX_MAX_LINE_DEFAULT);
	struct pgx_line line;
	int rc;

	if (!in)
		return PGX_EXIT_USAGE;
	while ((rc = pgx_input_next(in, &line)) > 0) {
		char *p = line.text, *op, *pat;
		struct mapping *m;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		op = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		pat = p;
		for (char *e = pat + strlen(pat); e > pat && isspace((unsigned char)e[-1]); )
			*--e = '\0';
		if (!*pat) {
			pgx_error("%s:%lu: a mapping line is \"OPERATION PATTERN\"", path, line.lineno);
			pgx_input_close(in);
			return PGX_EXIT_USAGE;
		}
		m = vec_push(&w->map);
		m->op = pgx_xstrdup(op);
		m->pattern = pgx_xstrdup(pat);
	}
	pgx_input_close(in);
	return rc < 0 ? PGX_EXIT_USAGE : PGX_EXIT_OK;
}

/* ---- figures ---- */

struct totals {
	double client_ms, server_ms, network_ms, app_ms, unattributed_ms, total_ms;
	double unsplit_ms;	/* client time of operations no statement matched */
	bool has_app;
	long calls;
};

static double op_mean(const struct op *op) { return op->calls ? op->sum_ms / op->calls : 0; }
static bool op_joined(const struct op *op) { return op->nstmts > 0; }
static double op_server_ms(const struct op *op) { return op->server_s * 1000; }
static double op_network_ms(const struct op *op) { return op->sum_ms - op_server_ms(op); }
static double op_round_trips(const struct op *op) { return op->calls ? op->server_calls / op->calls : 0; }

static double op_stddev(const struct op *op)
{
	double mean = op_mean(op), var;

	if (op->calls < 2)
		return 0;
	var = (op->sumsq - op->calls * mean * mean) / (double)(op->calls - 1);
	return var > 0 ? sqrt(var) : 0;
}

static double pct(double part, double whole) { return whole > 0 ? 100 * part / whole : 0; }

/* The calls OUTLIER_FACTOR times the median or slower, and above the mean
 * (a median of 0.1 ms would make jitter an outlier): how many, their time,
 * and what they took beyond a typical call (what fixing them saves). */
struct slow_calls {
	size_t n;
	double ms, excess_ms, median_ms, threshold_ms;
};

static struct slow_calls op_slow_calls(const struct op *op)
{
	struct slow_calls sc = { 0 };
	double *v;

	if (!op->ms.n)
		return sc;
	v = pgx_xmalloc(op->ms.n * sizeof(*v));
	memcpy(v, op->ms.v, op->ms.n * sizeof(*v));
	sc.median_ms = pgx_nearest_rank(v, op->ms.n, 0.5);
	free(v);
	sc.threshold_ms = fmax(OUTLIER_FACTOR * sc.median_ms, op_mean(op));
	for (size_t i = 0; i < op->ms.n; i++)
		if (sc.median_ms > 0 && op->ms.v[i] >= sc.threshold_ms) {
			sc.n++;
			sc.ms += op->ms.v[i];
			sc.excess_ms += op->ms.v[i] - sc.median_ms;
		}
	return sc;
}

static void compute_totals(const struct workload *w, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < w->ops.n; i++) {
		const struct op *op = &w->ops.v[i];
		t->client_ms += op->sum_ms;
		t->calls += op->calls;
		if (op_joined(op)) {
			t->server_ms += op_server_ms(op);
			t->network_ms += op_network_ms(op);
		} else {
			t->unsplit_ms += op->sum_ms;
		}
	}
	for (size_t i = 0; i < w->stmts.n; i++)
		if (!w->stmts.v[i].op)
			t->unattributed_ms += w->stmts.v[i].exec_s * 1000;
	t->has_app = w->window_s > 0 && w->window_s * 1000 >= t->client_ms;
	t->app_ms = t->has_app ? w->window_s * 1000 - t->client_ms : 0;
	t->total_ms = t->server_ms + t->network_ms + t->unsplit_ms + t->app_ms;
}

/* ---- patterns ---- */

static struct finding *add_finding(struct finding_list *f)
{
	return vec_push(f);
}

/* Every slow call counts: the impact is what all of them took beyond a
 * typical call, not the slowest one's excess alone. */
static void add_outliers(struct finding_list *f, const struct op *op, const struct slow_calls *slow,
			 const struct totals *t)
{
	struct finding *x = add_finding(f);
	double mean = op_mean(op);

	x->op = op;
	snprintf(x->name, sizeof(x->name), "Outliers in %s", op->name);
	snprintf(x->root, sizeof(x->root), "occasional slow calls: lock waits, cold cache or a changing plan");
	if (slow->n)
		snprintf(x->evidence, sizeof(x->evidence),
			 "%zu of %ld calls took %.1f ms (%.2f ms or more: %.0fx the median %.2f ms and the mean), client max %.1f ms%s",
			 slow->n, op->calls, slow->ms, slow->threshold_ms, OUTLIER_FACTOR, slow->median_ms, op->max_ms,
			 op->server_max_s >= 0 ? "; server max/stddev since reset in the statements record" : "");
	else
		snprintf(x->evidence, sizeof(x->evidence), "client max %.1f ms vs mean %.1f ms (stddev %.1f ms)%s",
			 op->max_ms, mean, op_stddev(op),
			 op->server_max_s >= 0 ? "; server max/stddev since reset in the statements record" : "");
	snprintf(x->advice, sizeof(x->advice), "look for lock waits and plan changes in the slow calls (pgx-poll -s locks, auto_explain)");
	x->impact_ms = slow->n ? slow->excess_ms : op->max_ms - mean;
	snprintf(x->expected, sizeof(x->expected), "up to %.1f ms (%.1f%% of the total)", x->impact_ms,
		 pct(x->impact_ms, t->total_ms));
}

static void find_patterns(const struct workload *w, const struct totals *t, const struct wl_opts *o,
			  struct finding_list *f)
{
	struct finding *x;

	if (t->server_ms + t->network_ms > 0 && pct(t->network_ms, t->server_ms + t->network_ms) >= NETWORK_DOMINANCE_PCT) {
		x = add_finding(f);
		snprintf(x->name, sizeof(x->name), "Network dominance");
		snprintf(x->root, sizeof(x->root), "round trips between the client and the server, not execution, take the time");
		snprintf(x->evidence, sizeof(x->evidence),
			 "network and driver %.1f ms of %.1f ms database time (%.1f%%); server execution %.1f ms",
			 t->network_ms, t->server_ms + t->network_ms, pct(t->network_ms, t->server_ms + t->network_ms), t->server_ms);
		snprintf(x->advice, sizeof(x->advice), "co-locate the application with the database (same host, zone or VNet), or cut round trips");
		snprintf(x->expected, sizeof(x->expected), "up to %.1f%% of the total", pct(t->network_ms, t->total_ms));
		x->impact_ms = t->network_ms;
	}
	for (size_t i = 0; i < w->ops.n; i++) {
		const struct op *op = &w->ops.v[i];
		double rt = op_round_trips(op), mean = op_mean(op), sd = op_stddev(op);
		struct slow_calls slow = op_slow_calls(op);

		if (!op_joined(op))
			continue;
		if (rt >= o->chatty) {
			double per_rt = op_network_ms(op) / op->server_calls;
			x = add_finding(f);
			x->op = op;
			snprintf(x->name, sizeof(x->name), "Chatty operation %s", op->name);
			snprintf(x->root, sizeof(x->root), "%.2f round trips per call where one could do", rt);
			snprintf(x->evidence, sizeof(x->evidence),
				 "%.0f statements for %ld calls (%.2f per call), %.2f ms network per round trip",
				 op->server_calls, op->calls, rt, per_rt);
			snprintf(x->advice, sizeof(x->advice), "batch the statements of one call into one round trip (a function, a multi-row statement or a pipeline)");
			x->impact_ms = (op->server_calls - op->calls) * per_rt;
			snprintf(x->expected, sizeof(x->expected), "%.1f ms saved (%.1f%% of the total)", x->impact_ms, pct(x->impact_ms, t->total_ms));
		}
		if (op->calls >= 5 && (slow.n || sd > mean ||
		    (op->server_max_s >= 0 && op->server_calls > 0 &&
		     op->server_max_s * 1000 >= OUTLIER_FACTOR * op_server_ms(op) / op->server_calls)))
			add_outliers(f, op, &slow, t);
		if (op->calls >= POLLING_MIN_CALLS && op->server_calls > 0 && op->rows / op->server_calls < 0.5) {
			x = add_finding(f);
			x->op = op;
			snprintf(x->name, sizeof(x->name), "Polling by %s", op->name);
			snprintf(x->root, sizeof(x->root), "repeated reads that find nothing");
			snprintf(x->evidence, sizeof(x->evidence), "%ld calls returned %.0f rows (%.2f per statement)",
				 op->calls, op->rows, op->rows / op->server_calls);
			snprintf(x->advice, sizeof(x->advice), "poll less often, wait longer between polls, or use LISTEN/NOTIFY");
			x->impact_ms = op->sum_ms * (1 - op->rows / op->server_calls);
			snprintf(x->expected, sizeof(x->expected), "up to %.1f ms (%.1f%% of the total)", x->impact_ms, pct(x->impact_ms, t->total_ms));
		}
		if (op->server_calls > 0 && op_server_ms(op) / op->server_calls >= SERVER_SLOW_MS) {
			x = add_finding(f);
			x->op = op;
			snprintf(x->name, sizeof(x->name), "Server execution of %s", op->name);
			snprintf(x->root, sizeof(x->root), "the statements themselves are slow");
			snprintf(x->evidence, sizeof(x->evidence), "%.1f ms server execution per statement, %.1f%% of the operation",
				 op_server_ms(op) / op->server_calls, pct(op_server_ms(op), op->sum_ms));
			snprintf(x->advice, sizeof(x->advice), "EXPLAIN the top statement (pgx-poll --explain) and check index advice (pgx-poll --advice)");
			x->impact_ms = op_server_ms(op);
			snprintf(x->expected, sizeof(x->expected), "up to %.1f ms", x->impact_ms);
		}
	}
}

static int by_impact(const void *a, const void *b)
{
	double x = ((const struct finding *)a)->impact_ms, y = ((const struct finding *)b)->impact_ms;

	return x < y ? 1 : x > y ? -1 : 0;
}

static const char *impact_level(double impact, double total)
{
	double p = pct(impact, total);

	return p >= 30 ? "High" : p >= 10 ? "Medium" : "Low";
}

/* ---- markdown ---- */

static void md_summary(FILE *f, const struct workload *w, const struct totals *t, const struct finding_list *fs)
{
	fprintf(f, "# Performance Analysis Report\n\n## Executive Summary\n\n");
	fprintf(f, "%ld client calls of %zu operations took %.1f ms on the client; ", t->calls, w->ops.n, t->client_ms);
	fprintf(f, "the server executed their statements in %.1f ms, so %.1f ms (%.1f%% of the database time) went to the network and the driver",
		t->server_ms, t->network_ms, pct(t->network_ms, t->server_ms + t->network_ms));
	if (t->has_app)
		fprintf(f, ", and %.1f ms of the %.1f ms window was spent in the application between calls", t->app_ms, w->window_s * 1000);
	fprintf(f, ". ");
	if (fs->n)
		fprintf(f, "The primary bottleneck is **%s** (%.1f ms, %.1f%% of the total).", fs->v[0].name,
			fs->v[0].impact_ms, pct(fs->v[0].impact_ms, t->total_ms));
	else
		fprintf(f, "No pattern stands out.");
	fprintf(f, "\n\n");
}

static void md_breakdown(FILE *f, const struct totals *t)
{
	fprintf(f, "## Timing Breakdown\n\n| Category | Time (ms) | %% of Total |\n|---|---:|---:|\n");
	fprintf(f, "| Network RTT (and driver) | %.1f | %.1f%% |\n", t->network_ms, pct(t->network_ms, t->total_ms));
	fprintf(f, "| Server Execution | %.1f | %.1f%% |\n", t->server_ms, pct(t->server_ms, t->total_ms));
	if (t->unsplit_ms > 0)
		fprintf(f, "| Operations without server figures | %.1f | %.1f%% |\n", t->unsplit_ms,
			pct(t->unsplit_ms, t->total_ms));
	if (t->has_app)
		fprintf(f, "| Application Logic | %.1f | %.1f%% |\n", t->app_ms, pct(t->app_ms, t->total_ms));
	else
		fprintf(f, "| Application Logic | unknown | - |\n");
	fprintf(f, "| **Total** | %.1f | 100.0%% |\n\n", t->total_ms);
	if (t->unattributed_ms > 0)
		fprintf(f, "Server statements matched to no operation: %.1f ms (not in the table).\n\n", t->unattributed_ms);
}

/* Statements beyond pgx-poll's Top-N are rolled up: they join nothing. */
static void md_rollup_note(FILE *f, const struct workload *w)
{
	double n = num(json_object_get(w->last, "other"), "count", 0);

	if (n > 0)
		fprintf(f, "Note: %.0f statements beyond pgx-poll's Top-N are rolled up in \"other\" and "
			"match no operation; take the snapshots with a larger --top.\n\n", n);
}

static void md_operation(FILE *f, const struct op *op, const struct wl_opts *o)
{
	double mean = op_mean(op);

	fprintf(f, "### %s\n\n- **Call count**: %ld\n- **Client elapsed**: %.2f ms average (max %.2f ms, stddev %.2f ms)\n",
		op->name, op->calls, mean, op->max_ms, op_stddev(op));
	if (!op_joined(op)) {
		fprintf(f, "- **Server execution**: no statement matched this operation (see --map)\n\n");
		return;
	}
	fprintf(f, "- **Server execution**: %.2f ms average per call (%.0f statements)\n",
		op_server_ms(op) / op->calls, op->server_calls);
	fprintf(f, "- **Network overhead**: %.2f ms (%.1f%%)\n", op_network_ms(op) / op->calls,
		pct(op_network_ms(op), op->sum_ms));
	fprintf(f, "- **Round trips per call**: %.2f (%.2f ms network each)\n", op_round_trips(op),
		op->server_calls > 0 ? op_network_ms(op) / op->server_calls : 0);
	fprintf(f, "- **Total impact**: %ld × %.2f ms = %.1f ms network overhead\n", op->calls,
		op_network_ms(op) / op->calls, op_network_ms(op));
	fprintf(f, "- **Bottleneck**: %s\n", op_network_ms(op) >= op_server_ms(op) ? "Network" : "Server");
	fprintf(f, "- **Recommendation**: %s\n", op_round_trips(op) >= o->chatty
		? "batch the statements of a call into one round trip"
		: op_network_ms(op) >= op_server_ms(op) ? "co-locate the application with the database"
		: "tune the statements (pgx-poll --explain, --advice)");
	if (op->top_stmt)
		fprintf(f, "- **Top statement**: `%.200s`\n", op->top_stmt->query);
	fprintf(f, "\n");
}

static void md_findings(FILE *f, const struct finding_list *fs, const struct totals *t)
{
	fprintf(f, "## Identified Bottlenecks\n\n");
	if (!fs->n)
		fprintf(f, "None found.\n\n");
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->v[i];
		fprintf(f, "### %zu. %s\n\n- **Impact**: %s - %.1f ms, %.1f%% of the total\n- **Root cause**: %s\n"
			"- **Evidence**: %s\n- **Recommendation**: %s\n- **Expected improvement**: %s\n\n",
			i + 1, x->name, impact_level(x->impact_ms, t->total_ms), x->impact_ms,
			pct(x->impact_ms, t->total_ms), x->root, x->evidence, x->advice, x->expected);
	}
	fprintf(f, "## Optimization Priorities\n\n");
	for (size_t i = 0; i < fs->n; i++)
		fprintf(f, "%zu. **%s** - expected %.1f%% improvement\n", i + 1, fs->v[i].name,
			pct(fs->v[i].impact_ms, t->total_ms));
}

static void render_markdown(FILE *f, const struct workload *w, const struct totals *t,
			    const struct finding_list *fs, const struct wl_opts *o)
{
	md_summary(f, w, t, fs);
	md_breakdown(f, t);
	md_rollup_note(f, w);
	fprintf(f, "## Per-Operation Analysis\n\n");
	for (size_t i = 0; i < w->ops.n; i++)
		md_operation(f, &w->ops.v[i], o);
	md_findings(f, fs, t);
}

/* ---- json ---- */

static json_t *op_json(const struct op *op)
{
	json_t *j = json_pack("{s:s, s:I, s:o, s:o, s:o, s:o}", "operation", op->name,
			      "calls", (json_int_t)op->calls, "client_s_total", json_secs(op->sum_ms / 1000),
			      "client_mean_ms", json_real(round_to(op_mean(op), 0.001)),
			      "client_max_ms", json_real(round_to(op->max_ms, 0.001)),
			      "client_stddev_ms", json_real(round_to(op_stddev(op), 0.001)));

	if (!op_joined(op))
		return j;
	json_object_set_new(j, "statements", json_integer((json_int_t)op->nstmts));
	json_object_set_new(j, "server_calls", json_real(op->server_calls));
	json_object_set_new(j, "round_trips_per_call", json_real(round_to(op_round_trips(op), 0.001)));
	json_object_set_new(j, "server_s_total", json_secs(op->server_s));
	json_object_set_new(j, "server_mean_ms", json_real(round_to(op_server_ms(op) / op->calls, 0.001)));
	json_object_set_new(j, "network_s_total", json_secs(op_network_ms(op) / 1000));
	json_object_set_new(j, "network_mean_ms", json_real(round_to(op_network_ms(op) / op->calls, 0.001)));
	json_object_set_new(j, "network_pct", json_pct(pct(op_network_ms(op), op->sum_ms)));
	json_object_set_new(j, "rows", json_real(op->rows));
	return j;
}

static bool render_json(const struct workload *w, const struct totals *t, const struct finding_list *fs)
{
	double ts = w->last ? pgx_rec_ts(w->last) : w->client_last_ts;
	json_t *rec = pgx_record_new("workload", ts), *ops = json_array(), *finds = json_array();

	json_object_set_new(rec, "window_s", w->window_s > 0 ? json_secs(w->window_s) : json_null());
	json_object_set_new(rec, "calls", json_integer(t->calls));
	json_object_set_new(rec, "client_s", json_secs(t->client_ms / 1000));
	json_object_set_new(rec, "network_s", json_secs(t->network_ms / 1000));
	json_object_set_new(rec, "server_s", json_secs(t->server_ms / 1000));
	json_object_set_new(rec, "application_s", t->has_app ? json_secs(t->app_ms / 1000) : json_null());
	json_object_set_new(rec, "network_pct", json_pct(pct(t->network_ms, t->total_ms)));
	json_object_set_new(rec, "server_pct", json_pct(pct(t->server_ms, t->total_ms)));
	json_object_set_new(rec, "application_pct", t->has_app ? json_pct(pct(t->app_ms, t->total_ms)) : json_null());
	json_object_set_new(rec, "unattributed_server_s", json_secs(t->unattributed_ms / 1000));
	json_object_set_new(rec, "unsplit_client_s", json_secs(t->unsplit_ms / 1000));
	json_object_set_new(rec, "statements_rolled_up",
			    json_integer((json_int_t)num(json_object_get(w->last, "other"), "count", 0)));
	for (size_t i = 0; i < w->ops.n; i++)
		json_array_append_new(ops, op_json(&w->ops.v[i]));
	for (size_t i = 0; i < fs->n; i++)
		json_array_append_new(finds, json_pack("{s:I, s:s, s:s?, s:f, s:s, s:s, s:s}",
			"rank", (json_int_t)i + 1, "pattern", fs->v[i].name,
			"operation", fs->v[i].op ? fs->v[i].op->name : NULL,
			"impact_ms", round_to(fs->v[i].impact_ms, 0.001), "evidence", fs->v[i].evidence,
			"impact", impact_level(fs->v[i].impact_ms, t->total_ms), "recommendation", fs->v[i].advice));
	json_object_set_new(rec, "operations", ops);
	json_object_set_new(rec, "findings", finds);
	return pgx_emit(rec);
}

/* ---- the command ---- */

static void workload_free(struct workload *w)
{
	for (size_t i = 0; i < w->ops.n; i++) {
		free(w->ops.v[i].name);
		free(w->ops.v[i].ms.v);
	}
	for (size_t i = 0; i < w->stmts.n; i++) {
		free(w->stmts.v[i].key);
		free(w->stmts.v[i].queryid);
		free(w->stmts.v[i].query);
	}
	for (size_t i = 0; i < w->map.n; i++) {
		free(w->map.v[i].op);
		free(w->map.v[i].pattern);
	}
	free(w->ops.v);
	free(w->stmts.v);
	free(w->map.v);
	json_decref(w->first);
	json_decref(w->last);
}

static void parse_wl_options(int argc, char **argv, struct wl_opts *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "map", required_argument, NULL, 'm' },
		{ "chatty", required_argument, NULL, 1 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->chatty = 3;
	while ((c = getopt_long(argc, argv, "f:m:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "markdown") && strcmp(optarg, "json"))
				pgx_usage_error("invalid value \"%s\" for option --format (use markdown or json)", optarg);
			o->json = !strcmp(optarg, "json");
			break;
		case 'm': o->map = optarg; break;
		case 1:
			errno = 0;
			o->chatty = strtod(optarg, &end);
			if (errno || end == optarg || *end || !isfinite(o->chatty) || o->chatty < 1)
				pgx_usage_error("invalid value \"%s\" for option --chatty (round trips, 1 or more)", optarg);
			break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(wl_usage);
		default: pgx_usage_error(NULL);
		}
	}
}

static int analyse(struct workload *w, const struct wl_opts *o)
{
	struct finding_list fs = { 0 };
	struct totals t;
	bool ok = true;

	if (!w->ops.n || !w->nstatements) {
		pgx_error("%s", !w->ops.n ? "no client timing in the input (pgx-logmatch --rules client-timing match records)"
					  : "no statements record in the input (pgx-poll -s statements, twice, or --delta)");
		return PGX_EXIT_INPUT;
	}
	statement_deltas(w);
	join(w);
	compute_totals(w, &t);
	find_patterns(w, &t, o, &fs);
	if (fs.n)
		qsort(fs.v, fs.n, sizeof(*fs.v), by_impact);
	if (o->json)
		ok = render_json(w, &t, &fs);
	else
		render_markdown(stdout, w, &t, &fs, o);
	free(fs.v);
	return ok ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}

int workload_main(int argc, char **argv)
{
	struct wl_opts o = { 0 };
	struct workload w = { 0 };
	int status = PGX_EXIT_OK;

	parse_wl_options(argc, argv, &o);
	pgx_install_signals();
	if (o.map)
		status = read_map(&w, o.map);
	if (!status && optind == argc)
		status = read_input(&w, "-");
	for (int i = optind; i < argc && !status; i++)
		status = read_input(&w, argv[i]);
	if (!status)
		status = analyse(&w, &o);
	if (!status && w.input_errors)
		status = PGX_EXIT_INPUT;
	workload_free(&w);
	return pgx_stop_signal ? PGX_EXIT_INTERRUPTED : status;
}
