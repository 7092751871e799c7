/* mask.c - find passwords in query texts, log lines and connection strings
 * and mask them.  One forward scan that knows SQL's lexical states (code,
 * '' and E'' strings, "identifiers", comments) well enough to tell where a
 * password literal starts and ends; a log line is scanned as if it were SQL. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"

static inline bool a_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static inline bool a_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static inline bool a_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline bool ident_char(unsigned char c)
{
	return a_alnum(c) || c == '_' || c == '$' || c >= 0x80;
}

enum lex { CODE, STRING, ESTRING, QIDENT, LINE_COMMENT, BLOCK_COMMENT };

/* One secret: s[start..end) is replaced by with. */
struct span {
	size_t start, end;
	const char *with;
};

struct scan {
	const char *s;
	size_t len, i;
	enum lex lex;
	int depth;		/* of nested block comments */
	size_t tag, tag_len;	/* the open dollar quote s[tag..tag+tag_len), tag_len 0: none */
	struct span *v;
	size_t n, cap;
};

static void add_span(struct scan *z, size_t start, size_t end, const char *with)
{
	if (end <= start)
		return;
	if (z->n == z->cap) {
		z->cap = z->cap ? 2 * z->cap : 4;
		z->v = pgx_xrealloc(z->v, z->cap * sizeof(*z->v));
	}
	z->v[z->n++] = (struct span){ start, end, with };
}

/* Case-insensitive: does s[i..] start with the lower-case word w? */
static bool word_at(const struct scan *z, size_t i, const char *w, size_t n)
{
	if (i + n > z->len)
		return false;
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)(z->s[i + k] | 0x20) != (unsigned char)w[k])
			return false;
	return true;
}

static bool boundary_before(const struct scan *z, size_t i)
{
	return i == 0 || !ident_char((unsigned char)z->s[i - 1]);
}

static bool boundary_after(const struct scan *z, size_t i)
{
	return i >= z->len || !ident_char((unsigned char)z->s[i]);
}

static size_t skip_space(const struct scan *z, size_t j)
{
	while (j < z->len && a_space((unsigned char)z->s[j]))
		j++;
	return j;
}

/* Past the block comment at j (they nest in SQL). */
static size_t block_comment_end(const struct scan *z, size_t j)
{
	int depth = 0;

	for (; j + 1 < z->len; j++) {
		if (z->s[j] == '/' && z->s[j + 1] == '*')
			depth++, j++;
		else if (z->s[j] == '*' && z->s[j + 1] == '/') {
			if (--depth == 0)
				return j + 2;
			j++;
		}
	}
	return z->len;
}

/* Spaces and comments between PASSWORD and its literal, in SQL code. */
static size_t skip_space_and_comments(const struct scan *z, size_t j)
{
	const char *nl;

	for (j = skip_space(z, j); j + 1 < z->len; j = skip_space(z, j)) {
		if (z->s[j] == '-' && z->s[j + 1] == '-')
			j = (nl = memchr(z->s + j, '\n', z->len - j)) ? (size_t)(nl - z->s) : z->len;
		else if (z->s[j] == '/' && z->s[j + 1] == '*')
			j = block_comment_end(z, j);
		else
			break;
	}
	return j;
}

/* Length of a dollar-quote tag ($$ or $name$) at j, or 0. */
static size_t dollar_tag(const struct scan *z, size_t j)
{
	size_t k = j + 1;

	if (j >= z->len || z->s[j] != '$' || (k < z->len && z->s[k] >= '0' && z->s[k] <= '9'))
		return 0;
	while (k < z->len && ident_char((unsigned char)z->s[k]) && z->s[k] != '$')
		k++;
	return k < z->len && z->s[k] == '$' ? k - j + 1 : 0;
}

/* Past the closing quote of a '...' whose content starts at j.  Backslash
 * escapes are honoured in every literal: reading one too many only masks
 * more, and with standard_conforming_strings off they are real. */
static size_t quoted_end(const struct scan *z, size_t j)
{
	for (; j < z->len; j++) {
		if (z->s[j] == '\\')
			j++;
		else if (z->s[j] == '\'') {
			if (j + 1 < z->len && z->s[j + 1] == '\'')
				j++;
			else
				return j + 1;
		}
	}
	return z->len;
}

/* Past the SQL string literal at j ('', E'', U&'', $tag$), or j if none. */
static size_t literal_end(const struct scan *z, size_t j)
{
	const char *s = z->s;
	size_t left = z->len - j, tag;

	if (left && s[j] == '\'')
		return quoted_end(z, j + 1);
	if (left >= 2 && (s[j] | 0x20) == 'e' && s[j + 1] == '\'')
		return quoted_end(z, j + 2);
	if (left >= 3 && (s[j] | 0x20) == 'u' && s[j + 1] == '&' && s[j + 2] == '\'')
		return quoted_end(z, j + 3);
	if ((tag = dollar_tag(z, j))) {
		const char *end = memmem(s + j + tag, z->len - j - tag, s + j, tag);
		return end ? (size_t)(end - s) + tag : z->len;
	}
	return j;
}

