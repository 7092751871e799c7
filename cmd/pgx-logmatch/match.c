/* match.c - apply the rules to one log line and emit match or log records */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_mask.h"
#include "logmatch.h"
#include "match.h"

void matcher_init(struct matcher *m, bool only_matching, bool group)
{
	memset(m, 0, sizeof(*m));
	m->only_matching = only_matching;
	if (group)
		m->groups = groups_new();
}

void matcher_ready(struct matcher *m)
{
	m->pf = prefilter_new(&m->rules);
	m->cand = pgx_xmalloc(m->rules.nrules ? m->rules.nrules : 1);
	m->skip_unmatchable = m->only_matching && prefilter_can_reject(m->pf);
}

bool matcher_skips(const struct matcher *m, const char *text, size_t len)
{
	return m->skip_unmatchable && !prefilter_any(m->pf, text, len, m->cand);
}

void matcher_free(struct matcher *m)
{
	prefilter_free(m->pf);
	free(m->cand);
	groups_free(m->groups);
	ruleset_free(&m->rules);
}

/* Counted and said once at the end of the input, with the first line and why. */
static void note_unread_time(struct matcher *m, const struct log_source *src, const char *why)
{
	if (!m->unread_times.count++) {
		m->unread_times.first_line = src->lineno;
		snprintf(m->unread_times.first_why, sizeof(m->unread_times.first_why), "%s", why);
	}
}

void matcher_input_done(struct matcher *m, const char *input)
{
	if (m->unread_times.count)
		pgx_warn("%s: %lu line%s carr%s a time pgx could not read (the first, line %lu: %s); "
			 "their ts is the time they were read (ts_source \"read\"), or the carrying record's",
			 input, m->unread_times.count, m->unread_times.count == 1 ? "" : "s",
			 m->unread_times.count == 1 ? "ies" : "y", m->unread_times.first_line,
			 m->unread_times.first_why);
	memset(&m->unread_times, 0, sizeof(m->unread_times));
	m->input_name.name = NULL;	/* its memory goes with the input */
}

/* "13:15:39" near the start: the line has a time, if not one of ours. */
static bool looks_timed(const char *s, size_t len)
{
	const size_t near = 64;

	for (size_t i = 0; i + 8 <= len && i < near; i++)
		if (s[i + 2] == ':' && s[i + 5] == ':' && isdigit((unsigned char)s[i]) &&
		    isdigit((unsigned char)s[i + 1]) && isdigit((unsigned char)s[i + 3]) &&
		    isdigit((unsigned char)s[i + 4]) && isdigit((unsigned char)s[i + 6]) &&
		    isdigit((unsigned char)s[i + 7]))
			return true;
	return false;
}

static const char *resolve_ts(struct matcher *m, const struct log_source *src, const char *text,
			      size_t len, double *ts)
{
	char why[160] = "";
	const char *format = src->ts_format ? src->ts_format : TS_FORMAT_POSTGRES;
	bool own = src->timestamp ? ts_parse(format, src->timestamp, strlen(src->timestamp), ts, why, sizeof(why))
				  : ts_from_line(&m->rules, text, len, ts, why, sizeof(why));

	if (own)
		return "log";
	if (why[0])
		note_unread_time(m, src, why);
	else if (!m->live && m->rules.nts && !src->carrier && looks_timed(text, len))
		note_unread_time(m, src, "a time the rules' timestamp specs do not know");
	if (src->carrier && (*ts = pgx_rec_ts(src->carrier)) >= 0)
		return "record";
	*ts = pgx_now();
	return "read";
}

static void warn_invalid_utf8(struct matcher *m, const struct log_source *src, long bad)
{
	pgx_warn("%s:%lu: invalid UTF-8 at byte %ld, replaced with U+FFFD", src->input, src->lineno, bad + 1);
	m->input_errors++;
}

static json_t *line_string(struct matcher *m, const struct log_source *src, const char *text, size_t len)
{
	long bad;
	json_t *str = pgx_json_text(text, len, &bad);

	if (bad >= 0)
		warn_invalid_utf8(m, src, bad);
	return str;
}

