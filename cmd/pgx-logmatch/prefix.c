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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"

#define ZONE "(?: [A-Za-z]{1,6}| [+-]\\d\\d(?::?\\d\\d)?)?"
#define TIME_T "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d" ZONE
#define TIME_M "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+" ZONE
#define TIME_N "\\d{9,11}\\.\\d{3}"
#define SEVERITY "(?:DEBUG[1-5]|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|DETAIL|HINT|QUERY|CONTEXT|" \
	"LOCATION|STATEMENT):  "

/* What a prefix's regex has so far: a named group each, the first time. */
struct escapes {
	bool ts, pid;
	const char *format;
};

/* The regex of one escape; NULL for one PostgreSQL ignores (prints nothing). */
static const char *escape_regex(char c, struct escapes *e)
{
	switch (c) {
	case 'm':
	case 't':
	case 'n':
		if (e->ts)
			return c == 'n' ? TIME_N : c == 'm' ? TIME_M : TIME_T;
		e->ts = true;
		e->format = c == 'n' ? "%s" : TS_FORMAT_POSTGRES;
		return c == 'n' ? "(?<ts>" TIME_N ")" : c == 'm' ? "(?<ts>" TIME_M ")" : "(?<ts>" TIME_T ")";
	case 'p':
		return e->pid ? "\\d+" : (e->pid = true, "(?<pid>\\d+)");
	case 'c':	/* session id: start time and process id in hex */
		return e->pid ? "[0-9a-f]+\\.[0-9a-f]+" : (e->pid = true, "[0-9a-f]+\\.(?<pidhex>[0-9a-f]+)");
	case 's': return TIME_T;
	case 'P': case 'l': case 'x': return "\\d*";
	case 'Q': return "-?\\d*";
	case 'e': return "[0-9A-Z]{5}";
	case 'v': return "[0-9/]*";
	case 'a': case 'u': case 'd': case 'r': case 'h': case 'i': case 'b': return "[^\\n]*?";
	case '%': return "%";
	}
	return NULL;
}

static void put_literal(FILE *re, char c)
{
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (unsigned char)c >= 0x80))
		fputc('\\', re);
	fputc(c, re);
}

static FILE *open_regex(char **s, size_t *len)
{
	FILE *re = open_memstream(s, len);

	if (!re)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	return re;
}

/* log_line_prefix -> regex; NULL (with why) when it has no time escape. */
char *prefix_regex(const char *prefix, const char **format, char *why, size_t whylen)
{
	struct escapes e = { 0 };
	bool optional = false;
	const char *escape;
	char *s;
	size_t len;
	FILE *re = open_regex(&s, &len);

	fputc('^', re);
	for (const char *p = prefix; *p; p++) {
		if (*p != '%' || !p[1]) {
			put_literal(re, *p);
			continue;
		}
		p++;
		if (*p == '-' || (*p >= '0' && *p <= '9')) {	/* padding: %-10u, %5p */
			p += strspn(p, "-0123456789");
			if (!*p)
				break;
			fputs(" *", re);
		}
		if (*p == 'q') {	/* non-session processes stop here */
			fputs("(?:", re);
			optional = true;
		} else if ((escape = escape_regex(*p, &e)))
			fputs(escape, re);
		if (p[-1] != '%' && *p != 'q')
			fputs(" *", re);
	}
	if (optional)
		fputs(")?", re);
	fclose(re);
	*format = e.format;
	if (!e.ts) {
		snprintf(why, whylen, "log_line_prefix \"%s\" has no time (%%m, %%t or %%n)", prefix);
		free(s);
		return NULL;
	}
	return s;
}

/* The first timestamp before the severity of a line such as
 * "2026-11-22 03:16:43 CET-65c8c0a3.4d2-LOG:  ...": a regex finding it in
 * every line that starts the same way; NULL if the line has none. */
char *prefix_infer(const char *line, size_t len, const char **format)
{
	static const char *const shapes[] = { TIME_M, TIME_T, TIME_N };
	static const char *const formats[] = { TS_FORMAT_POSTGRES, TS_FORMAT_POSTGRES, "%s" };

	for (size_t i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
		char *probe;
		int errcode, rc;
		PCRE2_SIZE erroff;
		pcre2_code *re;
		pcre2_match_data *md;

		if (asprintf(&probe, "^[^\\n]{0,200}?(?<![\\d.])(?<ts>%s)(?![\\d.])[^\\n]{0,200}?" SEVERITY,
			     shapes[i]) < 0)
			pgx_die(PGX_EXIT_INTERNAL, "out of memory");
		re = pcre2_compile((PCRE2_SPTR)probe, PCRE2_ZERO_TERMINATED, PCRE2_MATCH_INVALID_UTF, &errcode,
				   &erroff, NULL);
		md = re ? pcre2_match_data_create_from_pattern(re, NULL) : NULL;
		rc = md ? pcre2_match(re, (PCRE2_SPTR)line, len, 0, 0, md, NULL) : -1;
		pcre2_match_data_free(md);
		pcre2_code_free(re);
		if (rc > 0) {
			*format = formats[i];
			return probe;
		}
		free(probe);
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
	t.jit = regex_jit_compiled(t.re);
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
	free(rs->prefix_regex);
	rs->prefix_regex = pgx_xstrdup(regex);
	rs->prefix_generation++;
	group = pcre2_substring_number_from_name(t.re, (PCRE2_SPTR) "pid");
	rs->prefix_pid_hex = group <= 0 && (group = pcre2_substring_number_from_name(t.re, (PCRE2_SPTR) "pidhex")) > 0;
	rs->prefix_pid_group = group > 0 ? (unsigned)group : 0;
	return true;
}

void ruleset_clear_prefix(struct ruleset *rs)
{
	if (!rs->has_prefix)
		return;
	free(rs->ts[0].format);
	pcre2_match_data_free(rs->ts[0].md);
	pcre2_code_free(rs->ts[0].re);
	memmove(rs->ts, rs->ts + 1, (rs->nts - 1) * sizeof(*rs->ts));
	rs->nts--;
	rs->has_prefix = false;
	free(rs->prefix_regex);
	rs->prefix_regex = NULL;
	rs->prefix_generation++;
	rs->prefix_pid_group = 0;
}

/* The process id %p or %c of a line's prefix; 0 if it has none. */
long prefix_pid(const struct ruleset *rs, const char *s, size_t len)
{
	PCRE2_SIZE *ov;

	if (!rs->prefix_pid_group || regex_match(rs->ts[0].re, rs->ts[0].jit, s, len, 0, rs->ts[0].md) <= 0)
		return 0;
	ov = pcre2_get_ovector_pointer(rs->ts[0].md);
	if (ov[2 * rs->prefix_pid_group] == PCRE2_UNSET)
		return 0;
	return strtol(s + ov[2 * rs->prefix_pid_group], NULL, rs->prefix_pid_hex ? 16 : 10);
}

/* A line that starts an entry by the prefix (only asked of lines that
 * start with a space: a tab always continues). */
bool prefix_starts_entry(const struct ruleset *rs, const char *s, size_t len)
{
	return rs->has_prefix && pcre2_match(rs->ts[0].re, (PCRE2_SPTR)s, len, 0, 0, rs->ts[0].md, NULL) > 0;
}
