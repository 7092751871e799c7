/* sqlnorm.c - reduce a SQL statement to its shape, so that one query
 * written with different values counts as one row of a slow log; and a
 * cache from raw statements to their shapes
 *
 * One pass over the statement: its tokens (literals as ?, identifiers and
 * keywords lower-cased, whitespace and comments as one space) go through
 * emit(), which spaces them one way and collapses IN lists as it writes.
 * Identifiers and runs of whitespace, most of a statement, are copied in
 * loops of their own over a byte-class table.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"

/* ASCII classes, as <ctype.h> has them in the C locale; bytes from 0x80 up
 * are none of them (and continue identifiers). */
enum byte_class {
	BC_OTHER,		/* punctuation, quotes: step() */
	BC_OPERATOR,		/* = < > ! ~ @ # & | ^ %: step() too */
	BC_SPACE,
	BC_DIGIT,
	BC_WORD,		/* starts an identifier: a letter, _, a byte from 0x80 */
};

static const unsigned char byte_class[256] = {
	[' '] = BC_SPACE, ['\t' ... '\r'] = BC_SPACE,
	['='] = BC_OPERATOR, ['<'] = BC_OPERATOR, ['>'] = BC_OPERATOR, ['!'] = BC_OPERATOR,
	['~'] = BC_OPERATOR, ['@'] = BC_OPERATOR, ['#'] = BC_OPERATOR, ['&'] = BC_OPERATOR,
	['|'] = BC_OPERATOR, ['^'] = BC_OPERATOR, ['%'] = BC_OPERATOR,
	['0' ... '9'] = BC_DIGIT,
	['a' ... 'z'] = BC_WORD, ['A' ... 'Z'] = BC_WORD, ['_'] = BC_WORD, [0x80 ... 0xff] = BC_WORD,
};

/* Continues an identifier: a letter, digit, _, $ or a byte from 0x80. */
static const bool word_byte[256] = {
	['a' ... 'z'] = 1, ['A' ... 'Z'] = 1, ['0' ... '9'] = 1, ['_'] = 1, ['$'] = 1, [0x80 ... 0xff] = 1,
};

static inline bool is_ident_char(unsigned char c)
{
	return word_byte[c];
}

static inline bool a_digit(unsigned char c)
{
	return byte_class[c] == BC_DIGIT;
}

