/* syslog.c - PostgreSQL's log through syslog and Heroku's logplex.
 *
 * With log_destination = syslog PostgreSQL numbers its messages and splits
 * a long or multi-line one into parts (syslog_sequence_numbers,
 * syslog_split_messages): "[3-1] first line", "[3-2] #011second line"
 * (rsyslog writes the tab as #011).  The syslog header gives the time,
 * without a year ("Feb 11 13:15:39 host postgres[1234]: ") or as RFC 3339
 * (rsyslog's high-precision format; RFC 5424, as logplex drains write
 * it).  Heroku Postgres writes "app[postgres.1234]: [DATABASE] [3-1] " or
 * "postgres.1234 - [DATABASE] [3-1] " after it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "pgx.h"
#include "logmatch.h"
#include "syslog.h"

#define FRAME_RE \
	"^(?:<\\d{1,3}>\\d{0,2} ?)?" \
	"(?:(?<bsd>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d)" \
	"|(?<iso>\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)?)) " \
	"[^\\[\\n]{0,200}?(?:\\[(?<heroku>postgres\\.)?(?<pid>\\d+)\\]:|(?<heroku5424>postgres\\.)(?<pid5424>\\d+) - )" \
	" *(?:\\[[A-Z0-9_]+\\] )?\\[(?<seq>\\d+)-(?<part>\\d+)\\] *"

struct framer {
	pcre2_code *re;
	pcre2_match_data *md;
	int bsd, iso, heroku, pid, heroku5424, pid5424, seq, part;
	struct tm reference;	/* a header without a year is not later than this */
};

static int group_number(const pcre2_code *re, const char *name)
{
	return pcre2_substring_number_from_name(re, (PCRE2_SPTR)name);
}

struct framer *framer_new(void)
{
	struct framer *f = pgx_xmalloc(sizeof(*f));
	int errcode;
	PCRE2_SIZE erroff;

	memset(f, 0, sizeof(*f));
	f->re = pcre2_compile((PCRE2_SPTR)FRAME_RE, PCRE2_ZERO_TERMINATED, PCRE2_MATCH_INVALID_UTF, &errcode, &erroff,
			      NULL);
	if (!f->re)
		pgx_die(PGX_EXIT_INTERNAL, "syslog header regex does not compile at %zu", (size_t)erroff);
	pcre2_jit_compile(f->re, PCRE2_JIT_COMPLETE);
	f->md = pcre2_match_data_create_from_pattern(f->re, NULL);
	f->bsd = group_number(f->re, "bsd");
	f->iso = group_number(f->re, "iso");
	f->heroku = group_number(f->re, "heroku");
	f->pid = group_number(f->re, "pid");
	f->heroku5424 = group_number(f->re, "heroku5424");
	f->pid5424 = group_number(f->re, "pid5424");
	f->seq = group_number(f->re, "seq");
	f->part = group_number(f->re, "part");
	framer_set_reference(f, time(NULL));
	return f;
}

void framer_set_reference(struct framer *f, time_t t)
{
	gmtime_r(&t, &f->reference);
}

void framer_free(struct framer *f)
{
	if (!f)
		return;
	pcre2_match_data_free(f->md);
	pcre2_code_free(f->re);
	free(f);
}

/* Only lines that can start a header are tried: "Feb 11 ...",
 * "2026-02-11T...", "<134>1 ...". */
bool may_be_framed(const char *s, size_t len)
{
	if (len < 20)
		return false;
	if (s[0] == '<')
		return true;
	if (s[0] >= 'A' && s[0] <= 'Z')
		return s[3] == ' ';
	return s[4] == '-' && s[10] == 'T';
}

static const char *group_at(const struct framer *f, int n, const char *s, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(f->md);

	if (n <= 0 || ov[2 * n] == PCRE2_UNSET)
		return NULL;
	*len = ov[2 * n + 1] - ov[2 * n];
	return s + ov[2 * n];
}

/* "Feb 11 13:15:39" -> "2026-02-11 13:15:39", the year the latest that does
 * not put the time more than a day after the reference (a file's mtime). */
static bool bsd_time(const struct framer *f, const char *s, char *out, size_t outlen)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *m = NULL;
	int mon, day = atoi(s + 4), year = f->reference.tm_year + 1900;

	for (int i = 0; i < 12 && !m; i++)
		if (!strncmp(months + 3 * i, s, 3))
			m = months + 3 * i;
	if (!m || day < 1 || day > 31)
		return false;
	mon = (int)(m - months) / 3;
	if (mon > f->reference.tm_mon || (mon == f->reference.tm_mon && day > f->reference.tm_mday + 1))
		year--;
	snprintf(out, outlen, "%04d-%02d-%02d %.8s", year, mon + 1, day, s + 7);
	return true;
}

bool frame_parse(struct framer *f, const char *s, size_t len, struct frame *out)
{
	PCRE2_SIZE *ov;
	const char *t;
	size_t n;

	if (!may_be_framed(s, len) || pcre2_match(f->re, (PCRE2_SPTR)s, len, 0, 0, f->md, NULL) <= 0)
		return false;
	memset(out, 0, sizeof(*out));
	ov = pcre2_get_ovector_pointer(f->md);
	if ((t = group_at(f, f->bsd, s, &n))) {
		if (!bsd_time(f, t, out->ts, sizeof(out->ts)))
			return false;
		out->ts_format = TS_FORMAT_POSTGRES;
		out->year_inferred = true;
	} else if ((t = group_at(f, f->iso, s, &n))) {
		snprintf(out->ts, sizeof(out->ts), "%.*s", (int)(n < sizeof(out->ts) ? n : sizeof(out->ts) - 1), t);
		out->ts_format = TS_FORMAT_ISO;
	}
	out->format = group_at(f, f->heroku, s, &n) || group_at(f, f->heroku5424, s, &n) ? "logplex" : "syslog";
	t = group_at(f, f->pid, s, &n);
	if (!t)
		t = group_at(f, f->pid5424, s, &n);
	out->pid = t ? atol(t) : 0;
	out->seq = strtoul(s + ov[2 * f->seq], NULL, 10);
	out->part = strtoul(s + ov[2 * f->part], NULL, 10);
	out->msg = s + ov[1];
	out->msg_len = len - ov[1];
	if (out->part > 1) {	/* the line PostgreSQL continued with a tab */
		if (out->msg_len >= 4 && !memcmp(out->msg, "#011", 4))
			out->msg += 4, out->msg_len -= 4;
		else if (out->msg_len && out->msg[0] == '\t')
			out->msg++, out->msg_len--;
	}
	return true;
}
