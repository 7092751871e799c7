/* slowlog.c - pgx-report slowlog: read the match records of
 * pgx-logmatch --rules slowlog and sum them up per statement shape */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "pgx_sql.h"
#include "report.h"
#include "slowlog.h"

static void usage(void)
{
	printf("%s slowlog sums up a PostgreSQL server log: the slowest statement\n"
	       "shapes, errors by SQLSTATE, lock waits, temporary files, checkpoints\n"
	       "and autovacuum runs.\n\n"
	       "Usage:\n"
	       "  %s slowlog [OPTION]... [FILE]...\n\n"
	       "Reads the match records of pgx-logmatch --rules slowlog, or the\n"
	       "match_group records of pgx-logmatch --group --rules slowlog (faster;\n"
	       "the same report), from FILEs or standard input; other records are\n"
	       "ignored.\n\n"
	       "Options:\n"
	       "  -f, --format=FORMAT       table (default), json, or records (NDJSON\n"
	       "                            slow_query and slowlog_summary records)\n"
	       "  -n, --top=N               statement shapes shown (default 20)\n"
	       "      --min-mean-ms=MS      only shapes whose mean is MS or more\n"
	       "      --min-total-ms=MS     only shapes whose total is MS or more\n"
	       "  -o, --output=FILE         write to FILE instead of standard output\n"
	       "  -L, --max-line-length=N   longest record accepted, in bytes (default\n"
	       "                            1M; a match_group holds every duration of\n"
	       "                            its shape, about 8 bytes each)\n"
	       "      --progress            show bytes and records read, rate and time\n"
	       "                            left on stderr (default: when stderr is a\n"
	       "                            terminal and the input is a file, not a pipe)\n"
	       "      --no-progress         never show progress\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Exit status: 0 ok, 2 usage error, 3 input unreadable or invalid,\n"
	       "6 write error, 130 interrupted.\n",
	       pgx_progname(), pgx_progname());
}

static enum slow_format parse_format(const char *arg)
{
	if (!strcmp(arg, "table"))
		return SLOW_TABLE;
	if (!strcmp(arg, "json"))
		return SLOW_JSON;
	if (!strcmp(arg, "records"))
		return SLOW_RECORDS;
	pgx_usage_error("invalid value \"%s\" for option --format (use table, json or records)", arg);
}

static double parse_ms(const char *arg, const char *option)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(v) || v < 0)
		pgx_usage_error("invalid value \"%s\" for option %s (milliseconds, 0 or more)", arg, option);
	return v;
}

static void parse_options(int argc, char **argv, struct slow_opts *o)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "max-line-length", required_argument, NULL, 'L' },
		{ "progress", no_argument, NULL, 1 },
		{ "no-progress", no_argument, NULL, 2 },
		{ "min-mean-ms", required_argument, NULL, 3 },
		{ "min-total-ms", required_argument, NULL, 4 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long size;
	int c;

	o->top = 20;
	o->max_line = PGX_MAX_LINE_DEFAULT;
	while ((c = getopt_long(argc, argv, "f:n:o:L:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o->format = parse_format(optarg); break;
		case 'n':
			if (!pgx_parse_long(optarg, "--top", 1, 1000000, &o->top))
				pgx_usage_error(NULL);
			break;
		case 'o': o->output = optarg; break;
		case 'L':
			if (!pgx_parse_size(optarg, "--max-line-length", &size) || size < 64 || size > (1ULL << 30))
				pgx_usage_error("--max-line-length must be between 64 and 1G bytes");
			o->max_line = (size_t)size;
			break;
		case 1: o->progress = PGX_PROGRESS_ON; break;
		case 2: o->progress = PGX_PROGRESS_OFF; break;
		case 3: o->min_mean_ms = parse_ms(optarg, "--min-mean-ms"); break;
		case 4: o->min_total_ms = parse_ms(optarg, "--min-total-ms"); break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: pgx_usage_error(NULL);
		}
	}
}

/* ---- statement shapes, in an open-addressing hash table ---- */

static void shapes_grow(struct slowlog *sl)
{
	size_t cap = sl->cap ? sl->cap * 2 : 256;
	struct shape **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < sl->cap; i++) {
		size_t j;
		if (!sl->tab[i])
			continue;
		for (j = sl->tab[i]->hash & (cap - 1); tab[j]; j = (j + 1) & (cap - 1))
			;
		tab[j] = sl->tab[i];
	}
	free(sl->tab);
	sl->tab = tab;
	sl->cap = cap;
}

