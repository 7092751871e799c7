/* lines.c - CMD's stdout, split into lines without ever blocking
 *
 * pgx_input_next() waits for a whole line, which would stall the ring
 * buffer while CMD writes half a line; this reads what poll() says is
 * there and keeps the rest for next time. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx_trace.h"

#define CHUNK (64u << 10)

struct lines {
	int fd;
	char *buf;
	size_t len, cap;
	unsigned long lineno;
};

struct lines *lines__new(int fd)
{
	struct lines *l = calloc(1, sizeof(*l));

	if (!l)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	l->fd = fd;
	l->cap = CHUNK;
	l->buf = pgx_xmalloc(l->cap + 1);
	return l;
}

int lines__fd(const struct lines *l)
{
	return l->fd;
}

static void hand_out(struct lines *l, char *text, size_t len, bool no_newline,
		     lines_fn fn, void *ctx)
{
	struct pgx_line line = { .text = text, .len = len, .no_newline = no_newline };
	char saved = text[len];

	line.lineno = ++l->lineno;
	text[len] = '\0';
	fn(ctx, &line);
	text[len] = saved;
}

/* Complete lines go out; an over-long line goes out in pieces. */
static void split(struct lines *l, bool at_end, lines_fn fn, void *ctx)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(l->buf + start, '\n', l->len - start))) {
		hand_out(l, l->buf + start, (size_t)(nl - l->buf) - start, false, fn, ctx);
		start = (size_t)(nl - l->buf) + 1;
	}
	if (start < l->len && (at_end || (start == 0 && l->len >= PGX_MAX_LINE_DEFAULT))) {
		hand_out(l, l->buf + start, l->len - start, true, fn, ctx);
		start = l->len;
	}
	memmove(l->buf, l->buf + start, l->len - start);
	l->len -= start;
}

int lines__read(struct lines *l, lines_fn fn, void *ctx)
{
	ssize_t n;
	int reads;

	/* bounded, so that a chatty CMD cannot starve the ring buffer */
	for (reads = 0; reads < 16; reads++) {
		if (l->cap - l->len < CHUNK / 2) {
			l->cap *= 2;
			l->buf = pgx_xrealloc(l->buf, l->cap + 1);
		}
		n = read(l->fd, l->buf + l->len, l->cap - l->len);
		if (n > 0) {
			l->len += (size_t)n;
			split(l, false, fn, ctx);
			continue;
		}
		if (n == 0) {
			split(l, true, fn, ctx);
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return 1;
		pgx_error("reading the command's output: %s", strerror(errno));
		return -1;
	}
	return 1;
}

void lines__free(struct lines *l)
{
	if (!l)
		return;
	free(l->buf);
	free(l);
}
