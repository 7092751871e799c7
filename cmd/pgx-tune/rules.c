/* rules.c - the profiles: pgtune's formulas (le0pard/pgtune), the aza-pg
 * entrypoint's auto-configuration, and a conservative subset for servers
 * whose workload nobody has described.  Sizes are kB, floored, as pgtune
 * computes them. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "pgx.h"
#include "tune.h"

#define INT_MAX_D 2147483647.0

/* PostgreSQL's limits (guc.c; 15, or 18 for what is new there), for when the
 * server's pg_settings is not known. */
const struct param_def param_defs[] = {
	{ "max_connections", V_INT, "postmaster", 0, 1, 262143, 0 },
	{ "shared_buffers", V_MEM, "postmaster", 8, 16, 1073741823, 0 },
	{ "effective_cache_size", V_MEM, "user", 8, 1, INT_MAX_D, 0 },
	{ "maintenance_work_mem", V_MEM, "user", 1, 1024, INT_MAX_D, 0 },
	{ "checkpoint_completion_target", V_REAL, "sighup", 0, 0, 1, 0 },
	{ "wal_buffers", V_MEM, "postmaster", 8, -1, 262143, 0 },
	{ "default_statistics_target", V_INT, "user", 0, 1, 10000, 0 },
	{ "random_page_cost", V_REAL, "user", 0, 0, 1e308, 0 },
	{ "effective_io_concurrency", V_INT, "user", 0, 0, 1000, 0 },
	{ "work_mem", V_MEM, "user", 1, 64, INT_MAX_D, 0 },
	{ "huge_pages", V_ENUM, "postmaster", 0, 0, 0, 0 },
	{ "min_wal_size", V_MEM, "sighup", 1024, 2, INT_MAX_D, 0 },
	{ "max_wal_size", V_MEM, "sighup", 1024, 2, INT_MAX_D, 0 },
	{ "max_worker_processes", V_INT, "postmaster", 0, 0, 262143, 0 },
	{ "max_parallel_workers_per_gather", V_INT, "user", 0, 0, 1024, 0 },
	{ "max_parallel_workers", V_INT, "user", 0, 0, 1024, 10 },
	{ "max_parallel_maintenance_workers", V_INT, "user", 0, 0, 1024, 11 },
	{ "jit", V_BOOL, "user", 0, 0, 0, 11 },
	{ "wal_compression", V_ENUM, "superuser", 0, 0, 0, 0 },
	{ "autovacuum_max_workers", V_INT, "postmaster", 0, 1, 262143, 0 },
	{ "autovacuum_work_mem", V_MEM, "sighup", 1, -1, INT_MAX_D, 0 },
	{ "io_method", V_ENUM, "postmaster", 0, 0, 0, 18 },
	{ "io_workers", V_INT, "sighup", 0, 1, 32, 18 },
	{ "wal_level", V_ENUM, "postmaster", 0, 0, 0, 0 },
	{ "max_wal_senders", V_INT, "postmaster", 0, 0, 262143, 0 },
	{ NULL, 0, NULL, 0, 0, 0, 0 },
};

static const char *const profile_names[] = {
	"web", "oltp", "dw", "desktop", "mixed", "auto", "conservative",
};

const char *profile_name(enum profile p)
{
	return profile_names[p];
}

bool profile_parse(const char *name, enum profile *p)
{
	for (size_t i = 0; i < sizeof(profile_names) / sizeof(profile_names[0]); i++)
		if (strcmp(name, profile_names[i]) == 0) {
			*p = (enum profile)i;
			return true;
		}
	return false;
}

/* max_connections when neither the user nor the server says. */
long profile_connections(enum profile p, long long memory_kb)
{
	static const long pgtune[] = { 200, 300, 40, 20, 100 };

	if (p == PROF_AUTO)	/* aza-pg: 80 up to 512MB, 120 below 4GB, 200 from 4GB */
		return memory_kb <= 512 * KB_PER_MB ? 80 : memory_kb < 4 * KB_PER_GB ? 120 : 200;
	return p == PROF_CONSERVATIVE ? 100 : pgtune[p];
}

