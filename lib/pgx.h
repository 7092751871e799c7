/* pgx.h - the helper library every pgx command links. */
#ifndef PGX_H
#define PGX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>
#include <jansson.h>

#ifndef PGX_VERSION
#define PGX_VERSION "0.1.0"
#endif

/* Exit codes shared by every command; documented in pgx-events(7). */
enum pgx_exit {
	PGX_EXIT_OK = 0,
	PGX_EXIT_FINDINGS = 1,	/* threshold breached, alert firing, nothing matched */
	PGX_EXIT_USAGE = 2,	/* bad option, bad rules or configuration file */
	PGX_EXIT_INPUT = 3,	/* input could not be read or parsed */
	PGX_EXIT_CONNECT = 4,	/* PostgreSQL server or Docker daemon unreachable */
	PGX_EXIT_PRIVILEGE = 5,	/* not root, missing capability, permission denied */
	PGX_EXIT_OUTPUT = 6,	/* write error on stdout (EPIPE, ENOSPC) */
	PGX_EXIT_FAILED = 7,	/* the subject failed (container died before ready...) */
	PGX_EXIT_INTERNAL = 8,	/* out of memory, unexpected library failure */
	PGX_EXIT_CANNOT_RUN = 126,	/* pgx-trace: the command cannot be run (as sh) */
	PGX_EXIT_NOT_FOUND = 127,	/* pgx-trace: the command was not found (as sh) */
	PGX_EXIT_SIGNALED = 128,	/* pgx-trace: plus the signal that killed the command */
	PGX_EXIT_INTERRUPTED = 130,	/* stopped by SIGINT or SIGTERM */
};
/* pgx-report alerts --exit-status, and nothing else, speaks the
 * monitoring-plugin convention (Nagios, Icinga) instead: 0 OK, 1 WARNING,
 * 2 CRITICAL, 3 UNKNOWN; see alerts.c. */

/* ---- the PostgreSQL majors pgx accepts (servers, --server-version,
 * --pg-version); 13, 15 and 17 are tested, the rest attempted; 12 for
 * MATERIALIZED, which the privilege guard and statements use ---- */
#define PGX_PG_MIN_MAJOR 12
#define PGX_PG_MAX_MAJOR 18

/* ---- diagnostics: "pgx-foo: message" on stderr ---- */
void pgx_init(const char *progname);	/* call first in main() */
const char *pgx_progname(void);
void pgx_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pgx_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pgx_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pgx_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* error + exit(code); flushes stdout first so no record is lost */
void pgx_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
void *pgx_xmalloc(size_t n);	/* dies with PGX_EXIT_INTERNAL on failure */
void *pgx_xrealloc(void *p, size_t n);
char *pgx_xstrdup(const char *s);

/* ---- options ---- */
/* Parse an integer in [min, max]; on failure print "invalid value 'x' for --opt"
 * and return false. */
bool pgx_parse_long(const char *arg, const char *optname, long min, long max, long *out);
/* Sizes with an optional K/M/G suffix (powers of 1024). */
bool pgx_parse_size(const char *arg, const char *optname, unsigned long long *out);
/* Seconds, possibly fractional, optional ms/s/m/h suffix. */
bool pgx_parse_seconds(const char *arg, const char *optname, double *out);
void pgx_print_version(void);	/* "pgx-foo (pgx) 0.1.0" on stdout */
/* --help and --version: print on stdout and exit 0, or PGX_EXIT_OUTPUT
 * when the text could not be written (`--help >/dev/full`). */
void pgx_exit_help(void (*usage)(void)) __attribute__((noreturn));
void pgx_exit_version(void) __attribute__((noreturn));
/* n pairs (int given, const char *name), at most 16: when two or more were
 * given, "NAME1, NAME2 and NAME3 exclude each other" and a usage error
 * (PostgreSQL's check_mut_excl_opts). */
void pgx_check_exclusive(int n, ...);
/* "Try 'pgx-foo --help' for more information." and exit(PGX_EXIT_USAGE) */
void pgx_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- the clock: Unix epoch seconds, microsecond precision ---- */
double pgx_now(void);	/* CLOCK_REALTIME */
double pgx_round_us(double t);