/* Inside a '' string, SQL quoted in SQL doubles its quotes: ''x''. */
static size_t doubled_literal_end(const struct scan *z, size_t j)
{
	const char *end;

	if (j + 2 >= z->len || z->s[j] != '\'' || z->s[j + 1] != '\'' || z->s[j + 2] == '\'')
		return j;
	end = memmem(z->s + j + 2, z->len - j - 2, "''", 2);
	return end ? (size_t)(end - z->s) + 2 : z->len;
}

/* An unquoted conninfo value ends at a space, a quote, a URI's next
 * parameter, or the dollar quote it sits in. */
static size_t bare_value_end(const struct scan *z, size_t j)
{
	for (; j < z->len; j++) {
		char c = z->s[j];
		if (a_space((unsigned char)c) || c == '\'' || c == '"' || c == '&')
			break;
		if (c == '$' && z->tag_len && j + z->tag_len <= z->len &&
		    !memcmp(z->s + j, z->s + z->tag, z->tag_len))
			break;
	}
	return j;
}

/* password=x, password = 'x', password='x' (conninfo or SQL) from j, just
 * past the '='; the end of what was read. */
static size_t mask_assigned(struct scan *z, size_t j)
{
	size_t end;

	j = skip_space(z, j);
	if (z->lex == STRING || z->lex == ESTRING) {
		if ((end = doubled_literal_end(z, j)) > j) {
			add_span(z, j, end, "''***''");
			return end;
		}
		if (j < z->len && z->s[j] == '\'')
			return j;	/* the end of the string around it */
	} else if ((end = literal_end(z, j)) > j) {
		add_span(z, j, end, "'***'");
		return end;
	}
	end = bare_value_end(z, j);
	add_span(z, j, end, "***");
	return end;
}

/* PASSWORD 'x' from j, just past the keyword and at least one space. */
static size_t mask_keyword_literal(struct scan *z, size_t j)
{
	size_t end;

	if (z->lex == STRING || z->lex == ESTRING) {
		if ((end = doubled_literal_end(z, j)) > j) {
			add_span(z, j, end, "''***''");
			return end;
		}
		/* A lone quote here would end the string, unless a stray
		 * apostrophe earlier (a log line's "can't") made it look like
		 * one: a quote followed by a word opens a literal. */
		if (j + 1 >= z->len || z->s[j] != '\'' || a_space((unsigned char)z->s[j + 1]) ||
		    strchr("),;'", z->s[j + 1]))
			return j;
		z->lex = CODE;
	}
	if ((end = literal_end(z, j)) > j)
		add_span(z, j, end, "'***'");
	return end;
}

/* At the word "password" (or "sslpassword"): what follows it, masked. */
static size_t mask_password(struct scan *z, size_t at)
{
	size_t j = at + 8, k;

	if (!boundary_after(z, j))
		return j;
	k = skip_space(z, j);
	if (k < z->len && z->s[k] == '=')
		return mask_assigned(z, k + 1);
	if (z->lex == CODE)
		k = skip_space_and_comments(z, j);
	if (k == j || z->lex == QIDENT)
		return j;
	return mask_keyword_literal(z, k);
}

/* At "://": the password of scheme://user:password@host. */
static size_t mask_uri(struct scan *z, size_t at)
{
	size_t j = at + 3, colon = 0;

	if (at == 0 || !a_alnum((unsigned char)z->s[at - 1]))
		return j;
	for (; j < z->len && !strchr("@/?#'\"", z->s[j]) && !a_space((unsigned char)z->s[j]); j++)
		if (z->s[j] == ':' && !colon)
			colon = j;
	if (j < z->len && z->s[j] == '@' && colon)
		add_span(z, colon + 1, j, "***");
	return j;
}

/* At "SCRAM-SHA-256$": the rest of the stored verifier. */
static size_t mask_scram(struct scan *z, size_t at)
{
	size_t j = at + 14, end = j;

	while (end < z->len && !a_space((unsigned char)z->s[end]) && !strchr("'\",)", z->s[end]))
		end++;
	add_span(z, j, end, "***");
	return end;
}

/* At "md5": the 32 hex digits of an md5 verifier, if they follow. */
static size_t mask_md5(struct scan *z, size_t at)
{
	size_t j = at + 3, k = j;

	while (k < z->len && k - j < 33 && a_hex((unsigned char)z->s[k]))
		k++;
	if (k - j == 32 && boundary_after(z, k))
		add_span(z, j, k, "***");
	return k;
}

