/* normalize.c - reduce a SQL statement to its shape, so that one query
 * written with different values counts as one row of the slow log */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "slowlog.h"

struct norm {
	const char *s;
	size_t len, i;
	char *out;
	size_t n;
	bool space;		/* whitespace seen since the last token */
	bool ident;		/* the last source character continues an identifier */
};

static bool is_ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static void put(struct norm *z, char c)
{
	if (z->space && z->n) {
		z->out[z->n++] = ' ';
	}
	z->space = false;
	z->out[z->n++] = c;
}

/* Past a '...' string at z->i; backslashes escape in E'' strings. */
static void skip_quoted(struct norm *z, bool backslash)
{
	for (z->i++; z->i < z->len; z->i++) {
		if (backslash && z->s[z->i] == '\\')
			z->i++;
		else if (z->s[z->i] == '\'') {
			if (z->i + 1 < z->len && z->s[z->i + 1] == '\'')
				z->i++;
			else
				break;
		}
	}
	z->i++;
}

/* Length of a dollar-quote tag ($$ or $name$) at z->i, or 0. */
static size_t dollar_tag(const struct norm *z)
{
	size_t j = z->i + 1;

	if (j < z->len && isdigit((unsigned char)z->s[j]))
		return 0;
	while (j < z->len && (isalnum((unsigned char)z->s[j]) || z->s[j] == '_' || (unsigned char)z->s[j] >= 0x80))
		j++;
	return j < z->len && z->s[j] == '$' ? j - z->i + 1 : 0;
}

static bool skip_dollar_quoted(struct norm *z)
{
	size_t tag = dollar_tag(z);
	const char *end;

	if (!tag)
		return false;
	end = memmem(z->s + z->i + tag, z->len - z->i - tag, z->s + z->i, tag);
	z->i = end ? (size_t)(end - z->s) + tag : z->len;
	return true;
}

static void skip_comment(struct norm *z)
{
	int depth = 0;

	if (z->s[z->i] == '-') {
		while (z->i < z->len && z->s[z->i] != '\n')
			z->i++;
		return;
	}
	for (; z->i < z->len; z->i++) {	/* block comments nest in PostgreSQL */
		if (z->s[z->i] == '/' && z->i + 1 < z->len && z->s[z->i + 1] == '*')
			depth++, z->i++;
		else if (z->s[z->i] == '*' && z->i + 1 < z->len && z->s[z->i + 1] == '/') {
			z->i++;
			if (--depth == 0) {
				z->i++;
				return;
			}
		}
	}
}

static void skip_number(struct norm *z)
{
	const char *s = z->s;

	while (z->i < z->len && (isdigit((unsigned char)s[z->i]) || s[z->i] == '.' || s[z->i] == '_'))
		z->i++;
	if (z->i < z->len && (s[z->i] == 'e' || s[z->i] == 'E')) {
		size_t j = z->i + 1;
		if (j < z->len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < z->len && isdigit((unsigned char)s[j]))
			for (z->i = j; z->i < z->len && isdigit((unsigned char)s[z->i]); z->i++)
				;
	}
}

static void copy_quoted_ident(struct norm *z)
{
	put(z, '"');
	for (z->i++; z->i < z->len; z->i++) {
		z->out[z->n++] = z->s[z->i];
		if (z->s[z->i] == '"') {
			if (z->i + 1 < z->len && z->s[z->i + 1] == '"')
				z->out[z->n++] = z->s[++z->i];
			else
				break;
		}
	}
	z->i++;
}

/* A string literal, with its prefix (E, B, X, N, U&) if any: true if skipped. */
static bool skip_string(struct norm *z)
{
	const char *s = z->s + z->i;
	size_t left = z->len - z->i;
	char c = (char)tolower((unsigned char)s[0]);

	if (s[0] == '\'') {
		skip_quoted(z, false);
		return true;
	}
	if (z->ident || left < 2)
		return false;
	if ((c == 'e' || c == 'b' || c == 'x' || c == 'n') && s[1] == '\'') {
		z->i++;
		skip_quoted(z, c == 'e');
		return true;
	}
	if (c == 'u' && left > 2 && s[1] == '&' && s[2] == '\'') {
		z->i += 2;
		skip_quoted(z, false);
		return true;
	}
	return false;
}

/* A '-' before a number is its sign when no operand comes before it:
 * "a = -1" is "a = ?", "x - 1" stays "x - ?". */
