/* reader.c - read one input: plain lines, NDJSON records, csvlog, jsonlog */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "logmatch.h"
#include "match.h"
#include "reader.h"
#include "unpack.h"

/* An entry that may span several lines: a csvlog entry whose quoted message
 * holds newlines, or a stderr line and the tab-led lines continuing it. */
struct csv_pending {
	char *buf;
	size_t len, cap;
	unsigned long first_line;
};

static void csv_append(struct csv_pending *c, const struct pgx_line *line)
{
	if (c->len + line->len + 2 > c->cap) {
		c->cap = (c->len + line->len + 2) * 2;
		c->buf = pgx_xrealloc(c->buf, c->cap);
		/* PCRE2's JIT may read a little past the subject's end */
		memset(c->buf + c->len, 0, c->cap - c->len);
	}
	if (c->len)
		c->buf[c->len++] = '\n';
	memcpy(c->buf + c->len, line->text, line->len);
	c->len += line->len;
	c->buf[c->len] = '\0';
}

/* PostgreSQL writes "\n\t" for a newline inside a stderr message: the
 * entry gets the newline back, without the tab, as csvlog and jsonlog have it. */
static void stderr_append(struct csv_pending *c, const struct pgx_line *line)
{
	struct pgx_line rest = *line;

	if (c->len) {
		rest.text++;
		rest.len--;
	}
	csv_append(c, &rest);
}

static bool match_stderr(struct matcher *m, struct pgx_input *in, struct csv_pending *c)
{
	struct log_source src = { .input = pgx_input_name(in), .lineno = c->first_line };
	size_t len = c->len;

	c->len = 0;
	return matcher_line(m, &src, c->buf, len, NULL, 0);
}

static bool match_pglog(struct matcher *m, struct log_source *src, struct pglog_entry *e)
{
	bool ok;

	src->timestamp = e->timestamp;
	src->pid = e->pid;
	src->sqlstate = e->sqlstate;
	ok = matcher_line(m, src, e->text, strlen(e->text), NULL, 0);
	pglog_entry_free(e);
	return ok;
}

static bool match_csv(struct matcher *m, struct log_source *src, struct csv_pending *c)
{
	struct pglog_entry e = { 0 };

	src->lineno = c->first_line;
	c->len = 0;
	src->format = "csvlog";
	if (pglog_from_csv(c->buf, strlen(c->buf), &e))
		return match_pglog(m, src, &e);
	src->format = NULL;	/* looked like csvlog but is not: a plain line */
	return matcher_line(m, src, c->buf, strlen(c->buf), NULL, 0);
}

static bool match_record(struct matcher *m, struct log_source *src, const struct pgx_line *line, json_t *rec)
{
	const char *type = pgx_rec_type(rec), *text = pgx_rec_str(rec, "line");
	struct pglog_entry e = { 0 };

	if (type && !strcmp(type, "log") && text) {
		src->carrier = rec;
		return matcher_line(m, src, text, json_string_length(json_object_get(rec, "line")),
				    line->text, line->len);
	}
	if (pglog_is_jsonlog(rec)) {
		src->format = "jsonlog";
		pglog_from_jsonlog(rec, &e);
		return match_pglog(m, src, &e);
	}
	return pgx_emit_raw(line->text, line->len);	/* not ours: pass it on */
}

/* What pgx_json_parse_line() looks at first: only a '{' can start a record
 * (a NUL byte, its other concern, made the line plain already). */
static bool may_be_record(const struct pgx_line *line)
{
	size_t i = 0;

	while (i < line->len && (line->text[i] == ' ' || line->text[i] == '\t'))
		i++;
	return i < line->len && line->text[i] == '{';
}

