/* notify.c - alert notifications: Alertmanager's v2 API, a generic JSON
 * webhook, Slack's incoming webhook; libcurl with timeouts and bounded
 * retries; what cannot be delivered waits in the state file's queue */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "pgx_http.h"
#include "health.h"
#include "alerts.h"

#define ATTEMPTS 3
#define CONNECT_TIMEOUT_MS 2000L
#define TIMEOUT_MS 5000L
#define QUEUE_MAX 1000

static bool post_once(const char *url, const char *body, char *err, size_t errlen)
{
	struct pgx_http_request req = {
		.method = "POST", .url = url, .json_body = body,
		.connect_timeout_ms = CONNECT_TIMEOUT_MS, .timeout_ms = TIMEOUT_MS,
	};
	struct pgx_http_reply reply;

	if (!pgx_http(&req, &reply, err, errlen))
		return false;
	free(reply.body);
	if (reply.status >= 200 && reply.status <= 299)
		return true;
	snprintf(err, errlen, "HTTP status %ld", reply.status);
	return false;
}

/* A few attempts, 0.5 s then 1 s apart: a receiver restarting is not an
 * outage; a longer one is the queue's business. */
static bool post(const char *url, const char *body, char *err, size_t errlen)
{
	for (int i = 0; i < ATTEMPTS && !pgx_stop_signal; i++) {
		struct timespec d = { i == 0 ? 0 : 1, i == 0 ? 500000000L : 0 };

		if (i)
			nanosleep(&d, NULL);
		if (post_once(url, body, err, errlen))
			return true;
	}
	return false;
}

static const char *target_url(const struct notify_targets *t, const char *kind, char **owned)
{
	const char *base = !strcmp(kind, "alertmanager") ? t->alertmanager
			 : !strcmp(kind, "webhook") ? t->webhook : t->slack;
	size_t n;

	*owned = NULL;
	if (!base || strcmp(kind, "alertmanager") || strstr(base, "/api/v2/alerts"))
		return base;
	n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	if (asprintf(owned, "%.*s/api/v2/alerts", (int)n, base) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return *owned;
}

static json_t *iso_time(double ts)
{
	char buf[96];
	time_t t = (time_t)floor(ts);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)((ts - floor(ts)) * 1000));
	return json_string(buf);
}

static void label(json_t *labels, const char *name, const json_t *rec, const char *key)
{
	const char *v = jstr(rec, key);

	if (v)
		json_object_set_new(labels, name, json_string(v));
}

/* Alertmanager's postableAlert */
static json_t *am_alert(const json_t *rec)
{
	json_t *labels = json_object(), *ann = json_object(), *a = json_object();
	double since = NAN, end;

	label(labels, "alertname", rec, "rule");
	label(labels, "severity", rec, "severity");
	label(labels, "cluster", rec, "cluster");
	label(labels, "db", rec, "db");
	label(labels, "pgx_key", rec, "key");
	json_object_set_new(labels, "source", json_string("pgx"));
	label(ann, "summary", rec, "summary");
	label(ann, "description", rec, "message");
	json_object_set_new(a, "labels", labels);
	json_object_set_new(a, "annotations", ann);
	if (jnum(rec, "fired_ts", &since) || jnum(rec, "since_ts", &since))
		json_object_set_new(a, "startsAt", iso_time(since));
	if (!strcmp(jstr(rec, "state") ? jstr(rec, "state") : "", "resolved") && jnum(rec, "ends_ts", &end))
		json_object_set_new(a, "endsAt", iso_time(end));
	return a;
}

static char *dumps(json_t *v)
{
	size_t len;
	char *s = pgx_record_dumps(v, &len);

	json_decref(v);
	return s;
}

/* Alertmanager forgets a firing alert it is not told about again (its
 * resolve_timeout): every firing alert goes on each run, with the
 * resolved ones of this run. */
static char *am_body(json_t *alerts, json_t *firing)
{
	json_t *list = json_array(), *rec;
	size_t i;

	json_array_foreach(firing, i, rec)
		json_array_append_new(list, am_alert(rec));
	json_array_foreach(alerts, i, rec)
		if (!strcmp(jstr(rec, "state"), "resolved"))
			json_array_append_new(list, am_alert(rec));
	if (!json_array_size(list)) {
		json_decref(list);
		return NULL;
	}
	return dumps(list);
}

static char *webhook_body(json_t *alerts)
{
	return json_array_size(alerts)
		? dumps(json_pack("{s:s, s:O}", "version", "pgx/1", "alerts", alerts)) : NULL;
}

