/* docker.h - pgx-docker's internal interfaces: the Engine API client (api.c),
 * the log stream (stream.c), records (records.c), subcommands (run.c, build.c,
 * logs.c). */
#ifndef PGX_DOCKER_H
#define PGX_DOCKER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "pgx.h"

#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"
#define DOCKER_CLIENT_API "1.43"	/* highest version this client speaks */
#define DOCKER_LAST_LINES 10		/* log lines kept for a die record */

/* ---- api.c: one connection to the daemon ---- */
struct docker;
typedef bool (*docker_data_fn)(void *ctx, const char *data, size_t len);

/* Connect and negotiate the API version; on failure reports and returns NULL
 * with *exit_code set (PGX_EXIT_CONNECT, PGX_EXIT_PRIVILEGE...). */
struct docker *docker_open(int *exit_code);
void docker_close(struct docker *d);
/* One request with a JSON body (or NULL); the JSON answer (or NULL) in *out.
 * Returns the HTTP status, or -1 after reporting a transport error. */
long docker_call(struct docker *d, const char *method, const char *path,
		 json_t *body, json_t **out);
/* A request whose answer is streamed to fn; body of len bytes with content
 * type ctype (or none). Returns the HTTP status or -1. */
long docker_stream(struct docker *d, const char *method, const char *path,
		   const char *ctype, const void *body, size_t len,
		   docker_data_fn fn, void *ctx);
/* Exit status for the last call that returned -1: PGX_EXIT_CONNECT,
 * PGX_EXIT_PRIVILEGE, or PGX_EXIT_INTERRUPTED when a signal aborted it. */
int docker_failure(const struct docker *d);
/* The daemon's error message from an error answer, never NULL. */
const char *docker_message(const json_t *answer);
/* Percent-encoded copy for a query string; caller frees. */
char *docker_escape(struct docker *d, const char *s);

/* A streaming request driven step by step, so the caller can do other work
 * (readiness pings) between steps. */
struct docker_follow;
struct docker_follow *docker_follow_start(struct docker *d, const char *path,
					  docker_data_fn fn, void *ctx);
/* Wait up to timeout_ms for data and deliver it; false once the stream ended. */
bool docker_follow_step(struct docker_follow *f, int timeout_ms);
/* Did the stream end with a transport error (reported) or an HTTP error? */
bool docker_follow_failed(const struct docker_follow *f);
void docker_follow_end(struct docker_follow *f);

/* ---- time ---- */
/* Docker's RFC 3339 times ("2026-11-22T03:22:04.123456789Z") as epoch
 * seconds; -1 if not a time or the zero time. */
double docker_parse_time(const char *s, size_t len, size_t *used);

/* ---- stream.c: the 8-byte-header multiplexed stream, split into lines ---- */
struct log_line {
	double ts;		/* Docker's timestamp, or -1 */
	const char *stream;	/* "stdout" or "stderr" */
	const char *text;
	size_t len;
};
typedef bool (*log_line_fn)(void *ctx, const struct log_line *line);

struct log_demux;
/* raw: the container has a TTY, so the stream carries no headers. */
struct log_demux *log_demux_new(bool raw, log_line_fn fn, void *ctx);
/* Feed bytes as they come; false if fn asked to stop. */
bool log_demux_feed(struct log_demux *m, const char *data, size_t len);
/* Deliver what is left (a last line without newline). */
bool log_demux_flush(struct log_demux *m);
void log_demux_free(struct log_demux *m);

/* ---- records.c: one struct and one emit function per record kind ---- */
struct container_rec {
	double ts;		/* < 0: now */
	const char *action;	/* create start ready die stop remove */
	const char *id;
	const char *name;
	const char *image;
	long pid;		/* start: main process, 0 if unknown */
	const char *cgroup;	/* start: cgroup v2 path, or NULL */
	unsigned long long cgroup_id;	/* start: inode of the cgroup dir, 0 unknown */
	const char *addr;	/* ready: host:port that answered */
	double elapsed;		/* ready: seconds since start, < 0 if unknown */
	bool has_exit;		/* die */
	int exit_code;
	bool oom_killed;
	const char *error;	/* die: the daemon's error for the container */
	json_t *last_lines;	/* die: array of strings, borrowed */
};
bool emit_container(const struct container_rec *r);

