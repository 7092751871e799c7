/* reader.c - read one input: plain lines, NDJSON records, csvlog, jsonlog,
 * syslog and logplex, the JSON of managed services */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "pgx.h"
#include "logmatch.h"
#include "match.h"
#include "reader.h"
#include "syslog.h"
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
 * entry gets the newline back, without the tab, as csvlog and jsonlog have it.
 * A log shipper may have turned the tab into spaces: they go as well. */
static void stderr_append(struct csv_pending *c, const struct pgx_line *line)
{
	struct pgx_line rest = *line;

	if (c->len && rest.len && rest.text[0] == '\t') {
		rest.text++;
		rest.len--;
	} else if (c->len) {
		size_t spaces = strspn(rest.text, " ");
		spaces = spaces < rest.len ? spaces : rest.len;
		rest.text += spaces;
		rest.len -= spaces;
	}
	csv_append(c, &rest);
}

/* A tab-led line continues the entry; a space-led one does too unless a
 * log_line_prefix that starts with a space says it starts an entry. */
static bool continues_entry(const struct matcher *m, const struct pgx_line *line)
{
	if (!line->len)
		return false;
	if (line->text[0] == '\t')
		return true;
	return line->text[0] == ' ' && !prefix_starts_entry(&m->rules, line->text, line->len);
}

/* Syslog interleaves the parts of messages that processes write at once:
 * as many entries stay open, each until its process starts another, no
 * part of it came for a while, or the input ends. */
#define FRAMED_OPEN 16
#define FRAMED_WINDOW 256	/* lines */

struct framed_entry {
	struct csv_pending text;
	struct frame head;	/* of the entry's first part (its msg is gone) */
	unsigned long last_line;
};

/* One input's reading state: entries that span lines, and syslog headers. */
struct reader {
	struct matcher *m;
	struct pgx_input *in;
	struct csv_pending csv, entry;
	struct framed_entry framed[FRAMED_OPEN];	/* in the order they started */
	size_t nframed;
	struct framer *framer;
	unsigned skip_wait, skip_backoff;	/* skip_unmatchable()'s */
};

/* A given log_line_prefix's %p (or %c) is the entry's process, for the
 * rules that pair a statement and its duration without a "[%p]". */
static bool match_stderr(struct matcher *m, struct pgx_input *in, struct csv_pending *c)
{
	struct log_source src = { .input = pgx_input_name(in), .lineno = c->first_line };
	size_t len = c->len;

	c->len = 0;
	/* matcher_line() rejects an entry no rule can match all the same:
	 * this spares only prefix_pid()'s regex */
	if (m->rules.prefix_pid_group && matcher_skips(m, c->buf, len))
		return true;
	src.pid = prefix_pid(&m->rules, c->buf, len);
	return matcher_line(m, &src, c->buf, len, NULL, 0);
}

static bool match_pglog(struct matcher *m, struct log_source *src, struct pglog_entry *e)
{
	bool ok;

	src->format = e->format;
	src->timestamp = e->timestamp;
	src->ts_format = e->ts_format;
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
	if (pglog_from_csv(c->buf, strlen(c->buf), &e))
		return match_pglog(m, src, &e);
	src->format = NULL;	/* looked like csvlog but is not: a plain line */
	return matcher_line(m, src, c->buf, strlen(c->buf), NULL, 0);
}

/* A settings record of pgx-poll -s settings in the stream: its
 * log_line_prefix reads the lines after it, unless --prefix gave one. */
static void prefix_from_settings(struct matcher *m, const struct log_source *src, const json_t *rec)
{
	const json_t *settings = json_object_get(rec, "settings"), *s;
	const char *format, *prefix = NULL;
	char why[200], *regex;
	size_t i;

	if (m->prefix_from == PREFIX_GIVEN)
		return;
	json_array_foreach(settings, i, s)
		if (pgx_rec_str(s, "name") && !strcmp(pgx_rec_str(s, "name"), "log_line_prefix"))
			prefix = pgx_rec_str(s, "setting");
	/* one without a time (syslog's, say) has nothing to tell */
	if (!prefix || !(regex = prefix_regex(prefix, &format, why, sizeof(why))))
		return;
	if (ruleset_set_prefix(&m->rules, regex, format, why, sizeof(why)))
		m->prefix_from = PREFIX_SETTINGS;
	else
		pgx_warn("%s:%lu: %s; lines are read without it", src->input, src->lineno, why);
	free(regex);
}

#define PREFIX_INFER_LINES 20

/* No more lines are tried for a prefix: one was found, given, or not needed. */
static bool prefix_settled(const struct matcher *m)
{
	return m->prefix_from != PREFIX_NONE || m->prefix_tries >= PREFIX_INFER_LINES;
}

