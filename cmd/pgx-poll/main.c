/* pgx-poll - read-only health and inspection snapshots of a live cluster */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "pgx_pq.h"
#include "poll.h"
#include "explain.h"

static void usage(void)
{
	printf("%s takes read-only health snapshots of a PostgreSQL cluster.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]...\n"
	       "  %s --explain=SQL [--no-analyze] [OPTION]...\n"
	       "  %s --advice [OPTION]...\n"
	       "  %s --print-sql [--server-version=N] [--pgss-version=V] [-s LIST]\n\n"
	       "Writes one NDJSON record per section and a poll record about itself.\n\n"
	       "Options:\n"
	       "  -s, --sections=LIST        sections to collect, comma-separated (default all)\n"
	       "  -n, --top=N                list length before the \"other\" rollup (default 50)\n"
	       "      --cluster=NAME         cluster label on every record\n"
	       "                             (default $PGX_CLUSTER, else HOST:PORT)\n"
	       "      --with-sql             write a sql record with each section's query\n"
	       "      --once                 one snapshot, then exit (the default)\n"
	       "      --interval=DURATION    a snapshot every DURATION until SIGTERM\n"
	       "      --schedule             the four loops: hot 15s, workload 60s, storage 10m,\n"
	       "                             hourly 1h, each with its time budget\n"
	       "      --delta=DURATION       two samples DURATION apart: *_per_s rates\n"
	       "      --all-databases        per-database sections in every connectable database\n"
	       "  -j, --jobs=NUM             run each pass on NUM sessions at once, its queries\n"
	       "                             shared out by cost (default 1, at most %d)\n"
	       "      --progress             show databases done of all, or the time left of\n"
	       "                             --delta, on stderr (default: when stderr is a\n"
	       "                             terminal)\n"
	       "      --no-progress          never show progress\n"
	       "      --pgbouncer=CONNINFO   PgBouncer admin console for the pgbouncer section\n"
	       "      --long-xact=DURATION   activity lists transactions older than this (default 60s)\n"
	       "      --query-length=N       statement texts cut to N characters (default 1000)\n"
	       "      --include-self         pgx's own statements in the statements Top-N\n"
	       "                             (by default summed apart as pgx_self)\n"
	       "      --allow-privileged     run as a superuser or a role that can write (warns)\n"
	       "      --print-sql            write each section's sql record, connect to nothing\n"
	       "      --server-version=N     --print-sql: as for server_version_num N, 120000 to\n"
	       "                             189999 (default 150000)\n"
	       "      --pgss-version=V       --print-sql: pg_stat_statements version, or \"none\"\n"
	       "                             (default: the one the server version ships)\n"
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
	       "Exit status: 0 snapshot written (sections may be degraded), 2 usage\n"
	       "(--explain: statement refused), 3 unreadable --explain-file or --indexes-from,\n"
	       "4 cannot connect or connection lost, 5 role refused, 6 write error,\n"
	       "7 the explained statement failed,\n"
	       "130 interrupted (SIGTERM ends --interval and --schedule with 0).\n",
	       pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(), pgx_progname(),
	       POLL_MAX_JOBS);
}

enum { OPT_CLUSTER = 256, OPT_WITH_SQL, OPT_ONCE, OPT_STATEMENT_TIMEOUT, OPT_LOCK_TIMEOUT,
       OPT_INTERVAL, OPT_SCHEDULE, OPT_DELTA, OPT_ALL_DATABASES, OPT_PGBOUNCER, OPT_LONG_XACT,
       OPT_QUERY_LENGTH, OPT_ALLOW_PRIVILEGED, OPT_PRINT_SQL, OPT_SERVER_VERSION,
       OPT_PGSS_VERSION, OPT_INCLUDE_SELF };
