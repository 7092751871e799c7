/* linechart.c - one time series chart as inline SVG for the HTML page:
 * a y axis from zero (a ratio: from just under its lowest value) with
 * labels in the chart's unit, UTC time labels, a gap where a value is
 * unknown, a dashed mark at each counter reset, and a legend in HTML
 * with the last and largest value of each line */
#include <math.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "health.h"
#include "trend.h"

#define W 600
#define H 240
#define LEFT 70
#define RIGHT 14
#define TOP 12
#define BOTTOM 28
#define COLOURS 8	/* classes c0..c7 in html.c's style sheet */
#define MARKERS_MAX 60	/* points with a marker and a tooltip, per line */
#define RESET_LABEL_W 40

struct frame {
	double t0, t1, lo, hi;
};

static double x_of(const struct frame *fr, double t)
{
	if (fr->t1 <= fr->t0)
		return (LEFT + W - RIGHT) / 2.0;
	return LEFT + (t - fr->t0) / (fr->t1 - fr->t0) * (W - LEFT - RIGHT);
}

static double y_of(const struct frame *fr, double v)
{
	return H - BOTTOM - (v - fr->lo) / (fr->hi - fr->lo) * (H - TOP - BOTTOM);
}

static void short_number(char *buf, size_t n, double v, const char *suffix)
{
	static const struct { double f; const char *s; } scale[] = {
		{ 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" },
	};

	for (size_t i = 0; i < sizeof(scale) / sizeof(scale[0]); i++)
		if (fabs(v) >= scale[i].f) {
			snprintf(buf, n, "%.3g%s%s", v / scale[i].f, scale[i].s, suffix);
			return;
		}
	snprintf(buf, n, "%.3g%s", fabs(v) < 1e-9 ? 0 : v, suffix);
}

static void short_bytes(char *buf, size_t n, double v, const char *suffix)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t u = 0;

	while (fabs(v) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, fabs(v) >= 1000 ? "%.4g %s%s" : "%.3g %s%s", v, units[u], suffix);
}

void trend_format(char *buf, size_t n, double v, enum trend_unit u)
{
	switch (u) {
	case TU_PER_S: short_number(buf, n, v, "/s"); break;
	case TU_PER_MIN: short_number(buf, n, v, "/min"); break;
	case TU_BYTES: short_bytes(buf, n, v, ""); break;
	case TU_BYTES_PER_S: short_bytes(buf, n, v, "/s"); break;
	case TU_PCT:
		snprintf(buf, n, v == floor(v) ? "%.0f%%" : fabs(v) >= 99 ? "%.2f%%" : "%.1f%%", v);
		break;
	case TU_SECONDS: short_number(buf, n, v, " s"); break;
	default: short_number(buf, n, v, ""); break;
	}
}

/* 1-2-5 steps; for bytes, of the binary unit the range is counted in */
static double nice_step(double range, int ticks, enum trend_unit u)
{
	double raw = range / ticks, unit = 1, mag;
	bool bytes = u == TU_BYTES || u == TU_BYTES_PER_S;

	while (bytes && raw / unit >= 1024)
		unit *= 1024;
	raw /= unit;
	mag = pow(10, floor(log10(raw)));
	for (int m = 1; m <= 10; m = m == 1 ? 2 : m == 2 ? 5 : 10)
		if (m * mag >= raw)
			return m * mag * unit;
	return 10 * mag * unit;
}

static bool value_range(const struct trend_chart *c, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < c->lines.n; i++)
		for (size_t j = 0; j < c->lines.v[i].pts.n; j++) {
			double v = c->lines.v[i].pts.v[j].v;

			if (!isfinite(v))
				continue;
			*lo = v < *lo ? v : *lo;
			*hi = v > *hi ? v : *hi;
		}
	return *lo <= *hi;
}

/* The y range and its step: from 0, or for a ratio from a step under the
 * lowest value, so that 99.2% and 99.9% do not look alike */
