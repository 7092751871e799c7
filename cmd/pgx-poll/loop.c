/* loop.c - the modes: --once, --interval, --schedule, --delta, --print-sql */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "poll.h"

/* The four loops of --schedule: period and time budget (seconds). */
static const struct {
	const char *name;
	unsigned bit;
	double period_s, budget_s;
} loops[] = {
	{ "hot", LOOP_HOT, 15, 1 },
	{ "workload", LOOP_WORKLOAD, 60, 3 },
	{ "storage", LOOP_STORAGE, 600, 10 },
	{ "hourly", LOOP_HOURLY, 3600, 60 },
};
#define N_LOOPS (sizeof(loops) / sizeof(loops[0]))
#define BACKOFF_MAX_S 30.0

struct poller {
	const struct poll_opts *o;
	struct poll_conn *pc;		/* conn NULL while disconnected */
	const char *cluster;
	unsigned long sql_shown;
	double backoff_s, retry_at;
	int status;			/* set when the run must end (5, 6) */
};

/* Sleep until epoch time t; false when a signal asks to stop. */
static bool sleep_until(double t)
{
	while (!pgx_stop_signal) {
		double left = t - pgx_now();
		struct timespec ts;

		if (left <= 0)
			return true;
		ts.tv_sec = (time_t)left;
		ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
		if (nanosleep(&ts, NULL) < 0 && errno != EINTR)
			return true;
	}
	return false;
}

/* The --delta window: sleep until end, showing the time left when progress is on. */
static bool wait_delta_window(const struct poll_opts *o, double end)
{
	struct pgx_progress progress;
	char left[32], window[32];

	pgx_progress_start(&progress, o->progress);
	pgx_progress_format_duration(window, sizeof(window), o->delta_s);
	while (progress.on && !pgx_stop_signal && pgx_now() < end) {
		pgx_progress_format_duration(left, sizeof(left), end - pgx_now());
		pgx_progress_show(&progress, "delta: %s left of %s", left, window);
		sleep_until(fmin(end, pgx_now() + 0.25));
	}
	pgx_progress_end(&progress);
	return sleep_until(end);
}

static void pass_init(struct pass *ps, struct poller *p, unsigned long mask)
{
	memset(ps, 0, sizeof(*ps));
	ps->o = p->o;
	ps->cluster = p->cluster;
	ps->mask = mask;
	ps->sql_shown = &p->sql_shown;
	ps->out = json_array();
	ps->done = json_array();
	ps->degraded = json_array();
}

static void pass_free(struct pass *ps)
{
	json_decref(ps->out);
	json_decref(ps->done);
	json_decref(ps->degraded);
}

static bool emit_all(json_t *records)
{
	size_t i;
	json_t *r;
	bool ok = true;

	json_array_foreach(records, i, r)
		ok = ok && poll_emit(json_incref(r));
	return ok;
}

/* The self-record: how this loop iteration went. budget_s < 0: none. */
static bool emit_poll(struct pass *ps, const char *loop, double start, double budget_s)
{
	json_t *rec = pgx_record_new("poll", start);
	double duration = pgx_round_us(pgx_now() - start);

	json_object_set_new(rec, "cluster", json_string(ps->cluster));
	json_object_set_new(rec, "loop", json_string(loop));
	json_object_set_new(rec, "duration_s", json_real(duration));
	json_object_set_new(rec, "budget_s", budget_s >= 0 ? json_real(budget_s) : json_null());
	json_object_set_new(rec, "success", json_boolean(ps->errors == 0 && !ps->lost));
	json_object_set_new(rec, "errors", json_integer(ps->errors));
	json_object_set_new(rec, "degraded", json_boolean(budget_s >= 0 && duration > budget_s));
	json_object_set(rec, "sections", ps->done);
	json_object_set(rec, "sections_degraded", ps->degraded);
	return poll_emit(rec);
}

/* Reconnect after a loss, with backoff (1 s doubling to 30 s); false while
 * there is no connection.  A refusal by the guard ends the run (exit 5). */