/* explain.h's query modes */
enum { OPT_PROGRESS = 768, OPT_NO_PROGRESS };
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
	pgx_check_exclusive(2, q->explain_sql != NULL, "--explain", q->explain_file != NULL, "--explain-file");
	pgx_check_exclusive(2, q->explain_sql || q->explain_file, "--explain", q->advice, "--advice");
	if (q->no_analyze && !q->explain_sql && !q->explain_file)
		pgx_usage_error("--no-analyze applies to --explain only");
	if ((q->min_rows || q->indexes_from) && !q->advice)
		pgx_usage_error("--min-rows and --indexes-from apply to --advice only");
	if (q->explain_sql && !*q->explain_sql)
		pgx_usage_error("--explain needs a statement");
}

/* Every section but pgbouncer, which needs --pgbouncer. */
static unsigned long default_sections(void)
{
	unsigned long mask = 0;

	for (size_t i = 0; i < poll_n_sections; i++)
		if (!poll_sections[i].needs_pgbouncer)
			mask |= 1UL << i;
	return mask;
}

static void parse_duration(const char *arg, const char *name, double min, double *out)
{
	if (!pgx_parse_seconds(arg, name, out))
		pgx_usage_error(NULL);
	if (*out < min)
		pgx_usage_error("%s must be at least %g s", name, min);
}

static void check_mode_options(struct poll_opts *o)
{
	pgx_check_exclusive(4, o->interval_s > 0, "--interval", o->schedule, "--schedule",
			    o->delta_s > 0, "--delta", o->print_sql, "--print-sql");
	if (o->pgbouncer && !o->sections_given) {
		size_t i;

		if (section_find("pgbouncer", &i))
			o->section_mask |= 1UL << i;
	}
	for (size_t i = 0; i < poll_n_sections; i++)
		if ((o->section_mask & (1UL << i)) && poll_sections[i].needs_pgbouncer &&
		    !o->pgbouncer && !o->print_sql)
			pgx_usage_error("section \"%s\" needs --pgbouncer", poll_sections[i].name);
}

