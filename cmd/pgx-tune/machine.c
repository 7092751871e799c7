/* machine.c - memory and CPUs of this host as PostgreSQL would get them:
 * an environment override, the cgroup (v2 or v1) limits, /proc/meminfo,
 * the cpuset and the scheduler affinity. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "pgx.h"
#include "tune.h"

#define CG_BASE "sys/fs/cgroup"

struct cgroup_paths {
	char *v2;		/* "0::PATH" */
	char *v1_memory, *v1_cpu, *v1_cpuset;
};

const char *storage_name(enum storage s)
{
	static const char *const names[] = { "ssd", "hdd", "san", "nvme" };

	return names[s];
}

static const char *const db_size_names[] = { "smaller", "similar", "larger" };

const char *db_size_name(enum db_size d)
{
	return db_size_names[d];
}

bool db_size_parse(const char *name, enum db_size *d)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, db_size_names[i]) == 0) {
			*d = (enum db_size)i;
			return true;
		}
	return false;
}

/* "16GB", "16G", "512MB", "1TB", "65536kB"; a bare number is MB, as
 * aza-pg's POSTGRES_MEMORY. */
bool parse_memory(const char *arg, long long *kb)
{
	static const struct { const char *suffix; long long kb; } units[] = {
		{ "", KB_PER_MB }, { "k", 1 }, { "kb", 1 }, { "kib", 1 },
		{ "m", KB_PER_MB }, { "mb", KB_PER_MB }, { "mib", KB_PER_MB },
		{ "g", KB_PER_GB }, { "gb", KB_PER_GB }, { "gib", KB_PER_GB },
		{ "t", KB_PER_GB * 1024 }, { "tb", KB_PER_GB * 1024 }, { "tib", KB_PER_GB * 1024 },
	};
	char *end;
	long long v;

	if (!isdigit((unsigned char)arg[0]))
		return false;
	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || v <= 0)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) == 0) {
			if (v > LLONG_MAX / units[i].kb / 1024)
				return false;
			*kb = v * units[i].kb;
			return true;
		}
	}
	return false;
}

/* Read a small file under the root; NULL if it is not there. */
static char *read_small(const char *root, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", root ? root : "", rel);
	if (!(f = fopen(path, "r")))
		return NULL;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static long long meminfo_total_kb(const char *root)
{
	char buf[8192], *p;

	if (!read_small(root, "proc/meminfo", buf, sizeof(buf)) || !(p = strstr(buf, "MemTotal:")))
		return 0;
	return strtoll(p + strlen("MemTotal:"), NULL, 10);
}

static bool has_controller(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static void cgroup_paths_read(const char *root, struct cgroup_paths *cg)
{
	char buf[8192], *save = NULL;

	if (!read_small(root, "proc/self/cgroup", buf, sizeof(buf)))
		return;
	for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c2 = '\0';
		if (strncmp(line, "0:", 2) == 0 && c1[1] == '\0' && !cg->v2)
			cg->v2 = pgx_xstrdup(c2 + 1);
		if (has_controller(c1 + 1, "memory") && !cg->v1_memory)
			cg->v1_memory = pgx_xstrdup(c2 + 1);
		if (has_controller(c1 + 1, "cpu") && !cg->v1_cpu)
			cg->v1_cpu = pgx_xstrdup(c2 + 1);
		if (has_controller(c1 + 1, "cpuset") && !cg->v1_cpuset)
			cg->v1_cpuset = pgx_xstrdup(c2 + 1);
	}
}

static void cgroup_paths_free(struct cgroup_paths *cg)
{
	free(cg->v2);
	free(cg->v1_memory);
	free(cg->v1_cpu);
	free(cg->v1_cpuset);
}

/* A value read from one cgroup directory: >= 0, -1 for "no limit here"
 * ("max"), -2 when the file is not there. */
typedef long long (*cg_reader)(const char *root, const char *dir);

/* The tightest limit on the way from the cgroup up to the hierarchy's root:
 * a parent's limit binds its children.  A path that is not visible (a
 * container's own namespace shows the host's path) ends at the base. */
static long long cg_walk(const char *root, const char *base, const char *path, cg_reader read)
{
	char dir[PATH_MAX];
	long long best = -2;
	size_t blen;

	snprintf(dir, sizeof(dir), "%s%s", base, path && strcmp(path, "/") ? path : "");
	blen = strlen(base);
	for (;;) {
		long long v = read(root, dir);
		char *slash;

		if (v >= 0 && (best < 0 || v < best))
			best = v;
		else if (v == -1 && best == -2)
			best = -1;
		if (strlen(dir) <= blen || !(slash = strrchr(dir, '/')) || (size_t)(slash - dir) < blen)
			break;
		*slash = '\0';
	}
	return best;
}

static long long read_number_file(const char *root, const char *dir, const char *file)
{
	char rel[PATH_MAX], buf[128];
	char *end;
	long long v;

	snprintf(rel, sizeof(rel), "%s/%s", dir, file);
	if (!read_small(root, rel, buf, sizeof(buf)))
		return -2;
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno || end == buf || v < 0)
		return -1;	/* "max", "-1" */
	return v;
}

