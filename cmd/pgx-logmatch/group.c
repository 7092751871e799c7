/* group.c - --group: the matches of a rule with `group:` summed per key
 * (a capture, or its SQL shape) instead of one match record per line.
 *
 * This is the hot path of a slow-query log: per matching line it costs one
 * hash of the statement, a cache lookup for its shape (pgx_sql_cache), one
 * hash table probe and a few additions.  No JSON is built, no timestamp is
 * parsed (the first and last occurrences keep the start of their line, and
 * the timestamp is read from it at the end), the measure's text is kept as
 * it was written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "pgx_sql.h"
#include "logmatch.h"
#include "match.h"

#define SHAPE_CACHE_ENTRIES 65536
#define TS_KEEP 128		/* bytes of a line kept to find its timestamp in */
#define NO_ZONE SIZE_MAX

struct seen_at {		/* where to find the time of an occurrence */
	char text[TS_KEEP];	/* the line's start, or the entry's time apart from it */
	size_t len;
	size_t iso_len;		/* of the ISO time text starts with, or 0 (iso_time_len) */
	size_t zone_len;	/* of the zone after it, or NO_ZONE (zone_len) */
	const char *format;	/* text is a time in this format, or NULL: a line */
	bool year_inferred;
	double carrier_ts;	/* the carrying record's ts, or -1 */
	double ts;		/* its time once parsed to compare, else NAN */
};

/* Values as written, comma-separated, with room for a NUL after them. */
struct value_texts {
	char *v;
	size_t n, cap;
};

struct group {
	size_t rule;
	uint64_t hash;
	char *key;
	size_t key_len;
	unsigned long count;
	double max;
	/* the values as written, comma-separated: read again for the total and
	 * p95 when the group is written, not kept as doubles beside them (a
	 * fresh page costs more than reading its numbers twice) */
	struct value_texts texts;
	struct value_texts later;	/* the later part's (split.c), after these */
	double *sums;		/* of the spec's sum captures */
	char *example;		/* the example capture of the match with the largest measure */
	size_t example_len;
	struct seen_at first, last;
};

struct groups {
	struct group **tab;	/* open addressing on (rule, key) */
	size_t cap;
	struct group **order;	/* in order of first occurrence */
	size_t n, order_cap;
	struct pgx_sql_cache *shapes;
	struct { double *v; size_t cap; } values;	/* a group's, as it is written */
	struct { char *v; size_t cap; } line;		/* the record being written */
};

struct groups *groups_new(void)
{
	struct groups *g = pgx_xmalloc(sizeof(*g));

	memset(g, 0, sizeof(*g));
	g->shapes = pgx_sql_cache_new(SHAPE_CACHE_ENTRIES);
	return g;
}

void groups_free(struct groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->order[i]->key);
		free(g->order[i]->example);
		free(g->order[i]->texts.v);
		free(g->order[i]->later.v);
		free(g->order[i]->sums);
		free(g->order[i]);
	}
	free(g->order);
	free(g->tab);
	free(g->values.v);
	free(g->line.v);
	pgx_sql_cache_free(g->shapes);
	free(g);
}

static void groups_grow(struct groups *g)
{
	size_t cap = g->cap ? g->cap * 2 : 1024;
	struct group **tab = calloc(cap, sizeof(*tab));

	if (!tab)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	for (size_t i = 0; i < g->n; i++) {
		size_t j = g->order[i]->hash & (cap - 1);
		while (tab[j])
			j = (j + 1) & (cap - 1);
		tab[j] = g->order[i];
	}
	free(g->tab);
	g->tab = tab;
	g->cap = cap;
}

