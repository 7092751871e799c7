/* split.c - --group on a big plain log file: a second thread reads its later
 * part with a matcher of its own, and its groups are added to the first's.
 *
 * A slow-query log is mostly lines every rule groups, so the two parts
 * share almost nothing until the end.  What the later part writes (matches
 * that went into no group) waits in a temporary file and follows the first
 * part's; its line numbers are counted first, and its rules' occurrences
 * are added to the first part's when it is copied.  The result is the same
 * records in the same order as one thread reading the file (split.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "pgx.h"
#include "logmatch.h"
#include "match.h"
#include "reader.h"
#include "split.h"
#include "unpack.h"

#define SPLIT_MIN_BYTES (32ull << 20)	/* below, a thread saves a few ms */
#define SPLIT_LOOK_BYTES (1u << 20)	/* how far to look for a line starting an entry */
#define COUNT_CHUNK (1u << 20)
/* The later part's share of the file: its thread loads the rules and counts
 * the earlier part's lines first, so it starts 12-22 ms after the first on a
 * 100 MB log and, at half the file, ended ~20 ms after it (median of runs
 * timed part by part); the merge waits for both. */
#define LATER_SHARE 0.49

/* What the earlier part's first lines told of the prefix. */
struct told_prefix {
	enum { WAITING, TOLD, NEVER } state;	/* NEVER: the earlier part was not read */
	bool given;		/* --prefix: the later matcher has it too */
	char *regex, *format;	/* NULL: none */
	unsigned generation;	/* the earlier ruleset's, then */
};

struct later_part {
	struct matcher m;
	const struct matcher *earlier;	/* reads the part before, in the main thread */
	matcher_setup_fn setup;
	const void *setup_arg;
	const char *path;
	unsigned long long from, to;
	size_t max_line;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct told_prefix prefix;	/* under lock */
	unsigned later_generation;	/* of its own prefix when it started reading */
	FILE *records;		/* what it writes, copied after the earlier part's */
	bool read;		/* it read its part (else the earlier's matcher reads it) */
	bool write_failed;	/* to records */
	int write_errno;
	struct part_progress progress;
};

static bool two_cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2;
}

/* No two rules share a name (a copied record finds its rule by it), and
 * none counts occurrences to match only one. */
static bool rules_split(const struct ruleset *rs)
{
	for (size_t i = 0; i < rs->nrules; i++) {
		if (rs->rules[i].occurrence)
			return false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(rs->rules[i].name, rs->rules[j].name))
				return false;
	}
	return true;
}

/* The first line in buf[0..len) that starts at a newline and an entry,
 * whole in buf: its offset, or 0. */
static size_t entry_start(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len), *end;

	for (; nl && (end = memchr(nl + 1, '\n', len - (size_t)(nl + 1 - buf))); nl = end)
		if (reader_plain_start(nl + 1, (size_t)(end - nl - 1)))
			return (size_t)(nl + 1 - buf);
	return 0;
}

/* The file's first line is a plain log line, and one starting an entry
 * lies near where the later part would start: its offset, else 0. */
static unsigned long long split_point(int fd, unsigned long long size)
{
	char *buf = pgx_xmalloc(SPLIT_LOOK_BYTES);
	unsigned long long target = (unsigned long long)((double)size * (1 - LATER_SHARE)), at = 0;
	ssize_t n = pread(fd, buf, SPLIT_LOOK_BYTES, 0);
	const char *nl = n > 0 ? memchr(buf, '\n', (size_t)n) : NULL;

	if (nl && reader_plain_start(buf, (size_t)(nl - buf)) && (n = pread(fd, buf, SPLIT_LOOK_BYTES, (off_t)target)) > 0) {
		size_t off = entry_start(buf, (size_t)n);
		at = off ? target + off : 0;
	}
	free(buf);
	return at;
}

