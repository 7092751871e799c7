/* stream.c - Docker's multiplexed log stream split into timestamped lines.
 *
 * Without a TTY every frame starts with an 8-byte header: the stream (1 stdout,
 * 2 stderr), three zero bytes, and the payload length as a big-endian uint32.
 * With timestamps=1 every line starts with Docker's RFC 3339 time and a space. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "docker.h"

#define HEADER_LEN 8

struct line_buf {
	char *data;
	size_t len, cap;
};

struct log_demux {
	bool raw;
	unsigned char header[HEADER_LEN];
	size_t header_len;
	size_t frame_left;	/* payload bytes still to come in this frame */
	int frame_stream;	/* 1 stdout, 2 stderr */
	struct line_buf lines[2];
	log_line_fn fn;
	void *ctx;
};

struct log_demux *log_demux_new(bool raw, log_line_fn fn, void *ctx)
{
	struct log_demux *m = pgx_xmalloc(sizeof(*m));

	memset(m, 0, sizeof(*m));
	m->raw = raw;
	m->fn = fn;
	m->ctx = ctx;
	m->frame_stream = 1;
	return m;
}

void log_demux_free(struct log_demux *m)
{
	if (!m)
		return;
	free(m->lines[0].data);
	free(m->lines[1].data);
	free(m);
}

static int digits(const char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

double docker_parse_time(const char *s, size_t len, size_t *used)
{
	struct tm tm = { 0 };
	double frac = 0, scale = 0.1;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return -1;
	tm.tm_year = digits(s, 4) - 1900;
	tm.tm_mon = digits(s + 5, 2) - 1;
	tm.tm_mday = digits(s + 8, 2);
	tm.tm_hour = digits(s + 11, 2);
	tm.tm_min = digits(s + 14, 2);
	tm.tm_sec = digits(s + 17, 2);
	if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mday < 1 || tm.tm_hour < 0 ||
	    tm.tm_min < 0 || tm.tm_sec < 0)
		return -1;	/* also Docker's zero time, 0001-01-01 */
	if (s[i] == '.')
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
			frac += (s[i] - '0') * scale;
	if (i >= len || s[i] != 'Z')
		return -1;	/* Docker writes UTC only */
	if (used)
		*used = i + 1;
	return (double)timegm(&tm) + frac;
}

/* One complete line: split off the timestamp, hand it on. */
static bool deliver_line(struct log_demux *m, int stream, const char *text, size_t len)
{
	struct log_line line = { .ts = -1, .stream = stream == 2 ? "stderr" : "stdout" };
	size_t used = 0;

	if (len && text[len - 1] == '\r')
		len--;
	line.ts = docker_parse_time(text, len, &used);
	if (line.ts >= 0 && used < len && text[used] == ' ')
		text += used + 1, len -= used + 1;
	else if (line.ts >= 0)
		text += used, len -= used;
	line.text = text;
	line.len = len;
	return m->fn(m->ctx, &line);
}

static bool add_payload(struct log_demux *m, int stream, const char *data, size_t len)
{
	struct line_buf *b = &m->lines[stream == 2];
	const char *nl;

	while ((nl = memchr(data, '\n', len))) {
		size_t part = (size_t)(nl - data);
		bool ok;

		if (b->len) {
			if (b->len + part > b->cap)
				b->data = pgx_xrealloc(b->data, b->cap = (b->len + part) * 2);
			memcpy(b->data + b->len, data, part);
			ok = deliver_line(m, stream, b->data, b->len + part);
			b->len = 0;
		} else
			ok = deliver_line(m, stream, data, part);
		if (!ok)
			return false;
		data += part + 1;
		len -= part + 1;
	}
	if (len) {
		if (b->len + len > b->cap)
			b->data = pgx_xrealloc(b->data, b->cap = (b->len + len) * 2);
		memcpy(b->data + b->len, data, len);
		b->len += len;
	}
	return true;
}

bool log_demux_feed(struct log_demux *m, const char *data, size_t len)
{
	if (m->raw)
		return add_payload(m, 1, data, len);
	while (len) {
		if (!m->frame_left) {
			size_t take = HEADER_LEN - m->header_len;

			if (take > len)
				take = len;
			memcpy(m->header + m->header_len, data, take);
			m->header_len += take;
			data += take, len -= take;
			if (m->header_len < HEADER_LEN)
				break;
			m->header_len = 0;
			/* 0 stdin and 1 stdout read as stdout; 2 stderr and 3 (the
			 * daemon's own errors) as stderr. */
			m->frame_stream = m->header[0] >= 2 ? 2 : 1;
			m->frame_left = (size_t)m->header[4] << 24 | (size_t)m->header[5] << 16 |
					(size_t)m->header[6] << 8 | m->header[7];
			continue;
		}
		size_t take = m->frame_left < len ? m->frame_left : len;

		if (!add_payload(m, m->frame_stream, data, take))
			return false;
		m->frame_left -= take;
		data += take, len -= take;
	}
	return true;
}

bool log_demux_flush(struct log_demux *m)
{
	for (int i = 0; i < 2; i++) {
		struct line_buf *b = &m->lines[i];

		if (b->len) {
			size_t len = b->len;

			b->len = 0;
			if (!deliver_line(m, i + 1, b->data, len))
				return false;
		}
	}
	return true;
}
