/* state.c - the state directory: per-cluster lock and changeset files */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "pgx.h"
#include "apply.h"

static char *join(const char *a, const char *b)
{
	char *s = pgx_xmalloc(strlen(a) + strlen(b) + 2);

	sprintf(s, "%s/%s", a, b);
	return s;
}

/* --state-dir, $PGX_STATE_DIR, /var/lib/pgx for root, else the XDG state home. */
char *state_dir_resolve(const char *opt)
{
	const char *env = getenv("PGX_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	if (opt && *opt)
		return pgx_xstrdup(opt);
	if (env && *env)
		return pgx_xstrdup(env);
	if (geteuid() == 0)
		return pgx_xstrdup("/var/lib/pgx");
	if (xdg && *xdg)
		return join(xdg, "pgx");
	return join(home && *home ? home : ".", ".local/state/pgx");
}

static bool mkdir_p(const char *path)
{
	char *copy = pgx_xstrdup(path);
	bool ok = true;

	for (char *p = copy + 1; ok && *p; p++)
		if (*p == '/') {
			*p = '\0';
			ok = mkdir(copy, 0700) == 0 || errno == EEXIST;
			*p = '/';
		}
	ok = ok && (mkdir(copy, 0700) == 0 || errno == EEXIST);
	if (!ok) {
		int saved = errno;
		pgx_error("cannot create state directory '%s': %s", copy, strerror(errno));
		errno = saved;
	}
	free(copy);
	return ok;
}

/* ROOT/FINGERPRINT, with its changesets/ folder when create is set. */
char *state_cluster_dir(const char *root, const char *fingerprint, bool create)
{
	char *dir = join(root, fingerprint), *sets = join(dir, "changesets");
	bool ok = !create || mkdir_p(sets);

	free(sets);
	if (!ok) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Start time of a process in clock ticks since boot (field 22 of stat), 0 if gone. */
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		       &start);
	fclose(f);
	return start;
}

static char *hostname(void)
{
	char h[256] = "unknown";

	gethostname(h, sizeof(h) - 1);
	h[sizeof(h) - 1] = '\0';
	return pgx_xstrdup(h);
}

static bool lock_create(const char *path, const char *operation, const char *id)
{
	json_t *j = json_object();
	char *host = hostname(), *text;
	bool ok;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0) {
		free(host);
		json_decref(j);
		return false;
	}
	json_object_set_new(j, "pid", json_integer(getpid()));
	json_object_set_new(j, "host", json_string(host));
	json_object_set_new(j, "started", json_real(pgx_now()));
	json_object_set_new(j, "pid_start", json_integer((json_int_t)proc_start(getpid())));
	json_object_set_new(j, "operation", json_string(operation));
	json_object_set_new(j, "id", id ? json_string(id) : json_null());
	text = json_dumps(j, JSON_COMPACT);
	ok = text && pgx_write_all(fd, text, strlen(text)) && pgx_write_all(fd, "\n", 1) && fsync(fd) == 0;
	close(fd);
	free(text);
	free(host);
	json_decref(j);
	return ok;
}

static void describe_holder(const json_t *h, char *buf, size_t len)
{
	time_t t = (time_t)json_number_value(json_object_get(h, "started"));
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(buf, len, "pid %lld on host '%s' (%s %s since %s)",
		 (long long)json_integer_value(json_object_get(h, "pid")),
		 json_string_value(json_object_get(h, "host")) ?: "?",
		 json_string_value(json_object_get(h, "operation")) ?: "?",
		 json_string_value(json_object_get(h, "id")) ?: "-", when);
}

/* A holder on this host whose process is gone (or whose pid was reused). */
static bool holder_dead(const json_t *h)
{
	char *me = hostname();
	const char *host = json_string_value(json_object_get(h, "host"));
	long pid = (long)json_integer_value(json_object_get(h, "pid"));
	unsigned long long start = (unsigned long long)json_integer_value(json_object_get(h, "pid_start"));
	bool dead = false;

	if (host && !strcmp(host, me) && pid > 0)
		dead = proc_start(pid) == 0 || (start && proc_start(pid) != start);
	free(me);
	return dead;
}

/* 0 locked, 1 held by another live process (reported), -1 error (reported). */
int state_lock(const char *dir, const char *operation, const char *id)
{
	char *path = join(dir, "lock"), holder[512];
	json_error_t jerr;
	json_t *h;
	int rc = -1;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (lock_create(path, operation, id)) {
			rc = 0;
			break;
		}
		if (errno != EEXIST) {
			pgx_error("cannot create lock '%s': %s", path, strerror(errno));
			rc = errno == EACCES ? -2 : -1;
			break;
		}
		if (!(h = json_load_file(path, 0, &jerr))) {
			pgx_error("cluster is locked by '%s', which cannot be read: %s", path, jerr.text);
			pgx_hint("remove it if no pgx-apply is running");
			rc = 1;
			break;
		}
		describe_holder(h, holder, sizeof(holder));
		if (attempt == 0 && holder_dead(h)) {
			pgx_warn("taking over the stale lock of %s: that process is gone", holder);
			unlink(path);
			json_decref(h);
			continue;
		}
		pgx_error("cluster is locked by %s", holder);
		pgx_hint("lock file '%s'", path);
		json_decref(h);
		rc = 1;
		break;
	}
	free(path);
	return rc;
}