/* The secret starting at z->i, if any: where scanning goes on, or z->i. */
static size_t secret_at(struct scan *z)
{
	size_t i = z->i;
	unsigned char c = (unsigned char)(z->s[i] | 0x20);

	if (c == 'p' && word_at(z, i, "password", 8) &&
	    (boundary_before(z, i) || (i >= 3 && word_at(z, i - 3, "ssl", 3) && boundary_before(z, i - 3))))
		return mask_password(z, i);
	if (z->s[i] == ':' && i + 2 < z->len && z->s[i + 1] == '/' && z->s[i + 2] == '/')
		return mask_uri(z, i);
	if (c == 's' && word_at(z, i, "scram-sha-256$", 14) && boundary_before(z, i))
		return mask_scram(z, i);
	if (c == 'm' && word_at(z, i, "md5", 3) && boundary_before(z, i))
		return mask_md5(z, i);
	return i;
}

/* One step of the lexer from z->i outside any secret. */
static void lex_step(struct scan *z)
{
	const char *s = z->s;
	size_t i = z->i, tag;
	char c = s[i], next = i + 1 < z->len ? s[i + 1] : '\0';

	switch (z->lex) {
	case CODE:
		if (c == '\'') {
			z->lex = i > 0 && (s[i - 1] | 0x20) == 'e' && (i < 2 || !ident_char((unsigned char)s[i - 2]))
					 ? ESTRING : STRING;
		} else if (c == '"')
			z->lex = QIDENT;
		else if (c == '-' && next == '-')
			z->lex = LINE_COMMENT, i++;
		else if (c == '/' && next == '*')
			z->lex = BLOCK_COMMENT, z->depth = 1, i++;
		else if (c == '$' && (i == 0 || !ident_char((unsigned char)s[i - 1])) && (tag = dollar_tag(z, i))) {
			/* a dollar-quoted body is scanned as code: a DO block's SQL, or a conninfo */
			if (z->tag_len && tag == z->tag_len && !memcmp(s + i, s + z->tag, tag))
				z->tag_len = 0;
			else if (!z->tag_len)
				z->tag = i, z->tag_len = tag;
			i += tag - 1;
		}
		break;
	case ESTRING:
		if (c == '\\') {
			i++;
			break;
		}
		/* fall through */
	case STRING:
		if (c == '\'' && next == '\'')
			i++;
		else if (c == '\'')
			z->lex = CODE;
		break;
	case QIDENT:
		if (c == '"' && next == '"')
			i++;
		else if (c == '"')
			z->lex = CODE;
		break;
	case LINE_COMMENT:
		if (c == '\n')
			z->lex = CODE;
		break;
	case BLOCK_COMMENT:
		if (c == '/' && next == '*')
			z->depth++, i++;
		else if (c == '*' && next == '/' && --z->depth == 0)
			z->lex = CODE, i++;
		break;
	}
	z->i = i + 1;
}

static void scan_all(struct scan *z)
{
	while (z->i < z->len) {
		size_t next = secret_at(z);
		if (next > z->i)
			z->i = next;
		else
			lex_step(z);
	}
}

/* Does the lower-case word w end at s[i], in any case? */
static bool ends_with_ci(const char *s, size_t i, const char *w, size_t n)
{
	if (i + 1 < n)
		return false;
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)(s[i + 1 - n + k] | 0x20) != (unsigned char)w[k])
			return false;
	return true;
}

static bool trigger_ends_at(const char *s, size_t i)
{
	switch (s[i] | 0x20) {
	case 'w': return ends_with_ci(s, i, "passw", 5);
	case '5': return ends_with_ci(s, i, "md5", 3);
	case '$': return ends_with_ci(s, i, "scram-sha-256$", 14);
	case '/': return ends_with_ci(s, i, "://", 3);
	default: return false;
	}
}

/* Does one of the 16 bytes at p end "sw", "d5", "6$" or "//" (any case)?
 * GCC's vector extension: a few SSE2 (or NEON) instructions for the 16;
 * p[-1] must be readable. */
static inline bool any_pair16(const unsigned char *p)
{
	bytes16 x, y, hit;
	uint64_t half[2];

	memcpy(&x, p, 16);
	memcpy(&y, p - 1, 16);
	hit = (bytes16)(((y | 0x20) == 's') & ((x | 0x20) == 'w')) | (bytes16)(((y | 0x20) == 'd') & (x == '5')) |
	      (bytes16)((y == '6') & (x == '$')) | (bytes16)((y == '/') & (x == '/'));
	memcpy(half, &hit, 16);
	return (half[0] | half[1]) != 0;
}

