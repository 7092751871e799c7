/* peek.c - a record's type and time without building it
 *
 * Most records of a stream (opens, log lines) matter to pgx-timeline only
 * by their type and ts, and building a jansson object for each was most of
 * its time.  record_peek() walks the line once, allocating nothing, and
 * answers only when it is sure jansson would accept the line as it stands:
 * plain keys, escapes it checks, integers and decimals without exponent,
 * shallow nesting, one "type" and one "ts".  Anything else (a \u-escaped
 * key, an exponent, a control byte, a NUL...) is left to the full parse, so
 * errors and values stay jansson's own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"

#define PEEK_MAX_DEPTH 32
#define PEEK_MAX_INT_DIGITS 18	/* below json_int_t's overflow */
#define PEEK_MAX_REAL_DIGITS 300	/* no overflow to infinity without an exponent */

struct scan {
	const char *p, *end;
	bool high;	/* a byte >= 0x80 seen in a string: check UTF-8 once */
	bool backslash;
};

static bool scan_value(struct scan *s, int depth);

static void skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* At the backslash of \uXXXX, outside the surrogates (a pair is left to
 * jansson); leaves s->p at the last hex digit. */
static bool scan_unicode_escape(struct scan *s)
{
	unsigned v = 0;

	if (s->end - s->p < 6)
		return false;
	for (int i = 2; i <= 5; i++) {
		int h = hex_value(s->p[i]);
		if (h < 0)
			return false;
		v = v << 4 | (unsigned)h;
	}
	s->p += 5;
	return v < 0xD800 || v > 0xDFFF;
}

/* Whether any of 8 bytes is '"', '\\', a control byte or not ASCII (SWAR:
 * x - 0x01.. borrows into a byte's high bit only where that byte was 0). */
static bool word_is_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');

	return ((((w - ones * 0x20) | (quote - ones) | (backslash - ones)) & ~w) | w) & high;
}

/* Past the plain bytes of a string, eight at a time. */
static void skip_plain(struct scan *s)
{
	uint64_t w;

	while (s->end - s->p >= 8) {
		memcpy(&w, s->p, 8);
		if (word_is_special(w))
			return;
		s->p += 8;
	}
}

/* At the opening quote; after it, past the closing one. */
static bool scan_string(struct scan *s, bool *escaped)
{
	*escaped = false;
	for (s->p++, skip_plain(s); s->p < s->end; s->p++) {
		unsigned char c = (unsigned char)*s->p;

		if (c == '"') {
			s->p++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c >= 0x80)
			s->high = true;
		if (c != '\\')
			continue;
		*escaped = s->backslash = true;
		if (s->p + 1 >= s->end)
			return false;
		if (s->p[1] == 'u') {
			if (!scan_unicode_escape(s))
				return false;
		} else if (s->p[1] && strchr("\"\\/bfnrt", s->p[1]))
			s->p++;
		else
			return false;
	}
	return false;
}

static size_t scan_digits(struct scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return (size_t)(s->p - start);
}

static bool scan_number(struct scan *s)
{
	size_t digits;

	if (*s->p == '-')
		s->p++;
	if (s->p < s->end && *s->p == '0') {
		s->p++;
		digits = 1;
		if (s->p < s->end && *s->p >= '0' && *s->p <= '9')
			return false;
	} else if (!(digits = scan_digits(s)))
		return false;
	if (s->p < s->end && (*s->p == 'e' || *s->p == 'E'))
		return false;
	if (s->p == s->end || *s->p != '.')
		return digits <= PEEK_MAX_INT_DIGITS;
	s->p++;
	digits += scan_digits(s);
	if (s->p[-1] == '.' || (s->p < s->end && (*s->p == 'e' || *s->p == 'E')))
		return false;
	return digits <= PEEK_MAX_REAL_DIGITS;
}

static bool scan_word(struct scan *s, const char *word, size_t len)
{
	if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len))
		return false;
	s->p += len;
	return true;
}

/* strtod of [p, end), which a scanned number fills: the line need not be
 * NUL-terminated. */
static double bounded_strtod(const char *p, const char *end)
{
	char copy[PEEK_MAX_REAL_DIGITS + 3];	/* sign, point, NUL */
	size_t len = (size_t)(end - p);

	memcpy(copy, p, len);
	copy[len] = '\0';
	return strtod(copy, NULL);
}

/* A scanned integer: a sign and at most PEEK_MAX_INT_DIGITS digits. */
static long int_value(const char *p, const char *end)
{
	bool neg = *p == '-';
	long v = 0;

	for (const char *q = p + neg; q < end; q++)
		v = v * 10 + (*q - '0');
	return neg ? -v : v;
}

/* The number's value as jansson reads it (strtoll or strtod), without
 * strtod's cost for the usual epoch seconds: a mantissa below 2^53 divided
 * by an exact power of ten is rounded once, as strtod rounds (Clinger's
 * fast path).  The scanner let through at most 18 digits of an integer. */