void state_unlock(const char *dir)
{
	char *path = join(dir, "lock");

	unlink(path);
	free(path);
}

static void render_text(FILE *f, void *text)
{
	fprintf(f, "%s\n", (const char *)text);
}

/* DIR/changesets/ID.json, whole or not at all, readable by its owner only. */
bool state_save(const char *dir, const struct changeset *cs)
{
	char *sets = join(dir, "changesets"), path[4096];
	json_t *j = changeset_to_json(cs);
	char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	bool ok;

	if (!text)
		pgx_die(PGX_EXIT_INTERNAL, "out of memory");
	snprintf(path, sizeof(path), "%s/%s.json", sets, cs->id);
	ok = pgx_write_atomic(path, 0600, render_text, text);
	if (!ok)
		pgx_error("cannot write changeset '%s': %s", path, strerror(errno));
	free(text);
	json_decref(j);
	free(sets);
	return ok;
}

static int load_file(const char *path, struct changeset *cs)
{
	json_error_t jerr;
	json_t *j;
	bool ok;

	if (access(path, F_OK) != 0)
		return 1;
	if (!(j = json_load_file(path, 0, &jerr))) {
		pgx_error("%s:%d: %s", path, jerr.line, jerr.text);
		return -1;
	}
	ok = changeset_from_json(j, cs);
	json_decref(j);
	if (!ok) {
		pgx_error("%s: not a pgx-apply changeset", path);
		changeset_free(cs);
		return -1;
	}
	return 0;
}

/* 0 loaded, 1 no such changeset, 2 it belongs to another cluster (cs->cluster
 * names it), -1 error. */
int state_load(const char *root, const char *cluster, const char *id, struct changeset *cs)
{
	char path[4096];
	struct dirent *e;
	DIR *d;
	int rc;

	for (const char *s = id; *s; s++)
		if (!strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_", *s))
			return 1;
	snprintf(path, sizeof(path), "%s/%s/changesets/%s.json", root, cluster, id);
	if ((rc = load_file(path, cs)) != 1 || !(d = opendir(root)))
		return rc;
	while (rc == 1 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, cluster))
			continue;
		snprintf(path, sizeof(path), "%s/%s/changesets/%s.json", root, e->d_name, id);
		if ((rc = load_file(path, cs)) == 0)
			rc = 2;
	}
	closedir(d);
	return rc;
}

static int by_created(const void *a, const void *b)
{
	const struct changeset *x = a, *y = b;

	return (x->created > y->created) - (x->created < y->created);
}

static void list_cluster(const char *sets, struct changeset **out, size_t *n, size_t *cap)
{
	char path[4400];
	struct dirent *e;
	DIR *d = opendir(sets);
	size_t len;

	if (!d)
		return;
	while ((e = readdir(d))) {
		len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*out = pgx_xrealloc(*out, *cap * sizeof(**out));
		}
		snprintf(path, sizeof(path), "%s/%s", sets, e->d_name);
		if (load_file(path, &(*out)[*n]) == 0)
			(*n)++;
	}
	closedir(d);
}

/* Every changeset of every cluster under root, oldest first. */
int state_list(const char *root, struct changeset **out, size_t *n)
{
	char sets[4096];
	struct dirent *e;
	size_t cap = 0;
	DIR *d = opendir(root);

	*out = NULL, *n = 0;
	if (!d)
		return errno == ENOENT ? 0 : (pgx_error("cannot read '%s': %s", root, strerror(errno)), -1);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(sets, sizeof(sets), "%s/%s/changesets", root, e->d_name);
		list_cluster(sets, out, n, &cap);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(**out), by_created);
	return 0;
}

/* 20261122T053735Z-3fa9c1: sortable, unique enough, safe as a file name. */
char *state_new_id(void)
{
	unsigned char r[3] = { 0 };
	char buf[96];
	time_t now = time(NULL);
	size_t len;

	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		r[0] = (unsigned char)getpid(), r[1] = (unsigned char)(getpid() >> 8);
	len = strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", gmtime(&now));
	snprintf(buf + len, sizeof(buf) - len, "-%02x%02x%02x", r[0], r[1], r[2]);
	return pgx_xstrdup(buf);
}
