/* progress.c - one line of progress on stderr, redrawn in place with "\r"
 * a few times a second and erased before anything else is written there */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "pgx.h"

#define REDRAW_INTERVAL 0.25	/* seconds */
#define ERASE_LINE "\r\033[K"

/* Whether a progress line is on the terminal now: diagnostics and records
 * written to the same terminal erase it first, from anywhere. */
static atomic_bool line_shown;
static bool stdout_shares_terminal;
/* Two threads may write to the terminal (pgx-logmatch reading a file in
 * two parts): a diagnostic and the line each wait for the other. */
static pthread_mutex_t terminal = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void pgx_stderr_lock(void)
{
	pthread_mutex_lock(&terminal);
}

void pgx_stderr_unlock(void)
{
	pthread_mutex_unlock(&terminal);
}

static double monotonic_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool pgx_progress_wanted(enum pgx_progress_mode mode)
{
	if (mode == PGX_PROGRESS_AUTO)
		return isatty(STDERR_FILENO);
	return mode == PGX_PROGRESS_ON;
}

void pgx_progress_start(struct pgx_progress *p, enum pgx_progress_mode mode)
{
	p->on = pgx_progress_wanted(mode);
	p->started = monotonic_now();
	p->next_draw = p->started;	/* the first check draws: something shows at once */
	stdout_shares_terminal = p->on && isatty(STDOUT_FILENO);
}

bool pgx_progress_due(struct pgx_progress *p)
{
	double now;

	if (!p->on)
		return false;
	now = monotonic_now();
	if (now < p->next_draw)
		return false;
	p->next_draw = now + REDRAW_INTERVAL;
	return true;
}

double pgx_progress_elapsed(const struct pgx_progress *p)
{
	return monotonic_now() - p->started;
}

/* A line longer than the terminal wraps, and "\r" then returns to its
 * last row only: keep it to one row. */
static size_t terminal_columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		return ws.ws_col - 1;
	return 79;
}

void pgx_progress_show(struct pgx_progress *p, const char *fmt, ...)
{
	char text[512];
	size_t width = terminal_columns();
	va_list ap;

	if (!p->on)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (strlen(text) > width)
		text[width] = '\0';
	pgx_stderr_lock();
	if (stdout_shares_terminal)
		fflush(stdout);	/* records written so far go above the line */
	fprintf(stderr, "\r%s\033[K", text);
	line_shown = true;
	pgx_stderr_unlock();
}

void pgx_progress_erase(void)
{
	if (!line_shown)
		return;
	pgx_stderr_lock();
	if (line_shown)
		fputs(ERASE_LINE, stderr);
	line_shown = false;
	pgx_stderr_unlock();
}

void pgx_progress_before_output(void)
{
	if (line_shown && stdout_shares_terminal)
		pgx_progress_erase();
}

void pgx_progress_end(struct pgx_progress *p)
{
	pgx_progress_erase();
	p->on = false;
}

/* ---- the parts of a line ---- */

void pgx_format_bytes(char *out, size_t outlen, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (fabs(bytes) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, outlen, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void pgx_progress_format_duration(char *out, size_t outlen, double seconds)
{
	long s = seconds > 0 ? (long)(seconds + 0.5) : 0;

	if (s >= 3600)
		snprintf(out, outlen, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, outlen, "%ld:%02ld", s / 60, s % 60);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* "NAME: 1.2 GiB of 3.4 GiB (35%), 1234567 lines, 210.0 MiB/s, 0:11 left";
 * total 0 is an unknown size: no share, no time left. */
void pgx_progress_bytes(struct pgx_progress *p, const char *name, unsigned long long done,
			unsigned long long total, unsigned long lines)
{
	double elapsed = pgx_progress_elapsed(p), rate = elapsed > 0 ? done / elapsed : 0;
	char done_s[32], total_s[32], rate_s[32], left_s[32];

	name = base_name(name);	/* the line must fit one row */
	pgx_format_bytes(done_s, sizeof(done_s), (double)done);
	pgx_format_bytes(rate_s, sizeof(rate_s), rate);
	if (!total) {
		pgx_progress_show(p, "%s: %s, %lu lines, %s/s", name, done_s, lines, rate_s);
		return;
	}
	pgx_format_bytes(total_s, sizeof(total_s), (double)total);
	if (rate > 0 && total > done)
		pgx_progress_format_duration(left_s, sizeof(left_s), (total - done) / rate);
	else
		snprintf(left_s, sizeof(left_s), "0:00");
	pgx_progress_show(p, "%s: %s of %s (%.0f%%), %lu lines, %s/s, %s left", name, done_s, total_s,
			  done >= total ? 100.0 : 100.0 * done / total, lines, rate_s, left_s);
}