static struct group *group_get(struct groups *g, size_t rule, size_t nsums, const char *key, size_t len,
				uint64_t hash)
{
	struct group *grp;
	size_t j;

	hash ^= (uint64_t)rule * 0x9e3779b97f4a7c15ULL;
	if ((g->n + 1) * 2 > g->cap)
		groups_grow(g);
	for (j = hash & (g->cap - 1); (grp = g->tab[j]); j = (j + 1) & (g->cap - 1))
		if (grp->hash == hash && grp->rule == rule && grp->key_len == len && !memcmp(grp->key, key, len))
			return grp;
	grp = pgx_xmalloc(sizeof(*grp));
	memset(grp, 0, sizeof(*grp));
	grp->rule = rule;
	grp->hash = hash;
	grp->key = pgx_xmalloc(len + 1);
	memcpy(grp->key, key, len);
	grp->key[len] = '\0';
	grp->key_len = len;
	grp->sums = calloc(nsums ? nsums : 1, sizeof(double));
	if (!grp->sums)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	g->tab[j] = grp;
	if (g->n == g->order_cap) {
		g->order_cap = g->order_cap ? 2 * g->order_cap : 256;
		g->order = pgx_xrealloc(g->order, g->order_cap * sizeof(*g->order));
	}
	g->order[g->n++] = grp;
	return grp;
}

/* digits[.digits], as JSON writes a number too: the value, or NAN.  m / 10^k
 * with both exact is correctly rounded, so the same double strtod gives. */
static double plain_decimal(const char *s, size_t len, bool *json_ok)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
					1e11, 1e12, 1e13, 1e14, 1e15 };
	uint64_t m = 0;		/* wraps past 19 digits: read only up to 15 */
	size_t i = 0, point = len;	/* where the '.' is, if any */
	bool ok;

	for (; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)s[i] - '0';
		if (d <= 9)
			m = m * 10 + d;
		else if (s[i] != '.' || point != len || !i)
			break;
		else
			point = i;
	}
	ok = i == len && len && point != len - 1 && len - (point < len) <= 15;
	*json_ok = ok && !(s[0] == '0' && len > 1 && s[1] != '.');
	return ok ? (double)m / pow10[point < len ? len - point - 1 : 0] : NAN;
}

static double measure_value(const char *s, size_t len, bool *json_ok)
{
	char buf[64], *end;
	double v = plain_decimal(s, len, json_ok);

	if (!isnan(v) || !len || len >= sizeof(buf))
		return v;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, &end);
	return end == buf + len && isfinite(v) ? v : NAN;
}

static void texts_append(struct value_texts *t, const char *text, size_t len)
{
	if (t->n + len + 2 > t->cap) {	/* a comma, and the NUL they are read back with */
		t->cap = (t->n + len + 2) * 2;
		t->v = pgx_xrealloc(t->v, t->cap);
	}
	if (t->n)
		t->v[t->n++] = ',';
	memcpy(t->v + t->n, text, len);
	t->n += len;
}

static void push_value(struct group *grp, double v, const char *text, size_t len, bool json_ok)
{
	char num[32];

	if (!json_ok) {		/* "1e3", "007": written again as JSON */
		len = (size_t)snprintf(num, sizeof(num), "%.17g", v);
		text = num;
	}
	texts_append(&grp->texts, text, len);
}

/* Are the bytes of p[0..8) that mask marks 0xff all ASCII digits?  Eight
 * at once: a digit, 0x30-0x39, has the high nibble 3 and keeps it when 6 is
 * added; the bytes not asked about are zeroed first, so that no carry from
 * them reaches one that is. */
static bool digits_where(const char *p, const unsigned char mask_bytes[8])
{
	const uint64_t high = 0xf0f0f0f0f0f0f0f0ULL, threes = 0x3030303030303030ULL, sixes = 0x0606060606060606ULL;
	uint64_t x, mask;

	memcpy(&x, p, 8);
	memcpy(&mask, mask_bytes, 8);
	x &= mask;
	return (x & high) == (threes & mask) && ((x + sixes) & high & mask) == (threes & mask);
}

/* "2026-11-22 10:00:01.500" at the start: such times of one zone sort as
 * text, so most comparisons parse nothing; the rest are parsed.  (Byte 10
 * may be anything: ' ' or 'T'.) */