/* The row of a statement shape, created on first sight. */
static struct shape *shape_get(struct slowlog *sl, const struct pgx_sql_shape *sh)
{
	size_t j;

	if ((sl->nshapes + 1) * 2 > sl->cap)
		shapes_grow(sl);
	for (j = sh->hash & (sl->cap - 1); sl->tab[j]; j = (j + 1) & (sl->cap - 1))
		if (sl->tab[j]->hash == sh->hash && !strcmp(sl->tab[j]->query, sh->text))
			return sl->tab[j];
	sl->tab[j] = pgx_xmalloc(sizeof(struct shape));
	memset(sl->tab[j], 0, sizeof(struct shape));
	sl->tab[j]->query = pgx_xstrdup(sh->text);
	sl->tab[j]->hash = sh->hash;
	sl->nshapes++;
	return sl->tab[j];
}

static void span_add(struct slowlog_span *t, double ts)
{
	if (ts < 0)
		return;
	if (!t->has || ts < t->first)
		t->first = ts;
	if (!t->has || ts > t->last)
		t->last = ts;
	t->has = true;
}

static void add_statement(struct slowlog *sl, const char *sql, double ms, double ts)
{
	struct pgx_sql_shape *sh;
	struct shape *q;

	if (!sql || !isfinite(ms) || ms < 0)
		return;
	sh = pgx_sql_cache_shape(sl->shapes, sql, strlen(sql));
	if (!(q = sh->user))	/* a statement seen before points to its row */
		sh->user = q = shape_get(sl, sh);
	if (!q->count || ms > q->max_ms) {
		free(q->example);
		q->example = pgx_mask_secrets_dup(sql);
		q->max_ms = ms;
	}
	*(double *)vec_push(&q->durations) = ms;
	q->count++;
	q->total_ms += ms;
	span_add(&q->seen, ts);
	sl->statements++;
	span_add(&sl->seen, ts);
}

/* The values of a match_group record (its "values" array). */
struct group_values {
	double *v;
	size_t n, cap;
};

static double ts_field(const json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return json_is_number(v) ? json_number_value(v) : -1;
}

/* A match_group record of pgx-logmatch --group: a shape's runs at once.
 * Groups of one shape from several inputs add up as their lines would. */
static bool add_statement_group(struct slowlog *sl, const json_t *rec, struct group_values *gv)
{
	const char *key = pgx_rec_str(rec, "key"), *example = pgx_rec_str(rec, "example");
	const char *norm = pgx_rec_str(rec, "normalize");
	json_t *max = json_object_get(rec, "max");
	struct pgx_sql_shape own;
	struct shape *q;

	if (!key || !example || !gv->n || !json_is_number(max))
		return false;
	if (norm && !strcmp(norm, "sql")) {
		own = (struct pgx_sql_shape){ .text = key, .len = strlen(key), .hash = pgx_hash_bytes(key, strlen(key)) };
		q = shape_get(sl, &own);
	} else
		q = shape_get(sl, pgx_sql_cache_shape(sl->shapes, key, strlen(key)));
	if (!q->count || json_number_value(max) > q->max_ms) {
		free(q->example);
		q->example = pgx_mask_secrets_dup(example);
		q->max_ms = json_number_value(max);
	}
	for (size_t i = 0; i < gv->n; i++)
		q->total_ms += gv->v[i];
	if (!q->durations.n) {	/* the shape's first group: its values taken as they are */
		free(q->durations.v);
		q->durations.v = gv->v, q->durations.n = gv->n, q->durations.cap = gv->cap;
		gv->v = NULL, gv->cap = 0;
	} else {
		vec_grow((void **)&q->durations.v, &q->durations.cap, q->durations.n + gv->n, sizeof(double));
		memcpy(q->durations.v + q->durations.n, gv->v, gv->n * sizeof(double));
		q->durations.n += gv->n;
	}
	q->count += gv->n;
	sl->statements += gv->n;
	span_add(&q->seen, ts_field(rec, "first_seen"));
	span_add(&q->seen, ts_field(rec, "last_seen"));
	span_add(&sl->seen, ts_field(rec, "first_seen"));
	span_add(&sl->seen, ts_field(rec, "last_seen"));
	sl->matches += gv->n;
	return true;
}


