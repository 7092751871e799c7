/* syslog.h - syslog and logplex lines: header, [N-M] numbering, message */
#ifndef LOGMATCH_SYSLOG_H
#define LOGMATCH_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct frame {
	const char *format;	/* "syslog" or "logplex" */
	long pid;
	unsigned long seq, part;	/* [seq-part] */
	const char *msg;	/* the message after "[N-M] ", within the line */
	size_t msg_len;
	char ts[48];		/* the header's time, a year added when it had none */
	const char *ts_format;
	bool year_inferred;
};

struct framer;
struct framer *framer_new(void);
void framer_free(struct framer *f);
/* The time a header without a year is not later than (a file's mtime). */
void framer_set_reference(struct framer *f, time_t t);
/* Cheap first look: only these lines can be framed */
bool may_be_framed(const char *s, size_t len);
/* true with *out set when the line is a framed PostgreSQL message */
bool frame_parse(struct framer *f, const char *s, size_t len, struct frame *out);

#endif