/* Where a record's fields go: a jansson object, or (obj NULL) the record
 * being written field by field with pgx_flat_*.  The field lists below
 * serve both, so the two writers cannot drift apart. */
struct field_sink {
	json_t *obj;
};

static struct field_sink to_flat;	/* obj NULL: pgx_flat_* */

static void sink_str(struct field_sink *k, const char *key, const char *s, size_t len)
{
	if (k->obj)
		json_object_set_new(k->obj, key, json_stringn(s, len));
	else
		pgx_flat_str(key, s, len);
}

static void sink_int(struct field_sink *k, const char *key, long long v)
{
	if (k->obj)
		json_object_set_new(k->obj, key, json_integer((json_int_t)v));
	else
		pgx_flat_int(key, v);
}

static void sink_true(struct field_sink *k, const char *key)
{
	if (k->obj)
		json_object_set_new(k->obj, key, json_true());
	else
		pgx_flat_literal(key, "true");
}

/* The fields of match and log records after "line". */
static void line_fields(struct field_sink *k, const struct log_source *src, size_t input_len,
			const char *ts_source)
{
	sink_str(k, "input", src->input, input_len);
	sink_int(k, "lineno", (long long)src->lineno);
	sink_str(k, "ts_source", ts_source, strlen(ts_source));
	if (src->format)
		sink_str(k, "format", src->format, strlen(src->format));
	if (src->year_inferred && !strcmp(ts_source, "log"))
		sink_true(k, "year_inferred");
	if (src->pid > 0)
		sink_int(k, "pid", src->pid);
	if (src->sqlstate)
		sink_str(k, "sqlstate", src->sqlstate, strlen(src->sqlstate));
}

/* The fields a match record adds before its captures. */
static void match_fields(struct field_sink *k, const struct rule *r)
{
	sink_str(k, "rule", r->name, strlen(r->name));
	sink_int(k, "occurrence", (long long)r->seen);
	if (r->marks_ready)
		sink_true(k, "marks_ready");
}

/* Fields shared by match and log records. */
static json_t *line_record(struct matcher *m, const char *type, const struct log_source *src,
			   const char *text, size_t len)
{
	double ts;
	const char *ts_source = resolve_ts(m, src, text, len, &ts);
	json_t *rec = pgx_record_new(type, ts), *v;
	struct field_sink k = { rec };
	const char *key;

	json_object_set_new(rec, "line", line_string(m, src, text, len));
	line_fields(&k, src, strlen(src->input), ts_source);
	if (src->carrier)	/* keep the carrying log record's context (stream, container...) */
		json_object_foreach((json_t *)src->carrier, key, v)
			if (!json_object_get(rec, key))
				json_object_set(rec, key, v);
	return rec;
}

static json_t *capture_value(const struct rule *r, const char *name, const char *val, size_t len)
{
	char *end;
	double num;

	for (size_t i = 0; i < r->nnumbers; i++)
		if (!strcmp(r->numbers[i], name)) {
			num = strtod(val, &end);
			return end != val ? json_real(num) : json_null();
		}
	return json_stringn(val, len);
}

static bool wanted_capture(const struct rule *r, const char *name)
{
	if (!r->captures)
		return true;
	for (size_t i = 0; i < r->ncaptures; i++)
		if (!strcmp(r->captures[i], name))
			return true;
	return false;
}

static json_t *captures_object(const struct rule *r, const char *text)
{
	uint32_t count, entry_size;
	PCRE2_SPTR table;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);
	json_t *caps = json_object();

	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	for (uint32_t i = 0; i < count; i++, table += entry_size) {
		unsigned group = (unsigned)(table[0] << 8 | table[1]);
		const char *name = (const char *)table + 2;
		if (ov[2 * group] == PCRE2_UNSET || !wanted_capture(r, name))
			continue;
		json_object_set_new(caps, name, capture_value(r, name, text + ov[2 * group],
							      ov[2 * group + 1] - ov[2 * group]));
	}
	return caps;
}

static bool valid_utf8(const char *s, size_t len)
{
	return pgx_utf8_invalid_at(s, len) < 0;
}

