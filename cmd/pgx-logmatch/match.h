/* match.h - the matcher: rules applied to lines, records out */
#ifndef MATCH_H
#define MATCH_H

#include "logmatch.h"

struct matcher {
	struct ruleset rules;
	struct prefilter *pf;
	unsigned char *cand;
	bool only_matching;
	bool skip_unmatchable;	/* -o, and prefilter_can_reject(): see matcher_skips() */
	struct groups *groups;		/* --group, else NULL */
	unsigned long input_errors;
	/* INHERITED: the prefix (or none) the part of the input before this
	 * one was read with, by another matcher (split.c) */
	enum { PREFIX_NONE, PREFIX_INFERRED, PREFIX_SETTINGS, PREFIX_GIVEN, PREFIX_INHERITED } prefix_from;
	unsigned prefix_tries;	/* lines inference was tried on */
	struct {		/* called once, when the prefix is known (or known to be none) */
		void (*fn)(void *arg);
		void *arg;
	} prefix_known;
	unsigned long lines_read;	/* by the last input, read to its end */
	struct part_progress *tell_progress;	/* split.c: this matcher reads a later part */
	const struct part_progress *later_progress;	/* shown with this one's */
	bool live;		/* the input is a stream (stdin, --follow): read time is its time */
	struct {		/* the current input's name, as the flat writer needs it */
		const char *name;	/* NULL: not yet looked at */
		size_t len;
		bool valid_utf8;
	} input_name;
	struct {		/* lines of the current input whose time was not read */
		unsigned long count, first_line;
		char first_why[160];
	} unread_times;
};

/* How far the thread reading the later part of a file is (split.c). */
struct part_progress {
	_Atomic unsigned long long bytes;
	_Atomic unsigned long lines;
};

/* Where a line to match came from. */
struct log_source {
	const char *input;		/* file name or "stdin" */
	unsigned long lineno;
	const json_t *carrier;		/* the NDJSON log record carrying the line, or NULL */
	const char *format;		/* "csvlog", "jsonlog", "syslog"..., or NULL for plain lines */
	const char *timestamp;		/* the entry's time apart from its text, else NULL */
	const char *ts_format;		/* timestamp's format; NULL: TS_FORMAT_POSTGRES */
	bool year_inferred;		/* timestamp's year is a guess (a syslog header's time) */
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
/* true: with -o, text can match no rule and makes no record, so it needs
 * neither masking nor matching (nor its process read). */
bool matcher_skips(const struct matcher *m, const char *text, size_t len);
/* At the end of an input: a warning with the count of lines whose time was unread. */
void matcher_input_done(struct matcher *m, const char *input);

/* group.c: matches of rules with group: summed per key (--group) */
struct groups;
struct groups *groups_new(void);
void groups_free(struct groups *g);
/* After rule's regex matched text: true if the match went into its group,
 * false if it is to be emitted as a match record (no key or measure). */
bool groups_add(struct matcher *m, size_t rule, const struct log_source *src, const char *text, size_t len);
/* The groups of later, a matcher with the same rules that read the part of
 * the input after m's, added to m's. */
void groups_merge(struct matcher *m, struct matcher *later);
/* One match_group record per group, in order of first occurrence. */
bool groups_emit(const struct matcher *m);

#endif