static char *slack_body(json_t *alerts)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;
	json_t *rec;

	if (!json_array_size(alerts))
		return NULL;
	if (!(f = open_memstream(&text, &len)))
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	json_array_foreach(alerts, i, rec) {
		const char *st = jstr(rec, "state");
		bool resolved = !strcmp(st, "resolved");

		fprintf(f, "%s%s *[%s%s%s]* %s on %s: %s", i ? "\n" : "",
			resolved ? ":white_check_mark:" : ":rotating_light:",
			resolved ? "RESOLVED" : "FIRING", resolved ? "" : " ",
			resolved ? "" : jstr(rec, "severity"), jstr(rec, "rule"),
			jstr(rec, "cluster") ? jstr(rec, "cluster") : "?",
			jstr(rec, "message") ? jstr(rec, "message") : "");
	}
	fclose(f);
	rec = json_pack("{s:s}", "text", text);
	free(text);
	return dumps(rec);
}

static bool deliver(const struct notify_targets *t, const char *kind, const char *body)
{
	char *owned, *shown, err[256] = "";
	const char *url = target_url(t, kind, &owned);
	bool ok;

	if (!url) {
		pgx_error("a %s notification is queued but no %s URL is set", kind, kind);
		return false;
	}
	ok = post(url, body, err, sizeof(err));
	if (!ok) {
		shown = pgx_url_redact(url);
		pgx_error("cannot deliver to %s %s: %s", kind, shown, err);
		free(shown);
	}
	free(owned);
	return ok;
}

static bool has_key(const json_t *list, const char *key)
{
	size_t i;
	json_t *a;

	json_array_foreach(list, i, a)
		if (key && jstr(a, "labels.pgx_key") && !strcmp(jstr(a, "labels.pgx_key"), key))
			return true;
	return false;
}

/* Alertmanager needs only the latest word on each alert: queued bodies
 * fold into the new one (older alerts it does not mention kept), so a
 * long outage queues one body, not one a run. */
static char *am_fold(json_t *queue, const char *body)
{
	json_t *merged = json_loads(body, 0, NULL), *q, *old, *a;
	size_t i = 0, j;

	if (!json_is_array(merged)) {
		json_decref(merged);
		return pgx_xstrdup(body);
	}
	while (i < json_array_size(queue)) {
		q = json_array_get(queue, i);
		if (!jstr(q, "target") || strcmp(jstr(q, "target"), "alertmanager")) {
			i++;
			continue;
		}
		old = json_loads(jstr(q, "body") ? jstr(q, "body") : "", 0, NULL);
		json_array_foreach(old, j, a)
			if (!has_key(merged, jstr(a, "labels.pgx_key")))
				json_array_append(merged, a);
		json_decref(old);
		json_array_remove(queue, i);
	}
	return dumps(merged);
}

static void enqueue(json_t *queue, const char *kind, const char *body)
{
	char *folded = NULL;

	if (!strcmp(kind, "alertmanager"))
		body = folded = am_fold(queue, body);
	json_array_append_new(queue, json_pack("{s:s, s:s, s:f}", "target", kind, "body", body,
					       "queued_ts", pgx_now()));
	free(folded);
	while (json_array_size(queue) > QUEUE_MAX) {
		pgx_error("notification queue full (%d): dropping the oldest, queued for %s",
			  QUEUE_MAX, jstr(json_array_get(queue, 0), "target"));
		json_array_remove(queue, 0);
	}
}

/* Older notifications first, in order; one target that is still down
 * keeps the rest of its queue for the next run. */
static size_t retry_queue(const struct notify_targets *t, json_t *queue)
{
	json_t *keep = json_array(), *down = json_object(), *q;
	size_t i, failed = 0;

	json_array_foreach(queue, i, q) {
		const char *kind = jstr(q, "target"), *body = jstr(q, "body");

		if (!kind || !body)
			continue;
		if (json_object_get(down, kind) || !deliver(t, kind, body)) {
			json_object_set_new(down, kind, json_true());
			json_array_append(keep, q);
			failed++;
		}
	}
	json_array_clear(queue);
	json_array_extend(queue, keep);
	json_decref(keep);
	json_decref(down);
	return failed;
}

size_t notify_deliver(const struct notify_targets *t, json_t *alerts, json_t *firing, json_t *queue)
{
	struct { const char *kind, *url; char *body; } out[] = {
		{ "alertmanager", t->alertmanager, NULL },
		{ "webhook", t->webhook, NULL },
		{ "slack", t->slack, NULL },
	};
	size_t failed = json_array_size(queue) ? retry_queue(t, queue) : 0;

	out[0].body = t->alertmanager ? am_body(alerts, firing) : NULL;
	out[1].body = t->webhook ? webhook_body(alerts) : NULL;
	out[2].body = t->slack ? slack_body(alerts) : NULL;
	for (size_t i = 0; i < 3; i++) {
		if (!out[i].body)
			continue;
		if (!deliver(t, out[i].kind, out[i].body)) {
			enqueue(queue, out[i].kind, out[i].body);
			failed++;
		}
		free(out[i].body);
	}
	return failed;
}
