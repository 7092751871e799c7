/* fuzz_share.h - what the pgx-logmatch fuzz targets share */
#ifndef FUZZ_SHARE_H
#define FUZZ_SHARE_H

#include <stdio.h>
#include <stdlib.h>

/* A built-in rules file: PGX_SHARE_DIR/rules/NAME.yaml (share/pgx without it). */
static inline void fuzz_rules_path(const char *name, char *path, size_t len)
{
	const char *dir = getenv("PGX_SHARE_DIR");

	snprintf(path, len, "%s/rules/%s.yaml", dir ? dir : "share/pgx", name);
}

#endif
