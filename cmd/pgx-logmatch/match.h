/* match.h - the matcher: rules applied to lines, records out */
#ifndef MATCH_H
#define MATCH_H

#include "logmatch.h"

struct matcher {
	struct ruleset rules;
	struct prefilter *pf;
	unsigned char *cand;
	bool only_matching;
	struct groups *groups;		/* --group, else NULL */
	unsigned long input_errors;
	char *last_ts_problem;
};

/* Where a line to match came from. */
struct log_source {
	const char *input;		/* file name or "stdin" */
	unsigned long lineno;
	const json_t *carrier;		/* the NDJSON log record carrying the line, or NULL */
	const char *format;		/* "csvlog", "jsonlog", or NULL for plain lines */
	const char *timestamp;		/* log_time from csvlog/jsonlog, else NULL */
	long pid;			/* from csvlog/jsonlog, else 0 */
	const char *sqlstate;		/* from csvlog/jsonlog, else NULL */
};

void matcher_init(struct matcher *m, bool only_matching, bool group);
void matcher_ready(struct matcher *m);	/* after all rules are loaded */
void matcher_free(struct matcher *m);
/* Match text; emit match records, or else (unless only matching) the raw
 * line if given, or a log record.  false on a write error. */
bool matcher_line(struct matcher *m, const struct log_source *src, const char *text, size_t len,
		  const char *raw, size_t raw_len);

/* group.c: matches of rules with group: summed per key (--group) */
struct groups;
struct groups *groups_new(void);
void groups_free(struct groups *g);
/* After rule's regex matched text: true if the match went into its group,
 * false if it is to be emitted as a match record (no key or measure). */
bool groups_add(struct matcher *m, size_t rule, const struct log_source *src, const char *text, size_t len);
/* One match_group record per group, in order of first occurrence. */
bool groups_emit(const struct matcher *m);

#endif