bool split_worth(const struct matcher *m, const char *path, bool follow, struct split_plan *plan)
{
	struct stat st;
	int fd;

	if (!m->groups || !m->only_matching || follow || !strcmp(path, "-") || !rules_split(&m->rules) ||
	    !two_cpus() || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	plan->size = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (unsigned long long)st.st_size : 0;
	plan->at = plan->size >= SPLIT_MIN_BYTES && !unpack_compression(fd) ? split_point(fd, plan->size) : 0;
	close(fd);
	return plan->at > 0;
}

/* Newlines in the first `bytes` bytes of fd, sixteen bytes compared at once. */
static bool count_lines(int fd, unsigned long long bytes, unsigned long *lines)
{
	const bytes16 newline = { '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
				  '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n' };
	char *buf = pgx_xmalloc(COUNT_CHUNK);
	unsigned long long at = 0;
	unsigned long count = 0;
	ssize_t n = 0;

	while (at < bytes && (n = pread(fd, buf, bytes - at < COUNT_CHUNK ? bytes - at : COUNT_CHUNK, (off_t)at)) > 0) {
		size_t i = 0;
		while (i + 16 <= (size_t)n) {
			bytes16 hits = { 0 };	/* each lane counts to 255 at most */
			for (size_t k = 0; k < 255 && i + 16 <= (size_t)n; k++, i += 16) {
				bytes16 v;
				memcpy(&v, buf + i, 16);
				hits -= (bytes16)(v == newline);
			}
			for (size_t lane = 0; lane < 16; lane++)
				count += hits[lane];
		}
		for (; i < (size_t)n; i++)
			count += buf[i] == '\n';
		at += (unsigned long long)n;
	}
	free(buf);
	*lines = count;
	return n >= 0 && at == bytes;
}

static struct told_prefix wait_for_prefix(struct later_part *p)
{
	struct told_prefix told;

	pthread_mutex_lock(&p->lock);
	while (p->prefix.state == WAITING)
		pthread_cond_wait(&p->changed, &p->lock);
	told = p->prefix;
	pthread_mutex_unlock(&p->lock);
	return told;
}

/* The later part is read with the prefix (or none) the earlier was. */
static bool take_prefix(struct matcher *m, const struct told_prefix *told)
{
	char why[200];

	if (told->state != TOLD)
		return false;
	if (told->given)
		return true;
	if (told->regex && !ruleset_set_prefix(&m->rules, told->regex, told->format, why, sizeof(why)))
		return false;
	m->prefix_from = PREFIX_INHERITED;
	return true;
}

static void read_with_prefix(struct later_part *p, unsigned long lines)
{
	struct told_prefix told = wait_for_prefix(p);

	if (!take_prefix(&p->m, &told))
		return;
	p->later_generation = p->m.rules.prefix_generation;
	p->m.tell_progress = &p->progress;
	pgx_output_thread_file(p->records);
	p->write_failed = !match_part(&p->m, p->path, p->from, p->to, lines, false, p->max_line, NULL) ||
			  fflush(p->records) != 0;
	p->write_errno = p->write_failed ? errno : 0;
	pgx_output_thread_file(NULL);
	pgx_output_thread_end();
	p->read = true;
}

/* While the earlier part's first lines are read: the rules loaded, the
 * lines before the later part counted; then its lines read. */
static void *read_later_part(void *arg)
{
	struct later_part *p = arg;
	unsigned long lines = 0;
	int fd = open(p->path, O_RDONLY | O_CLOEXEC);
	bool ready = p->setup(&p->m, p->setup_arg) && fd >= 0 && count_lines(fd, p->from, &lines);

	if (fd >= 0)
		close(fd);
	if (ready)
		read_with_prefix(p, lines);
	return NULL;
}

static void tell_prefix(struct later_part *p, bool read)
{
	const struct matcher *earlier = p->earlier;
	const struct ruleset *rs = &earlier->rules;

	pthread_mutex_lock(&p->lock);
	if (p->prefix.state == WAITING) {
		p->prefix.state = read ? TOLD : NEVER;
		p->prefix.given = earlier->prefix_from == PREFIX_GIVEN;
		p->prefix.regex = rs->has_prefix ? pgx_xstrdup(rs->prefix_regex) : NULL;
		p->prefix.format = rs->has_prefix ? pgx_xstrdup(rs->ts[0].format) : NULL;
		p->prefix.generation = rs->prefix_generation;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
}

static void prefix_known(void *arg)
{
	struct later_part *p = arg;

	tell_prefix(p, true);
}

/* The rule named by a record's "rule" value (escape-free, len bytes). */
static const struct rule *rule_named(const struct ruleset *rs, const char *name, size_t len)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (!strncmp(rs->rules[i].name, name, len) && !rs->rules[i].name[len])
			return &rs->rules[i];
	return NULL;
}

/* Just after `,"key":` in a record pgx wrote, or NULL: the first one is at
 * the top level when no object comes before it, and no string can hold
 * `,"` unescaped. */
static const char *after_key(const char *line, size_t len, const char *key)
{
	const char *at = memmem(line, len, key, strlen(key));

	return at ? at + strlen(key) : NULL;
}

/* A match record of the later part: its occurrence counted on from the
 * earlier part's matches of its rule.  Its "rule" and "occurrence" come
 * before its captures (match.c), the only object in it. */
static bool copy_record(const struct matcher *m, char *line, size_t len)
{
	static const char head[] = "{\"type\":\"match\",";
	const char *name = after_key(line, len, ",\"rule\":\""), *number = after_key(line, len, ",\"occurrence\":");
	const char *name_end = name ? memchr(name, '"', len - (size_t)(name - line)) : NULL;
	const struct rule *r;
	char *rest, *fixed;
	unsigned long long n;
	bool ok;

	if (strncmp(line, head, sizeof(head) - 1) || !name_end || !number || number < name_end ||
	    memchr(name, '\\', (size_t)(name_end - name)) || !(r = rule_named(&m->rules, name, (size_t)(name_end - name))))
		return pgx_emit_raw(line, len);
	n = strtoull(number, &rest, 10);
	fixed = pgx_xmalloc(len + 32);
	memcpy(fixed, line, (size_t)(number - line));
	ok = pgx_emit_raw(fixed, (size_t)(number - line) +
			  (size_t)sprintf(fixed + (number - line), "%llu%.*s", n + r->seen,
					  (int)(len - (size_t)(rest - line)), rest));
	free(fixed);
	return ok;
}

static bool copy_records(const struct matcher *m, FILE *records)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool ok = true;

	rewind(records);
	while (ok && (n = getline(&line, &cap, records)) > 0)
		ok = copy_record(m, line, (size_t)n - (line[n - 1] == '\n'));
	free(line);
	return ok;
}

