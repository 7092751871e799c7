/* trend.h - time series of several pgx-poll samples, per cluster, for the
 * HTML page: rates between consecutive samples (no rate across a counter
 * reset, which is marked instead) and gauges as sampled */
#ifndef PGX_TREND_H
#define PGX_TREND_H

#include <stdio.h>
#include <jansson.h>
#include "report.h"

enum trend_unit { TU_PER_S, TU_PER_MIN, TU_BYTES, TU_BYTES_PER_S, TU_PCT, TU_COUNT, TU_SECONDS };

struct trend_point {
	double t, v;		/* v is NAN where there is no value (a gap) */
};

struct trend_line {
	char *name;
	VEC(struct trend_point) pts;
};

struct trend_chart {
	const char *id, *title, *what;	/* what: where the numbers come from */
	enum trend_unit unit;
	VEC(struct trend_line) lines;
	VEC(double) resets;	/* sample times after a counter reset */
	char *empty;		/* why the chart has no line, else NULL */
};

struct trend_cluster {
	char *name;
	size_t samples;		/* distinct sample times of its busiest section */
	double t0, t1;
	VEC(struct trend_chart) charts;
};

struct trends {
	VEC(struct trend_cluster) clusters;
};

/* trend.c: from the pgx-poll records of the input (any order), each as
 * trend_slim made it (NULL: a record the series do not read) */
json_t *trend_slim(const json_t *rec);
void trends_build(struct trends *tr, const json_t *history);
void trends_free(struct trends *tr);
const char *trend_state_label(const char *state);	/* by_state key as shown */

/* linechart.c: one chart as inline SVG with its legend, times t0..t1 */
void trend_chart_render(FILE *f, const struct trend_chart *c, double t0, double t1, int seq);
void trend_format(char *buf, size_t n, double v, enum trend_unit u);

#endif