static bool is_sign(const struct norm *z)
{
	size_t n = z->n;

	if (z->s[z->i] != '-' || z->i + 1 >= z->len || !isdigit((unsigned char)z->s[z->i + 1]))
		return false;
	while (n && z->out[n - 1] == ' ')
		n--;
	return !n || strchr("=<>!(,+-*/%[", z->out[n - 1]);
}

/* One token of the statement at z->i. */
static void step(struct norm *z)
{
	unsigned char c = (unsigned char)z->s[z->i];
	bool next_digit = z->i + 1 < z->len && isdigit((unsigned char)z->s[z->i + 1]);

	if (!z->ident && is_sign(z)) {
		z->i++;
		c = (unsigned char)z->s[z->i];
		next_digit = false;
	}

	if (skip_string(z))
		put(z, '?');
	else if (c == '$' && !z->ident && next_digit) {
		for (z->i++; z->i < z->len && isdigit((unsigned char)z->s[z->i]); z->i++)
			;
		put(z, '?');
	} else if (c == '$' && !z->ident && skip_dollar_quoted(z))
		put(z, '?');
	else if (c == '"') {
		copy_quoted_ident(z);
		z->ident = false;
		return;
	} else if (!z->ident && (isdigit(c) || (c == '.' && next_digit))) {
		skip_number(z);
		put(z, '?');
	} else {
		put(z, (char)tolower(c));
		z->i++;
		z->ident = is_ident_char(c);
		return;
	}
	z->ident = false;
}

#define OPERATOR_CHARS "=<>!~@#&|^%"

/* One spelling of the spaces between tokens: operators such as = and <>
 * between spaces, a space after a comma and none before it, none inside
 * parentheses; quoted identifiers are left alone.  d has room for 3n. */
static size_t canonical_spaces(const char *s, size_t n, char *d)
{
	size_t r = 0, w = 0;
	bool space = false;

	while (r < n) {
		char c = s[r];
		if (c == ' ') {
			space = true, r++;
			continue;
		}
		if (c == ')' || c == ',')
			space = false;
		else if (strchr(OPERATOR_CHARS, c))
			space = true;
		if (space && w && d[w - 1] != '(' && d[w - 1] != ' ')
			d[w++] = ' ';
		space = false;
		if (c == '"') {
			do
				d[w++] = s[r++];
			while (r < n && s[r] != '"');
			if (r < n)
				d[w++] = s[r++];
			continue;
		}
		if (strchr(OPERATOR_CHARS, c)) {
			while (r < n && strchr(OPERATOR_CHARS, s[r]))
				d[w++] = s[r++];
			space = true;
			continue;
		}
		d[w++] = s[r++];
		space = c == ',';
	}
	return w;
}

/* "in (?, ?, ?)" and "in (?)" become "in (...)". */
static size_t collapse_in_lists(char *s, size_t n)
{
	size_t r = 0, w = 0;

	while (r < n) {
		if ((r == 0 || !is_ident_char((unsigned char)s[r - 1])) && r + 3 < n && !memcmp(s + r, "in ", 3) &&
		    s[r + 3] == '(') {
			size_t j = r + 4;
			bool any = false;
			while (j < n && (s[j] == '?' || s[j] == ',' || s[j] == ' '))
				any |= s[j++] == '?';
			if (any && j < n && s[j] == ')') {
				memcpy(s + w, "in (...)", 8);
				w += 8;
				r = j + 1;
				continue;
			}
		}
		s[w++] = s[r++];
	}
	return w;
}

char *sql_normalize(const char *sql, size_t len)
{
	struct norm z = { .s = sql, .len = len, .out = pgx_xmalloc(len + 1) };
	char *spaced;
	size_t n;

	while (z.i < len) {
		unsigned char c = (unsigned char)sql[z.i];
		bool comment = (c == '-' && z.i + 1 < len && sql[z.i + 1] == '-') ||
			       (c == '/' && z.i + 1 < len && sql[z.i + 1] == '*');

		if (isspace(c) || comment) {
			if (comment)
				skip_comment(&z);
			else
				z.i++;
			z.space = true;
			z.ident = false;
			continue;
		}
		step(&z);
	}
	while (z.n && (z.out[z.n - 1] == ';' || z.out[z.n - 1] == ' '))
		z.n--;
	spaced = pgx_xmalloc(3 * z.n + 1);
	n = canonical_spaces(z.out, z.n, spaced);
	free(z.out);
	n = collapse_in_lists(spaced, n);
	spaced[n] = '\0';
	return spaced;
}