/* ---- signals ---- */
extern volatile sig_atomic_t pgx_stop_signal;	/* SIGINT/SIGTERM number, or 0 */
/* Installs SIGINT/SIGTERM handlers (no SA_RESTART, so blocking calls return
 * EINTR) and ignores SIGPIPE so that a closed stdout is a write error. */
void pgx_install_signals(void);
/* Called from the signal handler after the flag is set; must be
 * async-signal-safe (PQcancel is). One hook at a time; NULL removes it. */
void pgx_set_stop_hook(void (*hook)(void));

/* ---- NDJSON output ---- */
/* New record {"type":type,"ts":ts,"src":progname}; ts < 0 means now. */
json_t *pgx_record_new(const char *type, double ts);
void pgx_set_ts(json_t *rec, const char *key, double ts);	/* rounded to us */
/* Write one record as one compact line; flushed at once when stdout is a pipe
 * or a tty. Steals the reference. Returns false on write error. */
bool pgx_emit(json_t *rec);
/* While input keeps arriving, per-record flushes are held back; the input
 * reader releases them before it would wait, so no record sits in a buffer
 * while the command waits.  pgx_input_next() does this by itself. */
void pgx_output_hold(bool hold);
/* Before any output: stdout written in 64 KiB blocks (a pipe's default of
 * 4 KiB costs a write and a wake-up of its reader per few records); lines
 * still go out one by one while the input waits (pgx_output_hold). */
void pgx_output_bulk(void);
/* This thread's records go to f (NULL: stdout again); a write error to f
 * is the emitting calls' false, not pgx_finish's. */
void pgx_output_thread_file(FILE *f);
/* A thread that wrote records frees its buffers before it ends. */
void pgx_output_thread_end(void);
/* The line pgx_emit would write for rec (without the newline), for a
 * command that orders records before writing them; caller frees.
 * Does not take the reference. */
char *pgx_record_dumps(const json_t *rec, size_t *len);
/* The same text for a document that is not a record (an alert body, a
 * state file, pgx-report --format json): not copied for validation. */
char *pgx_json_dumps(const json_t *doc, size_t *len);
/* A JSON document (pgx-report --format json) on one line of f, its numbers
 * written as pgx_emit writes them; write errors on stdout reach pgx_finish. */
void pgx_json_write(FILE *f, const json_t *doc);
/* A flat record written field by field, for a command's most frequent
 * record: the bytes pgx_emit() writes for the object with the same fields
 * in the same order, without building it.  pgx_flat_begin() starts it as
 * pgx_record_new() does; strings must be valid UTF-8.  A KEY is written as
 * it is: a name in the code or a regex group's (word characters). */
void pgx_flat_begin(const char *type, double ts);
void pgx_flat_str(const char *key, const char *s, size_t len);
/* Any bytes: invalid UTF-8 is replaced as pgx_json_text() replaces it. */
void pgx_flat_text(const char *key, const char *s, size_t len);
/* A member built with jansson, for a nested value of a rare record. */
void pgx_flat_json(const char *key, const json_t *v);
void pgx_flat_int(const char *key, long long v);
void pgx_flat_real(const char *key, double v);	/* finite */
void pgx_flat_literal(const char *key, const char *json);	/* "true", "null"... */
void pgx_flat_object(const char *key);	/* members up to pgx_flat_close() */
void pgx_flat_close(void);
bool pgx_flat_emit(void);
/* The record's line instead, not written (nor its newline): valid until
 * the next pgx_flat_begin(). */
const char *pgx_flat_line(size_t *len);
/* Write a line that came in, byte for byte (pass-through). */
bool pgx_emit_raw(const char *line, size_t len);
/* Flush and close stdout; on a write error report it and return
 * PGX_EXIT_OUTPUT, else return status unchanged. Call as `return pgx_finish(st)`. */
int pgx_finish(int status);

/* ---- records more than one command writes ---- */
/* The profile record that ends a startup profile (pgx-events(7)): one run
 * (pgx-timeline) or the median of N runs (pgx-report aggregate). */
struct pgx_profile {
	const char *subject;
	const char *subject_kind;	/* "container", "command"; "mixed" over runs */
	double start;
	bool ready;			/* else ready and total_s are null */
	double ready_ts, total_s;	/* over runs: start + median, the median */
	double total_min_s, total_max_s;	/* over runs only */
	size_t runs;			/* 0 for one run: no runs, no spread */
	const char *ready_source;
	long lost_events;
	json_t *warnings;		/* array of strings, stolen; NULL is [] */
};
bool pgx_profile_emit(const struct pgx_profile *p);	/* pgx_emit's result */

