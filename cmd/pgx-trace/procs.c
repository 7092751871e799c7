/* procs.c - the running descendants of a process, from /proc */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx_trace.h"

struct proc {
	pid_t pid, ppid;
};

static bool read_ppid(const char *pid, pid_t *ppid)
{
	char path[64], buf[512], *close_paren;
	FILE *f;
	bool ok = false;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	/* comm may hold spaces and parentheses: parse after the last ')' */
	if (fgets(buf, sizeof(buf), f) && (close_paren = strrchr(buf, ')')))
		ok = sscanf(close_paren + 1, " %*c %d", ppid) == 1;
	fclose(f);
	return ok;
}

static struct proc *list_procs(size_t *n)
{
	struct proc *procs = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t ppid;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]) || !read_ppid(de->d_name, &ppid))
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 512;
			procs = pgx_xrealloc(procs, cap * sizeof(*procs));
		}
		procs[*n].pid = atoi(de->d_name);
		procs[(*n)++].ppid = ppid;
	}
	closedir(d);
	return procs;
}

static bool contains(const pid_t *set, size_t n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (set[i] == pid)
			return true;
	return false;
}

size_t proc_descendants(pid_t root, pid_t **out)
{
	size_t nprocs, n = 0, i;
	struct proc *procs = list_procs(&nprocs);
	pid_t *set = pgx_xmalloc((nprocs + 1) * sizeof(*set));
	bool grew = true;

	set[n++] = root;
	while (grew) {
		grew = false;
		for (i = 0; i < nprocs; i++)
			if (contains(set, n, procs[i].ppid) && !contains(set, n, procs[i].pid)) {
				set[n++] = procs[i].pid;
				grew = true;
			}
	}
	free(procs);
	*out = set;
	return n;
}
