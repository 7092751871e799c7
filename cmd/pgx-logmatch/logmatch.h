/* logmatch.h - rules, timestamps and PostgreSQL log formats for pgx-logmatch */
#ifndef LOGMATCH_H
#define LOGMATCH_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* re on s: by the JIT's own entry point when re was JIT-compiled, which
 * skips pcre2_match()'s checks of its arguments (a sixth of PCRE2's time on
 * a slow log's duration lines), else by the interpreter with options.  The
 * JIT checks no UTF either: re either counts on valid UTF-8 (the rules'
 * regexes, PCRE2_NO_UTF_CHECK) or was compiled with PCRE2_MATCH_INVALID_UTF
 * (a timestamp's, on a raw line), which pcre2_match() does not check for. */
static inline int regex_match(const pcre2_code *re, bool jit, const char *s, size_t len, uint32_t options,
			      pcre2_match_data *md)
{
	if (jit)
		return pcre2_jit_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	return pcre2_match(re, (PCRE2_SPTR)s, len, 0, options, md, NULL);
}

struct ts_spec {
	pcre2_code *re;
	pcre2_match_data *md;
	unsigned group;		/* the group named "ts", else 1 */
	char *format;
	bool jit;		/* re is JIT-compiled */
};

/* group: { by: CAPTURE, normalize: sql|none, measure: CAPTURE, example: CAPTURE,
 *          sum: [CAPTURE...] } */
struct group_spec {
	char *by, *measure, *example;	/* capture names, each may be NULL */
	bool sql;		/* key is the SQL shape of the by capture */
	unsigned by_group, measure_group, example_group;	/* group numbers; 0: none */
	char **sums;		/* captures only added up */
	size_t nsums;
	unsigned *sum_groups;
};

struct rule {
	char *name;
	char *origin;		/* "FILE:LINE" of the rule, for messages */
	pcre2_code *re;
	bool jit;		/* re is JIT-compiled: matched by pcre2_jit_match() */
	pcre2_match_data *md;
	char **captures;	/* NULL: every named group */
	size_t ncaptures;
	char **numbers;		/* captures emitted as JSON numbers */
	size_t nnumbers;
	long occurrence;	/* 0: every match */
	bool marks_ready;
	bool final;		/* a line it matches is not tried on the rules after it */
	unsigned long seen;
	char *literal;		/* a substring every match contains, or NULL */
	size_t literal_len;
	struct group_spec *group;	/* NULL: matches are emitted one by one */
};

struct ruleset {
	struct rule *rules;
	size_t nrules;
	struct ts_spec *ts;
	size_t nts;
	bool tab_continuation;	/* a line starting with a tab (or spaces) continues the last */
	bool has_prefix;	/* ts[0] is a log_line_prefix's (prefix.c) */
	char *prefix_regex;	/* its regex, as given to ruleset_set_prefix() */
	unsigned prefix_generation;	/* counts its changes */
	unsigned prefix_pid_group;	/* its group of %p (or %c, in hex), or 0 */
	bool prefix_pid_hex;
};

/* rules.c */
bool ruleset_load(struct ruleset *rs, const char *path);	/* reports errors */
bool regex_jit_compiled(const pcre2_code *re);
void ruleset_free(struct ruleset *rs);
/* The longest literal run every match of a PCRE2 pattern must contain. */
size_t regex_required_literal(const char *re, char *out, size_t outlen);

/* prefilter.c: which rules can possibly match a line, decided from literals */
struct prefilter;
struct prefilter *prefilter_new(const struct ruleset *rs);
/* Sets cand[i] for rules that may match; returns how many. */
size_t prefilter_scan(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand);
/* Does any rule's literal occur in s?  (cand is scratch.) */
bool prefilter_any(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand);
/* true when a line without any literal can match no rule, even once its
 * secrets are masked and its invalid UTF-8 repaired: every rule has a
 * literal, and none holds a byte those insert. */
bool prefilter_can_reject(const struct prefilter *pf);
/* Over a whole buffer of lines: where the scan first met a literal (len:
 * nowhere).  A literal that lies wholly before that offset would have been
 * met, so the lines that end before it hold none. */
size_t prefilter_first(const struct prefilter *pf, const char *s, size_t len, unsigned char *cand);
void prefilter_free(struct prefilter *pf);

/* timestamp.c */
#define TS_FORMAT_POSTGRES "%Y-%m-%d %H:%M:%S%f %Z"
#define TS_FORMAT_ISO "%Y-%m-%dT%H:%M:%S%f%z"
bool ts_parse(const char *format, const char *s, size_t len, double *out,
	      char *why, size_t whylen);
/* Try every spec on a line; true with *out set on the first that parses. */
bool ts_from_line(const struct ruleset *rs, const char *s, size_t len, double *out,
		  char *why, size_t whylen);

/* prefix.c: log_line_prefix */
char *prefix_regex(const char *prefix, const char **format, char *why, size_t whylen);
char *prefix_infer(const char *line, size_t len, const char **format);
bool ruleset_set_prefix(struct ruleset *rs, const char *regex, const char *format, char *why, size_t whylen);
void ruleset_clear_prefix(struct ruleset *rs);
long prefix_pid(const struct ruleset *rs, const char *s, size_t len);
bool prefix_starts_entry(const struct ruleset *rs, const char *s, size_t len);

/* pglog.c: csvlog, jsonlog and the JSON of managed services */
struct pglog_entry {
	const char *format;	/* "csvlog", "jsonlog", "cnpg", "cloudsql" */
	char *text;		/* "SEVERITY:  message", to match rules against */
	char *timestamp;	/* log_time as PostgreSQL (or the service) wrote it */
	const char *ts_format;	/* of timestamp: TS_FORMAT_POSTGRES or TS_FORMAT_ISO */
	long pid;
	char *sqlstate;		/* NULL when absent or 00000 */
};
bool pglog_is_jsonlog(const json_t *rec);
void pglog_from_jsonlog(const json_t *rec, struct pglog_entry *e);
/* CloudNativePG's {"logger":"postgres","msg":"record","record":{csvlog columns}}
 * and Cloud Logging's LogEntry of a Cloud SQL instance: false if not one. */
bool pglog_from_service_json(const json_t *rec, struct pglog_entry *e);
bool pglog_csv_starts(const char *s, size_t len);
bool pglog_csv_complete(const char *s, size_t len);
bool pglog_from_csv(const char *s, size_t len, struct pglog_entry *e);
void pglog_entry_free(struct pglog_entry *e);

#endif