struct log_rec {
	double ts;
	const char *container;
	const char *stream;
	const char *line;
	size_t len;
};
json_t *log_record(const struct log_rec *r);	/* a new reference, not emitted */
bool emit_log(const struct log_rec *r);

struct build_rec {
	double ts;
	const char *tag;
	long step;		/* current "Step N/M", 0 before the first */
	long steps;
	const char *line;	/* build output, or NULL */
	const char *error;	/* build failure, or NULL */
	const char *image_id;	/* the built image, or NULL */
	long cache_hits;	/* with image_id: steps taken from the cache */
	bool cached;		/* with image_id: every step was */
};
bool emit_build(const struct build_rec *r);

/* ---- subcommands ---- */
struct run_opts {
	const char *image;
	json_t *env;		/* array of "K=V" */
	json_t *binds;		/* array of "SRC:DST[:ro]" */
	json_t *cmd;		/* array, or NULL for the image's CMD */
	const char *name;
	long port;
	const char *cgroup_parent;
	enum { UNTIL_EXIT, UNTIL_READY, UNTIL_SECONDS } until;
	double until_seconds;
	bool stop;
	bool rm;
	bool pull;
};
int docker_run(struct docker *d, const struct run_opts *o);

struct build_opts {
	const char *dockerfile;
	const char *context;
	const char *tag;
	enum pgx_progress_mode progress;
};
int docker_build(struct docker *d, const struct build_opts *o);

int docker_logs(struct docker *d, const char *container, bool follow);
int docker_inspect(struct docker *d, const char *container);

/* ---- container.c: facts about one container ---- */
struct container_info {
	char *id;
	char *name;
	char *image;
	bool tty;
	bool running;
	long pid;
	int exit_code;
	bool oom_killed;
	char *error;
	double created, started, finished;	/* -1 if unknown */
};
/* GET /containers/{id}/json; PGX_EXIT_OK, or the exit status after reporting. */
int container_info_get(struct docker *d, const char *id, struct container_info *ci);
void container_info_free(struct container_info *ci);
/* The cgroup v2 path of pid and its inode; false if unknown. */
bool container_cgroup(long pid, char **path, unsigned long long *id);
bool emit_start(const struct container_info *ci);

/* ---- logs.c: where log lines go ---- */
struct log_sink;
/* quiet: keep only the last lines, emit nothing. */
struct log_sink *log_sink_new(const struct container_info *ci, bool quiet);
bool log_sink_data(void *sink, const char *data, size_t len);	/* a docker_data_fn */
bool log_sink_flush(struct log_sink *s);
/* Hold back lines stamped after ts (until log_sink_release), so that a record
 * made at ts can be written in timestamp order. */
void log_sink_hold(struct log_sink *s, double ts);
bool log_sink_holding_later(const struct log_sink *s);	/* a later line arrived */
bool log_sink_release(struct log_sink *s);
json_t *log_sink_last_lines(const struct log_sink *s);	/* borrowed */
/* After a follow stream ended: the lines Docker logged after it ended
 * (delivered, then flushed); PGX_EXIT_OK or the exit status. */
int log_sink_catch_up(struct docker *d, struct log_sink *s, const char *id);
bool log_sink_write_failed(const struct log_sink *s);
void log_sink_free(struct log_sink *s);
/* A die record from the container's state; last_lines NULL: fetch them. */
bool emit_die(struct docker *d, const struct container_info *ci, json_t *last_lines);
/* The logs path for a container: all history, then new lines with follow. */
void logs_path(char *buf, size_t len, const char *id, bool follow, int tail);

#endif
