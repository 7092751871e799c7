/* procs.c - process spans, exec to exit, kept on disk
 *
 * Every exec becomes a process record at the end of the stream, and a
 * stream may hold millions: each span goes to a spill file (spill.c) at its
 * exec and is patched when it ends.  In memory stay the spans still running
 * (by pid), the earliest exec (the subject), and the spans of the programs
 * bounds.c looks for (initdb, pg_ctl, postgres, pgx-docker), which a
 * startup runs a few of.
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"

/* ---- pid -> running span: open addressing, linear probing ---- */

/* Fibonacci hashing: the product's high bits depend on all of the pid's. */
static size_t home_slot(const struct proc_spans *s, long pid)
{
	return (size_t)(((uint64_t)pid * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (s->live_cap - 1);
}

static size_t live_slot(const struct proc_spans *s, long pid)
{
	size_t i = home_slot(s, pid);

	while (s->live[i].used && s->live[i].pid != pid)
		i = (i + 1) & (s->live_cap - 1);
	return i;
}

static struct live_span *live_find(struct proc_spans *s, long pid)
{
	size_t i;

	if (!s->live_cap)
		return NULL;
	i = live_slot(s, pid);
	return s->live[i].used ? &s->live[i] : NULL;
}

static void live_grow(struct proc_spans *s)
{
	struct live_span *old = s->live;
	size_t old_cap = s->live_cap;

	s->live_cap = old_cap ? old_cap * 2 : 64;
	s->live = calloc(s->live_cap, sizeof(*s->live));
	if (!s->live)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			s->live[live_slot(s, old[i].pid)] = old[i];
	free(old);
}

static struct live_span *live_add(struct proc_spans *s, long pid)
{
	struct live_span *l;

	if ((s->nlive + 1) * 2 > s->live_cap)
		live_grow(s);
	l = &s->live[live_slot(s, pid)];
	*l = (struct live_span){ .used = true, .pid = pid };
	s->nlive++;
	return l;
}

/* Backward-shift deletion: the entries after it that probed past its slot
 * move up, so no lookup stops early at the hole. */
static void live_remove(struct proc_spans *s, struct live_span *l)
{
	size_t mask = s->live_cap - 1, hole = (size_t)(l - s->live), j = hole;

	s->live[hole].used = false;
	s->nlive--;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!s->live[j].used)
			return;
		home = home_slot(s, s->live[j].pid);
		if (((j - home) & mask) >= ((j - hole) & mask)) {
			s->live[hole] = s->live[j];
			s->live[j].used = false;
			hole = j;
		}
	}
}

/* ---- the spill entry of an exec ---- */

/* An argv string as spilled: its length, its bytes and the NUL after them. */
static uint32_t spill_arg(struct spill *sp, const char *arg, size_t len)
{
	uint32_t n = (uint32_t)len;

	spill_append(sp, &n, sizeof(n));
	spill_append(sp, arg, len + 1);
	return sizeof(n) + n + 1;
}

/* The head, comm, the argv strings and, when argv has anything else, its
 * JSON text; the head's lengths are known at the end, and patched in. */
static off_t spill_span(struct proc_spans *s, struct span_head *h, const char *comm, const json_t *argv)
{
	off_t at = spill_append(&s->spill, h, sizeof(*h));
	size_t i;
	json_t *a;

	h->comm_len = (uint32_t)strlen(comm);
	spill_append(&s->spill, comm, h->comm_len + 1);
	json_array_foreach(argv, i, a)
		if (json_is_string(a))
			h->argv_len += spill_arg(&s->spill, json_string_value(a), json_string_length(a));
		else
			h->argv_json = true;
	if (h->argv_json) {
		size_t len;
		char *text = pgx_json_dumps(argv, &len);
		h->json_len = (uint32_t)len;
		spill_append(&s->spill, text, len + 1);
		free(text);
	}
	spill_patch(&s->spill, at, h, sizeof(*h));
	return at;
}

/* ---- spans kept in memory ---- */

static void proc_copy(struct proc_span *p, const struct span_head *h, const char *comm, const json_t *argv)
{
	*p = (struct proc_span){ .pid = h->pid, .ppid = h->ppid, .comm = pgx_xstrdup(comm),
				 .argv = argv ? json_deep_copy(argv) : json_array(),
				 .start = h->start, .end = NO_TIME };
}

/* What bounds.c and server_at() look up by name or by pid; a pid-less exec
 * (pid -1) is what a log-timed record's server is looked up with. */
static bool kept_in_memory(const char *comm, long pid)
{
	static const char *const programs[] = { "initdb", "pg_ctl", "postgres", "pgx-docker" };

	for (size_t i = 0; i < sizeof(programs) / sizeof(*programs); i++)
		if (!strcmp(comm, programs[i]))
			return true;
	return pid < 0;
}

static size_t keep(struct timeline *t, const struct span_head *h, const char *comm, const json_t *argv)
{
	if (!kept_in_memory(comm, h->pid))
		return 0;
	GROW(t->procs, t->nprocs, t->procs_cap);
	proc_copy(&t->procs[t->nprocs++], h, comm, argv);
	return t->nprocs;
}

