/* alerts_expr.c - the alert rules' expressions: arithmetic over record
 * fields, evaluated directly from the text (no code, no calls beyond the
 * few functions below), so a catalog can never run anything */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "health.h"
#include "alerts.h"

struct parser {
	const char *s, *p;
	const struct expr_ctx *cx;
	char *err;
	size_t errlen;
	bool failed;
};

static double expr(struct parser *ps);

static void fail(struct parser *ps, const char *what)
{
	if (!ps->failed && ps->err)
		snprintf(ps->err, ps->errlen, "%s at column %d of \"%s\"", what,
			 (int)(ps->p - ps->s) + 1, ps->s);
	ps->failed = true;
}

static void skip_ws(struct parser *ps)
{
	while (isspace((unsigned char)*ps->p))
		ps->p++;
}

static bool accept(struct parser *ps, char c)
{
	skip_ws(ps);
	if (*ps->p != c)
		return false;
	ps->p++;
	return true;
}

static double field(const struct expr_ctx *cx, const char *path)
{
	double v;

	if (cx->elem && jnum(cx->elem, path, &v))
		return v;
	if (cx->rec && jnum(cx->rec, path, &v))
		return v;
	return NAN;
}

static double list_len(const struct expr_ctx *cx, const char *path)
{
	json_t *v = cx->elem ? jpath(cx->elem, path) : NULL;

	if (!v && cx->rec)
		v = jpath(cx->rec, path);
	return json_is_array(v) ? (double)json_array_size(v) : NAN;
}

static void read_path(struct parser *ps, char *path, size_t size)
{
	const char *start;

	skip_ws(ps);
	start = ps->p;
	while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.')
		ps->p++;
	if (ps->p == start)
		fail(ps, "expected a field");
	snprintf(path, size, "%.*s", (int)(ps->p - start), start);
}

/* A counter's rate: pgx-poll --delta wrote it (name_total -> name_per_s),
 * else the previous sample in the alert state gives it. */
static double counter_rate(const struct expr_ctx *cx, const char *path)
{
	size_t n = strlen(path);
	char per_s[160];

	if (n > 6 && n < sizeof(per_s) - 6 && !strcmp(path + n - 6, "_total")) {
		snprintf(per_s, sizeof(per_s), "%.*s_per_s", (int)(n - 6), path);
		if (!isnan(field(cx, per_s)))
			return field(cx, per_s);
	}
	return cx->history ? cx->history(cx->history_arg, HIST_RATE, path, field(cx, path), NAN) : NAN;
}

/* len(list), rate(counter), since(counter, marker): their arguments are
 * paths, not expressions */
static double path_call(struct parser *ps, const char *name)
{
	char path[128], marker[128];
	double r = NAN;

	read_path(ps, path, sizeof(path));
	if (!strcmp(name, "since")) {
		if (!accept(ps, ','))
			fail(ps, "expected ','");
		read_path(ps, marker, sizeof(marker));
		if (ps->cx->history)
			r = ps->cx->history(ps->cx->history_arg, HIST_SINCE, path, field(ps->cx, path),
					    field(ps->cx, marker));
	} else if (!strcmp(name, "rate")) {
		r = counter_rate(ps->cx, path);
	} else {
		r = list_len(ps->cx, path);
	}
	if (!accept(ps, ')'))
		fail(ps, "expected ')'");
	return r;
}

/* name(args) */
static double call(struct parser *ps, const char *name)
{
	double args[8], r = NAN;
	size_t n = 0;

	if (!strcmp(name, "len") || !strcmp(name, "rate") || !strcmp(name, "since"))
		return path_call(ps, name);
	if (!accept(ps, ')')) {
		do {
			if (n == 8) {
				fail(ps, "too many arguments");
				return NAN;
			}
			args[n++] = expr(ps);
		} while (accept(ps, ','));
		if (!accept(ps, ')'))
			fail(ps, "expected ')'");
	}
	if (!strcmp(name, "age") && n == 1)
		return ps->cx->now - args[0];
	if (!strcmp(name, "max") || !strcmp(name, "min") || !strcmp(name, "coalesce")) {
		for (size_t i = 0; i < n; i++) {
			if (isnan(args[i]))
				continue;
			if (isnan(r) || (name[1] == 'a' && args[i] > r) || (name[1] == 'i' && args[i] < r))
				r = args[i];
			if (name[0] == 'c')
				break;
		}
		return r;
	}
	fail(ps, "unknown function");
	return NAN;
}