/* The later part's counts go on from the earlier part's. */
static void add_counts(struct matcher *m, const struct matcher *later)
{
	for (size_t i = 0; i < m->rules.nrules; i++)
		m->rules.rules[i].seen += later->rules.rules[i].seen;
	m->input_errors += later->input_errors;
	if (!m->unread_times.count)
		m->unread_times = later->unread_times;
	else
		m->unread_times.count += later->unread_times.count;
}

static bool start_thread(struct later_part *p)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);	/* signals stay the main thread's: its reads see EINTR */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&p->thread, NULL, read_later_part, p);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc == 0;
}

/* The later part was read as one thread would have read it: else (a
 * settings record in the log changed the prefix, say) m reads it again,
 * and what its thread wrote is dropped (not its warnings). */
static bool read_as_one(const struct matcher *m, const struct later_part *p)
{
	return p->read && m->rules.prefix_generation == p->prefix.generation &&
	       p->m.rules.prefix_generation == p->later_generation;
}

/* After both parts: the later's records, counts and groups join m's. */
static bool join_later_part(struct matcher *m, struct later_part *p)
{
	bool ok = true;

	if (p->write_failed) {
		pgx_error("%s: cannot keep the records of its later part in a temporary file: %s", p->path,
			  strerror(p->write_errno ? p->write_errno : EIO));
		ok = false;
	}
	if (ok)
		ok = copy_records(m, p->records);
	add_counts(m, &p->m);
	groups_merge(m, &p->m);
	matcher_input_done(m, p->path);
	return ok;
}

static void later_part_free(struct later_part *p)
{
	matcher_free(&p->m);
	free(p->prefix.regex);
	free(p->prefix.format);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	if (p->records)
		fclose(p->records);
}

bool match_split(struct matcher *m, matcher_setup_fn setup, const void *setup_arg, const char *path,
		 const struct split_plan *plan, size_t max_line, struct pgx_progress *progress)
{
	struct later_part p = { .earlier = m, .setup = setup, .setup_arg = setup_arg, .path = path,
				.from = plan->at, .to = plan->size, .max_line = max_line,
				.records = tmpfile() };
	bool ok, told;

	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.changed, NULL);
	if (!p.records || !start_thread(&p)) {
		later_part_free(&p);
		return match_input(m, path, false, max_line, progress);
	}
	m->prefix_known.fn = prefix_known;
	m->prefix_known.arg = &p;
	m->later_progress = &p.progress;
	ok = match_part(m, path, 0, plan->at, 0, false, max_line, progress);
	told = !m->prefix_known.fn;	/* else the file could not be opened */
	m->prefix_known.fn = NULL;
	tell_prefix(&p, false);	/* if not yet told: never will be */
	pthread_join(p.thread, NULL);
	m->later_progress = NULL;
	if (read_as_one(m, &p))
		ok = join_later_part(m, &p) && ok;
	else if (ok && told && !pgx_stop_signal)
		ok = match_part(m, path, plan->at, plan->size, m->lines_read, true, max_line, progress);
	later_part_free(&p);
	return ok;
}
