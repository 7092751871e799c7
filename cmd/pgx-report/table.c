/* table.c - the profile as text for a terminal, 80 columns at most */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx.h"
#include "report.h"

#define WIDTH 80
#define NUM_W 10
#define PCT_W 8
#define CMD_W (WIDTH - 2 - 7 - 2 * NUM_W - 5 - 2)

static void rule(FILE *f, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fputc(c, f);
	fputc('\n', f);
}

static void section(FILE *f, const char *title)
{
	fprintf(f, "\n%s\n", title);
	rule(f, '-', WIDTH);
}

static void num_cell(FILE *f, double s)
{
	char buf[FMT_LEN];

	put_cell(f, fmt_secs(buf, s), NUM_W, true);
}

static void pct_cell(FILE *f, double pct)
{
	char buf[FMT_LEN];

	put_cell(f, fmt_pct(buf, pct), PCT_W, true);
}

/* The duration columns: one for a run, median/min/max for aggregates. */
static void duration_cells(FILE *f, bool agg, double dur, const struct spread *s)
{
	num_cell(f, dur);
	if (agg) {
		num_cell(f, s->runs ? s->min_s : dur);
		num_cell(f, s->runs ? s->max_s : dur);
	}
}

static size_t duration_header(FILE *f, bool agg, const char *one)
{
	if (!agg) {
		put_cell(f, one, NUM_W, true);
		return NUM_W;
	}
	put_cell(f, "Median", NUM_W, true);
	put_cell(f, "Min", NUM_W, true);
	put_cell(f, "Max", NUM_W, true);
	return 3 * NUM_W;
}

/* A failure in red on a terminal, unless NO_COLOR is set (no-color.org). */
static bool colour(FILE *f)
{
	const char *no = getenv("NO_COLOR");

	return isatty(fileno(f)) && !(no && *no);
}

static const char *red_on(FILE *f)
{
	return colour(f) ? "\033[1;31m" : "";
}

static const char *red_off(FILE *f)
{
	return colour(f) ? "\033[0m" : "";
}

static void header(FILE *f, const struct profile *p)
{
	char buf[FMT_LEN], buf2[FMT_LEN], line[160];
	bool container = p->subject_kind && !strcmp(p->subject_kind, "container");

	rule(f, '=', WIDTH);
	fprintf(f, "PostgreSQL %sStartup Profile\n", container ? "Container " : "");
	rule(f, '=', WIDTH);
	fputc('\n', f);
	fputs("Subject:   ", f);
	put_trunc(f, p->subject, WIDTH - 11);
	fputc('\n', f);
	if (p->partial)
		snprintf(line, sizeof(line), "%s (from its phases: no profile record)", fmt_secs(buf, p->total_s));
	else if (p->has_total)
		snprintf(line, sizeof(line), "%s (ready by %s)", fmt_secs(buf, p->total_s), p->ready_source);
	else
		snprintf(line, sizeof(line), "%s- FAILED: never ready%s", red_on(f), red_off(f));
	fprintf(f, "Total:     %s\n", line);
	if (p->agg.runs)
		fprintf(f, "Runs:      %ld, medians shown (total min %s, max %s)\n", p->agg.runs,
			fmt_secs(buf, p->agg.min_s), fmt_secs(buf2, p->agg.max_s));
	if (p->lost_events)
		fprintf(f, "Lost:      %ld events (durations may be incomplete)\n", p->lost_events);
	for (size_t i = 0; i < p->warnings.n; i++)
		put_wrapped(f, i ? "           " : "Warnings:  ", p->warnings.v[i], WIDTH);
}

static bool from_log(const char *source)
{
	return source && !strcmp(source, "log");
}

/* Times from log lines only are less exact than kernel exec and exit: marked. */
static void name_cell(FILE *f, const char *name, const char *source, size_t width)
{
	char *marked;

	if (!from_log(source)) {
		put_cell(f, name, width, false);
		return;
	}
	marked = pgx_xmalloc(strlen(name) + 3);
	sprintf(marked, "%s *", name);
	put_cell(f, marked, width, false);
	free(marked);
}

static void log_note(FILE *f, bool any)
{
	if (any)
		fputs("  * timed from log lines only, less exact than traced exec and exit\n", f);
}