static bool ensure_connected(struct poller *p, struct pass *ps)
{
	int status;

	if (p->pc->conn)
		return true;
	if (pgx_now() < p->retry_at)
		return false;
	if (poll_connect(p->pc, p->o, NULL, &status)) {
		p->backoff_s = 0;
		return true;
	}
	if (status == PGX_EXIT_PRIVILEGE) {
		p->status = status;
		return false;
	}
	p->backoff_s = p->backoff_s ? p->backoff_s * 2 : 1;
	if (p->backoff_s > BACKOFF_MAX_S)
		p->backoff_s = BACKOFF_MAX_S;
	p->retry_at = pgx_now() + p->backoff_s;
	{
		char msg[128];

		snprintf(msg, sizeof(msg), "cannot reconnect; next attempt in %.0f s", p->backoff_s);
		error_record(ps, NULL, NULL, msg);
	}
	return false;
}

/* One iteration of a loop: connect if needed, a pass, its records, the poll
 * record.  False when the run must end (write error or refusal). */
static bool iterate(struct poller *p, const char *loop, unsigned long mask, double budget_s)
{
	struct pass ps;
	double start = pgx_now();
	bool ok = true;

	pass_init(&ps, p, mask);
	if (ensure_connected(p, &ps)) {
		pass_run(&ps, p->pc);
		if (ps.lost)
			poll_disconnect(p->pc);
		if (ps.refused)
			p->status = PGX_EXIT_PRIVILEGE;
	}
	if (p->status == PGX_EXIT_OK && (json_array_size(ps.out) || json_array_size(ps.done))) {
		ok = emit_all(ps.out) && emit_poll(&ps, loop, start, budget_s);
		if (!ok)
			p->status = PGX_EXIT_OUTPUT;
	}
	pass_free(&ps);
	return p->status == PGX_EXIT_OK;
}

static int stop_status(const struct poller *p, bool loop_mode)
{
	if (p->status != PGX_EXIT_OK)
		return p->status;
	if (pgx_stop_signal == SIGINT || (pgx_stop_signal && !loop_mode))
		return PGX_EXIT_INTERRUPTED;
	return PGX_EXIT_OK;	/* SIGTERM ends a loop normally */
}

static int run_once(struct poller *p)
{
	struct pass ps;
	double start = pgx_now();
	int status = PGX_EXIT_OK;

	pass_init(&ps, p, p->o->section_mask);
	pass_run(&ps, p->pc);
	if (ps.refused)		/* in another database: nothing of the pass is written */
		status = PGX_EXIT_PRIVILEGE;
	else if (!emit_all(ps.out) || !emit_poll(&ps, "once", start, -1))
		status = PGX_EXIT_OUTPUT;
	else if (ps.lost) {
		pgx_error("connection to the server lost during the snapshot");
		status = PGX_EXIT_CONNECT;
	}
	pass_free(&ps);
	p->status = status;
	return stop_status(p, false);
}

static int run_interval(struct poller *p)
{
	double next = pgx_now();

	while (!pgx_stop_signal) {
		if (!iterate(p, "interval", p->o->section_mask, p->o->interval_s))
			break;
		next += p->o->interval_s;
		if (next < pgx_now())
			next = pgx_now();
		if (!p->pc->conn && p->retry_at < next)
			sleep_until(p->retry_at);
		else
			sleep_until(next);
	}
	return stop_status(p, true);
}

static int run_schedule(struct poller *p)
{
	double due[N_LOOPS], now = pgx_now(), wake;

	for (size_t l = 0; l < N_LOOPS; l++)
		due[l] = now;
	while (!pgx_stop_signal) {
		for (size_t l = 0; l < N_LOOPS && !pgx_stop_signal; l++) {
			unsigned long mask = 0;

			if (pgx_now() < due[l])
				continue;
			for (size_t i = 0; i < poll_n_sections; i++)
				if (poll_sections[i].loops & loops[l].bit)
					mask |= 1UL << i;
			mask &= p->o->section_mask;
			if (mask && !iterate(p, loops[l].name, mask, loops[l].budget_s))
				return stop_status(p, true);
			due[l] += loops[l].period_s;
			if (due[l] < pgx_now())
				due[l] = pgx_now() + loops[l].period_s;
		}
		wake = due[0];
		for (size_t l = 1; l < N_LOOPS; l++)
			if (due[l] < wake)
				wake = due[l];
		if (!p->pc->conn && p->retry_at < wake)
			wake = p->retry_at;
		sleep_until(wake);
	}
	return stop_status(p, true);
}

