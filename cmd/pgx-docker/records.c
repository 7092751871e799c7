/* records.c - the records pgx-docker writes: container, log, build */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "docker.h"

static void set_str(json_t *rec, const char *key, const char *value)
{
	if (value)
		json_object_set_new(rec, key, json_string(value));
}

bool emit_container(const struct container_rec *r)
{
	json_t *rec = pgx_record_new("container", r->ts);

	set_str(rec, "action", r->action);
	set_str(rec, "container", r->id);
	set_str(rec, "name", r->name);
	set_str(rec, "image", r->image);
	if (r->pid > 0)
		json_object_set_new(rec, "pid", json_integer(r->pid));
	set_str(rec, "cgroup", r->cgroup);
	if (r->cgroup_id)
		json_object_set_new(rec, "cgroup_id", json_integer((json_int_t)r->cgroup_id));
	set_str(rec, "addr", r->addr);
	if (r->elapsed >= 0 && r->addr)
		pgx_set_ts(rec, "elapsed", r->elapsed);
	if (r->has_exit) {
		json_object_set_new(rec, "exit_code", json_integer(r->exit_code));
		json_object_set_new(rec, "oom_killed", json_boolean(r->oom_killed));
	}
	if (r->error && *r->error)
		set_str(rec, "error", r->error);
	if (r->last_lines)
		json_object_set(rec, "last_lines", r->last_lines);
	return pgx_emit(rec);
}

json_t *log_record(const struct log_rec *r)
{
	json_t *rec = pgx_record_new("log", r->ts);

	set_str(rec, "container", r->container);
	set_str(rec, "stream", r->stream);
	json_object_set_new(rec, "line", pgx_mask_json_text(r->line, r->len));
	return rec;
}

bool emit_log(const struct log_rec *r)
{
	return pgx_emit(log_record(r));
}

bool emit_build(const struct build_rec *r)
{
	json_t *rec = pgx_record_new("build", r->ts);

	set_str(rec, "tag", r->tag);
	if (r->step > 0) {
		json_object_set_new(rec, "step", json_integer(r->step));
		json_object_set_new(rec, "steps", json_integer(r->steps));
	}
	if (r->line)
		json_object_set_new(rec, "line", pgx_mask_json_text(r->line, strlen(r->line)));
	set_str(rec, "error", r->error);
	set_str(rec, "image_id", r->image_id);
	if (r->image_id) {
		json_object_set_new(rec, "cache_hits", json_integer(r->cache_hits));
		json_object_set_new(rec, "cached", json_boolean(r->cached));
	}
	return pgx_emit(rec);
}