static inline bool a_alnum(unsigned char c)
{
	return a_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static inline unsigned char a_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

struct norm {
	const char *s;
	size_t len, i;
	char *out;		/* room for 3 * len + 1 */
	size_t n;
	bool gap;		/* whitespace or a comment since the last token */
	bool ident;		/* the last source character continues an identifier */
	bool space;		/* a space is due before the next character written */
	bool op_run;		/* the last character written is an operator's */
};

static inline bool is_operator_char(char c)
{
	return byte_class[(unsigned char)c] == BC_OPERATOR;
}

/* Whether "in (" (or "in(", as written without a space) ends at o[j]: its
 * length, else 0.  "join (" and "pin(" are not it. */
static size_t in_open_before(const char *o, size_t j)
{
	size_t k = 0;

	if (j >= 4 && !memcmp(o + j - 4, "in (", 4))
		k = 4;
	else if (j >= 3 && !memcmp(o + j - 3, "in(", 3))
		k = 3;
	return k && (j == k || !is_ident_char((unsigned char)o[j - k - 1])) ? k : 0;
}

/* "in (?, ?, ?)", "in (?)" and "in(?, ?)" become "in (...)": the list is
 * checked when its ')' has just been written. */
static void collapse_in_list(struct norm *z)
{
	char *o = z->out;
	size_t j = z->n - 1, k;	/* the ')' */
	bool any = false;

	while (j && (o[j - 1] == '?' || o[j - 1] == ',' || o[j - 1] == ' '))
		any |= o[--j] == '?';
	if (!any || !(k = in_open_before(o, j)))
		return;
	memcpy(o + j - k, "in (...)", 8);
	z->n = j - k + 8;
}

/* One character of a token, spaced one way: operators such as = and <>
 * between spaces, a space after a comma and none before it, none inside
 * parentheses, else a space where the statement had whitespace. */
static void emit(struct norm *z, char c)
{
	bool op = is_operator_char(c);

	if (z->gap && z->n)
		z->space = true, z->op_run = false;
	z->gap = false;
	if (op && z->op_run) {	/* "<>", ">=": one operator */
		z->out[z->n++] = c;
		return;
	}
	if (c == ')' || c == ',')
		z->space = false;
	else if (op)
		z->space = true;
	if (z->space && z->n && z->out[z->n - 1] != '(' && z->out[z->n - 1] != ' ')
		z->out[z->n++] = ' ';
	z->out[z->n++] = c;
	z->op_run = op;
	z->space = op || c == ',';
	if (c == ')')
		collapse_in_list(z);
}

/* Past a '...' string at z->i; backslashes escape in E'' strings. */
static void skip_quoted(struct norm *z, bool backslash)
{
	const char *s = z->s, *quote;

	for (z->i++; z->i < z->len; z->i++) {
		if (!backslash) {	/* nothing but the quote ends it */
			if (!(quote = memchr(s + z->i, '\'', z->len - z->i))) {
				z->i = z->len;
				break;
			}
			z->i = (size_t)(quote - s);
		} else if (s[z->i] == '\\') {
			z->i++;
			continue;
		}
		if (s[z->i] == '\'') {
			if (z->i + 1 < z->len && s[z->i + 1] == '\'')
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

static bool at_comment(const struct norm *z)
{
	char c = z->s[z->i];

	return (c == '-' || c == '/') && z->i + 1 < z->len && z->s[z->i + 1] == (c == '-' ? '-' : '*');
}

static void skip_comment(struct norm *z)
{
	int depth = 0;
	const char *nl;

	if (z->s[z->i] == '-') {
		nl = memchr(z->s + z->i, '\n', z->len - z->i);
		z->i = nl ? (size_t)(nl - z->s) : z->len;
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

/* Written as it is; IN lists inside it are collapsed all the same. */
static void copy_quoted_ident(struct norm *z)
{
	emit(z, '"');
	for (z->i++; z->i < z->len; z->i++) {
		char c = z->s[z->i];
		z->out[z->n++] = c;
		if (c == ')')
			collapse_in_list(z);
		else if (c == '"') {
			if (z->i + 1 < z->len && z->s[z->i + 1] == '"')
				z->out[z->n++] = z->s[++z->i];
			else
				break;
		}
	}
	z->i++;
}

/* The prefix of a string literal at z->i (E, B, X, N before a quote, U&
 * before one), or 0; only where no identifier goes on. */
static inline size_t string_prefix(const struct norm *z)
{
	const char *s = z->s + z->i;
	size_t left = z->len - z->i;
	char c = (char)a_lower((unsigned char)s[0]);

	if (left < 2 || (s[1] != '\'' && s[1] != '&') || z->ident)
		return 0;
	if ((c == 'e' || c == 'b' || c == 'x' || c == 'n') && s[1] == '\'')
		return 1;
	return c == 'u' && left > 2 && s[1] == '&' && s[2] == '\'' ? 2 : 0;
}

/* A string literal, with its prefix if any: true if skipped. */
static bool skip_string(struct norm *z)
{
	size_t prefix;

	if (z->s[z->i] == '\'') {
		skip_quoted(z, false);
		return true;
	}
	if (!(prefix = string_prefix(z)))
		return false;
	z->i += prefix;
	skip_quoted(z, prefix == 1 && a_lower((unsigned char)z->s[z->i - 1]) == 'e');
	return true;
}

/* The characters after which '-' starts a number (strchr's set, NUL too). */
static bool before_sign(char c)
{
	static const char set[] = "=<>!(,+-*/%[";

	return !c || memchr(set, c, sizeof(set) - 1);
}

/* A '-' before a number is its sign when no operand comes before it:
 * "a = -1" is "a = ?", "x - 1" stays "x - ?".  (What is written never
 * ends with a space: one is written only before a character.) */
static bool is_sign(const struct norm *z)
{
	if (z->s[z->i] != '-' || z->i + 1 >= z->len || !a_digit((unsigned char)z->s[z->i + 1]))
		return false;
	return !z->n || before_sign(z->out[z->n - 1]);
}

/* An identifier or keyword, lower-cased: its first character is
 * emit()ted, the rest need no spacing.  (Locals: a store through char *
 * could be to *z, which the compiler would then read again.) */
static void copy_word(struct norm *z)
{
	const unsigned char *s = (const unsigned char *)z->s;
	size_t i = z->i + 1, len = z->len;
	char *o;

	emit(z, (char)a_lower(s[z->i]));
	o = z->out + z->n;
	while (i < len && is_ident_char(s[i]))
		*o++ = (char)a_lower(s[i++]);
	z->n = (size_t)(o - z->out);
	z->i = i;
	z->ident = true;
}

/* One token of the statement at z->i that is neither a word nor whitespace. */
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
		emit(z, '?');
	else if (c == '$' && !z->ident && next_digit) {
		for (z->i++; z->i < z->len && a_digit((unsigned char)z->s[z->i]); z->i++)
			;
		emit(z, '?');
	} else if (c == '$' && !z->ident && skip_dollar_quoted(z))
		emit(z, '?');
	else if (c == '"') {
		copy_quoted_ident(z);
		z->ident = false;
		return;
	} else if (!z->ident && (a_digit(c) || (c == '.' && next_digit))) {
		skip_number(z);
		emit(z, '?');
	} else {
		emit(z, (char)a_lower(c));
		z->i++;
		z->ident = is_ident_char(c);
		return;
	}
	z->ident = false;
}

static void skip_spaces(struct norm *z)
{
	size_t i = z->i + 1;

	while (i < z->len && byte_class[(unsigned char)z->s[i]] == BC_SPACE)
		i++;
	z->i = i;
	z->gap = true;
	z->ident = false;
}

/* The shape of sql into out (room for 3 * len + 1); its length. */
static size_t normalize_into(const char *sql, size_t len, char *out)
{
	struct norm z = { .s = sql, .len = len, .out = out };

	while (z.i < len) {
		switch (byte_class[(unsigned char)sql[z.i]]) {
		case BC_SPACE:
			skip_spaces(&z);
			break;
		case BC_WORD:
			if (!string_prefix(&z)) {
				copy_word(&z);
				break;
			}
			/* fall through */
		default:
			if (at_comment(&z)) {
				skip_comment(&z);
				z.gap = true;
				z.ident = false;
			} else
				step(&z);
		}
	}
	while (z.n && (out[z.n - 1] == ';' || out[z.n - 1] == ' '))
		z.n--;
	out[z.n] = '\0';
	return z.n;
}

char *pgx_sql_normalize(const char *sql, size_t len)
{
	char *out = pgx_xmalloc(3 * len + 1);

	normalize_into(sql, len, out);
	return out;
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

/* In the cache's arena: this header, the raw statement, NUL, the shape, NUL. */
struct cache_entry {
	size_t raw_len;
	struct pgx_sql_shape shape;
	char raw[];
};

struct cache_slot {		/* 16 bytes: the probe reads the hash without the entry */
	uint64_t hash;		/* of the raw statement */
	struct cache_entry *e;	/* NULL: free */
};

/* The entries are carved out of chunks, not malloc'd one by one: a log
 * whose statements never repeat makes one per line.  Forgetting them all
 * keeps the chunks to fill again. */
#define ARENA_CHUNK (1u << 20)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *first, *cur;	/* chunks after cur are empty */
};

static void *arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *k;
	void *p;

	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	while (a->cur && a->cur->cap - a->cur->used < size && a->cur->next)
		a->cur = a->cur->next;
	if (!a->cur || a->cur->cap - a->cur->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		k = pgx_xmalloc(sizeof(*k) + cap);
		k->next = NULL;
		k->used = 0;
		k->cap = cap;
		if (a->cur)
			a->cur->next = k;
		else
			a->first = k;
		a->cur = k;
	}
	p = (char *)a->cur->data + a->cur->used;
	a->cur->used += size;
	return p;
}

static void arena_reset(struct arena *a)
{
	for (struct arena_chunk *k = a->first; k; k = k->next)
		k->used = 0;
	a->cur = a->first;
}

static void arena_free(struct arena *a)
{
	while (a->first) {
		struct arena_chunk *next = a->first->next;
		free(a->first);
		a->first = next;
	}
	a->cur = NULL;
}

struct pgx_sql_cache {
	struct cache_slot *tab;	/* grows to 2 * max; small tables stay in the CPU cache */
	size_t mask, n, max;
	struct arena entries;
	char *scratch;		/* normalize_into's output, for statements up to scratch_len */
	size_t scratch_len;
	size_t hits;		/* since the cache was last emptied (its misses: n) */
	size_t bypass;		/* lookups left to answer without the cache */
	struct pgx_sql_shape passing;	/* the shape of such a lookup, in scratch */
};

/* A cache that filled up with statements mostly seen once (a log whose
 * literals never repeat) costs more than it saves: it is forgotten, and
 * this many lookups times its size go past it, normalizing each statement,
 * before it is tried again. */
#define BYPASS_FILLS 4

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
	c->entries.first = c->entries.cur = NULL;
	c->scratch = NULL;
	c->scratch_len = 0;
	c->hits = c->bypass = 0;
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
	arena_reset(&c->entries);
	memset(c->tab, 0, (c->mask + 1) * sizeof(*c->tab));
	c->n = 0;
}

/* The shape of sql in c->scratch; its length. */
static size_t scratch_shape(struct pgx_sql_cache *c, const char *sql, size_t len)
{
	if (!c->scratch || len > c->scratch_len) {	/* an empty statement comes first too */
		c->scratch_len = len > 2 * c->scratch_len ? len : 2 * c->scratch_len;
		c->scratch = pgx_xrealloc(c->scratch, 3 * c->scratch_len + 1);
	}
	return normalize_into(sql, len, c->scratch);
}

static struct cache_entry *cache_entry_new(struct pgx_sql_cache *c, const char *sql, size_t len)
{
	size_t shape_len = scratch_shape(c, sql, len);
	struct cache_entry *e = arena_alloc(&c->entries, sizeof(*e) + len + 1 + shape_len + 1);

	e->raw_len = len;
	memcpy(e->raw, sql, len);
	e->raw[len] = '\0';
	memcpy(e->raw + len + 1, c->scratch, shape_len + 1);
	e->shape.text = e->raw + len + 1;
	e->shape.len = shape_len;
	e->shape.hash = pgx_hash_bytes(e->shape.text, shape_len);
	e->shape.user = NULL;
	return e;
}

/* A lookup while the cache is bypassed: the shape, new each time. */
static struct pgx_sql_shape *passing_shape(struct pgx_sql_cache *c, const char *sql, size_t len)
{
	c->bypass--;
	c->passing.len = scratch_shape(c, sql, len);
	c->passing.text = c->scratch;
	c->passing.hash = pgx_hash_bytes(c->scratch, c->passing.len);
	c->passing.user = NULL;
	return &c->passing;
}

/* Full: forgotten, and bypassed for a while if it was mostly missed. */
static void cache_refill(struct pgx_sql_cache *c)
{
	if (c->hits < c->n)
		c->bypass = BYPASS_FILLS * c->max;
	cache_clear(c);
	c->hits = 0;
}

uint64_t pgx_sql_cache_prefetch(const struct pgx_sql_cache *c, const char *sql, size_t len)
{
	uint64_t h;

	if (c->bypass)
		return 0;	/* not looked up */
	h = pgx_hash_bytes(sql, len);
	__builtin_prefetch(&c->tab[h & c->mask]);
	return h;
}

struct pgx_sql_shape *pgx_sql_cache_shape(struct pgx_sql_cache *c, const char *sql, size_t len)
{
	return pgx_sql_cache_shape_hashed(c, sql, len, c->bypass ? 0 : pgx_hash_bytes(sql, len));
}

struct pgx_sql_shape *pgx_sql_cache_shape_hashed(struct pgx_sql_cache *c, const char *sql, size_t len, uint64_t h)
{
	size_t j;

	if (c->bypass)
		return passing_shape(c, sql, len);
	for (j = h & c->mask; c->tab[j].e; j = (j + 1) & c->mask)
		if (c->tab[j].hash == h && c->tab[j].e->raw_len == len && !memcmp(c->tab[j].e->raw, sql, len)) {
			c->hits++;
			return &c->tab[j].e->shape;
		}
	if (c->n >= c->max) {
		cache_refill(c);
		if (c->bypass)
			return passing_shape(c, sql, len);
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
	arena_free(&c->entries);
	free(c->tab);
	free(c->scratch);
	free(c);
}
