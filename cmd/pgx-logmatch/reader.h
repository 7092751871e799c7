/* reader.h - one input file through the matcher */
#ifndef LOGMATCH_READER_H
#define LOGMATCH_READER_H

#include "match.h"

struct pgx_progress;

/* false only on a write error; input problems are counted in m->input_errors;
 * progress is drawn on the way when it is on */
bool match_input(struct matcher *m, const char *path, bool follow, size_t max_line,
		 struct pgx_progress *progress);

/* Bytes [from, to) of a regular file, its first line numbered
 * lines_before + 1, read as match_input() reads a file.  A part from 0
 * starts the input: its prefix is looked for again.  A part after it goes
 * on with m's prefix.  Only the last part, read by the first part's
 * matcher, sums the input up (matcher_input_done).  progress may be NULL. */
bool match_part(struct matcher *m, const char *path, unsigned long long from, unsigned long long to,
		unsigned long lines_before, bool last, size_t max_line, struct pgx_progress *progress);
/* A line that starts an entry of its own, in a plain log: a part of a log
 * may start at it. */
bool reader_plain_start(const char *s, size_t len);

#endif
