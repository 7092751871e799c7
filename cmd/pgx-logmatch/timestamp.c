/* timestamp.c - read a log line's own time into the pgx clock */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "logmatch.h"

/* Abbreviations PostgreSQL prints with %m/%t for common log_timezone
 * settings.  Ambiguous ones (IST, CST in Asia) follow the tz database's
 * most common use; a numeric zone or UTC avoids the question entirely. */
static const struct {
	const char *name;
	int offset_min;
} zone_abbrevs[] = {
	{ "UTC", 0 }, { "GMT", 0 }, { "Z", 0 }, { "UCT", 0 },
	{ "WET", 0 }, { "WEST", 60 }, { "BST", 60 }, { "IST", 60 },
	{ "CET", 60 }, { "CEST", 120 }, { "MET", 60 }, { "MEST", 120 },
	{ "EET", 120 }, { "EEST", 180 }, { "MSK", 180 },
	{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
	{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	{ "AKST", -540 }, { "AKDT", -480 }, { "HST", -600 },
	{ "JST", 540 }, { "KST", 540 }, { "HKT", 480 }, { "SGT", 480 },
	{ "AWST", 480 }, { "ACST", 570 }, { "ACDT", 630 }, { "AEST", 600 }, { "AEDT", 660 },
	{ "NZST", 720 }, { "NZDT", 780 }, { "SAST", 120 }, { "WIB", 420 },
};

struct cursor {
	const char *p, *end;
};

static bool read_digits(struct cursor *c, int min, int max, long *out)
{
	int n = 0;
	long v = 0;

	while (c->p < c->end && n < max && isdigit((unsigned char)*c->p))
		v = v * 10 + (*c->p++ - '0'), n++;
	*out = v;
	return n >= min;
}

/* ".123456" or ",123": optional fractional seconds.  A digit's weight is
 * 0.1, then each a tenth of the one before: divided, as it always was, once
 * for the first 16 (the same doubles, without a division per digit). */
static double read_fraction(struct cursor *c)
{
	static __thread double weight[16];	/* the group worker reads times too */
	double frac = 0, scale = 0.1;

	if (c->p + 1 >= c->end || (*c->p != '.' && *c->p != ',') || !isdigit((unsigned char)c->p[1]))
		return 0;
	if (!weight[0])
		for (size_t i = 0; i < 16; i++, scale /= 10)
			weight[i] = scale;
	c->p++;
	for (size_t i = 0; c->p < c->end && isdigit((unsigned char)*c->p); c->p++, i++) {
		scale = i < 16 ? weight[i] : scale / 10;
		frac += (*c->p - '0') * scale;
	}
	return frac;
}

/* "+02", "-0530", "+05:30" */
static bool read_numeric_zone(struct cursor *c, int *offset_min)
{
	int sign = *c->p == '-' ? -1 : 1;
	long hh, mm = 0;

	c->p++;
	if (!read_digits(c, 2, 2, &hh))
		return false;
	if (c->p < c->end && *c->p == ':')
		c->p++;
	if (c->p < c->end && isdigit((unsigned char)*c->p) && !read_digits(c, 2, 2, &mm))
		return false;
	*offset_min = sign * (int)(hh * 60 + mm);
	return true;
}

static bool read_zone(struct cursor *c, int *offset_min, char *why, size_t whylen)
{
	const char *start = c->p;
	size_t len;

	if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
		return read_numeric_zone(c, offset_min);
	while (c->p < c->end && isalpha((unsigned char)*c->p))
		c->p++;
	len = (size_t)(c->p - start);
	if (len == 0) {
		*offset_min = 0;	/* no zone given: UTC */
		return true;
	}
	for (size_t i = 0; i < sizeof(zone_abbrevs) / sizeof(*zone_abbrevs); i++)
		if (strlen(zone_abbrevs[i].name) == len && !strncmp(zone_abbrevs[i].name, start, len)) {
			*offset_min = zone_abbrevs[i].offset_min;
			return true;
		}
	snprintf(why, whylen, "unknown time zone abbreviation \"%.*s\"", (int)len, start);
	return false;
}

static bool read_epoch(struct cursor *c, double *out)
{
	long secs;

	if (!read_digits(c, 1, 12, &secs))
		return false;
	*out = (double)secs + read_fraction(c);
	return true;
}

struct parsed_time {
	struct tm tm;
	double frac;
	size_t frac_at, frac_end;	/* the digits %f read, as offsets; frac_end 0: none */
	int fractions;		/* how many %f had digits */
	int offset_min;
	bool is_epoch;
	double epoch;
};

/* %f at c: the fraction, and where its digits are. */
static void read_fraction_field(struct cursor *c, const char *start, struct parsed_time *t)
{
	const char *sep = c->p;

	t->frac = read_fraction(c);
	if (c->p > sep) {
		t->frac_at = (size_t)(sep + 1 - start);
		t->frac_end = (size_t)(c->p - start);
		t->fractions++;
	}
}

static bool read_field(char conv, struct cursor *c, const char *start, struct parsed_time *t,
		       char *why, size_t whylen)
{
	long v;

	switch (conv) {
	case 'Y': return read_digits(c, 4, 4, &v) && (t->tm.tm_year = (int)v - 1900, true);
	case 'm': return read_digits(c, 1, 2, &v) && (t->tm.tm_mon = (int)v - 1, true);
	case 'd': return read_digits(c, 1, 2, &v) && (t->tm.tm_mday = (int)v, true);
	case 'H': return read_digits(c, 1, 2, &v) && (t->tm.tm_hour = (int)v, true);
	case 'M': return read_digits(c, 1, 2, &v) && (t->tm.tm_min = (int)v, true);
	case 'S': return read_digits(c, 1, 2, &v) && (t->tm.tm_sec = (int)v, true);
	case 'f': read_fraction_field(c, start, t); return true;
	case 'Z':
	case 'z': return read_zone(c, &t->offset_min, why, whylen);
	case 's': return (t->is_epoch = true) && read_epoch(c, &t->epoch);
	case '%': return c->p < c->end && *c->p++ == '%';
	}
	snprintf(why, whylen, "unsupported conversion %%%c in timestamp format", conv);
	return false;
}

static bool leap_year(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* timegm() would take 2023-02-29 for March 1st and 24:00 for the next day. */
static bool valid_tm(const struct tm *tm)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	long year = tm->tm_year + 1900L;

	if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1)
		return false;
	if (tm->tm_mday > days[tm->tm_mon] + (tm->tm_mon == 1 && leap_year(year)))
		return false;
	return tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;	/* a leap second */
}

/* timegm() of the minute, remembered: a log's lines mostly share it. */
static time_t minute_start(const struct tm *tm)
{
	static __thread struct tm last;
	static __thread time_t last_secs;
	static __thread bool known;
	struct tm minute = *tm;

	if (known && tm->tm_min == last.tm_min && tm->tm_hour == last.tm_hour &&
	    tm->tm_mday == last.tm_mday && tm->tm_mon == last.tm_mon && tm->tm_year == last.tm_year)
		return last_secs;
	minute.tm_sec = 0;
	last = minute;
	last_secs = timegm(&minute);
	known = true;
	return last_secs;
}

static bool no_match(const char *format, const char *s, size_t len, char *why, size_t whylen)
{
	if (whylen && !why[0])
		snprintf(why, whylen, "timestamp \"%.*s\" does not match format \"%s\"",
			 (int)(len > 40 ? 40 : len), s, format);
	return false;
}

/* Every field of s read as format says. */
static bool parse_fields(const char *format, const char *s, size_t len, struct parsed_time *t,
			 char *why, size_t whylen)
{
	struct cursor c = { s, s + len };

	memset(t, 0, sizeof(*t));
	t->tm.tm_mday = 1;
	for (const char *f = format; *f; f++) {
		if (*f == '%' && f[1]) {
			if (!read_field(*++f, &c, s, t, why, whylen))
				return no_match(format, s, len, why, whylen);
		} else if (isspace((unsigned char)*f)) {
			while (c.p < c.end && isspace((unsigned char)*c.p))
				c.p++;
		} else if (c.p >= c.end || *c.p++ != *f)
			return no_match(format, s, len, why, whylen);
	}
	return true;
}

/* The last time read whose text had one fraction: a log's lines mostly
 * share their second, and a text equal to its own but for the fraction's
 * digits reads the same fields, so only the fraction is read again.  (No
 * field looks further than one byte past what it takes, and the byte
 * before the digits, '.' or ',', is among those compared.) */
static __thread struct {
	char format[64], text[64];
	size_t len, frac_at, frac_end;
	double seconds;		/* the time less its fraction, zone applied */
} last_second;

static void remember_second(const char *format, const char *s, size_t len, const struct parsed_time *t,
			    double seconds)
{
	if (t->fractions != 1 || len > sizeof(last_second.text) || strlen(format) >= sizeof(last_second.format))
		return;
	strcpy(last_second.format, format);
	memcpy(last_second.text, s, len);
	last_second.len = len;
	last_second.frac_at = t->frac_at;
	last_second.frac_end = t->frac_end;
	last_second.seconds = seconds;
}

static bool same_second(const char *format, const char *s, size_t len, double *out)
{
	size_t at = last_second.frac_at, end = at, rest = last_second.len - last_second.frac_end;
	struct cursor c;

	if (!at || len < at || memcmp(s, last_second.text, at) || strcmp(format, last_second.format))
		return false;
	while (end < len && isdigit((unsigned char)s[end]))
		end++;
	if (end == at || len - end != rest || memcmp(s + end, last_second.text + last_second.frac_end, rest))
		return false;
	c = (struct cursor){ s + at - 1, s + len };	/* at the '.' */
	*out = last_second.seconds + read_fraction(&c);
	return true;
}

bool ts_parse(const char *format, const char *s, size_t len, double *out, char *why, size_t whylen)
{
	struct parsed_time t;
	double seconds;

	if (whylen)
		why[0] = '\0';	/* a field may say why it failed, else no_match() */
	if (same_second(format, s, len, out))
		return true;
	if (!parse_fields(format, s, len, &t, why, whylen))
		return false;
	if (t.is_epoch) {
		*out = t.epoch;
		return true;
	}
	if (!valid_tm(&t.tm)) {
		snprintf(why, whylen, "timestamp \"%.*s\" is not a valid date and time", (int)(len > 40 ? 40 : len), s);
		return false;
	}
	seconds = (double)(minute_start(&t.tm) + t.tm.tm_sec) - t.offset_min * 60.0;
	remember_second(format, s, len, &t, seconds);
	*out = seconds + t.frac;
	return true;
}

bool ts_from_line(const struct ruleset *rs, const char *s, size_t len, double *out, char *why, size_t whylen)
{
	why[0] = '\0';
	for (size_t i = 0; i < rs->nts; i++) {
		const struct ts_spec *t = &rs->ts[i];
		PCRE2_SIZE *ov;

		if (regex_match(t->re, t->jit, s, len, 0, t->md) <= (int)t->group)
			continue;
		ov = pcre2_get_ovector_pointer(t->md);
		if (ov[2 * t->group] == PCRE2_UNSET)
			continue;
		if (ts_parse(t->format, s + ov[2 * t->group], ov[2 * t->group + 1] - ov[2 * t->group], out, why, whylen))
			return true;
	}
	return false;
}
