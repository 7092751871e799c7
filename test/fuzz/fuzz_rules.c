/* fuzz_rules.c - libFuzzer target: rules loader plus matcher
 *
 * The input is split at the first "\n---LINES---\n": before it a rules
 * file, after it log lines to match with those rules.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pgx.h"
#include "match.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char separator[] = "\n---LINES---\n";

static bool write_memfd(const char *name, const void *p, size_t n, char *path, size_t pathlen)
{
	int fd = memfd_create(name, 0);

	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		return false;
	lseek(fd, 0, SEEK_SET);
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	const char *sep = memmem(data, size, separator, sizeof(separator) - 1);
	size_t rules_len = sep ? (size_t)(sep - (const char *)data) : size;
	char rules_path[64], lines_path[64];
	struct matcher m;

	if (!initialised) {
		pgx_init("fuzz_rules");
		initialised = true;
	}
	if (!write_memfd("rules", data, rules_len, rules_path, sizeof(rules_path)))
		return 0;
	/* odd sizes also run --group, so group.c is fuzzed too */
	matcher_init(&m, false, size & 1);
	if (ruleset_load(&m.rules, rules_path)) {
		matcher_ready(&m);
		if (sep && write_memfd("lines", sep + sizeof(separator) - 1,
				       size - rules_len - (sizeof(separator) - 1), lines_path, sizeof(lines_path))) {
			struct pgx_progress off = { .on = false };

			match_input(&m, lines_path, false, 1024, &off);
			if (m.groups)
				groups_emit(&m);
			close(atoi(lines_path + strlen("/proc/self/fd/")));
		}
	}
	matcher_free(&m);
	close(atoi(rules_path + strlen("/proc/self/fd/")));
	return 0;
}
