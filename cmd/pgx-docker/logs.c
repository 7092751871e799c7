/* logs.c - log lines as records; the logs and inspect subcommands */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "docker.h"

struct log_sink {
	const char *container;	/* borrowed id */
	bool quiet;
	struct log_demux *demux;
	json_t *last;		/* the last DOCKER_LAST_LINES lines, oldest first */
	double hold_after;	/* < 0: nothing held */
	json_t *held;		/* log records stamped after hold_after */
	unsigned long lines;	/* lines taken so far */
	unsigned long skip;	/* lines to drop: already taken before a re-read */
	bool raw;
	bool write_failed;
};

static void remember(struct log_sink *s, const char *text, size_t len)
{
	json_array_append_new(s->last, pgx_mask_json_text(text, len));
	while (json_array_size(s->last) > DOCKER_LAST_LINES)
		json_array_remove(s->last, 0);
}

static bool on_line(void *ctx, const struct log_line *line)
{
	struct log_sink *s = ctx;
	struct log_rec r = {
		.ts = line->ts, .container = s->container, .stream = line->stream,
		.line = line->text, .len = line->len,
	};

	if (s->skip) {
		s->skip--;
		return true;
	}
	s->lines++;
	remember(s, line->text, line->len);
	if (s->quiet)
		return true;
	if (s->hold_after >= 0 && line->ts > s->hold_after) {
		json_array_append_new(s->held, log_record(&r));
		return true;
	}
	if (!emit_log(&r))
		s->write_failed = true;
	return !s->write_failed;
}

struct log_sink *log_sink_new(const struct container_info *ci, bool quiet)
{
	struct log_sink *s = pgx_xmalloc(sizeof(*s));

	memset(s, 0, sizeof(*s));
	s->container = ci->id;
	s->quiet = quiet;
	s->raw = ci->tty;
	s->demux = log_demux_new(ci->tty, on_line, s);
	s->last = json_array();
	s->held = json_array();
	s->hold_after = -1;
	return s;
}

bool log_sink_data(void *sink, const char *data, size_t len)
{
	struct log_sink *s = sink;

	return log_demux_feed(s->demux, data, len);
}

bool log_sink_flush(struct log_sink *s)
{
	return log_demux_flush(s->demux);
}

void log_sink_hold(struct log_sink *s, double ts)
{
	s->hold_after = ts;
}

bool log_sink_holding_later(const struct log_sink *s)
{
	return json_array_size(s->held) > 0;
}

bool log_sink_release(struct log_sink *s)
{
	size_t i;
	json_t *rec;

	s->hold_after = -1;
	json_array_foreach(s->held, i, rec)
		if (!s->write_failed && !pgx_emit(json_incref(rec)))
			s->write_failed = true;
	json_array_clear(s->held);
	return !s->write_failed;
}

json_t *log_sink_last_lines(const struct log_sink *s)
{
	return s->last;
}

bool log_sink_write_failed(const struct log_sink *s)
{
	return s->write_failed;
}

void log_sink_free(struct log_sink *s)
{
	if (!s)
		return;
	log_demux_free(s->demux);
	json_decref(s->last);
	json_decref(s->held);
	free(s);
}

void logs_path(char *buf, size_t len, const char *id, bool follow, int tail)
{
	char tail_arg[32] = "";

	if (tail > 0)
		snprintf(tail_arg, sizeof(tail_arg), "&tail=%d", tail);
	snprintf(buf, len, "/containers/%s/logs?stdout=1&stderr=1&timestamps=1&follow=%d%s",
		 id, follow ? 1 : 0, tail_arg);
}

/* Pump a log stream into the sink until it ends or a signal comes. */
static int pump(struct docker *d, const char *path, struct log_sink *s)
{
	struct docker_follow *f = docker_follow_start(d, path, log_sink_data, s);
	int status = PGX_EXIT_OK;

	while (!pgx_stop_signal && docker_follow_step(f, 200))
		;
	if (docker_follow_failed(f))
		status = PGX_EXIT_CONNECT;
	docker_follow_end(f);
	if (!pgx_stop_signal)
		log_sink_flush(s);
	if (log_sink_write_failed(s))
		status = PGX_EXIT_OUTPUT;
	else if (pgx_stop_signal)
		status = PGX_EXIT_INTERRUPTED;
	return status;
}

/* Docker ends a follow stream when the container stops, sometimes before it
 * has logged the last line (a final line without newline, flushed at EOF).
 * Read the whole log again and take only the lines not taken yet. */
int log_sink_catch_up(struct docker *d, struct log_sink *s, const char *id)
{
	char path[512];
	int status;

	log_demux_free(s->demux);
	s->demux = log_demux_new(s->raw, on_line, s);
	s->skip = s->lines;
	logs_path(path, sizeof(path), id, false, 0);
	status = pump(d, path, s);
	s->skip = 0;
	return status;
}

int docker_logs(struct docker *d, const char *container, bool follow)
{
	struct container_info ci;
	struct log_sink *s;
	char path[512];
	int status;

	if ((status = container_info_get(d, container, &ci)) != PGX_EXIT_OK)
		return status;
	s = log_sink_new(&ci, false);
	logs_path(path, sizeof(path), ci.id, follow, 0);
	status = pump(d, path, s);
	if (follow && status == PGX_EXIT_OK)
		status = log_sink_catch_up(d, s, ci.id);
	log_sink_free(s);
	container_info_free(&ci);
	return status;
}

bool emit_die(struct docker *d, const struct container_info *ci, json_t *last_lines)
{
	struct container_rec r = {
		.ts = ci->finished, .action = "die", .id = ci->id, .name = ci->name,
		.image = ci->image, .elapsed = -1, .has_exit = true,
		.exit_code = ci->exit_code, .oom_killed = ci->oom_killed, .error = ci->error,
	};
	struct log_sink *s = NULL;
	char path[512];
	bool ok;

	if (!last_lines) {
		s = log_sink_new(ci, true);
		logs_path(path, sizeof(path), ci->id, false, DOCKER_LAST_LINES);
		pump(d, path, s);
		last_lines = log_sink_last_lines(s);
	}
	r.last_lines = last_lines;
	ok = emit_container(&r);
	log_sink_free(s);
	return ok;
}

/* The records a container's history allows: create, start, and die when it
 * has stopped. */
int docker_inspect(struct docker *d, const char *container)
{
	struct container_info ci;
	struct container_rec create = { .action = "create", .elapsed = -1 };
	int status;
	bool ok;

	if ((status = container_info_get(d, container, &ci)) != PGX_EXIT_OK)
		return status;
	create.ts = ci.created;
	create.id = ci.id, create.name = ci.name, create.image = ci.image;
	ok = emit_container(&create);
	if (ok && ci.started > 0)
		ok = emit_start(&ci);
	if (ok && !ci.running && ci.started > 0 && ci.finished > 0)
		ok = emit_die(d, &ci, NULL);
	container_info_free(&ci);
	return ok ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}