/* ---- log_statement + log_duration: a statement waits for its duration ---- */

static struct pending *pending_slot(struct slowlog *sl, long pid)
{
	size_t j;

	if ((sl->npending + 1) * 2 > sl->pending_cap) {
		size_t cap = sl->pending_cap ? sl->pending_cap * 2 : 64;
		struct pending *tab = calloc(cap, sizeof(*tab));
		if (!tab)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		for (size_t i = 0; i < sl->pending_cap; i++) {
			if (!sl->pending[i].used)
				continue;
			for (j = (size_t)sl->pending[i].pid & (cap - 1); tab[j].used; j = (j + 1) & (cap - 1))
				;
			tab[j] = sl->pending[i];
		}
		free(sl->pending);
		sl->pending = tab;
		sl->pending_cap = cap;
	}
	for (j = (size_t)pid & (sl->pending_cap - 1); sl->pending[j].used; j = (j + 1) & (sl->pending_cap - 1))
		if (sl->pending[j].pid == pid)
			return &sl->pending[j];
	sl->pending[j].used = true;
	sl->pending[j].pid = pid;
	sl->npending++;
	return &sl->pending[j];
}

/* ---- reading the records ---- */

static double cap_num(const json_t *caps, const char *key)
{
	json_t *v = json_object_get(caps, key);

	return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *cap_str(const json_t *caps, const char *key)
{
	return json_string_value(json_object_get(caps, key));
}

/* The server process: the record's (csvlog, jsonlog) or the line's [%p]. */
static long record_pid(const json_t *rec, const json_t *caps)
{
	double pid = cap_num(caps, "pid");

	return isfinite(pid) ? (long)pid : pgx_rec_int(rec, "pid", 0);
}

static void count_error(struct slowlog *sl, const char *severity, const char *code, const char *message,
			unsigned long count)
{
	struct error_row *e = NULL;

	for (size_t i = 0; i < sl->errors.n && !e; i++)
		if (!strcmp(sl->errors.v[i].severity, severity) &&
		    (code ? sl->errors.v[i].sqlstate && !strcmp(sl->errors.v[i].sqlstate, code) : !sl->errors.v[i].sqlstate))
			e = &sl->errors.v[i];
	if (!e) {
		e = vec_push(&sl->errors);
		e->sqlstate = code ? pgx_xstrdup(code) : NULL;
		e->severity = pgx_xstrdup(severity);
		e->example = pgx_mask_secrets_dup(message ? message : "");
	}
	e->count += count;
}

static void add_error(struct slowlog *sl, const json_t *rec, const json_t *caps, const char *severity)
{
	const char *code = cap_str(caps, "sqlstate");

	count_error(sl, severity, code ? code : pgx_rec_str(rec, "sqlstate"), cap_str(caps, "message"), 1);
}

static void count_autovacuum(struct slowlog *sl, bool analyze, const char *table, double s, unsigned long runs)
{
	struct table_row *t = NULL;

	if (analyze)
		sl->av.analyze += runs;
	else
		sl->av.vacuum += runs;
	if (isfinite(s) && s > sl->av.max_s)
		sl->av.max_s = s;
	for (size_t i = 0; table && i < sl->av.tables.n && !t; i++)
		if (!strcmp(sl->av.tables.v[i].table, table))
			t = &sl->av.tables.v[i];
	if (table && !t) {
		t = vec_push(&sl->av.tables);
		t->table = pgx_xstrdup(table);
	}
	if (t)
		t->runs += runs;
}

static void add_autovacuum(struct slowlog *sl, const json_t *caps)
{
	const char *kind = cap_str(caps, "kind");

	count_autovacuum(sl, kind && !strcmp(kind, "analyze"), cap_str(caps, "table"), cap_num(caps, "elapsed_s"), 1);
}

static void add_statement_half(struct slowlog *sl, const json_t *rec, const json_t *caps, bool duration)
{
	struct pending *p = pending_slot(sl, record_pid(rec, caps));

	if (!duration) {
		free(p->statement);
		p->statement = pgx_xstrdup(cap_str(caps, "statement") ? cap_str(caps, "statement") : "");
		return;
	}
	if (!p->statement) {
		sl->unpaired++;
		return;
	}
	add_statement(sl, p->statement, cap_num(caps, "duration_ms"), pgx_rec_ts(rec));
	free(p->statement);
	p->statement = NULL;
}

static void add_sum(struct slowlog_sum *sum, double v, double w)
{
	sum->count++;
	if (isfinite(v)) {
		sum->total += v;
		if (v > sum->max)
			sum->max = v;
	}
	if (isfinite(w))
		sum->extra += w;
}

static void add_match(struct slowlog *sl, const json_t *rec)
{
	const char *rule = pgx_rec_str(rec, "rule");
	const json_t *caps = json_object_get(rec, "captures");

	if (!rule)
		return;
	if (!strcmp(rule, "query_duration"))
		add_statement(sl, cap_str(caps, "statement"), cap_num(caps, "duration_ms"), pgx_rec_ts(rec));
	else if (!strcmp(rule, "query_statement") || !strcmp(rule, "query_duration_only"))
		add_statement_half(sl, rec, caps, rule[6] == 'd');
	else if (!strcmp(rule, "sql_error") || !strcmp(rule, "error"))
		add_error(sl, rec, caps, "ERROR");
	else if (!strcmp(rule, "sql_fatal") || !strcmp(rule, "fatal"))
		add_error(sl, rec, caps, "FATAL");
	else if (!strcmp(rule, "sql_panic") || !strcmp(rule, "panic"))
		add_error(sl, rec, caps, "PANIC");
	else if (!strcmp(rule, "lock_wait"))
		add_sum(&sl->locks, cap_num(caps, "wait_ms"), NAN);
	else if (!strcmp(rule, "temp_file"))
		add_sum(&sl->temp, cap_num(caps, "size_bytes"), NAN);
	else if (!strcmp(rule, "checkpoint_stats") || !strcmp(rule, "checkpoint_complete"))
		add_sum(&sl->ckpt, cap_num(caps, "total_s"), cap_num(caps, "buffers"));
	else if (!strcmp(rule, "autovacuum") || !strcmp(rule, "autoanalyze"))
		add_autovacuum(sl, caps);
	else
		return;
	sl->matches++;
}

/* Errors of one SQLSTATE, or every lock wait or temporary file, at once. */
static bool add_group(struct slowlog *sl, const json_t *rec, struct group_values *gv)
{
	const char *rule = pgx_rec_str(rec, "rule");
	json_int_t count = json_integer_value(json_object_get(rec, "count"));
	struct slowlog_sum *sum = NULL;

	if (!rule || count <= 0)
		return false;
	if (!strcmp(rule, "query_duration"))
		return add_statement_group(sl, rec, gv);
	if (!strcmp(rule, "sql_error") || !strcmp(rule, "sql_fatal") || !strcmp(rule, "sql_panic")) {
		count_error(sl, rule[4] == 'e' ? "ERROR" : rule[4] == 'f' ? "FATAL" : "PANIC",
			    pgx_rec_str(rec, "key"), pgx_rec_str(rec, "example"), (unsigned long)count);
		sl->matches += (unsigned long)count;
		return true;
	}
	if (!strcmp(rule, "autovacuum") || !strcmp(rule, "autoanalyze")) {
		json_t *max = json_object_get(rec, "max");
		if (!pgx_rec_str(rec, "key"))
			return false;
		count_autovacuum(sl, rule[4] == 'a', pgx_rec_str(rec, "key"),
				 json_is_number(max) ? json_number_value(max) : NAN, (unsigned long)count);
		sl->matches += (unsigned long)count;
		return true;
	}
	if (!strcmp(rule, "lock_wait"))
		sum = &sl->locks;
	else if (!strcmp(rule, "temp_file"))
		sum = &sl->temp;
	else if (!strcmp(rule, "checkpoint_stats"))
		sum = &sl->ckpt;
	if (!sum)
		return true;	/* not one of ours */
	if (gv->n != (size_t)count)
		return false;
	for (size_t i = 0; i < gv->n; i++)
		add_sum(sum, gv->v[i], NAN);
	if (sum == &sl->ckpt) {	/* the buffers written, summed up by pgx-logmatch */
		json_t *buffers = json_object_get(json_object_get(rec, "sums"), "buffers");
		if (json_is_number(buffers))
			sum->extra += json_number_value(buffers);
	}
	sl->matches += (unsigned long)count;
	return true;
}

#define MAX_BAD_LINES 5

/* false when the input is not NDJSON at all, after a few lines that say so */
static bool bad_line(struct slowlog *sl, struct pgx_input *in, const struct pgx_line *line,
		     const char *err, unsigned long *bad)
{
	sl->input_errors++;
	pgx_error("%s:%lu: %s", pgx_input_name(in), line->lineno, err[0] ? err : "not a JSON object");
	if (++*bad < MAX_BAD_LINES)
		return true;
	pgx_error("%s: %d lines are not NDJSON; stopped reading it", pgx_input_name(in), MAX_BAD_LINES);
	pgx_hint("pgx-report slowlog reads records: pgx-logmatch -o --rules slowlog LOG | pgx-report slowlog");
	return false;
}

static void push_value(struct group_values *gv, double v)
{
	if (gv->n == gv->cap) {
		gv->cap = gv->cap ? 2 * gv->cap : 1024;
		gv->v = pgx_xrealloc(gv->v, gv->cap * sizeof(double));
	}
	gv->v[gv->n++] = v;
}

/* pgx-logmatch --group writes "values" last: a match_group line ending in
 * ,"values":[n,n,...]} has the numbers read here and the rest by jansson,
 * which would make a JSON value of each.  false (line untouched) otherwise. */
static bool split_values(struct pgx_line *line, struct group_values *gv)
{
	static const char key[] = ",\"values\":[";
	char *at;
	const char *p;
	double v;

	gv->n = 0;
	if (line->len < sizeof(key) + 2 || memcmp(line->text + line->len - 2, "]}", 2) ||
	    !memmem(line->text, line->len, "\"match_group\"", 13))
		return false;
	/* the first ,"values":[ outside a string (a string has \" for a quote);
	 * one of a nested object fails the parse below, and jansson reads it all */
	if (!(at = memmem(line->text, line->len, key, sizeof(key) - 1)))
		return false;
	for (p = at + sizeof(key) - 1; *p != ']'; p += *p == ',') {
		if (!pgx_list_number(&p, &v))
			return false;
		push_value(gv, v);
	}
	if (p != line->text + line->len - 2)
		return false;
	at[0] = '}';
	at[1] = '\0';
	line->len = (size_t)(at - line->text) + 1;
	return true;
}

static void values_from_json(const json_t *rec, struct group_values *gv)
{
	const json_t *v;
	size_t i;

	gv->n = 0;
	json_array_foreach(json_object_get(rec, "values"), i, v)
		if (json_is_number(v))
			push_value(gv, json_number_value(v));
}

/* The clock is read once per this many records. */
#define PROGRESS_EVERY_LINES 1024

/* From a pipe, the stage before (pgx-logmatch) draws its own progress on
 * the same terminal: only --progress draws there too. */
static bool progress_for(const struct slowlog *sl, const struct pgx_progress *p, struct pgx_input *in)
{
	return p->on && (sl->opts.progress == PGX_PROGRESS_ON || pgx_input_size(in) > 0);
}

/* The limit every reader has by default; a match_group record holds every
 * duration of its shape and may need -L to raise it. */
static void load_file(struct slowlog *sl, const char *path, struct pgx_progress *progress)
{
	struct pgx_input *in = pgx_input_open(path, sl->opts.max_line);
	struct group_values gv = { 0 };
	bool split, show;
	unsigned long bad = 0;
	struct pgx_line line;
	char err[256];
	json_t *rec;
	int got = 0;

	if (!in) {
		sl->unreadable = true;
		return;
	}
	show = progress_for(sl, progress, in);
	while (!pgx_stop_signal && (got = pgx_input_next(in, &line)) == 1) {
		if (show && line.lineno % PROGRESS_EVERY_LINES == 0 && pgx_progress_due(progress))
			pgx_progress_bytes(progress, pgx_input_name(in), pgx_input_bytes(in),
					   pgx_input_size(in), line.lineno);
		if (!line.len)
			continue;
		split = split_values(&line, &gv);
		if (!(rec = pgx_json_parse_line(&line, err, sizeof(err)))) {
			if (!bad_line(sl, in, &line, err, &bad))
				break;
			continue;
		}
		if (pgx_rec_type(rec) && !strcmp(pgx_rec_type(rec), "match"))
			add_match(sl, rec);
		else if (pgx_rec_type(rec) && !strcmp(pgx_rec_type(rec), "match_group") &&
			 !add_group(sl, rec, split ? &gv : (values_from_json(rec, &gv), &gv))) {
			sl->input_errors++;
			pgx_error("%s:%lu: match_group record without its count, key, example, max or values",
				  pgx_input_name(in), line.lineno);
		}
		json_decref(rec);
	}
	free(gv.v);
	if (got < 0)
		sl->unreadable = true;
	else if (pgx_input_errors(in))	/* only an over-long line, then */
		pgx_hint("a match_group record holds every duration of its shape; "
			 "--max-line-length raises the limit");
	sl->input_errors += pgx_input_errors(in);
	pgx_input_close(in);
}

/* ---- the summary ---- */

/* Nearest rank: the smallest duration with at least 95% of runs at or below it. */
static double p95(struct shape *q)
{
	return pgx_nearest_rank(q->durations.v, q->durations.n, 0.95);
}

/* Most total time first; then most runs; then the query text, so ties are stable. */
static int cmp_shape(const void *a, const void *b)
{
	const struct shape *x = *(struct shape *const *)a, *y = *(struct shape *const *)b;

	if (x->total_ms != y->total_ms)
		return x->total_ms > y->total_ms ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->query, y->query);
}

