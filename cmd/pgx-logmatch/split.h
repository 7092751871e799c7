/* split.h - --group on a big plain log file, read by two threads */
#ifndef LOGMATCH_SPLIT_H
#define LOGMATCH_SPLIT_H

#include <stdbool.h>
#include "match.h"

struct pgx_progress;

struct split_plan {
	unsigned long long at;		/* where the later part starts: a line starting an entry */
	unsigned long long size;
};

/* Whether path is read faster in two parts, and where they meet: --group
 * and -o, every rule a grouping one, a plain log file (not compressed, no
 * csvlog, syslog or records) of 32 MB or more, and two CPUs to run on. */
bool split_worth(const struct matcher *m, const char *path, bool follow, struct split_plan *plan);
/* Sets a matcher up as m was (same rules, same --prefix); false when it cannot. */
typedef bool (*matcher_setup_fn)(struct matcher *m, const void *arg);

/* match_input() of path, its later part read in a second thread by a
 * matcher that setup gives; its groups then join m's.  The same records
 * come out as from match_input(). */
bool match_split(struct matcher *m, matcher_setup_fn setup, const void *setup_arg, const char *path,
		 const struct split_plan *plan, size_t max_line, struct pgx_progress *progress);

#endif