/* Two passes --delta apart; the second, with rates, is written. */
static int run_delta(struct poller *p)
{
	struct pass first, second;
	double start = pgx_now();
	int status = PGX_EXIT_OK;

	pass_init(&first, p, p->o->section_mask);
	pass_init(&second, p, p->o->section_mask);
	pass_run(&first, p->pc);
	if (first.refused)
		status = PGX_EXIT_PRIVILEGE;
	else if (wait_delta_window(p->o, start + p->o->delta_s) && !first.lost) {
		/* --all-databases closed it, or the server restarted in between:
		 * the new postmaster start time then voids the rates */
		if (p->pc->conn && !connection_alive(p->pc->conn))
			poll_disconnect(p->pc);
		if (!p->pc->conn && !poll_connect(p->pc, p->o, NULL, &status) &&
		    status == PGX_EXIT_PRIVILEGE) {
			p->status = status;
			pass_free(&first);
			pass_free(&second);
			return status;
		}
		if (p->pc->conn) {
			status = PGX_EXIT_OK;
			pass_run(&second, p->pc);
		} else	/* libpq's one-line reason is on stderr already */
			error_record(&second, NULL, NULL, "connection lost between the samples");
		delta_apply(first.out, second.out, first.start_ts, second.start_ts, p->o->top_n);
		if (second.refused)
			status = PGX_EXIT_PRIVILEGE;
		else if (!emit_all(second.out) || !emit_poll(&second, "delta", start, -1))
			status = PGX_EXIT_OUTPUT;
		else if (second.lost) {
			pgx_error("connection to the server lost during the snapshot");
			status = PGX_EXIT_CONNECT;
		}
	} else if (first.lost) {
		emit_all(first.out);
		pgx_error("connection to the server lost during the snapshot");
		status = PGX_EXIT_CONNECT;
	}
	pass_free(&first);
	pass_free(&second);
	p->status = status;
	return stop_status(p, false);
}

int poll_run(struct poll_conn *pc, const struct poll_opts *o, const char *cluster)
{
	struct poller p = { .o = o, .pc = pc, .cluster = cluster };

	if (o->schedule)
		return run_schedule(&p);
	if (o->interval_s > 0)
		return run_interval(&p);
	if (o->delta_s > 0)
		return run_delta(&p);
	return run_once(&p);
}

/* The default pg_stat_statements version a stock server ships. */
static const char *stock_pgss(long version_num)
{
	static const struct { long major; const char *pgss; } stock[] = {
		{ 12, "1.7" }, { 13, "1.8" }, { 14, "1.9" }, { 15, "1.10" }, { 16, "1.10" },
		{ 17, "1.11" }, { 18, "1.12" },
	};

	for (size_t i = 0; i < sizeof(stock) / sizeof(stock[0]); i++)
		if (stock[i].major == version_num / 10000)
			return stock[i].pgss;
	return NULL;
}

/* The sql record of every selected section as a server of that version
 * would get it, without connecting: the SQL variant is a pure function of
 * what the probe finds. */
int print_sql_run(const struct poll_opts *o)
{
	struct server_info srv = { 0 };
	const char *pgss = o->pgss_version ? o->pgss_version : stock_pgss(o->server_version);
	bool ok = true;

	if (o->pgss_version && !strcmp(o->pgss_version, "none"))
		pgss = NULL;
	server_info_assume(&srv, (int)o->server_version, pgss);
	for (size_t i = 0; ok && i < poll_n_sections; i++) {
		const struct section *s = &poll_sections[i];
		const char *why = NULL, *text;
		char *built;
		json_t *rec;

		if (!(o->section_mask & (1UL << i)))
			continue;
		built = s->build_sql ? s->build_sql(&srv, &why) : NULL;
		text = s->build_sql ? built : s->sql;
		rec = pgx_record_new("sql", pgx_now());
		json_object_set_new(rec, "section", json_string(s->name));
		json_object_set_new(rec, "text", text ? json_string(text) : json_null());
		json_object_set_new(rec, "server_version_num", json_integer(o->server_version));
		json_object_set_new(rec, "pgss_version", pgss ? json_string(pgss) : json_null());
		if (!text)
			json_object_set_new(rec, "why", json_string(why ? why : "not available"));
		ok = poll_emit(rec);
		free(built);
	}
	server_info_clear(&srv);
	return ok ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}