static double factor(struct parser *ps)
{
	const char *start;
	char name[128];
	char *end;
	double v;

	skip_ws(ps);
	if (accept(ps, '(')) {
		v = expr(ps);
		if (!accept(ps, ')'))
			fail(ps, "expected ')'");
		return v;
	}
	if (accept(ps, '-'))
		return -factor(ps);
	if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
		v = strtod(ps->p, &end);
		if (end == ps->p)
			fail(ps, "bad number");
		ps->p = end;
		return v;
	}
	start = ps->p;
	while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.')
		ps->p++;
	if (ps->p == start || ps->p - start >= (long)sizeof(name)) {
		fail(ps, "expected a number, a field or a function");
		return NAN;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(ps->p - start), start);
	if (accept(ps, '('))
		return call(ps, name);
	return field(ps->cx, name);
}

static double term(struct parser *ps)
{
	double v = factor(ps), r;

	for (;;) {
		if (accept(ps, '*')) {
			v *= factor(ps);
		} else if (accept(ps, '/')) {
			r = factor(ps);
			v = r == 0 ? NAN : v / r;
		} else {
			return v;
		}
	}
}

static double expr(struct parser *ps)
{
	double v = term(ps);

	for (;;) {
		if (accept(ps, '+'))
			v += term(ps);
		else if (accept(ps, '-'))
			v -= term(ps);
		else
			return v;
	}
}

bool expr_eval(const char *src, const struct expr_ctx *cx, double *out, char *err, size_t errlen)
{
	struct parser ps = { src, src, cx, err, errlen, false };

	*out = expr(&ps);
	skip_ws(&ps);
	if (*ps.p)
		fail(&ps, "unexpected text");
	if (!isfinite(*out))
		*out = NAN;
	return !ps.failed;
}

bool expr_compare(double a, const char *op, double b)
{
	if (isnan(a) || isnan(b))
		return false;
	if (!strcmp(op, ">"))
		return a > b;
	if (!strcmp(op, ">="))
		return a >= b;
	if (!strcmp(op, "<"))
		return a < b;
	if (!strcmp(op, "<="))
		return a <= b;
	if (!strcmp(op, "=="))
		return a == b;
	if (!strcmp(op, "!="))
		return a != b;
	return false;
}

