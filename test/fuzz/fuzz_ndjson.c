/* fuzz_ndjson.c - libFuzzer target: the NDJSON line reader and record parser */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include "pgx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgx_input *in;
	struct pgx_line line;
	json_t *rec;
	int fds[2];
	/* small inputs fit the pipe buffer; a tiny max line exercises skipping */
	if (size > 60000 || pipe(fds) < 0)
		return 0;
	if (write(fds[1], data, size) != (ssize_t)size)
		abort();
	close(fds[1]);
	in = pgx_input_fdopen(fds[0], "fuzz", 256);
	while (pgx_ndjson_next(in, &line, &rec) == 1) {
		pgx_rec_type(rec);
		pgx_rec_ts(rec);
		json_decref(rec);
	}
	pgx_input_close(in);
	free(pgx_utf8_sanitize((const char *)data, size, NULL));
	pgx_utf8_invalid_at((const char *)data, size);
	return 0;
}
