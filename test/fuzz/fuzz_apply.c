/* fuzz_apply.c - libFuzzer target: pgx-apply's request reader (conf lines
 * and recommendation records) and its value handling
 *
 * The input is the request, read as `pgx-apply plan --file` reads it; each
 * parameter it asks for is then normalised and compared as an integer with a
 * unit, a real, an enum, a bool and a list parameter would be.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pgx.h"
#include "apply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
	const char *vartype, *unit, *min, *max, *enumvals;
} kinds[] = {
	{ "integer", "kB", "64", "2147483647", NULL },
	{ "integer", "ms", "0", "86400000", NULL },
	{ "real", NULL, "0", "100", NULL },
	{ "enum", NULL, NULL, NULL, "{minimal,replica,logical}" },
	{ "bool", NULL, NULL, NULL, NULL },
	{ "string", NULL, NULL, NULL, NULL },
};

static void try_values(const struct param *asked)
{
	char **items;
	size_t n;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
		struct param p = *asked;
		char *out = NULL, *why = NULL;

		p.vartype = (char *)kinds[k].vartype;
		p.unit = (char *)kinds[k].unit;
		p.min_val = (char *)kinds[k].min;
		p.max_val = (char *)kinds[k].max;
		p.enumvals = (char *)kinds[k].enumvals;
		if (value_normalize(&p, p.to, &out, &why))
			value_matches(&p, out, p.to);
		free(out);
		free(why);
	}
	if ((items = value_list_items(asked->name, asked->to, &n)))
		value_list_free(items, n);
	value_is_quoted_list(asked->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	struct apply_opts o = { 0 };
	struct changeset cs = { 0 };
	char path[64];
	int fd = memfd_create("request", 0);

	if (!initialised) {
		pgx_init("fuzz_apply");
		initialised = true;
	}
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	o.file = path;
	input_read(&o, &cs, false);
	for (size_t i = 0; i < cs.n; i++)
		try_values(&cs.params[i]);
	changeset_free(&cs);
	close(fd);
	return 0;
}