static const struct param_def *param_find(const char *name)
{
	for (const struct param_def *d = param_defs; d->name; d++)
		if (strcmp(d->name, name) == 0)
			return d;
	pgx_die(PGX_EXIT_INTERNAL, "no parameter \"%s\" in the table", name);
}

struct ctx {
	const struct machine *m;
	enum profile p;
	const char *prefix;	/* rule prefix: pgtune, auto, conservative */
	bool conn_asked;
	struct recs *out;
	char ram[32];		/* the machine's memory, for rationales */
};

__attribute__((format(printf, 4, 5)))
static struct rec *add(struct ctx *c, const char *name, const char *confidence,
		       const char *fmt, ...)
{
	const struct param_def *d = param_find(name);
	struct recs *r = c->out;
	struct rec *x;
	va_list ap;

	if (d->since && c->m->pg_version < d->since)
		return NULL;
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->v = pgx_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	x = &r->v[r->n++];
	memset(x, 0, sizeof(*x));
	x->def = d;
	x->kind = d->kind;
	x->confidence = confidence;
	snprintf(x->rule, sizeof(x->rule), "%s.%s", c->prefix, name);
	va_start(ap, fmt);
	vsnprintf(x->rationale, sizeof(x->rationale), fmt, ap);
	va_end(ap);
	return x;
}

static void add_int(struct ctx *c, const char *name, long long v, const char *conf,
		    const char *why)
{
	struct rec *x = add(c, name, conf, "%s", why);

	if (x)
		x->ival = v;
}

static void add_real(struct ctx *c, const char *name, double v, const char *conf,
		     const char *why)
{
	struct rec *x = add(c, name, conf, "%s", why);

	if (x)
		x->rval = v;
}

static void add_str(struct ctx *c, const char *name, const char *v, const char *conf,
		    const char *why)
{
	struct rec *x = add(c, name, conf, "%s", why);

	if (x)
		x->sval = v;
}

/* Memory in kB, as pgtune writes it: PostgreSQL rounds 3932kB of an
 * 8kB-page parameter to whole pages itself. */
static struct rec *add_mem(struct ctx *c, const char *name, long long kb, const char *conf)
{
	struct rec *x = add(c, name, conf, "%s", "");

	if (x)
		x->ival = kb;
	return x;
}

#define WHY(x, ...) do { if (x) snprintf((x)->rationale, sizeof((x)->rationale), __VA_ARGS__); } while (0)

static const char *storage_confidence(const struct machine *m)
{
	return strcmp(m->storage_source, "option") == 0 ? "high" : "medium";
}

static void rule_connections(struct ctx *c)
{
	const struct machine *m = c->m;
	const char *src = m->max_connections_source;
	char why[256];

	if (strcmp(src, "option") == 0)
		snprintf(why, sizeof(why), "The connection count asked for with --max-connections.");
	else if (strcmp(src, "profile") == 0)
		snprintf(why, sizeof(why), "The %s profile's default connection count; "
			 "give --max-connections for your own, and a pooler such as PgBouncer keeps it low.",
			 profile_name(c->p));
	else
		snprintf(why, sizeof(why), "The server's own value, kept: the connection count is a "
			 "workload decision, changed only with --max-connections.");
	add_int(c, "max_connections", m->max_connections,
		strcmp(src, "profile") == 0 ? "low" : "high", why);
}

/* pgtune: wal_buffers is 3% of shared_buffers, 32kB to 16MB, and 14-16MB rounds up. */
static long long wal_buffers_kb(long long sb_kb)
{
	long long v = 3 * sb_kb / 100;

	if (v > 16 * KB_PER_MB)
		v = 16 * KB_PER_MB;
	if (v > 14 * KB_PER_MB && v < 16 * KB_PER_MB)
		v = 16 * KB_PER_MB;
	return v < 32 ? 32 : v;
}

