/* pgx-trace - exec, open, fork and exit of a process tree or cgroup, via eBPF */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx_trace.h"
#include "trace.h"

#define POLL_MS 50
#define HOLD_SECONDS 0.05	/* how long a record may wait for an earlier one */
#define LOST_CHECK_SECONDS 0.1
#define STOP_GRACE_SECONDS 2.0	/* CMD's time to exit after a forwarded signal */

struct options {
	unsigned long long buffer_size;
	const char *cgroup, *comm;
	long pid;
	double duration;
	bool no_open;
	char **globs;
	size_t nglobs;
	char **cmd;
};

struct run {
	const struct options *opts;
	struct trace_clock clock;
	struct record_opts rec_opts;
	struct merge *merge;
	struct titles *titles;
	struct tracer *tracer;
	struct subject *subject;
	struct lines *lines;
	bool lines_done;
	unsigned long long lost_seen;
	double lost_checked;
};

static void usage(void)
{
	printf("%s traces program executions, file opens, forks and exits with eBPF.\n\n",
	       pgx_progname());
	printf("Usage:\n");
	printf("  %s [OPTION]... -- COMMAND [ARG]...\n", pgx_progname());
	printf("  %s [OPTION]... --cgroup=PATH | --pid=PID\n", pgx_progname());
	printf("\nOptions:\n");
	printf("  -b, --buffer-size=SIZE   ring buffer size, K/M/G suffix (default 8M)\n");
	printf("  -c, --cgroup=PATH        trace a cgroup v2 directory and its descendants\n");
	printf("  -p, --pid=PID            trace a process and its descendants\n");
	printf("      --comm=NAME          only records of processes named NAME\n");
	printf("      --filter-open=GLOB   only opens whose path matches GLOB (repeatable)\n");
	printf("      --no-open            do not trace opens\n");
	printf("  -d, --duration=SECONDS   stop after SECONDS (with --cgroup or --pid)\n");
	printf("  -V, --version            output version information, then exit\n");
	printf("  -h, -?, --help           show this help, then exit\n");
	printf("\nRecords (exec, open, fork, title, exit, lost, log) go to stdout as NDJSON.\n");
	printf("See pgx-trace(1) and pgx-events(7).\n");
}

enum { OPT_COMM = 256, OPT_FILTER_OPEN, OPT_NO_OPEN };