static double y_axis(const struct trend_chart *c, struct frame *fr)
{
	double lo, hi, step;

	if (!value_range(c, &lo, &hi))
		lo = hi = 0;
	if (c->unit != TU_PCT || hi - lo < 1e-9)
		lo = lo < 0 ? lo : 0;
	if (hi - lo < 1e-9)
		hi = lo + 1;
	step = nice_step(hi - lo, 4, c->unit);
	fr->lo = floor(lo / step) * step;
	fr->hi = ceil(hi / step) * step;
	if (fr->hi <= fr->lo)
		fr->hi = fr->lo + step;
	if (c->unit == TU_PCT && fr->hi > 100 && hi <= 100)
		fr->hi = 100;
	return step;
}

static void y_grid(FILE *f, const struct trend_chart *c, const struct frame *fr, double step)
{
	char buf[48];

	for (int k = 0; fr->lo + k * step <= fr->hi + step / 1000; k++) {
		double v = fr->lo + k * step, y = y_of(fr, v);

		trend_format(buf, sizeof(buf), v, c->unit);
		fprintf(f, "<line class=grid x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			"<text class=yl x=\"%d\" y=\"%.1f\">%s</text>\n",
			LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, buf);
	}
}

static double time_step(double span)
{
	static const double steps[] = {
		1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
		43200, 86400, 172800, 604800, 2592000,
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 6)
			return steps[i];
	return span / 6;
}

static void time_label(char *buf, size_t n, double t, double step, double span)
{
	time_t tt = (time_t)floor(t);
	struct tm tm;
	size_t len = 0;

	if (gmtime_r(&tt, &tm))
		len = span >= 86400 ? strftime(buf, n, "%m-%d %H:%M", &tm)
		    : step < 60 ? strftime(buf, n, "%H:%M:%S", &tm) : strftime(buf, n, "%H:%M", &tm);
	if (!len)
		snprintf(buf, n, "?");
}

static void x_grid(FILE *f, const struct frame *fr)
{
	double span = fr->t1 - fr->t0, step = time_step(span > 0 ? span : 1);
	char buf[48];

	for (int k = 0; ceil(fr->t0 / step) * step + k * step <= fr->t1 + 1e-6; k++) {
		double t = ceil(fr->t0 / step) * step + k * step, x = x_of(fr, t);

		time_label(buf, sizeof(buf), t, step, span);
		/* a label at the right edge ends there instead of being cut */
		fprintf(f, "<line class=grid x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			"<text class=\"xl%s\" x=\"%.1f\" y=\"%d\">%s</text>\n",
			x, TOP, x, H - BOTTOM, x > W - RIGHT - 30 ? " end" : "", x, H - BOTTOM + 16, buf);
	}
	fprintf(f, "<line class=axis x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
		LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM);
}

/* A dashed line at each reset; its label only where it does not overlap
 * the previous one */
static void resets(FILE *f, const struct trend_chart *c, const struct frame *fr)
{
	double labelled = -INFINITY;

	for (size_t i = 0; i < c->resets.n; i++) {
		double x = x_of(fr, c->resets.v[i]);

		fprintf(f, "<g class=reset><title>counter reset before this sample: no rate for "
			"the interval</title><line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>",
			x, TOP, x, H - BOTTOM);
		if (x - labelled >= RESET_LABEL_W) {
			fprintf(f, "<text x=\"%.1f\" y=\"%d\">reset</text>", x + 3, TOP + 10);
			labelled = x;
		}
		fputs("</g>\n", f);
	}
}

/* Polylines between gaps; a lone value is a dot */
static void path(FILE *f, const struct trend_line *l, const struct frame *fr, int k)
{
	size_t i = 0;

	while (i < l->pts.n) {
		size_t start, n = 0;

		while (i < l->pts.n && !isfinite(l->pts.v[i].v))
			i++;
		start = i;
		while (i < l->pts.n && isfinite(l->pts.v[i].v))
			i++, n++;
		if (n == 1)
			fprintf(f, "<circle class=\"c%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>\n", k % COLOURS,
				x_of(fr, l->pts.v[start].t), y_of(fr, l->pts.v[start].v));
		if (n < 2)
			continue;
		fprintf(f, "<polyline class=\"c%d%s\" points=\"", k % COLOURS, k >= COLOURS ? " dash" : "");
		for (size_t j = start; j < start + n; j++)
			fprintf(f, "%s%.1f,%.1f", j > start ? " " : "", x_of(fr, l->pts.v[j].t), y_of(fr, l->pts.v[j].v));
		fputs("\"/>\n", f);
	}
}