static void rule_wal_buffers(struct ctx *c, long long sb_kb)
{
	struct rec *x = add_mem(c, "wal_buffers", wal_buffers_kb(sb_kb), "high");

	WHY(x, "3%% of shared_buffers, at most 16MB: PostgreSQL's own automatic size, "
	    "written out so a shared_buffers change carries it along.");
}

static void rule_io_concurrency(struct ctx *c)
{
	static const char *const why[] = {
		"SSDs serve many concurrent reads; 200 lets bitmap heap scans prefetch that deep.",
		"A single spinning disk gains little from prefetching; 2 is the usual value.",
		"A SAN spreads reads over many disks; 300 lets bitmap heap scans use them.",
		"NVMe devices have deep queues; 1000 (PostgreSQL's maximum) lets prefetching use them.",
	};
	static const int eic[] = { 200, 2, 300, 1000 };
	const struct machine *m = c->m;

	add_int(c, "effective_io_concurrency", eic[m->storage], storage_confidence(m), why[m->storage]);
}

/* random_page_cost from the storage alone (auto, conservative). */
static void rule_storage(struct ctx *c)
{
	const struct machine *m = c->m;

	if (m->storage == STORAGE_HDD)
		add_real(c, "random_page_cost", 4, storage_confidence(m),
			 "On spinning disks a random page read costs about 4 sequential ones "
			 "(PostgreSQL's default assumption).");
	else
		add_real(c, "random_page_cost", 1.1, storage_confidence(m),
			 "On SSD, NVMe or SAN storage a random read costs about as much as a sequential one, "
			 "so index scans should not be penalised 4 to 1.");
	rule_io_concurrency(c);
}

/* pgtune's parallel block: only with 4 CPUs or more. */
static void rule_parallel(struct ctx *c, bool dw, long min_workers)
{
	long cpus = c->m->cpus, per_gather = (cpus + 1) / 2, maint = (cpus + 1) / 2;
	long workers = cpus < min_workers ? min_workers : cpus;
	char why[256];

	if (cpus < 4)
		return;
	if (!dw && per_gather > 4)
		per_gather = 4;
	if (maint > 4)
		maint = 4;
	snprintf(why, sizeof(why), "One background worker per CPU (%ld)%s.", cpus,
		 workers > cpus ? ", and never fewer than PostgreSQL's default 8 for extensions' workers" : "");
	add_int(c, "max_worker_processes", workers, "medium", why);
	snprintf(why, sizeof(why), "Half the CPUs for one query's parallel workers%s.",
		 dw ? " (a warehouse runs few, large queries)" : ", at most 4 so concurrent queries keep some");
	add_int(c, "max_parallel_workers_per_gather", per_gather, "medium", why);
	add_int(c, "max_parallel_workers", cpus, "medium",
		"Every CPU may run a parallel worker.");
	add_int(c, "max_parallel_maintenance_workers", maint, "medium",
		"Half the CPUs, at most 4, for parallel CREATE INDEX and VACUUM.");
}

/* On a cgroup limit below the host's memory, pgtune given what free(1)
 * shows would say more: the record says so. */
static void note_cgroup(struct ctx *c, struct rec *x)
{
	const struct machine *m = c->m;
	char total[32];

	if (!x || !m->mem_limit_kb || m->mem_total_kb <= m->memory_kb)
		return;
	format_mem_human(m->mem_total_kb, total, sizeof(total));
	x->deviates = true;
	note(x, "From the container's %s cgroup limit, not the host's %s of RAM that pgtune would be given.",
	     c->ram, total);
}

static void pgtune_random_page_cost(struct ctx *c)
{
	const struct machine *m = c->m;
	const char *conf = storage_confidence(m);

	if (m->db_size == DB_SIZE_SMALLER)
		add_real(c, "random_page_cost", 1.1, conf,
			 "The database fits in RAM: reads come from the page cache, so a random read "
			 "costs about as much as a sequential one whatever the storage.");
	else if (m->storage == STORAGE_HDD)
		add_real(c, "random_page_cost", 4, conf,
			 "On spinning disks a random page read costs about 4 sequential ones "
			 "(PostgreSQL's default assumption).");
	else if (c->p == PROF_DW)
		add_real(c, "random_page_cost", 4, conf,
			 "A warehouse larger than RAM keeps PostgreSQL's default 4 even on fast storage: "
			 "a low cost picks index scans for large reads, slower than sequential scans; "
			 "watch the plans and lower it if index scans are missed.");
	else
		add_real(c, "random_page_cost", 1.1, conf,
			 "On SSD, NVMe or SAN storage a random read costs about as much as a sequential one, "
			 "so index scans should not be penalised 4 to 1.");
}

