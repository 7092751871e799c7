/* fuzz_docker_stream.c - libFuzzer target: pgx-docker's log stream
 * demultiplexer (8-byte frame headers, timestamps, lines)
 *
 * The first byte chooses a TTY (raw) stream or a framed one and how the
 * rest is cut into feeds, as the bytes of one HTTP body arrive in pieces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool take_line(void *ctx, const struct log_line *line)
{
	size_t *lines = ctx;
	volatile unsigned char sum = 0;

	for (size_t i = 0; i < line->len; i++)	/* every byte readable, for ASan */
		sum += (unsigned char)line->text[i];
	(void)sum;
	(*lines)++;
	return *lines < 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t lines = 0, piece, at = 1;
	struct log_demux *m;

	if (!size)
		return 0;
	m = log_demux_new(data[0] & 1, take_line, &lines);
	piece = (size_t)(data[0] >> 1) + 1;
	while (at < size) {
		size_t n = size - at < piece ? size - at : piece;

		if (!log_demux_feed(m, (const char *)data + at, n))
			break;
		at += n;
	}
	log_demux_flush(m);
	log_demux_free(m);
	docker_parse_time((const char *)data, size, &piece);
	return 0;
}
