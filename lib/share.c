/* share.c - locate files under share/pgx */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"

#ifndef PGX_SHAREDIR
#define PGX_SHAREDIR "/usr/local/share/pgx"
#endif

static char *existing(const char *dir, const char *rel)
{
	char *path;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	if (access(path, R_OK) == 0)
		return path;
	free(path);
	return NULL;
}

char *pgx_share_path(const char *rel)
{
	static const char *const beside_binary[] = { "../share/pgx", "../../share/pgx" };
	const char *env = getenv("PGX_SHARE_DIR");
	char exe[PATH_MAX], dir[PATH_MAX + 32], *slash, *path;
	ssize_t n;

	if (env && *env)
		return existing(env, rel);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(beside_binary) / sizeof(*beside_binary); i++) {
			snprintf(dir, sizeof(dir), "%s/%s", exe, beside_binary[i]);
			if ((path = existing(dir, rel)))
				return path;
		}
	}
	return existing(PGX_SHAREDIR, rel);
}
