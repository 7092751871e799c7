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

#define PER_LINE_TS (-2.0)	/* raw stream: each line starts with its time */
#define MAX_FRAME (1u << 20)	/* larger frames are passed on in pieces */

struct line_buf {
	char *data;
	size_t len, cap;
	double ts;		/* time of the message the line started in */
};

struct log_demux {
	bool raw;
	unsigned char header[HEADER_LEN];
	size_t header_len;
	size_t frame_left;	/* payload bytes still to come in this frame */
	int frame_stream;	/* 1 stdout, 2 stderr */
	struct line_buf frame;	/* the frame's payload so far */
	bool frame_split;	/* too large to hold: passed on in pieces */
	struct line_buf lines[2];
	log_line_fn fn;
	void *ctx;
};

static void buf_add(struct line_buf *b, const char *data, size_t len)
{
	if (b->len + len > b->cap)
		b->data = pgx_xrealloc(b->data, b->cap = (b->len + len) * 2);
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

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
	free(m->frame.data);
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

/* One complete line, with the time of the message it started in. */
static bool deliver_line(struct log_demux *m, int stream, double ts, const char *text, size_t len)
{
	struct log_line line = { .ts = ts, .stream = stream == 2 ? "stderr" : "stdout" };
	size_t used = 0;

	if (ts == PER_LINE_TS) {
		line.ts = docker_parse_time(text, len, &used);
		if (line.ts >= 0)
			used += used < len && text[used] == ' ';
		text += used, len -= used;
	}
	if (len && text[len - 1] == '\r')
		len--;
	line.text = text;
	line.len = len;
	return m->fn(m->ctx, &line);
}

/* Text of one message (or of a raw stream) split into lines; a line may span
 * messages when Docker split a long one into partial messages. */
static bool add_payload(struct log_demux *m, int stream, double ts, const char *data, size_t len)
{
	struct line_buf *b = &m->lines[stream == 2];
	const char *nl;

	while ((nl = memchr(data, '\n', len))) {
		size_t part = (size_t)(nl - data);
		bool ok;

		if (b->len) {
			buf_add(b, data, part);
			ok = deliver_line(m, stream, b->ts, b->data, b->len);
			b->len = 0;
		} else
			ok = deliver_line(m, stream, ts, data, part);
		if (!ok)
			return false;
		data += part + 1;
		len -= part + 1;
	}
	if (len) {
		if (!b->len)
			b->ts = ts;
		buf_add(b, data, len);
	}
	return true;
}

/* Each frame is one message: Docker's time, a space, the text. */
static bool add_frame(struct log_demux *m, const char *data, size_t len)
{
	size_t used = 0;
	double ts = docker_parse_time(data, len, &used);

	if (ts >= 0)
		used += used < len && data[used] == ' ';
	return add_payload(m, m->frame_stream, ts, data + used, len - used);
}

static void start_frame(struct log_demux *m)
{
	const unsigned char *h = m->header;

	m->header_len = 0;
	m->frame_stream = h[0] >= 2 ? 2 : 1;	/* 3: the daemon's own errors */
	m->frame_left = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
	m->frame.len = 0;
	m->frame_split = m->frame_left > MAX_FRAME;
}

static bool frame_data(struct log_demux *m, const char *data, size_t len)
{
	m->frame_left -= len;
	if (m->frame_split)	/* the time is lost with the pieces; rare */
		return add_payload(m, m->frame_stream, -1, data, len);
	buf_add(&m->frame, data, len);
	return m->frame_left || add_frame(m, m->frame.data, m->frame.len);
}

bool log_demux_feed(struct log_demux *m, const char *data, size_t len)
{
	if (m->raw)
		return add_payload(m, 1, PER_LINE_TS, data, len);
	while (len) {
		size_t take;

		if (!m->frame_left) {
			take = HEADER_LEN - m->header_len < len ? HEADER_LEN - m->header_len : len;
			memcpy(m->header + m->header_len, data, take);
			m->header_len += take;
			data += take, len -= take;
			if (m->header_len == HEADER_LEN)
				start_frame(m);
			continue;
		}
		take = m->frame_left < len ? m->frame_left : len;
		if (!frame_data(m, data, take))
			return false;
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
			if (!deliver_line(m, i + 1, b->ts, b->data, len))
				return false;
		}
	}
	return true;
}
