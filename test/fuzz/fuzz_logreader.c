/* fuzz_logreader.c - libFuzzer target: the whole of pgx-logmatch's reading
 * of a file with the slowlog rules and --group: stderr entries and their
 * continuation lines, csvlog, jsonlog, syslog and logplex parts, managed
 * services' JSON, settings records, prefix inference, NUL bytes, invalid
 * UTF-8, the groups' first and last seen.
 *
 * The input is written to a memory file and read by match_input as a file.
 * Records go to standard output (libFuzzer's -close_fd_mask=3 drops them).
 */
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pgx.h"
#include "logmatch.h"
#include "match.h"
#include "reader.h"
#include "fuzz_share.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ruleset rules;	/* loaded once, lent to each run's matcher */
static bool loaded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pgx_progress progress = { 0 };
	struct matcher m;
	char path[64];
	int fd;

	if (!loaded)
		loaded = fuzz_load_rules("fuzz_logreader", "slowlog", &rules);
	if (!loaded || !size || (fd = memfd_create("fuzz_logreader", 0)) < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* the first byte's low bit is --group; a prefix a run set (a settings
	 * record) is taken out, so that it does not read the next run's lines */
	matcher_init(&m, true, data[0] & 1);
	m.rules = rules;
	matcher_ready(&m);
	match_input(&m, path, false, 16384, &progress);
	if (m.groups)
		groups_emit(&m);
	close(fd);
	ruleset_clear_prefix(&m.rules);
	rules = m.rules;
	memset(&m.rules, 0, sizeof(m.rules));
	matcher_free(&m);
	return 0;
}
