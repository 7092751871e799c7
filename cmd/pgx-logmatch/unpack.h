/* unpack.h - compressed log files read transparently */
#ifndef LOGMATCH_UNPACK_H
#define LOGMATCH_UNPACK_H

#include <stdbool.h>
#include <stddef.h>

struct unpacker;
struct pgx_input;

/* PATH as lines: a gzip, bzip2, xz or zstd file (by its first bytes) is
 * decompressed on the way, *u then set; standard input is read as it is.
 * NULL (and an error said) when it cannot be opened. */
struct pgx_input *unpack_open(const char *path, size_t max_line, struct unpacker **u);
/* The compression a file's first bytes announce ("gzip"...), or NULL. */
const char *unpack_compression(int fd);
/* For progress: the compressed file's bytes read so far (from the
 * decompressing thread), and its size (0 when not a regular file). */
unsigned long long unpack_compressed_read(struct unpacker *u);
unsigned long long unpack_compressed_size(const struct unpacker *u);
/* After pgx_input_close: false (and an error said) when the data was corrupt. */
bool unpack_end(struct unpacker *u, const char *path);

#endif
