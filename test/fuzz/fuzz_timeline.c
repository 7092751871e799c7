/* fuzz_timeline.c - libFuzzer target: pgx-timeline's collection of a
 * stream (the peeked fast path, else the whole record) and its analysis,
 * process spans and scripts read back from the temporary files included.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void take(struct timeline *t, const char *line, size_t len)
{
	struct record_peek peek;
	json_t *rec;

	if (record_peek(line, len, &peek) && timeline_take_peeked(t, &peek, line, len))
		return;
	if (!(rec = json_loadb(line, len, JSON_ALLOW_NUL, NULL)))
		return;
	if (json_is_object(rec))
		timeline_take(t, rec);
	json_decref(rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	static bool started;
	struct timeline t;
	bool ready;

	if (!started) {
		pgx_init("pgx-timeline");
		if (!freopen("/dev/null", "w", stdout))
			return 0;
		started = true;
	}
	timeline_init(&t, "/docker-entrypoint-initdb.d");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		take(&t, p, len);
		p += len + 1;
	}
	timeline_emit(&t, &ready);
	timeline_free(&t);
	return 0;
}