static size_t iso_time_len(const struct seen_at *at)
{
	static const unsigned char date[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0 },	/* "dddd-dd-" */
				   clock[8] = { 0xff, 0xff, 0, 0xff, 0xff, 0, 0xff, 0xff };	/* "dd?dd:dd", "dd:dd:dd" */
	const char *t = at->text;
	size_t n = 19;		/* "dddd-dd-dd dd:dd:dd" */

	if (at->len < n || t[4] != '-' || t[7] != '-' || t[13] != ':' || t[16] != ':' ||
	    !digits_where(t, date) || !digits_where(t + 8, clock) || !digits_where(t + 11, clock))
		return 0;
	if (n < at->len && t[n] == '.')
		for (n++; n < at->len && t[n] >= '0' && t[n] <= '9'; n++)
			;
	return n;
}

static bool ends_zone(char c)
{
	switch (c) {
	case '\0': case ' ': case ',': case '[': case ']': case ':': case '-':
		return true;
	default:
		return false;
	}
}

/* " UTC" after the ISO time (text is NUL-terminated): the zone's length,
 * or NO_ZONE when no space follows the time. */
static size_t zone_len(const struct seen_at *at)
{
	const char *zone = at->text + at->iso_len + 1, *end = zone;

	if (!at->iso_len || at->iso_len >= at->len || at->text[at->iso_len] != ' ')
		return NO_ZONE;
	while (!ends_zone(*end))	/* strcspn(zone, " ,[]:-") without a call */
		end++;
	return (size_t)(end - zone);
}

static bool same_zone(const struct seen_at *a, const struct seen_at *b)
{
	return a->zone_len != NO_ZONE && a->zone_len == b->zone_len &&
	       !memcmp(a->text + a->iso_len + 1, b->text + b->iso_len + 1, a->zone_len);
}

static void keep_seen_at(struct seen_at *at, const struct log_source *src, const char *text, size_t len)
{
	const char *from = src->timestamp ? src->timestamp : text;
	size_t n = src->timestamp ? strlen(src->timestamp) : len;

	at->len = n < TS_KEEP ? n : TS_KEEP - 1;
	memcpy(at->text, from, at->len);
	at->text[at->len] = '\0';
	at->format = src->timestamp ? (src->ts_format ? src->ts_format : TS_FORMAT_POSTGRES) : NULL;
	at->year_inferred = src->year_inferred;
	at->carrier_ts = src->carrier ? pgx_rec_ts(src->carrier) : -1;
	at->ts = NAN;
	at->iso_len = iso_time_len(at);
	at->zone_len = zone_len(at);
}

static double seen_ts(const struct matcher *m, const struct seen_at *at)
{
	char why[160];
	double ts;
	bool ok = at->format ? ts_parse(at->format, at->text, at->len, &ts, why, sizeof(why))
			     : ts_from_line(&m->rules, at->text, at->len, &ts, why, sizeof(why));

	return ok ? ts : at->carrier_ts;
}

static double seen_ts_once(const struct matcher *m, struct seen_at *at)
{
	if (isnan(at->ts))
		at->ts = seen_ts(m, at);
	return at->ts;
}

/* seen_cmp() when either time is unknown: neither before nor after */
#define SEEN_UNKNOWN 2

/* -1, 0, 1 as a's time is before, equal to or after b's, or SEEN_UNKNOWN
 * (which "< 0" and ">= 0" take as equal) */
static int seen_cmp(const struct matcher *m, struct seen_at *a, struct seen_at *b)
{
	double ta, tb;
	int c;

	if (a->iso_len && a->iso_len == b->iso_len && same_zone(a, b)) {
		c = memcmp(a->text, b->text, a->iso_len);
		return (c > 0) - (c < 0);
	}
	ta = seen_ts_once(m, a);
	tb = seen_ts_once(m, b);
	return ta < 0 || tb < 0 ? SEEN_UNKNOWN : (ta > tb) - (ta < tb);
}

