/* alerts.c - pgx-report alerts: the catalog evaluated over a stream of
 * pgx-poll samples and across runs (a state file keeps pending and firing
 * alerts, their `for` timers, rate baselines and undelivered
 * notifications), alert records on transitions, notifications */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "pgx_http.h"
#include "health.h"
#include "alerts.h"

struct alert_opts {
	const char *catalog, *user, *state_path;
	struct notify_targets targets;
	bool alerts_only, exit_status, list;
	char **files;
	size_t nfiles;
};

/* Whether the input lets the alerts judge the cluster: a verdict on a
 * server pgx-poll could not see must not read as OK. */
struct sight {
	bool polled;		/* a poll record closed a pass */
	char *pass_blind;	/* the pass being read: an error record's message */
	char *pass_partial;	/* the pass being read: a section a rule needs failed */
	char *blind, *partial;	/* the same for the last complete pass */
	size_t unsummed;	/* records since the last alert_summary */
	double ts;		/* of the last record */
};

struct alert_run {
	const struct alert_opts *o;
	struct catalog cat;
	json_t *state;		/* {"version", "alerts": {key: entry}, "rates": {}, "queue": []} */
	json_t *outbox;		/* alert records to notify at the end of the sample */
	struct sight sight;
	int lock_fd;
	bool write_failed;
};

/* --exit-status speaks the monitoring-plugin convention (Nagios, Icinga) */
enum plugin_status { PLUGIN_OK, PLUGIN_WARNING, PLUGIN_CRITICAL, PLUGIN_UNKNOWN };

static void usage(void)
{
	printf("%s alerts evaluates the alert catalog over pgx-poll records.\n\n"
	       "Usage:\n"
	       "  %s alerts [OPTION]... [FILE]...\n\n"
	       "Reads pgx-poll records from FILEs or standard input, passes them through\n"
	       "and writes an alert record after the record that makes an alert pending,\n"
	       "firing or resolved.  With --state, pending timers, firing alerts and\n"
	       "undelivered notifications carry over from one run to the next.\n\n"
	       "Options:\n"
	       "  -a, --alerts=FILE        rules merged over the catalog (same layout)\n"
	       "      --catalog=FILE       the catalog (default share/pgx/alerts.yaml)\n"
	       "  -s, --state=FILE         keep alert state between runs in FILE\n"
	       "      --alertmanager=URL   post to Alertmanager's /api/v2/alerts at URL\n"
	       "      --webhook=URL        post alert records as JSON to URL\n"
	       "      --slack=URL          post to a Slack incoming webhook\n"
	       "      --alerts-only        write alert records only, not the input\n"
	       "      --exit-status        monitoring-plugin exit status: 0 OK, 1 WARNING,\n"
	       "                           2 CRITICAL, 3 UNKNOWN (no snapshot, pgx-poll\n"
	       "                           could not connect or was refused, a section a\n"
	       "                           rule reads failed, or a usage error)\n"
	       "      --list               write the effective rules as alert_rule records\n"
	       "  -V, --version            output version information, then exit\n"
	       "  -h, --help               show this help, then exit\n\n"
	       "Environment: PGX_ALERT_<RULE>_WARN, _CRIT, _FOR override a rule;\n"
	       "PGX_ALERTMANAGER_URL, PGX_WEBHOOK_URL, PGX_SLACK_WEBHOOK_URL set targets.\n\n"
	       "Exit status: 0 ok, 2 usage error, 3 bad input or state file, 6 write\n"
	       "error, 130 interrupted.  With --exit-status: 0 nothing firing, 1 a\n"
	       "warning is firing, 2 a critical alert is firing, 3 unknown (see above;\n"
	       "also usage errors and bad input).\n",
	       pgx_progname(), pgx_progname());
}

/* getopt stops at the first bad option, which may come before
 * --exit-status: the whole command line says which convention applies. */
static bool wants_exit_status(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--exit-status"))
			return true;
	return false;
}

static void usage_error(int argc, char **argv)
{
	if (!wants_exit_status(argc, argv))
		pgx_usage_error(NULL);
	fprintf(stderr, "Try '%s alerts --help' for more information.\n", pgx_progname());
	exit(PLUGIN_UNKNOWN);
}

