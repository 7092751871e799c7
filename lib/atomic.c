/* atomic.c - replace a file whole or not at all */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pgx.h"

static bool fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool ok = fd >= 0 && fsync(fd) == 0;
	int err = errno;

	if (fd >= 0)
		close(fd);
	errno = err;
	return ok;
}

/* The file is written beside its final name (same file system, so rename
 * is atomic), flushed to disk, renamed over the old one, and the directory
 * flushed so the rename itself survives a crash.  Readers see the old
 * contents or the new, never a part. */
bool pgx_write_atomic(const char *path, mode_t mode, void (*render)(FILE *, void *), void *arg)
{
	char *path_copy = pgx_xstrdup(path), *dir = dirname(path_copy), *tmp = NULL;
	FILE *f = NULL;
	mode_t mask = umask(0);
	int fd, err = 0;

	umask(mask);
	if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, basename((char *)path)) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, mode & ~mask) < 0 || !(f = fdopen(fd, "w")))
		err = errno;
	else {
		errno = 0;
		render(f, arg);
		if (fflush(f) == EOF || ferror(f) || fsync(fileno(f)) < 0)
			err = errno ? errno : EIO;
	}
	if (f) {
		if (fclose(f) == EOF && !err)
			err = errno;
	} else if (fd >= 0)
		close(fd);
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err && fd >= 0)
		unlink(tmp);
	if (!err && !fsync_dir(dir))
		err = errno;
	free(tmp);
	free(path_copy);
	errno = err;
	return !err;
}
