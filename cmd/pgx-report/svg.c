/* svg.c - a self-contained waterfall timeline, one row per span, like systemd-analyze plot */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "report.h"

#define MARGIN 20
#define HEADER_H 84	/* title, subject, total, legend, grid labels */
#define ROW_H 18
#define BAR_H 14
#define LABEL_W 560	/* room right of the chart for the last bars' labels */
#define LABEL_CHARS 64
#define MIN_CHART_W 800
#define MAX_CHART_W 40000
#define PX_PER_S 100

enum row_kind { ROW_PHASE, ROW_SCRIPT, ROW_EXTENSION, ROW_PROCESS, ROW_BGWORKER };
static const char *const kind_names[] = { "phase", "script", "extension", "process", "bgworker" };

struct row {
	enum row_kind kind;
	const char *name;
	long pid;		/* processes only */
	double start, end;	/* seconds from the origin */
	bool open_end;		/* still running at the end of the stream */
};

struct chart {
	FILE *f;
	double origin, span_s, px_per_s;
	int chart_w;
	VEC(struct row) rows;
};

/* Text content and attribute values; control characters are not XML. */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static struct row *add_row(struct chart *c, enum row_kind kind, const char *name, const struct span *t)
{
	struct row *r;

	if (!t->has_start)
		return NULL;
	r = vec_push(&c->rows);
	r->kind = kind;
	r->name = name;
	r->start = t->start - c->origin;
	r->open_end = !t->has_end;
	r->end = t->has_end ? t->end - c->origin : c->span_s;
	return r;
}

static int by_start(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static void collect_rows(struct chart *c, const struct profile *p)
{
	for (size_t i = 0; i < p->phases.n; i++)
		add_row(c, ROW_PHASE, p->phases.v[i].name, &p->phases.v[i].t);
	for (size_t i = 0; i < p->scripts.n; i++)
		add_row(c, ROW_SCRIPT, p->scripts.v[i].name, &p->scripts.v[i].t);
	for (size_t i = 0; i < p->extensions.n; i++)
		add_row(c, ROW_EXTENSION, p->extensions.v[i].name, &p->extensions.v[i].t);
	for (size_t i = 0; i < p->processes.n; i++) {
		struct row *r = add_row(c, ROW_PROCESS, p->processes.v[i].cmdline, &p->processes.v[i].t);

		if (r)
			r->pid = p->processes.v[i].pid;
	}
	for (size_t i = 0; i < p->bgworkers.n; i++) {
		struct span t = { .start = c->origin + p->bgworkers.v[i].offset_s, .has_start = true };

		t.end = t.start;
		t.has_end = true;
		if (p->bgworkers.v[i].offset_s >= 0)
			add_row(c, ROW_BGWORKER, p->bgworkers.v[i].name, &t);
	}
	if (c->rows.n)
		qsort(c->rows.v, c->rows.n, sizeof(*c->rows.v), by_start);
}

static double x_of(const struct chart *c, double t)
{
	return MARGIN + (t < 0 ? 0 : t) * c->px_per_s;
}

/* A grid step of at least 100 px between labelled lines: 1-2-5 steps of
 * seconds, then minutes; never more marks than the chart has 100 px. */
static double grid_step(double px_per_s)
{
	static const double steps[] = { 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600 };
	double raw = 100 / px_per_s, mag;

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i] >= raw)
			return steps[i];
	mag = pow(10, floor(log10(raw)));
	return raw <= 2 * mag ? 2 * mag : raw <= 5 * mag ? 5 * mag : 10 * mag;
}

/* Marks at the top and again under the last row, which may be far down. */
static void grid(const struct chart *c, int body_end)
{
	double step = grid_step(c->px_per_s);
	char buf[FMT_LEN];

	for (long k = 0; k * step <= c->span_s + 1e-9; k++) {
		double x = x_of(c, k * step);

		snprintf(buf, sizeof(buf), "%gs", round_to(k * step, 0.001));
		fprintf(c->f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n"
			"<text class=\"tick\" x=\"%.1f\" y=\"%d\">%s</text>\n"
			"<text class=\"tick\" x=\"%.1f\" y=\"%d\">%s</text>\n",
			x, HEADER_H - 12, x, body_end + 2, x, HEADER_H - 16, buf, x, body_end + 14, buf);
	}
}

/* Every other row shaded, so a label can be followed to its bar. */
static void stripes(const struct chart *c, int width)
{
	for (size_t i = 1; i < c->rows.n; i += 2)
		fprintf(c->f, "<rect class=\"stripe\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
			HEADER_H + (int)i * ROW_H - (ROW_H - BAR_H) / 2, width, ROW_H);
}

static void ready_mark(const struct chart *c, const struct profile *p, int body_end)
{
	char buf[FMT_LEN];
	double x;

	if (!p->has_total || p->partial)
		return;
	x = x_of(c, p->total_s);
	fprintf(c->f, "<line class=\"ready\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>\n"
		"<text class=\"ready\" x=\"%.1f\" y=\"%d\">ready (%s)</text>\n",
		x, HEADER_H - 12, x, body_end + 18, x + 3, body_end + 28, fmt_secs(buf, p->total_s));
}

