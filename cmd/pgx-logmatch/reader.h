/* reader.h - one input file through the matcher */
#ifndef LOGMATCH_READER_H
#define LOGMATCH_READER_H

#include "match.h"

struct pgx_progress;

/* false only on a write error; input problems are counted in m->input_errors;
 * progress is drawn on the way when it is on */
bool match_input(struct matcher *m, const char *path, bool follow, size_t max_line,
		 struct pgx_progress *progress);

#endif
