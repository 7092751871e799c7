/* spill.c - what there is one of per exec, exit or log line, kept on disk
 *
 * A stream of millions of records must not cost memory in proportion: the
 * process spans, exits and log line times go to an unlinked temporary file
 * in $TMPDIR (default /tmp) as they come, and are read back in order at the
 * end.  A span is written at its exec and its end patched in place when it
 * exits; most spans are still in the write buffer by then.  A temporary file
 * that cannot be created, written or read ends the run (PGX_EXIT_OUTPUT):
 * nothing is silently lost.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "timeline.h"

#define SPILL_BUF (256u << 10)

static const char *temp_dir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

static void spill_fail(const char *what)
{
	pgx_die(PGX_EXIT_OUTPUT, "%s a temporary file in %s: %s", what, temp_dir(), strerror(errno));
}

/* O_TMPFILE where the file system has it, else a named file unlinked at once. */
static int open_unlinked(const char *dir)
{
	char *path;
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	if (asprintf(&path, "%s/pgx-timeline.XXXXXX", dir) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	free(path);
	return fd;
}

static void spill_create(struct spill *s)
{
	s->fd = open_unlinked(temp_dir());
	if (s->fd < 0)
		spill_fail("cannot create");
	s->buf = pgx_xmalloc(SPILL_BUF);
}

static void write_at(int fd, const char *data, size_t n, off_t at)
{
	while (n) {
		ssize_t w = pwrite(fd, data, n, at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			spill_fail("cannot write");
		}
		data += w;
		n -= (size_t)w;
		at += w;
	}
}

static void spill_flush(struct spill *s)
{
	write_at(s->fd, s->buf, s->len, s->flushed);
	s->flushed += (off_t)s->len;
	s->len = 0;
}

off_t spill_append(struct spill *s, const void *data, size_t n)
{
	off_t at;

	if (!s->buf)
		spill_create(s);
	if (s->len + n > SPILL_BUF)
		spill_flush(s);
	at = s->flushed + (off_t)s->len;
	if (n > SPILL_BUF) {
		write_at(s->fd, data, n, at);
		s->flushed += (off_t)n;
	} else {
		memcpy(s->buf + s->len, data, n);
		s->len += n;
	}
	return at;
}

void spill_patch(struct spill *s, off_t at, const void *data, size_t n)
{
	if (at >= s->flushed)
		memcpy(s->buf + (at - s->flushed), data, n);
	else
		write_at(s->fd, data, n, at);	/* a long-lived process, whose exec went out */
}

void spill_free(struct spill *s)
{
	if (s->buf)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* ---- reading back, from the start ---- */

void spill_rewind(const struct spill *s, struct spill_reader *r)
{
	spill_read_from(s, r, 0, SPILL_BUF);
}

void spill_read_from(const struct spill *s, struct spill_reader *r, off_t at, size_t buf_size)
{
	memset(r, 0, sizeof(*r));
	r->spill = s;
	r->at = at;
	r->cap = buf_size < SPILL_BUF ? buf_size : SPILL_BUF;	/* the write buffer fits */
	if (s->buf)
		r->buf = pgx_xmalloc(r->cap);
}

/* More of the file, then what is still in the write buffer; false at the end. */
static bool refill(struct spill_reader *r)
{
	const struct spill *s = r->spill;
	ssize_t got;

	r->pos = 0;
	if (r->at < s->flushed) {
		do
			got = pread(s->fd, r->buf, r->cap, r->at);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			spill_fail("cannot read");
		if (got == 0) {
			errno = EIO;	/* shorter than what was written */
			spill_fail("cannot read");
		}
		got = got < s->flushed - r->at ? got : s->flushed - r->at;
	} else {
		got = (ssize_t)s->len - (r->at - s->flushed);
		got = got < (ssize_t)r->cap ? got : (ssize_t)r->cap;
		memcpy(r->buf, s->buf + (r->at - s->flushed), (size_t)got);
	}
	r->len = (size_t)got;
	r->at += got;
	return got > 0;
}

/* The next n bytes into data; false at the end of the file. */
bool spill_read(struct spill_reader *r, void *data, size_t n)
{
	char *out = data;
	size_t part;

	if (!r->buf)
		return false;
	for (size_t done = 0; done < n; done += part) {
		if (r->pos == r->len && !refill(r)) {
			if (done)
				pgx_die(PGX_EXIT_INTERNAL, "a temporary file ends in the middle of an entry");
			return false;
		}
		part = r->len - r->pos < n - done ? r->len - r->pos : n - done;
		memcpy(out + done, r->buf + r->pos, part);
		r->pos += part;
	}
	return true;
}

void spill_reader_free(struct spill_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