static void parse_options(int argc, char **argv, struct alert_opts *o)
{
	static const struct option longopts[] = {
		{ "alerts", required_argument, NULL, 'a' },
		{ "catalog", required_argument, NULL, 1 },
		{ "state", required_argument, NULL, 's' },
		{ "alertmanager", required_argument, NULL, 2 },
		{ "webhook", required_argument, NULL, 3 },
		{ "slack", required_argument, NULL, 4 },
		{ "alerts-only", no_argument, NULL, 5 },
		{ "exit-status", no_argument, NULL, 6 },
		{ "list", no_argument, NULL, 7 },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->targets.alertmanager = getenv("PGX_ALERTMANAGER_URL");
	o->targets.webhook = getenv("PGX_WEBHOOK_URL");
	o->targets.slack = getenv("PGX_SLACK_WEBHOOK_URL");
	while ((c = getopt_long(argc, argv, "a:s:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o->user = optarg; break;
		case 1: o->catalog = optarg; break;
		case 's': o->state_path = optarg; break;
		case 2: o->targets.alertmanager = optarg; break;
		case 3: o->targets.webhook = optarg; break;
		case 4: o->targets.slack = optarg; break;
		case 5: o->alerts_only = true; break;
		case 6: o->exit_status = true; break;
		case 7: o->list = true; break;
		case 'V': pgx_exit_version();
		case 'h': pgx_exit_help(usage);
		default: usage_error(argc, argv);
		}
	}
	o->files = argv + optind;
	o->nfiles = (size_t)(argc - optind);
}

/* ---- the state file ---- */

static json_t *state_new(void)
{
	return json_pack("{s:i, s:{}, s:{}, s:[]}", "version", 1, "alerts", "rates", "queue");
}

/* A separate lock file: the state file itself is replaced by rename, which
 * would leave a second run holding a lock on the old inode. */
static bool state_lock(struct alert_run *run, const char *path)
{
	char *lock;

	if (asprintf(&lock, "%s.lock", path) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	run->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (run->lock_fd < 0 || flock(run->lock_fd, LOCK_EX) < 0) {
		pgx_error("cannot lock \"%s\": %s", lock, strerror(errno));
		free(lock);
		return false;
	}
	free(lock);
	return true;
}

static bool state_read(struct alert_run *run, const char *path)
{
	json_error_t err;
	json_t *st;

	if (access(path, F_OK) < 0 && errno == ENOENT) {
		run->state = state_new();
		return true;
	}
	st = json_load_file(path, 0, &err);
	if (!json_is_object(st) || !json_is_object(json_object_get(st, "alerts"))) {
		pgx_error("%s:%d: not a pgx-report alerts state file: %s", path, err.line,
			  st ? "unexpected layout" : err.text);
		pgx_hint("move it away to start afresh (its queued notifications are in it)");
		json_decref(st);
		return false;
	}
	run->state = st;
	if (!json_is_object(json_object_get(st, "rates")))
		json_object_set_new(st, "rates", json_object());
	if (!json_is_array(json_object_get(st, "queue")))
		json_object_set_new(st, "queue", json_array());
	return true;
}

static void render_state(FILE *f, void *arg)
{
	pgx_json_write(f, arg);
}

/* Replaced whole: a state read half written would forget firing alerts.
 * 0666 less the umask, as any file a command creates. */
static void state_write(struct alert_run *run)
{
	const char *path = run->o->state_path;

	if (path && !pgx_write_atomic(path, 0666, render_state, run->state)) {
		pgx_error("cannot write \"%s\": %s", path, strerror(errno));
		run->write_failed = true;
	}
}

/* ---- evaluation ---- */

static const char *sev_name(enum severity s)
{
	return s == SEV_CRIT ? "critical" : "warning";
}

static json_t *alert_record(const json_t *entry, const char *state, double ts)
{
	json_t *rec = pgx_record_new("alert", ts), *v;
	const char *k;

	json_object_set_new(rec, "state", json_string(state));
	json_object_foreach((json_t *)entry, k, v)
		if (strcmp(k, "state"))
			json_object_set(rec, k, v);
	return rec;
}

static void transition(struct alert_run *run, json_t *entry, const char *state, double ts, bool notify)
{
	json_t *rec = alert_record(entry, state, ts);

	if (notify)
		json_array_append(run->outbox, rec);
	if (!pgx_emit(rec))
		run->write_failed = true;
}

struct sample {
	const struct rule *r;
	const json_t *rec, *elem;
	const char *cluster, *db;
	double ts, value, threshold;
	enum severity sev;
};

static json_t *entry_new(const struct sample *s, const char *key)
{
	json_t *e = json_object();

	json_object_set_new(e, "rule", json_string(s->r->name));
	json_object_set_new(e, "key", json_string(key));
	json_object_set_new(e, "cluster", s->cluster ? json_string(s->cluster) : json_null());
	json_object_set_new(e, "db", s->db ? json_string(s->db) : json_null());
	json_object_set_new(e, "record", json_string(s->r->record));
	json_object_set_new(e, "summary", json_string(s->r->summary));
	json_object_set_new(e, "since_ts", json_real(s->ts));
	json_object_set_new(e, "state", json_string("pending"));
	return e;
}

static void entry_update(json_t *e, const struct sample *s, const struct expr_ctx *cx)
{
	json_t *extra = json_pack("{s:f, s:f, s:s, s:s}", "value", s->value,
				  "threshold", s->threshold, "severity", sev_name(s->sev),
				  "rule", s->r->name);
	char *msg = expr_template(s->r->message, cx, extra);

	json_object_set_new(e, "severity", json_string(sev_name(s->sev)));
	json_object_set_new(e, "value", json_real(s->value));
	json_object_set_new(e, "threshold", json_real(s->threshold));
	json_object_set_new(e, "for_s", json_real(s->r->for_s));
	json_object_set_new(e, "message", json_string(msg));
	free(msg);
	json_decref(extra);
}

static void resolve(struct alert_run *run, const char *key, double ts)
{
	json_t *alerts = json_object_get(run->state, "alerts");
	json_t *e = json_object_get(alerts, key);
	const char *was = jstr(e, "state");
	bool fired = was && !strcmp(was, "firing");

	json_object_set_new(e, "previous", json_string(was ? was : "pending"));
	json_object_set_new(e, "ends_ts", json_real(ts));
	transition(run, e, "resolved", ts, fired);
	json_object_del(alerts, key);
}

/* One rule on one element: the state machine of its key */
static void evaluate_key(struct alert_run *run, const struct sample *s, const char *key,
			 const struct expr_ctx *cx)
{
	json_t *alerts = json_object_get(run->state, "alerts");
	json_t *e = json_object_get(alerts, key);
	const char *state, *old_sev;
	bool sev_changed;

	if (s->sev == SEV_NONE) {
		if (e)
			resolve(run, key, s->ts);
		return;
	}
	if (!e) {
		e = entry_new(s, key);
		json_object_set_new(alerts, key, e);
		entry_update(e, s, cx);
		if (s->r->for_s > 0) {
			transition(run, e, "pending", s->ts, false);
			return;
		}
	}
	state = jstr(e, "state");
	old_sev = jstr(e, "severity");
	sev_changed = old_sev && strcmp(old_sev, sev_name(s->sev));
	entry_update(e, s, cx);
	if (!strcmp(state, "pending") && s->ts - json_number_value(json_object_get(e, "since_ts")) >= s->r->for_s) {
		json_object_set_new(e, "state", json_string("firing"));
		json_object_set_new(e, "fired_ts", json_real(s->ts));
		transition(run, e, "firing", s->ts, true);
	} else if (!strcmp(state, "firing") && sev_changed) {
		transition(run, e, "firing", s->ts, true);
	}
}

/* rate: true turns the value into a per-second rate; sigma: K also wants
 * it above the baseline (exponentially weighted mean and variance). */
static double rate_value(struct alert_run *run, const struct rule *r, const char *key,
			 double v, double ts)
{
	json_t *rates = json_object_get(run->state, "rates");
	json_t *prev = json_object_get(rates, key);
	double pv, pts, mean = 0, var = 0, n = 0, rate = NAN;
	bool above = true;

	if (isnan(v))
		return NAN;
	if (prev && jnum(prev, "v", &pv) && jnum(prev, "ts", &pts) && ts > pts && v >= pv) {
		rate = (v - pv) / (ts - pts);
		jnum(prev, "mean", &mean);
		jnum(prev, "var", &var);
		jnum(prev, "n", &n);
		if (r->sigma > 0) {
			double alpha = 1 - exp(-(ts - pts) / (r->window_s > 0 ? r->window_s : 900));
			double d = rate - mean;

			above = n >= 3 && rate > mean + r->sigma * sqrt(var);
			mean = n == 0 ? rate : mean + alpha * d;
			var = n == 0 ? 0 : (1 - alpha) * (var + alpha * d * d);
			n++;
		}
	} else if (prev && (ts <= pts || v < pv)) {
		jnum(prev, "mean", &mean);	/* a counter reset: keep the baseline */
		jnum(prev, "var", &var);
		jnum(prev, "n", &n);
	}
	json_object_set_new(rates, key, json_pack("{s:f, s:f, s:f, s:f, s:f}", "v", v, "ts", ts,
						  "mean", mean, "var", var, "n", n));
	return above ? rate : NAN;
}

/* The history behind rate() and since() of one alert key */
struct history_arg {
	struct alert_run *run;
	const char *key;
	double ts, stats_reset;
};

static json_t *history_slot(const struct history_arg *h, const char *fn, const char *path)
{
	json_t *rates = json_object_get(h->run->state, "rates"), *slot;
	char *name;

	if (asprintf(&name, "%s|%s(%s)", h->key, fn, path) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	if (!(slot = json_object_get(rates, name))) {
		slot = json_object();
		json_object_set_new(rates, name, slot);
	}
	free(name);
	return slot;
}

static void slot_set(json_t *slot, const char *k, double v)
{
	json_object_set_new(slot, k, isnan(v) ? json_null() : json_real(v));
}

static double slot_num(const json_t *slot, const char *k)
{
	double v;

	return jnum(slot, k, &v) ? v : NAN;
}

/* A lower counter or another stats_reset_ts is a reset: no rate across it. */
static double history_rate(const struct history_arg *h, json_t *slot, double v)
{
	double pv = slot_num(slot, "v"), pts = slot_num(slot, "ts"), rate = NAN;

	if (pts == h->ts)	/* asked again for the same sample (when, then value) */
		return slot_num(slot, "rate");
	if (!isnan(v) && !isnan(pv) && h->ts > pts && v >= pv &&
	    (isnan(h->stats_reset) || slot_num(slot, "reset") == h->stats_reset))
		rate = (v - pv) / (h->ts - pts);
	slot_set(slot, "v", v);
	slot_set(slot, "ts", h->ts);
	slot_set(slot, "reset", h->stats_reset);
	slot_set(slot, "rate", rate);
	return rate;
}

/* The counter's increase since the marker (a timestamp) last changed.  A
 * marker never set counts from the stats reset (the counter itself); one
 * first seen here counts from this sample, all that can be known. */
static double history_since(const struct history_arg *h, json_t *slot, double v, double marker)
{
	double base = slot_num(slot, "base"), seen = slot_num(slot, "marker");
	bool known = json_object_get(slot, "base") != NULL;

	if (isnan(v))
		return NAN;
	if (isnan(marker))
		base = 0;
	else if (!known || seen != marker || v < base)
		base = v;
	slot_set(slot, "base", base);
	slot_set(slot, "marker", marker);
	return v - base;
}

static double history(void *arg, enum expr_history fn, const char *path, double v, double marker)
{
	const struct history_arg *h = arg;

	if (fn == HIST_RATE)
		return history_rate(h, history_slot(h, "rate", path), v);
	return history_since(h, history_slot(h, "since", path), v, marker);
}

static bool same_str(const json_t *v, const char *s)
{
	return s ? json_is_string(v) && !strcmp(json_string_value(v), s) : !json_is_string(v);
}

static void evaluate_elem(struct alert_run *run, struct sample *s, json_t *seen)
{
	struct expr_ctx cx = { s->elem, s->rec, s->ts, history, NULL };
	struct history_arg h = { run, NULL, s->ts, NAN };
	const struct rule *r = s->r;
	char *key, *full;
	double v = NAN;
	bool hold = true;

	key = expr_template(r->key, &cx, NULL);
	if (asprintf(&full, "%s:%s", r->name, key) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	free(key);
	h.key = full;
	jnum(s->rec, "stats_reset_ts", &h.stats_reset);
	cx.history_arg = &h;
	for (size_t i = 0; hold && i < r->nwhen; i++)
		hold = expr_cond(r->when[i], &cx, NULL, 0) == 1;
	expr_eval(r->value, &cx, &v, NULL, 0);
	if (r->rate)
		v = rate_value(run, r, full, v, s->ts);
	if (isnan(v) && json_is_string(json_object_get(s->rec, "status")) &&
	    !same_str(json_object_get(s->rec, "status"), "ok")) {
		/* a degraded section (a timeout) without the value says nothing:
		 * the alert stays as it is rather than resolve */
		json_object_set_new(seen, full, json_true());
		free(full);
		return;
	}
	s->value = v;
	s->sev = SEV_NONE;
	if (hold && expr_compare(v, r->op, r->crit)) {
		s->sev = SEV_CRIT;
		s->threshold = r->crit;
	} else if (hold && expr_compare(v, r->op, r->warn)) {
		s->sev = SEV_WARN;
		s->threshold = r->warn;
	}
	json_object_set_new(seen, full, json_true());
	evaluate_key(run, s, full, &cx);
	free(full);
}

/* Alerts of this rule, cluster and database that the record no longer
 * shows (a blocking chain that ended) are resolved. */
static void resolve_unseen(struct alert_run *run, const struct sample *s, json_t *seen)
{
	json_t *alerts = json_object_get(run->state, "alerts"), *e, *gone = json_array(), *k;
	const char *key;
	size_t i;

	json_object_foreach(alerts, key, e)
		if (!json_object_get(seen, key) && same_str(json_object_get(e, "rule"), s->r->name) &&
		    same_str(json_object_get(e, "cluster"), s->cluster) &&
		    same_str(json_object_get(e, "db"), s->db))
			json_array_append_new(gone, json_string(key));
	json_array_foreach(gone, i, k)
		resolve(run, json_string_value(k), s->ts);
	json_decref(gone);
}

static void evaluate_record(struct alert_run *run, const json_t *rec)
{
	const char *type = pgx_rec_type(rec);
	double ts = pgx_rec_ts(rec);

	for (size_t i = 0; i < run->cat.n; i++) {
		const struct rule *r = &run->cat.rules[i];
		struct sample s = { r, rec, rec, pgx_rec_str(rec, "cluster"), pgx_rec_str(rec, "db"),
				    ts >= 0 ? ts : pgx_now(), NAN, NAN, SEV_NONE };
		json_t *seen, *list, *el;
		size_t j;

		if (!type || strcmp(type, r->record))
			continue;
		/* a failed section, or one without the list, says nothing:
		 * its alerts stay as they are rather than resolve */
		if (same_str(json_object_get(rec, "status"), "error") ||
		    (r->each && !json_is_array(jpath(rec, r->each))))
			continue;
		seen = json_object();
		if (r->each) {
			list = jpath(rec, r->each);
			json_array_foreach(list, j, el) {
				s.elem = el;
				evaluate_elem(run, &s, seen);
			}
		} else {
			evaluate_elem(run, &s, seen);
		}
		resolve_unseen(run, &s, seen);
		json_decref(seen);
	}
}

/* ---- a run ---- */

static json_t *firing_alerts(const struct alert_run *run)
{
	json_t *out = json_array(), *e;
	const char *key;

	json_object_foreach(json_object_get(run->state, "alerts"), key, e)
		if (same_str(json_object_get(e, "state"), "firing"))
			json_array_append_new(out, alert_record(e, "firing", pgx_now()));
	return out;
}

/* End of a sample (a poll record) or of the input: notify, save. */
static void flush(struct alert_run *run)
{
	json_t *firing = firing_alerts(run);

	json_t *queue = json_object_get(run->state, "queue");

	notify_deliver(&run->o->targets, run->outbox, firing, queue);
	json_decref(firing);
	if (!run->o->state_path && json_array_size(queue)) {
		pgx_error("%zu notification(s) not delivered and lost: without --state there is no queue",
			  json_array_size(queue));
		pgx_hint("give --state FILE so that the next run delivers them");
		json_array_clear(queue);
	}
	json_array_clear(run->outbox);
	state_write(run);
}

/* ---- can the alerts see the cluster? ---- */

static bool rule_reads(const struct catalog *c, const char *type)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->rules[i].record, type))
			return true;
	return false;
}

static void set_reason(char **slot, char *reason)
{
	free(*slot);
	*slot = reason;
}

/* "section vacuum of app is degraded: <the first reason pgx-poll gave>" */
static char *section_trouble(const json_t *rec, const char *type, const char *status)
{
	const char *db = pgx_rec_str(rec, "db");
	const char *detail = jstr(json_array_get(json_object_get(rec, "missing"), 0), "why");
	char *why;

	if (asprintf(&why, "section %s%s%s is %s%s%s", type, db ? " of " : "", db ? db : "", status,
		     detail ? ": " : "", detail ? detail : "") < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return why;
}

/* pgx-poll writes an error record when it cannot (re)connect or loses the
 * session, and marks a section it could not fully read error or degraded. */
static void watch_record(struct alert_run *run, const json_t *rec)
{
	struct sight *v = &run->sight;
	const char *type = pgx_rec_type(rec), *status = pgx_rec_str(rec, "status");
	const char *msg = pgx_rec_str(rec, "message");
	char *why;

	v->unsummed++;
	v->ts = pgx_rec_ts(rec) >= 0 ? pgx_rec_ts(rec) : v->ts;
	if (!type)
		return;
	if (!strcmp(type, "error")) {
		if (asprintf(&why, "pgx-poll: %s", msg ? msg : "error") < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		set_reason(&v->pass_blind, why);
	} else if (!strcmp(type, "poll")) {
		v->polled = true;
		set_reason(&v->blind, v->pass_blind);
		set_reason(&v->partial, v->pass_partial);
		v->pass_blind = v->pass_partial = NULL;
	} else if (status && (!strcmp(status, "error") || !strcmp(status, "degraded")) &&
		   rule_reads(&run->cat, type)) {
		set_reason(&v->pass_partial, section_trouble(rec, type, status));
	}
}

/* Records after the last poll record belong to a pass that never ended
 * (pgx-poll lost the server): their trouble is the latest news. */
static void sight_end(struct sight *v)
{
	if (v->pass_blind)
		set_reason(&v->blind, v->pass_blind);
	if (v->pass_partial)
		set_reason(&v->partial, v->pass_partial);
	v->pass_blind = v->pass_partial = NULL;
}

static void sight_free(struct sight *v)
{
	free(v->pass_blind);
	free(v->pass_partial);
	free(v->blind);
	free(v->partial);
}

static const char *blind_reason(const struct sight *v)
{
	if (v->blind)
		return v->blind;
	return v->polled ? NULL : "no pgx-poll snapshot in the input (no poll record)";
}

static int firing_status(const struct alert_run *run)
{
	int st = PLUGIN_OK;
	json_t *e;
	const char *key;

	json_object_foreach(json_object_get(run->state, "alerts"), key, e) {
		if (!same_str(json_object_get(e, "state"), "firing"))
			continue;
		if (same_str(json_object_get(e, "severity"), "critical"))
			st = PLUGIN_CRITICAL;
		else if (st == PLUGIN_OK)
			st = PLUGIN_WARNING;
	}
	return st;
}

/* Firing alerts from the state file are stale when the server cannot be
 * seen; a critical alert stands when only some section failed, since
 * what failed could hide a worse one but not a better one. */
static enum plugin_status verdict(const struct alert_run *run, const char **why)
{
	int firing = firing_status(run);

	*why = blind_reason(&run->sight);
	if (*why)
		return PLUGIN_UNKNOWN;
	*why = run->sight.partial;
	if (firing == PLUGIN_CRITICAL || !*why)
		return firing;
	return PLUGIN_UNKNOWN;
}

static const char *verdict_name(enum plugin_status st)
{
	static const char *const names[] = { "ok", "warning", "critical", "unknown" };

	return names[st];
}

/* After each sample: what --exit-status would say now, for the HTML page
 * and anyone reading the stream (no alert record also means nothing fires). */
static void emit_summary(struct alert_run *run)
{
	const char *why;
	enum plugin_status st = verdict(run, &why);
	json_t *rec = pgx_record_new("alert_summary", run->sight.ts > 0 ? run->sight.ts : pgx_now());
	json_t *firing = firing_alerts(run);
	size_t crit = 0, i;
	json_t *a;

	json_array_foreach(firing, i, a)
		crit += same_str(json_object_get(a, "severity"), "critical");
	json_object_set_new(rec, "verdict", json_string(verdict_name(st)));
	json_object_set_new(rec, "reason", why ? json_string(why) : json_null());
	json_object_set_new(rec, "rules", json_integer((json_int_t)run->cat.n));
	json_object_set_new(rec, "firing", json_integer((json_int_t)json_array_size(firing)));
	json_object_set_new(rec, "critical", json_integer((json_int_t)crit));
	json_decref(firing);
	if (!pgx_emit(rec))
		run->write_failed = true;
	run->sight.unsummed = 0;
}

static int read_input(struct alert_run *run, struct pgx_input *in)
{
	struct pgx_line line;
	json_t *rec;

	while (!pgx_stop_signal && pgx_ndjson_next(in, &line, &rec) == 1) {
		if (!run->o->alerts_only && !pgx_emit_raw(line.text, line.len))
			run->write_failed = true;
		pgx_mask_json(rec);	/* what a notification quotes, from an older pgx-poll */
		watch_record(run, rec);
		evaluate_record(run, rec);
		if (!strcmp(pgx_rec_type(rec) ? pgx_rec_type(rec) : "", "poll")) {
			flush(run);
			if (!run->o->alerts_only)
				emit_summary(run);
		}
		json_decref(rec);
		if (run->write_failed)
			return PGX_EXIT_OUTPUT;
	}
	return pgx_input_errors(in) ? PGX_EXIT_INPUT : PGX_EXIT_OK;
}

static int exit_verdict(const struct alert_run *run)
{
	const char *why;
	enum plugin_status st = verdict(run, &why);

	if (st == PLUGIN_UNKNOWN)
		pgx_error("UNKNOWN: %s", why);
	return st;
}

static int list_rules(const struct catalog *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (!pgx_emit(rule_json(&c->rules[i])))
			return PGX_EXIT_OUTPUT;
	return PGX_EXIT_OK;
}

static int run_files(struct alert_run *run)
{
	int status = PGX_EXIT_OK;

	for (size_t i = 0; i < (run->o->nfiles ? run->o->nfiles : 1) && status != PGX_EXIT_OUTPUT; i++) {
		struct pgx_input *in = pgx_input_open(run->o->nfiles ? run->o->files[i] : "-",
						      PGX_MAX_LINE_DEFAULT);
		int st;

		if (!in) {
			status = PGX_EXIT_INPUT;
			continue;
		}
		st = read_input(run, in);
		pgx_input_close(in);
		if (st)
			status = st;
	}
	return status;
}

static bool setup(struct alert_run *run)
{
	char *catalog = run->o->catalog ? pgx_xstrdup(run->o->catalog) : pgx_share_path("alerts.yaml");
	bool ok;

	if (!catalog) {
		pgx_error("alert catalog alerts.yaml not found");
		pgx_hint("set PGX_SHARE_DIR or pass --catalog FILE");
		return false;
	}
	ok = catalog_load(&run->cat, catalog, run->o->user);
	free(catalog);
	return ok;
}

int alerts_main(int argc, char **argv)
{
	struct alert_opts o = { 0 };
	struct alert_run run = { .o = &o, .lock_fd = -1 };
	int status;

	parse_options(argc, argv, &o);
	pgx_install_signals();
	if (!setup(&run)) {
		catalog_free(&run.cat);
		return o.exit_status ? PLUGIN_UNKNOWN : PGX_EXIT_USAGE;
	}
	if (o.list) {
		status = list_rules(&run.cat);
		catalog_free(&run.cat);
		return status;
	}
	if (o.state_path && (!state_lock(&run, o.state_path) || !state_read(&run, o.state_path))) {
		status = PGX_EXIT_INPUT;
		goto cleanup;
	}
	if (!run.state)
		run.state = state_new();
	run.outbox = json_array();
	pgx_http_init();
	status = run_files(&run);
	sight_end(&run.sight);
	if (status != PGX_EXIT_OUTPUT) {
		flush(&run);
		if (!o.alerts_only && (run.sight.unsummed || !run.sight.polled))
			emit_summary(&run);
	}
	pgx_http_cleanup();
	if (run.write_failed && status == PGX_EXIT_OK)
		status = PGX_EXIT_OUTPUT;
	if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	else if (status == PGX_EXIT_OK && o.exit_status)
		status = exit_verdict(&run);
cleanup:
	sight_free(&run.sight);
	json_decref(run.outbox);
	json_decref(run.state);
	catalog_free(&run.cat);
	if (run.lock_fd >= 0)
		close(run.lock_fd);
	return status;
}