/* plain: never read as a record (one with a NUL byte, already reported) */
static bool handle_line(struct matcher *m, struct pgx_input *in, const struct pgx_line *line,
			bool plain, struct csv_pending *csv, struct csv_pending *entry)
{
	struct log_source src = { .input = pgx_input_name(in), .lineno = line->lineno };
	char err[200];
	json_t *rec;
	bool ok;

	if (entry->len && line->len && line->text[0] == '\t') {
		stderr_append(entry, line);
		return true;
	}
	if (entry->len && !match_stderr(m, in, entry))
		return false;
	if (csv->len) {
		csv_append(csv, line);
		return !pglog_csv_complete(csv->buf, csv->len) || match_csv(m, &src, csv);
	}
	err[0] = '\0';
	if (!plain && may_be_record(line) && (rec = pgx_json_parse_line(line, err, sizeof(err)))) {
		ok = match_record(m, &src, line, rec);
		json_decref(rec);
		return ok;
	}
	if (err[0]) {
		pgx_error("%s:%lu: %s; read as a plain log line", src.input, src.lineno, err);
		m->input_errors++;
	}
	if (pglog_csv_starts(line->text, line->len)) {
		csv->first_line = line->lineno;
		csv_append(csv, line);
		return !pglog_csv_complete(csv->buf, csv->len) || match_csv(m, &src, csv);
	}
	if (m->rules.tab_continuation && line->len) {
		entry->first_line = line->lineno;
		stderr_append(entry, line);
		return true;
	}
	return matcher_line(m, &src, line->text, line->len, NULL, 0);
}

static bool flush_csv(struct matcher *m, struct pgx_input *in, struct csv_pending *csv)
{
	struct log_source src = { .input = pgx_input_name(in) };

	if (!csv->len)
		return true;
	pgx_error("%s:%lu: csvlog entry has an unterminated quoted field", src.input, csv->first_line);
	m->input_errors++;
	return match_csv(m, &src, csv);
}

/* A log file may hold NUL bytes (the zeroed tail a crash can leave): each
 * is read as U+FFFD, so the line is matched and written whole rather than
 * cut at the first one.  A record with one is bad input, read as a plain
 * line.  NULL when the line has none; caller frees. */
static char *nul_as_replacement(struct matcher *m, struct pgx_input *in, struct pgx_line *line)
{
	size_t nuls = 0, n = 0;
	char *buf;

	for (const char *p = line->text; (p = memchr(p, '\0', line->len - (size_t)(p - line->text))); p++)
		nuls++;
	if (!nuls)
		return NULL;
	if (line->text[strspn(line->text, " \t")] == '{') {
		pgx_error("%s:%lu: NUL byte in line; read as a plain log line", pgx_input_name(in), line->lineno);
		m->input_errors++;
	}
	buf = calloc(1, line->len + 2 * nuls + 16);	/* zeroed: PCRE2's JIT reads past the end */
	if (!buf)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < line->len; i++) {
		if (line->text[i])
			buf[n++] = line->text[i];
		else
			memcpy(buf + n, "\xEF\xBF\xBD", 3), n += 3;
	}
	line->text = buf;
	line->len = n;
	return buf;
}

/* The clock is read once per this many lines: cheap beside matching them. */
#define PROGRESS_EVERY_LINES 1024

/* A compressed file's progress is its compressed bytes: that is the size known. */
static void show_progress(struct pgx_progress *p, struct pgx_input *in, struct unpacker *u,
			  unsigned long lines)
{
	if (u)
		pgx_progress_bytes(p, pgx_input_name(in), unpack_compressed_read(u),
				   unpack_compressed_size(u), lines);
	else
		pgx_progress_bytes(p, pgx_input_name(in), pgx_input_bytes(in), pgx_input_size(in), lines);
}

bool match_input(struct matcher *m, const char *path, bool follow, size_t max_line,
		 struct pgx_progress *progress)
{
	struct unpacker *unpacker;
	struct pgx_input *in = unpack_open(path, max_line, &unpacker);
	struct csv_pending csv = { 0 }, entry = { 0 };
	struct pgx_line line;
	char *replaced;
	bool ok = true;
	int got;

	if (!in) {
		m->input_errors++;
		return true;
	}
	pgx_input_follow(in, follow && !unpacker);
	while (ok && (got = pgx_input_next(in, &line)) == 1) {
		if (line.no_newline)
			pgx_warn("%s:%lu: last line has no newline (truncated?)", pgx_input_name(in), line.lineno);
		replaced = nul_as_replacement(m, in, &line);
		ok = handle_line(m, in, &line, replaced != NULL, &csv, &entry);
		free(replaced);
		if (line.lineno % PROGRESS_EVERY_LINES == 0 && pgx_progress_due(progress))
			show_progress(progress, in, unpacker, line.lineno);
	}
	if (ok && entry.len)
		ok = match_stderr(m, in, &entry);
	if (ok)
		ok = flush_csv(m, in, &csv);
	m->input_errors += pgx_input_errors(in);
	free(csv.buf);
	free(entry.buf);
	pgx_input_close(in);
	if (!unpack_end(unpacker, path))
		m->input_errors++;
	return ok;
}
