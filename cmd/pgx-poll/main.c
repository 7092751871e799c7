/* pgx-poll - read-only health and inspection snapshots of a live cluster */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_pq.h"
#include "poll.h"
#include "explain.h"

static void usage(void)
{
	printf("%s takes read-only health snapshots of a PostgreSQL cluster.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]...\n"
	       "  %s --explain=SQL [--no-analyze] [OPTION]...\n"
	       "  %s --advice [OPTION]...\n\n"
	       "Writes one NDJSON record per section and a poll record about itself.\n\n"
	       "Options:\n"
	       "  -s, --sections=LIST        sections to collect, comma-separated (default all)\n"
	       "  -n, --top=N                list length before the \"other\" rollup (default 50)\n"
	       "      --cluster=NAME         cluster label on every record\n"
	       "                             (default $PGX_CLUSTER, else HOST:PORT)\n"
	       "      --with-sql             write a sql record with each section's query\n"
	       "      --once                 one snapshot, then exit (the default)\n"
	       "      --explain=SQL          EXPLAIN (ANALYZE, BUFFERS) one SELECT in a read-only\n"
	       "                             transaction that is rolled back; a plan record\n"
	       "      --explain-file=FILE    the same with the statement read from FILE\n"
	       "      --no-analyze           with --explain: plan only, execute nothing\n"
	       "      --advice               index advice for this database: index_advice records\n"
	       "      --min-rows=N           --advice: seq-scan advice from N live rows (default\n"
	       "                             and minimum 10000)\n"
	       "      --indexes-from=FILE    --advice: read the indexes record from FILE\n"
	       "  -V, --version              output version information, then exit\n"
	       "  -h, --help                 show this help, then exit\n\n"
	       "Connection options:\n"
	       "  -d, --dbname=CONNSTR       conninfo string or URI (default: PG* variables)\n"
	       "      --statement-timeout=MS per-query limit (default 3000)\n"
	       "      --lock-timeout=MS      lock wait limit (default 1000)\n\n"
	       "Exit status: 0 snapshot written (sections may be degraded), 2 usage,\n"
	       "4 cannot connect, 6 write error.\n",
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname());
}

enum { OPT_CLUSTER = 256, OPT_WITH_SQL, OPT_ONCE, OPT_STATEMENT_TIMEOUT, OPT_LOCK_TIMEOUT };
/* explain.h's query modes */
enum { OPT_EXPLAIN = 512, OPT_EXPLAIN_FILE, OPT_NO_ANALYZE, OPT_ADVICE, OPT_MIN_ROWS,
       OPT_INDEXES_FROM };

static bool parse_query_option(int c, struct query_opts *q)
{
	switch (c) {
	case OPT_EXPLAIN: q->explain_sql = optarg; return true;
	case OPT_EXPLAIN_FILE: q->explain_file = optarg; return true;
	case OPT_NO_ANALYZE: q->no_analyze = true; return true;
	case OPT_ADVICE: q->advice = true; return true;
	case OPT_MIN_ROWS:
		if (!pgx_parse_long(optarg, "--min-rows", ADVICE_MIN_ROWS, 1L << 50, &q->min_rows))
			pgx_usage_error(NULL);
		return true;
	case OPT_INDEXES_FROM: q->indexes_from = optarg; return true;
	default: return false;
	}
}

static void check_query_options(const struct query_opts *q)
{
	if (q->explain_sql && q->explain_file)
		pgx_usage_error("--explain and --explain-file exclude each other");
	if ((q->explain_sql || q->explain_file) && q->advice)
		pgx_usage_error("--explain and --advice exclude each other");
	if (q->no_analyze && !q->explain_sql && !q->explain_file)
		pgx_usage_error("--no-analyze applies to --explain only");
	if ((q->min_rows || q->indexes_from) && !q->advice)
		pgx_usage_error("--min-rows and --indexes-from apply to --advice only");
	if (q->explain_sql && !*q->explain_sql)
		pgx_usage_error("--explain needs a statement");
}