/* A marker with its value as tooltip, for captures short enough to point at */
static void markers(FILE *f, const struct trend_chart *c, const struct trend_line *l,
		    const struct frame *fr, int k)
{
	char v[48], t[48];

	if (l->pts.n > MARKERS_MAX)
		return;
	for (size_t i = 0; i < l->pts.n; i++) {
		if (!isfinite(l->pts.v[i].v))
			continue;
		trend_format(v, sizeof(v), l->pts.v[i].v, c->unit);
		time_label(t, sizeof(t), l->pts.v[i].t, 1, fr->t1 - fr->t0);
		fprintf(f, "<circle class=\"m c%d\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\"><title>", k % COLOURS,
			x_of(fr, l->pts.v[i].t), y_of(fr, l->pts.v[i].v));
		html_esc(f, l->name);
		fprintf(f, " at %s UTC: %s</title></circle>\n", t, v);
	}
}

static bool last_and_max(const struct trend_line *l, double *last, double *max)
{
	bool any = false;

	for (size_t i = 0; i < l->pts.n; i++) {
		double v = l->pts.v[i].v;

		if (!isfinite(v))
			continue;
		*max = !any || v > *max ? v : *max;
		*last = v;
		any = true;
	}
	return any;
}

/* The legend, also the chart's text for a screen reader */
static void legend(FILE *f, const struct trend_chart *c)
{
	char a[48], b[48];

	fputs("<ul class=legend>", f);
	for (size_t i = 0; i < c->lines.n; i++) {
		const struct trend_line *l = &c->lines.v[i];
		double last = 0, max = 0;

		fprintf(f, "<li><span class=\"sw c%zu\"></span>", i % COLOURS);
		html_esc(f, l->name);
		if (last_and_max(l, &last, &max)) {
			trend_format(a, sizeof(a), last, c->unit);
			trend_format(b, sizeof(b), max, c->unit);
			fprintf(f, " <span class=na>last %s, max %s</span>", a, b);
		} else {
			fputs(" <span class=na>no value</span>", f);
		}
		fputs("</li>", f);
	}
	fputs("</ul>\n", f);
}

void trend_chart_render(FILE *f, const struct trend_chart *c, double t0, double t1, int seq)
{
	struct frame fr = { .t0 = t0, .t1 = t1 };
	double step;

	fprintf(f, "<figure class=trend id=\"trend-%d-%s\"><figcaption><b>", seq, c->id);
	html_esc(f, c->title);
	fputs("</b> <span class=na>", f);
	html_esc(f, c->what);
	fputs("</span></figcaption>\n", f);
	if (c->empty) {
		fputs("<p class=na>No data: ", f);
		html_esc(f, c->empty);
		fputs(".</p></figure>\n", f);
		return;
	}
	step = y_axis(c, &fr);
	fprintf(f, "<svg class=chart role=img aria-labelledby=\"tt%d\" viewBox=\"0 0 %d %d\" "
		"width=\"%d\" height=\"%d\"><title id=\"tt%d\">", seq, W, H, W, H, seq);
	html_esc(f, c->title);
	fputs(" over time</title>\n", f);
	y_grid(f, c, &fr, step);
	x_grid(f, &fr);
	resets(f, c, &fr);
	for (size_t i = 0; i < c->lines.n; i++) {
		path(f, &c->lines.v[i], &fr, (int)i);
		markers(f, c, &c->lines.v[i], &fr, (int)i);
	}
	fputs("</svg>\n", f);
	legend(f, c);
	fputs("</figure>\n", f);
}