static void select_sections(struct poll_opts *o, const char *list)
{
	char *copy = pgx_xstrdup(list), *save = NULL;
	size_t i;

	o->section_mask = 0;
	o->sections_given = true;
	for (char *name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (!section_find(name, &i))
			pgx_usage_error("unknown section \"%s\"", name);	/* exits */
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
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "schedule", no_argument, NULL, OPT_SCHEDULE },
		{ "delta", required_argument, NULL, OPT_DELTA },
		{ "all-databases", no_argument, NULL, OPT_ALL_DATABASES },
		{ "jobs", required_argument, NULL, 'j' },
		{ "progress", no_argument, NULL, OPT_PROGRESS },
		{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
		{ "pgbouncer", required_argument, NULL, OPT_PGBOUNCER },
		{ "long-xact", required_argument, NULL, OPT_LONG_XACT },
		{ "query-length", required_argument, NULL, OPT_QUERY_LENGTH },
		{ "allow-privileged", no_argument, NULL, OPT_ALLOW_PRIVILEGED },
		{ "include-self", no_argument, NULL, OPT_INCLUDE_SELF },
		{ "print-sql", no_argument, NULL, OPT_PRINT_SQL },
		{ "server-version", required_argument, NULL, OPT_SERVER_VERSION },
		{ "pgss-version", required_argument, NULL, OPT_PGSS_VERSION },
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
	o->query_length = 1000;
	o->long_xact_s = 60;
	o->server_version = 150000;
	o->section_mask = default_sections();
	o->jobs = 1;
	while ((c = getopt_long(argc, argv, "s:n:d:j:Vh", longopts, NULL)) != -1) {
		if (parse_query_option(c, q))
			continue;
		switch (c) {
		case 's': select_sections(o, optarg); break;
		case 'n':
			if (!pgx_parse_long(optarg, "--top", 1, 100000, &o->top_n))
				pgx_usage_error(NULL);
			break;
		case 'j':
			if (!pgx_parse_long(optarg, "--jobs", 1, POLL_MAX_JOBS, &o->jobs))
				pgx_usage_error(NULL);
			break;
		case OPT_CLUSTER: o->cluster = optarg; break;
		case OPT_WITH_SQL: o->with_sql = true; break;
		case OPT_ONCE: break;
		case OPT_INTERVAL: parse_duration(optarg, "--interval", 0.1, &o->interval_s); break;
		case OPT_DELTA: parse_duration(optarg, "--delta", 0.1, &o->delta_s); break;
		case OPT_LONG_XACT: parse_duration(optarg, "--long-xact", 0, &o->long_xact_s); break;
		case OPT_SCHEDULE: o->schedule = true; break;
		case OPT_ALL_DATABASES: o->all_databases = true; break;
		case OPT_PGBOUNCER: free((char *)o->pgbouncer), o->pgbouncer = pgx_mask_take_arg(optarg); break;
		case OPT_PROGRESS: o->progress = PGX_PROGRESS_ON; break;
		case OPT_NO_PROGRESS: o->progress = PGX_PROGRESS_OFF; break;
		case OPT_ALLOW_PRIVILEGED: o->allow_privileged = true; break;
		case OPT_INCLUDE_SELF: o->include_self = true; break;
		case OPT_PRINT_SQL: o->print_sql = true; break;
		case OPT_PGSS_VERSION: o->pgss_version = optarg; break;
		case OPT_QUERY_LENGTH:
			if (!pgx_parse_long(optarg, "--query-length", 1, 1000000, &o->query_length))
				pgx_usage_error(NULL);
			break;
		case OPT_SERVER_VERSION:
			if (!pgx_parse_long(optarg, "--server-version", PGX_PG_MIN_MAJOR * 10000,
					    PGX_PG_MAX_MAJOR * 10000 + 9999, &o->server_version))
				pgx_usage_error(NULL);
			break;
		case 'd': free((char *)o->dsn), o->dsn = pgx_mask_take_arg(optarg); break;
		case OPT_STATEMENT_TIMEOUT:
			if (!pgx_parse_long(optarg, "--statement-timeout", 1, 3600000,
					    &o->statement_timeout_ms))
				pgx_usage_error(NULL);
			break;
		case OPT_LOCK_TIMEOUT:
			if (!pgx_parse_long(optarg, "--lock-timeout", 1, 3600000, &o->lock_timeout_ms))
				pgx_usage_error(NULL);
			break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: pgx_usage_error(NULL);
		}
	}
	if (optind < argc)
		pgx_usage_error("unexpected argument \"%s\"", argv[optind]);
	check_query_options(q);
	check_mode_options(o);
	if (o->jobs > 1 && (o->print_sql || q->explain_sql || q->explain_file || q->advice))
		pgx_usage_error("--jobs applies to snapshots, not to --print-sql, --explain or --advice");
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

int main(int argc, char **argv)
{
	struct poll_opts opts = { 0 };
	struct query_opts query = { 0 };
	struct poll_conn pc = { 0 };
	char *cluster;
	int status = PGX_EXIT_OK;

	pgx_init(argv[0]);
	parse_options(argc, argv, &opts, &query);
	pgx_install_signals();
	if (opts.print_sql) {
		status = print_sql_run(&opts);
		goto cleanup;
	}
	if (!poll_connect(&pc, &opts, NULL, &status))
		goto cleanup;
	cluster = cluster_label(&opts, pc.conn);
	if (query.explain_sql || query.explain_file)
		status = explain_run(&pc, &opts, &query, cluster);
	else if (query.advice)
		status = advice_run(&pc, &opts, &query, cluster);
	else
		status = poll_run(&pc, &opts, cluster);
	if (pgx_stop_signal == SIGINT)
		status = PGX_EXIT_INTERRUPTED;
	poll_disconnect(&pc);
	free(cluster);
cleanup:
	free((char *)opts.dsn);
	free((char *)opts.pgbouncer);
	return pgx_finish(status);
}