static void select_sections(struct poll_opts *o, const char *list)
{
	char *copy = pgx_xstrdup(list), *save = NULL;
	size_t i;

	o->section_mask = 0;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!section_find(name, &i)) {
			free(copy);
			pgx_usage_error("unknown section \"%s\"", name);
		}
		o->section_mask |= 1UL << i;
	}
	free(copy);
	if (!o->section_mask)
		pgx_usage_error("--sections needs at least one section");
}

static void parse_options(int argc, char **argv, struct poll_opts *o, struct query_opts *q)
{
	static const struct option longopts[] = {
		{ "sections", required_argument, NULL, 's' },
		{ "top", required_argument, NULL, 'n' },
		{ "cluster", required_argument, NULL, OPT_CLUSTER },
		{ "with-sql", no_argument, NULL, OPT_WITH_SQL },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "dbname", required_argument, NULL, 'd' },
		{ "statement-timeout", required_argument, NULL, OPT_STATEMENT_TIMEOUT },
		{ "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
		{ "explain", required_argument, NULL, OPT_EXPLAIN },
		{ "explain-file", required_argument, NULL, OPT_EXPLAIN_FILE },
		{ "no-analyze", no_argument, NULL, OPT_NO_ANALYZE },
		{ "advice", no_argument, NULL, OPT_ADVICE },
		{ "min-rows", required_argument, NULL, OPT_MIN_ROWS },
		{ "indexes-from", required_argument, NULL, OPT_INDEXES_FROM },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->top_n = 50;
	o->statement_timeout_ms = 3000;
	o->lock_timeout_ms = 1000;
	o->cluster = getenv("PGX_CLUSTER");
	o->section_mask = (1UL << poll_n_sections) - 1;
	while ((c = getopt_long(argc, argv, "s:n:d:Vh", longopts, NULL)) != -1) {
		if (parse_query_option(c, q))
			continue;
		switch (c) {
		case 's': select_sections(o, optarg); break;
		case 'n':
			if (!pgx_parse_long(optarg, "--top", 1, 100000, &o->top_n))
				pgx_usage_error(NULL);
			break;
		case OPT_CLUSTER: o->cluster = optarg; break;
		case OPT_WITH_SQL: o->with_sql = true; break;
		case OPT_ONCE: break;
		case 'd': o->dsn = optarg; break;
		case OPT_STATEMENT_TIMEOUT:
			if (!pgx_parse_long(optarg, "--statement-timeout", 1, 3600000,
					    &o->statement_timeout_ms))
				pgx_usage_error(NULL);
			break;
		case OPT_LOCK_TIMEOUT:
			if (!pgx_parse_long(optarg, "--lock-timeout", 1, 3600000, &o->lock_timeout_ms))
				pgx_usage_error(NULL);
			break;
		case 'V': pgx_print_version(); exit(PGX_EXIT_OK);
		case 'h': usage(); exit(PGX_EXIT_OK);
		default: pgx_usage_error(NULL);
		}
	}
	if (optind < argc)
		pgx_usage_error("unexpected argument \"%s\"", argv[optind]);
	check_query_options(q);
}

static char *cluster_label(const struct poll_opts *o, PGconn *conn)
{
	const char *host = PQhost(conn), *port = PQport(conn);
	size_t n;
	char *label;

	if (o->cluster && *o->cluster)
		return pgx_xstrdup(o->cluster);
	n = strlen(host) + strlen(port) + 2;
	label = pgx_xmalloc(n);
	snprintf(label, n, "%s:%s", host, port);
	return label;
}

static const char *section_status(const struct section_run *run)
{
	if (run->failed)
		return "error";
	return run->missing ? "degraded" : "ok";
}

static void set_status(struct section_run *run, json_t *rec)
{
	json_object_set_new(rec, "status", json_string(section_status(run)));
	if (run->missing)
		json_object_set(rec, "missing", run->missing);
}

/* Collect one section into its record and write it; false on a write error. */
static bool poll_section(const struct section *s, struct poll_conn *pc,
			 const struct poll_opts *o, const char *cluster, bool *degraded)
{
	struct section_run run = { .pc = pc, .opts = o, .sql = s->sql };
	char *built = NULL;
	const char *why = NULL;
	bool ok = true;
	size_t i;
	json_t *r;

	run.rec = pgx_record_new(s->name, pgx_now());
	json_object_set_new(run.rec, "cluster", json_string(cluster));
	if (s->per_database)
		json_object_set_new(run.rec, "db", json_string(pc->dbname));
	if (s->build_sql) {
		built = s->build_sql(&pc->srv, &why);
		run.sql = built;
	}
	if (run.sql)
		s->collect(&run);
	else
		section_missing(&run, s->name, "%s", why ? why : "not available on this server");
	if (run.records) {
		json_array_foreach(run.records, i, r) {
			set_status(&run, r);
			ok = ok && pgx_emit(json_incref(r));
		}
		json_decref(run.records);
		json_decref(run.rec);
	} else {
		set_status(&run, run.rec);
		ok = pgx_emit(run.rec);
	}
	*degraded = run.missing != NULL;
	json_decref(run.missing);
	free(built);
	return ok;
}

static bool emit_sql(const struct section *s)
{
	json_t *rec = pgx_record_new("sql", pgx_now());

	json_object_set_new(rec, "section", json_string(s->name));
	json_object_set_new(rec, "text", json_string(s->sql));
	return pgx_emit(rec);
}

static bool poll_once(struct poll_conn *pc, const struct poll_opts *o, const char *cluster)
{
	double start = pgx_now();
	json_t *done = json_array(), *degraded = json_array();
	json_t *rec;
	bool ok = true, d = false;

	for (size_t i = 0; ok && i < poll_n_sections && !pgx_stop_signal; i++) {
		const struct section *s = &poll_sections[i];

		if (!(o->section_mask & (1UL << i)))
			continue;
		if (o->with_sql && s->sql)
			ok = emit_sql(s);
		ok = ok && poll_section(s, pc, o, cluster, &d);
		json_array_append_new(done, json_string(s->name));
		if (d)
			json_array_append_new(degraded, json_string(s->name));
	}
	rec = pgx_record_new("poll", start);
	json_object_set_new(rec, "cluster", json_string(cluster));
	json_object_set_new(rec, "loop", json_string("once"));
	json_object_set_new(rec, "duration_s", json_real(pgx_round_us(pgx_now() - start)));
	json_object_set_new(rec, "success", json_boolean(json_array_size(degraded) == 0));
	json_object_set_new(rec, "sections", done);
	json_object_set_new(rec, "sections_degraded", degraded);
	return pgx_emit(rec) && ok;
}

int main(int argc, char **argv)
{
	struct poll_opts opts = { 0 };
	struct query_opts query = { 0 };
	struct pgx_pq_options pq = { 0 };
	struct poll_conn pc = { 0 };
	char *cluster;
	int status = PGX_EXIT_OK;

	pgx_init(argv[0]);
	parse_options(argc, argv, &opts, &query);
	pgx_install_signals();
	pq.dsn = opts.dsn;
	pq.connect_timeout_s = 10;
	pq.statement_timeout_ms = (int)opts.statement_timeout_ms;
	pq.lock_timeout_ms = (int)opts.lock_timeout_ms;
	pq.read_only = true;
	pc.conn = pgx_pq_connect(&pq);
	if (!pc.conn)
		return pgx_finish(PGX_EXIT_CONNECT);
	pc.dbname = pgx_xstrdup(PQdb(pc.conn));
	cluster = cluster_label(&opts, pc.conn);
	if (!server_probe(&pc))
		status = PGX_EXIT_CONNECT;
	else if (query.explain_sql || query.explain_file)
		status = explain_run(&pc, &opts, &query, cluster);
	else if (query.advice)
		status = advice_run(&pc, &opts, &query, cluster);
	else if (!poll_once(&pc, &opts, cluster))
		status = PGX_EXIT_OUTPUT;
	if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	server_info_clear(&pc.srv);
	pgx_pq_finish(pc.conn);
	free(pc.dbname);
	free(cluster);
	return pgx_finish(status);
}
