/* alerts_expr.c - the alert rules' expressions: arithmetic over record
 * fields, evaluated directly from the text (no code, no calls beyond the
 * few functions below), so a catalog can never run anything */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* name(args): args are expressions, except len's which is a path */
static double call(struct parser *ps, const char *name)
{
	double args[8], r = NAN;
	size_t n = 0;

	if (!strcmp(name, "len")) {
		const char *start;
		char path[128];

		skip_ws(ps);
		start = ps->p;
		while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.')
			ps->p++;
		snprintf(path, sizeof(path), "%.*s", (int)(ps->p - start), start);
		if (!accept(ps, ')'))
			fail(ps, "expected ')'");
		return list_len(ps->cx, path);
	}
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

int expr_cond(const char *src, const struct expr_ctx *cx, char *err, size_t errlen)
{
	static const char *const ops[] = { ">=", "<=", "==", "!=", ">", "<" };
	char *lhs, *op;
	double a, b;
	int ok = -1;

	for (size_t i = 0; i < 6; i++) {
		if (!(op = strstr(src, ops[i])))
			continue;
		lhs = pgx_xstrdup(src);
		lhs[op - src] = '\0';
		if (expr_eval(lhs, cx, &a, err, errlen) &&
		    expr_eval(op + strlen(ops[i]), cx, &b, err, errlen))
			ok = expr_compare(a, ops[i], b);
		free(lhs);
		return ok;
	}
	if (err)
		snprintf(err, errlen, "no comparison (> >= < <= == !=) in \"%s\"", src);
	return -1;
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

char *expr_template(const char *tpl, const struct expr_ctx *cx, const json_t *extra)
{
	char *buf = NULL, name[128];
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
		if (extra)
			v = jpath(extra, name);
		if (!v && cx->elem)
			v = jpath(cx->elem, name);
		if (!v && cx->rec)
			v = jpath(cx->rec, name);
		put_json(f, v);
		p = close + 2;
	}
	fputs(p, f);
	fclose(f);
	return buf;
}
