/* kernel.c - keep pgx-trace's forks, exits, titles and extension file opens
 *
 * PostgreSQL's children are forked and never exec'd, so they have no
 * process span; their names come from pgx-trace's title records.  Of the
 * opens only those of SHAREDIR/extension/ are kept: the CREATE EXTENSIONs.
 */
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "timeline.h"

/* A new zeroed element at the end of *arr. */
static void *append(void *arr, size_t *n, size_t *cap, size_t size)
{
	void **p = arr;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*p = pgx_xrealloc(*p, *cap * size);
	}
	return memset((char *)*p + (*n)++ * size, 0, size);
}

static void take_pid_event(struct pid_event **arr, size_t *n, size_t *cap, long pid, double ts)
{
	struct pid_event *e = append(arr, n, cap, sizeof(**arr));

	e->pid = pid;
	e->ts = ts;
}

static void take_fork(struct kernel_events *k, const json_t *rec, double ts)
{
	take_pid_event(&k->forks, &k->nforks, &k->forks_cap, pgx_rec_int(rec, "child_pid", -1), ts);
	k->forks[k->nforks - 1].parent = pgx_rec_int(rec, "parent_pid", -1);
}

static void take_title(struct kernel_events *k, const json_t *rec, double ts)
{
	const char *title = pgx_rec_str(rec, "title");

	if (!title)
		return;
	take_pid_event(&k->titles, &k->ntitles, &k->titles_cap, pgx_rec_int(rec, "pid", -1), ts);
	k->titles[k->ntitles - 1].title = pgx_xstrdup(title);
}

/* NAME.control, NAME--VERSION.sql, NAME--A--B.sql, NAME--VERSION.control */
static bool parse_ext_file(const char *path, char **name, enum ext_file *kind)
{
	const char *dir = strstr(path, "/extension/"), *base, *dashes, *dot;

	if (!dir || strchr(dir + strlen("/extension/"), '/'))
		return false;
	base = dir + strlen("/extension/");
	dot = strrchr(base, '.');
	if (!dot || dot == base || (strcmp(dot, ".control") && strcmp(dot, ".sql")))
		return false;
	dashes = strstr(base, "--");
	if (!dashes) {
		if (strcmp(dot, ".control"))
			return false;
		*kind = EXT_CONTROL;
		dashes = dot;
	} else if (!strcmp(dot, ".sql") && !strstr(dashes + 2, "--"))
		*kind = EXT_INSTALL;
	else
		*kind = EXT_OTHER;
	*name = pgx_xmalloc((size_t)(dashes - base) + 1);
	memcpy(*name, base, (size_t)(dashes - base));
	(*name)[dashes - base] = '\0';
	return true;
}

static void take_open(struct kernel_events *k, const json_t *rec, double ts)
{
	const char *path = pgx_rec_str(rec, "path");
	struct ext_open *o;
	enum ext_file kind;
	char *name;

	if (!path || pgx_rec_int(rec, "result", -1) < 0 || !parse_ext_file(path, &name, &kind))
		return;
	o = append(&k->opens, &k->nopens, &k->opens_cap, sizeof(*o));
	o->pid = pgx_rec_int(rec, "pid", -1);
	o->ts = ts;
	o->name = name;
	o->kind = kind;
}

void kernel_take_exit(struct kernel_events *k, long pid, double ts)
{
	struct pid_ts e = { pid, ts };

	spill_append(&k->exits, &e, sizeof(e));
}

bool kernel_take(struct kernel_events *k, const json_t *rec, const char *type, double ts)
{
	if (!strcmp(type, "fork"))
		take_fork(k, rec, ts);
	else if (!strcmp(type, "exit"))
		kernel_take_exit(k, pgx_rec_int(rec, "pid", -1), ts);
	else if (!strcmp(type, "title"))
		take_title(k, rec, ts);
	else if (!strcmp(type, "open"))
		take_open(k, rec, ts);
	else
		return false;
	return true;
}

void kernel_free(struct kernel_events *k)
{
	for (size_t i = 0; i < k->ntitles; i++)
		free(k->titles[i].title);
	for (size_t i = 0; i < k->nopens; i++)
		free(k->opens[i].name);
	free(k->forks);
	spill_free(&k->exits);
	free(k->titles);
	free(k->opens);
}
