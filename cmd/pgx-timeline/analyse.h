/* analyse.h - moments of a startup and the records derived from them */
#ifndef ANALYSE_H
#define ANALYSE_H

#include "timeline.h"

struct moment {
	double ts;		/* NO_TIME when not seen */
	const char *source;	/* "trace", "log", "docker", "ping", "pg_ctl" */
};

struct bounds {
	bool is_container;
	double start;		/* image build, container create, or the first record */
	struct moment built;	/* image built, before the container was created */
	struct moment started;	/* container started */
	struct moment initdb_exec, initdb_exit;
	struct moment temp_ready, temp_stop_begin, temp_stop_end;
	struct moment server_exec;	/* first server exec when there was no initdb */
	struct moment ready;
};

/* bounds.c */
void find_bounds(const struct timeline *t, struct bounds *b);
const struct milestone *first_mark(const struct timeline *t, const char *rule, double after);

/* analyse.c: a record of a span; end and duration_s only when end is known */
json_t *span_record(const char *type, double start, double end);

/* scripts.c; *log_scripts counts scripts timed from log lines only */
bool emit_scripts(const struct timeline *t, const struct bounds *b, size_t *log_scripts);

#endif