static const char *trimmed(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* FIELD == 'text' or FIELD != 'text': 1, 0, or 0 when the field is not a
 * string (unknown is never a match, either way); -1 on a syntax error */
static int string_cond(const char *lhs, const char *op, const char *rhs, const struct expr_ctx *cx,
		       char *err, size_t errlen)
{
	size_t n = strlen(rhs);
	const char *v = NULL;

	if (strcmp(op, "==") && strcmp(op, "!=")) {
		if (err)
			snprintf(err, errlen, "a string compares with == or != only, not %s", op);
		return -1;
	}
	if (n < 2 || rhs[n - 1] != rhs[0] || strcspn(lhs, " \t()+-*/") != strlen(lhs) || !*lhs) {
		if (err)
			snprintf(err, errlen, "expected FIELD %s 'text', not \"%s %s %s\"", op, lhs, op, rhs);
		return -1;
	}
	if (cx->elem)
		v = jstr(cx->elem, lhs);
	if (!v && cx->rec)
		v = jstr(cx->rec, lhs);
	if (!v)
		return 0;
	return (strlen(v) == n - 2 && !strncmp(v, rhs + 1, n - 2)) == !strcmp(op, "==");
}

/* The leftmost comparison outside quotes ("s == '<='" compares with ==);
 * *oplen gets its length.  NULL when there is none. */
static const char *find_comparison(const char *src, size_t *oplen)
{
	static const char *const ops[] = { ">=", "<=", "==", "!=", ">", "<" };
	char quote = 0;

	for (const char *p = src; *p; p++) {
		if (quote) {
			quote = *p == quote ? 0 : quote;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			quote = *p;
			continue;
		}
		for (size_t i = 0; i < sizeof(ops) / sizeof(*ops); i++)
			if (!strncmp(p, ops[i], strlen(ops[i]))) {
				*oplen = strlen(ops[i]);
				return p;
			}
	}
	return NULL;
}

int expr_cond(const char *src, const struct expr_ctx *cx, char *err, size_t errlen)
{
	size_t oplen;
	const char *at = find_comparison(src, &oplen);
	char *lhs, *rhs, op[3];
	double a, b;
	int ok = -1;

	if (!at) {
		if (err)
			snprintf(err, errlen, "no comparison (> >= < <= == !=) in \"%s\"", src);
		return -1;
	}
	snprintf(op, sizeof(op), "%.*s", (int)oplen, at);
	lhs = strndup(src, (size_t)(at - src));
	rhs = pgx_xstrdup(at + oplen);
	if (!lhs)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	if (*trimmed(rhs) == '\'' || *trimmed(rhs) == '"')
		ok = string_cond(trimmed(lhs), op, trimmed(rhs), cx, err, errlen);
	else if (expr_eval(lhs, cx, &a, err, errlen) && expr_eval(at + oplen, cx, &b, err, errlen))
		ok = expr_compare(a, op, b);
	free(lhs);
	free(rhs);
	return ok;
}

static void put_json(FILE *f, const json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))	/* never 1.6e+09 in a message */
		fprintf(f, fabs(json_real_value(v)) >= 1e5 || json_real_value(v) == floor(json_real_value(v))
			? "%.0f" : "%.6g", json_real_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "true" : "false", f);
	else if (v && !json_is_null(v)) {
		char *s = json_dumps(v, JSON_COMPACT);

		fputs(s ? s : "", f);
		free(s);
	} else
		fputs("?", f);
}

static bool is_ts_name(const char *name)
{
	size_t n = strlen(name);

	return n > 3 && !strcmp(name + n - 3, "_ts");
}

/* Epoch seconds read as a date in a message: 2026-12-03T06:31:14Z */
static void put_time(FILE *f, double ts)
{
	time_t t = fabs(ts) < 1e11 ? (time_t)ts : 0;	/* a cast out of range is undefined */
	struct tm tm;
	char buf[32];

	if (fabs(ts) < 1e11 && gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		fputs(buf, f);
	else
		fprintf(f, "%.0f", ts);
}

char *expr_template(const char *tpl, const struct expr_ctx *cx, const json_t *extra)
{
	char *buf = NULL, name[128], *fallback;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *p = tpl, *open, *close;

	if (!f)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	while ((open = strstr(p, "{{")) && (close = strstr(open, "}}"))) {
		const json_t *v = NULL;
		const char *a = open + 2, *b = close;

		fwrite(p, 1, (size_t)(open - p), f);
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		snprintf(name, sizeof(name), "%.*s", (int)(b - a), a);
		if ((fallback = strchr(name, '|')))
			*fallback++ = '\0';
		if (extra)
			v = jpath(extra, name);
		if (!v && cx->elem)
			v = jpath(cx->elem, name);
		if (!v && cx->rec)
			v = jpath(cx->rec, name);
		if (fallback && (!v || json_is_null(v)))
			fputs(fallback, f);
		else if (is_ts_name(name) && json_is_number(v))
			put_time(f, json_number_value(v));
		else
			put_json(f, v);
		p = close + 2;
	}
	fputs(p, f);
	fclose(f);
	return buf;
}
