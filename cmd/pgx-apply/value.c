/* value.c - PostgreSQL's value syntax: units, ranges, enums, and conf lines */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "pgx.h"
#include "apply.h"

struct unit { const char *name; double factor; };

/* Case-sensitive, as in PostgreSQL's guc.c; memory in bytes, time in ms. */
static const struct unit memory_units[] = {
	{ "TB", 1099511627776.0 }, { "GB", 1073741824.0 }, { "MB", 1048576.0 },
	{ "kB", 1024.0 }, { "B", 1.0 }, { NULL, 0 },
};
static const struct unit time_units[] = {
	{ "d", 86400000.0 }, { "h", 3600000.0 }, { "min", 60000.0 }, { "s", 1000.0 },
	{ "ms", 1.0 }, { "us", 0.001 }, { NULL, 0 },
};

/* pg_settings.unit of a parameter: its table and the size of one base unit. */
static const struct unit *unit_table(const char *unit, double *base)
{
	if (!unit || !*unit)
		return NULL;
	if (!strcmp(unit, "8kB")) {
		*base = 8192.0;
		return memory_units;
	}
	for (const struct unit *u = memory_units; u->name; u++)
		if (!strcmp(u->name, unit)) {
			*base = u->factor;
			return memory_units;
		}
	for (const struct unit *u = time_units; u->name; u++)
		if (!strcmp(u->name, unit)) {
			*base = u->factor;
			return time_units;
		}
	return NULL;
}

static char *unit_list(const struct unit *table)
{
	char buf[128] = "";

	for (const struct unit *u = table; u->name; u++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s\"%s\"",
			 u == table ? "" : ", ", u->name);
	return pgx_xstrdup(buf);
}

