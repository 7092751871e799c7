/* input.c - line-oriented reading with line numbers and a bounded length */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pgx.h"

#define READ_CHUNK (256u << 10)
#define FOLLOW_POLL_NS 200000000L

struct pgx_input {
	int fd;
	char *name;
	char *buf;
	size_t cap, start, end;
	size_t max_line;
	unsigned long lineno, errors;
	unsigned long long bytes_read;
	unsigned long long left;	/* bytes of a range still to read (pgx_input_range) */
	bool eof, follow, skipping, ranged;
	/* One memchr over the buffer says which lines hold a NUL byte, not
	 * one per line: the first at or after the last scan's start (SIZE_MAX:
	 * none), and where that scan ended (0: the buffer moved since). */
	size_t nul_at, nul_scanned_to;
};

struct pgx_input *pgx_input_fdopen(int fd, const char *name, size_t max_line)
{
	struct pgx_input *in = calloc(1, sizeof(*in));

	if (!in)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	in->fd = fd;
	in->name = pgx_xstrdup(name);
	in->max_line = max_line ? max_line : PGX_MAX_LINE_DEFAULT;
	in->cap = READ_CHUNK < in->max_line + 1 ? READ_CHUNK : in->max_line + 1;
	in->buf = pgx_xmalloc(in->cap);
	in->nul_at = SIZE_MAX;
	return in;
}