static void label_text(FILE *f, const struct row *r)
{
	char buf[FMT_LEN], name[LABEL_CHARS * 4 + 8];

	/* a command line says most at its start, a file name at its end */
	if (r->kind == ROW_PROCESS)
		xml_text(f, cut_command(name, sizeof(name), r->name, LABEL_CHARS));
	else
		xml_text(f, cut_front(name, sizeof(name), r->name, LABEL_CHARS));
	if (r->pid)
		fprintf(f, " [%ld]", r->pid);
	if (r->kind == ROW_BGWORKER)
		fprintf(f, " (at %s)", fmt_secs(buf, r->start));
	else if (r->open_end)
		fputs(" (running)", f);
	else
		fprintf(f, " (%s)", fmt_secs(buf, r->end - r->start));
}

static void row(const struct chart *c, const struct row *r, int y)
{
	const char *kind = kind_names[r->kind];
	double x = x_of(c, r->start), w = (r->end - r->start) * c->px_per_s;
	char buf[FMT_LEN];

	if (w < 1)
		w = r->kind == ROW_BGWORKER ? 3 : 1;
	fprintf(c->f, "<rect class=\"%s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\">"
		"<title>%s ", kind, x, y, w, BAR_H, kind);
	xml_text(c->f, r->name);
	fprintf(c->f, " at +%s</title></rect>\n", fmt_secs(buf, r->start));
	fprintf(c->f, "<text class=\"label\" x=\"%.1f\" y=\"%d\">", x + w + 4, y + BAR_H - 3);
	label_text(c->f, r);
	fputs("</text>\n", c->f);
}

static void head(const struct chart *c, const struct profile *p, int width, int height)
{
	static const char *const colours[] = { "#4a7fc1", "#e39b2d", "#6aa84f", "#a0a0a0", "#c0504d" };
	char buf[FMT_LEN];

	fprintf(c->f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\">\n<style>\n"
		"text { font-family: sans-serif; font-size: 11px; fill: #222; }\n"
		".title { font-size: 16px; font-weight: bold; }\n"
		".tick { font-size: 10px; fill: #666; text-anchor: middle; }\n"
		".grid { stroke: #ddd; stroke-width: 1; }\n"
		"rect.stripe { fill: #f5f5f5; }\n"
		"line.ready { stroke: #c0504d; stroke-width: 1; stroke-dasharray: 4 3; }\n"
		"text.ready { fill: #c0504d; }\n", width, height, width, height);
	for (int k = 0; k <= ROW_BGWORKER; k++)
		fprintf(c->f, "rect.%s { fill: %s; }\n", kind_names[k], colours[k]);
	fputs("</style>\n<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n", c->f);
	fprintf(c->f, "<text class=\"title\" x=\"%d\" y=\"22\">PostgreSQL Startup Profile: ", MARGIN);
	xml_text(c->f, p->subject);
	fprintf(c->f, "</text>\n<text x=\"%d\" y=\"40\">Total %s, ready by ", MARGIN,
		p->has_total ? fmt_secs(buf, p->total_s) : "- (not ready)");
	xml_text(c->f, p->ready_source);
	if (p->agg.runs)
		fprintf(c->f, "; medians of %ld runs", p->agg.runs);
	fputs("</text>\n", c->f);
	for (int k = 0; k <= ROW_BGWORKER; k++) {
		int x = MARGIN + k * 90;

		fprintf(c->f, "<rect class=\"%s legend\" x=\"%d\" y=\"48\" width=\"10\" height=\"10\"/>"
			"<text x=\"%d\" y=\"57\">%s</text>\n", kind_names[k], x, x + 14, kind_names[k]);
	}
}

void svg_render(FILE *f, const struct profile *p, const struct view_opts *o)
{
	struct chart c = { .f = f, .origin = profile_origin(p) };
	int width, height, body_end;

	c.span_s = profile_end(p) - c.origin;
	if (c.span_s < 0.001)
		c.span_s = 0.001;
	c.chart_w = (int)(c.span_s * PX_PER_S);
	c.chart_w = c.chart_w < MIN_CHART_W ? MIN_CHART_W : c.chart_w > MAX_CHART_W ? MAX_CHART_W : c.chart_w;
	c.px_per_s = c.chart_w / c.span_s;
	collect_rows(&c, p);
	width = 2 * MARGIN + c.chart_w + LABEL_W;
	body_end = HEADER_H + (int)c.rows.n * ROW_H;
	height = body_end + 32 + MARGIN;
	head(&c, p, width, height);
	stripes(&c, width);
	grid(&c, body_end);
	ready_mark(&c, p, body_end);
	for (size_t i = 0; i < c.rows.n; i++)
		row(&c, &c.rows.v[i], HEADER_H + (int)i * ROW_H);
	fputs("</svg>\n", f);
	free(c.rows.v);
	(void)o;
}
