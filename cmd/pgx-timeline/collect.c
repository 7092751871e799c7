/* collect.c - keep exec/exit spans, container milestones and log matches */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"

void timeline_init(struct timeline *t, const char *init_dir)
{
	memset(t, 0, sizeof(*t));
	t->first_ts = NO_TIME;
	t->ctr.create = t->ctr.start = t->ctr.ready = t->ctr.die = NO_TIME;
	t->build.start = t->build.end = NO_TIME;
	t->init_dir = init_dir;
}

void timeline_free(struct timeline *t)
{
	procs_free(t);
	for (size_t i = 0; i < t->nmarks; i++) {
		free(t->marks[i].rule);
		free(t->marks[i].capture);
	}
	free(t->marks);
	spill_free(&t->line_ts);
	free(t->ctr.image);
	free(t->build.error);
	free(t->build.tag);
	kernel_free(&t->kernel);
}

static void take_exit(struct timeline *t, const json_t *rec, double ts)
{
	take_exit_of(t, pgx_rec_int(rec, "pid", -1), pgx_rec_int(rec, "signal", 0),
		     pgx_rec_int(rec, "code", 0), ts);
}

static const char *capture_of(const json_t *rec)
{
	static const char *const keys[] = { "script", "extension", "worker" };
	json_t *caps = json_object_get(rec, "captures");

	for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++)
		if (json_is_string(json_object_get(caps, keys[i])))
			return json_string_value(json_object_get(caps, keys[i]));
	return NULL;
}

/* The rules bounds.c, scripts.c, extensions.c and analyse.c look for. */
static bool rule_is_analysed(const char *rule, bool marks_ready)
{
	static const char *const rules[] = {
		"initdb_start", "initdb_bootstrap", "initdb_complete", "server_starting", "server_ready",
		"shutdown_request", "server_shutdown", "init_script", "init_complete",
		"create_extension", "extension_created",
	};

	if (marks_ready || !strncmp(rule, "bgworker_", strlen("bgworker_")))
		return true;
	for (size_t i = 0; i < sizeof(rules) / sizeof(*rules); i++)
		if (!strcmp(rule, rules[i]))
			return true;
	return false;
}

/* A match of another rule is kept only for the warning about clocks, which
 * names the first match (in input order) before the start: one earlier
 * than every match before it, as that first one must be. */
static bool mark_is_kept(struct timeline *t, const char *rule, bool marks_ready, double ts)
{
	bool earliest = t->nmatches++ == 0 || ts < t->earliest_match;

	if (earliest)
		t->earliest_match = ts;
	return earliest || rule_is_analysed(rule, marks_ready);
}

static void take_match(struct timeline *t, const json_t *rec, double ts)
{
	struct milestone *m;
	const char *rule = pgx_rec_str(rec, "rule"), *cap;
	bool marks_ready = json_is_true(json_object_get(rec, "marks_ready"));

	if (!rule || !mark_is_kept(t, rule, marks_ready, ts))
		return;
	cap = capture_of(rec);
	GROW(t->marks, t->nmarks, t->marks_cap);
	m = &t->marks[t->nmarks++];
	m->rule = pgx_xstrdup(rule);
	m->capture = cap ? pgx_xstrdup(cap) : NULL;
	m->ts = ts;
	m->pid = pgx_rec_int(rec, "pid", -1);
	m->marks_ready = marks_ready;
}

static void take_container(struct timeline *t, const json_t *rec, double ts)
{
	const char *action = pgx_rec_str(rec, "action"), *image = pgx_rec_str(rec, "image");

	if (!action)
		return;
	if (image && !t->ctr.image)
		t->ctr.image = pgx_xstrdup(image);
	if (!strcmp(action, "create") && t->ctr.create == NO_TIME)
		t->ctr.create = ts;
	else if (!strcmp(action, "start") && t->ctr.start == NO_TIME)
		t->ctr.start = ts;
	else if (!strcmp(action, "ready") && t->ctr.ready == NO_TIME)
		t->ctr.ready = ts;
	else if (!strcmp(action, "die") && t->ctr.die == NO_TIME) {
		t->ctr.die = ts;
		t->ctr.exit_code = (int)pgx_rec_int(rec, "exit_code", -1);
	}
}

