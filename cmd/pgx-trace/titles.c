/* titles.c - the title a forked child gives itself, read from /proc
 *
 * PostgreSQL names its children (checkpointer, autovacuum launcher, a
 * backend) only by rewriting its argv, never by comm, so the name is in
 * /proc/PID/cmdline once the child has set it.  Reading /proc stays off the
 * event path: a fork only adds the child to a short list; a child that runs
 * a program (exec) or exits before the next poll leaves it unread.  On the
 * poll timer each child left is read until its command line differs from
 * its parent's, and the title is written one poll later, so that an exec
 * racing the read (the new program's argv) drops it instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pgx_trace.h"

#define TITLE_MAX 256		/* bytes of a command line compared and kept */
#define CHILDREN_MAX 1024	/* children followed at once; more are not */
#define GIVE_UP_SECONDS 2.0	/* a child still showing its parent's argv */

struct child {
	pid_t pid, parent;
	double give_up_at;
	char *title;		/* read, written at the next poll */
};

struct titles {
	struct child *children;
	size_t n;
	unsigned long not_followed;
};

struct titles *titles__new(void)
{
	struct titles *tt = calloc(1, sizeof(*tt));

	if (!tt)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	tt->children = pgx_xmalloc(CHILDREN_MAX * sizeof(*tt->children));
	return tt;
}

void titles__free(struct titles *tt)
{
	if (!tt)
		return;
	for (size_t i = 0; i < tt->n; i++)
		free(tt->children[i].title);
	if (tt->not_followed)
		pgx_warn("%lu forked processes were too many to read the titles of", tt->not_followed);
	free(tt->children);
	free(tt);
}

void titles__fork(struct titles *tt, pid_t parent, pid_t child, double now)
{
	if (tt->n == CHILDREN_MAX) {
		tt->not_followed++;
		return;
	}
	tt->children[tt->n++] = (struct child){ child, parent, now + GIVE_UP_SECONDS, NULL };
}

static struct child *find(struct titles *tt, pid_t pid)
{
	for (size_t i = 0; i < tt->n; i++)
		if (tt->children[i].pid == pid)
			return &tt->children[i];
	return NULL;
}

static void forget(struct titles *tt, struct child *c)
{
	free(c->title);
	*c = tt->children[--tt->n];
}

static void write_title(struct merge *m, const struct child *c, double now)
{
	merge__push(m, now, record_title(now, c->pid, c->parent, c->title));
}

void titles__exec(struct titles *tt, pid_t pid)
{
	struct child *c = find(tt, pid);

	if (c)
		forget(tt, c);
}

/* A title read before the exit is the child's own: no exec can follow. */
void titles__exit(struct titles *tt, pid_t pid, struct merge *m, double now)
{
	struct child *c = find(tt, pid);

	if (!c)
		return;
	if (c->title)
		write_title(m, c, now);
	forget(tt, c);
}

/* Its NUL-separated arguments, at most TITLE_MAX bytes; -1 when gone. */
static ssize_t read_cmdline(pid_t pid, char *buf)
{
	char path[40];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, TITLE_MAX)) < 0 && errno == EINTR)
		;
	close(fd);
	return n;
}

/* As ps shows it: arguments joined by spaces, the padding trimmed. */
static char *title_text(char *buf, ssize_t n)
{
	while (n > 0 && (buf[n - 1] == '\0' || buf[n - 1] == ' '))
		n--;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n] = '\0';
	return pgx_xstrdup(buf);
}

/* false when the child is to be forgotten: gone, orphaned or given up on. */
static bool read_title(struct child *c, double now)
{
	char mine[TITLE_MAX + 1], parents[TITLE_MAX + 1];
	ssize_t n = read_cmdline(c->pid, mine), pn = read_cmdline(c->parent, parents);

	if (n <= 0 || pn < 0)
		return false;
	if (n != pn || memcmp(mine, parents, (size_t)n))
		c->title = title_text(mine, n);
	return c->title || now < c->give_up_at;
}

void titles__poll(struct titles *tt, struct merge *m, double now)
{
	size_t i = 0;

	while (i < tt->n) {
		struct child *c = &tt->children[i];
		bool keep = false;

		if (c->title)
			write_title(m, c, now);
		else
			keep = read_title(c, now);
		if (keep)
			i++;
		else
			forget(tt, c);
	}
}
