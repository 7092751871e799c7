/* records.c - one NDJSON record per kernel event
 *
 * Kernel events are written field by field (pgx_flat_*): thousands a
 * second, on the CPUs the traced programs need.  The rarer records are
 * built with jansson. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pgx_mask.h"
#include "pgx_trace.h"
#include "trace.h"

static void set_int(json_t *rec, const char *key, long long v)
{
	json_object_set_new_nocheck(rec, key, json_integer(v));
}

static void flat_text(const char *key, const char *s, size_t max)
{
	pgx_flat_text(key, s, strnlen(s, max));
}

static void flat_bool(const char *key, bool v)
{
	pgx_flat_literal(key, v ? "true" : "false");
}

static void record_base(const char *type, const struct pgxt_hdr *h, double ts)
{
	pgx_flat_begin(type, ts);
	pgx_flat_int("pid", h->pid);
	flat_text("comm", h->comm, sizeof(h->comm));
	pgx_flat_int("cgroup_id", (long long)h->cgroup_id);
}

static bool memmem_nocase(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (!strncasecmp(hay + i, needle, n))
			return true;
	return false;
}

static bool names_secret(const char *key, size_t len)
{
	static const char *const words[] = { "password", "passwd", "secret", "token" };

	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (memmem_nocase(key, len, words[i]))
			return true;
	return false;
}

/* Replace arg[from, to) with "***" in place (never longer: 3 or fewer
 * characters are starred one for one). */
static void blank_range(char *arg, size_t from, size_t to)
{
	if (to - from <= 3) {
		memset(arg + from, '*', to - from);
		return;
	}
	memcpy(arg + from, "***", 3);
	memmove(arg + from + 3, arg + to, strlen(arg + to) + 1);
}

/* An argument without the secrets only an argument list has: KEY=VALUE
 * where KEY names one (-e POSTGRES_PASSWORD=..., --password=...), or the
 * whole argument after --password. */
static void mask_arg(char *arg, bool after_secret_flag)
{
	char *eq = strchr(arg, '=');

	if (after_secret_flag)
		blank_range(arg, 0, strlen(arg));
	else if (eq && names_secret(arg, (size_t)(eq - arg)) && !strchr(arg, ' '))
		blank_range(arg, (size_t)(eq + 1 - arg), strlen(arg));
}

static bool is_secret_flag(const char *arg)
{
	return arg[0] == '-' && !strchr(arg, '=') && names_secret(arg, strlen(arg));
}

static json_t *argv_array(const struct pgxt_exec *e, size_t size)
{
	size_t avail = size - offsetof(struct pgxt_exec, args), off = 0, len;
	json_t *argv = json_array();
	bool after_secret_flag = false;
	unsigned int i;

	if (avail > e->args_size)
		avail = e->args_size;
	for (i = 0; i < e->args_count && off < avail; i++) {
		char *arg;

		len = strnlen(e->args + off, avail - off);
		arg = strndup(e->args + off, len);
		if (!arg)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		mask_arg(arg, after_secret_flag);
		after_secret_flag = is_secret_flag(arg);
		/* and what pgx_mask knows: conninfo, URIs, PASSWORD '...' in SQL */
		json_array_append_new(argv, pgx_mask_json_text(arg, strlen(arg)));
		free(arg);
		off += len + 1;
	}
	return argv;
}

static bool exec_record(const struct pgxt_exec *e, size_t size, double ts)
{
	json_t *argv = argv_array(e, size);

	record_base("exec", &e->hdr, ts);
	pgx_flat_int("ppid", e->ppid);
	flat_text("filename", e->filename, sizeof(e->filename));
	pgx_flat_json("argv", argv);
	flat_bool("argv_truncated", e->flags & TRACE_EXEC_ARGV_TRUNCATED);
	json_decref(argv);
	return true;
}

static bool open_wanted(const struct record_opts *o, const char *path)
{
	char **g;

	if (!o->open_globs || !o->open_globs[0])
		return true;
	for (g = o->open_globs; *g; g++)
		if (fnmatch(*g, path, 0) == 0)
			return true;
	return false;
}

static void errno_name(int err)
{
	const char *name = strerrorname_np(err);
	char unknown[24];

	if (!name) {
		snprintf(unknown, sizeof(unknown), "E%d", err);
		name = unknown;
	}
	pgx_flat_str("errno", name, strlen(name));
}

/* size: the record's, which holds a short path or a full one */
static bool open_record(const struct record_opts *o, const struct pgxt_open *e, size_t size,
			double ts)
{
	size_t room = size - offsetof(struct pgxt_open, path);
	size_t len = strnlen(e->path, room < sizeof(e->path) ? room : sizeof(e->path) - 1);
	char path[TRACE_PATH_LEN];

	memcpy(path, e->path, len);
	path[len] = '\0';
	if (!open_wanted(o, path))
		return false;
	record_base("open", &e->hdr, ts);
	pgx_flat_int("tid", e->hdr.tid);
	pgx_flat_text("path", path, len);
	pgx_flat_int("flags", e->flags);
	pgx_flat_int("result", e->ret);
	if (e->ret < 0)
		errno_name(-e->ret);
	return true;
}

static bool fork_record(const struct pgxt_fork *e, double ts)
{
	pgx_flat_begin("fork", ts);
	pgx_flat_int("parent_pid", e->parent_pid);
	pgx_flat_int("child_pid", e->child_pid);
	flat_text("comm", e->hdr.comm, sizeof(e->hdr.comm));
	pgx_flat_int("cgroup_id", (long long)e->hdr.cgroup_id);
	return true;
}

static bool exit_record(const struct pgxt_exit *e, double ts)
{
	record_base("exit", &e->hdr, ts);
	pgx_flat_int("code", e->code);
	pgx_flat_int("signal", e->signal);
	flat_bool("core_dumped", e->core_dumped);
	return true;
}

bool record_from_event(const struct record_opts *o, const void *data, size_t size,
		       double *ts)
{
	const struct pgxt_hdr *h = data;

	if (size < sizeof(*h))
		return false;
	*ts = pgx_round_us(trace_clock__epoch(o->clock, h->ts_ns));
	switch (h->type) {
	case TRACE_EXEC:
		return size >= offsetof(struct pgxt_exec, args) && exec_record(data, size, *ts);
	case TRACE_OPEN:
		return size >= offsetof(struct pgxt_open, path) && open_record(o, data, size, *ts);
	case TRACE_FORK:
		return size >= sizeof(struct pgxt_fork) && fork_record(data, *ts);
	case TRACE_EXIT:
		return size >= sizeof(struct pgxt_exit) && exit_record(data, *ts);
	}
	return false;
}

json_t *record_lost(double ts, unsigned long long count)
{
	json_t *rec = pgx_record_new("lost", ts);

	set_int(rec, "count", (long long)count);
	return rec;
}

json_t *record_log(double ts, const char *line, size_t len)
{
	json_t *rec = pgx_record_new("log", ts);

	json_object_set_new(rec, "line", pgx_mask_json_text(line, len));
	json_object_set_new(rec, "stream", json_string("stdout"));
	return rec;
}

json_t *record_title(double ts, pid_t pid, pid_t ppid, const char *title)
{
	json_t *rec = pgx_record_new("title", ts);

	set_int(rec, "pid", pid);
	set_int(rec, "ppid", ppid);
	json_object_set_new(rec, "title", pgx_json_text(title, strlen(title), NULL));
	return rec;
}