static void tell_prefix_known(struct matcher *m)
{
	void (*fn)(void *) = m->prefix_known.fn;

	m->prefix_known.fn = NULL;
	if (fn)
		fn(m->prefix_known.arg);
}

/* The first lines whose time the rules cannot read say where the prefix
 * has it (a prefix of the rules' own shape needs nothing). */
static void infer_prefix(struct matcher *m, const struct pgx_line *line)
{
	const char *format;
	char why[160], *regex;
	double ts;

	if (m->prefix_from != PREFIX_NONE || m->prefix_tries >= PREFIX_INFER_LINES || !line->len ||
	    line->text[0] == ' ' || line->text[0] == '\t')
		return;
	m->prefix_tries++;
	if (ts_from_line(&m->rules, line->text, line->len, &ts, why, sizeof(why))) {
		m->prefix_tries = PREFIX_INFER_LINES;
		return;
	}
	if (!(regex = prefix_infer(line->text, line->len, &format)))
		return;
	if (ruleset_set_prefix(&m->rules, regex, format, why, sizeof(why)))
		m->prefix_from = PREFIX_INFERRED;
	free(regex);
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
		pglog_from_jsonlog(rec, &e);
		return match_pglog(m, src, &e);
	}
	if (pglog_from_service_json(rec, &e))
		return match_pglog(m, src, &e);
	if (type && !strcmp(type, "settings"))
		prefix_from_settings(m, src, rec);
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

/* A framed entry (syslog, logplex) reads its time from its own prefix if
 * it has one, else from the header (a year added to a BSD header's). */
static bool match_framed(struct reader *r, size_t i)
{
	struct framed_entry e = r->framed[i];
	struct log_source src = { .input = pgx_input_name(r->in), .lineno = e.text.first_line,
				  .format = e.head.format, .pid = e.head.pid };
	char why[160];
	double ts;
	bool ok;

	memmove(r->framed + i, r->framed + i + 1, (r->nframed - i - 1) * sizeof(*r->framed));
	r->nframed--;
	if (!ts_from_line(&r->m->rules, e.text.buf, e.text.len, &ts, why, sizeof(why))) {
		src.timestamp = e.head.ts;
		src.ts_format = e.head.ts_format;
		src.year_inferred = e.head.year_inferred;
	}
	ok = matcher_line(r->m, &src, e.text.buf, e.text.len, NULL, 0);
	free(e.text.buf);
	return ok;
}

/* The open entries last continued before line `before` (0: all). */
static bool close_framed(struct reader *r, unsigned long before)
{
	for (size_t i = 0; i < r->nframed;)
		if (!before || r->framed[i].last_line < before) {
			if (!match_framed(r, i))
				return false;
		} else
			i++;
	return true;
}

static void frame_append(struct framed_entry *e, const struct frame *f, unsigned long lineno)
{
	struct pgx_line msg = { .text = (char *)f->msg, .len = f->msg_len };

	csv_append(&e->text, &msg);
	e->last_line = lineno;
}

/* A part [N-1] opens an entry (closing its process's last one); a part
 * [N-2]... continues the open entry of its process and number. */
static bool frame_take(struct reader *r, const struct frame *f, unsigned long lineno)
{
	struct framed_entry *e;
	size_t i;

	for (i = 0; i < r->nframed && r->framed[i].head.pid != f->pid; i++)
		;
	if (i < r->nframed && f->part > 1 && r->framed[i].head.seq == f->seq) {
		frame_append(&r->framed[i], f, lineno);
		return true;
	}
	if (i < r->nframed && !match_framed(r, i))
		return false;
	if (r->nframed == FRAMED_OPEN && !match_framed(r, 0))
		return false;
	e = &r->framed[r->nframed++];
	memset(e, 0, sizeof(*e));
	e->head = *f;
	e->text.first_line = lineno;
	frame_append(e, f, lineno);
	return true;
}

/* true: the line was a framed one (taken, or its entry matched) */
static bool take_framed(struct reader *r, const struct pgx_line *line, bool *ok)
{
	struct frame f;

	if (!frame_parse(r->framer, line->text, line->len, &f)) {
		*ok = !r->nframed || close_framed(r, 0);
		return !*ok;
	}
	*ok = frame_take(r, &f, line->lineno) &&
	      (line->lineno <= FRAMED_WINDOW || close_framed(r, line->lineno - FRAMED_WINDOW));
	return true;
}

