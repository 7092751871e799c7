/* unpack.c - compressed log files (gzip, bzip2, xz, zstd), told by their
 * first bytes rather than their names, read through libarchive */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <archive.h>
#include <archive_entry.h>
#include "pgx.h"
#include "unpack.h"

struct unpacker {
	struct archive *archive;
	pthread_t thread;
	int file_fd, pipe_out;
	char error[256];	/* what libarchive said, or "" */
	/* compressed bytes read so far, published by the thread for progress */
	_Atomic unsigned long long compressed_read;
};

static bool starts_with(const unsigned char *buf, size_t len, const char *magic, size_t mlen)
{
	return len >= mlen && !memcmp(buf, magic, mlen);
}

const char *unpack_compression(int fd)
{
	unsigned char head[6];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	size_t len = n > 0 ? (size_t)n : 0;

	if (starts_with(head, len, "\x1f\x8b", 2))
		return "gzip";
	if (starts_with(head, len, "BZh", 3))
		return "bzip2";
	if (starts_with(head, len, "\xfd" "7zXZ\0", 6))
		return "xz";
	if (starts_with(head, len, "\x28\xb5\x2f\xfd", 4))
		return "zstd";
	return NULL;
}

/* The thread: decompressed bytes into the pipe the line reader reads. */
static void *unpack_to_pipe(void *arg)
{
	struct unpacker *u = arg;
	char buf[65536];
	la_ssize_t n;

	while ((n = archive_read_data(u->archive, buf, sizeof(buf))) > 0) {
		atomic_store_explicit(&u->compressed_read,
				      (unsigned long long)archive_filter_bytes(u->archive, -1),
				      memory_order_relaxed);
		if (!pgx_write_all(u->pipe_out, buf, (size_t)n))
			break;	/* the reader stopped early: nothing to report */
	}
	if (n < 0)
		snprintf(u->error, sizeof(u->error), "%s", archive_error_string(u->archive));
	close(u->pipe_out);
	return NULL;
}

static struct unpacker *unpacker_start(int fd, int pipe_out, const char *path, const char *kind)
{
	struct unpacker *u = calloc(1, sizeof(*u));
	struct archive_entry *entry;

	if (!u)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	u->file_fd = fd;
	u->pipe_out = pipe_out;
	u->archive = archive_read_new();
	archive_read_support_filter_all(u->archive);
	archive_read_support_format_raw(u->archive);
	if (archive_read_open_fd(u->archive, fd, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(u->archive, &entry) != ARCHIVE_OK) {
		pgx_error("cannot read \"%s\" (%s): %s", path, kind, archive_error_string(u->archive));
		archive_read_free(u->archive);
		free(u);
		return NULL;
	}
	if (pthread_create(&u->thread, NULL, unpack_to_pipe, u))
		pgx_die(PGX_EXIT_INTERNAL, "cannot start a thread to decompress \"%s\"", path);
	return u;
}

struct pgx_input *unpack_open(const char *path, size_t max_line, struct unpacker **out)
{
	int fd, fds[2];
	const char *kind;

	*out = NULL;
	if (!path || !strcmp(path, "-"))
		return pgx_input_open(path, max_line);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		pgx_error("cannot open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (!(kind = unpack_compression(fd)))
		return pgx_input_fdopen(fd, path, max_line);
	if (pipe2(fds, O_CLOEXEC)) {
		pgx_error("cannot decompress \"%s\": %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!(*out = unpacker_start(fd, fds[1], path, kind))) {
		close(fds[0]);
		close(fds[1]);
		close(fd);
		return NULL;
	}
	return pgx_input_fdopen(fds[0], path, max_line);
}

unsigned long long unpack_compressed_read(struct unpacker *u)
{
	return atomic_load_explicit(&u->compressed_read, memory_order_relaxed);
}

unsigned long long unpack_compressed_size(const struct unpacker *u)
{
	struct stat st;

	return fstat(u->file_fd, &st) == 0 && S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0;
}

bool unpack_end(struct unpacker *u, const char *path)
{
	bool ok;

	if (!u)
		return true;
	pthread_join(u->thread, NULL);
	ok = !u->error[0];
	if (!ok)
		pgx_error("%s: cannot decompress: %s", path, u->error);
	archive_read_free(u->archive);
	close(u->file_fd);
	free(u);
	return ok;
}
