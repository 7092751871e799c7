/* cgroup.c - finding cgroup v2 directories */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "pgx_trace.h"

static bool is_cgroup2(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

const char *cgroup_v2_root(void)
{
	if (is_cgroup2("/sys/fs/cgroup/unified"))
		return "/sys/fs/cgroup/unified";
	if (is_cgroup2("/sys/fs/cgroup"))
		return "/sys/fs/cgroup";
	return NULL;
}

static char *join(const char *root, const char *path)
{
	char *out;

	while (*path == '/')
		path++;
	if (!*path)
		return pgx_xstrdup(root);
	if (asprintf(&out, "%s/%s", root, path) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return out;
}

/* An absolute path is taken as is when it is a cgroup v2 directory, and
 * otherwise as a cgroup path like those in /proc/PID/cgroup ("/docker"). */
static char *resolve(const char *root, const char *path)
{
	if (path[0] == '/' && is_cgroup2(path))
		return pgx_xstrdup(path);
	return join(root, path);
}

int cgroup_open(const char *root, const char *path, char **resolved)
{
	char *full = resolve(root, path);
	int fd = -1;

	if (!is_cgroup2(full)) {
		pgx_error("cgroup \"%s\" not found: \"%s\" is not a cgroup v2 directory", path, full);
		goto out;
	}
	fd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		pgx_error("cannot open cgroup \"%s\": %s", full, strerror(errno));
out:
	if (fd >= 0 && resolved)
		*resolved = full;
	else
		free(full);
	return fd;
}

char *cgroup_self_dir(const char *root)
{
	char line[4096], *dir = NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return pgx_xstrdup(root);
	while (!dir && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "0::", 3))
			dir = join(root, line + 3);
	}
	fclose(f);
	return dir ? dir : pgx_xstrdup(root);
}
