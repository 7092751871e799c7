/* build.c - pgx-docker build: the context as a tar (libarchive), POST /build,
 * the daemon's output as build records */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <archive.h>
#include <archive_entry.h>
#include "pgx.h"
#include "docker.h"

/* The Dockerfile travels inside the context under this name. */
#define DOCKERFILE_ENTRY ".pgx-docker.Dockerfile"

struct tarball {
	char *data;
	size_t len, cap;
};

static void tarball_add(struct tarball *t, const void *buf, size_t len)
{
	if (t->len + len > t->cap) {
		t->cap = (t->len + len) * 2;
		t->data = pgx_xrealloc(t->data, t->cap);
	}
	memcpy(t->data + t->len, buf, len);
	t->len += len;
}

static la_ssize_t tar_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
	tarball_add(ctx, buf, len);
	return (la_ssize_t)len;
}

static bool copy_file(struct archive *out, const char *path)
{
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f) {
		pgx_error("cannot open \"%s\": %s", path, strerror(errno));
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (archive_write_data(out, buf, n) < 0) {
			pgx_error("cannot add \"%s\" to the build context: %s", path,
				  archive_error_string(out));
			fclose(f);
			return false;
		}
	if (ferror(f))
		pgx_error("cannot read \"%s\": %s", path, strerror(errno));
	n = (size_t)ferror(f);
	fclose(f);
	return n == 0;
}

/* Entries are named relative to the context; the context itself is skipped. */
static bool add_entry(struct archive *out, struct archive_entry *e, const char *dir)
{
	const char *src = archive_entry_sourcepath(e);
	const char *name = archive_entry_pathname(e);
	size_t dlen = strlen(dir);
	bool ok = true;

	if (!strncmp(name, dir, dlen) && name[dlen] == '/')
		name += dlen + 1;
	else if (!strcmp(name, dir))
		return true;
	archive_entry_set_pathname(e, name);
	if (archive_write_header(out, e) != ARCHIVE_OK) {
		pgx_error("cannot add \"%s\" to the build context: %s", src, archive_error_string(out));
		return false;
	}
	if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0)
		ok = copy_file(out, src);
	return ok;
}

static bool add_context(struct archive *out, const char *dir)
{
	struct archive *disk = archive_read_disk_new();
	struct archive_entry *e;
	bool ok = true;
	int r;

	archive_read_disk_set_standard_lookup(disk);
	if (archive_read_disk_open(disk, dir) != ARCHIVE_OK) {
		pgx_error("cannot read build context \"%s\": %s", dir, archive_error_string(disk));
		archive_read_free(disk);
		return false;
	}
	while (ok) {
		e = archive_entry_new();
		r = archive_read_next_header2(disk, e);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(e);
			break;
		}
		if (r != ARCHIVE_OK) {
			pgx_error("cannot read build context \"%s\": %s", dir, archive_error_string(disk));
			ok = false;
		} else {
			archive_read_disk_descend(disk);
			ok = add_entry(out, e, dir);
		}
		archive_entry_free(e);
	}
	archive_read_free(disk);
	return ok;
}

static bool add_dockerfile(struct archive *out, const char *path)
{
	struct archive_entry *e = archive_entry_new();
	struct tarball content = { 0 };
	char buf[65536];
	size_t n;
	bool ok;
	FILE *f = fopen(path, "rb");

	if (!f) {
		pgx_error("cannot open Dockerfile \"%s\": %s", path, strerror(errno));
		archive_entry_free(e);
		return false;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		tarball_add(&content, buf, n);
	ok = !ferror(f);
	fclose(f);
	if (!ok)
		pgx_error("cannot read Dockerfile \"%s\"", path);
	archive_entry_set_pathname(e, DOCKERFILE_ENTRY);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)content.len);
	ok = ok && archive_write_header(out, e) == ARCHIVE_OK &&
	     (!content.len || archive_write_data(out, content.data, content.len) >= 0);
	archive_entry_free(e);
	free(content.data);
	return ok;
}

static bool make_context(const struct build_opts *o, struct tarball *t)
{
	struct archive *out = archive_write_new();
	bool ok;

	archive_write_set_format_pax_restricted(out);
	archive_write_set_bytes_in_last_block(out, 1);
	if (archive_write_open(out, t, NULL, tar_write, NULL) != ARCHIVE_OK)
		pgx_die(PGX_EXIT_INTERNAL, "libarchive: %s", archive_error_string(out));
	ok = add_context(out, o->context) && add_dockerfile(out, o->dockerfile);
	ok = archive_write_close(out) == ARCHIVE_OK && ok;
	archive_write_free(out);
	return ok;
}

struct build_state {
	const struct build_opts *o;
	struct tarball pending;	/* a partial JSON line */
	long step, steps;
	long from_steps;	/* FROM steps: never cached, never built */
	long cache_hits;	/* steps the daemon took from its cache */
	char *image_id;
	char *error;
	bool write_failed;
	struct pgx_progress progress;
};