/* The time no phase covers, then the total. */
static void total_rows(FILE *f, const struct profile *p, double sum)
{
	bool agg = p->agg.runs > 0;

	if (!p->has_total)
		return;
	if (p->total_s - sum >= 0.0005) {
		fputs("  ", f);
		put_cell(f, "(outside any phase)", 30, false);
		duration_cells(f, false, p->total_s - sum, NULL);
		if (agg)
			fprintf(f, "%*s", 2 * NUM_W, "");
		pct_cell(f, p->total_s > 0 ? (p->total_s - sum) * 100 / p->total_s : -1);
		fputc('\n', f);
	}
	fputs("  ", f);
	put_cell(f, "Total", 30, false);
	duration_cells(f, agg, p->total_s, &p->agg);
	pct_cell(f, 100);
	fputc('\n', f);
}

static void phases(FILE *f, const struct profile *p)
{
	bool agg = p->agg.runs > 0, any_log = false;
	double sum = 0;
	size_t w;

	if (!p->phases.n)
		return;
	section(f, "PHASES");
	fputs("  ", f);
	put_cell(f, "Phase", 30, false);
	w = duration_header(f, agg, "Duration");
	put_cell(f, "Pct", PCT_W, true);
	fputs("\n  ", f);
	rule(f, '-', 30 + w + PCT_W);
	for (size_t i = 0; i < p->phases.n; i++) {
		const struct phase *ph = &p->phases.v[i];

		char label[64];

		snprintf(label, sizeof(label), "%s%s%s", phase_label(ph->name),
			 ph->cache ? ", cache " : "", ph->cache ? ph->cache : "");
		fputs("  ", f);
		name_cell(f, label, ph->source, 30);
		duration_cells(f, agg, ph->t.duration_s, &ph->agg);
		pct_cell(f, phase_pct(p, ph));
		fputc('\n', f);
		sum += ph->t.duration_s > 0 ? ph->t.duration_s : 0;
		any_log |= from_log(ph->source);
	}
	total_rows(f, p, sum);
	log_note(f, any_log);
}

static int by_duration_desc(const void *a, const void *b)
{
	const struct script *x = *(struct script *const *)a, *y = *(struct script *const *)b;

	if (x->t.duration_s != y->t.duration_s)
		return x->t.duration_s < y->t.duration_s ? 1 : -1;
	return (x->t.start > y->t.start) - (x->t.start < y->t.start);
}

static void script_row(FILE *f, const struct profile *p, const struct script *s, size_t name_w)
{
	bool agg = p->agg.runs > 0;
	char code[16];

	fputs("  ", f);
	name_cell(f, s->name, s->source, name_w);
	duration_cells(f, agg, s->t.duration_s, &s->agg);
	pct_cell(f, p->has_total && p->total_s > 0 ? s->t.duration_s * 100 / p->total_s : -1);
	if (!agg) {
		snprintf(code, sizeof(code), "%ld", s->exit_code);
		put_cell(f, s->has_exit ? code : "-", 6, true);
	}
	fputc('\n', f);
}

static void scripts(FILE *f, const struct profile *p, long top)
{
	bool agg = p->agg.runs > 0;
	size_t n = p->scripts.n, shown = (size_t)top < n ? (size_t)top : n, name_w = agg ? 36 : 44;
	const struct script **order;
	bool any_log = false;
	char title[96], buf[FMT_LEN];
	double rest = 0;

	if (!n)
		return;
	order = pgx_xmalloc(n * sizeof(*order));
	for (size_t i = 0; i < n; i++)
		order[i] = &p->scripts.v[i];
	qsort(order, n, sizeof(*order), by_duration_desc);
	snprintf(title, sizeof(title), "INIT SCRIPTS (top %zu of %zu by duration)", shown, n);
	section(f, title);
	fputs("  ", f);
	put_cell(f, "Script", name_w, false);
	duration_header(f, agg, "Duration");
	put_cell(f, "Pct", PCT_W, true);
	if (!agg)
		put_cell(f, "Exit", 6, true);
	fputs("\n  ", f);
	rule(f, '-', name_w + (agg ? 3 * NUM_W : NUM_W + 6) + PCT_W);
	for (size_t i = 0; i < n; i++) {
		if (i < shown)
			script_row(f, p, order[i], name_w);
		else
			rest += order[i]->t.duration_s > 0 ? order[i]->t.duration_s : 0;
	}
	if (shown < n)
		fprintf(f, "  ... %zu more, %s in all\n", n - shown, fmt_secs(buf, rest));
	for (size_t i = 0; i < shown; i++)
		any_log |= from_log(order[i]->source);
	log_note(f, any_log);
	free(order);
}