/* The subject is the earliest exec (the first of equal ones). */
static void note_first(struct proc_spans *s, const struct span_head *h, const char *comm, const json_t *argv)
{
	if (s->has_first && h->start >= s->first.start)
		return;
	if (s->has_first) {
		free(s->first.comm);
		json_decref(s->first.argv);
	}
	proc_copy(&s->first, h, comm, argv);
	s->has_first = true;
}

/* The span's end is known: patch it in the spill and forget it. */
static void end_span(struct timeline *t, struct live_span *l)
{
	spill_patch(&t->spans.spill, l->at, &l->head, sizeof(l->head));
	if (l->kept) {
		struct proc_span *p = &t->procs[l->kept - 1];
		p->end = l->head.end;
		p->exited = l->head.exited;
		p->exit_code = l->head.exit_code;
	}
	live_remove(&t->spans, l);
}

void take_exec(struct timeline *t, const json_t *rec, double ts)
{
	struct proc_spans *s = &t->spans;
	struct span_head h;
	struct live_span *prev, *l;
	const char *comm = pgx_rec_str(rec, "comm") ? pgx_rec_str(rec, "comm") : "?";
	json_t *argv = json_object_get(rec, "argv");
	off_t at;

	memset(&h, 0, sizeof(h));	/* padding too: it goes to the file */
	h.start = ts;
	h.end = NO_TIME;
	h.pid = pgx_rec_int(rec, "pid", -1);
	h.ppid = pgx_rec_int(rec, "ppid", -1);
	prev = live_find(s, h.pid);
	if (!json_is_array(argv))
		argv = NULL;
	if (prev) {
		prev->head.end = ts;	/* the image was replaced */
		end_span(t, prev);
	}
	at = spill_span(s, &h, comm, argv);
	l = live_add(s, h.pid);
	l->at = at;
	l->head = h;
	l->kept = keep(t, &h, comm, argv);
	note_first(s, &h, comm, argv);
	s->count++;
}

void take_exit_of(struct timeline *t, long pid, long sig, long code, double ts)
{
	struct live_span *l = live_find(&t->spans, pid);

	if (!l)
		return;		/* not traced, or exited already */
	l->head.end = ts;
	l->head.exited = true;
	l->head.exit_code = sig ? 128 + (int)sig : (int)code;
	end_span(t, l);
}

static void proc_free(struct proc_span *p)
{
	free(p->comm);
	json_decref(p->argv);
}

void procs_free(struct timeline *t)
{
	struct proc_spans *s = &t->spans;

	for (size_t i = 0; i < t->nprocs; i++)
		proc_free(&t->procs[i]);
	free(t->procs);
	if (s->has_first)
		proc_free(&s->first);
	free(s->live);
	spill_free(&s->spill);
}

/* ---- reading the spans back ---- */

void spans_begin(const struct timeline *t, struct span_iter *it)
{
	memset(it, 0, sizeof(*it));
	spill_rewind(&t->spans.spill, &it->r);
}

bool spans_next(struct span_iter *it)
{
	size_t n;

	if (!spill_read(&it->r, &it->head, sizeof(it->head)))
		return false;
	n = it->head.comm_len + 1 + it->head.argv_len + (it->head.argv_json ? it->head.json_len + 1 : 0);
	if (n > it->body_cap) {
		it->body_cap = n * 2;
		it->body = pgx_xrealloc(it->body, it->body_cap);
	}
	if (!spill_read(&it->r, it->body, n))
		pgx_die(PGX_EXIT_INTERNAL, "a temporary file ends in the middle of a span");
	return true;
}

void spans_end(struct span_iter *it)
{
	spill_reader_free(&it->r);
	free(it->body);
	memset(it, 0, sizeof(*it));
}

const char *span_comm(const struct span_iter *it)
{
	return it->body;
}

const char *span_arg(const struct span_iter *it, size_t *cursor)
{
	const char *argv = it->body + it->head.comm_len + 1;
	uint32_t len;

	if (*cursor >= it->head.argv_len)
		return NULL;
	memcpy(&len, argv + *cursor, sizeof(len));
	*cursor += sizeof(len) + len + 1;
	return argv + *cursor - len - 1;
}

json_t *span_argv(const struct span_iter *it)
{
	const char *text = it->body + it->head.comm_len + 1 + it->head.argv_len;
	json_t *argv = json_array();
	size_t cursor = 0;
	const char *arg;
	uint32_t len;

	if (it->head.argv_json) {
		json_decref(argv);
		argv = json_loadb(text, it->head.json_len, JSON_ALLOW_NUL, NULL);
		if (!argv)
			pgx_die(PGX_EXIT_INTERNAL, "an argv does not read back from a temporary file");
		return argv;
	}
	while ((arg = span_arg(it, &cursor))) {
		memcpy(&len, arg - sizeof(len), sizeof(len));
		json_array_append_new(argv, json_stringn(arg, len));
	}
	return argv;
}