/* plain: never read as a record (one with a NUL byte, already reported) */
static bool handle_line(struct reader *r, const struct pgx_line *line, bool plain)
{
	struct matcher *m = r->m;
	struct log_source src = { .input = pgx_input_name(r->in), .lineno = line->lineno };
	char err[200];
	json_t *rec;
	bool ok;

	if (r->entry.len && continues_entry(m, line)) {
		stderr_append(&r->entry, line);
		return true;
	}
	if (r->entry.len && !match_stderr(m, r->in, &r->entry))
		return false;
	if (r->csv.len) {
		csv_append(&r->csv, line);
		return !pglog_csv_complete(r->csv.buf, r->csv.len) || match_csv(m, &src, &r->csv);
	}
	if (!plain && take_framed(r, line, &ok))
		return ok;
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
		r->csv.first_line = line->lineno;
		csv_append(&r->csv, line);
		return !pglog_csv_complete(r->csv.buf, r->csv.len) || match_csv(m, &src, &r->csv);
	}
	infer_prefix(m, line);
	if (m->rules.tab_continuation && line->len) {
		r->entry.first_line = line->lineno;
		stderr_append(&r->entry, line);
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

	if (line->nul_free)
		return NULL;
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

/* A line handle_line() would take as a plain one starting an entry of its
 * own: not continuing one (nor maybe continued: see skip_unmatchable()), no
 * record, csvlog entry or syslog header, no NUL byte (caller's). */
static bool plain_start(const char *s, size_t len)
{
	return !(len && (s[0] == ' ' || s[0] == '\t' || s[0] == '{')) && !may_be_framed(s, len) &&
	       !pglog_csv_starts(s, len);
}

/* Whole lines as handle_line() would take them one by one may be passed
 * over unseen: with -o, nothing pending but a stderr entry, and the
 * prefix no longer being inferred. */
static bool may_skip(const struct reader *r)
{
	const struct matcher *m = r->m;

	return m->skip_unmatchable && !r->csv.len && prefix_settled(m);
}

/* Where most lines hold a literal (a slow log) the search finds one in the
 * next line nearly every time and passes over nothing: after such a search
 * the next 1, 2, 4... up to this many lines are not searched first (each
 * is still rejected by itself, in handle_line()). */
#define SKIP_BACKOFF_MAX 16

static bool skip_backs_off(struct reader *r, unsigned long lines)
{
	if (lines) {
		r->skip_backoff = 0;
		return false;
	}
	r->skip_backoff = r->skip_backoff ? 2 * r->skip_backoff : 1;
	if (r->skip_backoff > SKIP_BACKOFF_MAX)
		r->skip_backoff = SKIP_BACKOFF_MAX;
	r->skip_wait = r->skip_backoff;
	return true;
}

/* The fast path of -o, as grep's: the buffer is searched for the rules'
 * literals at once, and the lines before the first one that holds one are
 * passed over, each only looked at where it starts: lines that would each
 * be an entry without a literal, which makes no record.  A line is passed
 * over only when the next does not continue it.  false on a write error
 * (of the entries the first line passed over would have ended). */
static bool skip_unmatchable(struct reader *r, unsigned long *skipped)
{
	const char *buf, *nl, *nul;
	size_t avail = pgx_input_buffered(r->in, &buf), limit, at = 0, end;
	unsigned long lines = 0;

	*skipped = 0;
	if (r->skip_wait) {
		r->skip_wait--;
		return true;
	}
	if (!avail || !may_skip(r))
		return true;
	limit = prefilter_first(r->m->pf, buf, avail, r->m->cand);
	if ((nul = memchr(buf, '\0', limit)))
		limit = (size_t)(nul - buf);
	while (at < limit && (nl = memchr(buf + at, '\n', limit - at))) {
		end = (size_t)(nl - buf);
		if (end + 1 >= avail || buf[end + 1] == ' ' || buf[end + 1] == '\t' ||
		    !plain_start(buf + at, end - at))
			break;
		at = end + 1;
		lines++;
	}
	if (skip_backs_off(r, lines))
		return true;
	if (r->entry.len && !match_stderr(r->m, r->in, &r->entry))
		return false;
	if (r->nframed && !close_framed(r, 0))
		return false;
	pgx_input_consume(r->in, at, lines);
	*skipped = lines;
	return true;
}

/* The thread reading the later part of a file says how far it is; the
 * earlier part's shows both. */
static void tell_part_progress(struct part_progress *pp, struct pgx_input *in, unsigned long lines)
{
	atomic_store_explicit(&pp->bytes, pgx_input_bytes(in), memory_order_relaxed);
	atomic_store_explicit(&pp->lines, lines, memory_order_relaxed);
}

/* The clock is read once per this many lines: cheap beside matching them. */
#define PROGRESS_EVERY_LINES 1024

/* A compressed file's progress is its compressed bytes: that is the size known. */
static void show_progress(struct pgx_progress *p, struct pgx_input *in, struct unpacker *u,
			  unsigned long lines, const struct part_progress *later)
{
	if (later)
		pgx_progress_bytes(p, pgx_input_name(in),
				   pgx_input_bytes(in) + atomic_load_explicit(&later->bytes, memory_order_relaxed),
				   pgx_input_size(in),
				   lines + atomic_load_explicit(&later->lines, memory_order_relaxed));
	else if (u)
		pgx_progress_bytes(p, pgx_input_name(in), unpack_compressed_read(u),
				   unpack_compressed_size(u), lines);
	else
		pgx_progress_bytes(p, pgx_input_name(in), pgx_input_bytes(in), pgx_input_size(in), lines);
}

/* Which part of a file an input is (split.c): all of it; the first part;
 * a part after it read by another matcher, whose counts join the first's;
 * the last part, read by the first part's matcher.  An input's prefix is
 * inferred at its start, and its warnings are summed up at its end. */
enum part { WHOLE, FIRST, LATER_ELSEWHERE, LAST };

/* Every line of in through the matcher; in is closed. */
static bool read_input(struct matcher *m, struct pgx_input *in, struct unpacker *unpacker, const char *path,
		       bool follow, enum part part, struct pgx_progress *progress)
{
	struct reader r = { .m = m, .in = in };
	struct pgx_line line;
	struct stat st;
	char *replaced;
	bool ok = true;
	int got;
	unsigned long skipped = 0, unshown = 0, first_lineno = pgx_input_lines(in);

	if ((part == WHOLE || part == FIRST) && m->prefix_from == PREFIX_INFERRED) {	/* each file may have its own */
		ruleset_clear_prefix(&m->rules);
		m->prefix_from = PREFIX_NONE;
	}
	if (part == WHOLE || part == FIRST)
		m->prefix_tries = 0;
	r.framer = framer_new();
	if (strcmp(path, "-") && stat(path, &st) == 0)
		framer_set_reference(r.framer, st.st_mtime);
	pgx_input_follow(in, follow && !unpacker);
	m->live = !strcmp(path, "-") || (follow && !unpacker);
	while (ok && (got = pgx_input_next(in, &line)) == 1) {
		if (line.no_newline)
			pgx_warn("%s:%lu: last line has no newline (truncated?)", pgx_input_name(in), line.lineno);
		replaced = nul_as_replacement(m, in, &line);
		ok = handle_line(&r, &line, replaced != NULL);
		free(replaced);
		if (m->prefix_known.fn && prefix_settled(m))
			tell_prefix_known(m);
		if (ok)
			ok = skip_unmatchable(&r, &skipped);
		if ((unshown += 1 + skipped) >= PROGRESS_EVERY_LINES) {
			unshown = 0;
			if (m->tell_progress)
				tell_part_progress(m->tell_progress, in, line.lineno + skipped - first_lineno);
			else if (progress && pgx_progress_due(progress))
				show_progress(progress, in, unpacker, line.lineno + skipped, m->later_progress);
		}
	}
	if (ok && r.entry.len)
		ok = match_stderr(m, in, &r.entry);
	if (ok)
		ok = close_framed(&r, 0);
	if (ok)
		ok = flush_csv(m, in, &r.csv);
	tell_prefix_known(m);	/* an input too short to tell */
	if (part == WHOLE || part == LAST)
		matcher_input_done(m, pgx_input_name(in));
	m->lines_read = pgx_input_lines(in);
	m->input_errors += pgx_input_errors(in);
	free(r.csv.buf);
	free(r.entry.buf);
	for (size_t i = 0; i < r.nframed; i++)
		free(r.framed[i].text.buf);
	framer_free(r.framer);
	pgx_input_close(in);
	if (!unpack_end(unpacker, path))
		m->input_errors++;
	return ok;
}

bool match_input(struct matcher *m, const char *path, bool follow, size_t max_line,
		 struct pgx_progress *progress)
{
	struct unpacker *unpacker;
	struct pgx_input *in = unpack_open(path, max_line, &unpacker);

	if (!in) {
		m->input_errors++;
		return true;
	}
	return read_input(m, in, unpacker, path, follow, WHOLE, progress);
}

bool match_part(struct matcher *m, const char *path, unsigned long long from, unsigned long long to,
		unsigned long lines_before, bool last, size_t max_line, struct pgx_progress *progress)
{
	enum part part = from == 0 ? FIRST : last ? LAST : LATER_ELSEWHERE;

	struct pgx_input *in = pgx_input_open(path, max_line);

	if (!in) {
		m->input_errors++;
		return true;
	}
	if (!pgx_input_range(in, from, to, lines_before)) {
		pgx_error("cannot seek in \"%s\"", path);
		m->input_errors++;
		pgx_input_close(in);
		return true;
	}
	return read_input(m, in, NULL, path, false, part, progress);
}

bool reader_plain_start(const char *s, size_t len)
{
	return plain_start(s, len) && !memchr(s, '\0', len);
}