static bool fail(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool fail(char **why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*why = pgx_xstrdup(buf);
	return false;
}

/* A number with an optional unit, converted to the parameter's base unit. */
static bool parse_number(const struct param *p, const char *value, double *out, char **why)
{
	double base = 1.0, v;
	const struct unit *table = unit_table(p->unit, &base), *u;
	char *end, *list;
	const char *s;

	errno = 0;
	v = strtod(value, &end);
	if (end == value || errno == ERANGE || !isfinite(v))
		return fail(why, "'%s' is not a valid %s", value, p->vartype);
	s = end;
	while (isspace((unsigned char)*s))
		s++;
	if (*s) {
		if (!table)
			return fail(why, "'%s' is not a valid %s (this parameter takes no unit)",
				    value, p->vartype);
		for (u = table; u->name; u++)
			if (!strncmp(s, u->name, strlen(u->name)) && !s[strlen(u->name)])
				break;
		if (!u->name) {
			char buf[256];
			list = unit_list(table);
			snprintf(buf, sizeof(buf), "'%s': valid units for this parameter are %s",
				 value, list);
			free(list);
			*why = pgx_xstrdup(buf);
			return false;
		}
		v = v * u->factor / base;
	}
	*out = strcmp(p->vartype, "integer") ? v : rint(v);
	return true;
}

static bool check_range(const struct param *p, const char *value, double v, char **why)
{
	char lo[64], hi[64], buf[512];
	double min = p->min_val ? strtod(p->min_val, NULL) : -INFINITY;
	double max = p->max_val ? strtod(p->max_val, NULL) : INFINITY;

	if (v >= min && v <= max)
		return true;
	snprintf(lo, sizeof(lo), "%s", p->min_val ? p->min_val : "-inf");
	snprintf(hi, sizeof(hi), "%s", p->max_val ? p->max_val : "inf");
	snprintf(buf, sizeof(buf), "'%s' is outside the valid range %s .. %s%s%s", value, lo, hi,
		 p->unit ? " " : "", p->unit ? p->unit : "");
	*why = pgx_xstrdup(buf);
	return false;
}

static const char *bool_word(const char *v)
{
	static const char *const on[] = { "on", "true", "yes", "1", "t", "y", NULL };
	static const char *const off[] = { "off", "false", "no", "0", "f", "n", NULL };

	for (int i = 0; on[i]; i++)
		if (!strcasecmp(v, on[i]))
			return "on";
	for (int i = 0; off[i]; i++)
		if (!strcasecmp(v, off[i]))
			return "off";
	return NULL;
}

/* enumvals as pg_settings shows it: {a,b,"c d"} */
static char *enum_match(const char *enumvals, const char *v)
{
	char *copy, *tok, *save, *hit = NULL;

	if (!enumvals)
		return NULL;
	copy = pgx_xstrdup(enumvals);
	for (tok = strtok_r(copy, "{},", &save); tok; tok = strtok_r(NULL, "{},", &save)) {
		size_t n = strlen(tok);
		if (n >= 2 && tok[0] == '"' && tok[n - 1] == '"')
			tok[n - 1] = '\0', tok++;
		if (!strcasecmp(tok, v)) {
			hit = pgx_xstrdup(tok);
			break;
		}
	}
	free(copy);
	return hit;
}

/* Check value against the parameter's type, unit, range or enum; on success
 * *out is the value as pg_settings.setting will show it. */
bool value_normalize(const struct param *p, const char *value, char **out, char **why)
{
	char buf[64];
	double v = 0;

	*out = NULL;
	if (strchr(value, '\n') || strchr(value, '\r'))
		return fail(why, "the value contains a line break, which ALTER SYSTEM refuses");
	if (!strcmp(p->vartype, "integer") || !strcmp(p->vartype, "real")) {
		if (!parse_number(p, value, &v, why) || !check_range(p, value, v, why))
			return false;
		snprintf(buf, sizeof(buf), "%.15g", v);
		*out = pgx_xstrdup(buf);
	} else if (!strcmp(p->vartype, "bool")) {
		const char *w = bool_word(value);
		if (!w)
			return fail(why, "'%s' is not a valid boolean (on, off, true, false, yes, no, 1, 0)",
				    value);
		*out = pgx_xstrdup(w);
	} else if (!strcmp(p->vartype, "enum")) {
		if (!(*out = enum_match(p->enumvals, value)))
			return fail(why, "'%s' is not one of %s", value,
				    p->enumvals ? p->enumvals : "{}");
	} else if (value_is_quoted_list(p->name)) {
		size_t n;
		char **items = value_list_items(p->name, value, &n);
		if (!items)
			return fail(why, "'%s' is not a valid list (comma-separated, \"quoted\" items)", value);
		value_list_free(items, n);
		*out = pgx_xstrdup(value);
	} else
		*out = pgx_xstrdup(value);
	return true;
}

static bool lists_equal(const char *name, const char *a, const char *b);

bool value_matches(const struct param *p, const char *setting, const char *expect)
{
	if (!setting || !expect)
		return false;
	if (value_is_quoted_list(p->name))
		return lists_equal(p->name, setting, expect);
	if (!strcmp(p->vartype, "integer") || !strcmp(p->vartype, "real")) {
		double a = strtod(setting, NULL), b = strtod(expect, NULL);
		return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
	}
	if (!strcmp(p->vartype, "string"))
		return !strcmp(setting, expect);
	return !strcasecmp(setting, expect);
}

/* ---- postgresql.conf lines: name [=] value [# comment] ---- */

static bool name_char(int c, bool first)
{
	return isalpha(c) || c == '_' || (!first && (isdigit(c) || c == '.' || c == '$'));
}

static bool bare_char(int c)
{
	return isalnum(c) || strchr("_.:/+-", c);
}

/* A quoted value as guc-file.l reads it: '' and backslash escapes. */
static const char *quoted_value(const char *s, char **value)
{
	char *o = pgx_xmalloc(strlen(s) + 1);

	*value = o;
	for (s++; *s; s++) {
		if (*s == '\'' && s[1] == '\'')
			*o++ = '\'', s++;
		else if (*s == '\'') {
			*o = '\0';
			return s + 1;
		} else if (*s == '\\' && s[1]) {
			s++;
			switch (*s) {
			case 'b': *o++ = '\b'; break;
			case 'f': *o++ = '\f'; break;
			case 'n': *o++ = '\n'; break;
			case 'r': *o++ = '\r'; break;
			case 't': *o++ = '\t'; break;
			default: *o++ = *s;
			}
		} else
			*o++ = *s;
	}
	free(*value);
	*value = NULL;
	return NULL;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = pgx_xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Returns true with *name NULL for a blank or comment line. */
bool value_parse_conf_line(const char *line, char **name, char **value, const char **err)
{
	const char *s = line, *start;

	*name = *value = NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || *s == '#')
		return true;
	if (!name_char((unsigned char)*s, true))
		return *err = "expected a parameter name", false;
	for (start = s; name_char((unsigned char)*s, false); s++)
		;
	*name = dup_n(start, (size_t)(s - start));
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '=')
		s++;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\'') {
		if (!(s = quoted_value(s, value)))
			return *err = "unterminated quoted value", false;
	} else {
		for (start = s; *s && bare_char((unsigned char)*s); s++)
			;
		if (s == start)
			return *err = "expected a value", false;
		*value = dup_n(start, (size_t)(s - start));
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s && *s != '#')
		return *err = "unexpected text after the value", false;
	return true;
}