/* first_seen is the earliest and last_seen the latest, whatever the order
 * of the lines (interleaved files, a clock stepped back).  A time known to
 * be no earlier than last_seen is not before first_seen (when both are
 * known, first_seen is no later than last_seen), so a log read in order
 * compares most lines once. */
static void note_seen(const struct matcher *m, struct group *grp, struct seen_at *now)
{
	int vs_last;

	if (!grp->count) {
		grp->first = grp->last = *now;
		return;
	}
	vs_last = seen_cmp(m, now, &grp->last);
	if ((vs_last < 0 || vs_last == SEEN_UNKNOWN) && seen_cmp(m, now, &grp->first) < 0)
		grp->first = *now;
	if (vs_last >= 0)
		grp->last = *now;
}

static void set_example(struct group *grp, const char *s, size_t len)
{
	grp->example = pgx_xrealloc(grp->example, len + 1);
	memcpy(grp->example, s, len);
	grp->example[len] = '\0';
	grp->example_len = len;
}

/* The text of capture number n of the last match, or NULL if it is unset. */
static const char *capture(const struct rule *r, unsigned n, const char *text, size_t *len)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md);

	if (!n || ov[2 * n] == PCRE2_UNSET)
		return NULL;
	*len = ov[2 * n + 1] - ov[2 * n];
	return text + ov[2 * n];
}

/* A sum capture that is missing or not a number adds nothing. */
static void add_sums(struct group *grp, const struct rule *r, const char *text)
{
	const struct group_spec *spec = r->group;

	for (size_t i = 0; i < spec->nsums; i++) {
		size_t len;
		bool json_ok;
		const char *s = capture(r, spec->sum_groups[i], text, &len);
		double v = s ? measure_value(s, len, &json_ok) : NAN;
		if (!isnan(v))
			grp->sums[i] += v;
	}
}

/* The group of a statement: one seen before points to it. */
static struct group *shape_group(struct groups *g, size_t rule, size_t nsums, const char *sql, size_t len,
				 uint64_t hash)
{
	struct pgx_sql_shape *shape = pgx_sql_cache_shape_hashed(g->shapes, sql, len, hash);
	struct group *grp = shape->user;

	if (!grp || grp->rule != rule)
		shape->user = grp = group_get(g, rule, nsums, shape->text, shape->len, shape->hash);
	return grp;
}

bool groups_add(struct matcher *m, size_t rule, const struct log_source *src, const char *text, size_t len)
{
	const struct rule *r = &m->rules.rules[rule];
	const struct group_spec *spec = r->group;
	size_t key_len = 0, ms_len = 0, ex_len = 0;
	const char *key = "", *by = capture(r, spec->by_group, text, &key_len);
	const char *ms = capture(r, spec->measure_group, text, &ms_len);
	const char *ex = capture(r, spec->example_group, text, &ex_len);
	double v = 0;
	bool json_ok = true;
	uint64_t hash = 0;
	struct group *grp;
	struct seen_at now;

	if (spec->sql && by)	/* its cache slot comes in while the rest is read */
		hash = pgx_sql_cache_prefetch(m->groups->shapes, by, key_len);
	if ((spec->by_group && !by) || (spec->measure_group && (!ms || isnan(v = measure_value(ms, ms_len, &json_ok)))))
		return false;	/* no key or nothing to sum: emitted as a match record */
	keep_seen_at(&now, src, text, len);
	if (spec->sql)
		grp = shape_group(m->groups, rule, spec->nsums, by, key_len, hash);
	else {
		key = by ? by : "";
		hash = pgx_hash_bytes(key, key_len);
		grp = group_get(m->groups, rule, spec->nsums, key, key_len, hash);
	}
	add_sums(grp, r, text);
	note_seen(m, grp, &now);
	if (!grp->count || v > grp->max) {
		if (ex)
			set_example(grp, ex, ex_len);
		grp->max = v;
	}
	grp->count++;
	if (spec->measure_group)
		push_value(grp, v, ms, ms_len, json_ok);
	return true;
}