/* An input's name is measured once, not on each of its lines. */
static bool input_name_valid(struct matcher *m, const char *input, size_t *len)
{
	if (m->input_name.name != input) {
		m->input_name.name = input;
		m->input_name.len = strlen(input);
		m->input_name.valid_utf8 = valid_utf8(input, m->input_name.len);
	}
	*len = m->input_name.len;
	return m->input_name.valid_utf8;
}

/* line_record()'s fields written field by field (pgx_flat_*), the same
 * bytes; false, with nothing written, when the line needs line_record()
 * itself: a carrier's fields to merge, or a string jansson would refuse. */
static bool flat_line_fields(struct matcher *m, const char *type, const struct log_source *src,
			     const char *text, size_t len)
{
	double ts;
	const char *ts_source;
	size_t input_len;

	if (src->carrier || !valid_utf8(text, len) || !input_name_valid(m, src->input, &input_len))
		return false;
	ts_source = resolve_ts(m, src, text, len, &ts);
	pgx_flat_begin(type, ts);
	pgx_flat_str("line", text, len);
	line_fields(&to_flat, src, input_len, ts_source);
	return true;
}

/* A line no rule matched (every line of a log, without -o). */
static bool emit_log(struct matcher *m, const struct log_source *src, const char *text, size_t len)
{
	if (!flat_line_fields(m, "log", src, text, len))
		return pgx_emit(line_record(m, "log", src, text, len));
	return pgx_flat_emit();
}

/* capture_value() written: a value jansson cannot hold (invalid UTF-8,
 * infinity) leaves the key out, as json_object_set_new() of NULL does. */
static void flat_capture(const struct rule *r, const char *name, const char *val, size_t len)
{
	char *end;
	double num;

	for (size_t i = 0; i < r->nnumbers; i++)
		if (!strcmp(r->numbers[i], name)) {
			num = strtod(val, &end);
			if (end == val)
				pgx_flat_literal(name, "null");
			else if (isfinite(num))
				pgx_flat_real(name, num);
			return;
		}
	if (valid_utf8(val, len))
		pgx_flat_str(name, val, len);
}

/* PCRE2's name table, sorted: a name twice (?J) would be one key in jansson. */
static bool names_unique(PCRE2_SPTR table, uint32_t count, uint32_t entry_size)
{
	for (uint32_t i = 1; i < count; i++)
		if (!strcmp((const char *)table + i * entry_size + 2, (const char *)table + (i - 1) * entry_size + 2))
			return false;
	return true;
}

/* captures_object() written (the rule's names are unique). */
static void flat_captures(const struct rule *r, const char *text)
{
	uint32_t count, entry_size;
	PCRE2_SPTR table;
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);

	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	pgx_flat_object("captures");
	for (uint32_t i = 0; i < count; i++, table += entry_size) {
		unsigned group = (unsigned)(table[0] << 8 | table[1]);
		const char *name = (const char *)table + 2;
		if (ov[2 * group] == PCRE2_UNSET || !wanted_capture(r, name))
			continue;
		flat_capture(r, name, text + ov[2 * group], ov[2 * group + 1] - ov[2 * group]);
	}
	pgx_flat_close();
}

/* emit_match()'s record written field by field; false (nothing written)
 * when it needs jansson. */
static bool flat_match(struct matcher *m, const struct rule *r, const struct log_source *src,
		       const char *text, size_t len)
{
	uint32_t count, entry_size;
	PCRE2_SPTR table;

	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &count);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	if (!names_unique(table, count, entry_size) || !valid_utf8(r->name, strlen(r->name)) ||
	    !flat_line_fields(m, "match", src, text, len))
		return false;
	match_fields(&to_flat, r);
	flat_captures(r, text);
	return true;
}

static bool emit_match(struct matcher *m, const struct rule *r, const struct log_source *src,
		       const char *text, size_t len)
{
	json_t *rec;

	if (flat_match(m, r, src, text, len))
		return pgx_flat_emit();
	rec = line_record(m, "match", src, text, len);
	match_fields(&(struct field_sink){ rec }, r);
	json_object_set_new(rec, "captures", captures_object(r, text));
	return pgx_emit(rec);
}

