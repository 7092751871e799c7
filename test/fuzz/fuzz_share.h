/* fuzz_share.h - what the pgx-logmatch fuzz targets share */
#ifndef FUZZ_SHARE_H
#define FUZZ_SHARE_H

#include <stdio.h>
#include <stdlib.h>
#include "pgx.h"
#include "logmatch.h"

/* A built-in rules file, PGX_SHARE_DIR/rules/NAME.yaml (share/pgx without
 * it), loaded once by the target PROG. */
static inline bool fuzz_load_rules(const char *prog, const char *name, struct ruleset *rs)
{
	const char *dir = getenv("PGX_SHARE_DIR");
	char path[4096];

	pgx_init(prog);
	snprintf(path, sizeof(path), "%s/rules/%s.yaml", dir ? dir : "share/pgx", name);
	return ruleset_load(rs, path);
}

#endif