static const struct option long_options[] = {
	{ "buffer-size", required_argument, NULL, 'b' },
	{ "cgroup", required_argument, NULL, 'c' },
	{ "pid", required_argument, NULL, 'p' },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "filter-open", required_argument, NULL, OPT_FILTER_OPEN },
	{ "no-open", no_argument, NULL, OPT_NO_OPEN },
	{ "duration", required_argument, NULL, 'd' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void add_glob(struct options *o, const char *glob)
{
	o->globs = pgx_xrealloc(o->globs, (o->nglobs + 2) * sizeof(*o->globs));
	o->globs[o->nglobs++] = (char *)glob;
	o->globs[o->nglobs] = NULL;
}

static void parse_one(struct options *o, int c)
{
	bool ok = true;

	switch (c) {
	case 'b':
		ok = pgx_parse_size(optarg, "--buffer-size", &o->buffer_size);
		if (ok && (o->buffer_size == 0 || o->buffer_size > (1ULL << 30)))
			pgx_usage_error("--buffer-size must be between 1 and 1G");
		break;
	case 'c': o->cgroup = optarg; break;
	case 'p': ok = pgx_parse_long(optarg, "--pid", 1, 4194304, &o->pid); break;
	case 'd':
		ok = pgx_parse_seconds(optarg, "--duration", &o->duration);
		if (ok && o->duration <= 0)
			pgx_usage_error("--duration must be greater than 0");
		break;
	case OPT_COMM:
		if (!*optarg || strlen(optarg) >= TRACE_COMM_LEN)
			pgx_usage_error("--comm must be 1 to %d characters", TRACE_COMM_LEN - 1);
		o->comm = optarg;
		break;
	case OPT_FILTER_OPEN: add_glob(o, optarg); break;
	case OPT_NO_OPEN: o->no_open = true; break;
	case 'V': pgx_exit_version();
	case 'h': pgx_exit_help(usage);
	default: pgx_usage_error(NULL);
	}
	if (!ok)
		pgx_usage_error(NULL);
}

static void check_combination(const struct options *o)
{
	if (!o->cmd && !o->cgroup && o->pid <= 0)
		pgx_usage_error("nothing to trace: give -- COMMAND, --cgroup or --pid");
	pgx_check_exclusive(3, o->cmd != NULL, "-- COMMAND", o->cgroup != NULL, "--cgroup", o->pid > 0, "--pid");
	if (o->duration > 0 && o->cmd)
		pgx_usage_error("--duration applies to --cgroup and --pid only");
	pgx_check_exclusive(2, o->nglobs > 0, "--filter-open", o->no_open, "--no-open");
}

static void parse_options(int argc, char **argv, struct options *o)
{
	int c;

	if (argc > 1 && (!strcmp(argv[1], "-?") || !strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help")))
		pgx_exit_help(usage);
	o->buffer_size = TRACE_DEFAULT_BUFFER;
	while ((c = getopt_long(argc, argv, "+b:c:p:d:Vh", long_options, NULL)) != -1)
		parse_one(o, c);
	if (optind < argc)
		o->cmd = argv + optind;
	check_combination(o);
}

/* Children that neither exec nor exit soon get their title read later. */
static void follow_titles(struct run *r, const void *data, size_t size, bool written)
{
	const struct pgxt_hdr *h = data;
	const struct pgxt_fork *f = data;

	if (size < sizeof(*h))
		return;
	if (h->type == TRACE_FORK && written)
		titles__fork(r->titles, (pid_t)f->parent_pid, (pid_t)f->child_pid, pgx_now());
	else if (h->type == TRACE_EXEC)
		titles__exec(r->titles, (pid_t)h->pid);
	else if (h->type == TRACE_EXIT)
		titles__exit(r->titles, (pid_t)h->pid, r->merge, pgx_now());
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct run *r = ctx;
	double ts;
	bool written = record_from_event(&r->rec_opts, data, size, &ts);
	const char *line;
	size_t len;

	if (written) {
		line = pgx_flat_line(&len);
		merge__push_raw(r->merge, ts, line, len);
	}
	follow_titles(r, data, size, written);
	return 0;
}

/* CMD's JSON objects pass through byte for byte, placed by their own ts
 * (never later than now); any other line becomes a log record. */
static void on_line(void *ctx, const struct pgx_line *line)
{
	struct run *r = ctx;
	double now = pgx_now(), ts;
	json_t *rec = pgx_json_parse_line(line, NULL, 0);

	if (rec && json_is_object(rec)) {
		ts = pgx_rec_ts(rec);
		merge__push_raw(r->merge, ts >= 0 && ts < now ? ts : now, line->text, line->len);
	} else {
		merge__push(r->merge, now, record_log(now, line->text, line->len));
	}
	json_decref(rec);
}

static void check_lost(struct run *r, bool final)
{
	double now = pgx_now();
	unsigned long long total;

	if (!final && now - r->lost_checked < LOST_CHECK_SECONDS)
		return;
	r->lost_checked = now;
	total = tracer__lost(r->tracer);
	if (total <= r->lost_seen)
		return;
	pgx_warn("lost %llu events: the ring buffer was full (try a larger --buffer-size)",
		 total - r->lost_seen);
	merge__push(r->merge, now, record_lost(now, total - r->lost_seen));
	r->lost_seen = total;
}

static void read_lines(struct run *r)
{
	if (r->lines && !r->lines_done && lines__read(r->lines, on_line, r) <= 0)
		r->lines_done = true;
}

static int wait_events(struct run *r)
{
	struct pollfd pfd[3];
	nfds_t n = 0;

	pfd[n++] = (struct pollfd){ .fd = tracer__fd(r->tracer), .events = POLLIN };
	if (r->lines && !r->lines_done)
		pfd[n++] = (struct pollfd){ .fd = lines__fd(r->lines), .events = POLLIN };
	if (r->subject && subject__pidfd(r->subject) >= 0)
		pfd[n++] = (struct pollfd){ .fd = subject__pidfd(r->subject), .events = POLLIN };
	poll(pfd, n, POLL_MS);
	if (tracer__consume(r->tracer) < 0)
		return PGX_EXIT_INTERNAL;
	titles__poll(r->titles, r->merge, pgx_now());
	read_lines(r);
	check_lost(r, false);
	return merge__flush(r->merge, pgx_now() - HOLD_SECONDS) ? 0 : PGX_EXIT_OUTPUT;
}

/* A stop signal is passed on to CMD, which gets a moment to exit. */
static int loop(struct run *r)
{
	double start = pgx_now(), stop_at = 0;
	int rc;

	for (;;) {
		rc = wait_events(r);
		if (rc)
			return rc;
		if (r->subject && subject__reap(r->subject))
			return pgx_stop_signal ? PGX_EXIT_INTERRUPTED : subject__status(r->subject);
		if (pgx_stop_signal && !r->subject)
			return PGX_EXIT_INTERRUPTED;
		if (pgx_stop_signal && stop_at == 0) {
			subject__signal(r->subject, pgx_stop_signal);
			stop_at = pgx_now();
		}
		if (stop_at > 0 && pgx_now() - stop_at > STOP_GRACE_SECONDS)
			return PGX_EXIT_INTERRUPTED;
		if (r->opts->duration > 0 && pgx_now() - start >= r->opts->duration)
			return PGX_EXIT_OK;
	}
}

static int drain(struct run *r, int status)
{
	if (status == PGX_EXIT_OUTPUT)
		return status;
	if (tracer__consume(r->tracer) < 0 && status == PGX_EXIT_OK)
		status = PGX_EXIT_INTERNAL;
	titles__poll(r->titles, r->merge, pgx_now());
	read_lines(r);
	check_lost(r, true);
	if (r->lost_seen)
		pgx_warn("lost %llu events in total", r->lost_seen);
	return merge__flush(r->merge, INFINITY) ? status : PGX_EXIT_OUTPUT;
}

/* After attach, so that a fork in between is caught by the BPF side. */
static void track_descendants(struct run *r, pid_t root)
{
	pid_t *pids;
	size_t n = proc_descendants(root, &pids), i;

	for (i = 1; i < n; i++)
		tracer__track(r->tracer, pids[i]);
	free(pids);
}

static void announce(const struct options *o, const char *cgroup)
{
	if (o->cgroup)
		pgx_info("tracing cgroup \"%s\" and its descendants", cgroup);
	else if (o->pid > 0)
		pgx_info("tracing PID %ld and its descendants", o->pid);
}

static int open_subject(const struct options *o, struct tracer_opts *t, struct subject **sub,
			char **cgroup)
{
	const char *root = cgroup_v2_root();
	int rc;

	if (!root && (o->cmd || o->cgroup)) {
		pgx_error("no cgroup v2 hierarchy is mounted "
			  "(looked at /sys/fs/cgroup/unified and /sys/fs/cgroup)");
		return PGX_EXIT_INTERNAL;
	}
	if (o->cgroup && (t->cgroup_fd = cgroup_open(root, o->cgroup, cgroup)) < 0)
		return PGX_EXIT_USAGE;
	if (o->pid > 0 && kill((pid_t)o->pid, 0) != 0 && errno == ESRCH) {
		pgx_error("no process with PID %ld", o->pid);
		return PGX_EXIT_USAGE;
	}
	rc = tracer__check_environment(!o->no_open);	/* every mode: privileges, BTF, tracefs */
	if (rc || !o->cmd)
		return rc;
	return subject__new(root, o->cmd, sub);
}

static int run_trace(const struct options *o)
{
	struct tracer_opts t = { .buffer_size = o->buffer_size, .no_open = o->no_open,
				 .comm = o->comm, .cgroup_fd = -1, .pid = (pid_t)o->pid };
	struct run r = { .opts = o, .rec_opts.open_globs = o->globs };
	char *cgroup = NULL;
	int rc;

	pgx_install_signals();
	rc = open_subject(o, &t, &r.subject, &cgroup);
	if (rc)
		goto cleanup;
	if (r.subject)
		t.cgroup_fd = subject__cgroup_fd(r.subject);
	trace_clock__calibrate(&r.clock);
	r.rec_opts.clock = &r.clock;
	r.merge = merge__new();
	r.titles = titles__new();
	rc = tracer__new(&t, on_event, &r, &r.tracer);
	if (rc)
		goto cleanup;
	if (r.subject) {
		r.lines = lines__new(subject__stdout_fd(r.subject));
		rc = subject__start(r.subject);
		if (rc)
			goto cleanup;
	}
	if (o->pid > 0)
		track_descendants(&r, (pid_t)o->pid);
	announce(o, cgroup);
	rc = drain(&r, loop(&r));
	tracer__detach_later(r.tracer);
cleanup:
	lines__free(r.lines);
	tracer__free(r.tracer);
	subject__free(r.subject);
	titles__free(r.titles);
	merge__free(r.merge);
	free(cgroup);
	if (o->cgroup && t.cgroup_fd >= 0)
		close(t.cgroup_fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	int rc;

	pgx_init(argv[0]);
	parse_options(argc, argv, &o);
	pgx_output_bulk();
	rc = run_trace(&o);
	free(o.globs);
	return pgx_finish(rc);
}
