/* pgx-tune - recommended PostgreSQL settings for a machine and a workload */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "tune.h"

#define DEFAULT_PG_VERSION 15

struct options {
	struct machine_opts mo;
	enum profile profile;
	enum format format;
	bool all, assume_local;
	const char *dsn;
};

static void usage(void)
{
	printf("%s recommends PostgreSQL settings for a machine and a workload.\n\n"
	       "Usage:\n"
	       "  %s [OPTION]... [FILE]...\n\n"
	       "Detects this host's memory (environment override, cgroup limit, /proc/meminfo)\n"
	       "and CPUs (cgroup quota, cpuset, affinity), or takes them as options, and writes\n"
	       "a machine record and one recommendation record per setting.  A settings record\n"
	       "(from pgx-poll) in FILEs or on standard input, or --dbname, gives the current\n"
	       "values: settings already within 10%% are left out.  Other records pass through.\n"
	       "A remote server's settings need --memory and --cpus (or --assume-local).\n\n"
	       "Options:\n"
	       "  -p, --profile=NAME        web, oltp, dw, desktop, mixed (pgtune), auto (aza-pg\n"
	       "                            entrypoint) or conservative (default mixed)\n"
	       "  -m, --memory=SIZE         memory for PostgreSQL, e.g. 16GB (a bare number is MB)\n"
	       "  -c, --cpus=N              CPUs for PostgreSQL\n"
	       "  -s, --storage=TYPE        ssd, hdd, san or nvme (default ssd)\n"
	       "      --db-size=SIZE        the database compared with RAM: smaller, similar or\n"
	       "                            larger (default similar)\n"
	       "      --pg-version=N        PostgreSQL major version, 12 to 18 (default: the\n"
	       "                            server's, else %d)\n"
	       "      --max-connections=N   connections to plan for, 20 to 262143 (default: the\n"
	       "                            server's, else the profile's)\n"
	       "  -f, --format=FORMAT       records, conf, flags, sql or table (default records)\n"
	       "  -a, --all                 also list settings already within tolerance\n"
	       "      --root=DIR            read /proc and /sys/fs/cgroup under DIR\n"
	       "      --assume-local        the server runs on this host: use its memory and CPUs\n"
	       "                            even for a remote server's settings\n"
	       "  -V, --version             output version information, then exit\n"
	       "  -h, --help                show this help, then exit\n\n"
	       "Connection options:\n"
	       "  -d, --dbname=CONNSTR      read current settings from this server (read-only)\n\n"
	       "Environment: PGX_MEMORY, POSTGRES_MEMORY override the detected memory;\n"
	       "PGX_TUNE_ROOT is the default of --root; PG* variables for --dbname.\n\n"
	       "Exit status: 0 ok, 2 usage, 3 bad input or machine facts unreadable,\n"
	       "4 cannot connect, 6 write error, 8 internal error.\n",
	       pgx_progname(), pgx_progname(), DEFAULT_PG_VERSION);
}

enum { OPT_PG_VERSION = 256, OPT_MAX_CONNECTIONS, OPT_ROOT, OPT_DB_SIZE, OPT_ASSUME_LOCAL };