static long long read_v2_memory(const char *root, const char *dir)
{
	return read_number_file(root, dir, "memory.max");
}

static long long read_v1_memory(const char *root, const char *dir)
{
	return read_number_file(root, dir, "memory.limit_in_bytes");
}

static long long quota_cpus(long long quota, long long period)
{
	if (quota == -2 || period == -2)
		return -2;
	if (quota <= 0 || period <= 0)
		return -1;
	return (quota + period - 1) / period;
}

static long long read_v2_cpu(const char *root, const char *dir)
{
	char rel[PATH_MAX], buf[128], *end;
	long long quota, period;

	snprintf(rel, sizeof(rel), "%s/cpu.max", dir);
	if (!read_small(root, rel, buf, sizeof(buf)))
		return -2;
	if (!isdigit((unsigned char)buf[0]))
		return -1;	/* "max 100000" */
	quota = strtoll(buf, &end, 10);
	period = strtoll(end, NULL, 10);
	return quota_cpus(quota, period);
}

static long long read_v1_cpu(const char *root, const char *dir)
{
	return quota_cpus(read_number_file(root, dir, "cpu.cfs_quota_us"),
			  read_number_file(root, dir, "cpu.cfs_period_us"));
}

/* "0-3,8,10-11" -> 7; -1 when not a list. */
static long long cpu_list_count(const char *s)
{
	long long n = 0;
	char *end;

	while (*s && *s != '\n') {
		long a, b;

		if (!isdigit((unsigned char)*s))
			return -1;
		a = b = strtol(s, &end, 10);
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		if (b < a)
			return -1;
		n += b - a + 1;
		s = *end == ',' ? end + 1 : end;
	}
	return n > 0 ? n : -1;
}

static long long read_cpuset(const char *root, const char *dir, const char *file)
{
	char rel[PATH_MAX], buf[4096];

	snprintf(rel, sizeof(rel), "%s/%s", dir, file);
	if (!read_small(root, rel, buf, sizeof(buf)))
		return -2;
	return cpu_list_count(buf);
}

static long long read_v2_cpuset(const char *root, const char *dir)
{
	return read_cpuset(root, dir, "cpuset.cpus.effective");
}

static long long read_v1_cpuset(const char *root, const char *dir)
{
	long long n = read_cpuset(root, dir, "cpuset.effective_cpus");

	return n != -2 ? n : read_cpuset(root, dir, "cpuset.cpus");
}

static bool env_memory(struct machine *m)
{
	static const char *const vars[] = { "PGX_MEMORY", "POSTGRES_MEMORY" };
	static const char *const sources[] = { "env:PGX_MEMORY", "env:POSTGRES_MEMORY" };

	for (size_t i = 0; i < 2; i++) {
		const char *v = getenv(vars[i]);

		if (!v || !*v)
			continue;
		if (!parse_memory(v, &m->memory_kb))
			pgx_usage_error("invalid memory size \"%s\" in %s (use e.g. 16GB, or a number of MB)",
					v, vars[i]);
		m->memory_source = sources[i];
		return true;
	}
	return false;
}

static bool detect_memory(struct machine *m, const struct cgroup_paths *cg)
{
	long long limit = -1;

	if (env_memory(m))
		return true;
	m->mem_total_kb = meminfo_total_kb(m->root);
	/* a hybrid host lists both; the hierarchy holding memory files wins */
	if (cg->v2 && (limit = cg_walk(m->root, CG_BASE, cg->v2, read_v2_memory)) != -2)
		m->cgroup = "v2", m->cgroup_path = pgx_xstrdup(cg->v2);
	else if (cg->v1_memory &&
		 (limit = cg_walk(m->root, CG_BASE "/memory", cg->v1_memory, read_v1_memory)) != -2)
		m->cgroup = "v1", m->cgroup_path = pgx_xstrdup(cg->v1_memory);
	/* v1 writes "unlimited" as a huge page-aligned number: above MemTotal means none */
	if (limit >= 0 && (m->mem_total_kb == 0 || limit / 1024 < m->mem_total_kb)) {
		m->mem_limit_kb = limit / 1024;
		m->memory_kb = m->mem_limit_kb;
		m->memory_source = m->cgroup[1] == '2' ? "cgroup2" : "cgroup1";
		return m->memory_kb > 0;
	}
	if (m->mem_total_kb > 0) {
		m->memory_kb = m->mem_total_kb;
		m->memory_source = "meminfo";
		return true;
	}
	pgx_error("cannot tell this host's memory: no cgroup limit and no MemTotal in %s/proc/meminfo",
		  m->root ? m->root : "");
	pgx_hint("give it with --memory, e.g. --memory 16GB");
	return false;
}