/* ---- a later part of the input, read by another matcher, added ---- */

/* from's values follow into's: taken as they are, not copied, by a group
 * that has none from a later part yet (the one later part of split.c). */
static void append_values(struct group *into, struct group *from)
{
	if (!from->texts.n)
		return;
	if (into->later.n) {
		texts_append(&into->later, from->texts.v, from->texts.n);
		return;
	}
	free(into->later.v);
	into->later = from->texts;
	from->texts = (struct value_texts){ 0 };
}

/* As if from's matches had been added to into one by one after its own:
 * the earliest first, the latest last, the example of the first largest
 * measure.  (Only the sums of sum captures may differ in their last digit:
 * doubles added in another order.) */
static void merge_group(const struct matcher *m, struct group *into, struct group *from, size_t nsums)
{
	if (!into->count) {
		struct group kept = *into;
		*into = *from;
		into->hash = kept.hash;
		into->key = kept.key;
		free(kept.sums);
		from->texts.v = from->example = NULL;
		from->sums = NULL;
		return;
	}
	if (seen_cmp(m, &from->first, &into->first) < 0)
		into->first = from->first;
	if (seen_cmp(m, &from->last, &into->last) >= 0)
		into->last = from->last;
	if (from->max > into->max) {
		free(into->example);
		into->example = from->example;
		into->example_len = from->example_len;
		from->example = NULL;
		into->max = from->max;
	}
	for (size_t i = 0; i < nsums; i++)
		into->sums[i] += from->sums[i];
	into->count += from->count;
	append_values(into, from);
}

void groups_merge(struct matcher *m, struct matcher *later)
{
	for (size_t i = 0; i < later->groups->n; i++) {
		struct group *from = later->groups->order[i];
		size_t nsums = m->rules.rules[from->rule].group->nsums;
		struct group *into = group_get(m->groups, from->rule, nsums, from->key, from->key_len,
					       pgx_hash_bytes(from->key, from->key_len));
		merge_group(m, into, from, nsums);
	}
}

/* ---- at the end: one match_group record per group ---- */

/* t's values into g->values from n on, each added to *total: the count after them. */
static size_t read_values(struct groups *g, struct value_texts *t, size_t n, double *total)
{
	const char *p = t->v;

	if (!t->n)
		return n;
	t->v[t->n] = '\0';
	for (; *p; p += *p == ',') {
		if (n == g->values.cap) {
			g->values.cap = g->values.cap ? 2 * g->values.cap : 1024;
			g->values.v = pgx_xrealloc(g->values.v, g->values.cap * sizeof(double));
		}
		if (!pgx_list_number(&p, &g->values.v[n]))
			break;	/* push_value writes none such */
		*total += g->values.v[n++];
	}
	return n;
}

/* The values' total, added in the order they came, and their 95th
 * percentile by nearest rank, as pgx-report slowlog has it: read from
 * their texts, which are JSON numbers that read back as the doubles they
 * were written from (push_value). */
static double values_total_p95(struct groups *g, struct group *grp, double *total)
{
	size_t n;

	*total = 0;
	n = read_values(g, &grp->later, read_values(g, &grp->texts, 0, total), total);
	return n ? pgx_nearest_rank(g->values.v, n, 0.95) : 0;
}

static void set_seen(json_t *rec, const char *key, double ts)
{
	if (ts >= 0)
		pgx_set_ts(rec, key, ts);
	else
		json_object_set_new(rec, key, json_null());
}