#define SERVER_W 10	/* "temporary" and a space */

/* A Server column only when a record says which server it belongs to. */
static void server_cell(FILE *f, bool shown, const char *server)
{
	if (shown)
		put_cell(f, server ? server : "", SERVER_W, false);
}

static bool extensions_have_server(const struct profile *p)
{
	for (size_t i = 0; i < p->extensions.n; i++)
		if (p->extensions.v[i].server)
			return true;
	return false;
}

static bool bgworkers_have_server(const struct profile *p)
{
	for (size_t i = 0; i < p->bgworkers.n; i++)
		if (p->bgworkers.v[i].server)
			return true;
	return false;
}

static void extensions(FILE *f, const struct profile *p)
{
	bool agg = p->agg.runs > 0, by_server = extensions_have_server(p);

	if (!p->extensions.n)
		return;
	section(f, "EXTENSIONS");
	fputs("  ", f);
	put_cell(f, "Extension", 30, false);
	server_cell(f, by_server, "Server");
	duration_header(f, agg, "Load time");
	fputs("\n  ", f);
	rule(f, '-', 30 + (by_server ? SERVER_W : 0) + (agg ? 3 * NUM_W : NUM_W));
	for (size_t i = 0; i < p->extensions.n; i++) {
		const struct extension *e = &p->extensions.v[i];

		fputs("  ", f);
		put_cell(f, e->name, 30, false);
		server_cell(f, by_server, e->server);
		duration_cells(f, agg, e->t.duration_s, &e->agg);
		fputc('\n', f);
	}
}

static void bgworkers(FILE *f, const struct profile *p)
{
	bool agg = p->agg.runs > 0, by_server = bgworkers_have_server(p);

	if (!p->bgworkers.n)
		return;
	section(f, "BACKGROUND WORKERS");
	fputs("  ", f);
	put_cell(f, "Worker", 30, false);
	server_cell(f, by_server, "Server");
	duration_header(f, agg, "Started at");
	fputs("\n  ", f);
	rule(f, '-', 30 + (by_server ? SERVER_W : 0) + (agg ? 3 * NUM_W : NUM_W));
	for (size_t i = 0; i < p->bgworkers.n; i++) {
		const struct bgworker *w = &p->bgworkers.v[i];

		fputs("  ", f);
		put_cell(f, w->name, 30, false);
		server_cell(f, by_server, w->server);
		duration_cells(f, agg, w->offset_s, &w->agg);
		fputc('\n', f);
	}
}

static void processes(FILE *f, const struct profile *p)
{
	double origin = profile_origin(p);
	char buf[FMT_LEN], cmd[4 * CMD_W + 8];

	if (!p->processes.n)
		return;
	section(f, "PROCESSES (exec to exit)");
	fputs("  ", f);
	put_cell(f, "PID", 7, true);
	put_cell(f, "Start", NUM_W, true);
	put_cell(f, "Duration", NUM_W, true);
	put_cell(f, "Exit", 5, true);
	fputs("  Command\n  ", f);
	rule(f, '-', WIDTH - 2);
	for (size_t i = 0; i < p->processes.n; i++) {
		const struct process *pr = &p->processes.v[i];

		snprintf(buf, sizeof(buf), "%ld", pr->pid);
		fputs("  ", f);
		put_cell(f, buf, 7, true);
		num_cell(f, pr->t.start - origin);
		if (pr->t.has_end)
			num_cell(f, pr->t.duration_s);
		else
			put_cell(f, "running", NUM_W, true);
		snprintf(buf, sizeof(buf), "%ld", pr->exit_code);
		put_cell(f, pr->has_exit ? buf : "-", 5, true);
		fputs("  ", f);
		fputs(cut_command(cmd, sizeof(cmd), pr->cmdline, CMD_W), f);
		fputc('\n', f);
	}
}

void table_render(FILE *f, const struct profile *p, const struct view_opts *o)
{
	header(f, p);
	phases(f, p);
	scripts(f, p, o->top);
	extensions(f, p);
	bgworkers(f, p);
	if (o->verbose)
		processes(f, p);
}