static int cmp_error(const void *a, const void *b)
{
	const struct error_row *x = a, *y = b;

	return x->count != y->count ? (x->count > y->count ? -1 : 1)
				    : strcmp(x->sqlstate ? x->sqlstate : "", y->sqlstate ? y->sqlstate : "");
}

static int cmp_table(const void *a, const void *b)
{
	const struct table_row *x = a, *y = b;

	return x->runs != y->runs ? (x->runs > y->runs ? -1 : 1) : strcmp(x->table, y->table);
}

static bool above_thresholds(const struct slow_opts *o, const struct shape *q)
{
	return q->total_ms / (double)q->count >= o->min_mean_ms && q->total_ms >= o->min_total_ms;
}

static void summarize(struct slowlog *sl)
{
	size_t n = 0;

	sl->ranked = pgx_xmalloc((sl->nshapes + 1) * sizeof(*sl->ranked));
	for (size_t i = 0; i < sl->cap; i++)
		if (sl->tab[i])
			sl->ranked[n++] = sl->tab[i];
	qsort(sl->ranked, n, sizeof(*sl->ranked), cmp_shape);
	for (size_t i = 0; i < n; i++)	/* in one order, whether lines or groups came in */
		sl->total_ms += sl->ranked[i]->total_ms;
	for (size_t i = 0; i < n; i++)	/* --min-mean-ms, --min-total-ms */
		if (above_thresholds(&sl->opts, sl->ranked[i]))
			sl->ranked[sl->nranked++] = sl->ranked[i];
	for (size_t i = 0; i < sl->nranked && (long)i < sl->opts.top; i++)
		sl->ranked[i]->p95_ms = p95(sl->ranked[i]);
	if (sl->errors.n)
		qsort(sl->errors.v, sl->errors.n, sizeof(*sl->errors.v), cmp_error);
	if (sl->av.tables.n)
		qsort(sl->av.tables.v, sl->av.tables.n, sizeof(*sl->av.tables.v), cmp_table);
}