/* ---- list parameters ALTER SYSTEM quotes item by item (GUC_LIST_QUOTE) ---- */

static const char *const quoted_lists[] = {
	"search_path", "temp_tablespaces", "session_preload_libraries",
	"shared_preload_libraries", "local_preload_libraries", "unix_socket_directories", NULL,
};

bool value_is_quoted_list(const char *name)
{
	for (int i = 0; quoted_lists[i]; i++)
		if (!strcmp(name, quoted_lists[i]))
			return true;
	return false;
}

void value_list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

/* One item: "quoted" with "" escapes, or bare up to a comma (identifiers
 * folded to lower case, as PostgreSQL reads search_path and temp_tablespaces). */
static const char *list_item(const char *s, bool fold, char **out)
{
	char *o = *out = pgx_xmalloc(strlen(s) + 1);

	if (*s == '"') {
		for (s++; *s && !(*s == '"' && s[1] != '"'); s++)
			*o++ = *s == '"' ? *++s : *s;
		if (*s != '"')
			return NULL;
		s++;
	} else {
		for (; *s && *s != ',' && !isspace((unsigned char)*s); s++)
			*o++ = fold ? (char)tolower((unsigned char)*s) : *s;
	}
	*o = '\0';
	return s;
}

/* Split a list value the way PostgreSQL does; NULL if it is malformed. */
char **value_list_items(const char *name, const char *value, size_t *n)
{
	bool fold = !strcmp(name, "search_path") || !strcmp(name, "temp_tablespaces");
	char **items = pgx_xmalloc((strlen(value) / 2 + 2) * sizeof(char *));
	const char *s = value;

	*n = 0;
	while (isspace((unsigned char)*s))
		s++;
	while (*s) {
		if (!(s = list_item(s, fold, &items[(*n)++])) || !*items[*n - 1])
			break;
		while (isspace((unsigned char)*s))
			s++;
		if (*s == ',') {
			s++;
			while (isspace((unsigned char)*s))
				s++;
			if (!*s)
				s = NULL;
		} else if (*s)
			s = NULL;
		if (!s)
			break;
	}
	if (!s || (*n && !*items[*n - 1])) {
		value_list_free(items, *n);
		return NULL;
	}
	return items;
}

static bool lists_equal(const char *name, const char *a, const char *b)
{
	size_t na, nb;
	char **ia = value_list_items(name, a, &na), **ib = value_list_items(name, b, &nb);
	bool same = ia && ib && na == nb;

	for (size_t i = 0; same && i < na; i++)
		same = !strcmp(ia[i], ib[i]);
	if (ia)
		value_list_free(ia, na);
	if (ib)
		value_list_free(ib, nb);
	return same;
}