struct pgx_input *pgx_input_open(const char *path, size_t max_line)
{
	bool is_stdin = !path || !strcmp(path, "-");
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pgx_error("cannot open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	return pgx_input_fdopen(fd, is_stdin ? "stdin" : path, max_line);
}

const char *pgx_input_name(const struct pgx_input *in)
{
	return in->name;
}

void pgx_input_follow(struct pgx_input *in, bool follow)
{
	in->follow = follow;
}

bool pgx_input_range(struct pgx_input *in, unsigned long long from, unsigned long long to,
		     unsigned long lines_before)
{
	if (to < from || lseek(in->fd, (off_t)from, SEEK_SET) < 0)
		return false;
	in->ranged = true;
	in->left = to - from;
	in->lineno = lines_before;
	return true;
}

unsigned long pgx_input_lines(const struct pgx_input *in)
{
	return in->lineno;
}

unsigned long pgx_input_errors(const struct pgx_input *in)
{
	return in->errors;
}

unsigned long long pgx_input_bytes(const struct pgx_input *in)
{
	return in->bytes_read - (in->end - in->start);
}

unsigned long long pgx_input_size(const struct pgx_input *in)
{
	struct stat st;

	if (fstat(in->fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return (unsigned long long)st.st_size;
}

void pgx_input_close(struct pgx_input *in)
{
	if (!in)
		return;
	if (in->fd != STDIN_FILENO)
		close(in->fd);
	free(in->name);
	free(in->buf);
	free(in);
}

static void make_room(struct pgx_input *in)
{
	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->start = 0;
		in->nul_scanned_to = 0;
	}
	if (in->end + 1 >= in->cap && in->cap < in->max_line + 1) {
		in->cap = in->cap * 2 < in->max_line + 1 ? in->cap * 2 : in->max_line + 1;
		in->buf = pgx_xrealloc(in->buf, in->cap);
	}
}

static bool would_block(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* 1 data read, 0 end of input (or stop signal), -1 error */
static int fill(struct pgx_input *in)
{
	static const struct timespec pause = { 0, FOLLOW_POLL_NS };
	size_t room;
	ssize_t n;

	make_room(in);
	room = in->cap - in->end - 1;
	if (in->ranged && room > in->left)
		room = (size_t)in->left;
	for (;;) {
		if (pgx_stop_signal || (in->ranged && !room))
			return 0;
		pgx_output_hold(!would_block(in->fd));
		n = read(in->fd, in->buf + in->end, room);
		if (n > 0) {
			in->end += (size_t)n;
			in->bytes_read += (unsigned long long)n;
			in->left -= in->ranged ? (unsigned long long)n : 0;
			return 1;
		}
		pgx_output_hold(false);
		if (n == 0 && !in->follow)
			return 0;
		if (n == 0)
			nanosleep(&pause, NULL);
		else if (errno != EINTR) {
			pgx_error("%s: read error: %s", in->name, strerror(errno));
			in->errors++;
			return -1;
		}
	}
}

/* Before set_line() ends the line with a NUL of its own. */
static bool nul_free(struct pgx_input *in, size_t len)
{
	if (in->nul_at < in->start || in->nul_scanned_to < in->start + len) {
		const char *p = memchr(in->buf + in->start, '\0', in->end - in->start);
		in->nul_at = p ? (size_t)(p - in->buf) : SIZE_MAX;
		in->nul_scanned_to = in->end;
	}
	return in->nul_at >= in->start + len;
}

static void set_line(struct pgx_input *in, struct pgx_line *line, size_t len, bool no_newline)
{
	line->nul_free = nul_free(in, len);
	line->text = in->buf + in->start;
	line->text[len] = '\0';
	line->len = len;
	line->lineno = ++in->lineno;
	line->no_newline = no_newline;
	in->start += len + !no_newline;
}

static void skip_long_line(struct pgx_input *in)
{
	pgx_error("%s:%lu: line longer than %zu bytes, skipped", in->name, ++in->lineno, in->max_line);
	in->errors++;
	in->skipping = true;
	in->start = in->end = in->nul_scanned_to = 0;
}

int pgx_input_next(struct pgx_input *in, struct pgx_line *line)
{
	int got;

	for (;;) {
		char *nl = memchr(in->buf + in->start, '\n', in->end - in->start);

		if (nl && in->skipping) {
			in->start = (size_t)(nl - in->buf) + 1;
			in->skipping = false;
			continue;
		}
		if (nl) {
			set_line(in, line, (size_t)(nl - in->buf) - in->start, false);
			return 1;
		}
		if (in->end - in->start >= in->max_line) {
			if (in->skipping)
				in->start = in->end = in->nul_scanned_to = 0;
			else
				skip_long_line(in);
		}
		if (in->eof || (got = fill(in)) == 0) {
			in->eof = true;
			if (in->end == in->start || in->skipping)
				return 0;
			set_line(in, line, in->end - in->start, true);
			return 1;
		}
		if (got < 0)
			return -1;
	}
}

size_t pgx_input_buffered(const struct pgx_input *in, const char **text)
{
	*text = in->buf + in->start;
	return in->skipping ? 0 : in->end - in->start;
}

void pgx_input_consume(struct pgx_input *in, size_t bytes, unsigned long lines)
{
	in->start += bytes;
	in->lineno += lines;
}

json_t *pgx_json_parse_line(const struct pgx_line *line, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *rec;
	size_t i = 0;

	if (err && errlen)
		err[0] = '\0';
	if (memchr(line->text, '\0', line->len)) {
		/* jansson would name some later column; C strings would cut here */
		if (err)
			snprintf(err, errlen, "NUL byte in line");
		return NULL;
	}
	while (i < line->len && (line->text[i] == ' ' || line->text[i] == '\t'))
		i++;
	if (i == line->len || line->text[i] != '{')
		return NULL;
	rec = json_loadb(line->text, line->len, JSON_ALLOW_NUL, &jerr);
	if (!rec && err)
		snprintf(err, errlen, "invalid JSON at column %d: %s", jerr.column, jerr.text);
	return rec;
}

static bool is_blank(const struct pgx_line *line)
{
	return line->len == strspn(line->text, " \t\r");
}

int pgx_ndjson_next_line(struct pgx_input *in, struct pgx_line *line)
{
	int got;

	while ((got = pgx_input_next(in, line)) == 1 && is_blank(line))
		;
	return got;
}

json_t *pgx_ndjson_parse(struct pgx_input *in, const struct pgx_line *line)
{
	char err[256];
	json_t *rec = pgx_json_parse_line(line, err, sizeof(err));

	if (!rec) {
		pgx_error("%s:%lu: %s", in->name, line->lineno, err[0] ? err : "not a JSON object");
		in->errors++;
	}
	return rec;
}

int pgx_ndjson_next(struct pgx_input *in, struct pgx_line *line, json_t **rec)
{
	int got;

	while ((got = pgx_ndjson_next_line(in, line)) == 1)
		if ((*rec = pgx_ndjson_parse(in, line)))
			return 1;
	return got;
}
