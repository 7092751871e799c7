/* atomic.c - replace a file whole or not at all; where -o FILE writes */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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

/* A temporary file beside path (same file system, so rename is atomic),
 * mode masked by the umask as open(2) would; its name in *tmp. */
static int make_temp_beside(const char *path, mode_t mode, char **tmp)
{
	char *path_copy = pgx_xstrdup(path), *base_copy = pgx_xstrdup(path);
	mode_t mask = umask(0);
	int fd, err;

	umask(mask);
	if (asprintf(tmp, "%s/.%s.XXXXXX", dirname(path_copy), basename(base_copy)) < 0)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	free(path_copy);
	free(base_copy);
	fd = mkstemp(*tmp);
	if (fd >= 0 && fchmod(fd, mode & ~mask) < 0) {
		err = errno;
		close(fd);
		unlink(*tmp);
		errno = err;
		fd = -1;
	}
	if (fd < 0) {
		free(*tmp);
		*tmp = NULL;
	}
	return fd;
}

/* The rename, then the directory flushed so the rename itself survives a
 * crash.  Readers see the old contents or the new, never a part. */
static bool rename_into_place(const char *tmp, const char *path)
{
	char *path_copy = pgx_xstrdup(path);
	bool ok = rename(tmp, path) == 0;
	int err = errno;

	if (!ok)
		unlink(tmp);
	else if (!fsync_dir(dirname(path_copy)))
		ok = false, err = errno;
	free(path_copy);
	errno = err;
	return ok;
}

bool pgx_write_atomic(const char *path, mode_t mode, void (*render)(FILE *, void *), void *arg)
{
	char *tmp = NULL;
	int fd = make_temp_beside(path, mode, &tmp), err = 0;
	FILE *f = NULL;

	if (fd < 0)
		return false;
	if (!(f = fdopen(fd, "w")))
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
	} else
		close(fd);
	if (err)
		unlink(tmp);
	else if (!rename_into_place(tmp, path))
		err = errno;
	free(tmp);
	errno = err;
	return !err;
}

/* ---- -o FILE ---- */

/* The -o file standard output now goes to; tmp is set while a replacement
 * waits in its temporary file for pgx_output_done(); error is the first
 * write's errno, which stdio does not keep. */
static struct {
	const char *path;	/* the caller's (argv), kept as is */
	char *tmp;
	int error;
} out;

static ssize_t write_out(void *cookie, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(STDOUT_FILENO, buf + done, n - done);

		if (w < 0 && errno == EINTR && !pgx_stop_signal)
			continue;
		if (w <= 0) {
			if (!out.error)
				out.error = w < 0 ? errno : EIO;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

/* Descriptor 1 is the file, so fstat(1) and isatty(1) still see what
 * stdout is; stdout itself becomes a stream that notes why a write failed. */
static bool redirect_stdout(int fd)
{
	static const cookie_io_functions_t io = { .write = write_out };
	FILE *f;

	if (fflush(stdout) == EOF || dup2(fd, STDOUT_FILENO) < 0)
		return false;
	if (!(f = fopencookie(NULL, "w", io)))
		return false;
	stdout = f;
	return true;
}

static bool is_special(mode_t m)
{
	return S_ISCHR(m) || S_ISBLK(m) || S_ISFIFO(m) || S_ISSOCK(m);
}

/* open(2) cannot open a Unix socket; a stream socket can be connected to. */
static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* A device, FIFO or socket keeps being what it is: opened without O_CREAT
 * or O_TRUNC, and refused if what was opened turns out to be a regular file
 * (a symbolic link changed between the check and the open). */
static int open_in_place(const char *path, const char **why)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && errno == ENXIO)
		fd = connect_unix(path);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !is_special(st.st_mode))) {
		close(fd);
		*why = "changed while being opened; refusing to write it";
		return -1;
	}
	return fd;
}

/* A symbolic link is never replaced: renaming over it would replace the
 * link, and replacing its target lets whoever owns the link (in /tmp, say)
 * choose what root overwrites.  One that leads to a device, FIFO or socket
 * (/dev/stdout) is written through. */
static int open_target(const char *path, const char **why)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? make_temp_beside(path, 0666, &out.tmp) : -1;
	if (S_ISREG(st.st_mode))
		return make_temp_beside(path, 0666, &out.tmp);
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (S_ISLNK(st.st_mode) && (stat(path, &st) < 0 || !is_special(st.st_mode))) {
		*why = "is a symbolic link; refusing to replace it";
		return -1;
	}
	return open_in_place(path, why);
}

static void discard_temp(void)
{
	if (out.tmp)
		unlink(out.tmp);
	free(out.tmp);
	out.tmp = NULL;
}

bool pgx_output_to(const char *path)
{
	const char *why = NULL;
	int fd;

	if (!path || !strcmp(path, "-"))
		return true;
	fd = open_target(path, &why);
	if (fd < 0 || !redirect_stdout(fd)) {
		pgx_error("cannot write \"%s\": %s", path, why ? why : strerror(errno));
		if (fd >= 0)
			close(fd);
		discard_temp();
		return false;
	}
	close(fd);
	out.path = path;
	if (out.tmp)
		atexit(discard_temp);	/* pgx_die() leaves no temporary file */
	return true;
}

const char *pgx_output_name(void)
{
	return out.path;
}

int pgx_output_done(bool keep)
{
	int err = out.error;

	if (!out.tmp)
		return err;
	if (!err && keep && fsync(STDOUT_FILENO) < 0)
		err = errno;
	if (!keep || err)
		discard_temp();
	else if (!rename_into_place(out.tmp, out.path))
		err = errno;
	free(out.tmp);
	out.tmp = NULL;
	return err;
}
