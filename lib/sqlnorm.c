/* sqlnorm.c - reduce a SQL statement to its shape, so that one query
 * written with different values counts as one row of a slow log; and a
 * cache from raw statements to their shapes */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"

/* ASCII classes, as <ctype.h> has them in the C locale, without a call per
 * byte; bytes from 0x80 up are none of them (and continue identifiers). */
static inline bool a_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool a_alnum(unsigned char c)
{
	return a_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static inline bool a_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline unsigned char a_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

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
	return a_alnum(c) || c == '_' || c == '$' || c >= 0x80;
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

	if (j < z->len && a_digit((unsigned char)z->s[j]))
		return 0;
	while (j < z->len && (a_alnum((unsigned char)z->s[j]) || z->s[j] == '_' || (unsigned char)z->s[j] >= 0x80))
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

/* PostgreSQL 16's 0x1F, 0o17 and 0b101 (with _ between digits). */
static bool skip_radix_number(struct norm *z)
{
	const char *s = z->s;
	char radix;

	if (s[z->i] != '0' || z->i + 2 >= z->len ||
	    !(a_alnum((unsigned char)s[z->i + 2]) || s[z->i + 2] == '_'))
		return false;
	radix = (char)a_lower((unsigned char)s[z->i + 1]);
	if (radix != 'x' && radix != 'o' && radix != 'b')
		return false;
	for (z->i += 2; z->i < z->len && (a_alnum((unsigned char)s[z->i]) || s[z->i] == '_'); z->i++)
		;
	return true;
}

static void skip_number(struct norm *z)
{
	const char *s = z->s;

	if (skip_radix_number(z))
		return;
	while (z->i < z->len && (a_digit((unsigned char)s[z->i]) || s[z->i] == '.' || s[z->i] == '_'))
		z->i++;
	if (z->i < z->len && (s[z->i] == 'e' || s[z->i] == 'E')) {
		size_t j = z->i + 1;
		if (j < z->len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (j < z->len && a_digit((unsigned char)s[j]))
			for (z->i = j; z->i < z->len && a_digit((unsigned char)s[z->i]); z->i++)
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
	char c = (char)a_lower((unsigned char)s[0]);

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

/* The characters after which '-' starts a number (strchr's set, NUL too). */
static bool before_sign(char c)
{
	static const char set[] = "=<>!(,+-*/%[";

	return !c || memchr(set, c, sizeof(set) - 1);
}

/* A '-' before a number is its sign when no operand comes before it:
 * "a = -1" is "a = ?", "x - 1" stays "x - ?". */
static bool is_sign(const struct norm *z)
{
	size_t n = z->n;

	if (z->s[z->i] != '-' || z->i + 1 >= z->len || !a_digit((unsigned char)z->s[z->i + 1]))
		return false;
	while (n && z->out[n - 1] == ' ')
		n--;
	return !n || before_sign(z->out[n - 1]);
}

/* One token of the statement at z->i. */
static void step(struct norm *z)
{
	unsigned char c = (unsigned char)z->s[z->i];
	bool next_digit = z->i + 1 < z->len && a_digit((unsigned char)z->s[z->i + 1]);

	if (!z->ident && is_sign(z)) {
		z->i++;
		c = (unsigned char)z->s[z->i];
		next_digit = false;
	}

	if (skip_string(z))
		put(z, '?');
	else if (c == '$' && !z->ident && next_digit) {
		for (z->i++; z->i < z->len && a_digit((unsigned char)z->s[z->i]); z->i++)
			;
		put(z, '?');
	} else if (c == '$' && !z->ident && skip_dollar_quoted(z))
		put(z, '?');
	else if (c == '"') {
		copy_quoted_ident(z);
		z->ident = false;
		return;
	} else if (!z->ident && (a_digit(c) || (c == '.' && next_digit))) {
		skip_number(z);
		put(z, '?');
	} else {
		put(z, (char)a_lower(c));
		z->i++;
		z->ident = is_ident_char(c);
		return;
	}
	z->ident = false;
}

#define OPERATOR_CHARS "=<>!~@#&|^%"

static bool is_operator_char(char c)
{
	switch (c) {	/* OPERATOR_CHARS, a jump table instead of a strchr per byte */
	case '=': case '<': case '>': case '!': case '~': case '@':
	case '#': case '&': case '|': case '^': case '%':
		return true;
	default:
		return false;
	}
}

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
		else if (is_operator_char(c))
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
		if (is_operator_char(c)) {
			while (r < n && is_operator_char(s[r]))
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

/* The shape of sql into spaced (room for 3 * len + 1), with out (room for
 * len + 1) for the first pass; its length. */
static size_t normalize_into(const char *sql, size_t len, char *out, char *spaced)
{
	struct norm z = { .s = sql, .len = len, .out = out };
	size_t n;

	while (z.i < len) {
		unsigned char c = (unsigned char)sql[z.i];
		bool comment = (c == '-' && z.i + 1 < len && sql[z.i + 1] == '-') ||
			       (c == '/' && z.i + 1 < len && sql[z.i + 1] == '*');

		if (a_space(c) || comment) {
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
	n = canonical_spaces(z.out, z.n, spaced);
	n = collapse_in_lists(spaced, n);
	spaced[n] = '\0';
	return n;
}

char *pgx_sql_normalize(const char *sql, size_t len)
{
	char *out = pgx_xmalloc(len + 1), *spaced = pgx_xmalloc(3 * len + 1);

	normalize_into(sql, len, out, spaced);
	free(out);
	return spaced;
}

/* ---- hashing and the raw statement -> shape cache ---- */

static uint64_t mix64(uint64_t x)
{
	x *= 0xff51afd7ed558ccdULL;
	return x ^ (x >> 32);
}

uint64_t pgx_hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

	for (; len >= 8; s += 8, len -= 8) {	/* 8 bytes a step: the cache hashes whole statements */
		memcpy(&w, s, 8);
		h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
	}
	w = 0;
	memcpy(&w, s, len);
	h = mix64(h ^ w);
	h ^= h >> 29;
	return mix64(h);
}

/* One allocation: this header, the raw statement, NUL, the shape, NUL. */
struct cache_entry {
	size_t raw_len;
	struct pgx_sql_shape shape;
	char raw[];
};

struct cache_slot {		/* 16 bytes: the probe reads the hash without the entry */
	uint64_t hash;		/* of the raw statement */
	struct cache_entry *e;	/* NULL: free */
};

struct pgx_sql_cache {
	struct cache_slot *tab;	/* grows to 2 * max; small tables stay in the CPU cache */
	size_t mask, n, max;
	char *out, *spaced;	/* normalize_into's buffers, for statements up to scratch_len */
	size_t scratch_len;
};

static struct cache_slot *cache_table(size_t cap)
{
	struct cache_slot *tab = calloc(cap, sizeof(*tab));

	if (!tab)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return tab;
}

struct pgx_sql_cache *pgx_sql_cache_new(size_t max_entries)
{
	struct pgx_sql_cache *c = pgx_xmalloc(sizeof(*c));

	c->tab = cache_table(256);
	c->mask = 255;
	c->n = 0;
	c->max = max_entries < 1 ? 1 : max_entries;
	c->out = c->spaced = NULL;
	c->scratch_len = 0;
	return c;
}

static void cache_grow(struct pgx_sql_cache *c)
{
	size_t cap = 2 * (c->mask + 1);
	struct cache_slot *tab = cache_table(cap);

	for (size_t i = 0; i <= c->mask; i++) {
		size_t j;
		if (!c->tab[i].e)
			continue;
		for (j = c->tab[i].hash & (cap - 1); tab[j].e; j = (j + 1) & (cap - 1))
			;
		tab[j] = c->tab[i];
	}
	free(c->tab);
	c->tab = tab;
	c->mask = cap - 1;
}

static void cache_clear(struct pgx_sql_cache *c)
{
	for (size_t i = 0; i <= c->mask; i++)
		free(c->tab[i].e);
	memset(c->tab, 0, (c->mask + 1) * sizeof(*c->tab));
	c->n = 0;
}

static struct cache_entry *cache_entry_new(struct pgx_sql_cache *c, const char *sql, size_t len)
{
	const char *shape;
	size_t shape_len;
	struct cache_entry *e;

	if (!c->out || len > c->scratch_len) {	/* an empty statement comes first too */
		c->scratch_len = len > 2 * c->scratch_len ? len : 2 * c->scratch_len;
		c->out = pgx_xrealloc(c->out, c->scratch_len + 1);
		c->spaced = pgx_xrealloc(c->spaced, 3 * c->scratch_len + 1);
	}
	shape_len = normalize_into(sql, len, c->out, c->spaced);
	shape = c->spaced;
	e = pgx_xmalloc(sizeof(*e) + len + 1 + shape_len + 1);

	e->raw_len = len;
	memcpy(e->raw, sql, len);
	e->raw[len] = '\0';
	memcpy(e->raw + len + 1, shape, shape_len + 1);
	e->shape.text = e->raw + len + 1;
	e->shape.len = shape_len;
	e->shape.hash = pgx_hash_bytes(e->shape.text, shape_len);
	e->shape.user = NULL;
	return e;
}

struct pgx_sql_shape *pgx_sql_cache_shape(struct pgx_sql_cache *c, const char *sql, size_t len)
{
	uint64_t h = pgx_hash_bytes(sql, len);
	size_t j;

	for (j = h & c->mask; c->tab[j].e; j = (j + 1) & c->mask)
		if (c->tab[j].hash == h && c->tab[j].e->raw_len == len && !memcmp(c->tab[j].e->raw, sql, len))
			return &c->tab[j].e->shape;
	if (c->n >= c->max) {
		cache_clear(c);
		j = h & c->mask;
	} else if (2 * (c->n + 1) > c->mask + 1) {
		cache_grow(c);
		for (j = h & c->mask; c->tab[j].e; j = (j + 1) & c->mask)
			;
	}
	c->n++;
	c->tab[j].hash = h;
	c->tab[j].e = cache_entry_new(c, sql, len);
	return &c->tab[j].e->shape;
}

void pgx_sql_cache_free(struct pgx_sql_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c->tab);
	free(c->out);
	free(c->spaced);
	free(c);
}
