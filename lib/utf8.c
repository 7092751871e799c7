/* utf8.c - UTF-8 validation (RFC 3629: no overlongs, no surrogates) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"

/* Length of the valid sequence at s, or 0 if it is invalid. */
static size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

long pgx_utf8_invalid_at(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n;

	while (i < len) {
		uint64_t w[2];

		if (i + 16 <= len && (memcpy(w, s + i, 16), !((w[0] | w[1]) & 0x8080808080808080u))) {
			i += 16;	/* sixteen ASCII bytes */
			continue;
		}
		if (i + 8 <= len && (memcpy(w, s + i, 8), !(w[0] & 0x8080808080808080u))) {
			i += 8;	/* eight */
			continue;
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (!(n = utf8_sequence_len(s + i, len - i)))
			return (long)i;
		i += n;
	}
	return -1;
}

json_t *pgx_json_text(const char *s, size_t len, long *bad_at)
{
	long bad = pgx_utf8_invalid_at(s, len);
	json_t *str;
	char *clean;

	if (bad_at)
		*bad_at = bad;
	if (bad < 0)
		str = json_stringn_nocheck(s, len);
	else {
		clean = pgx_utf8_sanitize(s, len, &len);
		str = json_stringn_nocheck(clean, len);
		free(clean);
	}
	if (!str)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return str;
}

char *pgx_utf8_sanitize(const char *str, size_t len, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)str;
	char *out = pgx_xmalloc(len * 3 + 1), *o = out;
	size_t i = 0, n;

	while (i < len) {
		if ((n = utf8_sequence_len(s + i, len - i))) {
			memcpy(o, s + i, n);
			o += n, i += n;
		} else {
			memcpy(o, "\xEF\xBF\xBD", 3);
			o += 3, i++;
		}
	}
	*o = '\0';
	if (outlen)
		*outlen = (size_t)(o - out);
	return out;
}

/* C0 controls, DEL and C1 controls (U+0080-U+009F, which some terminals
 * take as escape sequences too) */
static bool is_control(const unsigned char *s, size_t n)
{
	return n == 1 ? s[0] < 0x20 || s[0] == 0x7f : n == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

static char *escape_sequence(char *o, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (n == 1 && (s[0] == '\n' || s[0] == '\t' || s[0] == '\r' || s[0] == '\\')) {
		*o++ = '\\';
		*o++ = s[0] == '\n' ? 'n' : s[0] == '\t' ? 't' : s[0] == '\r' ? 'r' : '\\';
		return o;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(o, "\\x", 2);
		o[2] = hex[s[i] >> 4];
		o[3] = hex[s[i] & 15];
		o += 4;
	}
	return o;
}

char *pgx_excerpt(const char *str, size_t len, size_t max_chars)
{
	const unsigned char *s = (const unsigned char *)str;
	char *out = pgx_xmalloc(max_chars * 8 + 4), *o = out;
	size_t i = 0, chars = 0;

	while (i < len && chars < max_chars) {
		size_t n = utf8_sequence_len(s + i, len - i);

		if (n == 1 && s[i] != '\\' && !is_control(s + i, 1))
			*o++ = (char)s[i];
		else if (n > 1 && !is_control(s + i, n))
			memcpy(o, s + i, n), o += n;
		else
			o = escape_sequence(o, s + i, n ? n : 1);
		i += n ? n : 1;
		chars++;
	}
	if (i < len)
		memcpy(o, "...", 3), o += 3;
	*o = '\0';
	return out;
}
