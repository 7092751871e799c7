/* prefix.c - PostgreSQL's log_line_prefix read back.
 *
 * A prefix given as the server has it ('%t:%r:%u@%d:[%p]:', RDS's) becomes
 * a regex for the start of an entry's first line, with the time as the
 * group "ts"; it is put before the rules' own timestamp specs, so a time
 * anywhere in the prefix is found, and a line indented with spaces that
 * does not start like that is known to continue the entry before it.
 * Without one, a prefix is inferred from the first line the rules' specs
 * cannot read a time from: the time is where a timestamp stands before the
 * severity ("LOG:  ").  Escapes as in PostgreSQL's documentation, 19.8.3.
 */
#include <string.h>
#include "pgx.h"
#include "logmatch.h"

#define ZONE "(?: [A-Za-z]{1,6}| [+-]\\d\\d(?::?\\d\\d)?)?"
#define TIME_T "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d" ZONE
#define TIME_M "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+" ZONE
#define TIME_N "\\d{9,11}\\.\\d{3}"
#define SEVERITY "(?:DEBUG[1-5]|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|" \
	"LOCATION|STATEMENT):  "

struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = pgx_xrealloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The regex of one escape; NULL for one PostgreSQL ignores (prints nothing). */
static const char *escape_regex(char c, bool *ts_done, const char **format)
{
	switch (c) {
	case 'm':
	case 't':
	case 'n':
		if (*ts_done)
			return c == 'n' ? TIME_N : c == 'm' ? TIME_M : TIME_T;
		*ts_done = true;
		*format = c == 'n' ? "%s" : TS_FORMAT_POSTGRES;
		return c == 'n' ? "(?<ts>" TIME_N ")" : c == 'm' ? "(?<ts>" TIME_M ")" : "(?<ts>" TIME_T ")";
	case 's': return TIME_T;
	case 'p': return "\\d+";
	case 'P': case 'l': case 'x': return "\\d*";
	case 'Q': return "-?\\d*";
	case 'c': return "[0-9a-f]+\\.[0-9a-f]+";
	case 'e': return "[0-9A-Z]{5}";
	case 'v': return "[0-9/]*";
	case 'a': case 'u': case 'd': case 'r': case 'h': case 'i': case 'b': return "[^\\n]*?";
	case '%': return "%";
	}
	return NULL;
}

static void put_literal(struct buf *b, char c)
{
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (unsigned char)c >= 0x80))
		put(b, "\\", 1);
	put(b, &c, 1);
}

/* log_line_prefix -> regex; NULL (with why) when it has no time escape. */
char *prefix_regex(const char *prefix, const char **format, char *why, size_t whylen)
{
	struct buf b = { 0 };
	bool ts_done = false, optional = false;
	const char *re;

	puts_(&b, "^");
	for (const char *p = prefix; *p; p++) {
		if (*p != '%' || !p[1]) {
			put_literal(&b, *p);
			continue;
		}
		p++;
		if (*p == '-' || (*p >= '0' && *p <= '9')) {	/* padding: %-10u, %5p */
			p += strspn(p, "-0123456789");
			if (!*p)
				break;
			puts_(&b, " *");
		}
		if (*p == 'q') {	/* non-session processes stop here */
			puts_(&b, "(?:");
			optional = true;
		} else if ((re = escape_regex(*p, &ts_done, format)))
			puts_(&b, re);
		if (p[-1] != '%' && *p != 'q')
			puts_(&b, " *");
	}
	if (optional)
		puts_(&b, ")?");
	if (!ts_done) {
		snprintf(why, whylen, "log_line_prefix \"%s\" has no time (%%m, %%t or %%n)", prefix);
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* The first timestamp before the severity of a line such as
 * "2026-11-22 03:16:43 CET-65c8c0a3.4d2-LOG:  ...": a regex finding it in
 * every line that starts the same way; NULL if the line has none. */
char *prefix_infer(const char *line, size_t len, const char **format)
{
	static const char *const shapes[] = { TIME_M, TIME_T, TIME_N };
	static const char *const formats[] = { TS_FORMAT_POSTGRES, TS_FORMAT_POSTGRES, "%s" };
	struct buf b = { 0 };

	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		char probe[512];
		int errcode;
		PCRE2_SIZE erroff;
		pcre2_code *re;
		pcre2_match_data *md;
		int rc;

		snprintf(probe, sizeof(probe), "^[^\\n]{0,200}?(?<![\\d.])(?<ts>%s)(?![\\d.])[^\\n]{0,200}?" SEVERITY,
			 shapes[i]);
		re = pcre2_compile((PCRE2_SPTR)probe, PCRE2_ZERO_TERMINATED, PCRE2_MATCH_INVALID_UTF, &errcode,
				   &erroff, NULL);
		if (!re)
			continue;
		md = pcre2_match_data_create_from_pattern(re, NULL);
		rc = pcre2_match(re, (PCRE2_SPTR)line, len, 0, 0, md, NULL);
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		if (rc > 0) {
			puts_(&b, probe);
			*format = formats[i];
			return b.s;
		}
	}
	return NULL;
}

/* Put a prefix's spec before the rules' own (replacing an earlier one). */
bool ruleset_set_prefix(struct ruleset *rs, const char *regex, const char *format, char *why, size_t whylen)
{
	struct ts_spec t = { 0 };
	int errcode, group;
	PCRE2_SIZE erroff;
	PCRE2_UCHAR msg[160];

	t.re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
			     &errcode, &erroff, NULL);
	if (!t.re) {
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		snprintf(why, whylen, "log_line_prefix does not compile: %s", msg);
		return false;
	}
	pcre2_jit_compile(t.re, PCRE2_JIT_COMPLETE);
	group = pcre2_substring_number_from_name(t.re, (PCRE2_SPTR) "ts");
	t.group = group > 0 ? (unsigned)group : 1;
	t.md = pcre2_match_data_create_from_pattern(t.re, NULL);
	t.format = pgx_xstrdup(format);
	if (rs->has_prefix) {
		free(rs->ts[0].format);
		pcre2_match_data_free(rs->ts[0].md);
		pcre2_code_free(rs->ts[0].re);
	} else {
		rs->ts = pgx_xrealloc(rs->ts, (rs->nts + 1) * sizeof(t));
		memmove(rs->ts + 1, rs->ts, rs->nts * sizeof(t));
		rs->nts++;
	}
	rs->ts[0] = t;
	rs->has_prefix = true;
	return true;
}

/* A line that starts an entry by the prefix (only asked of lines that
 * start with a space: a tab always continues). */
bool prefix_starts_entry(const struct ruleset *rs, const char *s, size_t len)
{
	return rs->has_prefix && pcre2_match(rs->ts[0].re, (PCRE2_SPTR)s, len, 0, 0, rs->ts[0].md, NULL) > 0;
}