/* "build TAG: step 3/12, 0:42"; a new step shows at once, the clock when due. */
static void show_progress(struct build_state *b, bool new_step)
{
	char elapsed[32];

	if (!new_step && !pgx_progress_due(&b->progress))
		return;
	pgx_progress_format_duration(elapsed, sizeof(elapsed), pgx_progress_elapsed(&b->progress));
	if (b->steps > 0)
		pgx_progress_show(&b->progress, "build %s: step %ld/%ld, %s", b->o->tag, b->step,
				  b->steps, elapsed);
	else
		pgx_progress_show(&b->progress, "build %s: %s", b->o->tag, elapsed);
}

/* "Step N/M : INSTRUCTION ...", and " ---> Using cache" after a cached one. */
static void note_step(struct build_state *b, const char *line)
{
	long step, steps;
	int at = 0;

	if (sscanf(line, "Step %ld/%ld : %n", &step, &steps, &at) == 2 && at > 0) {
		b->step = step, b->steps = steps;
		if (!strncasecmp(line + at, "FROM ", 5))
			b->from_steps++;
	} else if (strstr(line, "---> Using cache")) {
		b->cache_hits++;
	}
}

/* {"stream":"..."} may hold several lines, or part of one. */
static void emit_output(struct build_state *b, const char *text)
{
	char *copy = pgx_xstrdup(text), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct build_rec r = { .ts = -1, .tag = b->o->tag };

		long step_before = b->step;

		line[strcspn(line, "\r")] = '\0';
		if (!*line)
			continue;
		note_step(b, line);
		r.step = b->step, r.steps = b->steps, r.line = line;
		if (!emit_build(&r))
			b->write_failed = true;
		show_progress(b, b->step != step_before);
	}
	free(copy);
}

static void handle_message(struct build_state *b, const json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "stream"));
	const char *status = json_string_value(json_object_get(msg, "status"));
	const char *error = json_string_value(json_object_get(msg, "error"));
	const char *id = json_string_value(json_object_get(json_object_get(msg, "aux"), "ID"));

	if (text)
		emit_output(b, text);
	if (status)
		emit_output(b, status);
	if (id && !b->image_id)
		b->image_id = pgx_xstrdup(id);
	if (error && !b->error) {
		struct build_rec r = { .ts = -1, .tag = b->o->tag, .step = b->step,
				       .steps = b->steps, .error = error };
		b->error = pgx_xstrdup(error);
		if (!emit_build(&r))
			b->write_failed = true;
	}
}

static bool on_build_data(void *ctx, const char *data, size_t len)
{
	struct build_state *b = ctx;
	char *start, *nl;

	tarball_add(&b->pending, data, len);
	start = b->pending.data;
	while ((nl = memchr(start, '\n', b->pending.len - (size_t)(start - b->pending.data)))) {
		json_t *msg = json_loadb(start, (size_t)(nl - start), 0, NULL);

		if (msg)
			handle_message(b, msg);
		json_decref(msg);
		start = nl + 1;
	}
	b->pending.len -= (size_t)(start - b->pending.data);
	memmove(b->pending.data, start, b->pending.len);
	return !b->write_failed;
}

static int finish_build(struct build_state *b, long status)
{
	struct build_rec r = { .ts = -1, .tag = b->o->tag, .step = b->step, .steps = b->steps };

	if (status < 0)
		return PGX_EXIT_CONNECT;
	if (b->write_failed)
		return PGX_EXIT_OUTPUT;
	if (status >= 300)
		return PGX_EXIT_FAILED;
	if (b->error) {
		pgx_error("build of \"%s\" failed: %s", b->o->tag, b->error);
		return PGX_EXIT_FAILED;
	}
	r.image_id = b->image_id;
	r.cache_hits = b->cache_hits;
	r.cached = b->steps > 0 && b->cache_hits >= b->steps - b->from_steps;
	return emit_build(&r) ? PGX_EXIT_OK : PGX_EXIT_OUTPUT;
}

int docker_build(struct docker *d, const struct build_opts *o)
{
	struct tarball ctx = { 0 };
	struct build_state b = { .o = o };
	char path[1024];
	char *tag;
	long status;
	int rc;

	if (!make_context(o, &ctx)) {
		free(ctx.data);
		return PGX_EXIT_INPUT;
	}
	tag = docker_escape(d, o->tag);
	snprintf(path, sizeof(path), "/build?t=%s&dockerfile=%s&rm=1&forcerm=1", tag,
		 DOCKERFILE_ENTRY);
	free(tag);
	pgx_progress_start(&b.progress, o->progress);
	status = docker_stream(d, "POST", path, "application/x-tar", ctx.data, ctx.len,
			       on_build_data, &b);
	pgx_progress_end(&b.progress);
	rc = pgx_stop_signal ? PGX_EXIT_INTERRUPTED : finish_build(&b, status);
	free(ctx.data);
	free(b.pending.data);
	free(b.image_id);
	free(b.error);
	return rc;
}