/* text is valid UTF-8 (match_valid), which a rule's regex is compiled to
 * count on. */
static int rule_match(const struct rule *r, const char *text, size_t len)
{
	return regex_match(r->re, r->jit, text, len, PCRE2_NO_UTF_CHECK, r->md);
}

/* 1 matched (and emitted), 0 no match, -1 write error */
static int try_rule(struct matcher *m, size_t i, const struct log_source *src, const char *text, size_t len)
{
	struct rule *r = &m->rules.rules[i];
	int rc = rule_match(r, text, len);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		pgx_warn("%s:%lu: rule \"%s\": %s", src->input, src->lineno, r->name, msg);
		return 0;
	}
	r->seen++;
	if (r->group && m->groups && groups_add(m, i, src, text, len))
		return 1;
	if (r->occurrence && (long)r->seen != r->occurrence)
		return 0;
	return emit_match(m, r, src, text, len) ? 1 : -1;
}

/* An NDJSON log record that matched nothing goes on unchanged, unless its
 * line had a password masked. */
static bool pass_on(const struct log_source *src, const char *text, size_t len, bool masked,
		    const char *raw, size_t raw_len)
{
	json_t *rec;

	if (!masked)
		return pgx_emit_raw(raw, raw_len);
	rec = json_copy((json_t *)src->carrier);
	json_object_set_new(rec, "line", pgx_json_text(text, len, NULL));
	return pgx_emit(rec);
}

static bool match_rules(struct matcher *m, const struct log_source *src, const char *text, size_t len,
			size_t candidates, bool masked, const char *raw, size_t raw_len)
{
	int matched = 0, rc;

	for (size_t i = 0; candidates && i < m->rules.nrules; i++) {
		if (!m->cand[i])
			continue;
		candidates--;
		if ((rc = try_rule(m, i, src, text, len)) < 0)
			return false;
		matched += rc;
		if (rc && m->rules.rules[i].final)
			break;
	}
	if (matched || m->only_matching)
		return true;
	if (raw)
		return pass_on(src, text, len, masked, raw, raw_len);
	return emit_log(m, src, text, len);
}

/* A rule runs on valid UTF-8: an invalid byte would end a capture such as
 * (?<message>.*) early, so a candidate line is first repaired (U+FFFD).
 * candidates: prefilter_scan() of text, already in m->cand. */
static bool match_valid(struct matcher *m, const struct log_source *src, const char *text, size_t len,
			size_t candidates, bool masked, const char *raw, size_t raw_len)
{
	long bad = candidates ? pgx_utf8_invalid_at(text, len) : -1;
	char *clean;
	bool ok;

	if (bad < 0)
		return match_rules(m, src, text, len, candidates, masked, raw, raw_len);
	warn_invalid_utf8(m, src, bad);
	clean = pgx_utf8_sanitize(text, len, &len);
	candidates = prefilter_scan(m->pf, clean, len, m->cand);
	ok = match_rules(m, src, clean, len, candidates, masked, NULL, 0);
	free(clean);
	return ok;
}

/* The rules see the line with its passwords already masked, so that no
 * record (line, captures, group key or example) can carry one.  One scan
 * of the line says both whether it can be skipped (matcher_skips()) and
 * which rules are its candidates; a masked line is scanned again. */
bool matcher_line(struct matcher *m, const struct log_source *src, const char *text, size_t len,
		  const char *raw, size_t raw_len)
{
	size_t masked_len, candidates = prefilter_scan(m->pf, text, len, m->cand);
	char *masked;
	bool ok;

	if (m->skip_unmatchable && !candidates)
		return true;
	masked = pgx_mask_secrets(text, len, &masked_len);
	if (!masked)
		return match_valid(m, src, text, len, candidates, false, raw, raw_len);
	candidates = prefilter_scan(m->pf, masked, masked_len, m->cand);
	ok = match_valid(m, src, masked, masked_len, candidates, true, raw, raw_len);
	free(masked);
	return ok;
}