static void slowlog_free(struct slowlog *sl)
{
	for (size_t i = 0; i < sl->cap; i++)
		if (sl->tab[i]) {
			free(sl->tab[i]->query);
			free(sl->tab[i]->example);
			free(sl->tab[i]->durations.v);
			free(sl->tab[i]);
		}
	for (size_t i = 0; i < sl->pending_cap; i++)
		free(sl->pending[i].statement);
	for (size_t i = 0; i < sl->errors.n; i++) {
		free(sl->errors.v[i].sqlstate);
		free(sl->errors.v[i].severity);
		free(sl->errors.v[i].example);
	}
	for (size_t i = 0; i < sl->av.tables.n; i++)
		free(sl->av.tables.v[i].table);
	free(sl->av.tables.v);
	free(sl->errors.v);
	free(sl->pending);
	free(sl->ranked);
	free(sl->tab);
	pgx_sql_cache_free(sl->shapes);
}

static int input_status(const struct slowlog *sl)
{
	if (pgx_stop_signal)
		return PGX_EXIT_INTERRUPTED;
	return sl->unreadable || sl->input_errors ? PGX_EXIT_INPUT : PGX_EXIT_OK;
}

int slowlog_main(int argc, char **argv)
{
	struct slowlog sl = { 0 };
	struct pgx_progress progress;
	int status;

	parse_options(argc, argv, &sl.opts);
	sl.shapes = pgx_sql_cache_new(65536);
	pgx_install_signals();
	if (!isatty(STDIN_FILENO))	/* as in main.c: the stages before us decide when to stop */
		signal(SIGINT, SIG_IGN);
	pgx_progress_start(&progress, sl.opts.progress);
	if (optind == argc)
		load_file(&sl, "-", &progress);
	for (int i = optind; i < argc && !pgx_stop_signal; i++)
		load_file(&sl, argv[i], &progress);
	pgx_progress_end(&progress);
	summarize(&sl);
	status = input_status(&sl);
	if (!pgx_stop_signal && !sl.matches && !sl.unreadable)
		pgx_warn("no slowlog match records in the input (pgx-report slowlog reads the output of "
			 "pgx-logmatch --rules slowlog)");
	if (status != PGX_EXIT_INTERRUPTED) {
		if (!pgx_output_to(sl.opts.output))
			status = PGX_EXIT_OUTPUT;
		else if (!slowlog_render(stdout, &sl))
			status = PGX_EXIT_OUTPUT;
	}
	slowlog_free(&sl);
	return status;
}