static double number_value(const char *p, const char *end)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	bool neg = *p == '-', real = false;
	int64_t mantissa = 0;
	int digits = 0, frac = 0;

	for (const char *q = p + neg; q < end; q++) {
		if (*q == '.') {
			real = true;
			continue;
		}
		if (++digits <= 18)
			mantissa = mantissa * 10 + (*q - '0');
		frac += real;
	}
	if (!real)
		return (double)(neg ? -mantissa : mantissa);
	if (digits > 18 || mantissa >= (INT64_C(1) << 53) || frac > 22)
		return bounded_strtod(p, end);
	return (neg ? -1.0 : 1.0) * ((double)mantissa / pow10[frac]);
}

/* Index into record_peek's ints of a key, or -1. */
static int int_member(const char *key, size_t key_len)
{
	static const struct {
		const char *name;
		size_t len;
	} names[PEEK_INTS] = { { "pid", 3 }, { "code", 4 }, { "signal", 6 } };

	for (int i = 0; i < PEEK_INTS; i++)
		if (names[i].len == key_len && !memcmp(key, names[i].name, key_len))
			return i;
	return -1;
}

static bool take_member(struct record_peek *r, const char *key, size_t key_len,
			const char *value, const char *value_end)
{
	int slot;

	if (key_len == 4 && !memcmp(key, "type", 4)) {
		if (r->has_type)
			return false;	/* jansson keeps the last: not worth following */
		r->has_type = true;
		if (*value != '"')
			return true;
		r->type = value + 1;
		r->type_len = (size_t)(value_end - value) - 2;
		r->type_plain = !memchr(r->type, '\\', r->type_len);
	} else if ((slot = int_member(key, key_len)) >= 0) {
		if (r->ints[slot].seen)
			return false;
		r->ints[slot].seen = true;
		r->ints[slot].is_int = (*value == '-' || (*value >= '0' && *value <= '9')) &&
				       !memchr(value, '.', (size_t)(value_end - value));
		if (r->ints[slot].is_int)
			r->ints[slot].value = int_value(value, value_end);
	} else if (key_len == 2 && !memcmp(key, "ts", 2)) {
		if (r->has_ts)
			return false;
		r->has_ts = true;
		if (*value != '-' && (*value < '0' || *value > '9'))
			return true;
		r->ts_is_number = true;
		r->ts = number_value(value, value_end);
	}
	return true;
}

/* Past an object's or array's opening; true when it closes at once. */
static bool opens_empty(struct scan *s, char close)
{
	s->p++;
	skip_space(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return true;
	}
	return false;
}

enum item { ITEM_NEXT, ITEM_CLOSED, ITEM_BAD };

/* After a member or element: a comma (and the space after it), or the close. */
static enum item after_item(struct scan *s, char close)
{
	skip_space(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return ITEM_CLOSED;
	}
	if (s->p == s->end || *s->p != ',')
		return ITEM_BAD;
	s->p++;
	skip_space(s);
	return ITEM_NEXT;
}

/* At the object's '{'; top: the record itself, whose type and ts are kept. */
static bool scan_members(struct scan *s, int depth, struct record_peek *top)
{
	const char *key, *value;
	size_t key_len;
	bool escaped;
	enum item next;

	if (opens_empty(s, '}'))
		return true;
	for (;;) {
		if (s->p == s->end || *s->p != '"')
			return false;
		key = s->p + 1;
		if (!scan_string(s, &escaped))
			return false;
		key_len = (size_t)(s->p - key) - 1;
		if (escaped)
			return false;	/* it might spell "type", or hold a NUL jansson refuses in keys */
		skip_space(s);
		if (s->p == s->end || *s->p != ':')
			return false;
		s->p++;
		skip_space(s);
		value = s->p;
		if (!scan_value(s, depth + 1))
			return false;
		if (top && !take_member(top, key, key_len, value, s->p))
			return false;
		if ((next = after_item(s, '}')) != ITEM_NEXT)
			return next == ITEM_CLOSED;
	}
}

static bool scan_elements(struct scan *s, int depth)
{
	enum item next;

	if (opens_empty(s, ']'))
		return true;
	for (;;) {
		if (!scan_value(s, depth + 1))
			return false;
		if ((next = after_item(s, ']')) != ITEM_NEXT)
			return next == ITEM_CLOSED;
	}
}

static bool scan_value(struct scan *s, int depth)
{
	bool escaped;

	if (s->p == s->end || depth > PEEK_MAX_DEPTH)
		return false;
	switch (*s->p) {
	case '"': return scan_string(s, &escaped);
	case '{': return scan_members(s, depth, NULL);
	case '[': return scan_elements(s, depth);
	case 't': return scan_word(s, "true", 4);
	case 'f': return scan_word(s, "false", 5);
	case 'n': return scan_word(s, "null", 4);
	default: return (*s->p == '-' || (*s->p >= '0' && *s->p <= '9')) && scan_number(s);
	}
}

bool record_peek(const char *line, size_t len, struct record_peek *r)
{
	struct scan s = { .p = line, .end = line + len };

	memset(r, 0, sizeof(*r));
	while (s.p < s.end && (*s.p == ' ' || *s.p == '\t'))
		s.p++;
	if (s.p == s.end || *s.p != '{' || !scan_members(&s, 0, r))
		return false;
	skip_space(&s);
	if (s.p != s.end)
		return false;
	r->backslash = s.backslash;
	return !s.high || pgx_utf8_invalid_at(line, len) < 0;
}