/* Cheap first look: without "password", "md5", "SCRAM-SHA-256$" or "://"
 * there is nothing to mask.  pgx-logmatch reads every line through here, so
 * 16 bytes at a time look for a pair of their letters, rare in log lines. */
static bool maybe_secret(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 1; i < len; i++) {
		while (i + 16 <= len && !any_pair16(u + i))
			i += 16;
		if (i + 16 > len && len > 16 && !any_pair16(u + len - 16))
			return false;	/* the tail, in one (overlapping) look */
		if (i < len && trigger_ends_at(s, i))
			return true;
	}
	return false;
}

static char *apply_spans(const struct scan *z, size_t *out_len)
{
	size_t cap = z->len + 1, from = 0, n = 0;
	char *out;

	for (size_t k = 0; k < z->n; k++)
		cap += strlen(z->v[k].with);
	out = pgx_xmalloc(cap);
	for (size_t k = 0; k < z->n; k++) {
		size_t w = strlen(z->v[k].with);
		memcpy(out + n, z->s + from, z->v[k].start - from);
		n += z->v[k].start - from;
		memcpy(out + n, z->v[k].with, w);
		n += w;
		from = z->v[k].end;
	}
	memcpy(out + n, z->s + from, z->len - from);
	n += z->len - from;
	out[n] = '\0';
	if (out_len)
		*out_len = n;
	return out;
}

/* The secrets of s[0..len) as spans (z->v, z->n; free z->v). */
static void find_secrets(struct scan *z, const char *s, size_t len)
{
	memset(z, 0, sizeof(*z));
	z->s = s;
	z->len = len;
	if (maybe_secret(s, len))
		scan_all(z);
}

char *pgx_mask_secrets(const char *s, size_t len, size_t *out_len)
{
	struct scan z;
	char *out = NULL;

	find_secrets(&z, s, len);
	if (z.n)
		out = apply_spans(&z, out_len);
	free(z.v);
	return out;
}

char *pgx_mask_secrets_dup(const char *s)
{
	char *out;

	if (!s)
		return NULL;
	out = pgx_mask_secrets(s, strlen(s), NULL);
	return out ? out : pgx_xstrdup(s);
}

json_t *pgx_mask_json_text(const char *s, size_t len)
{
	size_t n;
	char *masked = pgx_mask_secrets(s, len, &n);
	json_t *v = masked ? pgx_json_text(masked, n, NULL) : pgx_json_text(s, len, NULL);

	free(masked);
	return v;
}

bool pgx_mask_json(json_t *v)
{
	bool changed = false;
	const char *key;
	json_t *item;
	size_t i, n;
	char *masked;

	if (json_is_string(v)) {
		if (!(masked = pgx_mask_secrets(json_string_value(v), json_string_length(v), &n)))
			return false;
		json_string_setn_nocheck(v, masked, n);
		free(masked);
		return true;
	}
	if (json_is_object(v))
		json_object_foreach(v, key, item)
			changed |= pgx_mask_json(item);
	else if (json_is_array(v))
		json_array_foreach(v, i, item)
			changed |= pgx_mask_json(item);
	return changed;
}

char *pgx_mask_take_arg(char *arg)
{
	struct scan z;
	char *copy;

	if (!arg)
		return NULL;
	copy = pgx_xstrdup(arg);
	find_secrets(&z, copy, strlen(copy));
	for (size_t k = 0; k < z.n; k++) {
		size_t start = z.v[k].start, end = z.v[k].end;
		if (end - start >= 2 && copy[start] == '\'' && copy[end - 1] == '\'')
			start++, end--;	/* password='x' stays quoted: password='*' */
		memset(arg + start, '*', end - start);
	}
	free(z.v);
	return copy;
}

/* msg with every "quoted" part that contains secret masked to "***". */
static char *mask_quoted_fragment(const char *msg, const char *secret, size_t secret_len)
{
	size_t len = strlen(msg), n = 0;
	char *out = pgx_xmalloc(2 * len + 1);	/* "***" may replace a shorter "x" */
	const char *p = msg;

	while (*p) {
		const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (close && memmem(p + 1, (size_t)(close - p - 1), secret, secret_len)) {
			memcpy(out + n, "\"***\"", 5);
			n += 5;
			p = close + 1;
		} else
			out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

char *pgx_mask_conn_message(const char *msg, const char *dsn)
{
	char *out = pgx_mask_secrets_dup(msg ? msg : ""), *next;
	struct scan z;

	if (!dsn)
		return out;
	find_secrets(&z, dsn, strlen(dsn));
	for (size_t k = 0; k < z.n; k++) {
		next = mask_quoted_fragment(out, dsn + z.v[k].start, z.v[k].end - z.v[k].start);
		free(out);
		out = next;
	}
	free(z.v);
	return out;
}
