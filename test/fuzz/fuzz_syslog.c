/* fuzz_syslog.c - libFuzzer target: pgx-logmatch's syslog and logplex
 * header parser (syslog.c)
 *
 * The first 4 bytes set the reference time a BSD header's year is inferred
 * from; the rest, line by line, is given to frame_parse.
 */
#include <stdint.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"
#include "syslog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct framer *framer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s, *end;
	uint32_t reference = 0;
	struct frame f;

	if (!framer) {
		pgx_init("fuzz_syslog");
		framer = framer_new();
	}
	if (size < sizeof(reference))
		return 0;
	memcpy(&reference, data, sizeof(reference));
	framer_set_reference(framer, (time_t)reference);
	for (s = (const char *)data + sizeof(reference), end = (const char *)data + size; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		if (frame_parse(framer, s, len, &f) && (f.msg < s || f.msg + f.msg_len > s + len))
			__builtin_trap();	/* the message must lie within the line */
		s += len + 1;
	}
	return 0;
}