static json_t *group_record(const struct matcher *m, struct group *grp)
{
	const struct rule *r = &m->rules.rules[grp->rule];
	double first = seen_ts(m, &grp->first), last = seen_ts(m, &grp->last);
	json_t *rec = pgx_record_new("match_group", last);

	json_object_set_new(rec, "rule", json_string(r->name));
	json_object_set_new(rec, "by", r->group->by ? json_string(r->group->by) : json_null());
	json_object_set_new(rec, "normalize", json_string(r->group->sql ? "sql" : "none"));
	json_object_set_new(rec, "key", r->group->by ? pgx_json_text(grp->key, grp->key_len, NULL) : json_null());
	json_object_set_new(rec, "count", json_integer((json_int_t)grp->count));
	set_seen(rec, "first_seen", first);
	set_seen(rec, "last_seen", last);
	if (grp->first.year_inferred || grp->last.year_inferred)
		json_object_set_new(rec, "year_inferred", json_true());
	if (grp->example)
		json_object_set_new(rec, "example", pgx_json_text(grp->example, grp->example_len, NULL));
	if (r->group->measure) {
		double total, p95 = values_total_p95(m->groups, grp, &total);
		json_object_set_new(rec, "measure", json_string(r->group->measure));
		json_object_set_new(rec, "total", json_real(total));
		json_object_set_new(rec, "max", json_real(grp->max));
		json_object_set_new(rec, "p95", json_real(p95));
	}
	if (r->group->nsums) {
		json_t *sums = json_object();
		for (size_t i = 0; i < r->group->nsums; i++)
			json_object_set_new(sums, r->group->sums[i], json_real(grp->sums[i]));
		json_object_set_new(rec, "sums", sums);
	}
	return rec;
}

/* The record with "values":[...] spliced in as the values were written:
 * formatting a few hundred thousand numbers through jansson would cost
 * more than matching them did. */
static bool emit_group(const struct matcher *m, struct group *grp)
{
	json_t *rec = group_record(m, grp);
	size_t len, n;
	char *head = pgx_record_dumps(rec, &len), *line;
	struct groups *g = m->groups;
	bool ok;

	json_decref(rec);
	if (!m->rules.rules[grp->rule].group->measure) {
		ok = pgx_emit_raw(head, len);
		free(head);
		return ok;
	}
	if (len + grp->texts.n + grp->later.n + 16 > g->line.cap) {	/* one buffer for every group's */
		g->line.cap = len + grp->texts.n + grp->later.n + 16;
		free(g->line.v);
		g->line.v = pgx_xmalloc(g->line.cap);
	}
	line = g->line.v;
	memcpy(line, head, len - 1);	/* without the closing brace */
	n = len - 1;
	memcpy(line + n, ",\"values\":[", 11);
	n += 11;
	memcpy(line + n, grp->texts.v, grp->texts.n);
	n += grp->texts.n;
	if (grp->later.n) {
		if (grp->texts.n)
			line[n++] = ',';
		memcpy(line + n, grp->later.v, grp->later.n);
		n += grp->later.n;
	}
	memcpy(line + n, "]}", 2);
	n += 2;
	ok = pgx_emit_raw(line, n);
	free(head);
	return ok;
}

/* Without a time read from its lines, a group's first and last seen are
 * null: said, with the count, never left silent. */
static void warn_unread_times(const struct matcher *m)
{
	unsigned long n = 0;
	const struct group *example = NULL;

	if (!m->rules.nts)
		return;		/* timestamp: read, on purpose */
	for (size_t i = 0; i < m->groups->n; i++) {
		const struct group *grp = m->groups->order[i];
		if (seen_ts(m, &grp->first) < 0 || seen_ts(m, &grp->last) < 0)
			n++, example = example ? example : grp;
	}
	if (n)
		pgx_warn("%lu match_group record%s (the first: rule %s, key \"%.40s\") %s a null first_seen or "
			 "last_seen: %s lines carry no time pgx could read", n, n == 1 ? "" : "s",
			 m->rules.rules[example->rule].name, example->key, n == 1 ? "has" : "have",
			 n == 1 ? "its" : "their");
}

bool groups_emit(const struct matcher *m)
{
	warn_unread_times(m);
	for (size_t i = 0; i < m->groups->n; i++)
		if (!emit_group(m, m->groups->order[i]))
			return false;
	return true;
}