/* pgtune's work_mem, computed in doubles and floored as its JavaScript does. */
static long long pgtune_work_mem_kb(const struct ctx *c, long long sb, long long workers)
{
	static const int wdiv[] = { 1, 1, 2, 6, 2 };
	const struct machine *m = c->m;
	double per = (double)(m->memory_kb - sb) / (double)((m->max_connections + workers) * 3);
	long long w = (long long)floor(per / wdiv[c->p]);

	if (m->db_size == DB_SIZE_SMALLER)
		w = (long long)floor((double)w * 1.3);
	else if (m->db_size == DB_SIZE_LARGER)
		w = (long long)floor((double)w * 0.9);
	return w < 4 * KB_PER_MB ? 4 * KB_PER_MB : w;
}

static void pgtune_work_mem(struct ctx *c, long long sb)
{
	static const char *const size_why[] = { ", 30% more as the database fits in RAM", "",
						", 10% less as the database outgrows RAM" };
	long long workers = c->m->cpus >= 4 ? c->m->cpus : 8;
	struct rec *x = add_mem(c, "work_mem", pgtune_work_mem_kb(c, sb, workers), "medium");

	WHY(x, "RAM left after shared_buffers shared by %ld connections and %lld workers, "
	    "each sort or hash counted 3 times%s%s; never below 4MB.", c->m->max_connections, workers,
	    c->p == PROF_DW ? ", halved for large queries" : c->p == PROF_DESKTOP ? ", a sixth on a desktop"
	    : c->p == PROF_MIXED ? ", halved for a mixed load" : "", size_why[c->m->db_size]);
	note_cgroup(c, x);
}

static void pgtune_memory(struct ctx *c, long long *sb_out, long long *mwm_out)
{
	long long ram = c->m->memory_kb, sb, ecs, mwm;
	bool desktop = c->p == PROF_DESKTOP, dw = c->p == PROF_DW;
	struct rec *x;

	sb = desktop ? ram / 16 : ram / 4;
	ecs = desktop ? ram / 4 : ram * 3 / 4;
	mwm = dw ? ram / 8 : ram / 16;
	if (mwm > 8 * KB_PER_GB)
		mwm = 8 * KB_PER_GB;
	x = add_mem(c, "shared_buffers", sb, "high");
	WHY(x, "%s of the %s of RAM for PostgreSQL's own cache, leaving the rest to the OS page cache.",
	    desktop ? "1/16" : "25%", c->ram);
	note_cgroup(c, x);
	x = add_mem(c, "effective_cache_size", ecs, "high");
	WHY(x, "The planner's estimate of the cache it can count on (shared_buffers plus the OS page cache): "
	    "%s of RAM; it allocates nothing.", desktop ? "25%" : "75%");
	note_cgroup(c, x);
	x = add_mem(c, "maintenance_work_mem", mwm, "high");
	WHY(x, "%s of RAM, at most 8GB, for VACUUM, CREATE INDEX and foreign key checks, "
	    "which run a few at a time.", dw ? "1/8" : "1/16");
	note_cgroup(c, x);
	add_real(c, "checkpoint_completion_target", 0.9, "high",
		 "Spread checkpoint writes over 90% of the interval to smooth the I/O "
		 "(the default from PostgreSQL 14).");
	rule_wal_buffers(c, sb);
	add_int(c, "default_statistics_target", dw ? 500 : 100, "medium",
		dw ? "Larger samples give a warehouse's complex queries better row estimates, at some ANALYZE cost."
		   : "PostgreSQL's default sample size suits short queries.");
	pgtune_random_page_cost(c);
	rule_io_concurrency(c);
	pgtune_work_mem(c, sb);
	*sb_out = sb, *mwm_out = mwm;
}