/* 16 bytes compared at once with GCC's vector extension (SSE2, NEON) on
 * the hot scanning paths: string escaping, secret masking. */
typedef unsigned char bytes16 __attribute__((vector_size(16)));

/* ---- line and NDJSON input ---- */
#define PGX_MAX_LINE_DEFAULT (1u << 20)	/* 1 MiB */

struct pgx_input;
struct pgx_line {
	char *text;		/* NUL-terminated, without the newline */
	size_t len;
	unsigned long lineno;	/* 1-based */
	bool no_newline;	/* last line of input had no trailing newline */
	bool nul_free;		/* known to hold no NUL byte (false: not known) */
};
/* path "-" or NULL is stdin. Returns NULL and reports when it can't open. */
struct pgx_input *pgx_input_open(const char *path, size_t max_line);
/* Read an open descriptor (a pipe, a socket); closed by pgx_input_close. */
struct pgx_input *pgx_input_fdopen(int fd, const char *name, size_t max_line);
const char *pgx_input_name(const struct pgx_input *in);	/* "stdin" or path */
/* Of a regular file just opened, read only the bytes [from, to), the
 * first line numbered lines_before + 1.  false when it cannot seek. */
bool pgx_input_range(struct pgx_input *in, unsigned long long from, unsigned long long to,
		     unsigned long lines_before);
/* Follow mode: at EOF wait for more data instead of ending (like tail -f). */
void pgx_input_follow(struct pgx_input *in, bool follow);
/* Next line: 1 line read, 0 end of input, -1 error (already reported as
 * "pgx-foo: NAME:LINE: reason"). An over-long line is reported, skipped to its
 * end and counted in pgx_input_errors(); reading goes on. */
int pgx_input_next(struct pgx_input *in, struct pgx_line *line);
unsigned long pgx_input_errors(const struct pgx_input *in);
unsigned long pgx_input_lines(const struct pgx_input *in);	/* the last line's number */
/* For a reader that can pass over lines without looking at each: what is
 * read and not yet handed out (whole lines, then perhaps part of one), and
 * handing out the first `bytes` of it, `lines` whole lines, unseen. */
size_t pgx_input_buffered(const struct pgx_input *in, const char **text);
void pgx_input_consume(struct pgx_input *in, size_t bytes, unsigned long lines);
void pgx_input_close(struct pgx_input *in);
/* Bytes handed out as lines (or skipped) so far, newlines included. */
unsigned long long pgx_input_bytes(const struct pgx_input *in);
/* The size of a regular file being read, or 0 (a pipe, a terminal). */
unsigned long long pgx_input_size(const struct pgx_input *in);

/* Parse a line as a JSON object. Returns NULL if the line is not JSON
 * (does not start with '{'); on invalid JSON, or a NUL byte anywhere in
 * the line (JSON or not), returns NULL and, if err is given, fills it
 * ("invalid JSON at column 12: ...", "NUL byte in line"). */
json_t *pgx_json_parse_line(const struct pgx_line *line, char *err, size_t errlen);
/* Read the next NDJSON record; non-object or invalid lines are reported with
 * NAME:LINE and counted as input errors; returns 1, 0 at end, -1 on error. */
int pgx_ndjson_next(struct pgx_input *in, struct pgx_line *line, json_t **rec);
/* pgx_ndjson_next in two steps, for a reader that parses only some lines:
 * the next non-blank line, and its record (NULL when reported and counted). */
int pgx_ndjson_next_line(struct pgx_input *in, struct pgx_line *line);
json_t *pgx_ndjson_parse(struct pgx_input *in, const struct pgx_line *line);

/* Byte offset of the first invalid UTF-8 sequence, or -1 if valid. */
long pgx_utf8_invalid_at(const char *s, size_t len);
/* Copy with every invalid sequence replaced by U+FFFD; caller frees. */
char *pgx_utf8_sanitize(const char *s, size_t len, size_t *outlen);
/* A JSON string of arbitrary bytes (a log line, an argument): invalid UTF-8
 * replaced by U+FFFD.  *bad_at, if given, gets the offset of the first
 * invalid byte, or -1. */