/* The first build of the stream; its end is the record with the image id
 * (or the error). */
static void take_build(struct timeline *t, const json_t *rec, double ts)
{
	struct build_info *b = &t->build;
	const char *error = pgx_rec_str(rec, "error");

	if (b->end != NO_TIME)
		return;
	if (b->start == NO_TIME) {
		b->start = ts;
		b->tag = pgx_xstrdup(pgx_rec_str(rec, "tag") ? pgx_rec_str(rec, "tag") : "?");
	}
	if (error) {
		b->error = pgx_xstrdup(error);
		b->end = ts;
	} else if (pgx_rec_str(rec, "image_id")) {
		b->cached = json_is_true(json_object_get(rec, "cached"));
		b->end = ts;
	}
}

/* What every timed record gives: the stream's start, and the log lines'
 * times (a logged CREATE EXTENSION ends by the next line). */
static void take_time(struct timeline *t, bool is_line, double ts)
{
	if (t->first_ts == NO_TIME || ts < t->first_ts)
		t->first_ts = ts;
	if (is_line)
		spill_append(&t->line_ts, &ts, sizeof(ts));
}

bool timeline_take(struct timeline *t, const json_t *rec)
{
	const char *type = pgx_rec_type(rec);
	double ts = pgx_rec_ts(rec);
	bool kernel;

	if (!type || ts < 0)
		return false;
	kernel = kernel_take(&t->kernel, rec, type, ts);
	take_time(t, !strcmp(type, "log") || !strcmp(type, "match"), ts);
	if (!strcmp(type, "exec"))
		take_exec(t, rec, ts);
	else if (!strcmp(type, "exit"))
		take_exit(t, rec, ts);
	else if (!strcmp(type, "match"))
		take_match(t, rec, ts);
	else if (!strcmp(type, "container"))
		take_container(t, rec, ts);
	else if (!strcmp(type, "build"))
		take_build(t, rec, ts);
	else if (!strcmp(type, "lost"))
		t->lost += (unsigned long)pgx_rec_int(rec, "count", 0);
	else
		return kernel;
	return true;
}

/* Asked of every record for several types: the first byte decides most. */
static bool type_is(const struct record_peek *r, const char *type)
{
	return r->type_len && r->type[0] == type[0] && r->type_len == strlen(type) &&
	       !memcmp(r->type, type, r->type_len);
}

/* An open matters only when it is of SHAREDIR/extension/ (kernel.c); the
 * path is not decoded, so a line with any escape is taken whole. */
static bool open_needs_whole(const struct record_peek *r, const char *line, size_t len)
{
	return r->backslash || memmem(line, len, "extension", strlen("extension"));
}

static long peeked_int(const struct record_peek *r, int which, long dflt)
{
	return r->ints[which].is_int ? r->ints[which].value : dflt;
}

/* The types timeline_take() and kernel_take() read more of than the time. */
static bool needs_whole(const struct record_peek *r, const char *line, size_t len)
{
	static const char *const whole[] = {
		"exec", "match", "container", "build", "lost", "fork", "title",
	};

	if (!r->type_plain)
		return true;
	for (size_t i = 0; i < sizeof(whole) / sizeof(*whole); i++)
		if (type_is(r, whole[i]))
			return true;
	return type_is(r, "open") && open_needs_whole(r, line, len);
}

bool timeline_take_peeked(struct timeline *t, const struct record_peek *r, const char *line, size_t len)
{
	if (!r->type || !r->ts_is_number || r->ts < 0)
		return true;	/* timeline_take() would not use it either */
	if (needs_whole(r, line, len))
		return false;
	if (type_is(r, "exit")) {	/* as kernel_take() and timeline_take() have it */
		kernel_take_exit(&t->kernel, peeked_int(r, PEEK_PID, -1), r->ts);
		take_time(t, false, r->ts);
		take_exit_of(t, peeked_int(r, PEEK_PID, -1), peeked_int(r, PEEK_SIGNAL, 0),
			     peeked_int(r, PEEK_CODE, 0), r->ts);
		return true;
	}
	take_time(t, type_is(r, "log"), r->ts);
	return true;
}