static void pgtune_jit_wal(struct ctx *c)
{
	int v = c->m->pg_version;
	struct rec *x;

	if (v >= 12 && (c->p == PROF_WEB || c->p == PROF_OLTP || c->p == PROF_MIXED))
		add_str(c, "jit", "off", "medium",
			"JIT compilation costs more than it saves on short transactional queries.");
	if (v >= 15 && (x = add(c, "wal_compression", "medium", "%s",
				"lz4 compresses full-page images in WAL cheaply, cutting WAL volume; "
				"it needs a server built with lz4, as packaged servers are.")))
		x->sval = "lz4", x->fallback = "on";
	else if (v < 15)
		add_str(c, "wal_compression", "on", "medium",
			"Compressing full-page images in WAL (pglz) cuts WAL volume for a little CPU.");
}

/* PostgreSQL 18's asynchronous I/O. */
static void pgtune_aio(struct ctx *c)
{
	int v = c->m->pg_version;
	struct rec *x;

	if (v >= 18 && (x = add(c, "io_method", "medium", "%s",
				"io_uring gives PostgreSQL 18's asynchronous reads the kernel's own queue; "
				"it needs a server built with liburing.")))
		x->sval = "io_uring", x->fallback = "worker";
	if (v >= 18 && c->m->cpus / 4 > 3)
		add_int(c, "io_workers", c->m->cpus / 4 > 32 ? 32 : c->m->cpus / 4, "medium",
			"A quarter of the CPUs for asynchronous I/O workers, at most 32.");
}

static void pgtune_autovacuum(struct ctx *c, long long mwm_kb)
{
	long cpus = c->m->cpus;
	struct rec *x;

	if (cpus >= 16)
		add_int(c, "autovacuum_max_workers", cpus >= 32 ? 5 : 4, "medium",
			"More CPUs can vacuum more tables at once than PostgreSQL's default 3 workers.");
	if (mwm_kb >= 2 * KB_PER_GB && (x = add_mem(c, "autovacuum_work_mem", 2 * KB_PER_GB, "high")))
		WHY(x, "Each autovacuum worker would otherwise take maintenance_work_mem; "
		    "2GB each keeps several workers from exhausting memory.");
}

static void pgtune_profile(struct ctx *c)
{
	static const long long min_wal_mb[] = { 1024, 2048, 4096, 100, 1024 };
	static const long long max_wal_mb[] = { 4096, 8192, 16384, 2048, 4096 };
	long long sb, mwm;
	struct rec *x;

	rule_connections(c);
	pgtune_memory(c, &sb, &mwm);
	add_str(c, "huge_pages", sb >= 2 * KB_PER_GB ? "try" : "off", "medium",
		sb >= 2 * KB_PER_GB ? "With 2GB or more of shared_buffers, huge pages cut page-table memory "
		"and TLB misses; \"try\" still starts when none are reserved."
		: "Below 2GB of shared_buffers huge pages gain little.");
	pgtune_jit_wal(c);
	pgtune_autovacuum(c, mwm);
	pgtune_aio(c);
	x = add_mem(c, "min_wal_size", min_wal_mb[c->p] * KB_PER_MB, "medium");
	WHY(x, "WAL kept for reuse so bursts of writes do not create new segments (pgtune's %s value).",
	    profile_name(c->p));
	x = add_mem(c, "max_wal_size", max_wal_mb[c->p] * KB_PER_MB, "medium");
	WHY(x, "Room for WAL between checkpoints so they come from checkpoint_timeout, "
	    "not from write volume (pgtune's %s value).", profile_name(c->p));
	rule_parallel(c, c->p == PROF_DW, 0);
	if (c->p == PROF_DESKTOP) {
		add_str(c, "wal_level", "minimal", "low",
			"A desktop has no replicas or WAL archive; minimal WAL skips logging for bulk loads.");
		add_int(c, "max_wal_senders", 0, "low",
			"wal_level=minimal requires no WAL senders.");
	}
}