json_t *pgx_json_text(const char *s, size_t len, long *bad_at);

/* Input quoted in a diagnostic: its first max_chars characters, "..." if
 * there are more, with \n, \t, \r, \\ and \xNN for other control
 * characters (C1 too) and invalid bytes, so no escape sequence reaches the
 * terminal.  Caller frees. */
char *pgx_excerpt(const char *s, size_t len, size_t max_chars);

/* Record accessors that tolerate missing or mistyped fields. */
const char *pgx_rec_type(const json_t *rec);
const char *pgx_rec_str(const json_t *rec, const char *key);
double pgx_rec_ts(const json_t *rec);	/* -1 if absent */
long pgx_rec_int(const json_t *rec, const char *key, long dflt);

/* ---- files ---- */
/* Replace path with what render writes: a temporary file beside it, fsync,
 * rename, fsync of the directory; mode is masked by the umask.  False with
 * errno set (nothing replaced) on failure. */
bool pgx_write_atomic(const char *path, mode_t mode, void (*render)(FILE *, void *), void *arg);
/* All of BUF to FD, across short writes and EINTR; false with errno set. */
bool pgx_write_all(int fd, const void *buf, size_t len);
/* -o FILE: standard output goes to path from now on ("-" or NULL: stays).
 * A regular file, or a name not taken yet, is written to a temporary file
 * beside it that pgx_finish() renames over it (pgx_write_atomic's steps);
 * a device, FIFO or socket is written in place; a directory, or a symbolic
 * link to anything but a device, FIFO or socket, is refused.  False, with
 * "cannot write PATH: reason" reported, when it cannot be opened.  path is
 * kept, not copied: pass one that lives until pgx_finish() (argv does). */
bool pgx_output_to(const char *path);
const char *pgx_output_name(void);	/* the -o path, or NULL for stdout */
/* For pgx_finish(), once stdout is flushed: flush to disk and rename
 * (keep) or remove the temporary file; 0, or the errno of the first
 * failed write, fsync or rename. */
int pgx_output_done(bool keep);

/* ---- progress on stderr ---- */
/* --progress (ON), --no-progress (OFF), or neither: when stderr is a terminal. */
enum pgx_progress_mode { PGX_PROGRESS_AUTO, PGX_PROGRESS_ON, PGX_PROGRESS_OFF };
struct pgx_progress {
	bool on;
	double started, next_draw;	/* CLOCK_MONOTONIC seconds */
};
bool pgx_progress_wanted(enum pgx_progress_mode mode);
void pgx_progress_start(struct pgx_progress *p, enum pgx_progress_mode mode);
/* True at most ~4 times a second, and never when off; reads the clock, so
 * a hot loop asks every thousand items or so. */
bool pgx_progress_due(struct pgx_progress *p);
double pgx_progress_elapsed(const struct pgx_progress *p);	/* seconds since start */
/* Redraw the one line (cut to the terminal's width) with "\r". */
void pgx_progress_show(struct pgx_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "NAME: DONE of TOTAL (N%), LINES lines, RATE/s, M:SS left"; total 0 is unknown. */
void pgx_progress_bytes(struct pgx_progress *p, const char *name, unsigned long long done,
			unsigned long long total, unsigned long lines);
/* Erase the line and stop drawing. */
void pgx_progress_end(struct pgx_progress *p);
/* Erase the line if one is shown (every pgx_error/pgx_warn does). */
void pgx_progress_erase(void);
/* Before a record goes to stdout: erase the line if stdout is the same terminal. */
void pgx_progress_before_output(void);
/* Around a write to stderr that a thread's must not break into. */
void pgx_stderr_lock(void);
void pgx_stderr_unlock(void);
void pgx_format_bytes(char *out, size_t outlen, double bytes);	/* "1.5 GiB", "512 B" */
void pgx_progress_format_duration(char *out, size_t outlen, double seconds);	/* "1:05", "2:01:05" */

/* ---- installed data ---- */
/* Find share/pgx/REL: $PGX_SHARE_DIR, then beside the binary (installed or
 * build tree), then the compiled-in PGX_SHAREDIR. Caller frees; NULL if none. */
char *pgx_share_path(const char *rel);

#endif