static int parse_storage(const char *arg)
{
	static const char *const names[] = { "ssd", "hdd", "san", "nvme" };

	for (int i = 0; i < 4; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	pgx_usage_error("invalid storage \"%s\" (use ssd, hdd, san or nvme)", arg);
}

static void parse_option(int c, struct options *o)
{
	long v;

	switch (c) {
	case 'p':
		if (!profile_parse(optarg, &o->profile))
			pgx_usage_error("unknown profile \"%s\" (use web, oltp, dw, desktop, mixed, "
					"auto or conservative)", optarg);
		break;
	case 'm':
		if (!parse_memory(optarg, &o->mo.memory_kb))
			pgx_usage_error("invalid memory size \"%s\" for --memory (use e.g. 16GB or 512MB)", optarg);
		if (o->mo.memory_kb < 8 * KB_PER_MB)
			pgx_usage_error("--memory must be at least 8MB");
		break;
	case 'c':
		if (!pgx_parse_long(optarg, "--cpus", 1, 4096, &o->mo.cpus))
			pgx_usage_error(NULL);
		break;
	case 's': o->mo.storage = parse_storage(optarg); break;
	case OPT_DB_SIZE: {
		enum db_size d;

		if (!db_size_parse(optarg, &d))
			pgx_usage_error("invalid database size \"%s\" (use smaller, similar or larger)", optarg);
		o->mo.db_size = (int)d;
		break;
	}
	case OPT_ASSUME_LOCAL: o->assume_local = true; break;
	case OPT_PG_VERSION:
		if (!pgx_parse_long(optarg, "--pg-version", PGX_PG_MIN_MAJOR, PGX_PG_MAX_MAJOR, &v))
			pgx_usage_error(NULL);
		o->mo.pg_version = (int)v;
		break;
	case OPT_MAX_CONNECTIONS:
		if (!pgx_parse_long(optarg, "--max-connections", 20, 262143, &o->mo.max_connections))
			pgx_usage_error(NULL);
		break;
	case 'f':
		if (!format_parse(optarg, &o->format))
			pgx_usage_error("unknown format \"%s\" (use records, conf, flags, sql or table)", optarg);
		break;
	case 'a': o->all = true; break;
	case OPT_ROOT: o->mo.root = optarg; break;
	case 'd': free((char *)o->dsn), o->dsn = pgx_mask_take_arg(optarg); break;
	case 'V': pgx_exit_version();
	case 'h': pgx_exit_help(usage);
	default: pgx_usage_error(NULL);
	}
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "memory", required_argument, NULL, 'm' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "storage", required_argument, NULL, 's' },
		{ "db-size", required_argument, NULL, OPT_DB_SIZE },
		{ "assume-local", no_argument, NULL, OPT_ASSUME_LOCAL },
		{ "pg-version", required_argument, NULL, OPT_PG_VERSION },
		{ "max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS },
		{ "format", required_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "dbname", required_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->profile = PROF_MIXED;
	o->mo.storage = -1;
	o->mo.db_size = -1;
	o->mo.root = getenv("PGX_TUNE_ROOT");
	if (o->mo.root && !*o->mo.root)
		o->mo.root = NULL;
	while ((c = getopt_long(argc, argv, "p:m:c:s:f:ad:Vh", longopts, NULL)) != -1)
		parse_option(c, o);
	if (o->mo.root && access(o->mo.root, F_OK) != 0)
		pgx_usage_error("no directory \"%s\" for --root", o->mo.root);
}

/* Standard input is read when it is a pipe or a file, never a terminal. */
static bool stdin_has_input(void)
{
	struct stat st;

	return fstat(STDIN_FILENO, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode));
}

struct reading {
	struct settings *settings;
	bool take_settings, pass;
	unsigned long errors, settings_seen;
};

static bool read_input(struct reading *rd, const char *path)
{
	struct pgx_input *in = pgx_input_open(path, 0);
	struct pgx_line line;
	char err[256];
	json_t *rec;
	bool ok = true;

	if (!in) {
		rd->errors++;
		return true;
	}
	while (ok && !pgx_stop_signal && pgx_ndjson_next(in, &line, &rec) == 1) {
		const char *type = pgx_rec_type(rec);

		if (rd->take_settings && type && strcmp(type, "settings") == 0) {
			if (!settings_from_record(rd->settings, rec, err, sizeof(err))) {
				pgx_error("%s:%lu: %s", pgx_input_name(in), line.lineno, err);
				rd->errors++;
			} else if (rd->settings_seen++)
				pgx_warn("%s:%lu: another settings record; the last one is used",
					 pgx_input_name(in), line.lineno);
		} else if (rd->pass)
			ok = pgx_emit_raw(line.text, line.len);
		json_decref(rec);
	}
	rd->errors += pgx_input_errors(in);
	pgx_input_close(in);
	return ok;
}

/* Version and connection count: the option, else the server's, else a default. */
static void resolve_facts(struct machine *m, const struct options *o, const struct settings *s)
{
	struct current c;

	if (o->mo.pg_version)
		m->pg_version = o->mo.pg_version, m->pg_version_source = "option";
	else if (s->version_num >= 100000)
		m->pg_version = s->version_num / 10000, m->pg_version_source = s->origin;
	else
		m->pg_version = DEFAULT_PG_VERSION, m->pg_version_source = "default";
	if (o->mo.max_connections)
		m->max_connections = o->mo.max_connections, m->max_connections_source = "option";
	else if (settings_lookup(s, "max_connections", &c) && c.setting && atol(c.setting) > 0)
		m->max_connections = atol(c.setting), m->max_connections_source = s->origin;
	else
		m->max_connections = profile_connections(o->profile, m->memory_kb),
		m->max_connections_source = "profile";
}

/* This host's memory and CPUs say nothing about a server elsewhere. */
static bool machine_given(const struct options *o, const struct settings *s)
{
	if (!s->remote || o->assume_local || (o->mo.memory_kb && o->mo.cpus))
		return true;
	pgx_error("the settings are from %s, not this host: its memory and CPUs are unknown",
		  s->remote);
	pgx_hint("give --memory and --cpus, or --assume-local if the server runs here");
	return false;
}

static void warn_memory(const struct machine *m, enum profile p)
{
	char ram[32];

	format_mem_human(m->memory_kb, ram, sizeof(ram));
	if (p == PROF_AUTO && m->memory_kb < 512 * KB_PER_MB)
		pgx_warn("%s of memory is below the 512MB the aza-pg auto-configuration requires", ram);
	else if (m->memory_kb < 256 * KB_PER_MB)
		pgx_warn("%s of memory is below the 256MB pgtune's formulas are made for", ram);
	else if (m->memory_kb > 100 * KB_PER_GB && p != PROF_AUTO)
		pgx_warn("%s of memory is above the 100GB pgtune's formulas are made for", ram);
}

/* The server's settings: a version pgx-poll would refuse is refused here too. */
static bool version_supported(const struct settings *s)
{
	int major = s->version_num / 10000;
	bool server = s->origin && !strcmp(s->origin, "server");

	if (!s->version_num || (major >= PGX_PG_MIN_MAJOR && major <= PGX_PG_MAX_MAJOR))
		return true;
	pgx_error("PostgreSQL %d (server_version_num %d, from the %s) is not supported: pgx reads %d to %d",
		  major, s->version_num, server ? "server" : "settings record", PGX_PG_MIN_MAJOR, PGX_PG_MAX_MAJOR);
	return false;
}

static int run(const struct options *o, int nfiles, char **files)
{
	struct settings s = { 0 };
	struct machine m = { 0 };
	struct recs r = { 0 };
	struct reading rd = { .settings = &s, .take_settings = !o->dsn,
			      .pass = o->format == FMT_RECORDS };
	bool ok = true;
	int status = PGX_EXIT_OK;

	if (o->dsn && !settings_from_server(&s, o->dsn, &status))
		return status;
	if (nfiles == 0 && stdin_has_input())
		ok = read_input(&rd, "-");
	for (int i = 0; ok && i < nfiles; i++)
		ok = read_input(&rd, files[i]);
	if (!ok || pgx_stop_signal) {
		settings_free(&s);
		return ok ? PGX_EXIT_INTERRUPTED : PGX_EXIT_OUTPUT;
	}
	if (!version_supported(&s)) {
		status = !strcmp(s.origin, "server") ? PGX_EXIT_CONNECT : PGX_EXIT_INPUT;
		goto out;
	}
	if (!machine_given(o, &s)) {
		status = PGX_EXIT_USAGE;
		goto out;
	}
	if (!machine_detect(&m, &o->mo)) {
		status = PGX_EXIT_INPUT;
		goto out;
	}
	resolve_facts(&m, o, &s);
	warn_memory(&m, o->profile);
	recommend(&m, o->profile, o->mo.max_connections > 0, &r);
	recs_resolve(&r, &s, o->profile);
	if (!output_recs(&r, &m, o->profile, o->format, o->all))
		status = PGX_EXIT_OUTPUT;
	else if (rd.errors)
		status = PGX_EXIT_INPUT;
out:
	recs_free(&r);
	machine_free(&m);
	settings_free(&s);
	return status;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	int status;

	pgx_init(argv[0]);
	parse_options(argc, argv, &opts);
	pgx_install_signals();
	status = run(&opts, argc - optind, argv + optind);
	free((char *)opts.dsn);
	return pgx_finish(status);
}