/* aza-pg's entrypoint: everything in whole MB from the detected RAM. */
static void auto_profile(struct ctx *c)
{
	long long ram_mb = c->m->memory_kb / KB_PER_MB, sb, ecs, mwm, wm;
	long long conn = c->m->max_connections;
	struct rec *x;

	sb = ram_mb / 4 > 32768 ? 32768 : ram_mb / 4;
	ecs = ram_mb * 3 / 4;
	mwm = ram_mb / 32 > 2048 ? 2048 : ram_mb / 32;
	wm = ram_mb / (conn * 4);
	wm = wm > 32 ? 32 : wm < 1 ? 1 : wm;
	rule_connections(c);
	x = add_mem(c, "shared_buffers", sb * KB_PER_MB, "high");
	WHY(x, "25%% of the %s of RAM, at most 32GB, as the aza-pg entrypoint sets it.", c->ram);
	x = add_mem(c, "effective_cache_size", ecs * KB_PER_MB, "high");
	WHY(x, "75%% of RAM: the planner's estimate of the cache it can count on; it allocates nothing.");
	x = add_mem(c, "maintenance_work_mem", (mwm < 1 ? 1 : mwm) * KB_PER_MB, "high");
	WHY(x, "About 3%% of RAM (1/32), at most 2GB, for VACUUM and CREATE INDEX.");
	x = add_mem(c, "work_mem", wm * KB_PER_MB, "medium");
	WHY(x, "RAM divided by 4 per connection (%lld connections), between 1MB and 32MB.", conn);
	add_real(c, "checkpoint_completion_target", 0.9, "high",
		 "Spread checkpoint writes over 90% of the interval to smooth the I/O.");
	rule_wal_buffers(c, sb * KB_PER_MB);
	rule_storage(c);
	rule_parallel(c, false, 8);
}

/* Only what holds whatever the workload: memory shares of mixed, checkpoint
 * spreading, and storage costs when the storage was given. */
static void conservative_profile(struct ctx *c)
{
	long long ram = c->m->memory_kb, sb = ram / 4, mwm = ram / 16;
	struct rec *x;

	if (c->conn_asked)
		rule_connections(c);
	x = add_mem(c, "shared_buffers", sb, "high");
	WHY(x, "25%% of the %s of RAM for PostgreSQL's own cache; moved at most 2x per run.", c->ram);
	x = add_mem(c, "effective_cache_size", ram * 3 / 4, "high");
	WHY(x, "75%% of RAM: the planner's estimate of the cache it can count on; it allocates nothing.");
	x = add_mem(c, "maintenance_work_mem", mwm > 2 * KB_PER_GB ? 2 * KB_PER_GB : mwm, "high");
	WHY(x, "1/16 of RAM, at most 2GB, for VACUUM and CREATE INDEX; moved at most 2x per run.");
	add_real(c, "checkpoint_completion_target", 0.9, "high",
		 "Spread checkpoint writes over 90% of the interval to smooth the I/O "
		 "(the default from PostgreSQL 14).");
	rule_wal_buffers(c, sb);
	if (strcmp(c->m->storage_source, "option") == 0)
		rule_storage(c);
}

void recommend(const struct machine *m, enum profile p, bool conn_asked, struct recs *out)
{
	struct ctx c = { .m = m, .p = p, .conn_asked = conn_asked, .out = out };

	format_mem_human(m->memory_kb, c.ram, sizeof(c.ram));
	c.prefix = p == PROF_AUTO ? "auto" : p == PROF_CONSERVATIVE ? "conservative" : "pgtune";
	if (p == PROF_AUTO)
		auto_profile(&c);
	else if (p == PROF_CONSERVATIVE)
		conservative_profile(&c);
	else
		pgtune_profile(&c);
}

void recs_free(struct recs *r)
{
	free(r->v);
	r->v = NULL;
	r->n = r->cap = 0;
}