/* The CPUs the scheduler lets us run on (or, under --root, the online ones). */
static long long base_cpus(const struct machine *m, const char **source)
{
	char buf[4096];
	cpu_set_t set;
	long long n;

	if (m->root) {
		*source = "sysfs";
		return read_small(m->root, "sys/devices/system/cpu/online", buf, sizeof(buf))
			? cpu_list_count(buf) : -1;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0) {
		*source = "affinity";
		return n;
	}
	*source = "sysconf";
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static void take_if_lower(struct machine *m, long long n, const char *source)
{
	if (n > 0 && (m->cpus <= 0 || n < m->cpus))
		m->cpus = (long)n, m->cpus_source = source;
}

static bool detect_cpus(struct machine *m, const struct cgroup_paths *cg)
{
	const char *source = NULL;
	long long n = base_cpus(m, &source);

	take_if_lower(m, n, source);
	if (cg->v2) {
		take_if_lower(m, cg_walk(m->root, CG_BASE, cg->v2, read_v2_cpuset), "cpuset");
		take_if_lower(m, cg_walk(m->root, CG_BASE, cg->v2, read_v2_cpu), "cgroup2");
	}
	if (cg->v1_cpuset)
		take_if_lower(m, cg_walk(m->root, CG_BASE "/cpuset", cg->v1_cpuset, read_v1_cpuset),
			      "cpuset");
	if (cg->v1_cpu) {
		take_if_lower(m, cg_walk(m->root, CG_BASE "/cpu,cpuacct", cg->v1_cpu, read_v1_cpu), "cgroup1");
		take_if_lower(m, cg_walk(m->root, CG_BASE "/cpu", cg->v1_cpu, read_v1_cpu), "cgroup1");
	}
	if (m->cpus > 0)
		return true;
	pgx_error("cannot tell this host's CPUs from %s/proc and %s/sys",
		  m->root ? m->root : "", m->root ? m->root : "");
	pgx_hint("give them with --cpus");
	return false;
}

bool machine_detect(struct machine *m, const struct machine_opts *o)
{
	struct cgroup_paths cg = { 0 };
	bool ok = true;

	m->root = o->root;
	cgroup_paths_read(m->root, &cg);
	if (o->memory_kb > 0)
		m->memory_kb = o->memory_kb, m->memory_source = "option";
	else
		ok = detect_memory(m, &cg);
	if (o->cpus > 0)
		m->cpus = o->cpus, m->cpus_source = "option";
	else
		ok = detect_cpus(m, &cg) && ok;
	cgroup_paths_free(&cg);
	/* pgtune takes whole MB or GB: 6170888kB is typed as 6026MB */
	if (m->memory_kb >= KB_PER_MB)
		m->memory_kb = m->memory_kb / KB_PER_MB * KB_PER_MB;
	m->storage = o->storage >= 0 ? (enum storage)o->storage : STORAGE_SSD;
	m->storage_source = o->storage >= 0 ? "option" : "default";
	m->db_size = o->db_size >= 0 ? (enum db_size)o->db_size : DB_SIZE_SIMILAR;
	m->db_size_source = o->db_size >= 0 ? "option" : "default";
	return ok;
}

void machine_free(struct machine *m)
{
	free(m->cgroup_path);
}

static json_t *kb_bytes(long long kb)
{
	return kb > 0 ? json_integer(kb * 1024) : json_null();
}

bool machine_emit(const struct machine *m, const char *profile)
{
	json_t *rec = pgx_record_new("machine", pgx_now());

	json_object_set_new(rec, "memory_bytes", kb_bytes(m->memory_kb));
	json_object_set_new(rec, "memory_source", json_string(m->memory_source));
	json_object_set_new(rec, "memory_total_bytes", kb_bytes(m->mem_total_kb));
	json_object_set_new(rec, "memory_limit_bytes", kb_bytes(m->mem_limit_kb));
	json_object_set_new(rec, "cgroup", m->cgroup ? json_string(m->cgroup) : json_null());
	json_object_set_new(rec, "cgroup_path", m->cgroup_path ? json_string(m->cgroup_path) : json_null());
	json_object_set_new(rec, "cpus", json_integer(m->cpus));
	json_object_set_new(rec, "cpus_source", json_string(m->cpus_source));
	json_object_set_new(rec, "storage", json_string(storage_name(m->storage)));
	json_object_set_new(rec, "storage_source", json_string(m->storage_source));
	json_object_set_new(rec, "db_size", json_string(db_size_name(m->db_size)));
	json_object_set_new(rec, "db_size_source", json_string(m->db_size_source));
	json_object_set_new(rec, "pg_version", json_integer(m->pg_version));
	json_object_set_new(rec, "pg_version_source", json_string(m->pg_version_source));
	json_object_set_new(rec, "max_connections", json_integer(m->max_connections));
	json_object_set_new(rec, "max_connections_source", json_string(m->max_connections_source));
	json_object_set_new(rec, "profile", json_string(profile));
	json_object_set_new(rec, "root", m->root ? json_string(m->root) : json_null());
	return pgx_emit(rec);
}
